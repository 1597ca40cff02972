//! Renderers of a [`Report`]: text (failures first), JSON, JUnit XML, SARIF 2.1.0, GitHub Actions.
//!
//! Each returns the whole document as a `String`; the caller decides where it goes. Each also
//! has a streaming twin (`text_to`, `json_to`, ...) that writes the same bytes to an
//! [`io::Write`](std::io::Write) from [`Results`] it reads a few times over (the counts before the
//! results, the column widths before the rows) and keeps only one artifact's results at a time:
//! `pegate gate` gives it results spooled to a file, so its memory does not grow with the number
//! of artifacts. Writing to the caller's sink is the only I/O.
//!
//! ```
//! use pegate_policy::{render, ArtifactFacts, Policy};
//!
//! let policy = Policy::from_toml("[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"").unwrap();
//! let facts = ArtifactFacts { path: "a.exe".into(), machine: Some("AMD64".parse().unwrap()), ..Default::default() };
//! let report = policy.evaluate(&[facts], None);
//! assert!(render::github(&report).contains("::error file=a.exe,title=pegate machine::"));
//! ```

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{Hash as _, Hasher as _};
use std::io;

use pegate_facts::untrusted;
use serde_json::json;

use crate::{Outcome, RULES, Report, RuleResult};

/// Results in report order (artifact by artifact, then the `artifact.expected` ones) that a
/// renderer may read more than once.
pub trait Results {
    /// Calls `each` with every result, in order; stops at its first error.
    fn each(&self, each: &mut dyn FnMut(&RuleResult) -> io::Result<()>) -> io::Result<()>;
}

impl Results for Report {
    fn each(&self, each: &mut dyn FnMut(&RuleResult) -> io::Result<()>) -> io::Result<()> {
        self.results.iter().try_for_each(each)
    }
}

/// Pass, fail and not-applicable counts.
#[derive(Debug, Clone, Copy, Default)]
struct Counts([usize; 3]);

impl Counts {
    fn add(&mut self, o: Outcome) {
        let slot = match o {
            Outcome::Pass => 0,
            Outcome::Fail => 1,
            Outcome::NotApplicable => 2,
        };
        if let Some(n) = self.0.get_mut(slot) {
            *n = n.saturating_add(1);
        }
    }

    fn of(results: &(impl Results + ?Sized)) -> io::Result<Counts> {
        let mut counts = Counts::default();
        results.each(&mut |r| {
            counts.add(r.outcome);
            Ok(())
        })?;
        Ok(counts)
    }

    fn total(&self) -> usize {
        self.0.iter().fold(0, |a, b| a.saturating_add(*b))
    }

    fn summary_line(&self) -> String {
        let [pass, fail, na] = self.0;
        format!("{pass} passed, {fail} failed, {na} not applicable")
    }
}

/// A hash of an artifact name, to find names whose results are not adjacent.
fn name_hash(name: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    name.hash(&mut h);
    h.finish()
}

/// Calls `each` once per artifact name, in the order names first appear, with all its results in
/// order: what the old grouping by name gave. An artifact's results are adjacent except when a
/// name comes back (a file given twice, an `expected` name that is also an artifact's path):
/// those few names are found first (8 bytes of hash per name) and their results gathered in a
/// second pass; every other group is held only while it is read.
fn groups(
    results: &(impl Results + ?Sized),
    each: &mut dyn FnMut(&str, &[RuleResult]) -> io::Result<()>,
) -> io::Result<()> {
    let mut starts = HashSet::new();
    let mut returning = HashSet::new();
    let mut last: Option<String> = None;
    results.each(&mut |r| {
        if last.as_deref() != Some(r.artifact.as_str()) {
            let h = name_hash(&r.artifact);
            if !starts.insert(h) {
                returning.insert(h);
            }
            last = Some(r.artifact.clone());
        }
        Ok(())
    })?;
    drop(starts);
    let mut gathered: HashMap<String, Vec<RuleResult>> = HashMap::new();
    if !returning.is_empty() {
        results.each(&mut |r| {
            if returning.contains(&name_hash(&r.artifact)) {
                gathered
                    .entry(r.artifact.clone())
                    .or_default()
                    .push(r.clone());
            }
            Ok(())
        })?;
    }
    let mut group: Vec<RuleResult> = Vec::new();
    let mut flush = |group: &mut Vec<RuleResult>| -> io::Result<()> {
        let Some(first) = group.first() else {
            return Ok(());
        };
        let name = first.artifact.clone();
        let out = match gathered.get_mut(&name) {
            // Gathered: shown whole where the name first appears, then never again.
            Some(all) if !all.is_empty() => each(&name, &std::mem::take(all)),
            Some(_) => Ok(()),
            None => each(&name, group),
        };
        group.clear();
        out
    };
    results.each(&mut |r| {
        if group.first().is_some_and(|g| g.artifact != r.artifact) {
            flush(&mut group)?;
        }
        group.push(r.clone());
        Ok(())
    })?;
    flush(&mut group)
}

