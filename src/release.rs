//! Signing a built matrix before its checksums are written: the one library call that
//! `pegate build --sign` and `cargo xtask verify --sign-test` share.
//!
//! [`CellSigner`] signs each cell of the matrix in place as soon as that cell is built (the hook
//! of [`pegate_go::matrix::build_then`]), reads it back (its signature must match the file) and
//! brings the cell's SHA-256 and size up to date, so that a `checksums.txt` written from the
//! report afterwards lists the signed files; a cell it cannot sign fails, and its unsigned file
//! is removed. [`sign_matrix`] does the same for a matrix already built, all or nothing.
//! [`image_hash_lines`] renders `checksums.authenticode.txt`: each artifact's Authenticode image
//! hash, which signing does not change.

use std::path::PathBuf;
use std::sync::Mutex;

use pegate_go::matrix::{
    Artifact, CellError, CellErrorKind, CellOutcome, CellResult, MatrixReport,
};
use pegate_sign::{SignOptions, Signer};
use rayon::prelude::*;

/// One signed artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedArtifact {
    /// The file, signed in place.
    pub path: PathBuf,
    /// Its Authenticode image hash (the digest the signature covers), lowercase hex.
    pub image_digest: String,
}

/// What [`sign_matrix`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MatrixSigning {
    /// Every artifact, in the report's order.
    pub signed: Vec<SignedArtifact>,
    /// Warnings about the signer (a certificate without the code-signing EKU), once.
    pub warnings: Vec<String>,
}

/// An artifact could not be signed or read back; the message names the file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignError {
    /// The artifact.
    pub path: PathBuf,
    /// What went wrong, naming the file.
    pub message: String,
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SignError {}

impl SignedArtifact {
    /// A signed artifact: the file and its image hash (hex).
    pub fn new(path: PathBuf, image_digest: String) -> SignedArtifact {
        SignedArtifact { path, image_digest }
    }
}

/// Signs one file in place; the error names it.
pub fn sign_file(
    file: &std::path::Path,
    output: Option<&std::path::Path>,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<pegate_sign::Outcome, SignError> {
    pegate_sign::sign_path(file, output, signer, opts).map_err(|e| SignError {
        path: file.to_path_buf(),
        message: match e {
            // The others name the input already.
            pegate_sign::Error::CertificateNotValid { .. }
            | pegate_sign::Error::NoCodeSigning { .. } => {
                format!("sign {}: {e}", file.display())
            }
            e => e.to_string(),
        },
    })
}

/// Signs one built artifact in place, reads it back with pegate's verifier (its signature must
/// match the file) and replaces the artifact's SHA-256 and size with the signed file's.
pub fn sign_artifact(
    artifact: &mut Artifact,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<pegate_sign::Outcome, SignError> {
    let outcome = sign_file(&artifact.path, None, signer, opts)?;
    let back = |message: String| SignError {
        path: artifact.path.clone(),
        message: format!("read back {}: {message}", artifact.path.display()),
    };
    let check = pegate_authenticode::verify_path(
        &artifact.path,
        &pegate_authenticode::VerifyOptions::default().with_file_sha256(true),
    )
    .map_err(|e| back(e.to_string()))?;
    if !check.signatures.iter().all(|s| s.digest_matches) {
        return Err(back(
            "the signature written does not match the file".to_owned(),
        ));
    }
    let sha256 = check
        .file_sha256
        .ok_or_else(|| back("no SHA-256 of the file".to_owned()))?;
    let size = std::fs::metadata(&artifact.path)
        .map_err(|e| back(e.to_string()))?
        .len();
    artifact.sha256 = sha256;
    artifact.size = size;
    Ok(outcome)
}

/// Signs each cell of a matrix as soon as it is built: the `after` hook of
/// [`pegate_go::matrix::build_then`], so that signing runs on the build's threads, in parallel
/// with the cells still building (a [`Signer`] serialises what cannot be shared: a PKCS#11
/// session signs under a lock, while the image hashes are still computed in parallel).
///
/// A cell that cannot be signed becomes a failed cell of kind [`CellErrorKind::Sign`] whose
/// message names the file and the cause, and its unsigned file is removed: a checksums file
/// written from the report afterwards lists signed artifacts only, and no unsigned file is
/// left where a release would pick it up.
pub struct CellSigner<'a> {
    signer: &'a dyn Signer,
    opts: &'a SignOptions,
    signed: Mutex<Vec<SignedArtifact>>,
    warnings: Mutex<Option<Vec<String>>>,
}

impl std::fmt::Debug for CellSigner<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CellSigner")
            .field("opts", self.opts)
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

impl<'a> CellSigner<'a> {
    /// A hook signing with `signer` as `opts` say.
    pub fn new(signer: &'a dyn Signer, opts: &'a SignOptions) -> CellSigner<'a> {
        CellSigner {
            signer,
            opts,
            signed: Mutex::new(Vec::new()),
            warnings: Mutex::new(None),
        }
    }

    /// Signs `result`'s artifact, if it has one (see [`sign_artifact`]); on failure the cell
    /// fails (kind [`CellErrorKind::Sign`]) and its unsigned file is removed.
    pub fn sign_cell(&self, result: &mut CellResult) {
        let CellOutcome::Built(artifact) = &mut result.outcome else {
            return;
        };
        match sign_artifact(artifact, self.signer, self.opts) {
            Ok(outcome) => {
                if let Ok(mut w) = self.warnings.lock() {
                    w.get_or_insert(outcome.warnings);
                }
                if let Ok(mut signed) = self.signed.lock() {
                    signed.push(SignedArtifact::new(outcome.output, outcome.image_digest));
                }
            }
            Err(e) => {
                let removed = match std::fs::remove_file(&artifact.path) {
                    Ok(()) => "the unsigned file was removed".to_owned(),
                    Err(r) if r.kind() == std::io::ErrorKind::NotFound => {
                        "no file is left".to_owned()
                    }
                    Err(r) => {
                        format!("the unsigned file could not be removed ({r}): do not ship it")
                    }
                };
                result.outcome = CellOutcome::Failed(CellError::new(
                    CellErrorKind::Sign,
                    &result.cell,
                    format!("not signed: {e}; {removed}"),
                ));
            }
        }
    }

    /// What was signed, in the order of `report`'s artifacts, and the signer's warnings.
    pub fn finish(self, report: &MatrixReport) -> MatrixSigning {
        let mut signed = self.signed.into_inner().unwrap_or_default();
        let order: Vec<&std::path::Path> = report.artifacts().map(|a| a.path.as_path()).collect();
        signed.sort_by_key(|s| {
            order
                .iter()
                .position(|p| *p == s.path.as_path())
                .unwrap_or(usize::MAX)
        });
        MatrixSigning {
            signed,
            warnings: self
                .warnings
                .into_inner()
                .ok()
                .flatten()
                .unwrap_or_default(),
        }
    }
}

