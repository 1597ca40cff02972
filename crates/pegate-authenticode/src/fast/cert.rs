//! The certificates of the fast path: each decoded once per run and kept in a bounded cache
//! keyed by its DER, the signer found among them, and its chain built as authenticode-parser
//! builds it.
//!
//! Separate because it is the one part with state shared across files (the cache), and the
//! one that calls OpenSSL's chain building.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use openssl::pkey::{PKey, Public};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};

use super::signed_data::Signer;
use crate::CertificateInfo;
use crate::der::tlv::{Tlv, items, single};
use crate::pkcs7;

/// A certificate as this path uses it, decoded once per run.
pub(super) struct Cert {
    x509: X509,
    pub(super) key: PKey<Public>,
    pub(super) info: CertificateInfo,
    /// The issuer Name, DER.
    issuer: Box<[u8]>,
    /// The serial number's INTEGER content.
    serial: Box<[u8]>,
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

/// Certificates by DER. Bounded: emptied when full.
static CERTS: LazyLock<Mutex<CertCache>> = LazyLock::new(Mutex::default);
const MAX_CERTS: usize = 256;

fn certificate(der: &[u8]) -> Option<Arc<Cert>> {
    if let Some(c) = CERTS.lock().ok().and_then(|m| m.get(der).cloned()) {
        return Some(c);
    }
    let cert = Arc::new(load(der)?);
    if let Ok(mut m) = CERTS.lock() {
        if m.len() >= MAX_CERTS {
            m.clear();
        }
        m.insert(der.into(), Arc::clone(&cert));
    }
    Some(cert)
}

fn load(der: &[u8]) -> Option<Cert> {
    // Certificate { TBSCertificate { [0] version OPTIONAL, serial, signature, issuer, ... } }
    let c = single(der)?;
    if c.tag != 0x30 {
        return None;
    }
    let mut tbs = items(items(c).take(0x30)?);
    tbs.optional(0xa0);
    let serial = tbs.take(0x02)?;
    tbs.take(0x30)?;
    let issuer = tbs.take(0x30)?;
    let x509 = X509::from_der(der).ok()?;
    let key = x509.public_key().ok()?;
    let info = pkcs7::certificate_info(der)?;
    Some(Cert {
        x509,
        key,
        info,
        issuer: issuer.whole.into(),
        serial: serial.content.into(),
    })
}

/// The X.509 certificates of a `[0] IMPLICIT` certificate set, and whether it also holds CMS's
/// other certificate choices (`[0]`–`[2]`: extended and attribute certificates, which OpenSSL's
/// CMS decoder keeps as raw SEQUENCEs and its PKCS#7 decoder refuses).
pub(super) fn certificates(t: Tlv<'_>) -> Option<(Vec<Arc<Cert>>, bool)> {
    let mut certs = Vec::new();
    let mut other = false;
    for c in items(t).all()? {
        match c.tag {
            0x30 => certs.push(certificate(c.whole)?),
            0xa0..=0xa2 => other = true,
            _ => return None,
        }
    }
    Some((certs, other))
}

/// OpenSSL's `X509_find_by_issuer_and_serial`, when the answer is certain: the certificate
/// whose issuer has the same bytes, when every certificate with its serial is that same one
/// (signers repeat certificates: osslsigncode's timestamps carry the TSA's twice). OpenSSL
/// compares names in a canonical form; names whose bytes differ are left to it.
pub(super) fn find_signer<'c>(certs: &'c [Arc<Cert>], s: &Signer<'_>) -> Option<&'c Arc<Cert>> {
    let mut same_serial = certs.iter().filter(|c| *c.serial == *s.serial);
    let first = same_serial.next()?;
    (same_serial.all(|c| Arc::ptr_eq(c, first)) && *first.issuer == *s.issuer).then_some(first)
}

thread_local! {
    /// An empty store, as authenticode-parser's chain building uses (a new one each time there).
    static EMPTY: Option<X509Store> = X509StoreBuilder::new().ok().map(X509StoreBuilder::build);
}

/// authenticode-parser's `parse_signer_chain`: the chain `X509_verify_cert` builds from the
/// signature's certificates with no trust anchors, leaf first.
pub(super) fn chain(leaf: &Arc<Cert>, certs: &[Arc<Cert>]) -> Option<Vec<CertificateInfo>> {
    let mut stack = Stack::new().ok()?;
    for c in certs {
        stack.push(c.x509.clone()).ok()?;
    }
    let mut ctx = X509StoreContext::new().ok()?;
    let built: Option<Vec<&Arc<Cert>>> = EMPTY.with(|store| {
        let store = store.as_ref()?;
        ctx.init(store, &leaf.x509, &stack, |ctx| {
            // Fails without anchors, as there; only the chain it built is wanted.
            let _ = ctx.verify_cert();
            Ok(ctx.chain().and_then(|chain| {
                chain
                    .iter()
                    .map(|x| certs.iter().find(|c| c.x509.as_ref() == x))
                    .collect::<Option<Vec<_>>>()
            }))
        })
        .ok()
        .flatten()
    });
    // The failed verification's errors are not this thread's next caller's.
    drop(openssl::error::ErrorStack::get());
    Some(built?.into_iter().map(|c| c.info.clone()).collect())
}
