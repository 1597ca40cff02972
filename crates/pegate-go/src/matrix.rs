//! The Windows build matrix: one cell per (Go version, GOOS/GOARCH, variant), built in parallel.
//!
//! Every cell builds with `go build -trimpath -buildvcs=false` and `CGO_ENABLED=0` (with
//! [`MatrixSpec::cgo`]: `CGO_ENABLED=1` and the C cross compiler [`crate::cgo`] picks for the
//! cell's target in that cell's environment, the C runtime linked statically) in its
//! own temporary directory inside the output directory, sharing one GOCACHE under pegate's cache;
//! the finished artifact is then renamed into place, so a failed cell leaves no file behind.
//! Targets are checked against the toolchain's `go tool dist list -json` first: a port the
//! toolchain does not have (windows/arm since Go 1.26) fails its cells with a clear message
//! instead of a compiler error, and the other cells still build. `go` gets its arguments as a
//! vector, never through a shell. With [`MatrixSpec::run`] set, each built artifact is then run
//! when the host can (natively, or under Wine; see [`crate::run`]) and its exit code and output
//! recorded in the cell's result.
//!
//! ```no_run
//! use pegate_go::{matrix::{self, MatrixSpec}, toolchain};
//! # fn main() -> Result<(), pegate_go::Error> {
//! let cache = std::path::Path::new("target/pegate-go");
//! let tc = toolchain::provision(toolchain::DEFAULT_GO_VERSION, cache)?;
//! let spec = MatrixSpec::reference("fixtures/hello", "target/matrix", cache);
//! let report = matrix::build(&tc, &spec, &|_event| {})?;
//! for artifact in report.artifacts() {
//!     println!("{} {} {}", artifact.cell.name(), artifact.sha256, artifact.path.display());
//! }
//! # Ok(()) }
//! ```

mod report;
mod spec;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use pegate_facts::GoArch;
use rayon::prelude::*;

pub use report::{
    Artifact, CellError, CellErrorKind, CellEvent, CellOutcome, CellResult, MatrixReport,
};
pub use spec::{Cell, MatrixSpec, REFERENCE_GOARCHES, Target, Variant, reference_targets};

use crate::cgo::{self, CCompiler};
use crate::error::{Error, Result};
use crate::run;
use crate::toolchain::{Toolchain, WindowsArm, sha256_file, tail, windows_arm};

