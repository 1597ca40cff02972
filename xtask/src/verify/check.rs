//! What each cell of `cargo xtask verify`'s matrix must be and what its artifact is: the
//! checks of one cell (PE headers, Go build info, cross-checks, a cgo cell's gated imports),
//! collected into the row the table and the report show.

use std::path::Path;

use anyhow::{Context, bail};
use pegate::facts::{Characteristics, DllCharacteristics as Dll, GoArch, Subsystem};
use pegate::go::buildinfo::{self, BuildInfo};
use pegate::go::crosscheck::{self, Finding};
use pegate::go::matrix::{Artifact, MatrixReport, Variant};
use pegate::go::run::RunResult;
use pegate::pe::PeSummary;
use pegate::policy::{Outcome, Policy, RuleId, RuleResult};
use serde::Serialize;

/// One check of one cell: what the cell must be and what the artifact is.
#[derive(Debug, Serialize)]
pub(super) struct Check {
    pub(super) name: &'static str,
    pub(super) expected: String,
    pub(super) actual: String,
    pub(super) ok: bool,
}

impl Check {
    pub(super) fn new(name: &'static str, expected: impl ToString, actual: impl ToString) -> Check {
        let (expected, actual) = (expected.to_string(), actual.to_string());
        Check {
            name,
            ok: expected == actual,
            expected,
            actual,
        }
    }
}

/// One table row / report entry.
#[derive(Debug, Serialize)]
pub(super) struct Row {
    pub(super) cell: String,
    pub(super) ok: bool,
    pub(super) artifact: Option<Artifact>,
    pub(super) reproducible: Option<bool>,
    pub(super) error: Option<String>,
    pub(super) stderr: Option<String>,
    pub(super) describe: Option<String>,
    pub(super) summary: Option<PeSummary>,
    pub(super) build_info: Option<BuildInfo>,
    pub(super) findings: Vec<Finding>,
    pub(super) checks: Vec<Check>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) run: Option<RunResult>,
    /// cgo cells: the imported DLLs and the import rules' verdicts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) imports: Option<ImportsGate>,
    /// `--sign-test`: the signature's verdict and the gate's results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) signature: Option<crate::sign_test::SignCheck>,
}

/// A cgo cell's import table as the default release policy judges it.
#[derive(Debug, Serialize)]
pub(super) struct ImportsGate {
    /// Every imported DLL (delay-loaded ones included), as the import directory names it.
    pub(super) dlls: Vec<String>,
    /// The results of the policy's `imports.*` rules on this artifact.
    pub(super) results: Vec<RuleResult>,
}

impl ImportsGate {
    /// The `imports` table column: `ok (N dlls)` or the failed rules.
    pub(super) fn summary(&self) -> String {
        let failed: Vec<&str> = self
            .results
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .map(|r| r.rule.as_str())
            .collect();
        if failed.is_empty() {
            format!("ok ({} dlls)", self.dlls.len())
        } else {
            format!("FAIL {}", failed.join(", "))
        }
    }

    /// One check per import rule: it must pass; a failure carries the rule's message.
    fn checks(&self) -> Vec<Check> {
        self.results
            .iter()
            .map(|r| {
                let actual = match r.outcome {
                    Outcome::Pass => "pass".to_owned(),
                    Outcome::Fail => format!("fail: {}", r.message),
                    Outcome::NotApplicable => format!("not applicable: {}", r.message),
                };
                Check::new(r.rule.as_str(), "pass", actual)
            })
            .collect()
    }
}

