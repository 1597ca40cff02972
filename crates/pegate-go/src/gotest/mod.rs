//! `pegate test`: a Go module's tests for each Windows target, run where this host can run them
//! (natively on Windows; under Wine on Linux for windows/amd64, and windows/386 with 32-bit Wine;
//! windows/arm64 "no runner on this host", skipped, not failed), parsed into per-test results
//! through `go tool test2json`.
//!
//! ## `go test -c`, not `go test -exec`
//!
//! Each package's test binary is compiled with `go test -c` (once per package × target, in
//! parallel, sharing pegate's GOCACHE) and then run by pegate. `go test -exec pegate-runner`
//! would hand the run to `go test`, which then owns what this module needs to own: the binaries
//! exist only in `go test`'s temporary directory for the moment they run, so they could not be
//! gated (`--gate POLICY` judges them like artifacts) or kept; the runner would have to be a
//! program on disk (the library cannot be one); and killing a hung binary, `--fail-fast` across
//! packages and targets, and telling "did not compile" from "failed" from "could not run here"
//! would all be read back from `go test`'s output. With `-c` those are steps of this module:
//! list the packages (`go list -e -json` for the target, so `_windows_test.go` files count),
//! compile, (gate), run each binary with `-test.v=test2json` under the runner
//! [`crate::run::select_runner`] picks, killed after the timeout, and feed its output to the host
//! Go's `go tool test2json -t -p PKG`, exactly as `go test -json` does.
//!
//! Under Wine the test environment ([`TestSpec::env`]) reaches the binary through
//! [`crate::wine::command`] (the prefix's registry would otherwise override variables such as
//! `USERPROFILE`); what a pass under Wine proves is in [`crate::wine`]'s documentation.
//!
//! ```no_run
//! use pegate_go::{gotest::{self, TestSpec}, toolchain};
//! # fn main() -> Result<(), pegate_go::Error> {
//! let cache = std::path::Path::new("target/pegate-go");
//! let tc = toolchain::provision(toolchain::DEFAULT_GO_VERSION, cache)?;
//! let spec = TestSpec::new("fixtures/wintests", "target/pegate-test", cache);
//! let report = gotest::test(&tc, &spec, &|_done| {})?;
//! print!("{}", gotest::render::table(&report));
//! # Ok(()) }
//! ```

pub mod render;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::matrix::Target;
use crate::run::{self, Host, RunOptions, RunStatus, Runner};
use crate::toolchain::{Toolchain, tail};

/// How long one test binary may run before it is killed, unless asked otherwise (as `go test`).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Bytes of a test binary's output kept (what test2json then parses).
pub const MAX_OUTPUT: usize = 64 * 1024 * 1024;

/// What to test, for which targets, and how.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestSpec {
    /// The module directory `go` runs in (holds `go.mod`).
    pub source_dir: PathBuf,
    /// Package patterns (`./...`, the default).
    pub packages: Vec<String>,
    /// GOOS/GOARCH pairs (default windows/amd64, windows/arm64, windows/386).
    pub targets: Vec<Target>,
    /// Where the test binaries go (`<out>/<goos>_<goarch>/<package>.test.exe`).
    pub out_dir: PathBuf,
    /// pegate's cache: GOCACHE, GOPATH and GOMODCACHE live under it.
    pub cache: PathBuf,
    /// Build tags (`-tags`).
    pub tags: Vec<String>,
    /// `-run` pattern passed to the binaries.
    pub run: Option<String>,
    /// `-skip` pattern passed to the binaries.
    pub skip: Option<String>,
    /// Per-binary timeout (`-test.timeout`; the process is killed 30 s after it).
    pub timeout: Duration,
    /// Packages compiled and run at once (default 2).
    pub jobs: usize,
    /// Stop starting packages after the first failure (and pass `-test.failfast`).
    pub fail_fast: bool,
    /// `-trimpath`, as the matrix builds (default true), so that gated test binaries are built
    /// like the artifacts.
    pub trimpath: bool,
    /// Environment for the test binaries (and `WINE*` variables for Wine's loader).
    pub env: Vec<(String, String)>,
    /// The machine the binaries run on.
    pub host: Host,
}

