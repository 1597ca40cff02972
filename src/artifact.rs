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
use pegate_pe::fields::{BriefLead, Fields, Lead, Nullable, Rest};
use pegate_policy::{
    ArtifactFacts, DllImport, ImportFacts, Recorded, SectionFacts, SignatureFacts, TimestampFacts,
};
use rayon::prelude::*;
use schemars::JsonSchema;
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
    /// Leave long section names (`/4`: Go's DWARF sections) unresolved instead of reading the
    /// COFF string table at the end of the file: for output without section names (the
    /// default `pegate inspect` object). The policy facts then carry the `/N` names.
    pub skip_section_names: bool,
    /// Read the import and delay-import tables (`imports`), which reads the whole file.
    pub imports: bool,
    /// Search for Go build info only where Go's linkers put it
    /// ([`pegate_gobin::buildinfo::Search::Bounded`]) instead of the whole data section: for the
    /// default `pegate inspect` object, which then reads a few KiB of an image that is not Go.
    pub bounded_go_search: bool,
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

    /// Leave long section names unresolved (no read of the string table), or not.
    pub fn with_skip_section_names(mut self, yes: bool) -> Self {
        self.skip_section_names = yes;
        self
    }

    /// Read the import tables, or not.
    pub fn with_imports(mut self, yes: bool) -> Self {
        self.imports = yes;
        self
    }

    /// Search for Go build info only where Go's linkers put it, or in the whole data section.
    pub fn with_bounded_go_search(mut self, yes: bool) -> Self {
        self.bounded_go_search = yes;
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
            pe: Fields::of(pe),
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
            file_size: pe.map(|p| p.headers.file_size),
            ex_dll_characteristics: pe.and_then(|p| p.ex_dll_characteristics),
            imports: pe.and_then(|p| p.imports.as_ref()),
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
            lead: Fields::of(pe),
            sha256: ok.and_then(|i| i.sha256.as_deref()),
            signature: ok.and_then(|i| i.signature.as_ref()),
            go: ok.and_then(|i| i.go.as_ref()),
            crosscheck: self.crosscheck(),
            description: ok.map(|i| i.description.as_str()),
            rest: Fields::of(pe),
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

/// The default line of `pegate inspect --format jsonl`: the fields `schema/inspect.schema.json`
/// requires, with the signature and the Go build info summarised. About a tenth of the size of
/// the full [`Record`], which is most of what a batch run costs beyond reading the headers.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Brief<'a> {
    /// The path as given or found.
    path: Cow<'a, str>,
    /// Why the file could not be inspected, or what of it could not be read; null when all was.
    #[schemars(with = "Nullable<String>")]
    error: Option<&'a str>,
    #[serde(flatten)]
    pe: Fields<'a, BriefLead>,
    /// SHA-256 of the whole file, lowercase hex: filled with `--sha256` (and by `pegate gate`
    /// when the policy names a checksums file); null otherwise.
    #[schemars(with = "Nullable<Sha256Hex>")]
    sha256: Option<&'a str>,
    /// The Authenticode verdict; null with `--no-signature`. An unsigned file's verdict comes
    /// from its headers alone.
    #[schemars(with = "Nullable<SignatureBrief<'static>>")]
    signature: Option<SignatureBrief<'a>>,
    /// The Go build info in brief, when the file is a Go binary.
    #[schemars(with = "Nullable<GoBrief<'static>>")]
    go: Option<GoBrief<'a>>,
    /// Agreement between the Go build info and the headers.
    crosscheck: &'a [Finding],
    /// One line in the spirit of `file`.
    #[schemars(with = "Nullable<String>")]
    description: Option<&'a str>,
    // The two summary fields the default line adds after its own are named here, not taken from
    // `pegate_pe::fields`: the line has carried them in this order, the summary's is the other.
    /// The file's length; absent, like the rest of the summary in `--full`, when the file could
    /// not be summarised.
    #[serde(skip_serializing_if = "Option::is_none")]
    file_size: Option<u64>,
    /// Flags of the IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS debug entry (0x1 CETCOMPAT); absent
    /// when the file has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    ex_dll_characteristics: Option<u32>,
    /// The imported DLLs (import and delay-import tables), with `--imports`; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    imports: Option<&'a pegate_pe::imports::Imports>,
}

