//! `pegate._pegate`: the extension module behind the `pegate` Python package (see
//! `pegate/__init__.py` and the stubs beside it).
//!
//! Every function returns what the CLI prints as JSON, as Python objects: the records are
//! serialised by the same `Serialize` impls the CLI writes with ([`ArtifactReport::brief`],
//! [`ArtifactReport::record`], the signature report, the build info), through `pythonize`, so
//! field names and nesting cannot drift from `schema/inspect.schema.json`. The work runs with
//! the GIL released; batches run on rayon.
//!
//! ```python
//! import pegate
//! print(pegate.inspect("dist/hello.exe")["signature"]["status"])
//! ```

// PyO3's macros expand to the FFI glue (unsafe impls, extern "C" trampolines) at the call site;
// this crate writes no unsafe code of its own.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};

use pegate::artifact::{self, ArtifactReport, FailureKind, Options};
use pegate::authenticode::{TrustStore, VerifyOptions};
use pegate::policy::{self, Policy};
use pegate::sbom::{self as boms, Subject};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyList};
use rayon::prelude::*;

create_exception!(
    pegate,
    PegateError,
    PyException,
    "The base of every error pegate raises."
);
create_exception!(
    pegate,
    PeError,
    PegateError,
    "A file could not be inspected: unreadable, not a PE file, or too damaged to summarise."
);
create_exception!(
    pegate,
    PeIoError,
    PeError,
    "The file could not be read (missing, vanished, permission denied)."
);
create_exception!(
    pegate,
    NotPeError,
    PeError,
    "The bytes are not a PE file at all (no MZ or PE signature)."
);
create_exception!(
    pegate,
    MalformedPeError,
    PeError,
    "A PE file too damaged to summarise."
);
create_exception!(
    pegate,
    PolicyError,
    PegateError,
    "The policy, or the checksums file it names, could not be read."
);
create_exception!(
    pegate,
    TrustError,
    PegateError,
    "The trust bundle (PEM) could not be loaded."
);

/// What to inspect: a path (str or os.PathLike) or bytes held in memory.
enum Source<'py> {
    Path(PathBuf),
    Bytes(&'py [u8]),
    Owned(Vec<u8>),
}

impl<'py> Source<'py> {
    fn extract(obj: &'py Bound<'py, PyAny>) -> PyResult<Source<'py>> {
        if let Ok(b) = obj.cast::<PyBytes>() {
            return Ok(Source::Bytes(b.as_bytes()));
        }
        if let Ok(b) = obj.cast::<PyByteArray>() {
            return Ok(Source::Owned(b.to_vec()));
        }
        obj.extract::<PathBuf>().map(Source::Path).map_err(|_| {
            PyTypeError::new_err(format!(
                "expected a path (str or os.PathLike) or bytes, got {}",
                obj.get_type()
                    .name()
                    .map_or_else(|_| "?".to_owned(), |n| n.to_string())
            ))
        })
    }

    /// The file's report: a path inspected where it is, bytes under `name` (`<bytes>` when none
    /// is given).
    fn inspect(&self, name: Option<&Path>, opts: &Options) -> ArtifactReport {
        match (self, self.bytes()) {
            (Source::Path(p), _) => artifact::inspect(p, opts),
            (_, Some(data)) => {
                artifact::inspect_bytes(name.unwrap_or(Path::new("<bytes>")), data, opts)
            }
            (_, None) => artifact::inspect(Path::new(""), opts),
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        match self {
            Source::Path(_) => None,
            Source::Bytes(b) => Some(b),
            Source::Owned(b) => Some(b),
        }
    }
}

/// The report's JSON object: the CLI's default line, or its `--full` one.
fn to_python<'py>(
    py: Python<'py>,
    report: &ArtifactReport,
    full: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let value = if full {
        pythonize::pythonize(py, &report.record())
    } else {
        pythonize::pythonize(py, &report.brief())
    };
    value.map_err(|e| PegateError::new_err(format!("{}: {e}", report.path.display())))
}

/// The exception for a report that has no inspection, with the CLI's message.
fn failure_error(report: &ArtifactReport) -> Option<PyErr> {
    let failure = report.failure()?;
    let message = failure.message.clone();
    Some(match failure.kind {
        FailureKind::Io => PeIoError::new_err(message),
        FailureKind::NotPe => NotPeError::new_err(message),
        _ => MalformedPeError::new_err(message),
    })
}