/// Signs every artifact of `report` in place (in parallel) with `signer` (see
/// [`sign_artifact`]), after the whole matrix was built; stops at the first failure. Call it
/// before writing checksums from the report. [`CellSigner`] signs each cell while the others
/// still build instead, and fails only the cells it could not sign.
pub fn sign_matrix(
    report: &mut MatrixReport,
    signer: &dyn Signer,
    opts: &SignOptions,
) -> Result<MatrixSigning, SignError> {
    let outcomes: Vec<Result<pegate_sign::Outcome, SignError>> = report
        .cells
        .par_iter_mut()
        .filter_map(|cell| match &mut cell.outcome {
            CellOutcome::Built(a) => Some(sign_artifact(a, signer, opts)),
            CellOutcome::Failed(_) => None,
        })
        .collect();
    let mut done = MatrixSigning::default();
    for outcome in outcomes {
        let outcome = outcome?;
        if done.signed.is_empty() {
            done.warnings = outcome.warnings;
        }
        done.signed.push(SignedArtifact {
            path: outcome.output,
            image_digest: outcome.image_digest,
        });
    }
    Ok(done)
}

/// `checksums.authenticode.txt`: each artifact's image hash and file name in sha256sum's layout.
pub fn image_hash_lines(signed: &[SignedArtifact]) -> String {
    let mut text = String::new();
    for s in signed {
        let name = s
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        text.push_str(&s.image_digest);
        text.push_str("  ");
        text.push_str(&name);
        text.push('\n');
    }
    text
}

/// A signed file's hashes that link it to a checksum taken before it was signed
/// (`checksum.match` accepts either; see [`presigning_hashes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PresigningHashes {
    /// The SHA-256 Authenticode image hash, hex: what `checksums.authenticode.txt` lists.
    pub image_sha256: String,
    /// SHA-256 of the file before signing, rebuilt (certificate table removed, security
    /// directory entry and CheckSum zeroed), hex; `None` when the certificate table is not the
    /// end of the file (something was appended after signing, so no rebuild is exact).
    pub unsigned_sha256: Option<String>,
}

