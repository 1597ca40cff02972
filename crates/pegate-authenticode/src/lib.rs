//! pegate-authenticode: whether a PE file is signed, by whom, and whether the signatures still
//! cover its bytes.
//!
//! The certificate table is walked entry by entry; each PKCS#7 signature (nested ones too) is
//! read with `authenticode-parser`, whose types stay inside this crate; the Authenticode image
//! hash is computed the way Windows does, in one read of a signed file that also yields its PE
//! checksum (and its whole-file SHA-256 when [`VerifyOptions::file_sha256`] asks); chains are
//! judged against a CA bundle when one is given. An unsigned file is judged from its headers
//! alone unless a hash is asked for. One verdict per file: `unsigned`, `signed-valid`,
//! `signed-untrusted`, `signed-invalid` or `error`.
//!
//! ```
//! use pegate_authenticode::{Status, VerifyOptions, verify_path};
//!
//! let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/authenticode"));
//! let report = verify_path(&dir.join("amd64-signed.exe"), &VerifyOptions::default()).unwrap();
//! assert_eq!(report.status, Status::SignedUntrusted); // no CA bundle given
//! let trust = pegate_authenticode::TrustStore::from_pem_file(&dir.join("ca.pem")).unwrap();
//! let opts = VerifyOptions::default().with_trust(trust).with_file_sha256(true);
//! let report = verify_path(&dir.join("amd64-signed.exe"), &opts).unwrap();
//! assert_eq!(report.status, Status::SignedValid);
//! assert!(report.file_sha256.is_some() && report.checksum.is_some());
//! ```

mod cert;
mod der;
mod digest;
mod fast;
mod pkcs7;
mod problem;
pub mod table;
mod trust;
mod verify;

use std::fs::File;
use std::path::{Path, PathBuf};

use pegate_pe::PeView;
use serde::Serialize;

use verify::{io_failure_report, parseable_signatures, slice_reader, table_bounds, verify_with};

pub use der::{CertificateProblem, DerError, ValueProblem};
pub use pegate_facts::{DigestAlgorithm, Recorded};
pub use problem::{Problem, SignatureProblem};
pub use table::EntryProblem;
pub use trust::{TrustError, TrustStore, Trusted};

/// Could not read the file, or the trust bundle.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a PE file.
    #[error("{}: {source}", path.display())]
    NotPe {
        /// The file.
        path: PathBuf,
        /// Why pegate-pe rejected it.
        #[source]
        source: pegate_pe::Error,
    },
    /// The trust bundle holds no usable certificate.
    #[error("trust bundle {source_name}: {reason}")]
    TrustBundle {
        /// The bundle's path or name.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
}

/// Options of a verification: the trust roots, and which whole-file values to compute beyond
/// what the verdict needs (the verdict needs the image hash of a signed file, nothing of an
/// unsigned one).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Roots to judge chains against; without it the verdict is at best `signed-untrusted`.
    pub trust: Option<TrustStore>,
    /// Also compute the SHA-256 of the whole file ([`SignatureReport::file_sha256`]): a second
    /// hash stream over every byte.
    pub file_sha256: bool,
    /// Compute the PE checksum ([`SignatureReport::checksum`]) of unsigned files too, which
    /// reads them in full; a signed file's is always computed, in the same read as its digest.
    pub checksum: bool,
    /// When to judge a chain that no valid timestamp dates (Unix seconds); `None` is now.
    pub at: Option<i64>,
}

impl VerifyOptions {
    /// Judge chains without a valid timestamp at this time (Unix seconds) instead of now.
    pub fn with_time(mut self, at: i64) -> Self {
        self.at = Some(at);
        self
    }

    /// Judge chains against these roots.
    pub fn with_trust(mut self, trust: TrustStore) -> Self {
        self.trust = Some(trust);
        self
    }

    /// Compute the whole-file SHA-256, or not.
    pub fn with_file_sha256(mut self, yes: bool) -> Self {
        self.file_sha256 = yes;
        self
    }

    /// Compute the PE checksum of every file, or only of signed ones.
    pub fn with_checksum(mut self, yes: bool) -> Self {
        self.checksum = yes;
        self
    }
}

/// The one verdict for a file: pegate-facts' [`SignatureStatus`](pegate_facts::SignatureStatus),
/// whose names the policy and the reports share.
pub use pegate_facts::SignatureStatus as Status;

/// A certificate as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct CertificateInfo {
    /// Subject (OpenSSL one-line form).
    pub subject: String,
    /// Issuer.
    pub issuer: String,
    /// Serial number.
    pub serial: String,
    /// Start of validity, Unix seconds.
    pub not_before: i64,
    /// End of validity, Unix seconds.
    pub not_after: i64,
    /// SHA-256 of the DER, hex.
    pub sha256: String,
}

/// A countersignature / RFC 3161 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Timestamp {
    /// Signing time, Unix seconds.
    pub time: i64,
    /// Digest algorithm.
    #[schemars(with = "Option<String>")]
    pub digest_algorithm: Option<Recorded<DigestAlgorithm>>,
    /// Whether the timestamp's own signature verifies and matches the signature it stamps.
    pub valid: bool,
    /// The timestamping authority's chain.
    pub signer_chain: Vec<CertificateInfo>,
}

