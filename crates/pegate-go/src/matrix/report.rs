//! What a matrix build reports: each cell's artifact or failure, in the shape `report.json` has.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::spec::Cell;
use crate::cgo::CCompiler;
use crate::run::RunResult;

/// Progress reported while the matrix builds (from rayon worker threads).
#[derive(Debug)]
#[non_exhaustive]
pub enum CellEvent<'a> {
    /// A cell's build starts.
    Started {
        /// The cell.
        cell: &'a Cell,
    },
    /// A cell finished, successfully or not.
    Finished {
        /// Its result.
        result: &'a CellResult,
    },
}

/// One artifact of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The cell it was built for.
    pub cell: Cell,
    /// Where it is now (inside the spec's `out_dir`).
    pub path: PathBuf,
    /// SHA-256 of its bytes, lowercase hex.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// The command that produces it (`go build ... -o <path> .`, run in the source directory).
    pub command: Vec<String>,
    /// The target environment of that command (`GOOS=windows`, `GOARCH=amd64`, `CGO_ENABLED=0`).
    pub env: Vec<String>,
    /// The Go version that built it.
    pub go_version: String,
    /// The C compiler of a cgo cell (absent for pure-Go cells; boxed: most cells have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_compiler: Option<Box<CCompiler>>,
}

/// Why a cell has no artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum CellErrorKind {
    /// The toolchain has no such port (not built at all).
    UnknownTarget,
    /// `go build` failed; see `stderr`.
    BuildFailed,
    /// A cgo cell has no C compiler for its target; the message says what to install.
    NoCCompiler,
    /// pegate could not prepare or collect the build (temp dir, hashing, moving).
    Io,
    /// Signing the built artifact failed (see [`build_then`](super::build_then)); the unsigned
    /// file was removed.
    Sign,
}

/// A cell's failure, with everything needed to reproduce it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CellError {
    /// What kind of failure.
    pub kind: CellErrorKind,
    /// One line naming the cell and what went wrong.
    pub message: String,
    /// The end of `go build`'s standard error, if it ran.
    pub stderr: String,
    /// The command that failed, if one ran.
    pub command: Vec<String>,
    /// What went wrong without the cell's name and without go's first line of standard error:
    /// what a line that already names the cell, with the standard error printed below it, says.
    /// Not serialised (`message` says it whole); empty in a report read back from JSON.
    #[serde(skip)]
    pub cause: String,
}

impl CellError {
    /// `cell`'s failure: `message` is `cell <cell>: <cause>`.
    pub fn new(kind: CellErrorKind, cell: &dyn std::fmt::Display, cause: String) -> CellError {
        CellError {
            kind,
            message: format!("cell {cell}: {cause}"),
            stderr: String::new(),
            command: Vec::new(),
            cause,
        }
    }

    /// `go build` of `cell` exited with `status`: the message ends with go's first line of
    /// standard error (a `#` package header skipped); the cause does not, because a table that
    /// prints the whole standard error below the cell's line would say it twice.
    pub(crate) fn go_build_failed(
        cell: &dyn std::fmt::Display,
        status: &str,
        stderr: String,
        command: Vec<String>,
    ) -> CellError {
        let first = stderr.lines().find(|l| !l.starts_with('#')).unwrap_or("");
        let failed = CellError::new(
            CellErrorKind::BuildFailed,
            cell,
            format!("go build failed ({status})"),
        );
        CellError {
            message: format!("{}: {first}", failed.message),
            stderr,
            command,
            ..failed
        }
    }

    /// What a line that names the cell says of the failure: [`Self::cause`], or the whole
    /// message for an error read back from JSON.
    pub fn cause(&self) -> &str {
        if self.cause.is_empty() {
            &self.message
        } else {
            &self.cause
        }
    }
}

/// Whether a cell built: an artifact or the failure, never both nor neither.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CellOutcome {
    /// The build succeeded.
    Built(Artifact),
    /// It did not.
    Failed(CellError),
}

