//! Argument parsing and dispatch; one module per subcommand.

mod build;
mod debris;
mod doctor;
mod gate;
mod inspect;
mod names;
mod output;
mod sbom;
mod sign;
mod test;
mod walk;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use pegate::interrupt;

/// Exit code: every check passed.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit code: findings (a rule or check failed).
pub(crate) const EXIT_FINDINGS: u8 = 1;
/// Exit code: could not evaluate.
pub(crate) const EXIT_ERROR: u8 = 2;

const AFTER_HELP: &str = "\
Examples:
  pegate inspect dist/                                      every PE file under dist/, as a table
  pegate inspect --format jsonl dist/ > inspect.jsonl       one JSON object per file, streamed
  pegate build --out dist/                                  build the windows matrix into dist/
  pegate gate --policy pegate.toml dist/                    exit 1 if any artifact breaks the policy
  pegate gate --policy pegate.toml --format sarif dist/     SARIF 2.1.0 for code scanning
  pegate doctor                                             check the Go environment

Exit codes: 0 pass, 1 findings, 2 could not evaluate.";

#[derive(Debug, Parser)]
#[command(name = "pegate", version, about = "Build, inspect and gate Go programs for Windows", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Inspect PE files: headers, signature, Go build info.
    Inspect(inspect::Args),
    /// Check artifacts against a policy; exit 1 on any failed rule.
    Gate(gate::Args),
    /// Cross-compile a Go program for the Windows matrix.
    Build(build::Args),
    /// Check the Go environment (GOROOT, GOPATH, proxy, cross C compilers, ...).
    Doctor(doctor::Args),
    /// Write a CycloneDX or SPDX SBOM of Go binaries from their build info.
    Sbom(sbom::Args),
    /// Run a Go module's tests for Windows targets (natively, or under Wine).
    Test(test::Args),
    /// Authenticode-sign PE files and EFI images (key file, PKCS#12, RFC 3161 timestamps).
    Sign(sign::Args),
}

pub(crate) fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    interrupt::install(
        "pegate",
        match cli.command {
            Command::Build(_) => interrupt::Mode::Finish,
            _ => interrupt::Mode::Exit,
        },
    );
    let result = match cli.command {
        Command::Inspect(args) => inspect::run(args),
        Command::Gate(args) => gate::run(args),
        Command::Build(args) => build::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Sbom(args) => sbom::run(args),
        Command::Test(args) => test::run(args),
        Command::Sign(args) => sign::run(args),
    };
    if let Some(code) = interrupt::interrupted() {
        return ExitCode::from(code);
    }
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            // Messages name files and quote what was read from them: escaped, lines kept.
            eprintln!("pegate: error: {}", output::lines(&output::error_text(&e)));
            ExitCode::from(EXIT_ERROR)
        }
    }
}
