//! Chain verification against a CA bundle, for code signing, at the timestamp's time.
//!
//! OpenSSL builds and verifies the chain (signature, validity at the chosen time, CA
//! constraints, path length; loops end at its depth limit); pegate then requires the
//! `codeSigning` extended key usage on the leaf when the leaf has an EKU extension at all,
//! the rule osslsigncode and Windows apply.
//!
//! Every certificate in the bundle is a trust anchor, self-signed or not (OpenSSL's
//! `X509_V_FLAG_PARTIAL_CHAIN`): UEFI firmware's `db` holds the Microsoft UEFI CA 2011 and 2023
//! *intermediate* certificates and trusts what they sign without their roots, and sbverify
//! `--cert` and signify judge the same way. The verdict names the anchor the chain ended at.

use std::path::Path;

use openssl::pkcs7::{Pkcs7, Pkcs7Flags};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyFlags;
use openssl::x509::{X509, X509StoreContext};

use crate::Error;

/// A set of trusted root (and intermediate) certificates, from a PEM bundle.
pub struct TrustStore {
    certs: Vec<X509>,
    /// Where it came from, for messages.
    pub source: String,
}

impl std::fmt::Debug for TrustStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrustStore")
            .field("source", &self.source)
            .field("certificates", &self.certs.len())
            .finish()
    }
}

impl Clone for TrustStore {
    fn clone(&self) -> Self {
        TrustStore {
            certs: self.certs.clone(),
            source: self.source.clone(),
        }
    }
}

impl TrustStore {
    /// Reads every certificate of a PEM bundle.
    pub fn from_pem_file(path: &Path) -> Result<TrustStore, Error> {
        let pem = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        TrustStore::from_pem(&pem, &path.display().to_string())
    }

    /// Reads every certificate of PEM text.
    pub fn from_pem(pem: &[u8], source: &str) -> Result<TrustStore, Error> {
        let certs = X509::stack_from_pem(pem).map_err(|e| Error::TrustBundle {
            source_name: source.to_owned(),
            reason: e.to_string(),
        })?;
        if certs.is_empty() {
            return Err(Error::TrustBundle {
                source_name: source.to_owned(),
                reason: "no certificate in it".to_owned(),
            });
        }
        Ok(TrustStore {
            certs,
            source: source.to_owned(),
        })
    }

    fn store(&self, at: i64) -> Result<X509Store, TrustError> {
        let mut b = X509StoreBuilder::new().map_err(library)?;
        for c in &self.certs {
            b.add_cert(c.clone()).map_err(library)?;
        }
        let mut param = openssl::x509::verify::X509VerifyParam::new().map_err(library)?;
        param.set_time(at as _);
        param
            .set_flags(X509VerifyFlags::USE_CHECK_TIME | X509VerifyFlags::PARTIAL_CHAIN)
            .map_err(library)?;
        param.set_depth(16);
        b.set_param(&param).map_err(library)?;
        Ok(b.build())
    }
}

impl std::fmt::Display for Trusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain verified for code signing (issued by {}; anchor {})",
            self.issuer, self.anchor
        )
    }
}

/// Why a signature's chain was not judged trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    /// OpenSSL cannot read the signature as PKCS#7.
    #[error("cannot read the PKCS#7: {reason}")]
    UnreadablePkcs7 {
        /// OpenSSL's first reason.
        reason: String,
    },
    /// The PKCS#7 is not SignedData.
    #[error("not SignedData")]
    NotSignedData,
    /// The signature carries no certificate to build a chain from.
    #[error("the signature carries no certificates")]
    NoCertificates,
    /// No carried certificate matches the SignerInfo.
    #[error("cannot find the signer's certificate: {reason}")]
    SignerNotFound {
        /// OpenSSL's message.
        reason: String,
    },
    /// OpenSSL found no signer at all.
    #[error("no signer certificate")]
    NoSigner,
    /// The chain does not reach the bundle, or breaks a rule on the way.
    #[error("chain not trusted: {reason} (at depth {depth})")]
    ChainNotTrusted {
        /// OpenSSL's verification error.
        reason: String,
        /// Where in the chain, 0 the leaf.
        depth: u32,
    },
    /// The leaf's extended key usage excludes code signing.
    #[error("the signer's certificate is not for code signing (no codeSigning EKU)")]
    NotForCodeSigning,
    /// The leaf's extended key usage cannot be read.
    #[error("cannot read the signer's extended key usage: {reason}")]
    UnreadableEku {
        /// x509-parser's message.
        reason: String,
    },
    /// A nested signature whose DER was not found beside the parsed one.
    #[error("the nested signature could not be located for a chain check")]
    NestedNotLocated,
    /// OpenSSL or x509-parser failed in a step that does not depend on the signature.
    #[error("{reason}")]
    Library {
        /// The library's message.
        reason: String,
    },
}

