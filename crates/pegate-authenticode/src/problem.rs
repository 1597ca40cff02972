//! What can be wrong with a file's certificate table and signatures, as data: the entries of
//! [`SignatureReport::errors`](crate::SignatureReport::errors) and
//! [`SignatureInfo::error`](crate::SignatureInfo::error).
//!
//! Each problem serialises as its message (the report's JSON holds strings), so a program can
//! match on the variant and a person reads the same words.
//!
//! ```
//! use pegate_authenticode::{EntryProblem, Problem};
//!
//! let p = Problem::Entry { offset: 0x40, problem: EntryProblem::ShortHeader { left: 3 } };
//! assert_eq!(p.to_string(), "WIN_CERTIFICATE at 0x40: 3 bytes left, a header needs 8");
//! assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
//! ```

use serde::{Serialize, Serializer};

use crate::table::EntryProblem;

/// A problem with the certificate table or a signature, one entry of a report's errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The security directory points at or past the end of the file: no signature.
    #[error(
        "certificate table {start:#x}..{end:#x} lies outside the file ({file_len:#x} bytes): no signature"
    )]
    TableOutsideFile {
        /// File offset the directory gives.
        start: u64,
        /// Its end.
        end: u64,
        /// The file's length.
        file_len: u64,
    },
    /// The table starts inside the file and runs past its end.
    #[error("certificate table {start:#x}..{end:#x} ends past the end of the file ({file_len:#x})")]
    TableTruncated {
        /// File offset of the table.
        start: u64,
        /// Its end as the directory gives it.
        end: u64,
        /// The file's length.
        file_len: u64,
    },
    /// The table is larger than pegate reads.
    #[error("certificate table {start:#x}..{end:#x}: only its first {read:#x} bytes are read")]
    TableCapped {
        /// File offset of the table.
        start: u64,
        /// Its end.
        end: u64,
        /// The bytes read.
        read: u64,
    },
    /// A WIN_CERTIFICATE entry cannot be walked, or its certificate cannot be read.
    #[error("WIN_CERTIFICATE at {offset:#x}: {problem}")]
    Entry {
        /// File offset of the entry.
        offset: u64,
        /// What is wrong with it.
        problem: EntryProblem,
    },
    /// A signature asks for a digest algorithm Windows does not accept.
    #[error(
        "signature {entry}: digest algorithm {algorithm} is not one Windows accepts or pegate computes (sha1, sha256, sha384, sha512)"
    )]
    UnsupportedDigest {
        /// Index of the WIN_CERTIFICATE entry.
        entry: usize,
        /// The algorithm's name as the signature gives it.
        algorithm: pegate_facts::Recorded<pegate_facts::DigestAlgorithm>,
    },
    /// A signature names no digest algorithm.
    #[error("signature {entry}: no digest algorithm")]
    NoDigestAlgorithm {
        /// Index of the WIN_CERTIFICATE entry.
        entry: usize,
    },
    /// In-memory bytes that are not a PE file ([`verify_bytes`](crate::verify_bytes)).
    #[error("not a PE file: {reason}")]
    NotPe {
        /// Why pegate-pe rejected them.
        reason: String,
    },
    /// Reading the file failed midway.
    #[error("{reason}")]
    Read {
        /// The I/O error's message.
        reason: String,
    },
}

impl Problem {
    /// A problem with the WIN_CERTIFICATE entry at file offset `offset`.
    pub fn entry(offset: u64, problem: EntryProblem) -> Problem {
        Problem::Entry { offset, problem }
    }
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What `Serialize` writes: the message, a string.
impl schemars::JsonSchema for Problem {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Problem".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_authenticode::Problem".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A problem with the certificate table or a signature, in words.",
            "type": "string",
        })
    }
}

/// Why one signature is broken: its PKCS#7 does not verify, or cannot be read
/// (authenticode-parser's verdict, in words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureProblem {
    /// The PKCS#7 cannot be parsed.
    #[error("the PKCS#7 cannot be parsed")]
    CantParse,
    /// The signer's certificate is not among those carried.
    #[error("the signer's certificate is missing")]
    NoSignerCert,
    /// No digest in the signature.
    #[error("no digest in the signature")]
    DigestMissing,
    /// The parser failed internally.
    #[error("internal error in the parser")]
    InternalError,
    /// No SignerInfo.
    #[error("no SignerInfo")]
    NoSignerInfo,
    /// Not PKCS#7 SignedData.
    #[error("not PKCS#7 SignedData")]
    WrongPkcs7Type,
    /// The signed content is not SpcIndirectDataContent.
    #[error("the signed content is not SpcIndirectDataContent")]
    BadContent,
    /// The signature does not verify over its content.
    #[error("the signature does not verify over its content")]
    Invalid,
    /// The signed digest is not the file's.
    #[error("wrong file digest")]
    WrongFileDigest,
    /// The digest algorithm is unknown to the parser.
    #[error("unknown digest algorithm")]
    UnknownAlgorithm,
    /// The parser gave no verdict.
    #[error("unknown verification state")]
    UnknownState,
}

impl Serialize for SignatureProblem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What `Serialize` writes: the message, a string.
impl schemars::JsonSchema for SignatureProblem {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SignatureProblem".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_authenticode::SignatureProblem".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Why one signature is broken, in words.",
            "type": "string",
        })
    }
}
