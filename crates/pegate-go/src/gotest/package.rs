//! One package × target: the packages `go list` finds for a target, then compiling one package's
//! tests with `go test -c`, gating the binary and running it under the target's runner. The
//! scheduling in [`super`] only orders these jobs and runs them in parallel.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::output::{collect, go_timed_out, test2json, unfinished};
use super::{MAX_OUTPUT, PackageResult, PackageStatus, TargetRunner, TestSpec, TestStatus, millis};
use crate::error::{Error, Result};
use crate::matrix::Target;
use crate::run::{self, RunOptions, RunResult, RunStatus, Runner};
use crate::toolchain::{Toolchain, tail};

/// A package as `go list -e -json` describes it for one target.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct ListedPackage {
    #[serde(rename = "ImportPath")]
    pub(super) import_path: String,
    #[serde(rename = "Dir", default)]
    pub(super) dir: PathBuf,
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
pub(super) fn list(tc: &Toolchain, spec: &TestSpec, target: &Target) -> Result<Vec<ListedPackage>> {
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

/// `example.com/a/b` → `example.com_a_b`: a file name for the package's test binary, unique
/// among the module's packages. Replacing `/` by `_` alone is one-to-one only for paths without
/// `_` or other characters a file name cannot keep; such a path (`example.com/a_b` would
/// otherwise share `example.com_a_b` with `example.com/a/b`) gets the first 8 hex digits of its
/// SHA-256 after the name, so two packages never build to one file.
pub(super) fn binary_name(import_path: &str) -> String {
    use sha2::Digest as _;
    let name: String = import_path
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let lossy = import_path
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '/')));
    if !lossy {
        return format!("{name}.test.exe");
    }
    let digest = sha2::Sha256::digest(import_path.as_bytes());
    let short: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{name}-{short}.test.exe")
}

/// One package × target to do.
#[derive(Debug, Clone)]
pub(super) struct Job {
    pub(super) package: ListedPackage,
    pub(super) target: Target,
}

/// Compiles and runs one package × target.
pub(super) fn one(
    tc: &Toolchain,
    spec: &TestSpec,
    out_dir: &Path,
    job: &Job,
    runner: &TargetRunner,
    gate: &(dyn Fn(&Path) -> std::result::Result<(), String> + Sync),
) -> PackageResult {
    let started = Instant::now();
    let mut result = PackageResult::new(&job.package, &job.target, PackageStatus::Error);
    if let Some(binary) = compile(tc, spec, out_dir, job, gate, &mut result) {
        run_and_judge(tc, spec, job, runner, &binary, &mut result);
    }
    result.elapsed_ms = millis(started.elapsed());
    result
}

/// `go test -c` of the job's package for its target, then the gate: the test binary, or `None`
/// with `result`'s status and reason saying why there is none to run.
fn compile(
    tc: &Toolchain,
    spec: &TestSpec,
    out_dir: &Path,
    job: &Job,
    gate: &(dyn Fn(&Path) -> std::result::Result<(), String> + Sync),
    result: &mut PackageResult,
) -> Option<PathBuf> {
    let (package, target) = (&job.package, &job.target);
    if let Some(e) = &package.error {
        result.status = PackageStatus::BuildFailed;
        result.reason = Some(e.err.clone());
        return None;
    }
    if package.test_go_files.is_empty() && package.xtest_go_files.is_empty() {
        result.status = PackageStatus::NoTestFiles;
        return None;
    }
    let dir = out_dir.join(format!("{}_{}", target.goos, target.goarch));
    if let Err(e) = fs::create_dir_all(&dir) {
        result.reason = Some(format!("create directory {}: {e}", dir.display()));
        return None;
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
            return None;
        }
        Ok(out) if !out.status.success() => {
            result.status = PackageStatus::BuildFailed;
            result.reason = Some(tail(&String::from_utf8_lossy(&out.stderr), 4000));
            return None;
        }
        Ok(_) => {}
    }
    if !binary.is_file() {
        result.status = PackageStatus::NoTestFiles;
        return None;
    }
    result.binary = Some(binary.clone());
    if let Err(reason) = gate(&binary) {
        result.status = PackageStatus::Failed;
        result.reason = Some(format!("gate: {reason}"));
        return None;
    }
    Some(binary)
}

/// Runs the test binary where the target's runner can (skipped where none can), turns its
/// output into per-test results through test2json, and sets the package's status.
fn run_and_judge(
    tc: &Toolchain,
    spec: &TestSpec,
    job: &Job,
    runner: &TargetRunner,
    binary: &Path,
    result: &mut PackageResult,
) {
    let package = &job.package;
    let Some(program) = runner.runner.as_ref().map(|_| runner.program.clone()) else {
        result.status = PackageStatus::Skipped;
        result.reason.clone_from(&runner.reason);
        return;
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
    let ran = run::run_artifact(&run_runner, binary, &opts);
    result.exit_code = ran.exit_code;
    let events = match test2json(tc, &package.import_path, &ran.stdout) {
        Ok(events) => events,
        Err(e) => {
            result.reason = Some(e);
            return;
        }
    };
    let (tests, output) = collect(&events);
    result.tests = tests;
    result.output = tail(&format!("{output}\n{}", ran.stderr), 8000);
    result.status = status(spec, &ran, result);
    if result.status == PackageStatus::TimedOut {
        // The tests the timeout cut off never reported an end: they are the ones that failed.
        result.tests.extend(unfinished(&events));
    }
    if result.status == PackageStatus::Failed && ran.truncated {
        result.reason = Some(format!(
            "output cut at {MAX_OUTPUT} bytes; the results after that are missing"
        ));
    }
}

/// The package's status from how its test binary ended and what its tests reported; a
/// timeout's or an error's reason goes into `result`.
fn status(spec: &TestSpec, ran: &RunResult, result: &mut PackageResult) -> PackageStatus {
    let go_timeout = go_timed_out(&ran.stdout).or_else(|| go_timed_out(&ran.stderr));
    match ran.status {
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
    }
}

/// How long a test binary may run past its `-test.timeout` before pegate kills it: Go's own
/// timeout normally ends it first (a panic with every goroutine's stack, exit 2), and the grace
/// lets that report get written.
const KILL_GRACE: Duration = Duration::from_secs(30);

/// A duration as Go writes one (`2s`, `10m0s` is written `600s` here: whole seconds, or
/// milliseconds below a second).
pub(super) fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
