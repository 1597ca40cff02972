//! The common valid signature without authenticode-parser: each certificate decoded once per
//! run, not once per file.
//!
//! A release directory's signed files share their signer's and their timestamping authority's
//! certificates. authenticode-parser decodes every certificate of every file again (OpenSSL's
//! `d2i_PKCS7` of the signature and of its RFC 3161 token, public keys included), rebuilds
//! their summaries and chains, which is most of a signed file's parse. Here the signature's
//! DER is read directly; the certificates come from a cache keyed by their DER (loaded by
//! OpenSSL, summarised by authenticode-parser itself, so the summaries are its own); the chains
//! are built by the same OpenSSL call; the RSA checks are OpenSSL's.
//!
//! This path only answers when it can prove authenticode-parser's answer: strict DER, the
//! shapes real signers write (one SignerInfo, authenticated attributes, RSA keys, SHA-1/2 or
//! MD5, RFC 3161 timestamps, nested signatures) and a signature that verifies in full. Anything
//! else (a broken or unusual signature, a PKCS#9 countersignature, BER, a CMS timestamp) returns
//! `None` and goes to authenticode-parser. The tests compare both on every fixture and on the
//! corpus of real signed files, so the two cannot drift apart unnoticed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, LazyLock, Mutex};

use openssl::hash::{Hasher as Digester, MessageDigest};
use openssl::pkey::{Id, PKey, Public};
use openssl::sign::Verifier;
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::{X509, X509StoreContext};
use pegate_facts::DigestAlgorithm;

use crate::der::oid;
use crate::pkcs7::{self, Parsed};
use crate::{CertificateInfo, Timestamp};

/// authenticode-parser's limit on the values of one nested-signature or countersignature
/// attribute; with more, it reads the first 16 (this path leaves that case to it).
const MAX_VALUES: usize = 16;
/// Nested signatures inside nested signatures this deep are left to authenticode-parser.
const MAX_NESTING: usize = 4;

/// One DER element.
#[derive(Clone, Copy)]
struct Tlv<'a> {
    tag: u8,
    content: &'a [u8],
    whole: &'a [u8],
}

/// Reads strict DER: one-byte tags, definite minimal lengths (what OpenSSL re-encodes byte for
/// byte, which the signature check over the attributes depends on).
fn next(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        let bytes = b.get(2..2usize.checked_add(n)?)?;
        if n == 0 || n > 4 || bytes.first() == Some(&0) {
            return None;
        }
        let len = bytes.iter().fold(0usize, |l, &x| (l << 8) | usize::from(x));
        if len < 0x80 {
            return None;
        }
        (len, 2usize.checked_add(n)?)
    };
    let end = header.checked_add(len)?;
    let whole = b.get(..end)?;
    Some((
        Tlv {
            tag,
            content: whole.get(header..)?,
            whole,
        },
        b.get(end..)?,
    ))
}

/// The elements of a constructed element's content, in order.
struct Items<'a>(&'a [u8]);

impl<'a> Items<'a> {
    /// The next element, which must have `tag`.
    fn take(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let (t, rest) = next(self.0)?;
        (t.tag == tag).then(|| {
            self.0 = rest;
            t
        })
    }

    /// The next element if it has `tag`; nothing consumed otherwise.
    fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match next(self.0) {
            Some((t, rest)) if t.tag == tag => {
                self.0 = rest;
                Some(t)
            }
            _ => None,
        }
    }

    /// Whether every element was taken.
    fn done(&self) -> bool {
        self.0.is_empty()
    }

    /// Every remaining element (`None` if one is not strict DER).
    fn all(mut self) -> Option<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        while !self.0.is_empty() {
            let (t, rest) = next(self.0)?;
            out.push(t);
            self.0 = rest;
        }
        Some(out)
    }
}

