//! pegate-sign: Authenticode signatures for PE files (exe, dll, sys) and EFI images.
//!
//! A [`Signer`] signs a digest and holds the certificate chain; [`FileSigner`] reads its key
//! from a PEM, DER or PKCS#12 file, [`Pkcs11Signer`] uses a key on a hardware token (an RFC 7512
//! `pkcs11:` URI), and other backends (a cloud KMS) plug in through the same trait without
//! touching the PE code. [`sign_path`] computes the image hash
//! with pegate-authenticode (the code that verifies it), builds the PKCS#7 SignedData (see
//! `pkcs7.rs`), optionally timestamps it (RFC 3161), nests it in an existing signature or
//! replaces the old ones, and writes the file atomically with a fresh PE checksum.
//!
//! ```no_run
//! use pegate_sign::{FileSigner, SignOptions, sign_path};
//! use std::path::{Path, PathBuf};
//!
//! let signer = FileSigner::open(Path::new("key.pem"), &[PathBuf::from("chain.pem")], None)?;
//! let opts = SignOptions::default().with_signing_time(Some(1_700_000_000));
//! let outcome = sign_path(Path::new("app.exe"), None, &signer, &opts)?;
//! for w in &outcome.warnings {
//!     eprintln!("warning: {w}");
//! }
//! # Ok::<(), pegate_sign::Error>(())
//! ```

mod der;
mod key;
mod pe;
mod pkcs11;
mod pkcs7;
pub mod timestamp;
mod write;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use key::{FileSigner, PASSWORD_ENV, Password};
/// The digest a signature uses: pegate-facts' [`DigestAlgorithm`](pegate_authenticode::DigestAlgorithm).
/// Only [image-hash](pegate_authenticode::DigestAlgorithm::image_hash) algorithms sign.
pub use pegate_authenticode::DigestAlgorithm as Algorithm;
pub use pkcs11::{MODULE_ENV, Pkcs11Signer, is_uri};

/// The kind of key a [`Signer`] holds, which names the signature algorithm in the PKCS#7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA, PKCS#1 v1.5 signatures.
    Rsa,
    /// ECDSA; signatures are DER `Ecdsa-Sig-Value`s.
    Ecdsa,
}

/// A private-key operation failed (the signer's own words).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SignerError(String);

impl SignerError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> SignerError {
        SignerError(message.into())
    }
}

/// What signs: a private key somewhere and the certificates that go with it.
pub trait Signer: Send + Sync {
    /// The signer's certificate (DER) first, then the rest of the chain to embed.
    fn certificates(&self) -> &[Vec<u8>];
    /// The key's kind.
    fn key_kind(&self) -> KeyKind;
    /// Signs `digest`, computed with `alg`: a PKCS#1 v1.5 signature (over the DigestInfo) for
    /// RSA, a DER `Ecdsa-Sig-Value` for ECDSA.
    fn sign_digest(&self, alg: Algorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError>;
}

/// What to do with a file that is already signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Existing {
    /// Refuse it ([`Error::AlreadySigned`]).
    #[default]
    Refuse,
    /// Add the new signature nested in the first existing one.
    Append,
    /// Drop the old signatures.
    Replace,
}

/// How to sign.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOptions {
    /// The digest of the image hash and the signature.
    pub digest: Algorithm,
    /// What to do with an already signed input.
    pub existing: Existing,
    /// RFC 3161 TSAs, tried in order (`http://` URLs); empty for no timestamp.
    pub timestamp_urls: Vec<String>,
    /// How long each TSA has to answer.
    pub timestamp_timeout: Duration,
    /// The signingTime attribute (Unix seconds); `None` is now. Set it (e.g. from
    /// `SOURCE_DATE_EPOCH`) for byte-identical output from the same input, key and chain.
    pub signing_time: Option<i64>,
    /// When to judge the certificate's validity period (Unix seconds); `None` is now.
    pub now: Option<i64>,
    /// Refuse a certificate without the code-signing EKU instead of warning.
    pub strict: bool,
    /// The description Windows shows in its consent dialog (SpcSpOpusInfo programName,
    /// signtool's `/d`, osslsigncode's `-n`).
    pub description: Option<String>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            digest: Algorithm::Sha256,
            existing: Existing::Refuse,
            timestamp_urls: Vec::new(),
            timestamp_timeout: Duration::from_secs(30),
            signing_time: None,
            now: None,
            strict: false,
            description: None,
        }
    }
}

