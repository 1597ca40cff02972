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

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::cgo::{self, CCompiler, CgoOptions};
use crate::error::{Error, Result};
use crate::run::{self, RunOptions, RunResult};
use crate::toolchain::{Toolchain, WindowsArm, sha256_file, tail, windows_arm};

/// How a cell links its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The default: a console (`WINDOWS_CUI`) program with symbols and DWARF.
    Console,
    /// `-ldflags=-H=windowsgui`: a `WINDOWS_GUI` program, no console window.
    Gui,
    /// `-ldflags=-s -w`: no symbol table, no DWARF.
    Stripped,
}

impl Variant {
    /// Every variant, in matrix order.
    pub const ALL: [Variant; 3] = [Variant::Console, Variant::Gui, Variant::Stripped];

    /// The lowercase name used in cell names and file names.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Console => "console",
            Variant::Gui => "gui",
            Variant::Stripped => "stripped",
        }
    }

    /// The `-ldflags` value this variant passes to `go build`, if any.
    pub fn ldflags(self) -> Option<&'static str> {
        match self {
            Variant::Console => None,
            Variant::Gui => Some("-H=windowsgui"),
            Variant::Stripped => Some("-s -w"),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GOOS/GOARCH pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Target {
    /// Target operating system (`windows`).
    pub goos: String,
    /// Target architecture (`amd64`).
    pub goarch: String,
}

impl Target {
    /// `windows/<goarch>`.
    pub fn windows(goarch: &str) -> Target {
        Target {
            goos: "windows".to_owned(),
            goarch: goarch.to_owned(),
        }
    }

    /// Parses `goos/goarch`.
    pub fn parse(text: &str) -> Result<Target> {
        match text.split_once('/') {
            Some((goos, goarch))
                if !goos.is_empty() && !goarch.is_empty() && !goarch.contains('/') =>
            {
                Ok(Target {
                    goos: goos.to_owned(),
                    goarch: goarch.to_owned(),
                })
            }
            _ => Err(Error::InvalidMatrix {
                reason: format!("target `{text}` is not GOOS/GOARCH (e.g. windows/amd64)"),
            }),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.goos, self.goarch)
    }
}

/// The reference targets: windows/amd64, windows/arm64 and windows/386.
pub fn reference_targets() -> Vec<Target> {
    ["amd64", "arm64", "386"]
        .into_iter()
        .map(Target::windows)
        .collect()
}

/// One build of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// The toolchain version (`go1.27.3`).
    pub go_version: String,
    /// Target operating system.
    pub goos: String,
    /// Target architecture.
    pub goarch: String,
    /// How the binary is linked.
    pub variant: Variant,
}

