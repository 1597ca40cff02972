//! The certificates embedded in signatures, each loaded by OpenSSL once per run: one bounded
//! cache keyed by DER, which the precheck (`der/`: does the certificate load?) and the fast path
//! (`fast/`: its key, its chain and its summary) share.
//!
//! The files of a release share their signer's and their timestamping authority's chains, so a
//! batch loads each of those certificates once rather than once per file. What is cached
//! depends on the DER alone; a certificate that does not load is not cached, and is loaded again
//! (and refused again) wherever it appears.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};

use openssl::pkey::{PKey, Public};
use openssl::x509::X509;

use crate::der::CertificateProblem;
use crate::{CertificateInfo, pkcs7};

/// A certificate OpenSSL loaded, its public key included (authenticode-parser assumes both).
pub(crate) struct Cert {
    pub(crate) x509: X509,
    pub(crate) key: PKey<Public>,
    /// authenticode-parser's summary, made the first time the fast path asks for it (the
    /// precheck does not need it); `None` when the parser cannot summarise the certificate.
    info: OnceLock<Option<CertificateInfo>>,
}

impl Cert {
    /// authenticode-parser's summary of this certificate, whose DER is `der` (the key it was
    /// loaded under).
    pub(crate) fn info(&self, der: &[u8]) -> Option<&CertificateInfo> {
        self.info
            .get_or_init(|| pkcs7::certificate_info(der))
            .as_ref()
    }
}

/// Hashes a certificate's DER by its length and last 16 bytes (its signature's): the key
/// compare is the whole DER anyway, and hashing kilobytes per lookup would cost more than the
/// lookup saves.
#[derive(Default)]
struct TailHasher(u64);

impl Hasher for TailHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let tail = bytes
            .get(bytes.len().saturating_sub(16)..)
            .unwrap_or_default();
        for chunk in tail.chunks(8) {
            let mut v = [0u8; 8];
            if let Some(dst) = v.get_mut(..chunk.len()) {
                dst.copy_from_slice(chunk);
            }
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(v))
                .wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
        self.0 ^= bytes.len() as u64;
    }
}

type CertCache = HashMap<Box<[u8]>, Arc<Cert>, BuildHasherDefault<TailHasher>>;

/// Certificates that loaded, by their DER. Bounded: emptied when full.
static CERTS: LazyLock<Mutex<CertCache>> = LazyLock::new(Mutex::default);
const MAX_CERTS: usize = 256;

/// The certificate whose DER is `der`, loaded by OpenSSL with its public key; from the cache
/// when it loaded before. The answer depends on the bytes alone.
pub(crate) fn load(der: &[u8]) -> Result<Arc<Cert>, CertificateProblem> {
    // A poisoned lock (a panic elsewhere while holding it) only costs the cache.
    if let Some(c) = CERTS.lock().ok().and_then(|m| m.get(der).cloned()) {
        return Ok(c);
    }
    let x509 = X509::from_der(der).map_err(|e| CertificateProblem::Unloadable {
        reason: e.to_string(),
    })?;
    let key = x509
        .public_key()
        .map_err(|e| CertificateProblem::UnusablePublicKey {
            reason: e.to_string(),
        })?;
    let cert = Arc::new(Cert {
        x509,
        key,
        info: OnceLock::new(),
    });
    if let Ok(mut m) = CERTS.lock() {
        if m.len() >= MAX_CERTS {
            m.clear();
        }
        m.insert(der.into(), Arc::clone(&cert));
    }
    Ok(cert)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// A certificate that loads comes with authenticode-parser's summary; one that does not
    /// says why, in OpenSSL's words.
    #[test]
    fn loads_and_summarises_or_says_why_not() {
        let pem = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/authenticode/leaf.pem"
        );
        let der = X509::from_pem(&std::fs::read(pem).unwrap())
            .unwrap()
            .to_der()
            .unwrap();
        let cert = load(&der).unwrap();
        assert_eq!(cert.info(&der), pkcs7::certificate_info(&der).as_ref());
        assert!(cert.info(&der).is_some());
        let err = load(&der[..der.len() - 1]).err().unwrap();
        assert!(
            matches!(err, CertificateProblem::Unloadable { .. }),
            "{err:?}"
        );
    }
}
