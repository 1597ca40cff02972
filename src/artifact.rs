//! One artifact's whole inspection: PE summary, signature verdict, Go build info and the
//! cross-checks between them, as one serialisable record (what `pegate inspect` prints and what
//! `pegate gate` judges).
//!
//! ```no_run
//! use pegate::artifact::{self, Options};
//!
//! let report = artifact::inspect("dist/hello.exe".as_ref(), &Options::default());
//! println!("{}", serde_json::to_string(&report.to_json()).unwrap());
//! let facts = report.facts(); // feed to pegate::policy::Policy::evaluate
//! # let _ = facts;
//! ```

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use pegate_authenticode::{SignatureReport, TrustStore, VerifyOptions};
use pegate_go::buildinfo::BuildInfo;
use pegate_go::crosscheck::{self, Finding};
use pegate_pe::PeSummary;
use pegate_policy::ArtifactFacts;
use rayon::prelude::*;
use serde::Serialize;
use serde_json::{Value, json};

/// What to inspect beyond the headers.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Skip the signature check (and its one pass over the whole file).
    pub skip_signature: bool,
    /// Skip the Go build info.
    pub skip_go: bool,
    /// Roots the signature chains are judged against.
    pub trust: Option<TrustStore>,
}

/// Why an artifact could not be inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailureKind {
    /// The file could not be read (missing, vanished, permission denied).
    Io,
    /// The bytes are not a PE file at all (no `MZ`/`PE\0\0`).
    NotPe,
    /// A PE file too damaged to summarise.
    Malformed,
}

/// Everything pegate knows about one artifact.
#[derive(Debug, Clone, Serialize)]
pub struct ArtifactReport {
    /// The path as given or found.
    pub path: PathBuf,
    /// Why the file could not be inspected, if so.
    pub error: Option<String>,
    /// The kind of that failure.
    pub failure: Option<FailureKind>,
    /// The PE summary.
    pub pe: Option<PeSummary>,
    /// One line in the spirit of `file`.
    pub description: Option<String>,
    /// The Authenticode verdict and every signature.
    pub signature: Option<SignatureReport>,
    /// Go build info, when the file is a Go binary.
    pub go: Option<BuildInfo>,
    /// Agreement between the build info and the headers.
    pub crosscheck: Vec<Finding>,
}

impl ArtifactReport {
    fn failed(path: &Path, kind: FailureKind, message: String) -> ArtifactReport {
        ArtifactReport {
            path: path.to_path_buf(),
            error: Some(message),
            failure: Some(kind),
            pe: None,
            description: None,
            signature: None,
            go: None,
            crosscheck: Vec::new(),
        }
    }

    /// The flat JSON object of `pegate inspect --format json` (see `schema/inspect.schema.json`).
    pub fn to_json(&self) -> Value {
        let pe = self
            .pe
            .as_ref()
            .and_then(|s| serde_json::to_value(s).ok())
            .unwrap_or(Value::Null);
        let field = |name: &str| pe.get(name).cloned().unwrap_or(Value::Null);
        let mut obj = json!({
            "path": self.path.display().to_string(),
            "error": self.error,
            "format": field("format"),
            "machine": field("machine"),
            "hybrid": field("hybrid"),
            "subsystem": field("subsystem"),
            "characteristics": field("characteristics"),
            "dll_characteristics": field("dll_characteristics"),
            "sections": field("sections"),
            "security_directory": field("security_directory"),
            "checksum": field("checksum"),
            "signature": self.signature,
            "go": self.go,
            "crosscheck": self.crosscheck,
            "description": self.description,
        });
        if let (Value::Object(out), Value::Object(all)) = (&mut obj, &pe) {
            // The remaining summary fields (versions, alignment, directories, overlay, ...).
            for (k, v) in all {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        obj
    }

    /// The plain facts a policy judges, read from the typed reports.
    pub fn facts(&self) -> ArtifactFacts {
        let pe = self.pe.as_ref();
        let sig = self.signature.as_ref();
        let go_setting = |key: &str| {
            self.go
                .as_ref()
                .and_then(|g| g.setting(key))
                .map(str::to_owned)
        };
        ArtifactFacts {
            path: self.path.display().to_string(),
            error: self.error.clone(),
            size: pe.map(|p| p.file_size),
            sha256: sig.map(|s| s.file_sha256.clone()),
            format: pe.map(|p| p.format.to_string()),
            machine: pe.map(|p| p.machine.to_string()),
            subsystem: pe.map(|p| p.subsystem.to_string()),
            dll_characteristics: pe
                .map(|p| {
                    p.dll_characteristics
                        .names()
                        .into_iter()
                        .map(Cow::into_owned)
                        .collect()
                })
                .unwrap_or_default(),
            signature_status: sig.map(|s| s.status.as_str().to_owned()),
            signer_subjects: sig
                .map(SignatureReport::signer_subjects)
                .unwrap_or_default(),
            go_version: self.go.as_ref().map(|g| g.go_version.clone()),
            goos: go_setting("GOOS"),
            goarch: go_setting("GOARCH"),
        }
    }
}

/// Inspects one file: headers first; then, when asked, the signature (one pass over the file)
/// and the Go build info (the `.data` section only).
pub fn inspect(path: &Path, opts: &Options) -> ArtifactReport {
    let summary = match pegate_pe::inspect_path(path, &pegate_pe::InspectOptions::default()) {
        Ok(s) => s,
        Err(e) => {
            let kind = if e.is_io() {
                FailureKind::Io
            } else if e.is_not_pe() {
                FailureKind::NotPe
            } else {
                FailureKind::Malformed
            };
            return ArtifactReport::failed(path, kind, e.to_string());
        }
    };
    let mut errors: Vec<String> = Vec::new();
    let signature = if opts.skip_signature {
        None
    } else {
        let verify = VerifyOptions {
            trust: opts.trust.clone(),
        };
        match pegate_authenticode::verify_path(path, &verify) {
            Ok(report) => Some(report),
            Err(e) => {
                errors.push(format!("signature: {e}"));
                None
            }
        }
    };
    let go = if opts.skip_go {
        None
    } else {
        match pegate_go::buildinfo::read_path(path) {
            Ok(info) => info,
            Err(e) => {
                errors.push(format!("go build info: {e}"));
                None
            }
        }
    };
    let crosscheck = go
        .as_ref()
        .map(|info| crosscheck::check(&summary, info))
        .unwrap_or_default();
    let mut summary = summary;
    if let Some(sig) = &signature {
        // The signature check read the whole file: its checksum comes for free.
        summary.set_computed_checksum(sig.checksum);
    }
    ArtifactReport {
        path: path.to_path_buf(),
        error: (!errors.is_empty()).then(|| errors.join("; ")),
        failure: None,
        description: Some(pegate_pe::describe(&summary)),
        pe: Some(summary),
        signature,
        go,
        crosscheck,
    }
}

/// Inspects many files in parallel (rayon), results in input order.
pub fn inspect_all(paths: &[PathBuf], opts: &Options) -> Vec<ArtifactReport> {
    paths.par_iter().map(|p| inspect(p, opts)).collect()
}
