//! `pegate build`: the Windows matrix builder, with a checksums file for `pegate gate`.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Context;
use pegate::go::matrix::{
    self, CellErrorKind, CellEvent, CellOutcome, MatrixReport, MatrixSpec, Target, Variant,
};
use pegate::go::run::{RunOptions, RunResult};
use pegate::go::toolchain::{self, Toolchain, ToolchainRequest};

use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, output};

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate build                                   ./ for windows/{amd64,arm64,386} x {console,gui,stripped}
  pegate build --source cmd/app --out dist/ --target windows/arm64 --variant gui
  pegate build --go 1.23.9 --repro               check that two builds give the same bytes
  pegate build --run --target windows/amd64      build, then run it (natively, or under Wine)
  pegate build --cgo --target windows/arm64      cgo, with zig cc fetched and pinned by pegate
  pegate build --cgo --cc windows/amd64=x86_64-w64-mingw32-clang   your own C compiler
  pegate build --cgo --config pegate-build.toml  compilers pinned per target in [cgo.cc]
  pegate build --sign --key key.pem --cert chain.pem   sign each cell as it is built
  pegate build --sign --config pegate-build.toml       key options from its [sign] table

Artifacts are named <name>-<go version>-<goos>-<goarch>-<variant>.exe; <out>/checksums.txt lists
their SHA-256 in sha256sum format, ready for `pegate gate` or `sha256sum -c`.

--sign signs each cell as soon as it is built, before checksums.txt is written, and writes
checksums.authenticode.txt (image hashes); a cell that cannot be signed fails and its unsigned
file is removed. --config FILE's [sign] table can hold the key options (key, cert, password-file,
timestamp, timestamp-timeout, digest, strict, description; paths relative to FILE); the flags win
over it, and a password is never in it.