/// Builds every cell of `spec` with `tc`, in parallel; `Err` only when nothing can be built
/// (missing source, unusable output directory, `go tool dist list` failing, empty matrix).
pub fn build(
    tc: &Toolchain,
    spec: &MatrixSpec,
    progress: &(dyn Fn(&CellEvent<'_>) + Sync),
) -> Result<MatrixReport> {
    build_then(tc, spec, progress, &|_| {})
}

/// [`build`], with `after` called on each cell's result as soon as that cell is finished, on
/// the thread that built it and before its [`CellEvent::Finished`]: the place to sign each
/// artifact while the other cells still build (`pegate build --sign`). `after` may change the
/// result (the signed file's SHA-256 and size, or a failure of kind [`CellErrorKind::Sign`]).
pub fn build_then(
    tc: &Toolchain,
    spec: &MatrixSpec,
    progress: &(dyn Fn(&CellEvent<'_>) + Sync),
    after: &(dyn Fn(&mut CellResult) + Sync),
) -> Result<MatrixReport> {
    let started = Instant::now();
    let source_dir = check_source(&spec.source_dir)?;
    if spec.targets.is_empty() || spec.variants.is_empty() {
        return Err(Error::InvalidMatrix {
            reason: "no targets or no variants".to_owned(),
        });
    }
    fs::create_dir_all(&spec.out_dir)
        .map_err(|e| Error::io("create directory", &spec.out_dir, e))?;
    let out_dir =
        fs::canonicalize(&spec.out_dir).map_err(|e| Error::io("resolve", &spec.out_dir, e))?;
    let ports = tc.dist_list()?;
    let cells = spec.cells(tc);
    let compilers = c_compilers(spec);

    let run = || {
        cells
            .par_iter()
            .map(|cell| {
                progress(&CellEvent::Started { cell });
                let cc = compilers.get(&cell.target());
                let mut result = build_cell(tc, spec, &source_dir, &out_dir, &ports, cell, cc);
                after(&mut result);
                progress(&CellEvent::Finished { result: &result });
                result
            })
            .collect::<Vec<_>>()
    };
    let results = match spec.jobs {
        Some(jobs) => rayon::ThreadPoolBuilder::new()
            .num_threads(jobs.max(1))
            .build()
            .map_err(|e| Error::InvalidMatrix {
                reason: format!("cannot start {jobs} build threads: {e}"),
            })?
            .install(run),
        None => run(),
    };
    Ok(MatrixReport {
        go_version: tc.version.clone(),
        cells: results,
        elapsed_ms: millis(started),
    })
}

/// Each target's C compiler for a cgo matrix (none without cgo); Zig is provisioned at most once.
fn c_compilers(spec: &MatrixSpec) -> std::collections::BTreeMap<Target, Result<CCompiler, String>> {
    if !spec.cgo {
        return std::collections::BTreeMap::new();
    }
    let zig = std::sync::OnceLock::new();
    let provide = || {
        zig.get_or_init(|| cgo::provide_zig(&spec.cache, &spec.cgo_options.python))
            .clone()
    };
    spec.targets
        .iter()
        .map(|t| (*t, cgo::choose(t, &spec.cgo_options, &spec.cache, &provide)))
        .collect()
}

fn millis(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// The source directory, absolute, if it exists and holds a `.go` file.
fn check_source(dir: &Path) -> Result<PathBuf> {
    let missing = || Error::MissingSource {
        path: dir.to_path_buf(),
    };
    let entries = fs::read_dir(dir).map_err(|_| missing())?;
    let has_go = entries
        .filter_map(|e| e.ok())
        .any(|e| e.path().extension().is_some_and(|x| x == "go") && e.path().is_file());
    if !has_go {
        return Err(missing());
    }
    fs::canonicalize(dir).map_err(|e| Error::io("resolve", dir, e))
}

/// Explains why the toolchain cannot build `target` (it is not in `go tool dist list`).
fn unknown_target_cause(tc: &Toolchain, target: &Target) -> String {
    let removed_arm = *target == Target::windows(GoArch::Arm)
        && tc.go_version().as_ref().and_then(windows_arm) == Some(WindowsArm::Removed);
    if removed_arm {
        format!(
            "windows/arm was removed in Go 1.26 (golang/go#71671), so {} cannot build it; \
             drop windows/arm from the matrix or use Go 1.25 or older (where it is already marked broken)",
            tc.version
        )
    } else {
        format!(
            "{target} is not a port of {} (not in `go tool dist list`; removed, broken or misspelled)",
            tc.version
        )
    }
}

fn build_cell(
    tc: &Toolchain,
    spec: &MatrixSpec,
    source_dir: &Path,
    out_dir: &Path,
    ports: &[crate::toolchain::Port],
    cell: &Cell,
    cc: Option<&Result<CCompiler, String>>,
) -> CellResult {
    let started = Instant::now();
    let target = cell.target();
    let finish = |outcome: CellOutcome, reproducible| {
        // Only a built artifact is run; the run's time is part of the cell's.
        let run = match &outcome {
            CellOutcome::Built(a) => spec
                .run
                .as_ref()
                .map(|opts| run::run_target(&a.path, &target, opts)),
            CellOutcome::Failed(_) => None,
        };
        CellResult {
            cell: cell.clone(),
            outcome,
            reproducible,
            elapsed_ms: millis(started),
            run,
        }
    };
    let cc = match prerequisites(tc, ports, cell, &target, cc) {
        Ok(cc) => cc,
        Err(error) => return finish(CellOutcome::Failed(error), None),
    };
    let exe_name = format!("{}-{}.exe", spec.binary_name, cell.name());
    let final_path = out_dir.join(&exe_name);
    match build_once(tc, spec, source_dir, out_dir, cell, &exe_name, cc) {
        Ok((staged, _tmp)) => {
            let collected = collect(&staged, &final_path, cell);
            let (sha256, size) = match collected {
                Ok(v) => v,
                Err(error) => return finish(CellOutcome::Failed(error), None),
            };
            let reproducible = spec.reproducibility.then(|| {
                reproduce(tc, spec, source_dir, out_dir, cell, &exe_name, cc)
                    .is_ok_and(|other| other == sha256)
            });
            let artifact = artifact(tc, spec, cell, cc, final_path, sha256, size);
            finish(CellOutcome::Built(artifact), reproducible)
        }
        Err(error) => finish(CellOutcome::Failed(error), None),
    }
}

/// What a cell needs before go runs: a target this Go can build, and for a cgo cell its C
/// compiler. The error is the cell's failure.
fn prerequisites<'a>(
    tc: &Toolchain,
    ports: &[crate::toolchain::Port],
    cell: &Cell,
    target: &Target,
    cc: Option<&'a Result<CCompiler, String>>,
) -> Result<Option<&'a CCompiler>, CellError> {
    if !ports
        .iter()
        .any(|p| p.goos == target.goos.as_str() && p.goarch == target.goarch.as_str())
    {
        return Err(CellError::new(
            CellErrorKind::UnknownTarget,
            cell,
            unknown_target_cause(tc, target),
        ));
    }
    match cc {
        Some(Ok(cc)) => Ok(Some(cc)),
        Some(Err(why)) => Err(CellError::new(
            CellErrorKind::NoCCompiler,
            cell,
            why.clone(),
        )),
        None => Ok(None),
    }
}

/// The record of a built cell: the command and the environment that built it (GOOS, GOARCH,
/// CGO_ENABLED and a cgo cell's CC and CXX), where it is, its SHA-256 and size.
fn artifact(
    tc: &Toolchain,
    spec: &MatrixSpec,
    cell: &Cell,
    cc: Option<&CCompiler>,
    path: PathBuf,
    sha256: String,
    size: u64,
) -> Artifact {
    Artifact {
        cell: cell.clone(),
        command: std::iter::once(tc.go.display().to_string())
            .chain(spec.go_args(cell, &path))
            .collect(),
        env: spec
            .go_env(cell)
            .into_iter()
            .take(3)
            .chain(cc.iter().flat_map(|cc| cc.cell_env().into_iter().take(2)))
            .map(|(k, v)| format!("{k}={v}"))
            .collect(),
        path,
        sha256,
        size,
        go_version: tc.version.clone(),
        c_compiler: cc.cloned().map(Box::new),
    }
}

/// Runs `go build` for `cell` from `source_dir` into a fresh temp dir inside `work_dir`;
/// returns the built file and the temp dir guard that removes it on drop.
fn build_once(
    tc: &Toolchain,
    spec: &MatrixSpec,
    source_dir: &Path,
    work_dir: &Path,
    cell: &Cell,
    exe_name: &str,
    cc: Option<&CCompiler>,
) -> Result<(PathBuf, tempfile::TempDir), CellError> {
    let io_error = |what: String| CellError::new(CellErrorKind::Io, cell, what);
    // `.cell-<pid>-…`: a later run tells a dead run's staging directory from a live one's.
    let tmp = tempfile::Builder::new()
        .prefix(&pegate_fs::work_prefix(".cell"))
        .tempdir_in(work_dir)
        .map_err(|e| io_error(format!("create temp dir in {}: {e}", work_dir.display())))?;
    let output = tmp.path().join(exe_name);
    let mut cmd = tc.command();
    cmd.args(spec.go_args(cell, &output))
        .envs(spec.go_env(cell))
        .envs(cc.map(CCompiler::cell_env).unwrap_or_default())
        .current_dir(source_dir);
    let command = std::iter::once(tc.go.display().to_string())
        .chain(spec.go_args(cell, &output))
        .collect::<Vec<_>>();
    let out = crate::children::output(&mut cmd).map_err(|e| CellError {
        command: command.clone(),
        ..CellError::new(
            CellErrorKind::BuildFailed,
            cell,
            format!("could not run {}: {e}", tc.go.display()),
        )
    })?;
    if !out.status.success() {
        return Err(CellError::go_build_failed(
            cell,
            &out.status.to_string(),
            tail(&String::from_utf8_lossy(&out.stderr), 8000),
            command,
        ));
    }
    if !output.is_file() {
        return Err(io_error(format!(
            "go build produced no {}",
            output.display()
        )));
    }
    Ok((output, tmp))
}

fn collect(staged: &Path, final_path: &Path, cell: &Cell) -> Result<(String, u64), CellError> {
    let io_error = |e: Error| CellError::new(CellErrorKind::Io, cell, e.to_string());
    let sha256 = sha256_file(staged).map_err(io_error)?;
    let size = fs::metadata(staged)
        .map_err(|e| io_error(Error::io("stat", staged, e)))?
        .len();
    // Flushed, then renamed over the old artifact: a reader sees the old file or the new one.
    pegate_fs::publish(staged, final_path)
        .map_err(|e| CellError::new(CellErrorKind::Io, cell, e.to_string()))?;
    Ok((sha256, size))
}

/// Builds `cell` again from a copy of the source in another directory; returns the SHA-256.
fn reproduce(
    tc: &Toolchain,
    spec: &MatrixSpec,
    source_dir: &Path,
    out_dir: &Path,
    cell: &Cell,
    exe_name: &str,
    cc: Option<&CCompiler>,
) -> Result<String, CellError> {
    let io_error = |what: String| CellError {
        message: format!("cell {cell} (reproducibility build): {what}"),
        ..CellError::new(
            CellErrorKind::Io,
            cell,
            format!("reproducibility build: {what}"),
        )
    };
    let copy = tempfile::Builder::new()
        .prefix(&pegate_fs::work_prefix(".repro"))
        .tempdir_in(out_dir)
        .map_err(|e| io_error(e.to_string()))?;
    let copied_src = copy.path().join("src");
    copy_tree(source_dir, &copied_src).map_err(|e| io_error(e.to_string()))?;
    let (built, _tmp) = build_once(tc, spec, &copied_src, copy.path(), cell, exe_name, cc)?;
    sha256_file(&built).map_err(|e| io_error(e.to_string()))
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let dest = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else if kind.is_file() {
            fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}