/// The outcome of one cell. It serialises as the report's `artifact` and `error` fields (one of
/// them `null`): one object per cell, both fields always present.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "CellResultRepr")]
pub struct CellResult {
    /// The cell.
    pub cell: Cell,
    /// The artifact, or why there is none.
    pub outcome: CellOutcome,
    /// With [`MatrixSpec::reproducibility`]: whether a second build elsewhere gave the same bytes.
    pub reproducible: Option<bool>,
    /// Wall time of the cell, in milliseconds.
    pub elapsed_ms: u64,
    /// With [`MatrixSpec::run`]: what running the artifact gave (skipped when this host cannot).
    pub run: Option<RunResult>,
}

impl CellResult {
    /// The artifact, when the build succeeded.
    pub fn artifact(&self) -> Option<&Artifact> {
        match &self.outcome {
            CellOutcome::Built(artifact) => Some(artifact),
            CellOutcome::Failed(_) => None,
        }
    }

    /// The failure, when it did not.
    pub fn error(&self) -> Option<&CellError> {
        match &self.outcome {
            CellOutcome::Built(_) => None,
            CellOutcome::Failed(error) => Some(error),
        }
    }
}

/// The JSON shape of a [`CellResult`] in `report.json`, field for field.
#[derive(Serialize)]
struct CellResultJson<'a> {
    cell: &'a Cell,
    artifact: Option<&'a Artifact>,
    error: Option<&'a CellError>,
    reproducible: Option<bool>,
    elapsed_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<&'a RunResult>,
}

impl Serialize for CellResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CellResultJson {
            cell: &self.cell,
            artifact: self.artifact(),
            error: self.error(),
            reproducible: self.reproducible,
            elapsed_ms: self.elapsed_ms,
            run: self.run.as_ref(),
        }
        .serialize(serializer)
    }
}

/// What a report's cell deserialises from before it is checked to have exactly one outcome.
#[derive(Deserialize)]
struct CellResultRepr {
    cell: Cell,
    artifact: Option<Artifact>,
    error: Option<CellError>,
    reproducible: Option<bool>,
    elapsed_ms: u64,
    #[serde(default)]
    run: Option<RunResult>,
}

impl TryFrom<CellResultRepr> for CellResult {
    type Error = &'static str;

    fn try_from(repr: CellResultRepr) -> Result<CellResult, &'static str> {
        let outcome = match (repr.artifact, repr.error) {
            (Some(artifact), None) => CellOutcome::Built(artifact),
            (None, Some(error)) => CellOutcome::Failed(error),
            (Some(_), Some(_)) => return Err("a cell has both an artifact and an error"),
            (None, None) => return Err("a cell has neither an artifact nor an error"),
        };
        Ok(CellResult {
            cell: repr.cell,
            outcome,
            reproducible: repr.reproducible,
            elapsed_ms: repr.elapsed_ms,
            run: repr.run,
        })
    }
}

/// Every cell's outcome, in matrix order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatrixReport {
    /// The toolchain version.
    pub go_version: String,
    /// One entry per cell.
    pub cells: Vec<CellResult>,
    /// Wall time of the whole matrix, in milliseconds.
    pub elapsed_ms: u64,
}

impl MatrixReport {
    /// The artifacts of the cells that built.
    pub fn artifacts(&self) -> impl Iterator<Item = &Artifact> {
        self.cells.iter().filter_map(CellResult::artifact)
    }

    /// The cells that failed.
    pub fn failures(&self) -> impl Iterator<Item = &CellResult> {
        self.cells.iter().filter(|c| c.error().is_some())
    }

