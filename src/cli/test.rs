//! `pegate test`: a Go module's tests compiled for each Windows target and run where this host
//! can (natively on Windows, under Wine on Linux), reported per test. The work is
//! `pegate_go::gotest`'s; this is its arguments, the gate hook and the output format.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use pegate::artifact;
use pegate::go::gotest::{self, TestSpec, render};
use pegate::go::matrix::Target;
use pegate::policy::Policy;

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Junit,
    Sarif,
    Github,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate test                                          ./... for windows/amd64, windows/arm64, windows/386
  pegate test ./pkg/... --target windows/amd64 --target windows/386 --run 'TestPath'
  pegate test --format junit > pegate-test.xml         JUnit for CI test reports
  pegate test --gate pegate.toml                       also judge the test binaries with a policy
  pegate test --env USERPROFILE='C:\\users\\ci'         environment for the test binaries

Each package's tests are compiled with `go test -c` per target, then run natively on Windows or
under Wine on Linux (windows/amd64; windows/386 with 32-bit Wine); a target this host cannot run
(arm64 on x86) is reported as not run, not failed. Output goes through `go tool test2json`.
Under Wine, --env values reach the tests even where the Wine prefix's registry has its own.
WINEPREFIX is honoured; WINEDEBUG defaults to -all.

Exit codes: 0 every test passed, 1 a test (or build, or gate) failed, 2 could not evaluate.")]
pub(crate) struct Args {
    /// Package patterns, relative to --source.
    #[arg(value_name = "PACKAGES", default_value = "./...")]
    packages: Vec<String>,
    /// The module directory (holds go.mod).
    #[arg(long, default_value = ".")]
    source: PathBuf,
    /// GOOS/GOARCH to test (repeatable); default windows/amd64, windows/arm64, windows/386.
    #[arg(long = "target", value_name = "GOOS/GOARCH")]
    targets: Vec<String>,
    /// Only tests matching this regular expression (go test's -run).
    #[arg(long = "run", value_name = "REGEXP")]
    run: Option<String>,
    /// Skip tests matching this regular expression (go test's -skip).
    #[arg(long = "skip", value_name = "REGEXP")]
    skip: Option<String>,
    /// Build tags (comma-separated, as go's -tags).
    #[arg(long)]
    tags: Option<String>,
    /// Per test binary: kill it after this long (Go duration: 90s, 10m, 1h).
    #[arg(long, default_value = "10m")]
    timeout: String,
    /// Packages compiled and run at once.
    #[arg(long, default_value_t = 2)]
    jobs: usize,
    /// Start no more packages after the first failure.
    #[arg(long)]
    fail_fast: bool,
    /// Environment for the test binaries, NAME=VALUE (repeatable).
    #[arg(long = "env", value_name = "NAME=VALUE")]
    env: Vec<String>,
    /// Judge the compiled test binaries with this policy first; a failing one is not run.
    #[arg(long, value_name = "POLICY")]
    gate: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Keep the test binaries in DIR (default: a temporary directory, deleted).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Go to use: a `go` binary, a GOROOT or a version (provisioned if pinned).
    #[arg(long)]
    go: Option<String>,
    /// pegate's cache (toolchains, GOCACHE); default ~/.cache/pegate.
    #[arg(long)]
    cache: Option<PathBuf>,
}

/// `90s`, `10m`, `1h30m`, `500ms`: the subset of Go's `time.ParseDuration` a timeout needs.
fn parse_duration(text: &str) -> anyhow::Result<Duration> {
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    anyhow::ensure!(!rest.is_empty(), "empty duration");
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        let value: f64 = number
            .parse()
            .with_context(|| format!("`{text}`: expected a number before the unit"))?;
        let unit_len = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, next) = tail.split_at(unit_len);
        let scale = match unit {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => anyhow::bail!("`{text}`: unknown unit `{other}` (use ms, s, m or h)"),
        };
        total = total.saturating_add(
            Duration::try_from_secs_f64(value * scale)
                .with_context(|| format!("`{text}` is out of range"))?,
        );
        rest = next;
    }
    anyhow::ensure!(!total.is_zero(), "`{text}`: the timeout must be positive");
    Ok(total)
}

