//! Renderers of a [`Report`]: text (failures first), JSON, JUnit XML, SARIF 2.1.0, GitHub Actions.
//!
//! Each returns the whole document as a `String`; the caller decides where it goes.
//!
//! ```
//! use pegate_policy::{render, ArtifactFacts, Policy};
//!
//! let policy = Policy::from_toml("[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"").unwrap();
//! let facts = ArtifactFacts { path: "a.exe".into(), machine: Some("AMD64".parse().unwrap()), ..Default::default() };
//! let report = policy.evaluate(&[facts], None);
//! assert!(render::github(&report).contains("::error file=a.exe,title=pegate machine::"));
//! ```

use std::fmt::Write as _;

use pegate_facts::untrusted;
use serde_json::json;

use crate::{Outcome, RULES, Report, RuleResult};

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::NotApplicable => "n/a",
    }
}

fn summary_line(report: &Report) -> String {
    let counts = report.counts();
    let n = |o| counts.get(&o).copied().unwrap_or(0);
    format!(
        "{} passed, {} failed, {} not applicable",
        n(Outcome::Pass),
        n(Outcome::Fail),
        n(Outcome::NotApplicable)
    )
}

/// How [`text`] renders a report.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TextOptions {
    /// ANSI colour on the outcome words.
    pub color: bool,
    /// List every check (passes and not-applicable ones too), not only the failures.
    pub verbose: bool,
}

impl TextOptions {
    /// With or without ANSI colour.
    pub fn with_color(mut self, yes: bool) -> Self {
        self.color = yes;
        self
    }

    /// Every check, or only the failures.
    pub fn with_verbose(mut self, yes: bool) -> Self {
        self.verbose = yes;
        self
    }
}

/// The outcome word, padded to four columns, coloured when asked.
fn outcome_cell(o: Outcome, color: bool) -> String {
    let word = outcome_word(o);
    if color {
        let code = match o {
            Outcome::Pass => "32",
            Outcome::Fail => "1;31",
            Outcome::NotApplicable => "2",
        };
        format!("\x1b[{code}m{word:<4}\x1b[0m")
    } else {
        format!("{word:<4}")
    }
}