fn library(e: impl std::fmt::Display) -> TrustError {
    TrustError::Library {
        reason: e.to_string(),
    }
}

impl TrustStore {}

/// A chain that reached the bundle, for code signing.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Trusted {
    /// The signer's issuer, its name's values joined by `, `.
    pub issuer: String,
    /// The subject of the bundle certificate the chain ended at (`CN=..., O=...`, most
    /// specific last as OpenSSL prints it).
    pub anchor: String,
}

/// Whether the signer of `der` (one PKCS#7 SignedData) chains to the store at time `at`
/// (Unix seconds) for code signing. `Err` says why not.
pub(crate) fn verify(store: &TrustStore, der: &[u8], at: i64) -> Result<Trusted, TrustError> {
    // authenticode-parser leaves OpenSSL's thread-local error queue filled; start clean so
    // messages here describe this call only.
    drop(openssl::error::ErrorStack::get());
    let pkcs7 =
        Pkcs7::from_der(der).map_err(|e| TrustError::UnreadablePkcs7 { reason: first(&e) })?;
    let signed = pkcs7.signed().ok_or(TrustError::NotSignedData)?;
    let certs = signed.certificates().ok_or(TrustError::NoCertificates)?;
    let mut chain = Stack::new().map_err(library)?;
    for c in certs {
        chain.push(c.to_owned()).map_err(library)?;
    }
    let signers =
        pkcs7
            .signers(&chain, Pkcs7Flags::empty())
            .map_err(|e| TrustError::SignerNotFound {
                reason: e.to_string(),
            })?;
    let leaf = signers
        .iter()
        .next()
        .ok_or(TrustError::NoSigner)?
        .to_owned();
    let store = store.store(at)?;
    let mut ctx = X509StoreContext::new().map_err(library)?;
    let ok = ctx
        .init(&store, &leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            // The verified chain ends at the anchor from the bundle.
            let anchor = c
                .chain()
                .and_then(|chain| chain.iter().last().map(|a| oneline(a.subject_name())));
            Ok((
                ok,
                c.error().error_string().to_owned(),
                c.error_depth(),
                anchor,
            ))
        })
        .map_err(library)?;
    let (verified, why, depth, anchor) = ok;
    if !verified {
        return Err(TrustError::ChainNotTrusted { reason: why, depth });
    }
    let der = leaf.to_der().map_err(library)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(library)?;
    match cert.extended_key_usage() {
        Ok(Some(eku)) if !eku.value.code_signing && !eku.value.any => {
            Err(TrustError::NotForCodeSigning)
        }
        Ok(_) => Ok(Trusted {
            issuer: issuer_of(&leaf),
            anchor: anchor.unwrap_or_default(),
        }),
        Err(e) => Err(TrustError::UnreadableEku {
            reason: e.to_string(),
        }),
    }
}

/// The first reason of an OpenSSL error stack (the rest repeats it at other ASN.1 levels).
fn first(e: &openssl::error::ErrorStack) -> String {
    e.errors()
        .first()
        .map(|x| x.reason().unwrap_or("unknown").to_owned())
        .unwrap_or_else(|| e.to_string())
}

fn issuer_of(leaf: &X509) -> String {
    leaf.issuer_name()
        .entries()
        .filter_map(|e| e.data().to_string().ok())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A name as `C=US, O=Microsoft Corporation, CN=Microsoft UEFI CA 2023`.
fn oneline(name: &openssl::x509::X509NameRef) -> String {
    name.entries()
        .map(|e| {
            let key = e.object().nid().short_name().unwrap_or("?");
            let value = e
                .data()
                .to_string()
                .map(|v| v.to_string())
                .unwrap_or_default();
            format!("{key}={value}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}