impl TestSpec {
    /// `./...` of `source_dir` for the three reference targets, on this host.
    pub fn new(
        source_dir: impl Into<PathBuf>,
        out_dir: impl Into<PathBuf>,
        cache: impl Into<PathBuf>,
    ) -> TestSpec {
        TestSpec {
            source_dir: source_dir.into(),
            packages: vec!["./...".to_owned()],
            targets: crate::matrix::reference_targets(),
            out_dir: out_dir.into(),
            cache: cache.into(),
            tags: Vec::new(),
            run: None,
            skip: None,
            timeout: DEFAULT_TIMEOUT,
            jobs: 2,
            fail_fast: false,
            trimpath: true,
            env: Vec::new(),
            host: Host::detect(),
        }
    }

    /// The environment `go list` and `go test -c` get for `target`.
    fn go_env(&self, target: &Target) -> Vec<(String, String)> {
        let gopath = self.cache.join("gopath");
        vec![
            ("GOOS".to_owned(), target.goos.clone()),
            ("GOARCH".to_owned(), target.goarch.clone()),
            ("CGO_ENABLED".to_owned(), "0".to_owned()),
            (
                "GOCACHE".to_owned(),
                self.cache.join("gocache").display().to_string(),
            ),
            (
                "GOMODCACHE".to_owned(),
                gopath.join("pkg").join("mod").display().to_string(),
            ),
            ("GOPATH".to_owned(), gopath.display().to_string()),
        ]
    }

    /// The arguments each test binary gets.
    fn binary_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "-test.v=test2json".into(),
            "-test.paniconexit0".into(),
            format!("-test.timeout={}ms", self.timeout.as_millis()).into(),
        ];
        if let Some(run) = &self.run {
            args.push(format!("-test.run={run}").into());
        }
        if let Some(skip) = &self.skip {
            args.push(format!("-test.skip={skip}").into());
        }
        if self.fail_fast {
            args.push("-test.failfast".into());
        }
        args
    }
}

/// How one test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum TestStatus {
    /// Passed.
    Passed,
    /// Failed.
    Failed,
    /// Skipped (`t.Skip`).
    Skipped,
}

/// One test (or subtest) of a package on a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestCase {
    /// `TestName` or `TestName/subtest`.
    pub name: String,
    /// How it ended.
    pub status: TestStatus,
    /// Its time as the test binary reported it, in milliseconds.
    pub elapsed_ms: u64,
    /// What it printed (`t.Log`, `t.Error`, the `--- FAIL` line).
    pub output: String,
}

/// How a package × target ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum PackageStatus {
    /// Every test passed (or was skipped).
    Passed,
    /// A test failed, or the binary exited non-zero.
    Failed,
    /// The tests did not compile (`go test -c` failed); a failure, as in `go test`.
    BuildFailed,
    /// Ran past the timeout: go test's `-test.timeout` ended it (a panic, exit 2), or pegate
    /// killed it 30 s after; a failure.
    TimedOut,
    /// The package has no test files for this target.
    NoTestFiles,
    /// Not run: this host has no runner for the target (`reason`). Not a failure.
    Skipped,
    /// Not run because of an earlier failure and `--fail-fast`.
    NotRun,
    /// pegate could not evaluate it (the runner could not start, test2json failed).
    Error,
}

impl PackageStatus {
    /// Whether this fails the run (exit 1).
    pub fn failed(self) -> bool {
        matches!(
            self,
            PackageStatus::Failed | PackageStatus::BuildFailed | PackageStatus::TimedOut
        )
    }

