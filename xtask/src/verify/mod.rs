//! `cargo xtask verify`: provision Go, build the reference matrix, inspect and check every artifact.
//!
//! Steps: resolve the pinned Go (provisioning it into `target/pegate-go/` on a fresh machine),
//! build windows/{amd64,arm64,386} × {console,gui,stripped} with pegate's matrix builder (progress
//! on stderr), inspect each artifact's PE headers and Go build info, check them against what the
//! cell must be (machine, PE32/PE32+, subsystem, ASLR/NX/high-entropy VA, symbols and DWARF,
//! build-info agreement), print one table row per cell and write `target/pegate-verify/report.json`.
//!
//! `--go 1.27.3 --go 1.23.9` builds the matrix with both (a cell is Go version × target × variant);
//! `--go-archive FILE --sha256 HEX` installs a local Go archive offline first.
//!
//! `--cgo` builds the cgo fixture (`fixtures/hello-cgo`: C, C++ and the Windows API) instead, with
//! the C cross compiler pegate picks per target (MinGW-w64 or the pinned zig) recorded per cell.
//! Each cgo cell's import table is read and judged by the default release policy's import rules
//! (`imports.system-only`, `imports.deny`, evaluated by pegate-policy as `pegate gate` does): a
//! cell importing a DLL that is not part of Windows (MinGW's `libwinpthread-1.dll`) fails with the
//! rule's message. The table gets an `imports` column and each cell's report an `imports` entry.
//!
//! `--run` then runs every artifact the host can execute (natively on Windows; under Wine on
//! Linux: windows/amd64 with wine64, windows/386 only with 32-bit Wine), killed after
//! `--run-timeout` seconds (default 10). Each cell's `run` (exit code, stdout, stderr, elapsed
//! time) goes into the report and a `run` column; a cell this host cannot run says why and still
//! passes; a non-zero exit or a timeout fails it.
//!
//! `--test` also runs `fixtures/wintests`' Windows-only tests with `pegate test`'s library for
//! each Go version and target (under Wine on Linux; see `verify_test.rs`), prints their table and
//! puts the reports in `report.json`'s `tests`; a failed test fails the run.
//!
//! `--sign-test` signs every artifact right after its matrix is built, with a throwaway CA and
//! code-signing certificate made for the run (`<out>/sign-test/`, with `openssl`), through the
//! library call `pegate build --sign` makes; the report's SHA-256 are then the signed files' and
//! `<out>/checksums.authenticode.txt` lists the image hashes. Each cell must verify as
//! `signed-valid` with that CA as trust and pass the gate's signature rules and `checksum.match`
//! (see `sign_test.rs`); a `signature` column and each cell's `signature` in the report say so.
//!
//! Exit codes: 0 every cell passed, 1 a cell failed to build or a check failed, 2 nothing could be
//! evaluated (no Go and provisioning impossible, bad arguments), 130 / 143 stopped by Ctrl-C /
//! SIGTERM (`pegate::interrupt`: the children stop, the cells remove their staging directories,
//! no report is written).

mod check;
mod table;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use pegate::go::matrix::{self, CellEvent, MatrixReport, MatrixSpec};
use pegate::go::run::RunOptions;
use pegate::go::toolchain::{self, Toolchain, ToolchainRequest};
use serde::Serialize;

use check::{Check, Row, check_all, row_ok};
use table::table;

const USAGE: &str = "usage: cargo xtask verify [--go <path|version>]... [--cache DIR] [--out DIR] \
                     [--python PATH] [--go-archive FILE --sha256 HEX] [--jobs N] [--repro] \
                     [--run [--run-timeout SECONDS]] [--test] [--cgo] [--sign-test]";

struct Options {
    go: Vec<String>,
    cache: PathBuf,
    out: PathBuf,
    python: PathBuf,
    archive: Option<(PathBuf, String)>,
    jobs: Option<usize>,
    repro: bool,
    run: bool,
    test: bool,
    run_timeout: Duration,
    cgo: bool,
    sign_test: bool,
}