    /// Whether every cell built (and, when checked, reproduced; when run, ran cleanly or was
    /// skipped because this host cannot run it).
    pub fn all_ok(&self) -> bool {
        self.cells.iter().all(|c| {
            c.error().is_none()
                && c.reproducible != Some(false)
                && !c.run.as_ref().is_some_and(RunResult::failed)
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::matrix::Variant;
    use pegate_facts::{GoArch, GoOs};

    fn cell() -> Cell {
        Cell {
            go_version: "go1.27.3".to_owned(),
            goos: GoOs::Windows,
            goarch: GoArch::Amd64,
            variant: Variant::Console,
        }
    }

    /// The line that names the cell says the cause once: not the cell again, nor go's first
    /// line of standard error, which the whole standard error printed below it holds; the
    /// one-line message keeps both. An error read back from JSON has only its message.
    #[test]
    fn a_cell_error_keeps_its_cause_apart_from_the_cell_and_go_s_output() {
        let go_said =
            "example.com/hello: copying a.out.exe: write hello.exe: no space left on device";
        let built = CellError::go_build_failed(
            &cell(),
            "exit status: 1",
            format!("# example.com/hello\n{go_said}\n"),
            vec!["go".to_owned()],
        );
        assert_eq!(built.cause(), "go build failed (exit status: 1)");
        assert_eq!(
            built.message,
            format!(
                "cell go1.27.3-windows-amd64-console: go build failed (exit status: 1): {go_said}"
            )
        );
        assert_eq!(built.kind, CellErrorKind::BuildFailed);
        assert_eq!(built.command, ["go"]);
        // Without standard error to print below, the cause is the whole of it.
        let no_go = CellError::new(
            CellErrorKind::BuildFailed,
            &cell(),
            "could not run go: No such file".to_owned(),
        );
        assert_eq!(no_go.cause(), "could not run go: No such file");
        assert_eq!(
            no_go.message,
            "cell go1.27.3-windows-amd64-console: could not run go: No such file"
        );
        // Read back from JSON, the message is all there is, and is shown as it is.
        let read: CellError = serde_json::from_str(
            r#"{"kind":"unknown-target","message":"go1.22.0 is not installed","stderr":"","command":[]}"#,
        )
        .unwrap();
        assert_eq!(read.cause(), "go1.22.0 is not installed");
    }

    fn result(outcome: CellOutcome) -> CellResult {
        CellResult {
            cell: cell(),
            outcome,
            reproducible: None,
            elapsed_ms: 7,
            run: None,
        }
    }

    #[test]
    fn a_cell_result_keeps_the_report_shape_and_holds_exactly_one_outcome() {
        let built = result(CellOutcome::Built(Artifact {
            cell: cell(),
            path: PathBuf::from("hello.exe"),
            sha256: "ab".to_owned(),
            size: 3,
            command: vec!["go".to_owned()],
            env: vec!["GOOS=windows".to_owned()],
            go_version: "go1.27.3".to_owned(),
            c_compiler: None,
        }));
        // As read back from JSON: no separate cause.
        let failed = result(CellOutcome::Failed(CellError {
            kind: CellErrorKind::UnknownTarget,
            message: "no".to_owned(),
            stderr: String::new(),
            command: Vec::new(),
            cause: String::new(),
        }));
        let cell_json = r#""cell":{"go_version":"go1.27.3","goos":"windows","goarch":"amd64","variant":"console"}"#;
        // (result, its JSON: report.json's field order, the missing outcome as null)
        let cases = [
            (
                &built,
                format!(
                    r#"{{{cell_json},"artifact":{{{cell_json},"path":"hello.exe","sha256":"ab","size":3,"command":["go"],"env":["GOOS=windows"],"go_version":"go1.27.3"}},"error":null,"reproducible":null,"elapsed_ms":7}}"#
                ),
            ),
            (
                &failed,
                format!(
                    r#"{{{cell_json},"artifact":null,"error":{{"kind":"unknown-target","message":"no","stderr":"","command":[]}},"reproducible":null,"elapsed_ms":7}}"#
                ),
            ),
        ];
        for (result, json) in &cases {
            assert_eq!(&serde_json::to_string(result).unwrap(), json);
            assert_eq!(&serde_json::from_str::<CellResult>(json).unwrap(), *result);
        }
        // A report cell with both or neither is refused, not half-read.
        let both = cases_json_with(
            &cases[0].1,
            r#""error":{"kind":"io","message":"x","stderr":"","command":[]}"#,
        );
        let neither = cases[1].1.replace(
            r#""error":{"kind":"unknown-target","message":"no","stderr":"","command":[]}"#,
            r#""error":null"#,
        );
        for (json, why) in [(both, "both an artifact"), (neither, "neither an artifact")] {
            let err = serde_json::from_str::<CellResult>(&json).unwrap_err();
            assert!(err.to_string().contains(why), "{err}");
        }
    }

    fn cases_json_with(json: &str, error: &str) -> String {
        json.replace(r#""error":null"#, error)
    }
}