/// The gate of `--gate`: each binary inspected and judged by the policy; the failed rules as
/// the reason.
fn gate_fn(path: &Path) -> anyhow::Result<impl Fn(&Path) -> Result<(), String> + Sync> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the policy {}", path.display()))?;
    let policy = Policy::from_toml(&text).with_context(|| path.display().to_string())?;
    let trust = policy.file.trust.as_deref().map(|t| {
        let p = Path::new(t);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            path.parent().unwrap_or(Path::new(".")).join(p)
        }
    });
    let opts = super::inspect::options(trust.as_ref())?;
    let context = pegate::policy::Context::new()
        .with_go_releases(pegate::go::toolchain::GO_RELEASES.iter().copied());
    Ok(move |binary: &Path| {
        let report = artifact::inspect(binary, &opts);
        let verdict = policy.evaluate_with(&[report.facts()], None, &context);
        let failed: Vec<String> = verdict
            .failures()
            .map(|r| format!("{}: {}", r.rule.as_str(), r.message))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    })
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    let timeout = parse_duration(&args.timeout).context("--timeout")?;
    let env = parse_env(&args.env)?;
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| Target::parse(t).with_context(|| format!("--target {t}")))
        .collect::<anyhow::Result<_>>()?;
    let gate = args.gate.as_deref().map(gate_fn).transpose()?;
    let cache = super::build::cache_dir(args.cache.as_deref())?;
    // The cache holds GOCACHE for every package's build: one error naming it, up front.
    super::build::check_writable(&cache, "cache directory")?;
    let Some(tc) = super::build::resolve_go(args.go.as_deref(), &args.source, &cache)? else {
        return Ok(EXIT_ERROR);
    };
    // Without --out the binaries go to a directory of this run's own, removed at the end.
    let scratch = args
        .out
        .is_none()
        .then(|| std::env::temp_dir().join(format!("pegate-test-{}", std::process::id())));
    let out = args
        .out
        .clone()
        .or_else(|| scratch.clone())
        .unwrap_or_default();
    let source = std::path::absolute(&args.source)
        .with_context(|| format!("--source {}", args.source.display()))?;
    let mut spec = test_spec(&args, TestSpec::new(&source, &out, &cache), targets);
    spec.timeout = timeout;
    spec.env.extend(env);

    let progress = |p: &gotest::PackageResult| {
        eprintln!(
            "pegate: {} {} {} ({} ms)",
            p.status.word(),
            p.package,
            p.target,
            p.elapsed_ms
        );
    };
    let report = match &gate {
        Some(gate) => gotest::test_gated(&tc, &spec, gate, &progress),
        None => gotest::test(&tc, &spec, &progress),
    }
    .with_context(|| format!("test {}", args.source.display()));
    if let Some(dir) = &scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    let report = report?;
    print_report(args.format, &report)?;
    Ok(if report.errored() {
        EXIT_ERROR
    } else if report.failed() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `--env NAME=VALUE` arguments as pairs.
fn parse_env(args: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    args.iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
            _ => anyhow::bail!("--env {e}: expected NAME=VALUE"),
        })
        .collect()
}

/// `spec` with what the arguments ask for: packages, targets (when given), tags, `-run` and
/// `-skip` patterns, jobs, `--fail-fast`, and quiet Wine unless `WINEDEBUG` says otherwise.
fn test_spec(args: &Args, mut spec: TestSpec, targets: Vec<Target>) -> TestSpec {
    spec.packages = args.packages.clone();
    if !targets.is_empty() {
        spec.targets = targets;
    }
    spec.tags = args
        .tags
        .iter()
        .flat_map(|t| t.split(','))
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    spec.run = args.run.clone();
    spec.skip = args.skip.clone();
    spec.jobs = args.jobs.max(1);
    spec.fail_fast = args.fail_fast;
    // Wine's fixme/err chatter would otherwise land in every test's output.
    if std::env::var_os("WINEDEBUG").is_none() {
        spec.env.push(("WINEDEBUG".to_owned(), "-all".to_owned()));
    }
    spec
}

/// The report in `format` on stdout, ending with a newline.
fn print_report(format: Format, report: &gotest::TestReport) -> anyhow::Result<()> {
    let doc = match format {
        Format::Table => render::table(report),
        Format::Json => render::json(report),
        Format::Junit => render::junit(report),
        Format::Sarif => render::sarif(report),
        Format::Github => render::github(report),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(doc.as_bytes())?;
    if !doc.ends_with('\n') {
        stdout.write_all(b"\n")?;
    }
    stdout.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn timeouts_read_like_go_durations() {
        assert_eq!(parse_duration("10m").unwrap(), Duration::from_secs(600));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        for bad in ["", "10", "5d", "0s", "m", "-1s"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