fn workspace() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn parse_args(args: &[String]) -> anyhow::Result<Options> {
    let root = workspace();
    let mut opts = Options {
        go: Vec::new(),
        cache: root.join("target").join("pegate-go"),
        out: root.join("target").join("pegate-verify"),
        python: PathBuf::from("python3"),
        archive: None,
        jobs: None,
        repro: false,
        run: false,
        test: false,
        run_timeout: pegate::go::run::DEFAULT_TIMEOUT,
        cgo: false,
        sign_test: false,
    };
    let (mut archive, mut sha256) = (None, None);
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .cloned()
                .with_context(|| format!("{name} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--go" => opts.go.push(value("--go")?),
            "--cache" => opts.cache = value("--cache")?.into(),
            "--out" => opts.out = value("--out")?.into(),
            "--python" => opts.python = value("--python")?.into(),
            "--jobs" => {
                let jobs = value("--jobs")?;
                opts.jobs = Some(jobs.parse().with_context(|| format!("--jobs {jobs}"))?);
            }
            "--go-archive" => archive = Some(PathBuf::from(value("--go-archive")?)),
            "--sha256" => sha256 = Some(value("--sha256")?),
            "--repro" => opts.repro = true,
            "--cgo" => opts.cgo = true,
            "--run" => opts.run = true,
            "--test" => opts.test = true,
            "--sign-test" => opts.sign_test = true,
            "--run-timeout" => {
                let secs = value("--run-timeout")?;
                opts.run_timeout = secs
                    .parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .filter(|t| !t.is_zero())
                    .with_context(|| {
                        format!("--run-timeout {secs}: expected a positive number of seconds")
                    })?;
            }
            "-h" | "--help" => bail!("{USAGE}"),
            other => bail!("unknown argument `{other}`\n{USAGE}"),
        }
    }
    opts.archive = match (archive, sha256) {
        (Some(archive), Some(sha256)) => Some((archive, sha256)),
        (None, None) => None,
        _ => bail!("--go-archive and --sha256 go together\n{USAGE}"),
    };
    if opts.go.is_empty() {
        opts.go.push(toolchain::DEFAULT_GO_VERSION.to_owned());
    }
    Ok(opts)
}

/// How the messages of an interrupted run start.
const PROGRAM: &str = "cargo xtask verify";

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    // Ctrl-C / SIGTERM: the children (go, the C compiler, Wine) stop, the cells fail fast and
    // remove their staging directories, and the run stops before its tests and report.
    pegate::interrupt::install(PROGRAM, pegate::interrupt::Mode::Finish);
    let result = verify(args);
    if let Some(code) = pegate::interrupt::interrupted() {
        std::process::exit(i32::from(code));
    }
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code)
}

/// Fails once a signal came: what follows would only report the stopped children's errors.
fn stop_if_interrupted() -> anyhow::Result<()> {
    match pegate::interrupt::received() {
        Some(signal) => bail!("interrupted by {}", pegate::interrupt::name(signal)),
        None => Ok(()),
    }
}

/// Runs the whole verification; `Ok(exit code)`, `Err` when nothing could be evaluated.
fn verify(args: &[String]) -> anyhow::Result<i32> {
    let opts = parse_args(args)?;
    let toolchains = resolve_go(&opts)?;
    let (rows, elapsed_ms) = build_and_check(&opts, &toolchains)?;
    print!("{}", table(&rows));
    print_compilers_and_imports(&rows);
    let tests = if opts.test {
        Some(crate::verify_test::run(
            &toolchains,
            &opts.cache,
            &opts.out,
        )?)
    } else {
        None
    };
    stop_if_interrupted()?;
    let ok =
        rows.iter().all(|r| r.ok) && tests.iter().flatten().all(|t| !t.failed() && !t.errored());
    let json = Report {
        ok,
        go: &toolchains,
        matrix_elapsed_ms: elapsed_ms,
        cells: &rows,
        tests: tests.as_deref(),
    };
    let path = opts.out.join("report.json");
    std::fs::create_dir_all(&opts.out).with_context(|| format!("create {}", opts.out.display()))?;
    pegate::fs::write(&path, &serde_json::to_vec_pretty(&json)?)
        .with_context(|| format!("write {}", path.display()))?;
    let failed = rows.iter().filter(|r| !r.ok).count();
    println!(
        "{} of {} cells passed in {:.1} s; report: {}",
        rows.len().saturating_sub(failed),
        rows.len(),
        elapsed_ms as f64 / 1000.0,
        path.display()
    );
    Ok(if ok { 0 } else { 1 })
}