impl SignOptions {
    /// Sets the signingTime (Unix seconds), or now when `None`.
    pub fn with_signing_time(mut self, at: Option<i64>) -> Self {
        self.signing_time = at;
        self
    }
    /// Sets the digest algorithm.
    pub fn with_digest(mut self, digest: Algorithm) -> Self {
        self.digest = digest;
        self
    }
    /// Sets what happens to an already signed input.
    pub fn with_existing(mut self, existing: Existing) -> Self {
        self.existing = existing;
        self
    }
    /// Sets the TSAs.
    pub fn with_timestamp(mut self, urls: Vec<String>, timeout: Duration) -> Self {
        self.timestamp_urls = urls;
        self.timestamp_timeout = timeout;
        self
    }
    /// Sets the description (SpcSpOpusInfo programName).
    pub fn with_description(mut self, description: Option<String>) -> Self {
        self.description = description;
        self
    }
    /// Refuse (not warn about) a certificate without the code-signing EKU.
    pub fn with_strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }
}

/// `SOURCE_DATE_EPOCH`, when set and not empty: the signing time of a reproducible build.
pub fn source_date_epoch() -> Result<Option<i64>, Error> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| Error::SourceDateEpoch { value: v }),
        _ => Ok(None),
    }
}

/// Why a file was not signed. The input is never changed when signing fails.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Writing the output failed (nothing was replaced).
    #[error("{}: cannot write the signed file{} (the input is unchanged): {source}", input.display(), elsewhere(input, path))]
    Write {
        /// The file being signed.
        input: PathBuf,
        /// The output.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The input is not a PE file.
    #[error("{}: {source}", path.display())]
    NotPe {
        /// The file.
        path: PathBuf,
        /// Why pegate-pe rejected it.
        #[source]
        source: pegate_pe::Error,
    },
    /// The input is a PE file that cannot be signed as it is.
    #[error("{}: {reason}", path.display())]
    BadInput {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The input is signed and neither appending nor replacing was asked for.
    #[error("{}: already signed; add a nested signature with --append or drop the old ones with --replace", path.display())]
    AlreadySigned {
        /// The file.
        path: PathBuf,
    },
    /// The key file cannot be used.
    #[error("key {}: {reason}", path.display())]
    Key {
        /// The key file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A certificate file cannot be used.
    #[error("certificate {}: {reason}", path.display())]
    Certificate {
        /// The certificate file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// No certificate given matches the key.
    #[error("key {} does not match any certificate in {}", key.display(), certificates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate files.
        certificates: Vec<PathBuf>,
    },
    /// The signer certificate is outside its validity period, or unreadable.
    #[error("signer certificate {subject}: {reason}")]
    CertificateNotValid {
        /// Its subject.
        subject: String,
        /// Expired, not yet valid, or unreadable.
        reason: String,
    },
    /// The signer certificate lacks the code-signing EKU and strictness was asked for.
    #[error(
        "signer certificate {subject} has no code-signing extended key usage (1.3.6.1.5.5.7.3.3); Windows rejects such signatures"
    )]
    NoCodeSigning {
        /// Its subject.
        subject: String,
    },
    /// The signer failed.
    #[error("{}: signing failed: {source}", path.display())]
    Signer {
        /// The file being signed.
        path: PathBuf,
        /// The signer's error.
        #[source]
        source: SignerError,
    },
    /// No TSA gave a timestamp.
    #[error("{}: {source}", path.display())]
    Timestamp {
        /// The file being signed.
        path: PathBuf,
        /// Every TSA's failure.
        #[source]
        source: timestamp::Error,
    },
    /// The output would not fit the PE format's 32-bit offsets.
    #[error("the signed file would exceed the 4 GiB the certificate table's offset can address")]
    TooLarge,
    /// `SOURCE_DATE_EPOCH` is not an integer.
    #[error("SOURCE_DATE_EPOCH={value:?} is not a number of seconds")]
    SourceDateEpoch {
        /// Its value.
        value: String,
    },
}

/// What signing a file did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outcome {
    /// The file written.
    pub output: PathBuf,
    /// The Authenticode image hash signed, hex.
    pub image_digest: String,
    /// What deserves attention but did not stop signing (a certificate without the
    /// code-signing EKU when not strict).
    pub warnings: Vec<String>,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks the signer certificate: inside its validity period at `at`, and with the
