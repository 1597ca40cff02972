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
use pegate_gobin::buildinfo::BuildInfo;
use pegate_gobin::crosscheck::{self, Finding};
use pegate_pe::PeSummary;
use pegate_policy::{ArtifactFacts, Recorded, SectionFacts, SignatureFacts, TimestampFacts};
use rayon::prelude::*;
use serde::Serialize;
use serde_json::Value;

/// What to inspect beyond the headers. By default only what the report's verdicts need: the
/// signature verdict (which reads a signed file in full, and an unsigned one not at all) and
/// the Go build info.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Skip the signature check (and its one pass over each signed file).
    pub skip_signature: bool,
    /// Skip the Go build info.
    pub skip_go: bool,
    /// Roots the signature chains are judged against.
    pub trust: Option<TrustStore>,
    /// Compute the SHA-256 of every file ([`Inspection::sha256`]), which reads it in full.
    pub sha256: bool,
    /// Compute the PE checksum of every file (`checksum.computed`), which reads it in full; a
    /// signed file's is computed anyway, in the read its signature check makes.
    pub checksum: bool,
}

impl Options {
    /// Skip the signature check, or not.
    pub fn with_skip_signature(mut self, yes: bool) -> Self {
        self.skip_signature = yes;
        self
    }

    /// Skip the Go build info, or not.
    pub fn with_skip_go(mut self, yes: bool) -> Self {
        self.skip_go = yes;
        self
    }

    /// Judge signature chains against these roots.
    pub fn with_trust(mut self, trust: Option<TrustStore>) -> Self {
        self.trust = trust;
        self
    }

    /// Compute every file's SHA-256, or not.
    pub fn with_sha256(mut self, yes: bool) -> Self {
        self.sha256 = yes;
        self
    }

    /// Compute every file's PE checksum, or only signed files'.
    pub fn with_checksum(mut self, yes: bool) -> Self {
        self.checksum = yes;
        self
    }
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
    fn failed(path: &Path, kind: FailureKind, message: String) -> ArtifactReport {
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

    fn crosscheck(&self) -> &[Finding] {
        self.inspection().map_or(&[], |i| &i.crosscheck)
    }

    /// The flat JSON object of `pegate inspect --format json` (see `schema/inspect.schema.json`).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self.record()).unwrap_or(Value::Null)
    }