--run runs each artifact this host can execute: natively on Windows; on Linux under Wine
(windows/amd64 with wine64, windows/386 only with 32-bit Wine), honouring WINEPREFIX; WINEDEBUG
defaults to -all. A non-zero exit or a timeout fails the cell; a target with no runner here is
skipped with the reason. A fresh WINEPREFIX is created on the first run, which can take longer
than the timeout: run `wineboot -i` once first.")]
pub(crate) struct Args {
    /// The Go package directory to build.
    #[arg(long, default_value = ".")]
    source: PathBuf,
    /// Where the artifacts and checksums.txt go.
    #[arg(long, default_value = "dist")]
    out: PathBuf,
    /// GOOS/GOARCH to build (repeatable); default windows/amd64, windows/arm64, windows/386.
    #[arg(long = "target", value_name = "GOOS/GOARCH")]
    targets: Vec<String>,
    /// Variant to build (repeatable); default all three.
    #[arg(long = "variant", value_enum)]
    variants: Vec<VariantArg>,
    /// Go to use: a `go` binary, a GOROOT or a version (provisioned if pinned); else PEGATE_GO,
    /// .go-version, PATH, installed toolchains, then the pinned default.
    #[arg(long)]
    go: Option<String>,
    /// pegate's cache (toolchains, GOCACHE); default ~/.cache/pegate.
    #[arg(long)]
    cache: Option<PathBuf>,
    /// Build with CGO_ENABLED=1, a C cross compiler chosen per target (MinGW-w64 for
    /// amd64/386 when installed, else zig, fetched and pinned like Go) and the C runtime linked
    /// statically.
    #[arg(long)]
    cgo: bool,
    /// The C compiler of one target's cgo cells, overriding pegate's choice (repeatable;
    /// PEGATE_CC_WINDOWS_ARM64 and the like do the same from the environment).
    #[arg(long = "cc", value_name = "GOOS/GOARCH=COMMAND", requires = "cgo")]
    cc: Vec<String>,
    /// A build configuration file (TOML): `[cgo.cc]` ("windows/arm64" = "clang ...") and
    /// optionally `[cgo.cxx]` pin a C (C++) compiler per target; --cc and PEGATE_CC_* win over
    /// it, and it wins over MinGW-w64 and zig. Its `[sign]` table holds --sign's key options.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Link cgo cells against the C runtime's DLLs (libgcc, libstdc++, winpthread) instead of
    /// statically: the program then needs those DLLs beside it on Windows.
    #[arg(long, requires = "cgo")]
    cgo_dynamic: bool,
    /// Build every cell twice in different directories and report whether the bytes match.
    #[arg(long)]
    repro: bool,
    /// Cells built at once.
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the build report as JSON on stdout instead of a table.
    #[arg(long)]
    json: bool,
    /// Run each artifact this host can execute and record exit code, stdout and stderr.
    #[arg(long)]
    run: bool,
    /// Seconds a run may take before it is killed (with --run).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0, requires = "run")]
    run_timeout: f64,
    #[command(flatten)]
    sign: super::sign::BuildSign,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum VariantArg {
    Console,
    Gui,
    Stripped,
}

impl From<VariantArg> for Variant {
    fn from(v: VariantArg) -> Variant {
        match v {
            VariantArg::Console => Variant::Console,
            VariantArg::Gui => Variant::Gui,
            VariantArg::Stripped => Variant::Stripped,
        }
    }
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    // Checked before anything is resolved or built.
    let run = run_options(&args)?;
    let cache = cache_dir(args.cache.as_deref())?;
    let config = match &args.config {
        Some(path) => Some((read_config(path)?, path.as_path())),
        None => None,
    };
    // The matrix (targets, --cc, --config) is checked before Go is resolved or fetched.
    let spec = matrix_spec(&args, &cache, run, config.as_ref())?;
    // So is the signer: a key that cannot sign stops the build before it starts.
    let signing =
        super::sign::BuildSigning::open(&args.sign, config.as_ref().map(|(c, p)| (&c.sign, *p)))?;
    // And the output directory: one that cannot take a file is one error naming it, before
    // Go is fetched or any cell runs.
    check_out_dir(&args.out)?;
    // And the cache, where every cell's GOCACHE lives (and the toolchain, unless `--go`).
    check_writable(&cache, "cache directory")?;
    let Some(tc) = resolve_go(args.go.as_deref(), &args.source, &cache)? else {
        return Ok(EXIT_ERROR);
    };
    super::debris::remove_stale(&args.out)?;

    let total = spec.targets.len().saturating_mul(spec.variants.len());
    eprintln!(
        "pegate: {} at {}: building {total} cell{}",
        tc.version,
        tc.goroot.display(),
        if total == 1 { "" } else { "s" }
    );
    let progress = progress_bar(total, output::stderr_is_terminal());
    // With --sign, each cell is signed as soon as it is built, before anything reads its
    // SHA-256: the checksums below are the signed files'. A cell that cannot be signed fails
    // (its unsigned file removed), so it is not listed.
    let (report, signed) = build_and_sign(&tc, &spec, &progress, signing.as_ref());
    let report = report.with_context(|| format!("build {}", args.source.display()))?;
    if let Some(done) = &signed {
        super::sign::report_signing(done);
        super::sign::write_image_hashes(&done.signed, &args.out)?;
    }
    // Interrupted: the finished artifacts are added to the list the last run left, which keeps
    // its lines for the files this run did not rebuild (but not for those it removed because
    // they could not be signed); a complete run writes the list anew.
    let removed: Vec<String> = report
        .failures()
        .filter(|c| c.error().is_some_and(|e| e.kind == CellErrorKind::Sign))
        .map(|c| format!("{}-{}.exe", spec.binary_name, c.cell.name()))
        .collect();
    let sums_path = write_checksums(
        &report,
        &args.out,
        pegate::interrupt::received().is_some(),
        &removed,
    )?;
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut out, &report).context("write the report")?;
        writeln!(out)?;
    } else {
        write_table(&mut out, &report)?;
        writeln!(out, "checksums: {}", sums_path.display())?;
    }
    Ok(if report.all_ok() {
        EXIT_OK
    } else {
        EXIT_FINDINGS
    })
}