/// `doc` (pretty JSON whose last array is an empty `"results": []`) with that array filled by
/// `items`, each pretty-printed and indented as `serde_json::to_string_pretty` nests it.
fn json_with_results<T: serde::Serialize>(
    out: &mut dyn io::Write,
    doc: &serde_json::Value,
    results: &(impl Results + ?Sized),
    item: impl Fn(&RuleResult) -> Option<T>,
) -> io::Result<()> {
    let text = serde_json::to_string_pretty(doc).map_err(io::Error::other)?;
    const KEY: &str = "\"results\": []";
    let at = text
        .rfind(KEY)
        .ok_or_else(|| io::Error::other("no results array in the document"))?;
    let (head, tail) = text.split_at(at.saturating_add(KEY.len()).saturating_sub(1));
    let line_start = head.rfind('\n').map_or(0, |i| i.saturating_add(1));
    let indent = head
        .get(line_start..)
        .unwrap_or_default()
        .chars()
        .take_while(|c| *c == ' ')
        .count();
    let pad = " ".repeat(indent.saturating_add(2));
    out.write_all(head.as_bytes())?;
    let mut any = false;
    results.each(&mut |r| {
        let Some(value) = item(r) else {
            return Ok(());
        };
        let text = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
        out.write_all(if any { b",\n" } else { b"\n" })?;
        any = true;
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(pad.as_bytes())?;
            out.write_all(line.as_bytes())?;
        }
        Ok(())
    })?;
    if any {
        write!(out, "\n{}", " ".repeat(indent))?;
    }
    out.write_all(tail.as_bytes())
}

/// Renders with a streaming renderer into a `String` (the renderers write UTF-8 only).
fn to_string(render: impl FnOnce(&mut Vec<u8>) -> io::Result<()>) -> String {
    let mut buf = Vec::new();
    // Writing to a Vec fails only when serde_json does, which a RuleResult cannot make it.
    let _ = render(&mut buf);
    String::from_utf8(buf).unwrap_or_default()
}

fn outcome_word(o: Outcome) -> &'static str {
    match o {
        Outcome::Pass => "pass",
        Outcome::Fail => "FAIL",
        Outcome::NotApplicable => "n/a",
    }
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
    to_string(|out| text_to(out, report, opts))
}

