//! `pegate test` on `fixtures/wintests` (issue 26): Windows-only tests compiled for
//! windows/amd64, windows/386 and windows/arm64 and run where this host can (under Wine on Linux),
//! with the deliberate failure (`--tags pegate_fail`) on. The table and the JUnit report are
//! snapshots (times and the runner's name redacted: they differ by run and by host); the JUnit is
//! also read back by `junitparser` (PyPI), an independent JUnit reader.

use std::path::PathBuf;

use pegate::facts::GoArch;
use pegate::go::matrix::Target;
use pegate::go::run::{Host, select_runner};

use super::{pegate, root, transcript};

/// The Wine prefix `cargo xtask wine-prefix` made beside this build (`<target dir>/wine-prefix`):
/// it has the bcryptprimitives stub Go's Windows binaries need under Wine 8.
fn wine_prefix() -> Option<PathBuf> {
    if let Some(prefix) = std::env::var_os("WINEPREFIX") {
        return Some(PathBuf::from(prefix));
    }
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pegate"));
    let prefix = bin.parent()?.parent()?.join("wine-prefix");
    prefix.is_dir().then_some(prefix)
}

/// `pegate test` of the fixture for the three targets, in `format`.
fn run(format: &str) -> std::process::Output {
    let mut cmd = pegate();
    cmd.args([
        "test",
        "--source",
        "fixtures/wintests",
        "--go",
        "1.27.3",
        "--tags",
        "pegate_fail",
        "--target",
        "windows/amd64",
        "--target",
        "windows/386",
        "--target",
        "windows/arm64",
        // The profile the tests compare os.UserHomeDir with: under Wine it only arrives when
        // the runner passes it past the prefix's registry, which has its own USERPROFILE.
        "--env",
        r"USERPROFILE=C:\users\pegate-ci",
        "--env",
        r"PEGATE_WINTESTS_HOME=C:\users\pegate-ci",
        "--format",
        format,
        "--cache",
    ])
    .arg(root().join("target").join("pegate-go"));
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    cmd.output().unwrap()
}

/// Whether this host runs both x86 Windows targets (Linux with 64- and 32-bit Wine, or
/// Windows); says why not otherwise.
fn runs_both_x86_targets() -> bool {
    let host = Host::detect();
    let ok = [GoArch::Amd64, GoArch::I386]
        .into_iter()
        .all(|a| select_runner(&host, &Target::windows(a)).is_ok());
    if !ok {
        eprintln!(
            "skipped: this host cannot run windows/amd64 and windows/386 (.ci/setup installs wine64 and wine32:i386)"
        );
    }
    if host.goos == "linux" && host.goarch == "amd64" {
        assert!(
            ok,
            "Linux/amd64 needs wine64 and wine32:i386 for this test; run .ci/setup"
        );
        assert!(
            wine_prefix().is_some(),
            "no Wine prefix: run `cargo xtask wine-prefix` first (.ci/run does)"
        );
    }
    ok
}