/// The CA bundle at `path`, with the CLI's message when it cannot be loaded.
fn trust_store(path: Option<&Path>) -> PyResult<Option<TrustStore>> {
    path.map(|ca| {
        TrustStore::from_pem_file(ca).map_err(|e| {
            TrustError::new_err(format!("load the trust bundle {}: {e}", ca.display()))
        })
    })
    .transpose()
}

#[allow(clippy::fn_params_excessive_bools)]
fn options(
    signature: bool,
    buildinfo: bool,
    full: bool,
    sha256: bool,
    checksum: bool,
    imports: bool,
    trust: Option<&Path>,
) -> PyResult<Options> {
    Ok(Options::default()
        .with_trust(trust_store(trust)?)
        .with_skip_signature(!signature)
        .with_skip_go(!buildinfo)
        .with_sha256(sha256)
        .with_checksum(checksum)
        .with_imports(imports)
        // As the CLI: only `--full` shows sections, so only it reads the string table; and the
        // summary object looks for Go build info only where Go's linkers put it, `--full` in
        // the whole data section as `go version -m` does.
        .with_skip_section_names(!full)
        .with_bounded_go_search(!full))
}

/// Inspects one file (a path, or bytes with `name` as the report's path) and returns the object
/// `pegate inspect --format jsonl` prints for it (`full=True`: `--full`'s; `imports=True`:
/// `--imports`', with the import and delay-import tables). Raises a `PeError` subclass, with
/// the CLI's message, when the file cannot be inspected at all.
#[pyfunction]
#[pyo3(signature = (source, *, signature=true, buildinfo=true, imports=false, full=false, sha256=false, checksum=false, trust=None, name=None))]
#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
fn inspect<'py>(
    py: Python<'py>,
    source: &'py Bound<'py, PyAny>,
    signature: bool,
    buildinfo: bool,
    imports: bool,
    full: bool,
    sha256: bool,
    checksum: bool,
    trust: Option<PathBuf>,
    name: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let source = Source::extract(source)?;
    let opts = options(
        signature,
        buildinfo,
        full,
        sha256,
        checksum,
        imports,
        trust.as_deref(),
    )?;
    let report = py.detach(|| source.inspect(name.as_deref(), &opts));
    if let Some(e) = failure_error(&report) {
        return Err(e);
    }
    to_python(py, &report, full)
}

/// Inspects many files in parallel with the GIL released: one object per path, in input order,
/// a file that cannot be inspected given as its object with `error` set (as the CLI prints it).
#[pyfunction]
#[pyo3(signature = (paths, *, threads=None, signature=true, buildinfo=true, imports=false, full=false, sha256=false, checksum=false, trust=None))]
#[allow(clippy::too_many_arguments, clippy::fn_params_excessive_bools)]
fn inspect_many<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    threads: Option<usize>,
    signature: bool,
    buildinfo: bool,
    imports: bool,
    full: bool,
    sha256: bool,
    checksum: bool,
    trust: Option<PathBuf>,
) -> PyResult<Bound<'py, PyList>> {
    let opts = options(
        signature,
        buildinfo,
        full,
        sha256,
        checksum,
        imports,
        trust.as_deref(),
    )?;
    let reports = py.detach(|| -> PyResult<Vec<ArtifactReport>> {
        let run = || artifact::inspect_all(&paths, &opts);
        match threads {
            None => Ok(run()),
            Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(|pool| pool.install(run))
                .map_err(|e| PegateError::new_err(format!("start {n} threads: {e}"))),
        }
    })?;
    let items = reports
        .iter()
        .map(|r| to_python(py, r, full))
        .collect::<PyResult<Vec<_>>>()?;
    PyList::new(py, items)
}