    /// The word tables show: `ok`, `FAIL`, `FAIL (build)`, `FAIL (timeout)`, ...
    pub fn word(self) -> &'static str {
        match self {
            PackageStatus::Passed => "ok",
            PackageStatus::Failed => "FAIL",
            PackageStatus::BuildFailed => "FAIL (build)",
            PackageStatus::TimedOut => "FAIL (timeout)",
            PackageStatus::NoTestFiles => "no test files",
            PackageStatus::Skipped => "skipped",
            PackageStatus::NotRun => "not run",
            PackageStatus::Error => "ERROR",
        }
    }
}

/// One package on one target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageResult {
    /// The import path.
    pub package: String,
    /// Its directory (where the binary runs).
    pub dir: PathBuf,
    /// The target.
    pub target: Target,
    /// How it ended.
    pub status: PackageStatus,
    /// Who ran it (`wine 8.0`, `native`), when it ran.
    pub runner: Option<String>,
    /// The compiled test binary, when there is one.
    pub binary: Option<PathBuf>,
    /// The binary's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// Its tests, in the order they finished.
    pub tests: Vec<TestCase>,
    /// Compile plus run time, in milliseconds.
    pub elapsed_ms: u64,
    /// Why it was skipped, not run or errored; the build error; `None` otherwise.
    pub reason: Option<String>,
    /// Output that belongs to no test (a panic, `FAIL`, the end of stderr), trimmed.
    pub output: String,
}

impl PackageResult {
    fn new(package: &ListedPackage, target: &Target, status: PackageStatus) -> PackageResult {
        PackageResult {
            package: package.import_path.clone(),
            dir: package.dir.clone(),
            target: target.clone(),
            status,
            runner: None,
            binary: None,
            exit_code: None,
            tests: Vec::new(),
            elapsed_ms: 0,
            reason: None,
            output: String::new(),
        }
    }

    /// How many of its tests ended with `status`.
    pub fn count(&self, status: TestStatus) -> usize {
        self.tests.iter().filter(|t| t.status == status).count()
    }
}

/// Which runner a target got on this host, or why none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRunner {
    /// The target.
    pub target: Target,
    /// `wine 8.0`, `native`; `None` when nothing runs it here.
    pub runner: Option<String>,
    /// The loader program, for Wine.
    pub program: Option<PathBuf>,
    /// Why nothing runs it here (`arm64: no runner on this host`).
    pub reason: Option<String>,
}

/// Everything one `pegate test` found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    /// The Go that compiled the tests (`go1.27.3`).
    pub go_version: String,
    /// One entry per target: its runner on this host.
    pub runners: Vec<TargetRunner>,
    /// One entry per package × target, packages outer, targets in the order asked.
    pub packages: Vec<PackageResult>,
    /// Wall time, in milliseconds.
    pub elapsed_ms: u64,
}

impl TestReport {
    /// Whether any package failed (a failed test, a build failure, a timeout): exit 1.
    pub fn failed(&self) -> bool {
        self.packages.iter().any(|p| p.status.failed())
    }

    /// Whether any package could not be evaluated: exit 2.
    pub fn errored(&self) -> bool {
        self.packages
            .iter()
            .any(|p| p.status == PackageStatus::Error)
    }

    /// The same report with every time set to zero (for snapshots).
    pub fn without_timings(&self) -> TestReport {
        let mut r = self.clone();
        r.elapsed_ms = 0;
        for p in &mut r.packages {
            p.elapsed_ms = 0;
            for t in &mut p.tests {
                t.elapsed_ms = 0;
            }
        }
        r
    }
}