/// The schema of a SHA-256 as pegate writes it: 64 lowercase hex digits.
struct Sha256Hex;

impl JsonSchema for Sha256Hex {
    fn schema_name() -> Cow<'static, str> {
        "Sha256Hex".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A SHA-256, 64 lowercase hex digits.",
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
        })
    }
}

/// The signature verdict without the certificates, timestamps and digests.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct SignatureBrief<'a> {
    status: pegate_authenticode::Status,
    /// The subject of each signature's signer, in report order.
    signers: Vec<&'a str>,
    /// The same value as the top-level `sha256`: null unless asked for.
    #[schemars(with = "Nullable<Sha256Hex>")]
    file_sha256: Option<&'a str>,
    /// The same value as `checksum.computed`.
    #[schemars(with = "Nullable<u32>")]
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

impl JsonSchema for BriefProblem<'_> {
    fn schema_name() -> Cow<'static, str> {
        "SignatureProblemText".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string" })
    }
}

impl Serialize for BriefProblem<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The Go build info without the dependencies and settings (but GOOS and GOARCH).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
struct GoBrief<'a> {
    /// The Go release that built it (`go1.22.5`).
    go_version: &'a str,
    /// The main package's import path.
    path: &'a str,
    /// The main module's version.
    #[schemars(with = "Nullable<String>")]
    main_version: Option<&'a str>,
    /// The `GOOS` build setting.
    #[schemars(with = "Nullable<String>")]
    goos: Option<&'a str>,
    /// The `GOARCH` build setting.
    #[schemars(with = "Nullable<String>")]
    goarch: Option<&'a str>,
}

/// One line of `pegate inspect --format jsonl --full`: the fields `schema/inspect.schema.json`
/// requires first, then the rest of the PE summary (absent when the file could not be
/// summarised).
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Record<'a> {
    /// The path as given or found.
    path: Cow<'a, str>,
    /// Why the file could not be inspected, or what of it could not be read; null when all was.
    #[schemars(with = "Nullable<String>")]
    error: Option<&'a str>,
    #[serde(flatten)]
    lead: Fields<'a, Lead>,
    /// SHA-256 of the whole file, lowercase hex: filled with `--sha256` (and by `pegate gate`
    /// when the policy names a checksums file); null otherwise.
    #[schemars(with = "Nullable<Sha256Hex>")]
    sha256: Option<&'a str>,
    /// The whole signature report; null with `--no-signature`.
    #[schemars(with = "Nullable<SignatureReport>")]
    signature: Option<&'a SignatureReport>,
    /// The whole Go build info, when the file is a Go binary.
    #[schemars(with = "Nullable<BuildInfo>")]
    go: Option<&'a BuildInfo>,
    /// Agreement between the Go build info and the headers.
    crosscheck: &'a [Finding],
    /// One line in the spirit of `file`.
    #[schemars(with = "Nullable<String>")]
    description: Option<&'a str>,
    /// The rest of the PE summary: absent when the file could not be summarised.
    #[serde(flatten)]
    rest: Fields<'a, Rest>,
}