/// Builds the matrix with each toolchain (signing it with `--sign-test`), checks every cell
/// and returns the rows with the matrices' total build time in milliseconds.
fn build_and_check(opts: &Options, toolchains: &[Toolchain]) -> anyhow::Result<(Vec<Row>, u64)> {
    // `--cgo`: the cgo fixture (C, C++, the Windows API) with a C cross compiler per cell.
    let fixture = if opts.cgo { "hello-cgo" } else { "hello" };
    let hello = workspace().join("fixtures").join(fixture);
    let artifacts = opts.out.join("artifacts");
    // Start from an empty artifact directory so the report describes only this run.
    if artifacts.exists() {
        std::fs::remove_dir_all(&artifacts)
            .with_context(|| format!("remove {}", artifacts.display()))?;
    }
    let spec = matrix_spec(opts, &hello, &artifacts)?;
    let total = spec
        .targets
        .len()
        .saturating_mul(spec.variants.len())
        .saturating_mul(toolchains.len());
    let done = AtomicUsize::new(0);
    let progress = |event: &CellEvent<'_>| print_progress(event, &done, total);
    // Made before the build: a run without `openssl` fails before minutes of compiling.
    let signing = if opts.sign_test {
        let signing = crate::sign_test::SignTest::new(&opts.out.join("sign-test"))?;
        eprintln!(
            "sign-test: throwaway CA {}",
            signing.dir.join("ca.pem").display()
        );
        Some(signing)
    } else {
        None
    };
    let mut image_hashes = String::new();
    let mut rows = Vec::new();
    let mut elapsed_ms = 0u64;
    for tc in toolchains {
        eprintln!(
            "go: {} at {} (cache {})",
            tc.version,
            tc.goroot.display(),
            opts.cache.display()
        );
        let mut report = matrix::build(tc, &spec, &progress)
            .with_context(|| format!("build the reference matrix of {}", hello.display()))?;
        stop_if_interrupted()?;
        elapsed_ms = elapsed_ms.saturating_add(report.elapsed_ms);
        match &signing {
            Some(signing) => rows.extend(signed_rows(signing, &mut report, &mut image_hashes)?),
            None => rows.extend(check_all(&report)),
        }
    }

    if signing.is_some() {
        let path = opts.out.join("checksums.authenticode.txt");
        pegate::fs::write(&path, image_hashes.as_bytes())
            .with_context(|| format!("write {}", path.display()))?;
    }
    Ok((rows, elapsed_ms))
}

/// One progress line on stderr: a cell starts, or the `done`-th of `total` finished.
fn print_progress(event: &CellEvent<'_>, done: &AtomicUsize, total: usize) {
    match event {
        CellEvent::Started { cell } => eprintln!("  building {cell}"),
        CellEvent::Finished { result } => {
            let n = done.fetch_add(1, Ordering::Relaxed).saturating_add(1);
            let status = if result.error().is_some() {
                "FAILED"
            } else {
                "built"
            };
            eprintln!(
                "  [{n}/{total}] {status} {} in {:.1} s",
                result.cell,
                result.elapsed_ms as f64 / 1000.0
            );
        }
        _ => {}
    }
}

/// The reference matrix of `hello` into `artifacts`, as the options ask for it.
fn matrix_spec(opts: &Options, hello: &Path, artifacts: &Path) -> anyhow::Result<MatrixSpec> {
    let mut spec = MatrixSpec::reference(hello, artifacts, &opts.cache);
    spec.reproducibility = opts.repro;
    spec.jobs = opts.jobs;
    spec.cgo = opts.cgo;
    spec.cgo_options.python = opts.python.clone();
    if opts.run {
        spec.run = Some(run_options(opts)?);
    }
    Ok(spec)
}