/// A package as `go list -e -json` describes it for one target.
#[derive(Debug, Clone, Default, Deserialize)]
struct ListedPackage {
    #[serde(rename = "ImportPath")]
    import_path: String,
    #[serde(rename = "Dir", default)]
    dir: PathBuf,
    #[serde(rename = "TestGoFiles", default)]
    test_go_files: Vec<String>,
    #[serde(rename = "XTestGoFiles", default)]
    xtest_go_files: Vec<String>,
    #[serde(rename = "Error", default)]
    error: Option<ListError>,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ListError {
    #[serde(rename = "Err", default)]
    err: String,
}

/// Lists the packages of `spec` for `target`.
fn list(tc: &Toolchain, spec: &TestSpec, target: &Target) -> Result<Vec<ListedPackage>> {
    let mut cmd = tc.command();
    cmd.current_dir(&spec.source_dir)
        .envs(spec.go_env(target))
        .args([
            "list",
            "-e",
            "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles,Error",
        ]);
    if !spec.tags.is_empty() {
        cmd.arg(format!("-tags={}", spec.tags.join(",")));
    }
    cmd.args(&spec.packages);
    let out = crate::toolchain::run_captured(&mut cmd)?;
    serde_json::Deserializer::from_str(&out)
        .into_iter::<ListedPackage>()
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::BadOutput {
            command: "go list -e -json".to_owned(),
            reason: e.to_string(),
        })
}

/// `example.com/a/b` → `example.com_a_b`: a file name for the package's test binary.
fn binary_name(import_path: &str) -> String {
    let name: String = import_path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{name}.test.exe")
}

/// One package × target to do.
#[derive(Debug, Clone)]
struct Job {
    package: ListedPackage,
    target: Target,
}

/// Compiles, then runs, every package's tests for every target; `done` is called as each
/// package × target finishes (from worker threads). `Err` only when nothing could be evaluated
/// (no source directory, `go list` failed); everything else is in the report.
pub fn test(
    tc: &Toolchain,
    spec: &TestSpec,
    done: &(dyn Fn(&PackageResult) + Sync),
) -> Result<TestReport> {
    test_gated(tc, spec, &|_| Ok(()), done)
}

/// [`test`], with `gate` called on each compiled binary before it runs: an `Err(reason)` fails
/// the package without running it (`--gate POLICY`).
pub fn test_gated(
    tc: &Toolchain,
    spec: &TestSpec,
    gate: &(dyn Fn(&Path) -> std::result::Result<(), String> + Sync),
    done: &(dyn Fn(&PackageResult) + Sync),
) -> Result<TestReport> {
    let started = Instant::now();
    if !spec.source_dir.join("go.mod").is_file() {
        return Err(Error::InvalidMatrix {
            reason: format!("{} has no go.mod", spec.source_dir.display()),
        });
    }
    if spec.targets.is_empty() {
        return Err(Error::InvalidMatrix {
            reason: "no targets".to_owned(),
        });
    }
    fs::create_dir_all(&spec.out_dir)
        .map_err(|e| Error::io("create directory", &spec.out_dir, e))?;
    let out_dir =
        fs::canonicalize(&spec.out_dir).map_err(|e| Error::io("resolve", &spec.out_dir, e))?;

    let runners: Vec<TargetRunner> = spec
        .targets
        .iter()
        .map(|t| target_runner(&spec.host, t))
        .collect();
    // Packages outer, targets inner: the table reads one package at a time.
    let mut per_target = Vec::new();
    for target in &spec.targets {
        per_target.push(list(tc, spec, target)?);
    }
    let mut jobs = Vec::new();
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    for (t, packages) in spec.targets.iter().zip(&per_target) {
        for p in packages {
            let next = order.len();
            order.entry(p.import_path.clone()).or_insert(next);
            jobs.push(Job {
                package: p.clone(),
                target: t.clone(),
            });
        }
    }
    let target_index = |t: &Target| spec.targets.iter().position(|x| x == t).unwrap_or(0);
    jobs.sort_by_key(|j| {
        (
            order.get(&j.package.import_path).copied().unwrap_or(0),
            target_index(&j.target),
        )
    });

    let stop = AtomicBool::new(false);
    let work = || {
        jobs.par_iter()
            .map(|job| {
                let runner = runners
                    .get(target_index(&job.target))
                    .cloned()
                    .unwrap_or_else(|| target_runner(&spec.host, &job.target));
                let result = if spec.fail_fast && stop.load(Ordering::Relaxed) {
                    let mut r =
                        PackageResult::new(&job.package, &job.target, PackageStatus::NotRun);
                    r.reason = Some("not run: an earlier package failed (--fail-fast)".to_owned());
                    r
                } else {
                    one(tc, spec, &out_dir, job, &runner, gate)
                };
                if result.status.failed() || result.status == PackageStatus::Error {
                    stop.store(true, Ordering::Relaxed);
                }
                done(&result);
                result
            })
            .collect::<Vec<_>>()
    };
    let packages = match rayon::ThreadPoolBuilder::new()
        .num_threads(spec.jobs.max(1))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    };
    Ok(TestReport {
        go_version: tc.version.clone(),
        runners,
        packages,
        elapsed_ms: millis(started.elapsed()),
    })
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The runner `host` has for `target`, named for reports (`wine 8.0`).
fn target_runner(host: &Host, target: &Target) -> TargetRunner {
    match run::select_runner(host, target) {
        Ok(Runner::Wine { program }) => TargetRunner {
            target: target.clone(),
            runner: Some(crate::wine::version(&program).unwrap_or_else(|| "wine".to_owned())),
            program: Some(program),
            reason: None,
        },
        Ok(_) => TargetRunner {
            target: target.clone(),
            runner: Some("native".to_owned()),
            program: None,
            reason: None,
        },
        Err(reason) => TargetRunner {
            target: target.clone(),
            runner: None,
            program: None,
            reason: Some(reason.to_string()),
        },
    }
}