fn items(t: Tlv<'_>) -> Items<'_> {
    Items(t.content)
}

/// An INTEGER OpenSSL decodes: not empty, no padding byte.
fn integer_ok(t: Tlv<'_>) -> bool {
    match t.content {
        [] => false,
        [0, b, ..] => b & 0x80 != 0,
        [0xff, b, ..] => b & 0x80 == 0,
        _ => true,
    }
}

/// An OBJECT IDENTIFIER OpenSSL decodes: not empty, no `0x80` padding, last byte final.
fn oid_ok(t: Tlv<'_>) -> bool {
    let c = t.content;
    let mut start = true;
    for &b in c {
        if start && b == 0x80 {
            return false;
        }
        start = b & 0x80 == 0;
    }
    !c.is_empty() && start
}

/// An `ANY` value OpenSSL stores without decoding further (so it cannot fail to load, and
/// writes it back byte for byte).
fn any_ok(t: Tlv<'_>) -> bool {
    match t.tag {
        0x30 | 0x31 | 0x04 | 0x17 | 0x18 => true,
        0x06 => oid_ok(t),
        0x02 => integer_ok(t),
        0x05 => t.content.is_empty(),
        // Context, application or private class: kept as raw bytes.
        tag => tag & 0xc0 != 0,
    }
}

/// The digest algorithm of a digest OID, when it is one this path computes: every algorithm of
/// the table but SHA-224, which no Authenticode signer writes; a signature using it takes
/// authenticode-parser's path.
fn md_of_oid(oid: &[u8]) -> Option<DigestAlgorithm> {
    DigestAlgorithm::from_oid(oid).filter(|&md| md != DigestAlgorithm::Sha224)
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
fn hash(md: DigestAlgorithm, data: &[u8]) -> Option<Vec<u8>> {
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

/// AlgorithmIdentifier { OID, parameters absent or NULL }: its OID.
fn algorithm(t: Tlv<'_>) -> Option<&[u8]> {
    if t.tag != 0x30 {
        return None;
    }
    let mut it = items(t);
    let o = it.take(0x06)?;
    if let Some(p) = it.optional(0x05)
        && !p.content.is_empty()
    {
        return None;
    }
    (it.done() && oid_ok(o)).then_some(o.content)
}

fn digest_algorithm(t: Tlv<'_>) -> Option<DigestAlgorithm> {
    md_of_oid(algorithm(t)?)
}

/// SET OF AlgorithmIdentifier: every one a digest OpenSSL's `PKCS7_dataInit` can start.
fn digest_set(t: Tlv<'_>) -> Option<Vec<DigestAlgorithm>> {
    if t.tag != 0x31 {
        return None;
    }
    items(t).all()?.into_iter().map(digest_algorithm).collect()
}

/// Attribute { OID, SET OF value }: (OID, values).
fn attribute(t: Tlv<'_>) -> Option<(&[u8], Vec<Tlv<'_>>)> {
    if t.tag != 0x30 {
        return None;
    }
    let mut it = items(t);
    let o = it.take(0x06)?;
    let set = it.take(0x31)?;
    if !it.done() || !oid_ok(o) {
        return None;
    }
    let values = items(set).all()?;
    values
        .iter()
        .all(|v| any_ok(*v))
        .then_some((o.content, values))
}

/// `[n] IMPLICIT SET OF Attribute`.
fn attributes(t: Tlv<'_>) -> Option<Vec<(&[u8], Vec<Tlv<'_>>)>> {
    items(t).all()?.into_iter().map(attribute).collect()
}

/// The first value of the first attribute with `oid` (OpenSSL's `PKCS7_get_signed_attribute`).
fn first_value<'a>(attrs: &[(&[u8], Vec<Tlv<'a>>)], oid: &[u8]) -> Option<Tlv<'a>> {
    attrs
        .iter()
        .find(|(o, _)| *o == oid)
        .and_then(|(_, v)| v.first().copied())
}

