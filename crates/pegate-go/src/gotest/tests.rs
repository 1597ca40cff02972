//! Tests of what `pegate test` works out without Go: test2json events into tests, Go's timeout
//! panic, test binary names and arguments, which statuses fail a run.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::output::{Event, collect, go_timed_out, unfinished};
use super::package::{binary_name, go_duration};
use super::*;

fn event(action: &str, test: Option<&str>, output: Option<&str>, elapsed: Option<f64>) -> Event {
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
    // Two packages whose plain names would be one file get different ones.
    let (nested, underscored) = (
        binary_name("example.com/a/b"),
        binary_name("example.com/a_b"),
    );
    assert_eq!(nested, "example.com_a_b.test.exe");
    assert!(
        underscored.starts_with("example.com_a_b-") && underscored.ends_with(".test.exe"),
        "{underscored}"
    );
    assert_ne!(nested, underscored);
    assert_ne!(
        binary_name("example.com/a~b"),
        binary_name("example.com/a+b")
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