    /// The default object of `pegate inspect --format jsonl` (see `schema/inspect.schema.json`):
    /// what the file is, how it is hardened, whether it is signed and by whom, which Go built it
    /// and whether that agrees with the headers; [`ArtifactReport::record`] has everything.
    pub fn brief(&self) -> Brief<'_> {
        let ok = self.inspection();
        let pe = self.pe();
        Brief {
            path: self.path.to_string_lossy(),
            error: self.error(),
            format: pe.map(|p| &*p.format),
            machine: pe.map(|p| p.machine),
            hybrid: pe.and_then(|p| p.hybrid),
            subsystem: pe.map(|p| p.subsystem),
            characteristics: pe.map(|p| &p.characteristics),
            dll_characteristics: pe.map(|p| &p.dll_characteristics),
            security_directory: pe.and_then(|p| p.security_directory.as_ref()),
            checksum: pe.map(|p| &p.checksum),
            sha256: ok.and_then(|i| i.sha256.as_deref()),
            signature: ok
                .and_then(|i| i.signature.as_ref())
                .map(|s| SignatureBrief {
                    status: s.status,
                    signers: s
                        .signatures
                        .iter()
                        .filter_map(|x| x.signer_chain.first().map(|c| c.subject.as_str()))
                        .collect(),
                    file_sha256: s.file_sha256.as_deref(),
                    checksum: s.checksum,
                    // The full report keeps a signature's own error on the signature; the brief
                    // has no signatures, so it names them here.
                    errors: s
                        .errors
                        .iter()
                        .map(BriefProblem::Report)
                        .chain(s.signatures.iter().filter_map(|x| {
                            x.error.map(|problem| BriefProblem::Signature {
                                entry: x.entry,
                                problem,
                            })
                        }))
                        .collect(),
                }),
            go: ok.and_then(|i| i.go.as_ref()).map(|g| GoBrief {
                go_version: &g.go_version,
                path: &g.path,
                main_version: g.main.as_ref().map(|m| m.version.as_str()),
                goos: g.setting("GOOS"),
                goarch: g.setting("GOARCH"),
            }),
            crosscheck: self.crosscheck(),
            description: ok.map(|i| i.description.as_str()),
            file_size: pe.map(|p| p.file_size),
            ex_dll_characteristics: pe.and_then(|p| p.ex_dll_characteristics),
        }
    }

    /// The full object of `pegate inspect --full` (every PE summary field, the whole signature
    /// report and Go build info), serialised straight from the typed reports without building a
    /// JSON tree first.
    pub fn record(&self) -> Record<'_> {
        let ok = self.inspection();
        let pe = self.pe();
        Record {
            path: self.path.to_string_lossy(),
            error: self.error(),
            format: pe.map(|p| &*p.format),
            machine: pe.map(|p| p.machine),
            hybrid: pe.and_then(|p| p.hybrid),
            subsystem: pe.map(|p| p.subsystem),
            characteristics: pe.map(|p| &p.characteristics),
            dll_characteristics: pe.map(|p| &p.dll_characteristics),
            sections: pe.map(|p| &p.sections),
            security_directory: pe.and_then(|p| p.security_directory.as_ref()),
            checksum: pe.map(|p| &p.checksum),
            sha256: ok.and_then(|i| i.sha256.as_deref()),
            signature: ok.and_then(|i| i.signature.as_ref()),
            go: ok.and_then(|i| i.go.as_ref()),
            crosscheck: self.crosscheck(),
            description: ok.map(|i| i.description.as_str()),
            rest: pe.map(|p| Rest {
                machine_raw: p.machine_raw,
                subsystem_raw: p.subsystem_raw,
                guard_flags: p.guard_flags.as_ref(),
                ex_dll_characteristics: p.ex_dll_characteristics,
                linker_version: p.linker_version,
                os_version: p.os_version,
                image_version: p.image_version,
                subsystem_version: p.subsystem_version,
                image_base: p.image_base,
                entry_point: p.entry_point,
                section_alignment: p.section_alignment,
                file_alignment: p.file_alignment,
                size_of_image: p.size_of_image,
                size_of_headers: p.size_of_headers,
                timestamp: p.timestamp,
                number_of_symbols: p.number_of_symbols,
                data_directories: &p.data_directories,
                overlay: p.overlay.as_ref(),
                file_size: p.file_size,
                errors: &p.errors,
            }),
        }
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
            size: pe.map(|p| p.file_size),
            sha256: ok.and_then(|i| i.sha256.clone()),
            format: pe.map(|p| p.format.to_string()),
            machine: pe.map(|p| p.machine),
            subsystem: pe.map(|p| p.subsystem),
            dll_characteristics: pe.map(|p| p.dll_characteristics).unwrap_or_default(),
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

/// The default line of `pegate inspect --format jsonl`: the fields `schema/inspect.schema.json`
/// requires, with the signature and the Go build info summarised. About a tenth of the size of
/// the full [`Record`], which is most of what a batch run costs beyond reading the headers.
#[derive(Debug, Serialize)]
pub struct Brief<'a> {
    path: Cow<'a, str>,
    error: Option<&'a str>,
    format: Option<&'a str>,
    machine: Option<pegate_pe::Machine>,
    hybrid: Option<pegate_pe::Machine>,
    subsystem: Option<pegate_pe::Subsystem>,
    characteristics: Option<&'a pegate_pe::Flags<pegate_pe::flags::File>>,
    dll_characteristics: Option<&'a pegate_pe::Flags<pegate_pe::flags::Dll>>,
    security_directory: Option<&'a pegate_pe::SecurityDirectorySummary>,
    checksum: Option<&'a pegate_pe::ChecksumSummary>,
    sha256: Option<&'a str>,
    signature: Option<SignatureBrief<'a>>,
    go: Option<GoBrief<'a>>,
    crosscheck: &'a [Finding],
    description: Option<&'a str>,
    /// Absent, like the rest of the summary in [`Record`], when the file could not be summarised.
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
    /// The CETCOMPAT debug entry's flags, absent when the file has none (as in [`Record`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    ex_dll_characteristics: Option<u32>,
}