/// Compiles and runs one package × target.
fn one(
    tc: &Toolchain,
    spec: &TestSpec,
    out_dir: &Path,
    job: &Job,
    runner: &TargetRunner,
    gate: &(dyn Fn(&Path) -> std::result::Result<(), String> + Sync),
) -> PackageResult {
    let started = Instant::now();
    let (package, target) = (&job.package, &job.target);
    let mut result = PackageResult::new(package, target, PackageStatus::Error);
    let finish = |mut r: PackageResult| {
        r.elapsed_ms = millis(started.elapsed());
        r
    };
    if let Some(e) = &package.error {
        result.status = PackageStatus::BuildFailed;
        result.reason = Some(e.err.clone());
        return finish(result);
    }
    if package.test_go_files.is_empty() && package.xtest_go_files.is_empty() {
        result.status = PackageStatus::NoTestFiles;
        return finish(result);
    }
    let dir = out_dir.join(format!("{}_{}", target.goos, target.goarch));
    if let Err(e) = fs::create_dir_all(&dir) {
        result.reason = Some(format!("create directory {}: {e}", dir.display()));
        return finish(result);
    }
    let binary = dir.join(binary_name(&package.import_path));
    let mut cmd = tc.command();
    cmd.current_dir(&spec.source_dir)
        .envs(spec.go_env(target))
        // vet is `go test`'s lint step, not a Windows run: off, as with `go test -vet=off`.
        .args(["test", "-c", "-vet=off", "-buildvcs=false"]);
    if spec.trimpath {
        cmd.arg("-trimpath");
    }
    if !spec.tags.is_empty() {
        cmd.arg(format!("-tags={}", spec.tags.join(",")));
    }
    cmd.arg("-o").arg(&binary).arg(&package.import_path);
    match cmd.output() {
        Err(e) => {
            result.reason = Some(format!("could not run go test -c: {e}"));
            return finish(result);
        }
        Ok(out) if !out.status.success() => {
            result.status = PackageStatus::BuildFailed;
            result.reason = Some(tail(&String::from_utf8_lossy(&out.stderr), 4000));
            return finish(result);
        }
        Ok(_) => {}
    }
    if !binary.is_file() {
        result.status = PackageStatus::NoTestFiles;
        return finish(result);
    }
    result.binary = Some(binary.clone());
    if let Err(reason) = gate(&binary) {
        result.status = PackageStatus::Failed;
        result.reason = Some(format!("gate: {reason}"));
        return finish(result);
    }
    let Some(program) = runner.runner.as_ref().map(|_| runner.program.clone()) else {
        result.status = PackageStatus::Skipped;
        result.reason.clone_from(&runner.reason);
        return finish(result);
    };
    result.runner.clone_from(&runner.runner);
    let run_runner = match program {
        Some(program) => Runner::Wine { program },
        None => Runner::Native,
    };
    let mut opts = RunOptions::for_host(spec.host.clone());
    opts.timeout = spec.timeout.saturating_add(KILL_GRACE);
    opts.max_output = MAX_OUTPUT;
    opts.env = spec.env.clone();
    opts.args = spec.binary_args();
    opts.dir = Some(package.dir.clone());
    let ran = run::run_artifact(&run_runner, &binary, &opts);
    result.exit_code = ran.exit_code;
    let events = match test2json(tc, &package.import_path, &ran.stdout) {
        Ok(events) => events,
        Err(e) => {
            result.reason = Some(e);
            return finish(result);
        }
    };
    let (tests, output) = collect(&events);
    result.tests = tests;
    result.output = tail(&format!("{output}\n{}", ran.stderr), 8000);
    let go_timeout = go_timed_out(&ran.stdout).or_else(|| go_timed_out(&ran.stderr));
    result.status = match ran.status {
        // The binary's own -test.timeout ended it (it panics and exits 2).
        RunStatus::Failed if ran.exit_code.is_some() && go_timeout.is_some() => {
            result.reason = go_timeout;
            PackageStatus::TimedOut
        }
        RunStatus::Passed if result.count(TestStatus::Failed) == 0 => PackageStatus::Passed,
        RunStatus::Passed | RunStatus::Failed if ran.exit_code.is_some() => PackageStatus::Failed,
        // Still running KILL_GRACE after -test.timeout: pegate killed it.
        RunStatus::TimedOut => {
            result.reason = Some(format!(
                "killed: still running {} after the timeout of {} (-test.timeout did not stop it)",
                go_duration(KILL_GRACE),
                go_duration(spec.timeout)
            ));
            PackageStatus::TimedOut
        }
        _ => {
            result.reason = ran.reason.clone();
            PackageStatus::Error
        }
    };
    if result.status == PackageStatus::TimedOut {
        // The tests the timeout cut off never reported an end: they are the ones that failed.
        result.tests.extend(unfinished(&events));
    }
    if result.status == PackageStatus::Failed && ran.truncated {
        result.reason = Some(format!(
            "output cut at {MAX_OUTPUT} bytes; the results after that are missing"
        ));
    }
    finish(result)
}