/// code-signing EKU (a warning, or an error when `strict`). Returns the warnings.
pub fn check_certificate(leaf: &[u8], at: i64, strict: bool) -> Result<Vec<String>, Error> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| Error::CertificateNotValid {
            subject: "(unreadable)".to_owned(),
            reason: format!("not DER X.509: {e}"),
        })?;
    let subject = cert.subject().to_string();
    let v = cert.validity();
    if at < v.not_before.timestamp() {
        return Err(Error::CertificateNotValid {
            subject,
            reason: format!("not valid before {}", v.not_before),
        });
    }
    if at > v.not_after.timestamp() {
        return Err(Error::CertificateNotValid {
            subject,
            reason: format!("expired {}", v.not_after),
        });
    }
    let code_signing = cert
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|e| e.value.code_signing);
    if code_signing {
        Ok(Vec::new())
    } else if strict {
        Err(Error::NoCodeSigning { subject })
    } else {
        Ok(vec![format!(
            "signer certificate {subject} has no code-signing extended key usage (1.3.6.1.5.5.7.3.3); Windows rejects such signatures"
        )])
    }
}

/// Signs the PE file at `input`, writing the result to `output` (default: `input` itself,
/// replaced atomically). On error nothing is written.
pub fn sign_path(
    input: &Path,
    output: Option<&Path>,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<Outcome, Error> {
    let data = std::fs::read(input).map_err(|source| Error::Io {
        path: input.to_path_buf(),
        source,
    })?;
    let leaf = signer.certificates().first().ok_or_else(|| Error::Signer {
        path: input.to_path_buf(),
        source: SignerError::new("the signer has no certificate"),
    })?;
    let warnings = check_certificate(leaf, opts.now.unwrap_or_else(now), opts.strict)?;
    let (parts, image_digest) = sign_bytes(input, &data, signer, opts)?;
    let target = output.unwrap_or(input);
    let permissions = std::fs::metadata(input).ok().map(|m| m.permissions());
    let slices: Vec<&[u8]> = parts.iter().map(|p| p.as_slice(&data)).collect();
    write::atomic(target, &slices, permissions).map_err(|source| Error::Write {
        input: input.to_path_buf(),
        path: target.to_path_buf(),
        source,
    })?;
    Ok(Outcome {
        output: target.to_path_buf(),
        image_digest: image_digest.iter().map(|b| format!("{b:02x}")).collect(),
        warnings,
    })
}

/// A piece of the output: a range of the input, or new bytes.
enum Part {
    Input(std::ops::Range<usize>),
    New(Vec<u8>),
}

impl Part {
    fn as_slice<'a>(&'a self, input: &'a [u8]) -> &'a [u8] {
        match self {
            Part::Input(r) => input.get(r.clone()).unwrap_or_default(),
            Part::New(v) => v,
        }
    }
}

/// The signed file as pieces (headers patched, the input's bytes, padding, the table), and
/// the image hash signed.
fn sign_bytes(
    path: &Path,
    data: &[u8],
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<(Vec<Part>, Vec<u8>), Error> {
    let view = pegate_pe::PeView::parse(data).map_err(|source| Error::NotPe {
        path: path.to_path_buf(),
        source,
    })?;
    let layout = pe::layout(path, data, &view)?;
    let outer = outer_signature(path, &layout, opts.existing)?;
    let table_start = layout.keep.checked_add(layout.pad).ok_or(Error::TooLarge)?;
    let image_digest = digest_image(path, data, &view, &layout, opts.digest)?;
    let der = signature(path, signer, opts, &image_digest, outer)?;
    let entry = pe::entry(&der)?;
    let table_offset = u32::try_from(table_start).map_err(|_| Error::TooLarge)?;
    let table_size = u32::try_from(entry.len()).map_err(|_| Error::TooLarge)?;
    table_offset
        .checked_add(table_size)
        .ok_or(Error::TooLarge)?;
    Ok((
        parts(data, &layout, table_offset, table_size, entry),
        image_digest,
    ))
}

/// The signature a new one is nested into (`--append`), `None` for an unsigned input or with
/// `--replace`; an error for a signed input without either.
fn outer_signature<'a>(
    path: &Path,
    layout: &pe::Layout<'a>,
    existing: Existing,
) -> Result<Option<&'a [u8]>, Error> {
    match (layout.signature, existing) {
        (None, _) | (Some(_), Existing::Replace) => Ok(None),
        (Some(_), Existing::Refuse) => Err(Error::AlreadySigned {
            path: path.to_path_buf(),
        }),
        (Some(sig), Existing::Append) => {
            if layout.pad != 0 {
                return Err(Error::BadInput {
                    path: path.to_path_buf(),
                    reason: "the certificate table does not start on an 8-byte boundary; a nested signature would not match the existing one (use --replace)".to_owned(),
                });
            }
            Ok(Some(sig))
        }
    }
}

