//! `cargo xtask verify`'s table: one line per cell with its PE header fields, checks, the
//! optional imports, run and signature columns, and what failed.

use std::fmt::Write as _;

use pegate::go::run::RunResult;

use super::check::{ImportsGate, Row};

pub(super) fn table(rows: &[Row]) -> String {
    let width = rows.iter().map(|r| r.cell.len()).max().unwrap_or(4).max(4);
    // The optional columns appear only when some cell has them: run with --run, imports for cgo
    // cells (their import tables are gated), signature with --sign-test.
    let runs = Column::new(rows, 3, |r| r.run.as_ref().map(RunResult::summary));
    let imports = Column::new(rows, 7, |r| r.imports.as_ref().map(ImportsGate::summary));
    let signs = Column::new(rows, 9, |r| {
        r.signature
            .as_ref()
            .map(crate::sign_test::SignCheck::summary)
    });
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<width$}  {:<6}  {:<5}  {:<4}  {:<8}  {:>9}  {:<12}  {:>6}  {}{}{}result",
        "cell",
        "format",
        "mach",
        "subs",
        "dllchars",
        "size",
        "sha256",
        "checks",
        imports.cell("imports"),
        runs.cell("run"),
        signs.cell("signature")
    );
    for (at, row) in rows.iter().enumerate() {
        let (format, machine, subsystem, dll) = header_fields(row);
        let (size, sha) = match &row.artifact {
            Some(a) => (
                a.size.to_string(),
                a.sha256.get(..12).unwrap_or("").to_owned(),
            ),
            None => ("-".into(), "-".into()),
        };
        let checks = format!(
            "{}/{}",
            row.checks.iter().filter(|c| c.ok).count(),
            row.checks.len()
        );
        let result = row_result(row, runs.text(at));
        let _ = writeln!(
            out,
            "{:<width$}  {format:<6}  {machine:<5}  {subsystem:<4}  {dll:<8}  {size:>9}  {sha:<12}  {checks:>6}  {}{}{}{result}",
            row.cell,
            imports.cell(imports.text(at).unwrap_or("-")),
            runs.cell(runs.text(at).unwrap_or("-")),
            signs.cell(signs.text(at).unwrap_or("-"))
        );
    }
    out
}

/// A table column that only some runs have: each row's text, and the column's width when any
/// row has one (at least `min`).
struct Column {
    texts: Vec<Option<String>>,
    width: Option<usize>,
}

impl Column {
    fn new(rows: &[Row], min: usize, text: impl Fn(&Row) -> Option<String>) -> Column {
        let texts: Vec<Option<String>> = rows.iter().map(text).collect();
        let width = texts
            .iter()
            .flatten()
            .map(|t| t.chars().count())
            .max()
            .map(|w| w.max(min));
        Column { texts, width }
    }

    /// Row `at`'s text, if it has one.
    fn text(&self, at: usize) -> Option<&str> {
        self.texts.get(at).and_then(Option::as_deref)
    }

    /// `text` padded to the column, or nothing when the column is absent.
    fn cell(&self, text: &str) -> String {
        match self.width {
            Some(w) => format!("{text:<w$}  "),
            None => String::new(),
        }
    }
}

/// The table's PE header fields of a row: format, machine, subsystem, DllCharacteristics.
fn header_fields(row: &Row) -> (String, String, String, String) {
    match &row.summary {
        Some(o) => (
            o.headers.format().to_owned(),
            o.headers.machine.to_string(),
            o.headers
                .subsystem
                .to_string()
                .trim_start_matches("WINDOWS_")
                .to_owned(),
            format!("{:#06x}", o.headers.dll_characteristics.raw),
        ),
        None => ("-".into(), "-".into(), "-".into(), "-".into()),
    }
}

/// The result column: ok, or what failed (the build, the run, or each failed check).
fn row_result(row: &Row, run: Option<&str>) -> String {
    if row.ok && row.reproducible == Some(true) {
        "ok (reproducible)".to_owned()
    } else if row.ok {
        "ok".to_owned()
    } else if let Some(error) = &row.error {
        format!("FAIL {error}")
    } else if row.checks.iter().all(|c| c.ok) {
        format!("FAIL run: {}", run.unwrap_or(""))
    } else {
        let failed: Vec<String> = row
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: expected {}, got {}", c.name, c.expected, c.actual))
            .collect();
        format!("FAIL {}", failed.join("; "))
    }
}