/// For `pegate.spark`, not part of the API: inspects a batch of files the way the scan asks
/// (`pegate inspect --full --sha256`), in parallel with the GIL released, and returns one list
/// per entry of `pointers`: for each file, the value at that JSON pointer of its object (`None`
/// where there is none), or with `counted` the length of the array there. `sources` are paths,
/// or file contents (bytes) with `names` as their paths. Only the scalars the table keeps become
/// Python objects, not a dict per file.
#[pyfunction]
#[pyo3(signature = (sources, pointers, counted, *, names=None))]
fn _scan_columns<'py>(
    py: Python<'py>,
    sources: Vec<Bound<'py, PyAny>>,
    pointers: Vec<String>,
    counted: Vec<bool>,
    names: Option<Vec<PathBuf>>,
) -> PyResult<Vec<Bound<'py, PyList>>> {
    if counted.len() != pointers.len() {
        return Err(PyValueError::new_err(
            "pointers and counted differ in length",
        ));
    }
    let sources = sources
        .iter()
        .map(Source::extract)
        .collect::<PyResult<Vec<_>>>()?;
    if names.as_ref().is_some_and(|n| n.len() != sources.len()) {
        return Err(PyValueError::new_err("names and sources differ in length"));
    }
    let opts = options(true, true, true, true, false, false, None)?;
    let fields = py.detach(|| {
        sources
            .par_iter()
            .enumerate()
            .map(|(i, source)| {
                let name = names.as_ref().and_then(|n| n.get(i));
                let report = source.inspect(name.map(PathBuf::as_path), &opts);
                let value = serde_json::to_value(report.record()).unwrap_or_default();
                pointers
                    .iter()
                    .zip(&counted)
                    .map(|(pointer, &counted)| match value.pointer(pointer) {
                        Some(serde_json::Value::Array(items)) if counted => {
                            serde_json::Value::from(items.len())
                        }
                        _ if counted => serde_json::Value::Null,
                        Some(v) => v.clone(),
                        None => serde_json::Value::Null,
                    })
                    .collect::<Vec<_>>()
            })
            .collect::<Vec<_>>()
    });
    (0..pointers.len())
        .map(|column| {
            let values = fields
                .iter()
                .map(|row| {
                    let value = row.get(column).unwrap_or(&serde_json::Value::Null);
                    pythonize::pythonize(py, value).map_err(|e| PegateError::new_err(e.to_string()))
                })
                .collect::<PyResult<Vec<_>>>()?;
            PyList::new(py, values)
        })
        .collect()
}

/// The Authenticode verdict and every signature of a file (a path or bytes): the `signature`
/// object of `pegate inspect --full`.
#[pyfunction]
#[pyo3(signature = (source, *, trust=None, sha256=false))]
fn verify<'py>(
    py: Python<'py>,
    source: &'py Bound<'py, PyAny>,
    trust: Option<PathBuf>,
    sha256: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let source = Source::extract(source)?;
    let opts = VerifyOptions::default().with_file_sha256(sha256);
    let opts = match trust_store(trust.as_deref())? {
        Some(t) => opts.with_trust(t),
        None => opts,
    };
    let report = py.detach(|| match (&source, source.bytes()) {
        (Source::Path(p), _) => {
            pegate::authenticode::verify_path(p, &opts).map_err(|e| e.to_string())
        }
        (_, Some(data)) => Ok(pegate::authenticode::verify_bytes(data, &opts)),
        (_, None) => Err(String::new()),
    });
    match report {
        Ok(r) => pythonize::pythonize(py, &r).map_err(|e| PegateError::new_err(e.to_string())),
        // verify_path fails only when the file cannot be opened or holds no PE headers.
        Err(message) => match &source {
            Source::Path(p) if !p.is_file() => Err(PeIoError::new_err(message)),
            _ => Err(NotPeError::new_err(message)),
        },
    }
}

/// The Go build info of a file (a path or bytes): the `go` object of `pegate inspect --full`,
/// or None when the file is not a Go binary.
#[pyfunction]
fn buildinfo<'py>(py: Python<'py>, source: &'py Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let source = Source::extract(source)?;
    let opts = Options::default()
        .with_skip_signature(true)
        .with_skip_section_names(true);
    let report = py.detach(|| source.inspect(None, &opts));
    if let Some(e) = failure_error(&report) {
        return Err(e);
    }
    let Some(inspection) = report.inspection() else {
        return Ok(py.None().into_bound(py));
    };
    if let (None, Some(error)) = (&inspection.go, &inspection.error) {
        return Err(MalformedPeError::new_err(error.clone()));
    }
    pythonize::pythonize(py, &inspection.go).map_err(|e| PegateError::new_err(e.to_string()))
}

/// The files to judge: files as given, and every PE file below the directories given (sorted),
/// as `pegate gate` walks them; a path that cannot be read raises.
fn expand(paths: &[PathBuf]) -> PyResult<Vec<(PathBuf, bool)>> {
    let mut files = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path)
            .map_err(|e| PeIoError::new_err(format!("{}: cannot read: {e}", path.display())))?;
        if !meta.is_dir() {
            files.push((path.clone(), true));
            continue;
        }
        for entry in walkdir::WalkDir::new(path)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| {
                PeIoError::new_err(format!("{}: {e}", e.path().unwrap_or(path).display()))
            })?;
            if entry.file_type().is_file() {
                files.push((entry.into_path(), false));
            }
        }
    }
    Ok(files)
}

