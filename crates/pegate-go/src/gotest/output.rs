//! What a test binary printed: `go tool test2json`'s events turned into tests and the output no
//! test owns, the tests a timeout cut off, and Go's `-test.timeout` panic. Only [`test2json`]
//! runs a program; the rest is pure, so its tests need no Go.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

use serde::Deserialize;

use super::{TestCase, TestStatus, millis};
use crate::toolchain::{Toolchain, tail};

/// One `go tool test2json` event.
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct Event {
    #[serde(rename = "Action", default)]
    pub(super) action: String,
    #[serde(rename = "Test", default)]
    pub(super) test: Option<String>,
    #[serde(rename = "Elapsed", default)]
    pub(super) elapsed: Option<f64>,
    #[serde(rename = "Output", default)]
    pub(super) output: Option<String>,
}

/// Feeds a test binary's `-test.v=test2json` output to the host Go's `go tool test2json`.
pub(super) fn test2json(
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

/// `test timed out after 2s` (plus the `running tests:` lines that follow) when a test binary's
/// output holds Go's `-test.timeout` panic. Pure.
pub(super) fn go_timed_out(output: &str) -> Option<String> {
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

/// The tests that started (`run`) and never ended, in start order, each failed with what it
/// printed: what a timeout (or a crash) cut off.
pub(super) fn unfinished(events: &[Event]) -> Vec<TestCase> {
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
pub(super) fn collect(events: &[Event]) -> (Vec<TestCase>, String) {
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