/// The JSON Schema (draft 2020-12) of `pegate inspect`'s output, generated from the types it
/// serialises: an object is a [`Brief`] (the default) or a [`Record`] (`--full`), and
/// `--format json` prints an array of them. `schema/inspect.schema.json` holds this value
/// (`cargo xtask schema` writes it; a test fails when it is stale).
pub fn schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator();
    let brief = generator.subschema_for::<Brief<'static>>();
    let record = generator.subschema_for::<Record<'static>>();
    serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.invalid/pegate/inspect.schema.json",
        "title": "pegate inspect output",
        "description": "One object per file (`pegate inspect --format jsonl`), or an array of them (`--format json`). By default the object summarises (`Brief`: the signature and Go build info in brief); `--full` gives the whole PE summary, signature report and Go build info (`Record`). Inspection fields are null when `error` says the file could not be inspected, and whole-file values are null when they were not computed: pegate computes only what the output needs (see `sha256`, `checksum.computed`, `signature`). Generated from pegate's types by `cargo xtask schema`.",
        "oneOf": [
            brief,
            record,
            { "type": "array", "items": { "oneOf": [brief, record] } }
        ],
        "$defs": generator.take_definitions(true),
    })
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
    // Stamped before the open and after the last read: a file written meanwhile (a build still
    // running, a copy in progress) is reported as changed, never judged on bytes of two versions.
    let before = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
    let (summary, signature, go, after) = match pegate_pe::inspect_path_with(
        path,
        &pegate_pe::InspectOptions::default()
            .with_raw_long_names(opts.skip_section_names)
            .with_imports(opts.imports),
        |file, view, summary| {
            // Without a signature check, the hash and checksum asked for take a read of their own.
            let signature = if opts.skip_signature {
                (opts.sha256 || opts.checksum).then(|| {
                    pegate_authenticode::file_digests(file, view, &verify).map(Digested::Only)
                })
            } else {
                Some(pegate_authenticode::verify_file(file, view, &verify).map(Digested::Verified))
            };
            let search = if opts.bounded_go_search {
                pegate_gobin::buildinfo::Search::Bounded
            } else {
                pegate_gobin::buildinfo::Search::Exact
            };
            let go = (!opts.skip_go)
                .then(|| pegate_gobin::buildinfo::read_file_with(file, view, search));
            let after = file.metadata().ok().map(|m| Stamp::of(&m));
            (summary, signature, go, after)
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
    if let (Some(before), Some(after)) = (before, after)
        && before != after
    {
        return ArtifactReport::failed(
            path,
            FailureKind::Io,
            format!(
                "{}: changed while it was read ({}); inspect it again once it is written",
                path.display(),
                before.change(&after)
            ),
        );
    }
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

/// What tells one version of a file from the next: its size, its modification time and (Unix)
/// its inode and change time, which every write moves (to the file system clock's tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            inode: (m.dev(), m.ino()),
            #[cfg(unix)]
            changed: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// How `later` differs from this stamp, in words.
    fn change(&self, later: &Stamp) -> String {
        if self.len != later.len {
            format!("{} bytes, then {} bytes", self.len, later.len)
        } else {
            #[cfg(unix)]
            if self.inode != later.inode {
                return "replaced by another file".to_owned();
            }
            "rewritten".to_owned()
        }
    }
}

/// Inspects a file held in memory, as [`inspect`] inspects one on disk, with `name` as the
/// report's path: for bytes that never were a file (an upload, an archive member, a Spark row).
/// Everything the file-based inspection reads is in `data`, so nothing is read beyond it.
pub fn inspect_bytes(name: &Path, data: &[u8], opts: &Options) -> ArtifactReport {
    let view = match pegate_pe::PeView::parse(data) {
        Ok(v) => v,
        Err(e) => {
            let kind = if e.is_not_pe() {
                FailureKind::NotPe
            } else {
                FailureKind::Malformed
            };
            return ArtifactReport::failed(name, kind, e.to_string());
        }
    };
    let verify = VerifyOptions::default()
        .with_file_sha256(opts.sha256)
        .with_checksum(opts.checksum);
    let verify = match &opts.trust {
        Some(t) => verify.with_trust(t.clone()),
        None => verify,
    };
    let mut summary = pegate_pe::summarize_with(
        &view,
        pegate_pe::Extra {
            raw_long_names: opts.skip_section_names,
            ..pegate_pe::Extra::default()
        },
    );
    // The view holds the whole file: the import tables are in it.
    if opts.imports {
        summary.read_imports(&view);
    }
    // The signature check gives the hash and checksum asked for; without it they take a pass
    // of their own (the same one, its verdict dropped).
    let report = (!opts.skip_signature || opts.sha256 || opts.checksum)
        .then(|| pegate_authenticode::verify_bytes(data, &verify));
    let (sha256, checksum) = report
        .as_ref()
        .map(|r| (r.file_sha256.clone(), r.checksum))
        .unwrap_or_default();
    // Without the verdict, only what was asked for: the check computes a signed file's
    // checksum anyway.
    let checksum = checksum.filter(|_| !opts.skip_signature || opts.checksum);
    let signature = report.filter(|_| !opts.skip_signature);
    let (go, error) = if opts.skip_go {
        (None, None)
    } else {
        match pegate_gobin::buildinfo::read(&view) {
            Ok(info) => (info, None),
            Err(e) => (None, Some(format!("go build info: {e}"))),
        }
    };
    let crosscheck = go
        .as_ref()
        .map(|info| crosscheck::check(&summary, info))
        .unwrap_or_default();
    // The summary of a whole file in memory computes its checksum; keep it only where the
    // file-based inspection has one, so the two reports agree: when asked for or verified, and
    // for a file no longer than the header read of `pegate_pe::with_headers` (4 KiB), which
    // then has the whole file in view.
    if checksum.is_some() || data.len() > 4096 {
        summary.computed_checksum = checksum;
    }
    ArtifactReport {
        path: name.to_path_buf(),
        result: Ok(Inspection {
            description: pegate_pe::describe(&summary),
            pe: summary,
            sha256,
            signature,
            go,
            crosscheck,
            error,
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
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
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
        // Well-formed JSON, compact and pretty, whose `pe` is the whole summary.
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(&serde_json::to_string_pretty(&signed).unwrap()).unwrap(),
            value
        );
        assert_eq!(value["pe"]["machine"], "AMD64");
        assert_eq!(
            value["pe"]["file_size"],
            signed.pe().unwrap().headers.file_size
        );
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

    /// A file held in memory gives the report the file on disk gives, brief and full, with every
    /// option the CLI sets: every fixture PE file, a non-PE file and a truncated one.
    #[test]
    fn bytes_inspect_as_the_file_does() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut files: Vec<PathBuf> = ["pe/ok", "pe/err", "authenticode", "imports"]
            .iter()
            .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        assert!(files.len() > 10, "{files:?}");
        let options = [
            Options::default(),
            Options::default().with_skip_section_names(true),
            Options::default().with_sha256(true),
            Options::default().with_sha256(true).with_checksum(true),
            Options::default()
                .with_skip_signature(true)
                .with_skip_go(true)
                .with_sha256(true),
            Options::default().with_imports(true),
        ];
        let mut compared = 0;
        for path in &files {
            let data = std::fs::read(path).unwrap();
            for opts in &options {
                let on_disk = inspect(path, opts);
                let in_memory = inspect_bytes(path, &data, opts);
                let (ours, theirs) = (
                    serde_json::to_value(in_memory.record()).unwrap(),
                    serde_json::to_value(on_disk.record()).unwrap(),
                );
                let differ: Vec<String> = ours
                    .as_object()
                    .unwrap()
                    .iter()
                    .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
                    .map(|(k, v)| format!("{k}: {v} in memory, {} on disk", theirs[k.as_str()]))
                    .collect();
                assert!(ours == theirs, "{} {opts:?}: {differ:#?}", path.display());
                assert_eq!(
                    serde_json::to_value(in_memory.brief()).unwrap(),
                    serde_json::to_value(on_disk.brief()).unwrap()
                );
                compared += 1;
            }
        }
        assert_eq!(compared, files.len() * options.len());
    }
}