/// Judges artifacts (files or directories) against a policy file and returns the report
/// `pegate gate --format json` prints. `now`: gate time as the CLI's `--now` takes it.
#[pyfunction]
#[pyo3(signature = (paths, policy, *, now=None))]
fn gate<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    policy: PathBuf,
    now: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let text = std::fs::read_to_string(&policy)
        .map_err(|e| PolicyError::new_err(format!("read the policy {}: {e}", policy.display())))?;
    let parsed = Policy::from_toml(&text)
        .map_err(|e| PolicyError::new_err(format!("{}: {e}", policy.display())))?;
    if paths.is_empty() {
        return Err(PyValueError::new_err(
            "no artifacts given: pass files or directories",
        ));
    }
    let trust = parsed
        .file
        .trust
        .as_deref()
        .map(|t| pegate::gate::beside(&policy, t));
    let opts = pegate::gate::inspect_options(
        &parsed,
        Options::default().with_trust(trust_store(trust.as_deref())?),
        false,
    );
    let checksums = match parsed.file.checksums.as_deref() {
        None => None,
        Some(c) => {
            let path = pegate::gate::beside(&policy, c);
            let text = std::fs::read_to_string(&path).map_err(|e| {
                PolicyError::new_err(format!(
                    "read the checksums file {} named by the policy: {e}",
                    path.display()
                ))
            })?;
            Some(
                policy::parse_checksums(&text)
                    .map_err(|e| PolicyError::new_err(format!("{}: {e}", path.display())))?,
            )
        }
    };
    let now = time(now.as_deref())?;
    let files = expand(&paths)?;
    let doc = py.detach(|| {
        let reports: Vec<ArtifactReport> = files
            .par_iter()
            .map(|(p, explicit)| (artifact::inspect(p, &opts), *explicit))
            .filter(|(r, explicit)| {
                *explicit || r.failure().map(|f| f.kind) != Some(FailureKind::NotPe)
            })
            .map(|(r, _)| r)
            .collect();
        let facts: Vec<_> = reports
            .iter()
            .map(|r| pegate::gate::facts(r, checksums.as_ref()))
            .collect();
        policy::render::json(&parsed.evaluate_with(
            &facts,
            checksums.as_ref(),
            &pegate::gate::context(now),
        ))
    });
    let value: serde_json::Value = serde_json::from_str(&doc)
        .map_err(|e| PegateError::new_err(format!("the gate report: {e}")))?;
    pythonize::pythonize(py, &value).map_err(|e| PegateError::new_err(e.to_string()))
}

/// The time to record, as the CLI reads `--now`/`--created`: explicit, else
/// `SOURCE_DATE_EPOCH`, else now.
fn time(explicit: Option<&str>) -> PyResult<i64> {
    if let Some(t) = explicit {
        return boms::parse_time(t).ok_or_else(|| {
            PyValueError::new_err(format!(
                "bad time `{t}`: expected 2026-12-01, 2026-12-01T10:00:00Z or Unix seconds"
            ))
        });
    }
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return epoch.trim().parse().map_err(|_| {
            PyValueError::new_err(format!("SOURCE_DATE_EPOCH `{epoch}` is not Unix seconds"))
        });
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0))
}

/// One SBOM document per file, in input order, as `pegate sbom --format FORMAT` writes them:
/// `"cyclonedx"` (CycloneDX 1.6) or `"spdx"` (SPDX 2.3). Raises a `PeError` subclass for a file
/// that cannot be inspected.
#[pyfunction]
#[pyo3(signature = (paths, format="cyclonedx", *, created=None))]
fn sbom<'py>(
    py: Python<'py>,
    paths: Vec<PathBuf>,
    format: &str,
    created: Option<String>,
) -> PyResult<Bound<'py, PyList>> {
    let format = match format {
        "cyclonedx" => boms::Format::CycloneDx,
        "spdx" => boms::Format::Spdx,
        other => {
            return Err(PyValueError::new_err(format!(
                "unknown SBOM format `{other}`: expected \"cyclonedx\" or \"spdx\""
            )));
        }
    };
    let created = time(created.as_deref())?;
    // The SBOM names the artifact by its SHA-256, which reads each file in full.
    let opts = Options::default().with_sha256(true);
    let reports = py.detach(|| artifact::inspect_all(&paths, &opts));
    let mut docs = Vec::with_capacity(reports.len());
    for r in &reports {
        if let Some(e) = failure_error(r) {
            return Err(e);
        }
        let doc = format.render(&Subject::from_report(r), created);
        docs.push(pythonize::pythonize(py, &doc).map_err(|e| PegateError::new_err(e.to_string()))?);
    }
    PyList::new(py, docs)
}

