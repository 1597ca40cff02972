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
//!
//! One concern per file: `inspect` (the [`Options`] and the reads that fill a report, from a file
//! on disk or from bytes in memory) and `json` (the objects `pegate inspect` prints and their
//! schema); this file holds the report itself and the facts a policy judges.

mod inspect;
mod json;

use std::path::{Path, PathBuf};

use pegate_authenticode::SignatureReport;
use pegate_gobin::buildinfo::BuildInfo;
use pegate_gobin::crosscheck::Finding;
use pegate_pe::PeSummary;
use pegate_policy::{
    ArtifactFacts, DllImport, ImportFacts, Recorded, SectionFacts, SignatureFacts, TimestampFacts,
};
use serde::Serialize;

pub use inspect::{Options, inspect, inspect_all, inspect_bytes};
pub use json::{Brief, Record, schema};

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

/// Everything pegate knows about one artifact: what inspecting it gave, or why it could not be
/// inspected.
///
/// Serialises as one flat object (`path`, `error`, `failure`, `pe`, `sha256`, `description`,
/// `signature`, `go`, `crosscheck`), the fields of a failed report `null` or empty.
#[derive(Debug, Clone)]
pub struct ArtifactReport {
    /// The path as given or found.
    pub path: PathBuf,
    /// The inspection, or why there is none.
    pub result: Result<Inspection, Failure>,
}

/// What inspecting a readable PE file gave.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// The PE summary.
    pub pe: PeSummary,
    /// SHA-256 of the whole file, hex, when [`Options::sha256`] asked for it.
    pub sha256: Option<String>,
    /// One line in the spirit of `file`.
    pub description: String,
    /// The Authenticode verdict and every signature.
    pub signature: Option<SignatureReport>,
    /// Go build info, when the file is a Go binary.
    pub go: Option<BuildInfo>,
    /// Agreement between the build info and the headers.
    pub crosscheck: Vec<Finding>,
    /// What could not be read beyond the headers (the signature's read, the Go build info),
    /// joined by `; `: the rest of the inspection stands.
    pub error: Option<String>,
}

/// Why an artifact could not be inspected at all.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// The kind of failure.
    pub kind: FailureKind,
    /// The failure in words, naming the file.
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failure {}

/// The flat object [`ArtifactReport`] serialises as.
#[derive(Serialize)]
struct Flat<'a> {
    path: &'a Path,
    error: Option<&'a str>,
    failure: Option<FailureKind>,
    pe: Option<&'a PeSummary>,
    sha256: Option<&'a str>,
    description: Option<&'a str>,
    signature: Option<&'a SignatureReport>,
    go: Option<&'a BuildInfo>,
    crosscheck: &'a [Finding],
}

impl Serialize for ArtifactReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ok = self.inspection();
        Flat {
            path: &self.path,
            error: self.error(),
            failure: self.failure().map(|f| f.kind),
            pe: self.pe(),
            sha256: ok.and_then(|i| i.sha256.as_deref()),
            description: ok.map(|i| i.description.as_str()),
            signature: ok.and_then(|i| i.signature.as_ref()),
            go: ok.and_then(|i| i.go.as_ref()),
            crosscheck: self.crosscheck(),
        }
        .serialize(s)
    }
}

impl ArtifactReport {
    pub(super) fn failed(path: &Path, kind: FailureKind, message: String) -> ArtifactReport {
        ArtifactReport {
            path: path.to_path_buf(),
            result: Err(Failure { kind, message }),
        }
    }

    /// The inspection, when the file could be inspected.
    pub fn inspection(&self) -> Option<&Inspection> {
        self.result.as_ref().ok()
    }

    /// Why the file could not be inspected, if so.
    pub fn failure(&self) -> Option<&Failure> {
        self.result.as_ref().err()
    }

    /// The PE summary, when the file could be inspected.
    pub fn pe(&self) -> Option<&PeSummary> {
        self.inspection().map(|i| &i.pe)
    }

    /// The report's `error`: why the file could not be inspected, or what of it could not be
    /// read.
    pub fn error(&self) -> Option<&str> {
        match &self.result {
            Ok(i) => i.error.as_deref(),
            Err(f) => Some(&f.message),
        }
    }

    pub(super) fn crosscheck(&self) -> &[Finding] {
        self.inspection().map_or(&[], |i| &i.crosscheck)
    }

    /// The plain facts a policy judges, read from the typed reports.
    pub fn facts(&self) -> ArtifactFacts {
        let ok = self.inspection();
        let pe = self.pe();
        let sig = ok.and_then(|i| i.signature.as_ref());
        let go = ok.and_then(|i| i.go.as_ref());
        let go_setting = |key: &str| go.and_then(|g| g.setting(key));
        ArtifactFacts {
            path: self.path.display().to_string(),
            error: self.error().map(str::to_owned),
            size: pe.map(|p| p.headers.file_size),
            sha256: ok.and_then(|i| i.sha256.clone()),
            // Filled by the gate, only for a file that does not match its checksum line.
            image_sha256: None,
            unsigned_sha256: None,
            format: pe.map(|p| p.headers.format().to_owned()),
            machine: pe.map(|p| p.headers.machine),
            subsystem: pe.map(|p| p.headers.subsystem),
            dll_characteristics: pe
                .map(|p| p.headers.dll_characteristics)
                .unwrap_or_default(),
            signature_status: sig.map(|s| s.status),
            signer_subjects: sig
                .map(SignatureReport::signer_subjects)
                .unwrap_or_default(),
            go_version: go.map(|g| Recorded::read(&g.go_version)),
            goos: go_setting("GOOS").map(Recorded::read),
            goarch: go_setting("GOARCH").map(Recorded::read),
            sections: pe
                .map(|p| {
                    p.sections
                        .iter()
                        .map(|s| SectionFacts {
                            name: s.name.to_string(),
                            characteristics: s.characteristics,
                        })
                        .collect()
                })
                .unwrap_or_default(),
            guard_flags: pe.and_then(|p| p.guard_flags),
            cet_compat: pe.and_then(|p| match p.ex_dll_characteristics {
                Some(flags) => Some(flags & pegate_pe::debug::EX_CET_COMPAT != 0),
                // Unknown only when reading the directory failed (see `inspect`).
                None if p.errors.iter().any(pegate_pe::Problem::is_debug) => None,
                None => Some(false),
            }),
            signatures: sig
                .map(|s| s.signatures.iter().map(signature_facts).collect())
                .unwrap_or_default(),
            go_settings: go
                .map(|g| {
                    g.settings
                        .iter()
                        .map(|s| (s.key.clone(), s.value.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            imports: pe.and_then(|p| p.imports.as_ref()).map(|i| ImportFacts {
                dlls: i
                    .dlls
                    .iter()
                    .map(|d| DllImport {
                        name: d.name.clone(),
                        delay: d.delay,
                    })
                    .collect(),
                errors: i.errors.iter().map(ToString::to_string).collect(),
            }),
        }
    }
}

fn signature_facts(s: &pegate_authenticode::SignatureInfo) -> SignatureFacts {
    let leaf = s.signer_chain.first();
    SignatureFacts {
        nested: s.nested,
        digest_algorithm: s.digest_algorithm.clone(),
        signer_subject: leaf.map(|c| c.subject.clone()),
        signer_not_after: leaf.map(|c| c.not_after),
        timestamps: s
            .timestamps
            .iter()
            .map(|t| TimestampFacts {
                time: t.time,
                valid: t.valid,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests;