/// The Authenticode image digest of the output: the input's bytes up to the table, then the
/// alignment zeros, as the output will hold them.
fn digest_image(
    path: &Path,
    data: &[u8],
    view: &pegate_pe::PeView<'_>,
    layout: &pe::Layout<'_>,
    alg: Algorithm,
) -> Result<Vec<u8>, Error> {
    let table_start = layout.keep.saturating_add(layout.pad);
    let kept = data.get(..layout.keep).unwrap_or_default();
    let read_at = |pos: u64, buf: &mut [u8]| -> std::io::Result<usize> {
        let pos = usize::try_from(pos).unwrap_or(usize::MAX);
        let avail = table_start.saturating_sub(pos).min(buf.len());
        let dst = buf.get_mut(..avail).unwrap_or_default();
        let from_data = kept.get(pos.min(kept.len())..).unwrap_or_default();
        let n = from_data.len().min(avail);
        let (copied, zeros) = dst.split_at_mut(n);
        copied.copy_from_slice(from_data.get(..n).unwrap_or_default());
        zeros.fill(0);
        Ok(avail)
    };
    pegate_authenticode::image_digest(view, table_start as u64, table_start as u64, alg, read_at)
        .map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// The PKCS#7 SignedData over `image_digest`, timestamped when URLs are given, nested into
/// `outer` when appending.
fn signature(
    path: &Path,
    signer: &dyn Signer,
    opts: &SignOptions,
    image_digest: &[u8],
    outer: Option<&[u8]>,
) -> Result<Vec<u8>, Error> {
    let bad = |e: &dyn std::fmt::Display| Error::BadInput {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let req = pkcs7::Request {
        alg: opts.digest,
        image_digest,
        signing_time: opts.signing_time.unwrap_or_else(now),
        description: opts.description.as_deref(),
        sequence: match outer {
            Some(o) => Some(
                pkcs7::nested_count(o)
                    .map_err(|e| bad(&e))?
                    .saturating_add(1) as u64,
            ),
            None => None,
        },
    };
    let urls = &opts.timestamp_urls;
    let mut stamp = |sig: &[u8]| -> Result<Option<Vec<u8>>, timestamp::Error> {
        if urls.is_empty() {
            return Ok(None);
        }
        timestamp::fetch(urls, opts.digest, sig, opts.timestamp_timeout).map(Some)
    };
    let new = pkcs7::signed_data(signer, &req, &mut stamp).map_err(|e| match e {
        pkcs7::BuildError::Signer(reason) => Error::Signer {
            path: path.to_path_buf(),
            source: SignerError::new(reason),
        },
        pkcs7::BuildError::Timestamp(source) => Error::Timestamp {
            path: path.to_path_buf(),
            source,
        },
    })?;
    match outer {
        Some(outer) => pkcs7::nest(outer, &new).map_err(|e| bad(&e)),
        None => Ok(new),
    }
}

/// The output as parts: the headers with the security directory entry and the checksum
/// patched, the input's bytes up to the old table, the alignment zeros, the new table.
fn parts(
    data: &[u8],
    layout: &pe::Layout<'_>,
    table_offset: u32,
    table_size: u32,
    entry: Vec<u8>,
) -> Vec<Part> {
    let head_len = layout
        .security_entry
        .saturating_add(8)
        .max(layout.checksum_field.saturating_add(4));
    let mut head = data.get(..head_len).unwrap_or_default().to_vec();
    let patch = |head: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        if let Some(dst) = head.get_mut(at..at.saturating_add(bytes.len())) {
            dst.copy_from_slice(bytes);
        }
    };
    patch(
        &mut head,
        layout.security_entry,
        &table_offset.to_le_bytes(),
    );
    patch(
        &mut head,
        layout.security_entry.saturating_add(4),
        &table_size.to_le_bytes(),
    );
    let body = head_len..layout.keep;
    let pad = vec![0u8; layout.pad];
    let mut sum = pegate_pe::Checksum::new(layout.checksum_field);
    sum.update(&head);
    sum.update(data.get(body.clone()).unwrap_or_default());
    sum.update(&pad);
    sum.update(&entry);
    let checksum = sum.finish();
    patch(&mut head, layout.checksum_field, &checksum.to_le_bytes());
    vec![
        Part::New(head),
        Part::Input(body),
        Part::New(pad),
        Part::New(entry),
    ]
}

/// ` OUT` when the signed file goes to a path other than the input's (`--output`), else nothing:
/// the input is named once.
fn elsewhere(input: &std::path::Path, output: &std::path::Path) -> String {
    if input == output {
        String::new()
    } else {
        format!(" {}", output.display())
    }
}