/// Reads `path`'s import tables through pegate's inspection and judges them with the default
/// release policy (`pegate gate` without `--policy`), keeping its `imports.*` rules' results.
pub(super) fn gate_imports(path: &Path) -> anyhow::Result<ImportsGate> {
    let policy = Policy::default_release().context("the default release policy")?;
    let opts = pegate::artifact::Options::default()
        .with_skip_go(true)
        .with_imports(true);
    let report = pegate::artifact::inspect(path, &opts);
    if let Some(error) = report.error() {
        bail!("inspect the imports of {}: {error}", path.display());
    }
    let facts = report.facts();
    let dlls = facts
        .imports
        .as_ref()
        .map(|i| i.dlls.iter().map(|d| d.name.clone()).collect())
        .unwrap_or_default();
    let results: Vec<RuleResult> = policy
        .evaluate(&[facts], None)
        .results
        .into_iter()
        .filter(|r| matches!(r.rule, RuleId::ImportsSystemOnly | RuleId::ImportsDeny))
        .collect();
    if !results.iter().any(|r| r.rule == RuleId::ImportsSystemOnly) {
        bail!(
            "the default release policy did not judge imports.system-only on {}",
            path.display()
        );
    }
    Ok(ImportsGate { dlls, results })
}

pub(super) fn check_all(report: &MatrixReport) -> Vec<Row> {
    report
        .cells
        .iter()
        .map(|result| {
            let mut row = Row {
                cell: result.cell.name(),
                ok: false,
                artifact: result.artifact().cloned(),
                reproducible: result.reproducible,
                error: result.error().map(|e| e.message.clone()),
                stderr: result
                    .error()
                    .map(|e| e.stderr.clone())
                    .filter(|s| !s.is_empty()),
                describe: None,
                summary: None,
                build_info: None,
                findings: Vec::new(),
                checks: Vec::new(),
                run: result.run.clone(),
                imports: None,
                signature: None,
            };
            if let Some(artifact) = result.artifact() {
                match observe(&artifact.path) {
                    Ok((summary, info)) => {
                        row.checks = expectations(artifact, &summary);
                        row.checks
                            .extend(build_info_checks(artifact, info.as_ref()));
                        if let Some(info) = &info {
                            row.findings = crosscheck::check(&summary, info);
                            let failed: Vec<String> = row
                                .findings
                                .iter()
                                .filter(|f| f.status == crosscheck::Outcome::Fail)
                                .map(|f| format!("{}: {}", f.id, f.message))
                                .collect();
                            row.checks
                                .push(Check::new("cross-checks", "", failed.join("; ")));
                        }
                        // cgo cells: the import table, gated like `pegate gate` does.
                        if artifact.c_compiler.is_some() {
                            match gate_imports(&artifact.path) {
                                Ok(gate) => {
                                    row.checks.extend(gate.checks());
                                    row.imports = Some(gate);
                                }
                                Err(e) => row.error = Some(format!("{e:#}")),
                            }
                        }
                        row.describe = Some(pegate::pe::describe(&summary));
                        row.summary = Some(summary);
                        row.build_info = info;
                    }
                    Err(e) => {
                        row.error = Some(format!("inspect {}: {e:#}", artifact.path.display()))
                    }
                }
            }
            if result.reproducible == Some(false) {
                row.error.get_or_insert_with(|| {
                    "a second build elsewhere gave different bytes".to_owned()
                });
            }
            row.ok = row_ok(&row);
            row
        })
        .collect()
}

/// A row passes when its cell built and was read, every check holds and no run failed.
pub(super) fn row_ok(row: &Row) -> bool {
    row.error.is_none()
        && row.checks.iter().all(|c| c.ok)
        && !row.run.as_ref().is_some_and(RunResult::failed)
}

