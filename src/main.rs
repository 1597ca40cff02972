//! The `pegate` command line: inspect PE files, gate CI artifacts, build the Windows matrix,
//! check a Go environment.
//!
//! Exit codes: 0 success / every rule passed; 1 findings (a rule failed, a doctor check failed,
//! a cell failed to build); 2 pegate could not evaluate (bad arguments, bad policy, no Go).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