impl Cell {
    /// `go1.27.3-windows-amd64-console`: unique within a matrix, used for file names.
    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.go_version, self.goos, self.goarch, self.variant
        )
    }

    /// The cell's GOOS/GOARCH.
    pub fn target(&self) -> Target {
        Target {
            goos: self.goos.clone(),
            goarch: self.goarch.clone(),
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// What to build and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MatrixSpec {
    /// The Go package directory to build (holds `go.mod` and the `.go` files).
    pub source_dir: PathBuf,
    /// The artifact base name (`hello` → `hello-go1.27.3-windows-amd64-console.exe`).
    pub binary_name: String,
    /// GOOS/GOARCH pairs.
    pub targets: Vec<Target>,
    /// Variants built for every target.
    pub variants: Vec<Variant>,
    /// Where artifacts end up (created if missing).
    pub out_dir: PathBuf,
    /// pegate's cache: GOCACHE, GOPATH and GOMODCACHE live under it.
    pub cache: PathBuf,
    /// Pass `-trimpath` (default true; needed for reproducible bytes).
    pub trimpath: bool,
    /// `CGO_ENABLED=1` instead of 0, with a C cross compiler chosen per target (see [`crate::cgo`]).
    pub cgo: bool,
    /// With [`MatrixSpec::cgo`]: how each cell's C compiler is chosen and how it links.
    pub cgo_options: CgoOptions,
    /// Let Go stamp version-control info (`vcs.revision`, ...); off by default (`-buildvcs=false`)
    /// so that the bytes do not depend on the commit or on a dirty checkout.
    pub buildvcs: bool,
    /// Build every cell a second time from a copy of the source elsewhere and compare bytes.
    pub reproducibility: bool,
    /// Cells built at once (default: rayon's global pool).
    pub jobs: Option<usize>,
    /// Run every artifact this host can execute once it is built (see [`crate::run`]).
    pub run: Option<RunOptions>,
}

impl MatrixSpec {
    /// The reference matrix: windows/{amd64,arm64,386} × {console,gui,stripped}.
    pub fn reference(
        source_dir: impl Into<PathBuf>,
        out_dir: impl Into<PathBuf>,
        cache: impl Into<PathBuf>,
    ) -> MatrixSpec {
        let source_dir = source_dir.into();
        let binary_name = source_dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .unwrap_or("main")
            .to_owned();
        MatrixSpec {
            source_dir,
            binary_name,
            targets: reference_targets(),
            variants: Variant::ALL.to_vec(),
            out_dir: out_dir.into(),
            cache: cache.into(),
            trimpath: true,
            cgo: false,
            cgo_options: CgoOptions::default(),
            buildvcs: false,
            reproducibility: false,
            jobs: None,
            run: None,
        }
    }

    /// The cells of this spec for a toolchain, targets outer, variants inner.
    pub fn cells(&self, tc: &Toolchain) -> Vec<Cell> {
        self.targets
            .iter()
            .flat_map(|t| {
                self.variants.iter().map(move |&variant| Cell {
                    go_version: tc.version.clone(),
                    goos: t.goos.clone(),
                    goarch: t.goarch.clone(),
                    variant,
                })
            })
            .collect()
    }

    /// The `go` arguments that build `cell` into `output` (shared with benchmarks and docs).
    pub fn go_args(&self, cell: &Cell, output: &Path) -> Vec<String> {
        let mut args = vec!["build".to_owned()];
        if self.trimpath {
            args.push("-trimpath".to_owned());
        }
        if !self.buildvcs {
            args.push("-buildvcs=false".to_owned());
        }
        // cgo cells link externally: the C runtime linked in (no libgcc/libstdc++/winpthread
        // DLL to ship), and a GUI cell's subsystem said to the linker itself, because `zig cc`
        // drops the `-mwindows` Go passes for `-H=windowsgui` (GNU ld takes both).
        let mut extldflags = Vec::new();
        if self.cgo && self.cgo_options.static_runtime {
            extldflags.push("-static");
        }
        if self.cgo && cell.variant == Variant::Gui {
            extldflags.push("-Wl,--subsystem,windows");
        }
        let extldflags = match extldflags.as_slice() {
            [] => None,
            [one] => Some(format!("-extldflags={one}")),
            many => Some(format!("'-extldflags={}'", many.join(" "))),
        };
        let ldflags = [cell.variant.ldflags().map(str::to_owned), extldflags]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        if !ldflags.is_empty() {
            args.push(format!("-ldflags={}", ldflags.join(" ")));
        }
        args.push("-o".to_owned());
        args.push(output.display().to_string());
        args.push(".".to_owned());
        args
    }

    /// The environment a cell's `go build` gets on top of the toolchain's hermetic one.
    pub fn go_env(&self, cell: &Cell) -> Vec<(String, String)> {
        let gopath = self.cache.join("gopath");
        vec![
            ("GOOS".to_owned(), cell.goos.clone()),
            ("GOARCH".to_owned(), cell.goarch.clone()),
            (
                "CGO_ENABLED".to_owned(),
                if self.cgo { "1" } else { "0" }.to_owned(),
            ),
            (
                "GOCACHE".to_owned(),
                self.cache.join("gocache").display().to_string(),
            ),
            (
                "GOMODCACHE".to_owned(),
                gopath.join("pkg").join("mod").display().to_string(),
            ),
            ("GOPATH".to_owned(), gopath.display().to_string()),
        ]
    }
}

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
    /// Signing the built artifact failed (see [`build_then`]); the unsigned file was removed.
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
/// them `null`), so `report.json` has the same shape it always had.
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

/// The JSON shape of a [`CellResult`], field for field as the report has always had it.
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
        .map(|t| {
            (
                t.clone(),
                cgo::choose(t, &spec.cgo_options, &spec.cache, &provide),
            )
        })
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
fn unknown_target_message(tc: &Toolchain, target: &Target, cell: &Cell) -> String {
    let removed_arm = target.goos == "windows"
        && target.goarch == "arm"
        && tc.go_version().as_ref().and_then(windows_arm) == Some(WindowsArm::Removed);
    if removed_arm {
        format!(
            "cell {cell}: windows/arm was removed in Go 1.26 (golang/go#71671), so {} cannot build it; \
             drop windows/arm from the matrix or use Go 1.25 or older (where it is already marked broken)",
            tc.version
        )
    } else {
        format!(
            "cell {cell}: {target} is not a port of {} (not in `go tool dist list`; removed, broken or misspelled)",
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
    if !ports
        .iter()
        .any(|p| p.goos == target.goos && p.goarch == target.goarch)
    {
        let error = CellError {
            kind: CellErrorKind::UnknownTarget,
            message: unknown_target_message(tc, &target, cell),
            stderr: String::new(),
            command: Vec::new(),
        };
        return finish(CellOutcome::Failed(error), None);
    }
    let cc = match cc {
        Some(Ok(cc)) => Some(cc),
        Some(Err(why)) => {
            let error = CellError {
                kind: CellErrorKind::NoCCompiler,
                message: format!("cell {cell}: {why}"),
                stderr: String::new(),
                command: Vec::new(),
            };
            return finish(CellOutcome::Failed(error), None);
        }
        None => None,
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
            let artifact = Artifact {
                cell: cell.clone(),
                command: std::iter::once(tc.go.display().to_string())
                    .chain(spec.go_args(cell, &final_path))
                    .collect(),
                env: spec
                    .go_env(cell)
                    .into_iter()
                    .take(3)
                    .chain(cc.iter().flat_map(|cc| cc.cell_env().into_iter().take(2)))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect(),
                path: final_path,
                sha256,
                size,
                go_version: tc.version.clone(),
                c_compiler: cc.cloned().map(Box::new),
            };
            finish(CellOutcome::Built(artifact), reproducible)
        }
        Err(error) => finish(CellOutcome::Failed(error), None),
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
    let io_error = |what: String| CellError {
        kind: CellErrorKind::Io,
        message: format!("cell {cell}: {what}"),
        stderr: String::new(),
        command: Vec::new(),
    };
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
        kind: CellErrorKind::BuildFailed,
        message: format!("cell {cell}: could not run {}: {e}", tc.go.display()),
        stderr: String::new(),
        command: command.clone(),
    })?;
    if !out.status.success() {
        let stderr = tail(&String::from_utf8_lossy(&out.stderr), 8000);
        let first = stderr
            .lines()
            .find(|l| !l.starts_with('#'))
            .unwrap_or("")
            .to_owned();
        return Err(CellError {
            kind: CellErrorKind::BuildFailed,
            message: format!("cell {cell}: go build failed ({}): {first}", out.status),
            stderr,
            command,
        });
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
    let io_error = |e: Error| CellError {
        kind: CellErrorKind::Io,
        message: format!("cell {cell}: {e}"),
        stderr: String::new(),
        command: Vec::new(),
    };
    let sha256 = sha256_file(staged).map_err(io_error)?;
    let size = fs::metadata(staged)
        .map_err(|e| io_error(Error::io("stat", staged, e)))?
        .len();
    // Flushed, then renamed over the old artifact: a reader sees the old file or the new one.
    pegate_fs::publish(staged, final_path).map_err(|e| CellError {
        kind: CellErrorKind::Io,
        message: format!("cell {cell}: {e}"),
        stderr: String::new(),
        command: Vec::new(),
    })?;
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
        kind: CellErrorKind::Io,
        message: format!("cell {cell} (reproducibility build): {what}"),
        stderr: String::new(),
        command: Vec::new(),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn cell() -> Cell {
        Cell {
            go_version: "go1.27.3".to_owned(),
            goos: "windows".to_owned(),
            goarch: "amd64".to_owned(),
            variant: Variant::Console,
        }
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
        let failed = result(CellOutcome::Failed(CellError {
            kind: CellErrorKind::UnknownTarget,
            message: "no".to_owned(),
            stderr: String::new(),
            command: Vec::new(),
        }));
        let cell_json = r#""cell":{"go_version":"go1.27.3","goos":"windows","goarch":"amd64","variant":"console"}"#;
        // (result, its JSON: the field order and the nulls report.json has always had)
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
