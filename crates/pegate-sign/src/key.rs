//! Keys and certificates from files: PEM or DER private keys (PKCS#8, encrypted or not;
//! PKCS#1; SEC1) and PKCS#12 bundles, read with OpenSSL; certificates in PEM or DER.
//!
//! Key bytes and passwords live in [`Zeroizing`] buffers, so they are wiped when dropped; the
//! parsed key is OpenSSL's, which clears its private numbers when it frees them
//! (`BN_clear_free`). Nothing here prints or writes key material.

use std::path::{Path, PathBuf};

use openssl::pkey::{Id, PKey, Private};
use openssl::x509::X509;
use zeroize::Zeroizing;

use crate::{Algorithm, Error, KeyKind, Signer, SignerError};

/// A password for an encrypted key or a PKCS#12 file, wiped from memory when dropped.
#[derive(Clone)]
pub struct Password(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// The environment variable a password may come from.
pub const PASSWORD_ENV: &str = "PEGATE_SIGN_PASSWORD";

impl Password {
    /// A password from bytes.
    pub fn new(bytes: Vec<u8>) -> Password {
        Password(Zeroizing::new(bytes))
    }

    /// The first line of a file (without its line ending).
    pub fn from_file(path: &Path) -> Result<Password, Error> {
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?);
        let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        Ok(Password::new(line.to_vec()))
    }

    /// [`PASSWORD_ENV`], when set.
    pub fn from_env() -> Option<Password> {
        std::env::var_os(PASSWORD_ENV).map(|v| Password::new(v.into_encoded_bytes()))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }

    fn as_str(&self) -> Result<&str, ()> {
        std::str::from_utf8(&self.0).map_err(|_| ())
    }
}

/// A signer whose key is read from a file.
pub struct FileSigner {
    key: PKey<Private>,
    kind: KeyKind,
    certs: Vec<Vec<u8>>,
}

impl std::fmt::Debug for FileSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileSigner")
            .field("kind", &self.kind)
            .field("certificates", &self.certs.len())
            .finish_non_exhaustive()
    }
}

impl FileSigner {
    /// Reads the key at `key_path` (PEM, DER or PKCS#12) and the certificates of `cert_paths`
    /// (PEM bundles or DER; a PKCS#12 file's own chain is used when none is given), puts the
    /// certificate of this key first, and checks the key's type and size.
    pub fn open(
        key_path: &Path,
        cert_paths: &[PathBuf],
        password: Option<&Password>,
    ) -> Result<FileSigner, Error> {
        let key_err = |reason: String| Error::Key {
            path: key_path.to_path_buf(),
            reason,
        };
        let bytes = Zeroizing::new(std::fs::read(key_path).map_err(|source| Error::Io {
            path: key_path.to_path_buf(),
            source,
        })?);
        let pass = match password {
            Some(p) => Some(
                p.as_str()
                    .map_err(|()| key_err("the password is not UTF-8".into()))?,
            ),
            None => None,
        };
        let (key, bundled) = read_key(&bytes, pass).map_err(key_err)?;
        let kind = check_key(&key).map_err(key_err)?;

        let mut certs: Vec<X509> = Vec::new();
        for path in cert_paths {
            let data = std::fs::read(path).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            certs.extend(read_certs(&data).map_err(|reason| Error::Certificate {
                path: path.clone(),
                reason,
            })?);
        }
        if certs.is_empty() {
            certs = bundled;
        }
        if certs.is_empty() {
            return Err(Error::Certificate {
                path: key_path.to_path_buf(),
                reason: "no certificate: give the signer's certificate with --cert".to_owned(),
            });
        }
        let leaf_at = certs
            .iter()
            .position(|c| c.public_key().is_ok_and(|p| p.public_eq(&key)))
            .ok_or_else(|| Error::KeyMismatch {
                key: key_path.to_path_buf(),
                certificates: if cert_paths.is_empty() {
                    vec![key_path.to_path_buf()]
                } else {
                    cert_paths.to_vec()
                },
            })?;
        let leaf = certs.remove(leaf_at);
        let mut ders: Vec<Vec<u8>> = Vec::with_capacity(certs.len().saturating_add(1));
        for c in std::iter::once(&leaf).chain(certs.iter()) {
            let der = c.to_der().map_err(|e| Error::Certificate {
                path: key_path.to_path_buf(),
                reason: e.to_string(),
            })?;
            if !ders.contains(&der) {
                ders.push(der);
            }
        }
        Ok(FileSigner {
            key,
            kind,
            certs: ders,
        })
    }
}

impl Signer for FileSigner {
    fn certificates(&self) -> &[Vec<u8>] {
        &self.certs
    }

    fn key_kind(&self) -> KeyKind {
        self.kind
    }

