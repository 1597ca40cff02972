//! Renderers of a [`TestReport`]: a table, JUnit XML, GitHub Actions commands, JSON and SARIF
//! 2.1.0, with `pegate gate`'s conventions (its XML, path and workflow-command escaping, shared
//! from `pegate_policy::render`). Each returns the whole document; the caller prints it.

use std::fmt::Write as _;

use pegate_policy::render::{gh_data, gh_property, slash_path, uri, xml};
use serde_json::json;

use super::{PackageResult, PackageStatus, TestCase, TestReport, TestStatus};

fn secs(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

/// Totals over every package × target: (passed, failed, skipped) tests.
fn totals(report: &TestReport) -> (usize, usize, usize) {
    let sum = |s| report.packages.iter().map(|p| p.count(s)).sum::<usize>();
    (
        sum(TestStatus::Passed),
        sum(TestStatus::Failed),
        sum(TestStatus::Skipped),
    )
}

/// One line of totals: `5 passed, 1 failed, 2 skipped; 4 of 6 packages × targets ran`.
pub fn summary_line(report: &TestReport) -> String {
    let (passed, failed, skipped) = totals(report);
    let ran = report
        .packages
        .iter()
        .filter(|p| p.runner.is_some())
        .count();
    format!(
        "{passed} passed, {failed} failed, {skipped} skipped; {ran} of {} packages × targets ran",
        report.packages.len()
    )
}

/// The table: the runner of each target, one row per package × target (result, passed /
/// failed / skipped tests, time), then each failure with its output, then the totals.
pub fn table(report: &TestReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "go: {}", report.go_version);
    write_runners(&mut s, report);
    write_rows(&mut s, report);
    write_failures(&mut s, report);
    let _ = writeln!(s, "\n{}", summary_line(report));
    s
}

/// One line per target: the runner that ran its tests (and the program it runs them with), or
/// why none could.
fn write_runners(s: &mut String, report: &TestReport) {
    for r in &report.runners {
        match (&r.runner, &r.program) {
            (Some(name), Some(program)) => {
                let _ = writeln!(s, "runner {}: {name} ({})", r.target, program.display());
            }
            (Some(name), None) => {
                let _ = writeln!(s, "runner {}: {name}", r.target);
            }
            _ => {
                let _ = writeln!(
                    s,
                    "runner {}: none ({})",
                    r.target,
                    r.reason.as_deref().unwrap_or("")
                );
            }
        }
    }
}

/// The header and one row per package × target, the package and target columns as wide as
/// their longest entry (at least their header's width).
fn write_rows(s: &mut String, report: &TestReport) {
    let width = report
        .packages
        .iter()
        .map(|p| p.package.len())
        .max()
        .unwrap_or(7)
        .max(7);
    let twidth = report
        .packages
        .iter()
        .map(|p| p.target.to_string().len())
        .max()
        .unwrap_or(6)
        .max(6);
    let _ = writeln!(
        s,
        "{:<width$}  {:<twidth$}  {:<14}  {:>6}  {:>6}  {:>7}  {:>8}",
        "package", "target", "result", "passed", "failed", "skipped", "time"
    );
    for p in &report.packages {
        let _ = writeln!(
            s,
            "{:<width$}  {:<twidth$}  {:<14}  {:>6}  {:>6}  {:>7}  {:>7}s",
            p.package,
            p.target.to_string(),
            p.status.word(),
            p.count(TestStatus::Passed),
            p.count(TestStatus::Failed),
            p.count(TestStatus::Skipped),
            secs(p.elapsed_ms)
        );
    }
}

/// For each package × target: every failed test with its output (without its `=== ` lines),
/// then the package's own note when it has one.
fn write_failures(s: &mut String, report: &TestReport) {
    for p in &report.packages {
        for t in p.tests.iter().filter(|t| t.status == TestStatus::Failed) {
            let _ = writeln!(s, "\n--- FAIL {} ({}, {})", t.name, p.package, p.target);
            for line in t.output.lines().filter(|l| !l.starts_with("=== ")) {
                let _ = writeln!(s, "    {line}");
            }
        }
        if let Some(note) = package_note(p) {
            let _ = writeln!(s, "\n--- {} {} ({})", p.status.word(), p.package, p.target);
            for line in note.lines() {
                let _ = writeln!(s, "    {line}");
            }
        }
    }
}

/// The note the table prints under a package × target: its reason, or a failed one's output;
/// none for one that was skipped, not run or has no test files.
fn package_note(p: &PackageResult) -> Option<&str> {
    match p.status {
        PackageStatus::Skipped | PackageStatus::NotRun | PackageStatus::NoTestFiles => None,
        _ => p
            .reason
            .as_deref()
            .or(if p.status.failed() && !p.output.is_empty() {
                Some(p.output.as_str())
            } else {
                None
            }),
    }
}

