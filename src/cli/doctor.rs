//! `pegate doctor`: the Go environment checks, rendered.

use std::path::PathBuf;

use anyhow::Context;
use pegate::go::doctor::{self, DoctorEnv, Platform, Status};

use super::{EXIT_FINDINGS, EXIT_OK, output};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate doctor
  pegate doctor --go ~/.cache/pegate/toolchains/go1.27.3/bin/go --format json
  pegate doctor --list                            every check, and which run only on Windows
  pegate doctor --config pegate-build.toml        with the C compilers pinned in [cgo.cc]

On Windows the doctor also reads the registry and the ROOT certificate store: env.persisted
(the setx trap), path.order, windows.long-paths, and certs.system-roots against the ROOT store.
Exit 1 when any check fails (warnings do not fail).")]
pub(crate) struct Args {
    /// The `go` binary to check (default: `go` on PATH).
    #[arg(long)]
    go: Option<PathBuf>,
    /// The project directory (for `.go-version`).
    #[arg(long, default_value = ".")]
    project: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// List every check (id, where it runs, what it checks) instead of running them.
    #[arg(long)]
    list: bool,
    /// The build configuration `pegate build --config` reads: cgo.pegate-compiler then shows
    /// the compilers its `[cgo.cc]` pins.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    if args.list {
        return list(args.format);
    }
    let mut env = DoctorEnv::from_system(args.go.as_deref(), &args.project);
    if let Some(path) = &args.config {
        let config = super::build::read_config(path)?;
        let mut cgo = pegate::go::cgo::CgoOptions::default();
        cgo.apply_config(&config.cgo, &format!("{} [cgo.cc]", path.display()))
            .map_err(anyhow::Error::msg)?;
        env.cgo_configured = cgo.configured;
    }
    let checks = doctor::run(&env);
    match args.format {
        Format::Json => {
            let text = serde_json::to_string_pretty(&checks).context("render the checks")?;
            output::print(&format!("{text}\n"))?;
        }
        Format::Text => {
            let color = output::use_color();
            let mut text = String::new();
            for c in &checks {
                let (word, code) = match c.status {
                    Status::Pass => ("pass", "32"),
                    Status::Warn => ("warn", "33"),
                    _ => ("FAIL", "1;31"),
                };
                let word = if color {
                    format!("\x1b[{code}m{word}\x1b[0m")
                } else {
                    word.to_owned()
                };
                text.push_str(&format!(
                    "{word}  {:<22} {}\n",
                    c.id,
                    output::text(&c.message)
                ));
                if c.status != Status::Pass && !c.fix.is_empty() {
                    text.push_str(&format!("      {:<22} fix: {}\n", "", c.fix));
                }
            }
            output::print(&text)?;
        }
    }
    Ok(if checks.iter().any(|c| c.status == Status::Fail) {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

fn list(format: Format) -> anyhow::Result<u8> {
    match format {
        Format::Json => {
            let text =
                serde_json::to_string_pretty(doctor::CATALOG).context("render the catalogue")?;
            output::print(&format!("{text}\n"))?;
        }
        Format::Text => {
            let mut text = String::new();
            for c in doctor::CATALOG {
                let place = match c.platform {
                    Platform::WindowsOnly => "windows only",
                    Platform::NotWindows => "not on windows",
                    _ => "everywhere",
                };
                text.push_str(&format!("{:<20} {place:<15} {}\n", c.id, c.about));
            }
            output::print(&text)?;
        }
    }
    Ok(EXIT_OK)
}