/// The Go toolchain for `--go` (a path or version), the project's `go.mod` and the cache,
/// fetched if need be; `None` once the error is printed (exit 2).
pub(crate) fn resolve_go(
    go: Option<&str>,
    source: &Path,
    cache: &Path,
) -> anyhow::Result<Option<Toolchain>> {
    let mut req = ToolchainRequest::new(cache);
    req.explicit = go.map(absolute_go).transpose()?;
    req.project_dir = Some(source.to_path_buf());
    // Provisioning a toolchain is a 70 MB download: its steps are shown as they happen.
    let reporter = pegate::progress::Reporter::stderr();
    match toolchain::resolve_reporting(&req, &|step| reporter.report(step)) {
        Ok(tc) => Ok(Some(tc)),
        // Stopped by a signal (pip killed mid-download): `main` says so; "no go toolchain
        // found" and a fix for pip would send the user after a problem they do not have.
        Err(_) if pegate::interrupt::received().is_some() => Ok(None),
        Err(e) => {
            eprintln!("pegate: error: {}", output::lines(&e.to_string()));
            Ok(None)
        }
    }
}

/// Builds the matrix; with `--sign`, each cell is signed as soon as it is built, and what was
/// signed comes back beside the report.
fn build_and_sign(
    tc: &Toolchain,
    spec: &MatrixSpec,
    progress: &(dyn Fn(&CellEvent<'_>) + Sync),
    signing: Option<&super::sign::BuildSigning>,
) -> (
    pegate::go::error::Result<MatrixReport>,
    Option<pegate::release::MatrixSigning>,
) {
    match signing {
        None => (matrix::build(tc, spec, progress), None),
        Some(signing) => {
            let signer = signing.cell_signer();
            let report = matrix::build_then(tc, spec, progress, &|cell| signer.sign_cell(cell));
            let done = report.as_ref().ok().map(|r| signer.finish(r));
            (report, done)
        }
    }
}

/// Creates `out` if need be and checks that a file can be created in it (a temporary one,
/// removed at once) and that its `checksums.txt` may be replaced; the error names the
/// directory and the cause.
fn check_out_dir(out: &Path) -> anyhow::Result<()> {
    check_writable(out, "output directory")?;
    check_replaceable(&out.join(CHECKSUMS))
}

/// Creates `dir` if need be and checks that a file can be created in it (a temporary one,
/// removed at once): one error naming the directory (`what` says which) and the cause, instead
/// of one failure per cell later.
pub(crate) fn check_writable(dir: &Path, what: &str) -> anyhow::Result<()> {
    let cannot = |e: std::io::Error| {
        anyhow::anyhow!("cannot write into the {what} {}: {e}", output::shown(dir))
    };
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("create directory {}: {e}", output::shown(dir)))?;
    // Named as pegate-fs names its temporary files, so a run killed right here leaves nothing
    // the next run's debris removal does not know.
    let probe = dir.join(format!(
        "{}probe",
        pegate::fs::work_prefix(pegate::fs::TEMP_PREFIX.trim_end_matches('-'))
    ));
    // Not `create_new`: a file by this name was left by a dead run with this process id, and
    // is this run's to replace.
    std::fs::File::create(&probe).map_err(cannot)?;
    std::fs::remove_file(&probe).map_err(cannot)
}

/// The file every build writes last, listing the artifacts' SHA-256.
const CHECKSUMS: &str = "checksums.txt";

/// Refuses, before anything is built, a `checksums.txt` the kernel will not let this process
/// replace: in a sticky directory (`/tmp`, a shared `dist/`), an entry may be renamed over
/// only by its owner, the directory's owner or a privileged process (Linux `may_delete`, the
/// same on the BSDs and macOS). Found only at the end, that refusal would leave the new
/// artifacts in place without their checksum lines. Any other refusal still surfaces when the
/// file is written, naming it.
#[cfg(unix)]
fn check_replaceable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let (Some(dir), Ok(file)) = (path.parent(), std::fs::symlink_metadata(path)) else {
        return Ok(());
    };
    let Ok(dir) = std::fs::metadata(dir) else {
        return Ok(());
    };
    let me = rustix::process::geteuid().as_raw();
    let sticky = dir.mode() & 0o1000 != 0;
    if sticky && me != 0 && file.uid() != me && dir.uid() != me {
        anyhow::bail!(
            "cannot replace {}: it belongs to user {} in a sticky directory, so only that user \
             or the directory's owner may; nothing was built",
            output::shown(path),
            file.uid()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_replaceable(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// `--run`'s options (`None` without it): the timeout checked, Wine kept quiet.
fn run_options(args: &Args) -> anyhow::Result<Option<RunOptions>> {
    if !args.run {
        return Ok(None);
    }
    let timeout = Duration::try_from_secs_f64(args.run_timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .with_context(|| {
            format!(
                "--run-timeout {}: expected a positive number of seconds",
                args.run_timeout
            )
        })?;
    let mut opts = RunOptions::detect();
    opts.timeout = timeout;
    // Wine's fixme/err chatter would otherwise fill every cell's recorded stderr; the loader's
    // errors stay (`err+module`: "Library libstdc++-6.dll ... not found", as Windows says it).
    if std::env::var_os("WINEDEBUG").is_none() {
        opts.env
            .push(("WINEDEBUG".to_owned(), "-all,err+module".to_owned()));
    }
    Ok(Some(opts))
}

/// The cache directory, absolute: go runs in the source directory and refuses a relative
/// GOPATH, so the paths given here are made absolute against pegate's own working directory.
pub(crate) fn cache_dir(cache: Option<&Path>) -> anyhow::Result<PathBuf> {
    match cache
        .map(Path::to_path_buf)
        .or_else(toolchain::user_cache_dir)
    {
        Some(c) => std::path::absolute(&c).with_context(|| format!("--cache {}", c.display())),
        None => {
            anyhow::bail!("no cache directory: set HOME or XDG_CACHE_HOME, or pass --cache DIR")
        }
    }
}

/// The matrix the arguments ask for: the reference one, narrowed by `--target` and `--variant`.
fn matrix_spec(
    args: &Args,
    cache: &Path,
    run: Option<RunOptions>,
    config: Option<&(BuildConfig, &Path)>,
) -> anyhow::Result<MatrixSpec> {
    let mut spec = MatrixSpec::reference(&args.source, &args.out, cache);
    if let Ok(abs) = std::fs::canonicalize(&args.source)
        && let Some(name) = abs.file_name().and_then(|n| n.to_str())
    {
        name.clone_into(&mut spec.binary_name);
    }
    if !args.targets.is_empty() {
        spec.targets = args
            .targets
            .iter()
            .map(|t| Target::parse(t).with_context(|| format!("--target {t}")))
            .collect::<anyhow::Result<_>>()?;
    }
    if !args.variants.is_empty() {
        spec.variants = args.variants.iter().map(|&v| v.into()).collect();
    }
    spec.cgo = args.cgo;
    for cc in &args.cc {
        spec.cgo_options
            .add_override(cc, "--cc")
            .map_err(|e| anyhow::anyhow!("--cc {cc}: {e}"))?;
    }
    if let Some((config, path)) = config {
        spec.cgo_options
            .apply_config(&config.cgo, &format!("{} [cgo.cc]", path.display()))
            .map_err(anyhow::Error::msg)?;
    }
    spec.cgo_options.static_runtime = !args.cgo_dynamic;
    spec.reproducibility = args.repro;
    spec.jobs = args.jobs;
    spec.run = run;
    Ok(spec)
}

/// `pegate build --config FILE`: what a build takes from a file rather than flags.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BuildConfig {
    /// The C compilers of cgo cells, per target.
    #[serde(default)]
    pub(super) cgo: pegate::go::cgo::CgoConfig,
    /// `--sign`'s key options (read only with `--sign`).
    #[serde(default)]
    pub(super) sign: super::sign::SignConfig,
}

pub(super) fn read_config(path: &Path) -> anyhow::Result<BuildConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("read the build configuration {}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a build configuration: {}",
            path.display(),
            e.to_string().trim_end()
        )
    })
}

/// A progress bar on a terminal's stderr, one step per finished cell; silent otherwise.
fn progress_bar(total: usize, tty: bool) -> impl Fn(&CellEvent<'_>) + Sync {
    let done = AtomicUsize::new(0);
    move |event: &CellEvent<'_>| {
        if let CellEvent::Finished { result } = event {
            let n = done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            if tty {
                let width = 30usize;
                let filled = n.saturating_mul(width).checked_div(total).unwrap_or(width);
                let bar = format!(
                    "{}{}",
                    "#".repeat(filled),
                    "-".repeat(width.saturating_sub(filled))
                );
                let mark = if result.error().is_some() {
                    "FAILED "
                } else {
                    ""
                };
                eprint!("\r\x1b[2K[{bar}] {n}/{total} {mark}{}", result.cell);
                if n == total {
                    eprintln!();
                }
            }
        }
    }
}