    fn sign_digest(&self, alg: Algorithm, digest: &[u8]) -> Result<Vec<u8>, SignerError> {
        let md = match alg {
            Algorithm::Md5 => openssl::md::Md::md5(),
            Algorithm::Sha1 => openssl::md::Md::sha1(),
            Algorithm::Sha224 => openssl::md::Md::sha224(),
            Algorithm::Sha256 => openssl::md::Md::sha256(),
            Algorithm::Sha384 => openssl::md::Md::sha384(),
            Algorithm::Sha512 => openssl::md::Md::sha512(),
        };
        let sign = || -> Result<Vec<u8>, openssl::error::ErrorStack> {
            let mut ctx = openssl::pkey_ctx::PkeyCtx::new(&self.key)?;
            ctx.sign_init()?;
            if self.kind == KeyKind::Rsa {
                ctx.set_rsa_padding(openssl::rsa::Padding::PKCS1)?;
            }
            // With the digest set, OpenSSL wraps it in a DigestInfo for RSA PKCS#1 v1.5, and
            // checks its length for ECDSA.
            ctx.set_signature_md(md)?;
            let mut sig = Vec::new();
            ctx.sign_to_vec(digest, &mut sig)?;
            Ok(sig)
        };
        sign().map_err(|e| SignerError::new(format!("the private key operation failed: {e}")))
    }
}

/// Parses a key file: PEM (any of OpenSSL's private key forms, certificates beside it kept),
/// PKCS#12, or DER (PKCS#8, encrypted PKCS#8, PKCS#1, SEC1).
fn read_key(bytes: &[u8], pass: Option<&str>) -> Result<(PKey<Private>, Vec<X509>), String> {
    let need_pass =
        "the key is encrypted: give its password with --password-file or PEGATE_SIGN_PASSWORD";
    if memchr_pem(bytes) {
        let encrypted = contains(bytes, b"ENCRYPTED");
        if encrypted && pass.is_none() {
            return Err(need_pass.to_owned());
        }
        let key = match pass {
            Some(p) => PKey::private_key_from_pem_passphrase(bytes, p.as_bytes()),
            None => PKey::private_key_from_pem(bytes),
        }
        .map_err(|e| {
            if encrypted {
                "wrong password, or a damaged encrypted key".to_owned()
            } else {
                format!("no private key in this PEM file ({e})")
            }
        })?;
        let certs = X509::stack_from_pem(bytes).unwrap_or_default();
        return Ok((key, certs));
    }
    if let Ok(p12) = openssl::pkcs12::Pkcs12::from_der(bytes) {
        let parsed = p12.parse2(pass.unwrap_or("")).map_err(|_| match pass {
            None => need_pass.to_owned(),
            Some(_) => "wrong password, or a damaged PKCS#12 file".to_owned(),
        })?;
        let key = parsed
            .pkey
            .ok_or_else(|| "the PKCS#12 file holds no private key".to_owned())?;
        let mut certs: Vec<X509> = parsed.cert.into_iter().collect();
        if let Some(ca) = parsed.ca {
            certs.extend(ca);
        }
        return Ok((key, certs));
    }
    if let Ok(key) = PKey::private_key_from_der(bytes) {
        return Ok((key, Vec::new()));
    }
    match pass {
        Some(p) => PKey::private_key_from_pkcs8_passphrase(bytes, p.as_bytes())
            .map(|k| (k, Vec::new()))
            .map_err(|_| {
                "wrong password, or not a private key (PEM or DER PKCS#8, PKCS#1, SEC1) nor a PKCS#12 file"
                    .to_owned()
            }),
        None => Err(
            "not a private key (PEM or DER PKCS#8, PKCS#1, SEC1) nor a PKCS#12 file; if it is encrypted, give its password"
                .to_owned(),
        ),
    }
}

fn memchr_pem(bytes: &[u8]) -> bool {
    contains(bytes, b"-----BEGIN ")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// RSA 2048–4096 bits, or ECDSA on P-256 or P-384: what Authenticode verifiers and the CA/B
/// Forum's code-signing requirements accept.
fn check_key(key: &PKey<Private>) -> Result<KeyKind, String> {
    match key.id() {
        Id::RSA => {
            let bits = key.bits();
            if (2048..=4096).contains(&bits) {
                Ok(KeyKind::Rsa)
            } else {
                Err(format!(
                    "an RSA key of {bits} bits: pegate signs with 2048 to 4096"
                ))
            }
        }
        Id::EC => {
            let ec = key.ec_key().map_err(|e| e.to_string())?;
            match ec.group().curve_name() {
                Some(openssl::nid::Nid::X9_62_PRIME256V1 | openssl::nid::Nid::SECP384R1) => {
                    Ok(KeyKind::Ecdsa)
                }
                other => Err(format!(
                    "an EC key on {}: pegate signs with P-256 or P-384",
                    other
                        .and_then(|n| n.short_name().ok())
                        .unwrap_or("an unnamed curve")
                )),
            }
        }
        other => Err(format!(
            "a {other:?} key: pegate signs with RSA (2048 to 4096 bits) or ECDSA (P-256, P-384)"
        )),
    }
}

/// Certificates of a PEM bundle or one DER certificate.
pub(crate) fn read_certs(data: &[u8]) -> Result<Vec<X509>, String> {
    if memchr_pem(data) {
        let certs = X509::stack_from_pem(data).map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no certificate in this PEM file".to_owned());
        }
        Ok(certs)
    } else {
        X509::from_der(data)
            .map(|c| vec![c])
            .map_err(|_| "not a certificate (PEM or DER X.509)".to_owned())
    }
}