/// The JSON Schema of `pegate inspect`'s output (`schema/inspect.schema.json`).
#[pyfunction]
fn schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    pythonize::pythonize(py, &artifact::schema()).map_err(|e| PegateError::new_err(e.to_string()))
}

/// For benches/python_inspect.py, not part of the API: the mean time in nanoseconds of one
/// headers-only inspection of each path in Rust, with the options `pegate.inspect(p,
/// signature=False, buildinfo=False)` uses (`serialise`: plus the brief object written as
/// JSON), one thread, so the bench can set the binding's per-call cost against it.
#[pyfunction]
#[doc(hidden)]
fn _rust_inspect_ns(py: Python<'_>, paths: Vec<PathBuf>, serialise: bool) -> PyResult<f64> {
    let opts = options(false, false, false, false, false, false, None)?;
    Ok(py.detach(|| time_each(&paths, serialise, |p| artifact::inspect(p, &opts))))
}

/// As [`_rust_inspect_ns`], for files held in memory: `artifact::inspect_bytes`, which
/// `pegate.inspect(data, signature=False, buildinfo=False)` calls (the bytes are copied out of
/// Python before the clock starts).
#[pyfunction]
#[doc(hidden)]
fn _rust_inspect_bytes_ns(py: Python<'_>, files: Vec<Vec<u8>>, serialise: bool) -> PyResult<f64> {
    let opts = options(false, false, false, false, false, false, None)?;
    let name = PathBuf::from("<bytes>");
    Ok(py.detach(|| {
        time_each(&files, serialise, |data| {
            artifact::inspect_bytes(&name, data, &opts)
        })
    }))
}

/// For benches/python_inspect.py, not part of the API: the mean nanoseconds of turning each
/// path's brief object (headers only, inspected before the clock starts) into Python objects,
/// the conversion `pegate.inspect` ends with, so the bench can say how much of the binding's
/// per-call cost it is.
#[pyfunction]
#[doc(hidden)]
fn _rust_convert_ns(py: Python<'_>, paths: Vec<PathBuf>) -> PyResult<f64> {
    let opts = options(false, false, false, false, false, false, None)?;
    let reports: Vec<ArtifactReport> = paths.iter().map(|p| artifact::inspect(p, &opts)).collect();
    let start = std::time::Instant::now();
    for report in &reports {
        std::hint::black_box(to_python(py, report, false)?);
    }
    #[allow(clippy::cast_precision_loss)]
    let n = reports.len().max(1) as f64;
    Ok(start.elapsed().as_secs_f64() * 1e9 / n)
}

/// The mean nanoseconds of `inspect` (and, with `serialise`, its brief object's JSON) per item.
fn time_each<T>(items: &[T], serialise: bool, inspect: impl Fn(&T) -> ArtifactReport) -> f64 {
    let start = std::time::Instant::now();
    let mut bytes = 0usize;
    for item in items {
        let report = std::hint::black_box(inspect(item));
        if serialise {
            bytes = bytes.wrapping_add(serde_json::to_vec(&report.brief()).map_or(0, |v| v.len()));
        }
    }
    std::hint::black_box(bytes);
    #[allow(clippy::cast_precision_loss)]
    let n = items.len().max(1) as f64;
    start.elapsed().as_secs_f64() * 1e9 / n
}

/// The extension module.
#[pymodule]
fn _pegate(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("PegateError", py.get_type::<PegateError>())?;
    m.add("PeError", py.get_type::<PeError>())?;
    m.add("PeIoError", py.get_type::<PeIoError>())?;
    m.add("NotPeError", py.get_type::<NotPeError>())?;
    m.add("MalformedPeError", py.get_type::<MalformedPeError>())?;
    m.add("PolicyError", py.get_type::<PolicyError>())?;
    m.add("TrustError", py.get_type::<TrustError>())?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(inspect_many, m)?)?;
    m.add_function(wrap_pyfunction!(verify, m)?)?;
    m.add_function(wrap_pyfunction!(buildinfo, m)?)?;
    m.add_function(wrap_pyfunction!(gate, m)?)?;
    m.add_function(wrap_pyfunction!(sbom, m)?)?;
    m.add_function(wrap_pyfunction!(schema, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_inspect_ns, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_inspect_bytes_ns, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_convert_ns, m)?)?;
    m.add_function(wrap_pyfunction!(_scan_columns, m)?)?;
    Ok(())
}
