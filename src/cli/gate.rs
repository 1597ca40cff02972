//! `pegate gate`: judge artifacts against a policy, report in the format CI reads.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pegate::artifact::{self, FailureKind};
use pegate::policy::{self, ChecksumList, Outcome, Policy, RULES, RuleResult, Seen, render};

use super::walk::{self, Input};
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

fn explain() -> anyhow::Result<u8> {
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
    output::print(&out)?;
    Ok(EXIT_OK)
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    if args.explain {
        return explain();
    }
    if args.print_default_policy {
        output::print(policy::DEFAULT_POLICY)?;
        return Ok(EXIT_OK);
    }
    let setup = Setup::read(&args)?;
    let (inputs, walk_errors) = walk::expand(&args.paths);
    for e in &walk_errors {
        eprintln!(
            "pegate: {}: {}",
            output::shown(&e.path),
            output::text(&e.message)
        );
    }
    let sboms = args
        .sbom
        .as_deref()
        .map(|dir| super::sbom::Staging::new(dir, args.sbom_format.into(), setup.now))
        .transpose()?;
    let judged = judge(&inputs, &setup, sboms.as_ref())?;
    if let Some(sboms) = sboms {
        sboms.publish(judged.staged, args.sbom_name.as_deref())?;
    }
    write_report(&args, &Spooled(judged.results))?;
    Ok(if judged.unreadable > 0 || !walk_errors.is_empty() {
        EXIT_ERROR
    } else if judged.failed {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// What judging needs besides the files: the policy, the inspection it asks for, the checksums
/// file it names and the gate time.
struct Setup {
    policy: Policy,
    opts: artifact::Options,
    checksums: Option<ChecksumList>,
    now: i64,
    context: policy::Context,
}

impl Setup {
    /// Reads the policy (or takes the default one), its trust bundle and its checksums file.
    fn read(args: &Args) -> anyhow::Result<Setup> {
        // Paths the default policy might name are relative to the current directory.
        let (policy_path, policy) = match args.policy.as_deref() {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("read the policy {}", path.display()))?;
                let policy =
                    Policy::from_toml(&text).with_context(|| format!("{}", path.display()))?;
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
        let now = super::sbom::time(args.now.as_deref())?;
        Ok(Setup {
            policy,
            opts,
            checksums,
            now,
            context: pegate::gate::context(now),
        })
    }
}

/// The verdicts of a few consecutive files: their results as JSON lines, what
/// `artifact.expected` needs of them, and their SBOMs staged.
#[derive(Default)]
struct Block {
    lines: Vec<u8>,
    seen: Seen,
    failed: bool,
    unreadable: usize,
    staged: Vec<(PathBuf, PathBuf)>,
}

/// Everything judged: the results spooled, whether one failed, how many files could not be
/// read, and the SBOMs staged (input, staged file) in input order.
struct Judged {
    results: output::Spooled,
    failed: bool,
    unreadable: usize,
    staged: Vec<(PathBuf, PathBuf)>,
}

/// Inspects and judges every input, a block at a time on the pool, keeping none of their facts:
/// each file's results go to a spool, its SBOM (with `--sbom`) to a staged file.
fn judge(
    inputs: &[Input],
    setup: &Setup,
    sboms: Option<&super::sbom::Staging>,
) -> anyhow::Result<Judged> {
    let judge_block = |first: usize, block: &[Input]| -> anyhow::Result<Block> {
        let mut out = Block::default();
        for (i, input) in block.iter().enumerate() {
            let report = artifact::inspect(&input.path, &setup.opts);
            if !super::inspect::shown(input, &report) {
                continue;
            }
            if report.failure().map(|f| f.kind) == Some(FailureKind::Io) {
                out.unreadable = out.unreadable.saturating_add(1);
            }
            let facts = pegate::gate::facts(&report, setup.checksums.as_ref());
            let results =
                setup
                    .policy
                    .evaluate_artifact(&facts, setup.checksums.as_ref(), &setup.context);
            setup.policy.see(&mut out.seen, &facts.path);
            spool_results(&mut out, &results)?;
            if let Some(sboms) = sboms
                && report.result.is_ok()
            {
                let staged = sboms.stage(&report, first.saturating_add(i))?;
                out.staged.push((report.path.clone(), staged));
            }
        }
        Ok(out)
    };
    let mut spool = output::Spool::new();
    let mut all = Block::default();
    let judged = super::inspect::pipeline(inputs, judge_block, |blocks| {
        for block in blocks {
            let block = block?;
            spool.write(&block.lines)?;
            all.seen.merge(&block.seen);
            all.failed |= block.failed;
            all.unreadable = all.unreadable.saturating_add(block.unreadable);
            all.staged.extend(block.staged);
        }
        Ok(())
    });
    if let Err(e) = judged {
        if let Some(sboms) = sboms {
            sboms.discard(&all.staged);
        }
        return Err(e);
    }
    let expected = setup.policy.expected_results(&all.seen);
    spool_results(&mut all, &expected)?;
    spool.write(&all.lines)?;
    Ok(Judged {
        results: spool.finish()?,
        failed: all.failed,
        unreadable: all.unreadable,
        staged: all.staged,
    })
}

/// Appends `results` to `block` as JSON lines.
fn spool_results(block: &mut Block, results: &[RuleResult]) -> anyhow::Result<()> {
    for r in results {
        block.failed |= r.outcome == Outcome::Fail;
        serde_json::to_writer(&mut block.lines, r)?;
        block.lines.push(b'\n');
    }
    Ok(())
}

/// The spooled results, read back for the renderers.
struct Spooled(output::Spooled);

impl render::Results for Spooled {
    fn each(
        &self,
        each: &mut dyn FnMut(&RuleResult) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        self.0.each_line(&mut |line| {
            let r: RuleResult = serde_json::from_str(line).map_err(std::io::Error::other)?;
            each(&r)
        })
    }
}

/// Renders the report in the chosen format to `--output` (whole, atomically) or stdout, and with
/// `--format github` the Markdown summary to `GITHUB_STEP_SUMMARY`.
fn write_report(args: &Args, results: &Spooled) -> anyhow::Result<()> {
    if matches!(args.format, Format::Github)
        && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
    {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| {
                format!("open GITHUB_STEP_SUMMARY {}", Path::new(&summary).display())
            })?;
        // One write, as before: a reader of the summary never sees half of it appended.
        let mut text = Vec::new();
        render::markdown_to(&mut text, results)?;
        (&file).write_all(&text)?;
    }
    let render = |out: &mut dyn std::io::Write| -> std::io::Result<()> {
        let mut tail = LastByte {
            inner: out,
            last: None,
        };
        match args.format {
            Format::Text => render::text_to(
                &mut tail,
                results,
                &render::TextOptions::default()
                    .with_color(output::use_color())
                    .with_verbose(args.verbose),
            )?,
            Format::Json => render::json_to(&mut tail, results)?,
            Format::Junit => render::junit_to(&mut tail, results)?,
            Format::Sarif => render::sarif_to(&mut tail, results)?,
            Format::Github => render::github_to(&mut tail, results)?,
        }
        if tail.last != Some(b'\n') {
            tail.inner.write_all(b"\n")?;
        }
        tail.inner.flush()
    };
    match &args.output {
        Some(path) => pegate::fs::write_with(path, |file| {
            render(&mut std::io::BufWriter::with_capacity(1 << 16, file))
        })?,
        None => render(&mut std::io::BufWriter::with_capacity(
            1 << 16,
            std::io::stdout().lock(),
        ))?,
    }
    Ok(())
}

/// A writer that remembers the last byte written: every document ends with a newline.
struct LastByte<'a> {
    inner: &'a mut dyn std::io::Write,
    last: Option<u8>,
}

impl std::io::Write for LastByte<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(b) = buf.get(..n).and_then(<[u8]>::last) {
            self.last = Some(*b);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
