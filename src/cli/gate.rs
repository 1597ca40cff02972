//! `pegate gate`: judge artifacts against a policy, report in the format CI reads.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pegate::artifact::{self, FailureKind};
use pegate::policy::{self, Policy, RULES, render};
use rayon::prelude::*;

use super::walk;
use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, output};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Text,
    Json,
    Junit,
    Sarif,
    Github,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate gate --policy pegate.toml dist/
  pegate gate --policy pegate.toml --format junit dist/ > pegate-junit.xml
  pegate gate --policy pegate.toml --format sarif -o pegate.sarif dist/
  pegate gate --policy pegate.toml --format github dist/   (in GitHub Actions)
  pegate gate dist/                                  the default release policy (see --explain)
  pegate gate --print-default-policy > pegate.toml   start your own policy from it
  pegate gate --explain

The text report lists the failed checks, then one line per artifact and the totals; -v lists
every check. The other formats always carry every result.

Exit codes: 0 every rule passed, 1 a rule failed, 2 the policy or an artifact could not be read.
With --format github and GITHUB_STEP_SUMMARY set, a Markdown summary is appended there.")]
pub(crate) struct Args {
    /// The policy file (TOML); see pegate.example.toml. Without it, the default release policy
    /// (`--print-default-policy` shows it).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Artifacts: files or directories (walked; non-PE files in them are skipped).
    #[arg(value_name = "PATH|DIR")]
    paths: Vec<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// List the rules, their ids and how to fix a failure, and the default policy, then exit.
    #[arg(long)]
    explain: bool,
    /// Write the default release policy (what applies without --policy) as a starting
    /// pegate.toml to stdout, then exit.
    #[arg(long, conflicts_with_all = ["policy", "explain"])]
    print_default_policy: bool,
    /// Gate time (cert expiry, SBOM creation): 2026-12-01, Unix seconds; default now.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Also write one SBOM per artifact into DIR (`<file name>.cdx.json` or `.spdx.json`; the
    /// relative path made safe when file names repeat).
    #[arg(long, value_name = "DIR")]
    sbom: Option<PathBuf>,
    /// Name pattern for --sbom, as `pegate sbom --name`.
    #[arg(long, value_name = "PATTERN", requires = "sbom")]
    sbom_name: Option<String>,
    /// Format of the --sbom documents.
    #[arg(long, value_enum, default_value = "cyclonedx", requires = "sbom")]
    sbom_format: super::sbom::Format,
    /// Write the report to FILE (whole: a temporary file renamed into place) instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Text report: list every check, not only the failures.
    #[arg(short, long)]
    verbose: bool,
}

fn explain() -> u8 {
    let width = RULES.iter().map(|r| r.id.as_str().len()).max().unwrap_or(0);
    let mut out = String::new();
    for r in RULES {
        out.push_str(&format!(
            "{:<width$}  {}\n{:<width$}  fix: {}\n",
            r.id.as_str(),
            r.description,
            "",
            r.fix
        ));
    }
    out.push_str(
        "\nWithout --policy, pegate gate applies this default release policy \
         (pegate gate --print-default-policy writes it out):\n\n",
    );
    for line in policy::DEFAULT_POLICY.lines() {
        if !line.is_empty() {
            out.push_str("  ");
            out.push_str(line);
        }
        out.push('\n');
    }
    print!("{out}");
    EXIT_OK
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    if args.explain {
        return Ok(explain());
    }
    if args.print_default_policy {
        print!("{}", policy::DEFAULT_POLICY);
        return Ok(EXIT_OK);
    }
    // Paths the default policy might name are relative to the current directory.
    let (policy_path, policy) = match args.policy.as_deref() {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("read the policy {}", path.display()))?;
            let policy = Policy::from_toml(&text).with_context(|| format!("{}", path.display()))?;
            (path, policy)
        }
        None => (
            Path::new("pegate.toml"),
            Policy::default_release().context("the default release policy")?,
        ),
    };
    if args.paths.is_empty() {
        anyhow::bail!("no artifacts given: pass files or directories after the options");
    }
    let trust = policy
        .file
        .trust
        .as_deref()
        .map(|t| pegate::gate::beside(policy_path, t));
    // The file hash only for the checksums rule and the SBOMs; nothing else needs it.
    let opts = pegate::gate::inspect_options(
        &policy,
        super::inspect::options(trust.as_ref())?,
        args.sbom.is_some(),
    );
    let checksums = match policy.file.checksums.as_deref() {
        None => None,
        Some(c) => {
            let path = pegate::gate::beside(policy_path, c);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "read the checksums file {} named by the policy",
                    path.display()
                )
            })?;
            Some(policy::parse_checksums(&text).with_context(|| path.display().to_string())?)
        }
    };

    let (inputs, walk_errors) = walk::expand(&args.paths);
    for e in &walk_errors {
        eprintln!(
            "pegate: {}: {}",
            output::shown(&e.path),
            output::text(&e.message)
        );
    }
    let reports: Vec<_> = inputs
        .par_iter()
        .map(|i| (i, artifact::inspect(&i.path, &opts)))
        .filter(|(i, r)| super::inspect::shown(i, r))
        .map(|(_, r)| r)
        .collect();
    let unreadable = reports
        .iter()
        .filter(|r| r.failure().map(|f| f.kind) == Some(FailureKind::Io))
        .count();
    let facts: Vec<_> = reports
        .iter()
        .map(|r| pegate::gate::facts(r, checksums.as_ref()))
        .collect();
    let now = super::sbom::time(args.now.as_deref())?;
    let report = policy.evaluate_with(&facts, checksums.as_ref(), &pegate::gate::context(now));
    if let Some(dir) = &args.sbom {
        let refs: Vec<_> = reports.iter().collect();
        super::sbom::write_all(
            &refs,
            dir,
            args.sbom_format.into(),
            now,
            args.sbom_name.as_deref(),
        )?;
    }

    let doc = match args.format {
        Format::Text => render::text(
            &report,
            &render::TextOptions::default()
                .with_color(output::use_color())
                .with_verbose(args.verbose),
        ),
        Format::Json => render::json(&report),
        Format::Junit => render::junit(&report),
        Format::Sarif => render::sarif(&report),
        Format::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
            {
                let mut file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&summary)
                    .with_context(|| {
                        format!("open GITHUB_STEP_SUMMARY {}", Path::new(&summary).display())
                    })?;
                file.write_all(render::markdown(&report).as_bytes())?;
            }
            render::github(&report)
        }
    };
    let mut doc = doc;
    if !doc.ends_with('\n') {
        doc.push('\n');
    }
    if let Some(path) = &args.output {
        pegate::fs::write(path, doc.as_bytes())?;
    } else {
        let mut out = std::io::stdout().lock();
        out.write_all(doc.as_bytes())?;
        out.flush()?;
    }
    Ok(if unreadable > 0 || !walk_errors.is_empty() {
        EXIT_ERROR
    } else if report.failed() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}