/// One `go tool test2json` event.
#[derive(Debug, Clone, Default, Deserialize)]
struct Event {
    #[serde(rename = "Action", default)]
    action: String,
    #[serde(rename = "Test", default)]
    test: Option<String>,
    #[serde(rename = "Elapsed", default)]
    elapsed: Option<f64>,
    #[serde(rename = "Output", default)]
    output: Option<String>,
}

/// Feeds a test binary's `-test.v=test2json` output to the host Go's `go tool test2json`.
fn test2json(
    tc: &Toolchain,
    package: &str,
    output: &str,
) -> std::result::Result<Vec<Event>, String> {
    let mut cmd = tc.command();
    cmd.args(["tool", "test2json", "-t", "-p", package])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not run go tool test2json: {e}"))?;
    let input = output.as_bytes().to_vec();
    let writer = child.stdin.take().map(|mut stdin| {
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        })
    });
    let out = child
        .wait_with_output()
        .map_err(|e| format!("go tool test2json: {e}"))?;
    if let Some(w) = writer {
        let _ = w.join();
    }
    if !out.status.success() {
        return Err(format!(
            "go tool test2json failed ({}): {}",
            out.status,
            tail(&String::from_utf8_lossy(&out.stderr), 2000)
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .filter_map(|l| serde_json::from_str::<Event>(l).ok())
        .collect())
}

/// How long a test binary may run past its `-test.timeout` before pegate kills it: Go's own
/// timeout normally ends it first (a panic with every goroutine's stack, exit 2), and the grace
/// lets that report get written.
const KILL_GRACE: Duration = Duration::from_secs(30);

/// `test timed out after 2s` (plus the `running tests:` lines that follow) when a test binary's
/// output holds Go's `-test.timeout` panic. Pure.
fn go_timed_out(output: &str) -> Option<String> {
    let mut lines = output.lines();
    let first = lines.find_map(|l| l.trim().strip_prefix("panic: "))?;
    if !first.starts_with("test timed out after ") {
        return None;
    }
    let running: Vec<&str> = lines
        .skip_while(|l| l.trim() != "running tests:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    Some(if running.is_empty() {
        first.to_owned()
    } else {
        format!("{first} (running: {})", running.join(", "))
    })
}