/// [`text`], streamed: reads `results` four times (widths and counts, rows, artifact groups).
pub fn text_to(
    out: &mut dyn io::Write,
    results: &(impl Results + ?Sized),
    opts: &TextOptions,
) -> io::Result<()> {
    let listed = |r: &RuleResult| opts.verbose || r.outcome == Outcome::Fail;
    // Artifact paths and messages carry names read from files: shown escaped, measured as shown.
    let shown = |t: &str| untrusted::escape(t).chars().count();
    let (mut wa, mut wr, mut counts, mut any_listed) = (8, 4, Counts::default(), false);
    let mut last: Option<String> = None;
    results.each(&mut |r| {
        counts.add(r.outcome);
        if last.as_deref() != Some(r.artifact.as_str()) {
            wa = wa.max(shown(&r.artifact));
            last = Some(r.artifact.clone());
        }
        if listed(r) {
            any_listed = true;
            wr = wr.max(r.rule.as_str().len());
        }
        Ok(())
    })?;
    if any_listed {
        writeln!(
            out,
            "{:<4}  {:<wa$}  {:<wr$}  DETAIL",
            "", "ARTIFACT", "RULE"
        )?;
        results.each(&mut |r| {
            if !listed(r) {
                return Ok(());
            }
            writeln!(
                out,
                "{}  {:<wa$}  {:<wr$}  {}",
                outcome_cell(r.outcome, opts.color),
                untrusted::escape(&r.artifact),
                r.rule.as_str(),
                untrusted::escape(&r.message)
            )
        })?;
        out.write_all(b"\n")?;
    }
    // Artifacts in report order, each with its pass / fail / n/a counts.
    groups(results, &mut |artifact, group| {
        let mut c = Counts::default();
        for r in group {
            c.add(r.outcome);
        }
        let [pass, fail, na] = c.0;
        let verdict = if fail > 0 {
            Outcome::Fail
        } else {
            Outcome::Pass
        };
        let mut line = format!("{pass} passed");
        if fail > 0 {
            let _ = write!(line, ", {fail} failed");
        }
        if na > 0 {
            let _ = write!(line, ", {na} not applicable");
        }
        writeln!(
            out,
            "{}  {:<wa$}  {line}",
            outcome_cell(verdict, opts.color),
            untrusted::escape(artifact)
        )
    })?;
    if counts.total() > 0 {
        out.write_all(b"\n")?;
    }
    writeln!(out, "{}", counts.summary_line())
}

/// The report as pretty JSON: `{"passed": bool, "summary": {...}, "results": [...]}`.
pub fn json(report: &Report) -> String {
    to_string(|out| json_to(out, report))
}

/// [`json`], streamed: reads `results` twice (the counts, then the results).
pub fn json_to(out: &mut dyn io::Write, results: &(impl Results + ?Sized)) -> io::Result<()> {
    let [pass, fail, na] = Counts::of(results)?.0;
    let doc = json!({
        "passed": fail == 0,
        "summary": {"pass": pass, "fail": fail, "not_applicable": na},
        "results": [],
    });
    json_with_results(out, &doc, results, |r| Some(r.clone()))
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
    to_string(|out| junit_to(out, report))
}

/// [`junit`], streamed: reads `results` for the totals, then by artifact (see [`text_to`]).
pub fn junit_to(out: &mut dyn io::Write, results: &(impl Results + ?Sized)) -> io::Result<()> {
    let totals = Counts::of(results)?;
    let [_, fail, na] = totals.0;
    out.write_all(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")?;
    writeln!(
        out,
        "<testsuites name=\"pegate gate\" tests=\"{}\" failures=\"{fail}\" skipped=\"{na}\">",
        totals.total(),
    )?;
    groups(results, &mut |artifact, group| {
        let mut c = Counts::default();
        for r in group {
            c.add(r.outcome);
        }
        let [_, fail, na] = c.0;
        writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{fail}\" skipped=\"{na}\">",
            xml(artifact),
            group.len(),
        )?;
        for r in group {
            let head = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(artifact),
                xml(r.rule.as_str())
            );
            match r.outcome {
                Outcome::Pass => writeln!(out, "{head}/>")?,
                Outcome::Fail => writeln!(
                    out,
                    "{head}>\n      <failure message=\"{}\" type=\"{}\">{}\nfix: {}</failure>\n    </testcase>",
                    xml(&r.message),
                    xml(r.rule.as_str()),
                    xml(&r.message),
                    xml(r.rule.info().fix)
                )?,
                Outcome::NotApplicable => writeln!(
                    out,
                    "{head}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                    xml(&r.message)
                )?,
            }
        }
        out.write_all(b"  </testsuite>\n")
    })?;
    out.write_all(b"</testsuites>\n")
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
    to_string(|out| sarif_to(out, report))
}

