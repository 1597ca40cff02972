//! The objects `pegate inspect` prints: [`Brief`] by default, [`Record`] with `--full`, both
//! borrowed from an [`ArtifactReport`], and the JSON Schema generated from them. Their field
//! order and schema are the output's contract, kept apart from the inspection that fills them.

use std::borrow::Cow;

use pegate_authenticode::SignatureReport;
use pegate_gobin::buildinfo::BuildInfo;
use pegate_gobin::crosscheck::Finding;
use pegate_pe::fields::{BriefLead, Fields, Lead, Nullable, Rest};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::ArtifactReport;

impl ArtifactReport {
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