/// A duration as Go writes one (`2s`, `10m0s` is written `600s` here: whole seconds, or
/// milliseconds below a second).
fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// The tests that started (`run`) and never ended, in start order, each failed with what it
/// printed: what a timeout (or a crash) cut off.
fn unfinished(events: &[Event]) -> Vec<TestCase> {
    let mut started: Vec<&str> = Vec::new();
    let mut ended = std::collections::BTreeSet::new();
    let mut outputs: BTreeMap<&str, String> = BTreeMap::new();
    for e in events {
        let Some(name) = e.test.as_deref() else {
            continue;
        };
        match e.action.as_str() {
            "run" => started.push(name),
            "pass" | "fail" | "skip" => {
                ended.insert(name);
            }
            "output" => outputs
                .entry(name)
                .or_default()
                .push_str(e.output.as_deref().unwrap_or_default()),
            _ => {}
        }
    }
    started
        .into_iter()
        .filter(|n| !ended.contains(n))
        .map(|name| TestCase {
            name: name.to_owned(),
            status: TestStatus::Failed,
            elapsed_ms: 0,
            output: outputs.remove(name).unwrap_or_default(),
        })
        .collect()
}

/// The tests (in the order they ended) and the output that belongs to no test.
fn collect(events: &[Event]) -> (Vec<TestCase>, String) {
    let mut outputs: BTreeMap<&str, String> = BTreeMap::new();
    let mut tests = Vec::new();
    let mut package_output = String::new();
    for e in events {
        match (&e.test, e.action.as_str()) {
            (Some(name), "output") => outputs
                .entry(name.as_str())
                .or_default()
                .push_str(e.output.as_deref().unwrap_or_default()),
            (Some(name), action @ ("pass" | "fail" | "skip")) => tests.push(TestCase {
                name: name.clone(),
                status: match action {
                    "pass" => TestStatus::Passed,
                    "fail" => TestStatus::Failed,
                    _ => TestStatus::Skipped,
                },
                elapsed_ms: e
                    .elapsed
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .map(|s| millis(Duration::from_secs_f64(s)))
                    .unwrap_or(0),
                output: outputs.remove(name.as_str()).unwrap_or_default(),
            }),
            (None, "output") => package_output.push_str(e.output.as_deref().unwrap_or_default()),
            _ => {}
        }
    }
    // What a package printed besides PASS/FAIL/ok lines is worth keeping (a panic, a log).
    let kept: Vec<&str> = package_output
        .lines()
        .filter(|l| !matches!(l.trim(), "PASS" | "FAIL" | "") && !l.starts_with("ok  "))
        .filter(|l| !l.starts_with("FAIL\t") && !l.starts_with("=== "))
        .collect();
    (tests, kept.join("\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn event(
        action: &str,
        test: Option<&str>,
        output: Option<&str>,
        elapsed: Option<f64>,
    ) -> Event {
        Event {
            action: action.to_owned(),
            test: test.map(str::to_owned),
            elapsed,
            output: output.map(str::to_owned),
        }
    }

    #[test]
    fn go_timeout_panics_are_recognised_with_the_tests_they_cut_off() {
        let out = "=== RUN   TestSleeps\npanic: test timed out after 2s\n\trunning tests:\n\t\tTestSleeps (2s)\n\ngoroutine 7 [running]:\n";
        assert_eq!(
            go_timed_out(out).as_deref(),
            Some("test timed out after 2s (running: TestSleeps (2s))")
        );
        assert_eq!(
            go_timed_out("panic: test timed out after 1m0s\n").as_deref(),
            Some("test timed out after 1m0s")
        );
        assert_eq!(go_timed_out("panic: oh no\n"), None);
        assert_eq!(
            go_timed_out("--- FAIL: TestX\n    test timed out after 2s\n"),
            None
        );
        assert_eq!(go_duration(Duration::from_secs(600)), "600s");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");

        let events = [
            event("run", Some("TestA"), None, None),
            event("pass", Some("TestA"), None, Some(0.0)),
            event("run", Some("TestB"), None, None),
            event("output", Some("TestB"), Some("=== RUN   TestB\n"), None),
        ];
        let cut = unfinished(&events);
        assert_eq!(cut.len(), 1);
        assert_eq!(
            (cut[0].name.as_str(), cut[0].status, cut[0].output.as_str()),
            ("TestB", TestStatus::Failed, "=== RUN   TestB\n")
        );
    }

    #[test]
    fn events_become_tests_with_their_output() {
        let events = [
            event("run", Some("TestA"), None, None),
            event("output", Some("TestA"), Some("=== RUN   TestA\n"), None),
            event(
                "output",
                Some("TestA"),
                Some("    a_test.go:3: boom\n"),
                None,
            ),
            event("fail", Some("TestA"), None, Some(0.25)),
            event("skip", Some("TestB"), None, Some(0.0)),
            event("pass", Some("TestA/sub"), None, Some(f64::NAN)),
            event("output", None, Some("FAIL\n"), None),
            event("output", None, Some("panic: oh no\n"), None),
            event("fail", None, None, Some(1.0)),
        ];
        let (tests, output) = collect(&events);
        assert_eq!(tests.len(), 3);
        assert_eq!(
            (tests[0].name.as_str(), tests[0].status, tests[0].elapsed_ms),
            ("TestA", TestStatus::Failed, 250)
        );
        assert_eq!(tests[0].output, "=== RUN   TestA\n    a_test.go:3: boom\n");
        assert_eq!(
            (tests[1].status, tests[1].elapsed_ms),
            (TestStatus::Skipped, 0)
        );
        assert_eq!(
            (tests[2].name.as_str(), tests[2].elapsed_ms),
            ("TestA/sub", 0)
        );
        assert_eq!(output, "panic: oh no");
    }

    #[test]
    fn binary_names_are_file_names_and_arguments_follow_the_options() {
        assert_eq!(
            binary_name("example.com/wintests/paths"),
            "example.com_wintests_paths.test.exe"
        );
        let mut spec = TestSpec::new("src", "out", "cache");
        spec.run = Some("^TestA$".to_owned());
        spec.skip = Some("Slow".to_owned());
        spec.fail_fast = true;
        spec.timeout = Duration::from_secs(90);
        let args: Vec<String> = spec
            .binary_args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args,
            [
                "-test.v=test2json",
                "-test.paniconexit0",
                "-test.timeout=90000ms",
                "-test.run=^TestA$",
                "-test.skip=Slow",
                "-test.failfast"
            ]
        );
        assert!(PackageStatus::BuildFailed.failed() && PackageStatus::TimedOut.failed());
        assert!(!PackageStatus::Skipped.failed() && !PackageStatus::NotRun.failed());
    }
}