/// [`sarif`], streamed: reads `results` once.
pub fn sarif_to(out: &mut dyn io::Write, results: &(impl Results + ?Sized)) -> io::Result<()> {
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
            "results": [],
        }],
    });
    json_with_results(out, &doc, results, |r| {
        if r.outcome == Outcome::Pass {
            return None;
        }
        let index = RULES.iter().position(|x| x.id == r.rule).unwrap_or(0);
        let (kind, level) = match r.outcome {
            Outcome::Fail => ("fail", "error"),
            _ => ("notApplicable", "none"),
        };
        Some(json!({
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
        }))
    })
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
    to_string(|out| github_to(out, report))
}

/// [`github`], streamed: reads `results` once.
pub fn github_to(out: &mut dyn io::Write, results: &(impl Results + ?Sized)) -> io::Result<()> {
    let mut counts = Counts::default();
    results.each(&mut |r| {
        counts.add(r.outcome);
        if r.outcome != Outcome::Fail {
            return Ok(());
        }
        writeln!(
            out,
            "::error file={},title=pegate {}::{} (fix: {})",
            gh_property(&slash_path(&r.artifact)),
            gh_property(r.rule.as_str()),
            gh_data(&r.message),
            gh_data(r.rule.info().fix)
        )
    })?;
    writeln!(
        out,
        "::notice title=pegate gate::{}",
        gh_data(&counts.summary_line())
    )
}

/// A Markdown summary for `$GITHUB_STEP_SUMMARY`: the counts and a table of the failures.
pub fn markdown(report: &Report) -> String {
    to_string(|out| markdown_to(out, report))
}

/// [`markdown`], streamed: reads `results` twice (the counts, then the failures).
pub fn markdown_to(out: &mut dyn io::Write, results: &(impl Results + ?Sized)) -> io::Result<()> {
    let counts = Counts::of(results)?;
    let failed = counts.0[1] > 0;
    out.write_all("## pegate gate\n\n".as_bytes())?;
    let verdict = if failed { "❌ failed" } else { "✅ passed" };
    writeln!(out, "**{verdict}**: {}\n", counts.summary_line())?;
    if failed {
        out.write_all(b"| artifact | rule | detail |\n|---|---|---|\n")?;
        let cell = |t: &str| untrusted::escape(t).replace('|', "\\|");
        results.each(&mut |r| {
            if r.outcome != Outcome::Fail {
                return Ok(());
            }
            writeln!(
                out,
                "| `{}` | `{}` | {} |",
                cell(&r.artifact),
                r.rule.as_str(),
                cell(&r.message)
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::RuleId;

    fn result(artifact: &str, rule: RuleId, outcome: Outcome) -> RuleResult {
        RuleResult {
            artifact: artifact.into(),
            rule,
            outcome,
            message: "m".into(),
        }
    }

    /// A name that comes back (a file given twice, an `expected` name that is also a path) is
    /// one group, where it first appears, with all its results: one JUnit suite, one text line.
    #[test]
    fn a_returning_name_is_one_group_where_it_first_appears() {
        let report = Report {
            results: vec![
                result("a.exe", RuleId::Readable, Outcome::Pass),
                result("b.exe", RuleId::Readable, Outcome::Fail),
                result("a.exe", RuleId::Readable, Outcome::Pass),
                result("a.exe", RuleId::Expected, Outcome::Fail),
            ],
        };
        let junit = junit(&report);
        let suites: Vec<&str> = junit
            .lines()
            .filter(|l| l.contains("<testsuite "))
            .collect();
        assert_eq!(
            suites,
            [
                "  <testsuite name=\"a.exe\" tests=\"3\" failures=\"1\" skipped=\"0\">",
                "  <testsuite name=\"b.exe\" tests=\"1\" failures=\"1\" skipped=\"0\">",
            ]
        );
        let text = text(&report, &TextOptions::default());
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.ends_with("passed") || l.contains("failed"))
            .filter(|l| l.contains(".exe") && !l.contains("artifact."))
            .collect();
        assert_eq!(
            lines,
            [
                "FAIL  a.exe     2 passed, 1 failed",
                "FAIL  b.exe     0 passed, 1 failed",
            ]
        );
    }
}