/// The signature verdict without the certificates, timestamps and digests.
#[derive(Debug, Serialize)]
struct SignatureBrief<'a> {
    status: pegate_authenticode::Status,
    /// The subject of each signature's signer, in report order.
    signers: Vec<&'a str>,
    file_sha256: Option<&'a str>,
    checksum: Option<u32>,
    /// The report's errors, then each signature's own, as `signature N: ...`.
    errors: Vec<BriefProblem<'a>>,
}

/// One entry of [`SignatureBrief::errors`], serialised as its message.
#[derive(Debug)]
enum BriefProblem<'a> {
    /// One of the report's errors.
    Report(&'a pegate_authenticode::Problem),
    /// A signature's own error, which the brief names by its entry.
    Signature {
        entry: usize,
        problem: pegate_authenticode::SignatureProblem,
    },
}

impl std::fmt::Display for BriefProblem<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BriefProblem::Report(p) => p.fmt(f),
            BriefProblem::Signature { entry, problem } => write!(f, "signature {entry}: {problem}"),
        }
    }
}

impl Serialize for BriefProblem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Go build info without the dependencies and settings (but GOOS and GOARCH).
#[derive(Debug, Serialize)]
struct GoBrief<'a> {
    go_version: &'a str,
    path: &'a str,
    main_version: Option<&'a str>,
    goos: Option<&'a str>,
    goarch: Option<&'a str>,
}

/// One line of `pegate inspect --format jsonl --full`: the fields `schema/inspect.schema.json`
/// requires first, then the rest of the PE summary (absent when the file could not be
/// summarised).
#[derive(Debug, Serialize)]
pub struct Record<'a> {
    path: Cow<'a, str>,
    error: Option<&'a str>,
    format: Option<&'a str>,
    machine: Option<pegate_pe::Machine>,
    hybrid: Option<pegate_pe::Machine>,
    subsystem: Option<pegate_pe::Subsystem>,
    characteristics: Option<&'a pegate_pe::Flags<pegate_pe::flags::File>>,
    dll_characteristics: Option<&'a pegate_pe::Flags<pegate_pe::flags::Dll>>,
    sections: Option<&'a Vec<pegate_pe::Section>>,
    security_directory: Option<&'a pegate_pe::SecurityDirectorySummary>,
    checksum: Option<&'a pegate_pe::ChecksumSummary>,
    sha256: Option<&'a str>,
    signature: Option<&'a SignatureReport>,
    go: Option<&'a BuildInfo>,
    crosscheck: &'a [Finding],
    description: Option<&'a str>,
    #[serde(flatten)]
    rest: Option<Rest<'a>>,
}

/// The summary fields after the required ones, in `PeSummary` order.
#[derive(Debug, Serialize)]
struct Rest<'a> {
    machine_raw: u16,
    subsystem_raw: u16,
    guard_flags: Option<&'a pegate_pe::Flags<pegate_pe::flags::Guard>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ex_dll_characteristics: Option<u32>,
    linker_version: pegate_pe::Version,
    os_version: pegate_pe::Version,
    image_version: pegate_pe::Version,
    subsystem_version: pegate_pe::Version,
    image_base: u64,
    entry_point: u32,
    section_alignment: u32,
    file_alignment: u32,
    size_of_image: u32,
    size_of_headers: u32,
    timestamp: u32,
    number_of_symbols: u32,
    data_directories: &'a [pegate_pe::Directory],
    overlay: Option<&'a pegate_pe::Overlay>,
    file_size: u64,
    errors: &'a [pegate_pe::Problem],
}

