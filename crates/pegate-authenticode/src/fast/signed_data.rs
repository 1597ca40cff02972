//! A PKCS#7 SignedData with one SignerInfo: read for shape, and checked as OpenSSL's
//! `PKCS7_signatureVerify` checks it (message digest, then the RSA signature over the
//! authenticated attributes).
//!
//! The Authenticode signature and its RFC 3161 timestamp token are both this structure; they
//! differ only in their content, which the callers read.

use openssl::hash::{Hasher as Digester, MessageDigest};
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use pegate_facts::DigestAlgorithm;

use super::cert::{Cert, certificates};
use crate::der::oid;
use crate::der::tlv::{Tlv, algorithm, attributes, integer_ok, items, next, oid_ok, single};

/// The digest algorithm of a digest OID, when it is one this path computes: every algorithm of
/// the table but SHA-224, which no Authenticode signer writes; a signature using it takes
/// authenticode-parser's path.
pub(super) fn md_of_oid(oid: &[u8]) -> Option<DigestAlgorithm> {
    DigestAlgorithm::from_oid(oid).filter(|&md| md != DigestAlgorithm::Sha224)
}

/// AlgorithmIdentifier of a digest this path computes.
pub(super) fn digest_algorithm(t: Tlv<'_>) -> Option<DigestAlgorithm> {
    md_of_oid(algorithm(t)?)
}

/// SET OF AlgorithmIdentifier: every one a digest OpenSSL's `PKCS7_dataInit` can start.
fn digest_set(t: Tlv<'_>) -> Option<Vec<DigestAlgorithm>> {
    if t.tag != 0x31 {
        return None;
    }
    items(t).all()?.into_iter().map(digest_algorithm).collect()
}

/// OpenSSL's implementation of `md`.
fn openssl_md(md: DigestAlgorithm) -> MessageDigest {
    match md {
        DigestAlgorithm::Md5 => MessageDigest::md5(),
        DigestAlgorithm::Sha1 => MessageDigest::sha1(),
        DigestAlgorithm::Sha224 => MessageDigest::sha224(),
        DigestAlgorithm::Sha256 => MessageDigest::sha256(),
        DigestAlgorithm::Sha384 => MessageDigest::sha384(),
        DigestAlgorithm::Sha512 => MessageDigest::sha512(),
    }
}

/// The same digest OpenSSL computes; the SHA family without OpenSSL's per-call algorithm
/// lookup, which costs more than hashing these few hundred bytes.
pub(super) fn hash(md: DigestAlgorithm, data: &[u8]) -> Option<Vec<u8>> {
    use sha1::Digest as _;
    Some(match md {
        DigestAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
        DigestAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
        DigestAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
        DigestAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        DigestAlgorithm::Md5 | DigestAlgorithm::Sha224 => {
            let mut h = Digester::new(openssl_md(md)).ok()?;
            h.update(data).ok()?;
            h.finish().ok()?.to_vec()
        }
    })
}

/// One SignerInfo, checked for shape.
pub(super) struct Signer<'a> {
    pub(super) issuer: &'a [u8],
    pub(super) serial: &'a [u8],
    md: DigestAlgorithm,
    /// The authenticated attributes as OpenSSL re-encodes them for the signature check.
    signed_attributes: Vec<u8>,
    pub(super) attributes: Vec<(&'a [u8], Vec<Tlv<'a>>)>,
    pub(super) signature: &'a [u8],
    pub(super) unsigned: Vec<(&'a [u8], Vec<Tlv<'a>>)>,
}