/// What every cell of the reference matrix must be (reference/go-pe-facts.md: Go's default
/// `-buildmode=pie` on windows gives ASLR everywhere and high-entropy VA on 64-bit targets).
pub(super) fn expectations(artifact: &Artifact, seen: &PeSummary) -> Vec<Check> {
    let cell = &artifact.cell;
    // The machine Go's linker writes for the GOARCH (pegate-facts' one table); a 64-bit
    // target is PE32+ with high-entropy VA. A GOARCH with no Windows port expects its own name
    // as the machine, which no header has.
    let wide = matches!(cell.goarch, GoArch::Amd64 | GoArch::Arm64);
    let (machine, format) = match cell.goarch.machine() {
        Some(m) => (m.to_string(), if wide { "PE32+" } else { "PE32" }),
        None => (cell.goarch.to_string(), "?"),
    };
    let subsystem = if cell.variant == Variant::Gui {
        Subsystem::WINDOWS_GUI
    } else {
        Subsystem::WINDOWS_CUI
    };
    let dll = |flag: Dll| seen.headers.dll_characteristics.contains(flag);
    let dwarf = seen
        .sections
        .iter()
        .any(|s| s.name.starts_with(".zdebug_") || s.name.starts_with(".debug_"));
    let stripped = cell.variant == Variant::Stripped;
    let zig_linked = artifact
        .c_compiler
        .as_ref()
        .is_some_and(|cc| cc.kind == pegate::go::cgo::CompilerKind::Zig);
    vec![
        Check::new("machine", machine, seen.headers.machine),
        Check::new("format", format, seen.headers.format()),
        Check::new("subsystem", subsystem, seen.headers.subsystem),
        Check::new("aslr (DYNAMIC_BASE)", true, dll(Dll::DYNAMIC_BASE)),
        Check::new("high-entropy va", wide, dll(Dll::HIGH_ENTROPY_VA)),
        Check::new("nx (NX_COMPAT)", true, dll(Dll::NX_COMPAT)),
        Check::new(
            "terminal-server aware",
            true,
            dll(Dll::TERMINAL_SERVER_AWARE),
        ),
        Check::new(
            "relocations kept",
            true,
            !seen
                .headers
                .characteristics
                .contains(Characteristics::RELOCS_STRIPPED)
                && seen.directory("BASERELOC").is_some(),
        ),
        Check::new("dwarf", !stripped, dwarf),
        // Go's linker and GNU ld (MinGW) write a COFF symbol table; lld (zig cc) writes none.
        Check::new(
            "coff symbols",
            !stripped && !zig_linked,
            seen.headers.number_of_symbols > 0,
        ),
        Check::new("unsigned", true, seen.headers.security_directory.is_none()),
        Check::new(
            "parsed cleanly",
            "",
            seen.errors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ),
    ]
}

/// What Go must have recorded for the cell: its version, target and the matrix's flags.
pub(super) fn build_info_checks(artifact: &Artifact, info: Option<&BuildInfo>) -> Vec<Check> {
    let Some(info) = info else {
        return vec![Check::new("go build info", "present", "missing")];
    };
    let cell = &artifact.cell;
    let cgo = artifact.c_compiler.is_some();
    let setting = |key: &str| info.setting(key).unwrap_or("(not recorded)");
    vec![
        Check::new("go version", &artifact.go_version, &info.go_version),
        Check::new("GOOS", cell.goos, setting("GOOS")),
        Check::new("GOARCH", cell.goarch, setting("GOARCH")),
        Check::new(
            "CGO_ENABLED",
            if cgo { "1" } else { "0" },
            setting("CGO_ENABLED"),
        ),
        Check::new("-trimpath", "true", setting("-trimpath")),
        Check::new(
            "main module",
            if cgo {
                "example.com/hello-cgo"
            } else {
                "example.com/hello"
            },
            &info.path,
        ),
    ]
}

/// Inspects an artifact: headers and Go build info. The whole file is read (Go artifacts are a
/// few MB) because the DWARF sections' long `/N` names live in the COFF string table at the end
/// of the file, which `inspect_path`'s header-only read does not reach.
pub(super) fn observe(path: &Path) -> anyhow::Result<(PeSummary, Option<BuildInfo>)> {
    let data = std::fs::read(path).with_context(|| format!("read {}", path.display()))?;
    let view = pegate::pe::PeView::parse(&data)?;
    let info = buildinfo::read(&view).context("read the go build info")?;
    Ok((pegate::pe::summarize(&view), info))
}