/// Inspects one file: headers first; then, when asked, the signature (one pass over a signed
/// file), the Go build info (the `.data` section only), and the whole-file hash and checksum.
pub fn inspect(path: &Path, opts: &Options) -> ArtifactReport {
    // One open and one header parse for the summary, the signature and the build info.
    let verify = VerifyOptions::default()
        .with_file_sha256(opts.sha256)
        .with_checksum(opts.checksum);
    let verify = match &opts.trust {
        Some(t) => verify.with_trust(t.clone()),
        None => verify,
    };
    let (summary, signature, go) = match pegate_pe::inspect_path_with(
        path,
        &pegate_pe::InspectOptions::default(),
        |file, view, summary| {
            // Without a signature check, the hash and checksum asked for take a read of their own.
            let signature = if opts.skip_signature {
                (opts.sha256 || opts.checksum).then(|| {
                    pegate_authenticode::file_digests(file, view, &verify).map(Digested::Only)
                })
            } else {
                Some(pegate_authenticode::verify_file(file, view, &verify).map(Digested::Verified))
            };
            let go = (!opts.skip_go).then(|| pegate_gobin::buildinfo::read_file(file, view));
            (summary, signature, go)
        },
    ) {
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
    let (signature, sha256, checksum) = match signature {
        Some(Ok(Digested::Verified(report))) => {
            let (sha, sum) = (report.file_sha256.clone(), report.checksum);
            (Some(report), sha, sum)
        }
        Some(Ok(Digested::Only(d))) => (None, d.sha256, d.checksum),
        Some(Err(e)) => {
            errors.push(format!("signature: {}: {e}", path.display()));
            (None, None, None)
        }
        None => (None, None, None),
    };
    let go = match go {
        Some(Ok(info)) => info,
        Some(Err(e)) => {
            errors.push(format!("go build info: {e}"));
            None
        }
        None => None,
    };
    let crosscheck = go
        .as_ref()
        .map(|info| crosscheck::check(&summary, info))
        .unwrap_or_default();
    let mut summary = summary;
    if let Some(sum) = checksum {
        summary.set_computed_checksum(sum);
    }
    ArtifactReport {
        path: path.to_path_buf(),
        result: Ok(Inspection {
            description: pegate_pe::describe(&summary),
            pe: summary,
            sha256,
            signature,
            go,
            crosscheck,
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        }),
    }
}

/// What the whole-file read of one artifact gave: a signature report (with the hash and
/// checksum it computed), or only the hash and checksum.
enum Digested {
    Verified(SignatureReport),
    Only(pegate_authenticode::FileDigests),
}

/// Inspects many files in parallel (rayon), results in input order.
pub fn inspect_all(paths: &[PathBuf], opts: &Options) -> Vec<ArtifactReport> {
    paths.par_iter().map(|p| inspect(p, opts)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A failed report and an inspected one serialise as one flat object with the same keys in
    /// the same order; a failed one's inspection fields are null or empty.
    #[test]
    fn reports_serialise_as_one_flat_object() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/authenticode");
        let missing = inspect(&dir.join("no-such-file.exe"), &Options::default());
        assert_eq!(missing.failure().map(|f| f.kind), Some(FailureKind::Io));
        assert_eq!(
            serde_json::to_string(&missing).unwrap(),
            format!(
                r#"{{"path":{},"error":{},"failure":"io","pe":null,"sha256":null,"description":null,"signature":null,"go":null,"crosscheck":[]}}"#,
                serde_json::to_string(&missing.path).unwrap(),
                serde_json::to_string(missing.error().unwrap()).unwrap(),
            )
        );

        let signed = inspect(&dir.join("amd64-signed.exe"), &Options::default());
        assert!(signed.failure().is_none() && signed.error().is_none());
        let text = serde_json::to_string(&signed).unwrap();
        let mut at = 0;
        for key in [
            "path",
            "error",
            "failure",
            "pe",
            "sha256",
            "description",
            "signature",
            "go",
            "crosscheck",
        ] {
            let pattern = format!("\"{key}\":");
            let found = text[at..].find(&pattern);
            assert!(found.is_some(), "{key} after byte {at} in {text}");
            at += found.unwrap_or_default() + pattern.len();
        }
        assert!(
            text.starts_with(r#"{"path":"#)
                && text.contains(r#""error":null,"failure":null,"pe":{"#)
        );
    }
}