/// `<out>/checksums.txt`, the built artifacts' SHA-256 in sha256sum format, written whole;
/// returns its path. With `merge`, the lines of the existing file for names not built now are
/// kept (an interrupted run must not drop the record of artifacts it did not touch).
/// `removed` names files this run removed (cells it could not sign): their old lines go too.
fn write_checksums(
    report: &MatrixReport,
    out_dir: &Path,
    merge: bool,
    removed: &[String],
) -> anyhow::Result<PathBuf> {
    let sums_path = out_dir.join(CHECKSUMS);
    let built: Vec<(String, &str)> = report
        .artifacts()
        .map(|a| {
            let name = a
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, a.sha256.as_str())
        })
        .collect();
    let mut sums = String::new();
    if merge {
        if built.is_empty() && removed.is_empty() {
            return Ok(sums_path);
        }
        let old = std::fs::read_to_string(&sums_path).unwrap_or_default();
        for line in old.lines() {
            let name = line.split_once("  ").map_or("", |(_, n)| n);
            if !name.is_empty()
                && !built.iter().any(|(b, _)| b == name)
                && !removed.iter().any(|r| r == name)
            {
                let _ = writeln!(sums, "{line}");
            }
        }
    }
    for (name, sha256) in &built {
        let _ = writeln!(sums, "{sha256}  {name}");
    }
    pegate::fs::write(&sums_path, sums.as_bytes())?;
    Ok(sums_path)
}

