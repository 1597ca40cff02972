//! The certificates of a signature as the fast path uses them (each from the run-wide cache,
//! `cert.rs`), the signer found among them, and its chain built as authenticode-parser builds
//! it.
//!
//! Separate because it is the one part that calls OpenSSL's chain building.

use std::sync::Arc;

use openssl::pkey::{PKey, Public};
use openssl::stack::Stack;
use openssl::x509::X509StoreContext;
use openssl::x509::store::{X509Store, X509StoreBuilder};

use super::signed_data::Signer;
use crate::CertificateInfo;
use crate::cert;
use crate::der::tlv::{Tlv, items, single};

/// A certificate of one signature: the cached certificate, its summary, and where its issuer
/// and serial number are in the signature's DER.
pub(super) struct Cert<'a> {
    cached: Arc<cert::Cert>,
    pub(super) info: CertificateInfo,
    /// The issuer Name, DER.
    issuer: &'a [u8],
    /// The serial number's INTEGER content.
    serial: &'a [u8],
}

impl Cert<'_> {
    /// Its public key.
    pub(super) fn key(&self) -> &PKey<Public> {
        &self.cached.key
    }
}

/// The certificate whose DER is `der`, when this path can use it: strict DER down to its
/// issuer, loaded by OpenSSL, summarised by authenticode-parser.
fn certificate(der: &[u8]) -> Option<Cert<'_>> {
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
    let cached = cert::load(der).ok()?;
    let info = cached.info(der)?.clone();
    Some(Cert {
        cached,
        info,
        issuer: issuer.whole,
        serial: serial.content,
    })
}

/// The X.509 certificates of a `[0] IMPLICIT` certificate set, and whether it also holds CMS's
/// other certificate choices (`[0]`–`[2]`: extended and attribute certificates, which OpenSSL's
/// CMS decoder keeps as raw SEQUENCEs and its PKCS#7 decoder refuses).
pub(super) fn certificates(t: Tlv<'_>) -> Option<(Vec<Cert<'_>>, bool)> {
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
pub(super) fn find_signer<'c, 'a>(certs: &'c [Cert<'a>], s: &Signer<'_>) -> Option<&'c Cert<'a>> {
    let mut same_serial = certs.iter().filter(|c| c.serial == s.serial);
    let first = same_serial.next()?;
    (same_serial.all(|c| Arc::ptr_eq(&c.cached, &first.cached)) && first.issuer == s.issuer)
        .then_some(first)
}

thread_local! {
    /// An empty store, as authenticode-parser's chain building uses (a new one each time there).
    static EMPTY: Option<X509Store> = X509StoreBuilder::new().ok().map(X509StoreBuilder::build);
}

/// authenticode-parser's `parse_signer_chain`: the chain `X509_verify_cert` builds from the
/// signature's certificates with no trust anchors, leaf first.
pub(super) fn chain(leaf: &Cert<'_>, certs: &[Cert<'_>]) -> Option<Vec<CertificateInfo>> {
    let mut stack = Stack::new().ok()?;
    for c in certs {
        stack.push(c.cached.x509.clone()).ok()?;
    }
    let mut ctx = X509StoreContext::new().ok()?;
    let built: Option<Vec<&Cert<'_>>> = EMPTY.with(|store| {
        let store = store.as_ref()?;
        ctx.init(store, &leaf.cached.x509, &stack, |ctx| {
            // Fails without anchors, as there; only the chain it built is wanted.
            let _ = ctx.verify_cert();
            Ok(ctx.chain().and_then(|chain| {
                chain
                    .iter()
                    .map(|x| certs.iter().find(|c| c.cached.x509.as_ref() == x))
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