fn signer_info(t: Tlv<'_>) -> Option<Signer<'_>> {
    if t.tag != 0x30 {
        return None;
    }
    let mut it = items(t);
    if !integer_ok(it.take(0x02)?) {
        return None;
    }
    let ias = it.take(0x30)?;
    let md = digest_algorithm(it.take(0x30)?)?;
    let auth = it.take(0xa0)?;
    algorithm(it.take(0x30)?)?;
    let signature = it.take(0x04)?.content;
    let unsigned = match it.optional(0xa1) {
        Some(u) => attributes(u)?,
        None => Vec::new(),
    };
    if !it.done() {
        return None;
    }
    let mut ias = items(ias);
    let issuer = ias.take(0x30)?.whole;
    let serial = ias.take(0x02)?;
    if !ias.done() || !integer_ok(serial) {
        return None;
    }
    let attributes = attributes(auth)?;
    // One value each: OpenSSL sorts a SET OF when it encodes one, so several values could come
    // back in another order than they were signed in.
    if attributes.is_empty() || attributes.iter().any(|(_, v)| v.len() != 1) {
        return None;
    }
    // `[0] IMPLICIT` becomes `SET` (PKCS7_ATTR_VERIFY): same length, same content.
    let mut signed_attributes = auth.whole.to_vec();
    *signed_attributes.first_mut()? = 0x31;
    Some(Signer {
        issuer,
        serial: serial.content,
        md,
        signed_attributes,
        attributes,
        signature,
        unsigned,
    })
}

/// PKCS#1 v1.5 (RSA) check of `signature` over `data` with `md`, as OpenSSL's
/// `PKCS7_signatureVerify` does it.
fn rsa_verifies(key: &PKey<Public>, md: DigestAlgorithm, data: &[u8], signature: &[u8]) -> bool {
    if key.id() != Id::RSA {
        return false;
    }
    let Ok(mut v) = Verifier::new(openssl_md(md), key) else {
        return false;
    };
    v.update(data).is_ok() && v.verify(signature).unwrap_or(false)
}

/// The content's digest is the messageDigest attribute's (one attribute, one value: CMS
/// requires both, PKCS#7 reads the first), with a digest the SignedData announces.
pub(super) fn digest_matches(s: &Signer<'_>, md_algs: &[DigestAlgorithm], content: &[u8]) -> bool {
    let mut found = s
        .attributes
        .iter()
        .filter(|(o, _)| *o == oid::MESSAGE_DIGEST);
    let (Some((_, values)), None) = (found.next(), found.next()) else {
        return false;
    };
    match values.as_slice() {
        [md] => {
            md_algs.contains(&s.md)
                && md.tag == 0x04
                && hash(s.md, content).as_deref() == Some(md.content)
        }
        _ => false,
    }
}

/// `PKCS7_signatureVerify` with authenticated attributes: the content's digest is the
/// messageDigest attribute's, and the signer's key signed the attributes.
pub(super) fn signer_verifies(
    s: &Signer<'_>,
    md_algs: &[DigestAlgorithm],
    content: &[u8],
    key: &PKey<Public>,
) -> bool {
    digest_matches(s, md_algs, content)
        && rsa_verifies(key, s.md, &s.signed_attributes, s.signature)
}

/// SignedData's fields, checked for shape.
pub(super) struct SignedData<'a> {
    pub(super) md_algs: Vec<DigestAlgorithm>,
    pub(super) content_type: &'a [u8],
    /// The `[0]` content's one element.
    pub(super) content: Tlv<'a>,
    pub(super) certs: Vec<Cert<'a>>,
    /// Whether the certificate set holds other choices than X.509 (CMS only).
    pub(super) cms: bool,
    pub(super) signer: Signer<'a>,
}

/// ContentInfo { signedData, [0] SignedData { version 1, digests, content, [0] certificates,
/// one SignerInfo } }.
pub(super) fn signed_data(der: &[u8]) -> Option<(u8, SignedData<'_>)> {
    let (ci, _) = next(der)?;
    if ci.tag != 0x30 {
        return None;
    }
    let mut ci = items(ci);
    if ci.take(0x06)?.content != oid::SIGNED_DATA {
        return None;
    }
    let explicit = ci.take(0xa0)?;
    if !ci.done() {
        return None;
    }
    let sd = single(explicit.content)?;
    if sd.tag != 0x30 {
        return None;
    }
    let mut sd = items(sd);
    let version = sd.take(0x02)?;
    let version = match version.content {
        [v] if *v < 0x80 => *v,
        _ => return None,
    };
    let md_algs = digest_set(sd.take(0x31)?)?;
    let mut inner = items(sd.take(0x30)?);
    let content_type = inner.take(0x06)?;
    let content = single(inner.take(0xa0)?.content)?;
    if !inner.done() || !oid_ok(content_type) {
        return None;
    }
    let (certs, cms) = certificates(sd.take(0xa0)?)?;
    let signers = items(sd.take(0x31)?).all()?;
    if !sd.done() {
        return None;
    }
    let [signer] = signers.as_slice() else {
        return None;
    };
    Some((
        version,
        SignedData {
            md_algs,
            content_type: content_type.content,
            content,
            certs,
            cms,
            signer: signer_info(*signer)?,
        },
    ))
}