/// The table: one line per cell (its artifact or its failure), with its run beneath.
fn write_table(out: &mut impl std::io::Write, report: &MatrixReport) -> std::io::Result<()> {
    for c in &report.cells {
        match &c.outcome {
            CellOutcome::Built(a) => {
                let repro = match c.reproducible {
                    Some(true) => "  reproducible",
                    Some(false) => "  NOT reproducible",
                    None => "",
                };
                writeln!(
                    out,
                    "ok    {}  {}  {} bytes{repro}",
                    output::shown(&a.path),
                    a.sha256,
                    a.size
                )?;
                if let Some(cc) = &a.c_compiler {
                    writeln!(out, "      cc: {} ({}; {})", cc.cc, cc.version, cc.source)?;
                }
                if let Some(run) = &c.run {
                    write_run(out, run)?;
                }
            }
            CellOutcome::Failed(e) => {
                writeln!(out, "FAIL  {}: {}", c.cell, output::text(e.cause()))?;
                for line in e.stderr.lines() {
                    writeln!(out, "        {}", output::lines(line))?;
                }
            }
        }
    }
    Ok(())
}

/// `--go` made absolute when it names a path (an existing file or directory, or anything with a
/// separator, as the resolver decides); a version such as `1.27.3` stays as given.
pub(crate) fn absolute_go(value: &str) -> anyhow::Result<String> {
    let path = Path::new(value.trim());
    let is_path = path.exists() || value.contains(std::path::MAIN_SEPARATOR) || value.contains('/');
    if !is_path || path.is_absolute() {
        return Ok(value.to_owned());
    }
    let abs = std::path::absolute(path).with_context(|| format!("--go {value}"))?;
    abs.into_os_string()
        .into_string()
        .map_err(|abs| anyhow::anyhow!("--go {value}: {} is not UTF-8", abs.display()))
}