/// The hashes of a signed PE file that a checksum taken before signing can match; `Ok(None)`
/// for a file without a certificate table inside the file.
///
/// What is sound: the image hash skips exactly what signing changes (the CheckSum field, the
/// security directory entry, the certificate table), so a checksums file of image hashes
/// (`pegate build --sign`'s `checksums.authenticode.txt`) links the signed file to the bytes
/// that were checksummed. A plain SHA-256 of the unsigned file covers those fields too, and
/// their old values are known only when the signer changed nothing else: the old security
/// entry was empty (the file was unsigned), the old CheckSum was 0 (Go's linker never writes
/// one; MinGW's ld and MSVC's link with /RELEASE do, and their files cannot be rebuilt), and
/// the table was appended without alignment padding (Go files are 512-aligned). The rebuild
/// assumes exactly that, so a match is exact and a file it does not fit simply does not match.
pub fn presigning_hashes(path: &std::path::Path) -> Result<Option<PresigningHashes>, SignError> {
    let fail = |message: String| SignError {
        path: path.to_path_buf(),
        message: format!("{}: {message}", path.display()),
    };
    let data = std::fs::read(path).map_err(|e| fail(format!("read: {e}")))?;
    let view = pegate_pe::PeView::parse(&data).map_err(|e| fail(e.to_string()))?;
    let Some(dir) = view.security_directory() else {
        return Ok(None);
    };
    let len = data.len() as u64;
    let start = u64::from(dir.offset);
    let end = start.saturating_add(u64::from(dir.size));
    if end > len || start < view.headers_end() {
        return Ok(None);
    }
    let image = pegate_authenticode::image_digest(
        &view,
        len,
        start,
        pegate_authenticode::DigestAlgorithm::Sha256,
        |pos, buf| {
            let from = usize::try_from(pos).unwrap_or(usize::MAX);
            let src = data.get(from..).unwrap_or_default();
            let n = src.len().min(buf.len());
            if let (Some(dst), Some(src)) = (buf.get_mut(..n), src.get(..n)) {
                dst.copy_from_slice(src);
            }
            Ok(n)
        },
    )
    .map_err(|e| fail(format!("image hash: {e}")))?;
    let unsigned = if end == len {
        unsigned_sha256(&data, &view, start)
    } else {
        None
    };
    Ok(Some(PresigningHashes {
        image_sha256: hex(&image),
        unsigned_sha256: unsigned,
    }))
}

/// SHA-256 of `data[..table]` with the CheckSum field and the security directory entry zeroed.
fn unsigned_sha256(data: &[u8], view: &pegate_pe::PeView<'_>, table: u64) -> Option<String> {
    use sha2::Digest as _;
    let mut bytes = data.get(..usize::try_from(table).ok()?)?.to_vec();
    let checksum = view.checksum_field_offset();
    bytes.get_mut(checksum..checksum.checked_add(4)?)?.fill(0);
    let security = view.security_entry_offset()?;
    bytes.get_mut(security..security.checked_add(8)?)?.fill(0);
    Some(hex(&sha2::Sha256::digest(&bytes)))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use sha2::Digest as _;

    fn fixture(name: &str) -> PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/authenticode")
            .join(name)
    }

    /// osslsigncode signed `amd64-unsigned.exe` into the signed and nested fixtures (see
    /// `cargo xtask sign-fixtures`): the rebuild gives back the unsigned file's SHA-256, and
    /// the image hash is the digest osslsigncode signed. Anything that breaks the rebuild's
    /// assumptions gives no rebuild rather than a wrong one; hostile files give an error.
    #[test]
    fn presigning_hashes_of_osslsigncode_fixtures_and_broken_files() {
        let unsigned = std::fs::read(fixture("amd64-unsigned.exe")).unwrap();
        let pre = hex(&sha2::Sha256::digest(&unsigned));
        assert_eq!(
            presigning_hashes(&fixture("amd64-unsigned.exe")).unwrap(),
            None
        );
        for name in ["amd64-signed.exe", "amd64-nested.exe"] {
            let h = presigning_hashes(&fixture(name)).unwrap().unwrap();
            assert_eq!(h.unsigned_sha256.as_deref(), Some(pre.as_str()), "{name}");
            let report = pegate_authenticode::verify_path(
                &fixture(name),
                &pegate_authenticode::VerifyOptions::default(),
            )
            .unwrap();
            assert!(report.signatures.iter().all(|s| s.digest_matches), "{name}");
            // The digest osslsigncode put in its SHA-256 signature (the nested fixture's outer
            // signature is SHA-1).
            let sha256 = report
                .signatures
                .iter()
                .find(|s| {
                    s.digest_algorithm.as_ref().and_then(|d| d.known())
                        == Some(&pegate_authenticode::DigestAlgorithm::Sha256)
                })
                .unwrap();
            assert_eq!(
                sha256.signed_digest.as_deref().map(str::to_ascii_lowercase),
                Some(h.image_sha256.clone()),
                "{name}"
            );
            assert_ne!(h.image_sha256, pre, "{name}");
        }
        let dir = std::env::temp_dir().join(format!("pegate-release-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A byte appended after the table: no exact rebuild, the image hash is still given.
        let mut appended = std::fs::read(fixture("amd64-signed.exe")).unwrap();
        appended.push(0);
        let path = dir.join("appended.exe");
        std::fs::write(&path, &appended).unwrap();
        let h = presigning_hashes(&path).unwrap().unwrap();
        assert_eq!(h.unsigned_sha256, None);
        // The table runs past the end of the file: nothing to link.
        assert_eq!(
            presigning_hashes(&fixture("amd64-truncated-table.exe")).unwrap(),
            None
        );
        let path = dir.join("not-pe.exe");
        std::fs::write(&path, b"MZ and nothing else").unwrap();
        let e = presigning_hashes(&path).unwrap_err();
        assert!(e.message.starts_with(&path.display().to_string()), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