/// The trust verdict of one signature: the chain that reached the bundle, or why none did.
///
/// Serialises as `{"trusted", "at", "message", "anchor"}`, the message in words either way.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustVerdict {
    /// The time the chain was judged at (the timestamp's, else now), Unix seconds.
    pub at: i64,
    /// The chain verified for code signing, or why not.
    pub result: Result<Trusted, TrustError>,
}

impl TrustVerdict {
    /// Whether the chain reaches a root of the bundle, for code signing.
    pub fn trusted(&self) -> bool {
        self.result.is_ok()
    }

    /// The subject of the bundle certificate the chain ended at, when it reached one (every
    /// certificate in the bundle is an anchor, self-signed or not).
    pub fn anchor(&self) -> Option<&str> {
        self.result.as_ref().ok().map(|t| t.anchor.as_str())
    }

    /// Why, in words.
    pub fn message(&self) -> &dyn std::fmt::Display {
        match &self.result {
            Ok(t) => t,
            Err(e) => e,
        }
    }
}

impl Serialize for TrustVerdict {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        /// A message serialised as its words.
        struct Words<'a>(&'a dyn std::fmt::Display);
        impl Serialize for Words<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self.0)
            }
        }
        let mut st = s.serialize_struct("TrustVerdict", 4)?;
        st.serialize_field("trusted", &self.trusted())?;
        st.serialize_field("at", &self.at)?;
        st.serialize_field("message", &Words(self.message()))?;
        st.serialize_field("anchor", &self.anchor())?;
        st.end()
    }
}

/// What `Serialize` writes: `anchor` is the anchor's subject exactly when `trusted`.
impl schemars::JsonSchema for TrustVerdict {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "TrustVerdict".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_authenticode::TrustVerdict".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The trust verdict of one signature: the chain that reached the bundle, or why none did.",
            "type": "object",
            "properties": {
                "trusted": {
                    "description": "Whether the chain reaches a root of the bundle, for code signing.",
                    "type": "boolean",
                },
                "at": {
                    "description": "The time the chain was judged at (the timestamp's, else now), Unix seconds.",
                    "type": "integer",
                    "format": "int64",
                },
                "message": {
                    "description": "Why, in words.",
                    "type": "string",
                },
                "anchor": {
                    "description": "The subject of the bundle certificate the chain ended at, when trusted.",
                    "type": ["string", "null"],
                },
            },
            "required": ["trusted", "at", "message", "anchor"],
            "additionalProperties": false,
            "if": { "properties": { "trusted": { "const": true } } },
            "then": { "properties": { "anchor": { "type": "string" } } },
            "else": { "properties": { "anchor": { "type": "null" } } },
        })
    }
}

/// One signature: an outer one (a WIN_CERTIFICATE entry) or a nested one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SignatureInfo {
    /// Index of the WIN_CERTIFICATE entry it came from.
    pub entry: usize,
    /// Whether it is nested inside another signature.
    pub nested: bool,
    /// Digest algorithm the signature asks for (`sha256`).
    #[schemars(with = "Option<String>")]
    pub digest_algorithm: Option<Recorded<DigestAlgorithm>>,
    /// The digest the signature signs, hex.
    pub signed_digest: Option<String>,
    /// The Authenticode image hash pegate computed with that algorithm, hex (Windows' method).
    pub computed_digest: Option<String>,
    /// Whether the two agree.
    pub digest_matches: bool,
    /// With gaps between sections: whether osslsigncode's linear hash would agree.
    pub linear_digest_matches: Option<bool>,
    /// Program name from the signer's SpcSpOpusInfo.
    pub program_name: Option<String>,
    /// The signer's chain, leaf first.
    pub signer_chain: Vec<CertificateInfo>,
    /// Every certificate the signature carries.
    pub certificates: Vec<CertificateInfo>,
    /// Countersignatures and timestamps.
    pub timestamps: Vec<Timestamp>,
    /// The trust verdict, when a bundle was given.
    pub trust: Option<TrustVerdict>,
    /// Why the signature is broken, if it is (the PKCS#7 does not verify, or cannot be read).
    pub error: Option<SignatureProblem>,
}

/// Everything pegate found about a file's signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct SignatureReport {
    /// The verdict.
    pub status: Status,
    /// Every signature, outer ones first in table order, each followed by its nested ones.
    pub signatures: Vec<SignatureInfo>,
    /// The WIN_CERTIFICATE entries.
    pub entries: Vec<table::Entry>,
    /// SHA-256 of the whole file, hex; only when [`VerifyOptions::file_sha256`] asks.
    pub file_sha256: Option<String>,
    /// The PE checksum computed over the file: for signed files, and for every file when
    /// [`VerifyOptions::checksum`] asks.
    pub checksum: Option<u32>,
    /// Whether Windows' section-by-section hash and the linear hash cover different bytes.
    pub methods_differ: bool,
    /// Problems with the table or signatures.
    pub errors: Vec<Problem>,
}