/// What a reader needs first: the failed checks (every check with `verbose`), one row each;
/// then one line per artifact with its counts; then the totals. The machine-readable formats
/// keep every result whatever this shows.
pub fn text(report: &Report, opts: &TextOptions) -> String {
    let listed: Vec<&RuleResult> = report
        .results
        .iter()
        .filter(|r| opts.verbose || r.outcome == Outcome::Fail)
        .collect();
    // Artifacts in report order, each with its pass / fail / n/a counts.
    let mut artifacts: Vec<(&str, [usize; 3])> = Vec::new();
    for r in &report.results {
        let at = match artifacts.iter().position(|(a, _)| *a == r.artifact) {
            Some(i) => i,
            None => {
                artifacts.push((&r.artifact, [0; 3]));
                artifacts.len().saturating_sub(1)
            }
        };
        let slot = match r.outcome {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::NotApplicable => 2,
        };
        if let Some(n) = artifacts.get_mut(at).and_then(|(_, c)| c.get_mut(slot)) {
            *n = n.saturating_add(1);
        }
    }
    // Artifact paths and messages carry names read from files: shown escaped, measured as shown.
    let shown = |t: &str| untrusted::escape(t).chars().count();
    let wa = listed
        .iter()
        .map(|r| shown(&r.artifact))
        .chain(artifacts.iter().map(|(a, _)| shown(a)))
        .max()
        .unwrap_or(0)
        .max(8);
    let wr = listed
        .iter()
        .map(|r| r.rule.as_str().len())
        .max()
        .unwrap_or(0)
        .max(4);
    let mut s = String::new();
    if !listed.is_empty() {
        let _ = writeln!(s, "{:<4}  {:<wa$}  {:<wr$}  DETAIL", "", "ARTIFACT", "RULE");
        for r in &listed {
            let _ = writeln!(
                s,
                "{}  {:<wa$}  {:<wr$}  {}",
                outcome_cell(r.outcome, opts.color),
                untrusted::escape(&r.artifact),
                r.rule.as_str(),
                untrusted::escape(&r.message)
            );
        }
        s.push('\n');
    }
    for (artifact, [pass, fail, na]) in &artifacts {
        let verdict = if *fail > 0 {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        let mut counts = format!("{pass} passed");
        if *fail > 0 {
            let _ = write!(counts, ", {fail} failed");
        }
        if *na > 0 {
            let _ = write!(counts, ", {na} not applicable");
        }
        let _ = writeln!(
            s,
            "{}  {:<wa$}  {counts}",
            outcome_cell(verdict, opts.color),
            untrusted::escape(artifact)
        );
    }
    if !artifacts.is_empty() {
        s.push('\n');
    }
    let _ = writeln!(s, "{}", summary_line(report));
    s
}

/// The report as pretty JSON: `{"passed": bool, "summary": {...}, "results": [...]}`.
pub fn json(report: &Report) -> String {
    let counts = report.counts();
    let n = |o| counts.get(&o).copied().unwrap_or(0);
    let doc = json!({
        "passed": !report.failed(),
        "summary": {"pass": n(Outcome::Pass), "fail": n(Outcome::Fail), "not_applicable": n(Outcome::NotApplicable)},
        "results": report.results,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Escapes text for XML attribute values and character data (also `pegate test`'s JUnit).
pub fn xml(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&apos;"),
            // As references: a parser normalises literal ones in attributes to spaces.
            '\t' => s.push_str("&#9;"),
            '\n' => s.push_str("&#10;"),
            '\r' => s.push_str("&#13;"),
            // XML 1.0 forbids the other C0 controls even as character references: they are
            // written as pegate's visible escape (`\x1b`), the one place the value changes.
            c if (c as u32) < 0x20 => s.push_str(&untrusted::escape(c.encode_utf8(&mut [0; 4]))),
            c => s.push(c),
        }
    }
    s
}

/// JUnit XML: one `<testsuite>` per artifact, one `<testcase>` per artifact × rule.
pub fn junit(report: &Report) -> String {
    let mut suites: Vec<(&str, Vec<&RuleResult>)> = Vec::new();
    for r in &report.results {
        match suites.iter_mut().find(|(a, _)| *a == r.artifact) {
            Some((_, v)) => v.push(r),
            None => suites.push((&r.artifact, vec![r])),
        }
    }
    let count = |v: &[&RuleResult], o| v.iter().filter(|r| r.outcome == o).count();
    let mut s = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        s,
        "<testsuites name=\"pegate gate\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
        report.results.len(),
        count(&report.results.iter().collect::<Vec<_>>(), Outcome::Fail),
        count(
            &report.results.iter().collect::<Vec<_>>(),
            Outcome::NotApplicable
        ),
    );
    for (artifact, results) in &suites {
        let _ = writeln!(
            s,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\">",
            xml(artifact),
            results.len(),
            count(results, Outcome::Fail),
            count(results, Outcome::NotApplicable)
        );
        for r in results {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(artifact),
                xml(r.rule.as_str())
            );
            match r.outcome {
                Outcome::Pass => {
                    let _ = writeln!(s, "{head}/>");
                }
                Outcome::Fail => {
                    let _ = writeln!(
                        s,
                        "{head}>\n      <failure message=\"{}\" type=\"{}\">{}\nfix: {}</failure>\n    </testcase>",
                        xml(&r.message),
                        xml(r.rule.as_str()),
                        xml(&r.message),
                        xml(r.rule.info().fix)
                    );
                }
                Outcome::NotApplicable => {
                    let _ = writeln!(
                        s,
                        "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                        xml(&r.message)
                    );
                }
            }
        }
        s.push_str("  </testsuite>\n");
    }
    s.push_str("</testsuites>\n");
    s
}

/// A path the way repository tools name files, whichever OS produced it: forward slashes, no
/// leading `./`, and no `\\?\` (the verbatim prefix of Windows paths longer than 260 characters;
/// `\\?\UNC\server\share` is `//server/share`).
pub fn slash_path(path: &str) -> String {
    let path = match path.strip_prefix(r"\\?\") {
        Some(rest) => match rest.strip_prefix(r"UNC\") {
            Some(share) => format!(r"\\{share}"),
            None => rest.to_owned(),
        },
        None => path.to_owned(),
    };
    let p = path.replace('\\', "/");
    let mut p = p.as_str();
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_owned()
}

/// A path as a SARIF/URI reference against `%SRCROOT%`: forward slashes, no `./`, percent-encoded
/// (UTF-8 bytes, so Chinese names survive). A drive path `C:\x` becomes `/C:/x`: a reference
/// starting `C:` would read as a URI scheme.
pub fn uri(path: &str) -> String {
    let p = slash_path(path);
    let mut out = String::with_capacity(p.len());
    let rest = match p.as_bytes() {
        [letter, b':', b'/', ..] if letter.is_ascii_alphabetic() => {
            let _ = write!(out, "/{}:", char::from(*letter));
            p.get(2..).unwrap_or_default()
        }
        _ => p.as_str(),
    };
    for b in rest.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// SARIF 2.1.0: one run, the whole rule catalogue as `tool.driver.rules`, one result per failure
/// (level `error`) and per not-applicable check (level `note`, kind `notApplicable`).
pub fn sarif(report: &Report) -> String {
    let rules: Vec<_> = RULES
        .iter()
        .map(|r| {
            let mut rule = json!({
                "id": r.id.as_str(),
                "name": r.id.as_str().replace(['.', '-'], "_"),
                "shortDescription": {"text": r.description},
                "help": {"text": r.fix},
                "defaultConfiguration": {"level": "error"},
            });
            // The BinSkim rule it corresponds to, for dashboards that already group by those ids.
            if let (Some(id), Some(fields)) = (r.binskim, rule.as_object_mut()) {
                fields.insert(
                    "properties".into(),
                    json!({"binskimRuleId": id, "tags": [format!("binskim:{id}")]}),
                );
            }
            rule
        })
        .collect();
    let results: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.outcome != Outcome::Pass)
        .map(|r| {
            let index = RULES.iter().position(|x| x.id == r.rule).unwrap_or(0);
            let (kind, level) = match r.outcome {
                Outcome::Fail => ("fail", "error"),
                _ => ("notApplicable", "none"),
            };
            json!({
                "ruleId": r.rule.as_str(),
                "ruleIndex": index,
                "kind": kind,
                "level": level,
                "message": {"text": r.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri(&r.artifact), "uriBaseId": "%SRCROOT%"}
                    }
                }],
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "pegate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/pegate",
                "rules": rules,
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// Escapes a GitHub workflow command's property (`file=`, `title=`) value; controls and bidi
/// overrides (which the log viewer would act on) first, as every human-readable output does.
pub fn gh_property(text: &str) -> String {
    untrusted::escape(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Escapes a GitHub workflow command's message (controls and bidi overrides first).
pub fn gh_data(text: &str) -> String {
    untrusted::escape(text)
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub Actions workflow commands: `::error file=…,title=…::message` per failure, `::notice` at the end.
/// `file=` has forward slashes on every runner, as GitHub names the repository's files (a path
/// relative to the workspace, as given to `pegate gate`, is what lands on the right line).
pub fn github(report: &Report) -> String {
    let mut s = String::new();
    for r in report.failures() {
        let _ = writeln!(
            s,
            "::error file={},title=pegate {}::{} (fix: {})",
            gh_property(&slash_path(&r.artifact)),
            gh_property(r.rule.as_str()),
            gh_data(&r.message),
            gh_data(r.rule.info().fix)
        );
    }
    let _ = writeln!(
        s,
        "::notice title=pegate gate::{}",
        gh_data(&summary_line(report))
    );
    s
}

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: the counts and a table of the failures.
pub fn markdown(report: &Report) -> String {
    let mut s = String::from("## pegate gate\n\n");
    let verdict = if report.failed() {
        "❌ failed"
    } else {
        "✅ passed"
    };
    let _ = writeln!(s, "**{verdict}**: {}\n", summary_line(report));
    if report.failed() {
        s.push_str("| artifact | rule | detail |\n|---|---|---|\n");
        let cell = |t: &str| untrusted::escape(t).replace('|', "\\|");
        for r in report.failures() {
            let _ = writeln!(
                s,
                "| `{}` | `{}` | {} |",
                cell(&r.artifact),
                r.rule.as_str(),
                cell(&r.message)
            );
        }
    }
    s
}