/// `--sign-test`: signs a toolchain's built matrix (before anything reads the artifacts' hashes,
/// as `pegate build --sign` does), appends its image-hash lines to `image_hashes`, and checks
/// every cell with the signature and gate checks added.
fn signed_rows(
    signing: &crate::sign_test::SignTest,
    report: &mut MatrixReport,
    image_hashes: &mut String,
) -> anyhow::Result<Vec<Row>> {
    let signed = signing.sign(report)?;
    let text = pegate::release::image_hash_lines(&signed.signed);
    image_hashes.push_str(&text);
    let list = pegate::policy::parse_checksums(&text)?;
    let mut cells = check_all(report);
    for row in &mut cells {
        let path = row.artifact.as_ref().map(|a| a.path.clone());
        let Some(artifact) = signed
            .signed
            .iter()
            .find(|s| Some(&s.path) == path.as_ref())
        else {
            continue;
        };
        let check = signing.check(artifact, &list);
        // The plain matrix expects no certificate table; this one must have one.
        if let Some(c) = row.checks.iter_mut().find(|c| c.name == "unsigned") {
            *c = Check::new("unsigned", false, &c.actual);
        }
        row.checks
            .push(Check::new("signature", "signed-valid", &check.status));
        row.checks
            .push(Check::new("gate", "", check.gate_failures()));
        row.signature = Some(check);
        row.ok = row_ok(row);
    }
    Ok(cells)
}

/// The lines after the table: each cgo cell's C compiler, each cell's imported DLLs.
fn print_compilers_and_imports(rows: &[Row]) {
    for row in rows {
        if let Some(cc) = row.artifact.as_ref().and_then(|a| a.c_compiler.as_ref()) {
            println!("{}: cc {} ({}; {})", row.cell, cc.cc, cc.version, cc.source);
        }
        if let Some(gate) = &row.imports {
            println!("{}: imports {}", row.cell, gate.dlls.join(", "));
        }
    }
}

/// How `--run` runs the artifacts: this host's runners, quiet Wine, and the test Wine prefix.
fn run_options(opts: &Options) -> anyhow::Result<RunOptions> {
    let mut run = RunOptions::detect();
    run.timeout = opts.run_timeout;
    // Quiet Wine, but its loader's "Library X.dll ... not found" is the missing-DLL report.
    run.env
        .push(("WINEDEBUG".to_owned(), "-all,err+module".to_owned()));
    // Wine 8 needs the prefix with the bcryptprimitives stub to start any Go >= 1.22 binary.
    if run.host.wine64.is_some() || run.host.wine32.is_some() {
        let prefix = crate::wine::ensure_prefix(&workspace())
            .context("prepare the Wine prefix for --run")?;
        run.env
            .push(("WINEPREFIX".to_owned(), prefix.display().to_string()));
    }
    Ok(run)
}

/// The toolchains to build with: the pinned Go unless `--go` (repeatable) or `--go-archive`.
fn resolve_go(opts: &Options) -> anyhow::Result<Vec<Toolchain>> {
    if let Some((archive, sha256)) = &opts.archive {
        // Offline install: the archive's hash is checked before anything is unpacked.
        return Ok(vec![toolchain::install_archive(
            archive,
            sha256,
            &opts.cache,
        )?]);
    }
    opts.go
        .iter()
        .map(|go| {
            let mut req = ToolchainRequest::new(&opts.cache);
            // The reference matrix uses the pinned Go, not whatever `go` is on PATH.
            req.explicit = Some(go.clone());
            req.python = opts.python.clone();
            let reporter = pegate::progress::Reporter::stderr();
            Ok(toolchain::resolve_reporting(&req, &|e| reporter.report(e))?)
        })
        .collect()
}

#[derive(Serialize)]
struct Report<'a> {
    ok: bool,
    go: &'a [Toolchain],
    matrix_elapsed_ms: u64,
    cells: &'a [Row],
    #[serde(skip_serializing_if = "Option::is_none")]
    tests: Option<&'a [pegate::go::gotest::TestReport]>,
}

#[cfg(test)]
mod tests;