/// The report as pretty JSON (the [`TestReport`] itself, plus `passed`).
pub fn json(report: &TestReport) -> String {
    let doc = json!({
        "passed": !report.failed() && !report.errored(),
        "report": report,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The name a package × target's suite has: `example.com/x (windows/amd64)`.
fn suite_name(p: &PackageResult) -> String {
    format!("{} ({})", p.package, p.target)
}

/// JUnit XML: one `<testsuite>` per package × target (properties: target, runner, status), one
/// `<testcase>` per test. A package that did not compile, timed out or crashed outside a test
/// gets a `(package)` test case with an `<error>`; a target with no runner here, a `(package)`
/// case `<skipped>` with the reason.
pub fn junit(report: &TestReport) -> String {
    let (passed, failed, skipped) = totals(report);
    let extra: Vec<&PackageResult> = report
        .packages
        .iter()
        .filter_map(|p| package_case(p))
        .collect();
    let errors = extra
        .iter()
        .filter(|p| !matches!(p.status, PackageStatus::Skipped | PackageStatus::NotRun))
        .count();
    let extra_skipped = extra.len().saturating_sub(errors);
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"pegate test\" tests=\"{}\" failures=\"{failed}\" errors=\"{errors}\" skipped=\"{}\" time=\"{}\">",
        passed
            .saturating_add(failed)
            .saturating_add(skipped)
            .saturating_add(extra.len()),
        skipped.saturating_add(extra_skipped),
        secs(report.elapsed_ms)
    );
    for p in &report.packages {
        if p.status != PackageStatus::NoTestFiles {
            junit_suite(&mut s, report, p);
        }
    }
    s.push_str("</testsuites>\n");
    s
}

/// A package that gets a `(package)` test case of its own: one that errored, was skipped or
/// not run, or failed without a failed test (a build failure, a timeout, a crash).
fn package_case(p: &PackageResult) -> Option<&PackageResult> {
    match p.status {
        PackageStatus::Passed | PackageStatus::NoTestFiles => None,
        PackageStatus::Failed if p.count(TestStatus::Failed) > 0 && p.reason.is_none() => None,
        _ => Some(p),
    }
}

/// One package × target as a `<testsuite>`: its properties (target, runner, Go), its tests,
/// and its `(package)` case if it has one.
fn junit_suite(s: &mut String, report: &TestReport, p: &PackageResult) {
    let case = package_case(p);
    let is_error =
        case.is_some_and(|p| !matches!(p.status, PackageStatus::Skipped | PackageStatus::NotRun));
    let _ = writeln!(
        s,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\">",
        xml(&suite_name(p)),
        p.tests.len().saturating_add(usize::from(case.is_some())),
        p.count(TestStatus::Failed),
        usize::from(is_error),
        p.count(TestStatus::Skipped)
            .saturating_add(usize::from(case.is_some() && !is_error)),
        secs(p.elapsed_ms)
    );
    let _ = writeln!(s, "    <properties>");
    let _ = writeln!(
        s,
        "      <property name=\"target\" value=\"{}\"/>",
        xml(&p.target.to_string())
    );
    let _ = writeln!(
        s,
        "      <property name=\"runner\" value=\"{}\"/>",
        xml(p.runner.as_deref().unwrap_or("none"))
    );
    let _ = writeln!(
        s,
        "      <property name=\"go\" value=\"{}\"/>",
        xml(&report.go_version)
    );
    let _ = writeln!(s, "    </properties>");
    for t in &p.tests {
        junit_test(s, p, t);
    }
    if let Some(p) = case {
        junit_package_case(s, p, is_error);
    }
    s.push_str("  </testsuite>\n");
}

/// One test as a `<testcase>`: passed, failed with its output, or skipped with its reason.
fn junit_test(s: &mut String, p: &PackageResult, t: &TestCase) {
    let head = format!(
        "    <testcase classname=\"{}\" name=\"{}\" time=\"{}\"",
        xml(&suite_name(p)),
        xml(&t.name),
        secs(t.elapsed_ms)
    );
    match t.status {
        TestStatus::Passed => {
            let _ = writeln!(s, "{head}/>");
        }
        TestStatus::Failed => {
            let _ = writeln!(
                s,
                "{head}>\n      <failure message=\"{} failed\" type=\"go test\">{}</failure>\n    </testcase>",
                xml(&t.name),
                xml(&t.output)
            );
        }
        TestStatus::Skipped => {
            let _ = writeln!(
                s,
                "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                xml(t
                    .output
                    .lines()
                    .rfind(|l| !l.starts_with("---") && !l.starts_with("==="))
                    .unwrap_or("skipped")
                    .trim())
            );
        }
    }
}

/// The `(package)` case: an `<error>` with the reason and output, or `<skipped>`.
fn junit_package_case(s: &mut String, p: &PackageResult, is_error: bool) {
    let head = format!(
        "    <testcase classname=\"{}\" name=\"(package)\" time=\"{}\"",
        xml(&suite_name(p)),
        secs(p.elapsed_ms)
    );
    let reason = p.reason.as_deref().unwrap_or(p.status.word());
    if is_error {
        let _ = writeln!(
            s,
            "{head}>\n      <error message=\"{}\" type=\"{}\">{}</error>\n    </testcase>",
            xml(reason.lines().next().unwrap_or(reason)),
            xml(p.status.word()),
            xml(format!("{reason}\n{}", p.output).trim())
        );
    } else {
        let _ = writeln!(
            s,
            "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
            xml(reason)
        );
    }
}

/// The first `file_test.go:LINE` a failed test's output names, for annotations.
fn location(output: &str) -> Option<(String, u64)> {
    output.lines().find_map(|l| {
        let l = l.trim_start();
        let (file, rest) = l.split_once(':')?;
        if !file.ends_with(".go") || file.contains(' ') {
            return None;
        }
        let line: u64 = rest.split(':').next()?.parse().ok()?;
        Some((file.to_owned(), line))
    })
}

/// A failed test's file relative to the current directory (its package's directory joined).
fn test_file(p: &PackageResult, file: &str) -> String {
    let path = p.dir.join(file);
    let cwd = std::env::current_dir().ok();
    let shown = cwd
        .as_deref()
        .and_then(|c| path.strip_prefix(c).ok())
        .map(|r| r.display().to_string())
        .unwrap_or_else(|| path.display().to_string());
    slash_path(&shown)
}

/// One failure: the package result, the test name (or `(package)`), the message and the
/// `_test.go` file and line its output names.
type Failure<'a> = (&'a PackageResult, String, String, Option<(String, u64)>);

