//! What `pegate test` reports: each test, each package × target, each target's runner and the
//! run as a whole. The serialisable results that [`super::render`] and the CLI read, kept apart
//! from the code that produces them.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::package::ListedPackage;
use crate::matrix::Target;

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
    pub(super) fn new(
        package: &ListedPackage,
        target: &Target,
        status: PackageStatus,
    ) -> PackageResult {
        PackageResult {
            package: package.import_path.clone(),
            dir: package.dir.clone(),
            target: *target,
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