/// One SignerInfo, checked for shape.
struct Signer<'a> {
    issuer: &'a [u8],
    serial: &'a [u8],
    md: DigestAlgorithm,
    /// The authenticated attributes as OpenSSL re-encodes them for the signature check.
    signed_attributes: Vec<u8>,
    attributes: Vec<(&'a [u8], Vec<Tlv<'a>>)>,
    signature: &'a [u8],
    unsigned: Vec<(&'a [u8], Vec<Tlv<'a>>)>,
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

/// A certificate as this path uses it, decoded once per run.
struct Cert {
    x509: X509,
    key: PKey<Public>,
    info: CertificateInfo,
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
    let (c, rest) = next(der)?;
    if c.tag != 0x30 || !rest.is_empty() {
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
fn certificates(t: Tlv<'_>) -> Option<(Vec<Arc<Cert>>, bool)> {
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
fn find_signer<'c>(certs: &'c [Arc<Cert>], s: &Signer<'_>) -> Option<&'c Arc<Cert>> {
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
fn chain(leaf: &Arc<Cert>, certs: &[Arc<Cert>]) -> Option<Vec<CertificateInfo>> {
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
fn digest_matches(s: &Signer<'_>, md_algs: &[DigestAlgorithm], content: &[u8]) -> bool {
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
fn signer_verifies(
    s: &Signer<'_>,
    md_algs: &[DigestAlgorithm],
    content: &[u8],
    key: &PKey<Public>,
) -> bool {
    digest_matches(s, md_algs, content)
        && rsa_verifies(key, s.md, &s.signed_attributes, s.signature)
}

/// SignedData's fields, checked for shape.
struct SignedData<'a> {
    md_algs: Vec<DigestAlgorithm>,
    content_type: &'a [u8],
    /// The `[0]` content's one element.
    content: Tlv<'a>,
    certs: Vec<Arc<Cert>>,
    /// Whether the certificate set holds other choices than X.509 (CMS only).
    cms: bool,
    signer: Signer<'a>,
}

/// ContentInfo { signedData, [0] SignedData { version 1, digests, content, [0] certificates,
/// one SignerInfo } }.
fn signed_data(der: &[u8]) -> Option<(u8, SignedData<'_>)> {
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
    let (sd, rest) = next(explicit.content)?;
    if sd.tag != 0x30 || !rest.is_empty() {
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
    let (content, rest) = next(inner.take(0xa0)?.content)?;
    if !inner.done() || !rest.is_empty() || !oid_ok(content_type) {
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

/// The signatures in `der`, outer first then the nested ones in order, exactly as
/// authenticode-parser would list them; `None` to leave them to it.
pub(crate) fn parse(der: &[u8]) -> Option<Vec<Parsed>> {
    let mut out = Vec::new();
    signature(der, 0, &mut out)?;
    Some(out)
}

fn signature(der: &[u8], depth: usize, out: &mut Vec<Parsed>) -> Option<()> {
    if depth > MAX_NESTING {
        return None;
    }
    let (version, sd) = signed_data(der)?;
    if version != 1 || sd.cms || sd.content_type != oid::SPC_INDIRECT_DATA || sd.content.tag != 0x30
    {
        return None;
    }
    // SpcIndirectDataContent { SpcAttributeTypeAndOptionalValue, DigestInfo }
    let mut indirect = items(sd.content);
    let mut data = items(indirect.take(0x30)?);
    if !oid_ok(data.take(0x06)?) {
        return None;
    }
    match next(data.0) {
        None if data.done() => {}
        Some((v, rest)) if rest.is_empty() && any_ok(v) => {}
        _ => return None,
    }
    let mut digest_info = items(indirect.take(0x30)?);
    let image_md = digest_algorithm(digest_info.take(0x30)?)?;
    let signed_digest = digest_info.take(0x04)?.content;
    if !indirect.done() || !digest_info.done() || signed_digest.is_empty() {
        return None;
    }

    let s = &sd.signer;
    let leaf = find_signer(&sd.certs, s)?;
    // Version 1: the digest covers the SEQUENCE's content, not its tag and length.
    if !signer_verifies(s, &sd.md_algs, sd.content.content, &leaf.key) {
        return None;
    }
    let program_name = match first_value(&s.attributes, oid::SPC_SP_OPUS_INFO) {
        Some(v) => program_name(v)?,
        None => None,
    };

    let once = |o: &[u8]| {
        let mut found = s.unsigned.iter().filter(|(a, _)| *a == o);
        match (found.next(), found.next()) {
            (_, Some(_)) => Err(()),
            (Some((_, v)), None) if v.len() > MAX_VALUES => Err(()),
            (Some((_, v)), None) => Ok(v.as_slice()),
            (None, _) => Ok(&[][..]),
        }
    };
    let nested = once(oid::NESTED_SIGNATURE).ok()?;
    if !once(oid::COUNTERSIGNATURE).ok()?.is_empty() {
        return None;
    }
    let mut certificates: Vec<CertificateInfo> = sd.certs.iter().map(|c| c.info.clone()).collect();
    let mut timestamps = Vec::new();
    for v in once(oid::MS_COUNTERSIGNATURE).ok()? {
        let (t, certs) = ms_countersignature(v.whole, s.signature)?;
        timestamps.push(t);
        certificates.extend(certs.iter().map(|c| c.info.clone()));
    }
    out.push(Parsed {
        digest_algorithm: Some(image_md.into()),
        signed_digest: Some(signed_digest.to_vec()),
        integrity_error: None,
        program_name,
        signer_chain: chain(leaf, &sd.certs)?,
        certificates,
        timestamps,
    });
    for v in nested {
        signature(v.whole, depth.saturating_add(1), out)?;
    }
    Some(())
}

/// SpcSpOpusInfo { [0] EXPLICIT SpcString OPTIONAL, [1] EXPLICIT SpcLink OPTIONAL }: the program
/// name as authenticode-parser converts it (`Some(None)`: none), when that is certain.
fn program_name(v: Tlv<'_>) -> Option<Option<String>> {
    if v.tag != 0x30 {
        return None;
    }
    let mut it = items(v);
    let name = it.optional(0xa0);
    if let Some(link) = it.optional(0xa1) {
        // SpcLink: only the url form, `[0] IMPLICIT IA5String`, is read here.
        let (l, rest) = next(link.content)?;
        if l.tag != 0x80 || !rest.is_empty() {
            return None;
        }
    }
    if !it.done() {
        return None;
    }
    let Some(name) = name else {
        return Some(None);
    };
    let (s, rest) = next(name.content)?;
    if !rest.is_empty() {
        return None;
    }
    let text = match s.tag {
        // unicode: BMPString, UTF-16BE without surrogates or NUL (OpenSSL converts each unit).
        0x80 => {
            if s.content.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = s
                .content
                .chunks_exact(2)
                .map(|p| Some(u16::from_be_bytes([*p.first()?, *p.get(1)?])))
                .collect::<Option<Vec<u16>>>()?;
            if units
                .iter()
                .any(|&u| u == 0 || (0xd800..0xe000).contains(&u))
            {
                return None;
            }
            String::from_utf16(&units).ok()?
        }
        // ascii: IA5String
        0x81 if s.content.iter().all(|&b| (1..0x80).contains(&b)) => {
            String::from_utf8(s.content.to_vec()).ok()?
        }
        _ => return None,
    };
    // authenticode-parser keeps a name shorter than the attribute's whole DER; an empty one is
    // left to it.
    (!text.is_empty() && text.len() < v.whole.len()).then_some(Some(text))
}

/// An RFC 3161 timestamp (`1.3.6.1.4.1.311.3.3.1`): a PKCS#7 SignedData over a TSTInfo whose
/// message imprint is the digest of the signature it stamps. Returns the timestamp and the
/// token's certificates (authenticode-parser lists them with the outer signature's).
fn ms_countersignature(der: &[u8], stamped: &[u8]) -> Option<(Timestamp, Vec<Arc<Cert>>)> {
    let (_, sd) = signed_data(der)?;
    if sd.content_type != oid::TST_INFO || sd.content.tag != 0x04 {
        return None;
    }
    let tst = tst_info(sd.content.content)?;
    if hash(tst.md, stamped).as_deref() != Some(tst.imprint) {
        return None;
    }
    let s = &sd.signer;
    let leaf = find_signer(&sd.certs, s)?;
    // authenticode-parser reads the token as PKCS#7 (`PKCS7_signatureVerify`) and, where
    // OpenSSL's PKCS#7 decoder refuses it (other certificate choices), as CMS, where it checks
    // with `CMS_SignerInfo_verify_content`: with signed attributes that is the messageDigest
    // comparison alone, not the signature over them.
    let verified = if sd.cms {
        digest_matches(s, &sd.md_algs, sd.content.content)
    } else {
        signer_verifies(s, &sd.md_algs, sd.content.content, &leaf.key)
    };
    if !verified {
        return None;
    }
    let signer_chain = chain(leaf, &sd.certs)?;
    Some((
        Timestamp {
            time: tst.time,
            digest_algorithm: Some(tst.md.into()),
            valid: true,
            signer_chain,
        },
        sd.certs,
    ))
}

struct TstInfo<'a> {
    md: DigestAlgorithm,
    imprint: &'a [u8],
    time: i64,
}

/// TSTInfo { version 1, policy, messageImprint, serialNumber, genTime, accuracy OPTIONAL,
/// ordering DEFAULT FALSE, nonce OPTIONAL, tsa [0] OPTIONAL } (no extensions).
fn tst_info(b: &[u8]) -> Option<TstInfo<'_>> {
    let (t, rest) = next(b)?;
    if t.tag != 0x30 || !rest.is_empty() {
        return None;
    }
    let mut it = items(t);
    if it.take(0x02)?.content != [1u8].as_slice() || !oid_ok(it.take(0x06)?) {
        return None;
    }
    let mut imprint = items(it.take(0x30)?);
    let md = md_of_oid(imprint_algorithm(imprint.take(0x30)?)?)?;
    let hashed = imprint.take(0x04)?.content;
    if !imprint.done() || !integer_ok(it.take(0x02)?) {
        return None;
    }
    let time = generalized_time(it.take(0x18)?.content)?;
    if let Some(a) = it.optional(0x30) {
        let mut a = items(a);
        for tag in [0x02, 0x80, 0x81] {
            if let Some(n) = a.optional(tag)
                && !integer_ok(n)
            {
                return None;
            }
        }
        if !a.done() {
            return None;
        }
    }
    if let Some(o) = it.optional(0x01)
        && o.content.len() != 1
    {
        return None;
    }
    if let Some(n) = it.optional(0x02)
        && !integer_ok(n)
    {
        return None;
    }
    if let Some(tsa) = it.optional(0xa0) {
        directory_name(tsa)?;
    }
    it.done().then_some(TstInfo {
        md,
        imprint: hashed,
        time,
    })
}

/// A message imprint's AlgorithmIdentifier (its parameters are not checked there).
fn imprint_algorithm(t: Tlv<'_>) -> Option<&[u8]> {
    let mut it = items(t);
    let o = it.take(0x06)?;
    match next(it.0) {
        None if it.done() => {}
        Some((p, rest)) if any_ok(p) && rest.is_empty() => {}
        _ => return None,
    }
    oid_ok(o).then_some(o.content)
}

/// `[0] EXPLICIT GeneralName` holding a directoryName whose values are plain ASCII strings (what
/// OpenSSL's name decoding surely accepts).
fn directory_name(t: Tlv<'_>) -> Option<()> {
    let (dn, rest) = next(t.content)?;
    let (name, after) = next(dn.content)?;
    if dn.tag != 0xa4 || name.tag != 0x30 || !rest.is_empty() || !after.is_empty() {
        return None;
    }
    for rdn in items(name).all()? {
        if rdn.tag != 0x31 {
            return None;
        }
        for atv in items(rdn).all()? {
            let mut atv = items(atv);
            let o = atv.take(0x06)?;
            let (v, rest) = next(atv.0)?;
            let ascii = v.content.iter().all(|&b| (0x20..0x7f).contains(&b));
            if !oid_ok(o) || !rest.is_empty() || !matches!(v.tag, 0x0c | 0x13 | 0x16) || !ascii {
                return None;
            }
        }
    }
    Some(())
}

/// `YYYYMMDDHHMMSS[.f+]Z` as OpenSSL's `ASN1_TIME_to_tm` and `timegm` read it.
// Four-digit years and checked fields: no step can overflow an i64.
#[allow(clippy::arithmetic_side_effects)]
fn generalized_time(s: &[u8]) -> Option<i64> {
    let (main, rest) = (s.get(..14)?, s.get(14..)?);
    match rest {
        [b'.', frac @ .., b'Z'] if !frac.is_empty() && frac.iter().all(u8::is_ascii_digit) => {}
        [b'Z'] => {}
        _ => return None,
    }
    if !main.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = |at: usize, len: usize| -> Option<i64> {
        main.get(at..at.checked_add(len)?)?
            .iter()
            .try_fold(0i64, |v, d| {
                v.checked_mul(10)?
                    .checked_add(i64::from(d.wrapping_sub(b'0')))
            })
    };
    let (year, month, day) = (n(0, 4)?, n(4, 2)?, n(6, 2)?);
    let (hour, minute, second) = (n(8, 2)?, n(10, 2)?, n(12, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    // Days from 1970-01-01 (Howard Hinnant's days_from_civil).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hour * 3600 + minute * 60 + second)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]

    use std::path::{Path, PathBuf};

    use super::*;

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// The PKCS#7 blobs of a PE file's certificate table that reach the parser (pass the
    /// precheck), as `parse_table` finds them.
    fn signatures(data: &[u8]) -> Vec<Vec<u8>> {
        let Ok(view) = pegate_pe::PeView::parse(data) else {
            return Vec::new();
        };
        let Some(b) = crate::table_bounds(&view, data.len() as u64) else {
            return Vec::new();
        };
        if b.outside {
            return Vec::new();
        }
        let start = b.start as usize;
        let table = data
            .get(start..start + b.present as usize)
            .unwrap_or_default();
        crate::parseable_signatures(table)
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Whether the fast path answered for `der`; when it does, its answer must be
    /// authenticode-parser's, field for field.
    fn same(der: &[u8], what: &str) -> bool {
        let fast = parse(der);
        if let Some(f) = &fast {
            assert_eq!(Some(f), pkcs7::parse(der).as_ref(), "{what}");
        }
        fast.is_some()
    }

    fn fixture(name: &str) -> Vec<Vec<u8>> {
        signatures(&std::fs::read(root().join("fixtures").join(name)).unwrap())
    }

    /// The shapes the fast path is for: it answers, and exactly as authenticode-parser does.
    #[test]
    fn answers_the_common_signatures_as_authenticode_parser_does() {
        for name in [
            "authenticode/amd64-signed.exe",
            "authenticode/arm64-signed.exe",
            "authenticode/386-signed.exe",
            "authenticode/amd64-sha384.exe",
            "authenticode/amd64-selfsigned.exe",
            "authenticode/amd64-nested.exe",
            "authenticode/amd64-tampered.exe",
            "authenticode/shimx64.efi.signed",
            "gate/tiny-amd64-signed-no-timestamp.exe",
            "gate/tiny-amd64-signed-md5.exe",
        ] {
            let sigs = fixture(name);
            assert!(!sigs.is_empty(), "{name}: no signature");
            for (i, der) in sigs.iter().enumerate() {
                assert!(same(der, name), "{name} entry {i}: not answered");
            }
        }
        // Nested signatures come back after the outer one.
        let nested = parse(&fixture("authenticode/amd64-nested.exe")[0]).unwrap();
        assert_eq!(nested.len(), 2);
        // Certificates loaded once, summarised once: a second file hits the cache.
        let a = parse(&fixture("authenticode/amd64-signed.exe")[0]).unwrap();
        let b = parse(&fixture("authenticode/arm64-signed.exe")[0]).unwrap();
        assert_eq!(a[0].certificates, b[0].certificates);
    }

    /// Every byte of a real signature changed in turn: wherever the fast path still answers
    /// (a byte it does not read, or one that keeps the signature valid), authenticode-parser
    /// agrees; a change that breaks the signature is left to it.
    /// The shim's timestamps are read as CMS (their certificate sets hold attribute
    /// certificates), osslsigncode's as PKCS#7.
    #[test]
    fn damaged_signatures_are_left_to_authenticode_parser_or_agree() {
        for name in [
            "authenticode/amd64-signed.exe",
            "authenticode/shimx64.efi.signed",
        ] {
            let der = &fixture(name)[0];
            let (mut answered, mut left) = (0usize, 0usize);
            for at in 0..der.len() {
                let mut d = der.clone();
                d[at] ^= if at % 2 == 0 { 0x01 } else { 0x80 };
                if crate::der::precheck(&d).is_err() {
                    continue;
                }
                if same(&d, &format!("{name}: byte {at:#x} changed")) {
                    answered += 1;
                } else {
                    left += 1;
                }
            }
            eprintln!(
                "{name}: {} bytes; fast path answered {answered}, left {left}",
                der.len()
            );
            assert!(
                answered > 0 && left > 0,
                "{name}: answered {answered}, left {left}"
            );
        }
    }

    /// The differential corpus's real signed files (`cargo xtask corpus`; Microsoft's, DigiCert
    /// and Sectigo timestamps): wherever the fast path answers, authenticode-parser agrees.
    ///
    /// The corpus is an optional input: in CI (`CI` set), where `.ci/setup` fetches it, a missing
    /// or unreadable corpus fails the test; elsewhere the test says it skipped and why. A corpus
    /// that gives the fast path nothing to answer fails: the comparison would be empty.
    #[test]
    fn real_signed_files_agree_with_authenticode_parser() {
        let dir = std::env::var_os("PEGATE_CORPUS")
            .map(PathBuf::from)
            .unwrap_or_else(|| root().join("target/pegate-corpus"));
        let index = dir.join("index.json");
        let text = match std::fs::read_to_string(&index) {
            Ok(text) => text,
            Err(e) if std::env::var_os("CI").is_some() && !cfg!(windows) => panic!(
                "the differential corpus is missing ({}: {e}); .ci/setup fetches it \
                 (`cargo xtask corpus`)",
                index.display()
            ),
            Err(e) => {
                eprintln!(
                    "skipped: no differential corpus ({}: {e}); run `cargo xtask corpus` (Linux) \
                     or set PEGATE_CORPUS",
                    index.display()
                );
                return;
            }
        };
        let index: serde_json::Value = serde_json::from_str(&text).unwrap();
        let files = index["files"].as_array().unwrap();
        let (mut signed, mut answered, mut left) = (0usize, 0usize, 0usize);
        for f in files {
            let p = dir.join(f["path"].as_str().unwrap());
            let data = std::fs::read(&p).unwrap_or_else(|e| {
                panic!(
                    "{} is in the corpus index but unreadable ({e}): rerun `cargo xtask corpus`",
                    p.display()
                )
            });
            let sigs = signatures(&data);
            signed += usize::from(!sigs.is_empty());
            for der in sigs {
                if same(&der, &p.display().to_string()) {
                    answered += 1;
                } else {
                    left += 1;
                }
            }
        }
        eprintln!(
            "{}: {} files, {signed} signed; fast path answered {answered} signatures, left {left}",
            dir.display(),
            files.len()
        );
        assert!(
            answered > 0,
            "{}: the fast path answered no signature of the corpus ({signed} signed files): \
             nothing was compared",
            dir.display()
        );
    }
}