/// Every failure of the report.
fn failures(report: &TestReport) -> Vec<Failure<'_>> {
    let mut out = Vec::new();
    for p in &report.packages {
        for t in p.tests.iter().filter(|t| t.status == TestStatus::Failed) {
            let message: Vec<&str> = t
                .output
                .lines()
                .filter(|l| !l.starts_with("=== ") && !l.starts_with("--- "))
                .map(str::trim)
                .collect();
            let loc = location(&t.output).map(|(f, l)| (test_file(p, &f), l));
            out.push((p, t.name.clone(), message.join("\n"), loc));
        }
        if (p.status.failed() && p.count(TestStatus::Failed) == 0)
            || p.status == PackageStatus::Error
        {
            let message = p.reason.clone().unwrap_or_else(|| p.output.clone());
            out.push((p, "(package)".to_owned(), message, None));
        }
    }
    out
}

/// GitHub Actions commands: `::error` per failed test (with `file=` and `line=` when its output
/// names a `_test.go` line), then a `::notice` with the totals.
pub fn github(report: &TestReport) -> String {
    let mut s = String::new();
    for (p, name, message, loc) in failures(report) {
        let place = loc
            .map(|(f, l)| format!("file={},line={l},", gh_property(&f)))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "::error {place}title={}::{} {} failed on {}: {}",
            gh_property(&format!("pegate test {}", p.target)),
            gh_data(&p.package),
            gh_data(&name),
            gh_data(&p.target.to_string()),
            gh_data(&message)
        );
    }
    for p in report
        .packages
        .iter()
        .filter(|p| p.status == PackageStatus::Skipped)
    {
        let _ = writeln!(
            s,
            "::notice title=pegate test::{} on {} not run: {}",
            gh_data(&p.package),
            p.target,
            gh_data(p.reason.as_deref().unwrap_or(""))
        );
    }
    let _ = writeln!(
        s,
        "::notice title=pegate test::{}",
        gh_data(&summary_line(report))
    );
    s
}

