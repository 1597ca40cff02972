//! `cargo xtask`: pegate's developer tasks, one module per subcommand.
//!
//! - `cargo xtask verify`: provision Go, build the reference matrix, inspect, check, print a table.
//! - `cargo xtask pe-fixtures`: regenerate the hand-made PE fixtures under `fixtures/pe/`.
//! - `cargo xtask import-fixtures`: rebuild the MinGW programs under `fixtures/imports/`.
//! - `cargo xtask sign-fixtures`: regenerate the Authenticode fixtures (needs osslsigncode).
//! - `cargo xtask wine-prefix`: create the Wine prefix the Windows tests run in; print its path.
//! - `cargo xtask corpus`: fetch the differential test's corpus of real PE files (pinned packages).
//! - `cargo xtask schema`: regenerate `schema/inspect.schema.json` from pegate's types
//!   (`--check`: fail when it is stale).

mod corpus;
mod import_fixtures;
mod pe_fixtures;
mod schema;
mod sign_fixtures;
mod sign_test;
mod verify;
mod verify_test;
mod wine;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let task = args.next();
    let rest: Vec<String> = args.collect();
    match task.as_deref() {
        Some("verify") => verify::run(&rest),
        Some("sign-fixtures") => sign_fixtures::run(&rest),
        Some("pe-fixtures") => pe_fixtures::run(&rest),
        Some("import-fixtures") => import_fixtures::run(&rest),
        Some("wine-prefix") => wine::run(&rest),
        Some("corpus") => corpus::run(&rest),
        Some("schema") => schema::run(&rest),
        Some(other) => anyhow::bail!("unknown task `{other}`; try `cargo xtask verify`"),
        None => {
            eprintln!(
                "usage: cargo xtask <verify|pe-fixtures|import-fixtures|sign-fixtures|wine-prefix|corpus|schema> [args]"
            );
            Ok(())
        }
    }
}