impl SignatureReport {
    /// The subjects of every signer (leaf certificates).
    pub fn signer_subjects(&self) -> Vec<String> {
        self.signatures
            .iter()
            .filter_map(|s| s.signer_chain.first().map(|c| c.subject.clone()))
            .collect()
    }
}

/// Verifies a file: its headers and certificate table, then one read of a signed file (or of
/// any file whose SHA-256 or checksum `opts` asks for).
pub fn verify_path(path: &Path, opts: &VerifyOptions) -> Result<SignatureReport, Error> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    match pegate_pe::with_headers(path, |file, view| verify_file(file, view, opts)) {
        Ok(report) => report.map_err(io),
        Err(pegate_pe::Error::Io { source, .. }) => Err(io(source)),
        Err(source) => Err(Error::NotPe {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Verifies an open file whose headers are already in `view` (as
/// [`pegate_pe::with_headers`] hands them over), so a caller that also summarises the file or
/// reads its Go build info opens it and parses its headers once.
pub fn verify_file(
    file: &File,
    view: &PeView<'_>,
    opts: &VerifyOptions,
) -> std::io::Result<SignatureReport> {
    let len = view.file_len();
    let bounds = table_bounds(view, len);
    let table = match &bounds {
        Some(b) if !b.outside => pegate_pe::read_range(file, b.start, b.present as usize)?,
        _ => Vec::new(),
    };
    verify_with(view, len, &table, bounds, opts, |pos, buf| {
        pegate_pe::read_full_at(file, buf, pos)
    })
}

/// The Authenticode image hash (Windows' section order, as [`verify_path`] checks it) of a
/// file of `len` bytes whose certificate table starts at `table_start` (`len` when it has none),
/// read through `read_at` (fills the buffer from a file offset, returns the count, 0 at the
/// end). A signer hashes with this so that what it signs is what pegate verifies. An
/// `algorithm` that is no [image hash](DigestAlgorithm::image_hash) is an `InvalidInput` error.
pub fn image_digest(
    view: &PeView<'_>,
    len: u64,
    table_start: u64,
    algorithm: DigestAlgorithm,
    read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<Vec<u8>> {
    digest::windows_pass(view, len, table_start, algorithm, read_at)
}

/// The whole-file values of a file, computed without judging its signatures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileDigests {
    /// SHA-256 of the whole file, hex, when asked for.
    pub sha256: Option<String>,
    /// The PE checksum, when asked for.
    pub checksum: Option<u32>,
}

/// What `opts` asks for of the whole file ([`VerifyOptions::file_sha256`],
/// [`VerifyOptions::checksum`]) in one read, for a caller that skips the signatures; reads
/// nothing when nothing is asked for.
pub fn file_digests(
    file: &File,
    view: &PeView<'_>,
    opts: &VerifyOptions,
) -> std::io::Result<FileDigests> {
    let d = digest::one_pass(
        digest::Layout {
            windows: Vec::new(),
            linear: Vec::new(),
        },
        &[],
        digest::Extras {
            file_sha256: opts.file_sha256,
            checksum: opts.checksum.then(|| view.checksum_field_offset()),
        },
        |pos, buf| pegate_pe::read_full_at(file, buf, pos),
    )?;
    Ok(FileDigests {
        sha256: d.file_sha256.map(hex::encode),
        checksum: d.checksum,
    })
}

/// Verifies a file held in memory.
pub fn verify_bytes(data: &[u8], opts: &VerifyOptions) -> SignatureReport {
    let view = match PeView::parse(data) {
        Ok(v) => v,
        Err(e) => {
            let digests = digest::one_pass(
                digest::Layout {
                    windows: Vec::new(),
                    linear: Vec::new(),
                },
                &[],
                digest::Extras {
                    file_sha256: opts.file_sha256,
                    checksum: opts.checksum.then_some(usize::MAX),
                },
                slice_reader(data),
            );
            let (sha, sum) = digests
                .map(|d| (d.file_sha256.map(hex::encode), d.checksum))
                .unwrap_or_default();
            return SignatureReport {
                status: Status::Error,
                signatures: Vec::new(),
                entries: Vec::new(),
                file_sha256: sha,
                checksum: sum,
                methods_differ: false,
                errors: vec![Problem::NotPe {
                    reason: e.to_string(),
                }],
            };
        }
    };
    let len = data.len() as u64;
    let bounds = table_bounds(&view, len);
    let table = bounds
        .as_ref()
        .filter(|b| !b.outside)
        .and_then(|b| {
            let s = usize::try_from(b.start).ok()?;
            data.get(s..s.checked_add(usize::try_from(b.present).ok()?)?)
        })
        .unwrap_or_default();
    verify_with(&view, len, table, bounds, opts, slice_reader(data))
        .unwrap_or_else(io_failure_report)
}

/// For the fuzz targets, not part of the API: whether the fast path, wherever it answers for a
/// signature of this certificate table (as `parse_table` takes them), answers as
/// authenticode-parser does.
#[doc(hidden)]
pub fn fast_path_agrees(table: &[u8]) -> bool {
    parseable_signatures(table).all(|der| match fast::parse(der) {
        None => true,
        Some(fast) => Some(fast) == pkcs7::parse(der),
    })
}
