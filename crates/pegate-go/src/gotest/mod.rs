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
//!
//! One concern per file: `report` (the results, what the renderers read), `package` (one package
//! × target: `go list`, `go test -c`, the gate and the run), `output` (what a test binary printed,
//! read through test2json) and `render` (the report's formats); this file holds the
//! [`TestSpec`] and the scheduling of the package × target jobs.

mod output;
mod package;
pub mod render;
mod report;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::matrix::Target;
use crate::run::{self, Host, Runner};
use crate::toolchain::Toolchain;
use package::{Job, list, one};

pub use report::{PackageResult, PackageStatus, TargetRunner, TestCase, TestReport, TestStatus};

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
            ("GOOS".to_owned(), target.goos.to_string()),
            ("GOARCH".to_owned(), target.goarch.to_string()),
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
    let out_dir = prepare(spec)?;
    let runners: Vec<TargetRunner> = spec
        .targets
        .iter()
        .map(|t| target_runner(&spec.host, t))
        .collect();
    let jobs = jobs(tc, spec)?;
    let target_index = |t: &Target| spec.targets.iter().position(|x| x == t).unwrap_or(0);

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

/// Checks the spec (a module, some targets) and makes its output directory; returns that
/// directory, resolved.
fn prepare(spec: &TestSpec) -> Result<PathBuf> {
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
    fs::canonicalize(&spec.out_dir).map_err(|e| Error::io("resolve", &spec.out_dir, e))
}

/// One job per package × target, packages outer (in `go list`'s first order), targets inner:
/// the table reads one package at a time.
fn jobs(tc: &Toolchain, spec: &TestSpec) -> Result<Vec<Job>> {
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
                target: *t,
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
    Ok(jobs)
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The runner `host` has for `target`, named for reports (`wine 8.0`).
fn target_runner(host: &Host, target: &Target) -> TargetRunner {
    match run::select_runner(host, target) {
        Ok(Runner::Wine { program }) => TargetRunner {
            target: *target,
            runner: Some(crate::wine::version(&program).unwrap_or_else(|| "wine".to_owned())),
            program: Some(program),
            reason: None,
        },
        Ok(_) => TargetRunner {
            target: *target,
            runner: Some("native".to_owned()),
            program: None,
            reason: None,
        },
        Err(reason) => TargetRunner {
            target: *target,
            runner: None,
            program: None,
            reason: Some(reason.to_string()),
        },
    }
}

#[cfg(test)]
mod tests;