/// One line for a cell's run, then the output that explains a failure.
fn write_run(out: &mut impl std::io::Write, run: &RunResult) -> std::io::Result<()> {
    let word = if run.failed() { "FAIL" } else { "" };
    let how = if run.runner.is_empty() {
        String::new()
    } else {
        format!(" ({}, {} ms)", run.runner, run.elapsed_ms)
    };
    writeln!(out, "{word:<6}run{how}: {}", output::text(&run.summary()))?;
    if run.failed() {
        for line in run.stdout.lines().chain(run.stderr.lines()).take(20) {
            writeln!(out, "        {}", output::lines(line))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use clap::Parser;
    use pegate::go::run::RunStatus;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn text(run: &RunResult) -> String {
        let mut out = Vec::new();
        write_run(&mut out, run).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn run_lines_say_what_ran_what_failed_and_why_a_cell_was_skipped() {
        let skipped = RunResult::skipped("arm64: no runner on this host");
        assert_eq!(
            text(&skipped),
            "      run: skipped: arm64: no runner on this host\n"
        );
        let mut ran = RunResult::skipped("");
        ran.status = RunStatus::Passed;
        ran.runner = "wine64".to_owned();
        ran.exit_code = Some(0);
        ran.stdout = "Hello, Windows!\n".to_owned();
        ran.elapsed_ms = 120;
        ran.reason = None;
        assert_eq!(
            text(&ran),
            "      run (wine64, 120 ms): exit 0: Hello, Windows!\n"
        );
        let mut failed = ran.clone();
        failed.status = RunStatus::Failed;
        failed.exit_code = Some(2);
        failed.stdout = String::new();
        failed.stderr = "panic: boom\ngoroutine 1 [running]:\n".to_owned();
        assert_eq!(
            text(&failed),
            "FAIL  run (wine64, 120 ms): exit 2: panic: boom\n        panic: boom\n        goroutine 1 [running]:\n"
        );
    }

    #[test]
    fn go_paths_become_absolute_and_versions_stay() {
        let cwd = std::env::current_dir().unwrap();
        // Joined part by part: on Windows `absolute` also turns `/` into `\`.
        let here = |parts: &[&str]| {
            let path: PathBuf = parts.iter().fold(cwd.clone(), |p, part| p.join(part));
            path.into_os_string().into_string().unwrap()
        };
        let abs = here(&["elsewhere"]);
        for (given, want) in [
            ("1.27.3", "1.27.3".to_owned()),
            ("go1.22.10", "go1.22.10".to_owned()),
            ("tools/go/bin/go", here(&["tools", "go", "bin", "go"])),
            // An existing directory without a separator (a GOROOT named on its own).
            ("src", here(&["src"])),
            (abs.as_str(), abs.clone()),
        ] {
            assert_eq!(absolute_go(given).unwrap(), want, "{given}");
        }
    }

    #[test]
    fn run_timeout_needs_run() {
        let parsed = Cli::try_parse_from(["build", "--run", "--run-timeout", "2.5"]).unwrap();
        assert!(parsed.args.run);
        assert_eq!(parsed.args.run_timeout, 2.5);
        assert!(Cli::try_parse_from(["build", "--run-timeout", "3"]).is_err());
        assert_eq!(
            Cli::try_parse_from(["build"]).unwrap().args.run_timeout,
            10.0
        );
    }
}