/// SARIF 2.1.0: one run with two rules (`go-test/failed`, `go-test/package-failed`), one
/// `error` result per failed test (located at the `_test.go` line its output names) or package.
pub fn sarif(report: &TestReport) -> String {
    let results: Vec<_> = failures(report)
        .into_iter()
        .map(|(p, name, message, loc)| {
            let (rule, index) = if name == "(package)" {
                ("go-test/package-failed", 1)
            } else {
                ("go-test/failed", 0)
            };
            let mut result = json!({
                "ruleId": rule,
                "ruleIndex": index,
                "level": "error",
                "message": {"text": format!("{} {name} failed on {}: {message}", p.package, p.target)},
                "properties": {"package": p.package, "target": p.target.to_string(), "runner": p.runner},
            });
            if let (Some((file, line)), Some(fields)) = (loc, result.as_object_mut()) {
                fields.insert(
                    "locations".into(),
                    json!([{"physicalLocation": {
                        "artifactLocation": {"uri": uri(&file), "uriBaseId": "%SRCROOT%"},
                        "region": {"startLine": line}
                    }}]),
                );
            }
            result
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pegate test",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/pegate",
                "rules": [
                    {"id": "go-test/failed", "shortDescription": {"text": "A Go test failed on a Windows target"},
                     "defaultConfiguration": {"level": "error"}},
                    {"id": "go-test/package-failed", "shortDescription": {"text": "A package's tests did not compile, timed out or crashed"},
                     "defaultConfiguration": {"level": "error"}},
                ],
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    use crate::gotest::{PackageResult, TargetRunner, TestCase};
    use crate::matrix::Target;
    use pegate_facts::GoArch;

    /// A failed test, a package that did not compile and one whose target has no runner.
    fn report() -> TestReport {
        let package = |name: &str, target: &str, status| PackageResult {
            package: name.to_owned(),
            dir: std::env::current_dir().unwrap().join("pkg"),
            target: Target::parse(target).unwrap(),
            status,
            runner: (status == PackageStatus::Failed).then(|| "wine 8.0".to_owned()),
            binary: None,
            exit_code: None,
            tests: Vec::new(),
            elapsed_ms: 1500,
            reason: None,
            output: String::new(),
        };
        let mut failed = package("example.com/a", "windows/amd64", PackageStatus::Failed);
        failed.tests = vec![
            TestCase {
                name: "TestOk".to_owned(),
                status: TestStatus::Passed,
                elapsed_ms: 10,
                output: String::new(),
            },
            TestCase {
                name: "TestBad".to_owned(),
                status: TestStatus::Failed,
                elapsed_ms: 20,
                output: "=== RUN   TestBad\n    a_windows_test.go:7: got 1, want 2\n--- FAIL: TestBad (0.02s)\n".to_owned(),
            },
        ];
        let mut broken = package("example.com/b", "windows/amd64", PackageStatus::BuildFailed);
        broken.reason = Some("b_windows_test.go:3:1: syntax error".to_owned());
        let mut arm = package("example.com/a", "windows/arm64", PackageStatus::Skipped);
        arm.reason = Some("arm64: no runner on this host".to_owned());
        TestReport {
            go_version: "go1.27.3".to_owned(),
            runners: vec![TargetRunner {
                target: Target::windows(GoArch::Amd64),
                runner: Some("wine 8.0".to_owned()),
                program: Some("/usr/lib/wine/wine64".into()),
                reason: None,
            }],
            packages: vec![failed, broken, arm],
            elapsed_ms: 4000,
        }
    }

    #[test]
    fn github_and_sarif_name_each_failure_with_its_test_file_line() {
        let r = report();
        assert!(r.failed() && !r.errored());
        assert_eq!(
            github(&r),
            "::error file=pkg/a_windows_test.go,line=7,title=pegate test windows/amd64::example.com/a TestBad failed on windows/amd64: a_windows_test.go:7: got 1, want 2\n\
             ::error title=pegate test windows/amd64::example.com/b (package) failed on windows/amd64: b_windows_test.go:3:1: syntax error\n\
             ::notice title=pegate test::example.com/a on windows/arm64 not run: arm64: no runner on this host\n\
             ::notice title=pegate test::1 passed, 1 failed, 0 skipped; 1 of 3 packages × targets ran\n"
        );
        let doc: serde_json::Value = serde_json::from_str(&sarif(&r)).unwrap();
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(results[0]["ruleId"], "go-test/failed");
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "pkg/a_windows_test.go"
        );
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            7
        );
        assert_eq!(results[1]["ruleId"], "go-test/package-failed");
        let junit = junit(&r);
        assert!(junit.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pegate test\" tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\" time=\"4.000\">"), "{junit}");
        assert!(
            junit.contains(
                "<error message=\"b_windows_test.go:3:1: syntax error\" type=\"FAIL (build)\">"
            ),
            "{junit}"
        );
        let json: serde_json::Value = serde_json::from_str(&json(&r)).unwrap();
        assert_eq!(json["passed"], false);
        assert_eq!(json["report"]["packages"][1]["status"], "build-failed");
    }

    #[test]
    fn locations_are_read_from_go_test_output() {
        assert_eq!(
            location("=== RUN   TestA\n    a_windows_test.go:11: want x\n"),
            Some(("a_windows_test.go".to_owned(), 11))
        );
        assert_eq!(location("panic: boom\n"), None);
        assert_eq!(location("see file.go: not a line\n"), None);
    }
}