fn redact(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let line = match line.split_once(": ") {
            Some((head, _)) if head.starts_with("runner windows/") && !line.contains(": none") => {
                format!("{head}: [runner]")
            }
            _ => line.to_owned(),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn pegate_test_runs_the_windows_tests_and_reports_the_deliberate_failure() {
    if super::go_build_fails_here() || !runs_both_x86_targets() {
        return;
    }
    let table = run("table");
    assert_eq!(table.status.code(), Some(1), "{}", transcript(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    insta::with_settings!({filters => vec![
        (r" +\d+\.\d{3}s\n", " [time]\n"),
        (r"\(\d+\.\d+s\)", "([time])"),
    ]}, {
        insta::assert_snapshot!("wintests_table", redact(&text));
    });

    let junit = run("junit");
    assert_eq!(junit.status.code(), Some(1), "{}", transcript(&junit));
    let xml = String::from_utf8_lossy(&junit.stdout).into_owned();
    insta::with_settings!({filters => vec![
        (r#"time="\d+\.\d{3}""#, r#"time="[time]""#),
        (r"\(\d+\.\d+s\)", "([time])"),
        (r#"name="runner" value="[^"]*""#, r#"name="runner" value="[runner]""#),
    ]}, {
        insta::assert_snapshot!("wintests_junit", xml);
    });
    check_with_junitparser(&xml);
}

/// junitparser reads the report: 2 failures (the deliberate one, on amd64 and 386), the
/// skipped tests and arm64's not-run suites, and every other case passed.
fn check_with_junitparser(xml: &str) {
    let (_dir, file) = super::temp_file("junit.xml", xml);
    let script = r#"
import sys
from junitparser import JUnitXml, Failure, Skipped, Error
xml = JUnitXml.fromfile(sys.argv[1])
counts = {"pass": 0, "failure": 0, "skipped": 0, "error": 0}
failed = []
for suite in xml:
    for case in suite:
        kinds = [type(r).__name__ for r in case.result]
        if any(k == "Failure" for k in kinds):
            counts["failure"] += 1
            failed.append(suite.name + " " + case.name)
        elif any(k == "Skipped" for k in kinds):
            counts["skipped"] += 1
        elif any(k == "Error" for k in kinds):
            counts["error"] += 1
        else:
            counts["pass"] += 1
print(counts["pass"], counts["failure"], counts["skipped"], counts["error"])
print("\n".join(sorted(failed)))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output();
    let out = match out {
        Ok(out) if out.status.success() => out,
        Ok(out) if cfg!(windows) => {
            eprintln!("junitparser not available here: {}", transcript(&out));
            return;
        }
        Ok(out) => panic!(
            "junitparser (pip install junitparser; .ci/setup does) could not read the report: {}",
            transcript(&out)
        ),
        Err(e) if cfg!(windows) => {
            eprintln!("no python3 here ({e}): the JUnit check runs on Linux");
            return;
        }
        Err(e) => panic!("python3: {e}"),
    };
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "10 2 4 0\n\
         example.com/wintests/paths (windows/386) TestDeliberateFailure\n\
         example.com/wintests/paths (windows/amd64) TestDeliberateFailure\n"
    );
}

/// `--gate POLICY` judges each compiled test binary before it runs: a policy that wants ARM64
/// fails the amd64 binaries with the rule's message, and they are not run.
#[test]
fn pegate_test_gates_the_test_binaries_before_running_them() {
    if super::go_build_fails_here() || !runs_both_x86_targets() {
        return;
    }
    let (_dir, policy) = super::temp_file(
        "policy.toml",
        "[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"\n",
    );
    let mut cmd = pegate();
    cmd.args([
        "test",
        "--source",
        "fixtures/wintests",
        "--go",
        "1.27.3",
        "--target",
        "windows/amd64",
        "--format",
        "json",
        "--gate",
    ])
    .arg(&policy)
    .arg("--cache")
    .arg(root().join("target").join("pegate-go"));
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = doc["report"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 2, "{doc}");
    for p in packages {
        assert_eq!(p["status"], "failed", "{p}");
        assert_eq!(p["tests"].as_array().unwrap().len(), 0, "not run: {p}");
        let reason = p["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("gate: machine: ") && reason.contains("ARM64"),
            "{reason}"
        );
    }
}

/// `--fail-fast` with one job: after the deliberate failure no further package is started, and
/// those say why; `--run` narrows the run to the failing test.
#[test]
fn pegate_test_fail_fast_stops_after_the_first_failure() {
    if super::go_build_fails_here() || !runs_both_x86_targets() {
        return;
    }
    let mut cmd = pegate();
    cmd.args([
        "test",
        "--source",
        "fixtures/wintests",
        "--go",
        "1.27.3",
        "--tags",
        "pegate_fail",
        "--target",
        "windows/amd64",
        "--target",
        "windows/386",
        "--jobs",
        "1",
        "--fail-fast",
        "--run",
        "Deliberate|GetVersion",
        "--format",
        "json",
        "--cache",
    ])
    .arg(root().join("target").join("pegate-go"));
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let packages = doc["report"]["packages"].as_array().unwrap();
    let status: Vec<&str> = packages
        .iter()
        .map(|p| p["status"].as_str().unwrap())
        .collect();
    let failed = status.iter().filter(|s| **s == "failed").count();
    let not_run = status.iter().filter(|s| **s == "not-run").count();
    assert_eq!(failed, 1, "{status:?}");
    assert!(not_run >= 1, "{status:?}");
    for p in packages.iter().filter(|p| p["status"] == "failed") {
        let names: Vec<&str> = p["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["TestDeliberateFailure"], "{p}");
    }
    for p in packages.iter().filter(|p| p["status"] == "not-run") {
        assert_eq!(
            p["reason"], "not run: an earlier package failed (--fail-fast)",
            "{p}"
        );
    }
}

/// `pegate test`'s arguments for `fixtures/hang` on windows/amd64, with `timeout`.
fn hang_args(timeout: &str) -> [&str; 9] {
    [
        "test",
        "--source",
        "fixtures/hang",
        "--go",
        "1.27.3",
        "--target",
        "windows/amd64",
        "--timeout",
        timeout,
    ]
}

/// `pegate test` of `fixtures/hang` for windows/amd64 with a 2 s `--timeout` and `extra` args,
/// as JSON: (exit code, the one package's result, the whole output).
fn run_hang(extra: &[&str]) -> (Option<i32>, serde_json::Value, std::process::Output) {
    let mut cmd = pegate();
    cmd.args(hang_args("2s"))
        .args(["--format", "json"])
        .args(extra)
        .arg("--cache")
        .arg(root().join("target").join("pegate-go"));
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    let out = cmd.output().unwrap();
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", transcript(&out)));
    let packages = doc["report"]["packages"].as_array().unwrap();
    assert_eq!(packages.len(), 1, "{doc}");
    (out.status.code(), packages[0].clone(), out)
}

/// The processes still running whose command line names `binary` (Linux: /proc; a program
/// under Wine shows its Windows command line there). Empty elsewhere: the check is Linux's.
fn processes_running(binary: &str) -> Vec<String> {
    let name = binary.rsplit(['/', '\\']).next().unwrap_or(binary);
    let dir = std::path::Path::new(binary)
        .ancestors()
        .nth(2)
        .and_then(|d| d.file_name())
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_default();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let cmdline = std::fs::read(e.ok()?.path().join("cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (cmdline.contains(name) && cmdline.contains(&dir)).then_some(cmdline)
        })
        .collect()
}

/// Whether this host can run the windows/amd64 test binaries (says why not otherwise).
fn runs_amd64() -> bool {
    let host = Host::detect();
    let ok = select_runner(&host, &Target::windows(GoArch::Amd64)).is_ok();
    if !ok {
        eprintln!("skipped: this host cannot run windows/amd64 (.ci/setup installs wine64)");
        assert!(
            !(host.goos == "linux" && host.goarch == "amd64"),
            "Linux/amd64 needs wine64 for this test; run .ci/setup"
        );
    }
    ok
}

/// SIGTERM while a test binary runs under Wine (the fixture's test sleeps for ten minutes):
/// pegate stops the binary with the rest of its children, exits 143, and leaves nothing of
/// it running. The run goes through the same tracked spawn as `go` and pip.
#[cfg(unix)]
#[test]
fn a_signal_stops_the_running_test_binary() {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    if super::go_build_fails_here() || !runs_amd64() {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pegate"));
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .args(hang_args("20m"))
        .arg("--cache")
        .arg(root().join("target").join("pegate-go"))
        .arg("--out")
        .arg(out_dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    let child = cmd.spawn().unwrap();
    let binary = out_dir
        .path()
        .join("windows_amd64")
        .join("example.com_hang.test.exe");
    let binary = binary.to_string_lossy();
    // The test binary itself (started with go test's flags), not `go test -c -o` making it.
    let running_under_wine = || {
        processes_running(&binary)
            .iter()
            .any(|c| c.contains("-test.v=test2json"))
    };
    let started = Instant::now();
    while !running_under_wine() {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the test binary never ran: {:#?}",
            processes_running(&binary)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(143), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pegate: interrupted by SIGTERM"),
        "{}",
        transcript(&out)
    );
    let stopped = Instant::now();
    while running_under_wine() && stopped.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        !running_under_wine(),
        "still running: {:#?}",
        processes_running(&binary)
    );
}

/// `--timeout` (go test's own `-test.timeout`, which pegate passes): a test sleeping past it
/// ends the binary with Go's timeout panic; the package/target is reported as timed out (not a
/// mere failure), the test it cut off is failed, the run exits 1, and nothing is left running.
#[test]
fn pegate_test_reports_a_test_past_its_timeout_as_timed_out() {
    if super::go_build_fails_here() || !runs_amd64() {
        return;
    }
    let (code, p, out) = run_hang(&[]);
    assert_eq!(code, Some(1), "{}", transcript(&out));
    assert_eq!(p["status"], "timed-out", "{p}");
    assert_eq!(p["exit_code"], 2, "Go's timeout panic exits 2: {p}");
    let reason = p["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("test timed out after 2s (running: TestSleepsPastTheTimeout"),
        "{reason}"
    );
    let tests = p["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 1, "{p}");
    assert_eq!(tests[0]["name"], "TestSleepsPastTheTimeout", "{p}");
    assert_eq!(tests[0]["status"], "failed", "{p}");
    let left = processes_running(p["binary"].as_str().unwrap());
    assert!(left.is_empty(), "still running: {left:#?}");
    // The table says so too.
    let mut cmd = pegate();
    cmd.args([
        "test",
        "--source",
        "fixtures/hang",
        "--go",
        "1.27.3",
        "--target",
        "windows/amd64",
        "--timeout",
        "2s",
        "--cache",
    ])
    .arg(root().join("target").join("pegate-go"));
    if let Some(prefix) = wine_prefix() {
        cmd.env("WINEPREFIX", prefix);
    }
    let table = cmd.output().unwrap();
    assert_eq!(table.status.code(), Some(1), "{}", transcript(&table));
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("FAIL (timeout)"), "{text}");
}

/// A binary that ignores `-test.timeout` (the fixture's TestMain sleeps instead of running
/// the tests when PEGATE_HANG_IGNORE_TIMEOUT=1) is killed 30 s after the timeout: reported as
/// timed out with no exit code of its own, exit 1, and no process left behind, although under
/// Wine the variable makes the runner start it through `cmd /c` (a second Windows process).
#[test]
fn pegate_test_kills_a_test_binary_that_ignores_its_timeout() {
    if super::go_build_fails_here() || !runs_amd64() {
        return;
    }
    let started = std::time::Instant::now();
    let (code, p, out) = run_hang(&["--env", "PEGATE_HANG_IGNORE_TIMEOUT=1"]);
    let elapsed = started.elapsed();
    assert_eq!(code, Some(1), "{}", transcript(&out));
    assert_eq!(p["status"], "timed-out", "{p}");
    assert!(p["exit_code"].is_null(), "killed, not exited: {p}");
    assert_eq!(
        p["reason"],
        "killed: still running 30s after the timeout of 2s (-test.timeout did not stop it)",
        "{p}"
    );
    assert_eq!(p["tests"].as_array().unwrap().len(), 0, "{p}");
    // Not a measurement: the kill cannot come before the timeout plus its grace.
    assert!(elapsed >= std::time::Duration::from_secs(32), "{elapsed:?}");
    let left = processes_running(p["binary"].as_str().unwrap());
    assert!(left.is_empty(), "still running: {left:#?}");
}
