//! The Authenticode PKCS#7 SignedData (Microsoft's "Windows Authenticode Portable Executable
//! Signature Format", §"Authenticode Signature Format"): a `ContentInfo` of type signedData
//! whose content is an `SpcIndirectDataContent` (an `SpcPeImageData` and the image hash), the
//! signer's chain, and one `SignerInfo` with the authenticated attributes signtool and
//! osslsigncode write (contentType, SpcSpOpusInfo, SpcStatementType, signingTime,
//! messageDigest).
//!
//! Facts relied on:
//! - the messageDigest attribute hashes the *content* of the `SpcIndirectDataContent`
//!   SEQUENCE, without its tag and length (PKCS#7 §9.3 hashes the content octets of the
//!   content field, and Authenticode verifiers follow it);
//! - the signature covers the DER of the authenticated attributes with the SET tag (0x31), not
//!   the `[0] IMPLICIT` tag they carry in the SignerInfo (PKCS#7 §9.3);
//! - a nested signature is a whole `ContentInfo` in the unsigned attribute
//!   1.3.6.1.4.1.311.2.4.1 of the first SignerInfo (what signtool `/as` and osslsigncode
//!   `-nest` write); an RFC 3161 timestamp token goes in the unsigned attribute
//!   1.3.6.1.4.1.311.3.3.1, and it stamps the signer's encryptedDigest.

use crate::der::{self, Tlv, tag};
use crate::{Algorithm, KeyKind, Signer};

/// Object identifiers, as arcs.
pub(crate) mod oids {
    pub(crate) const SIGNED_DATA: &[u32] = &[1, 2, 840, 113_549, 1, 7, 2];
    pub(crate) const SPC_INDIRECT_DATA: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 1, 4];
    pub(crate) const SPC_PE_IMAGE_DATA: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 1, 15];
    pub(crate) const SPC_SP_OPUS_INFO: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 1, 12];
    pub(crate) const SPC_STATEMENT_TYPE: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 1, 11];
    pub(crate) const SPC_INDIVIDUAL_SP_KEY_PURPOSE: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 1, 21];
    pub(crate) const NESTED_SIGNATURE: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 4, 1];
    pub(crate) const MS_RFC3161_TIMESTAMP: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 3, 3, 1];
    pub(crate) const CONTENT_TYPE: &[u32] = &[1, 2, 840, 113_549, 1, 9, 3];
    pub(crate) const MESSAGE_DIGEST: &[u32] = &[1, 2, 840, 113_549, 1, 9, 4];
    pub(crate) const SIGNING_TIME: &[u32] = &[1, 2, 840, 113_549, 1, 9, 5];
    /// PKCS#9 sequenceNumber, 1.2.840.113549.1.9.25.4.
    pub(crate) const SEQUENCE_NUMBER: &[u32] = &[1, 2, 840, 113_549, 1, 9, 25, 4];
    pub(crate) const RSA_ENCRYPTION: &[u32] = &[1, 2, 840, 113_549, 1, 1, 1];
    pub(crate) const ECDSA_SHA1: &[u32] = &[1, 2, 840, 10_045, 4, 1];
    pub(crate) const ECDSA_SHA224: &[u32] = &[1, 2, 840, 10_045, 4, 3, 1];
    pub(crate) const ECDSA_SHA256: &[u32] = &[1, 2, 840, 10_045, 4, 3, 2];
    pub(crate) const ECDSA_SHA384: &[u32] = &[1, 2, 840, 10_045, 4, 3, 3];
    pub(crate) const ECDSA_SHA512: &[u32] = &[1, 2, 840, 10_045, 4, 3, 4];
}

/// The digest's AlgorithmIdentifier (with NULL parameters, as signtool and OpenSSL write).
pub(crate) fn digest_algorithm(alg: Algorithm) -> Vec<u8> {
    der::seq(&[&der::tlv(tag::OID, alg.oid()), &der::null()])
}

/// The signature's AlgorithmIdentifier: rsaEncryption (NULL parameters) for RSA, as PKCS#7
/// and every Authenticode signer write it; ecdsa-with-SHA* (no parameters, RFC 5758 §3.2) for
/// ECDSA, as OpenSSL's PKCS#7 code writes it. ECDSA has no identifier with MD5.
fn signature_algorithm(kind: KeyKind, alg: Algorithm) -> Result<Vec<u8>, BuildError> {
    Ok(match kind {
        KeyKind::Rsa => der::seq(&[&der::oid(oids::RSA_ENCRYPTION), &der::null()]),
        KeyKind::Ecdsa => der::seq(&[&der::oid(match alg {
            Algorithm::Sha1 => oids::ECDSA_SHA1,
            Algorithm::Sha224 => oids::ECDSA_SHA224,
            Algorithm::Sha256 => oids::ECDSA_SHA256,
            Algorithm::Sha384 => oids::ECDSA_SHA384,
            Algorithm::Sha512 => oids::ECDSA_SHA512,
            Algorithm::Md5 => {
                return Err(BuildError::Signer(format!("ECDSA cannot sign with {alg}")));
            }
        })]),
    })
}

/// Hashes `data` with `alg` (the attribute digests; the image hash is pegate-authenticode's).
pub(crate) fn hash(alg: Algorithm, data: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let md = match alg {
        Algorithm::Md5 => openssl::hash::MessageDigest::md5(),
        Algorithm::Sha1 => openssl::hash::MessageDigest::sha1(),
        Algorithm::Sha224 => openssl::hash::MessageDigest::sha224(),
        Algorithm::Sha256 => openssl::hash::MessageDigest::sha256(),
        Algorithm::Sha384 => openssl::hash::MessageDigest::sha384(),
        Algorithm::Sha512 => openssl::hash::MessageDigest::sha512(),
    };
    openssl::hash::hash(md, data).map(|d| d.to_vec())
}

/// `SpcIndirectDataContent` for a PE image hash.
fn indirect_data(alg: Algorithm, image_digest: &[u8]) -> Vec<u8> {
    // SpcPeImageData: flags `includeResources` (BIT STRING 07 80, as osslsigncode writes it)
    // and the file link `[0] { [2] { [0] IMPLICIT BMPString "<<<Obsolete>>>" } }`.
    let link = der::tlv(
        tag::context(0),
        &der::tlv(tag::context(2), &bmp_string("<<<Obsolete>>>")),
    );
    let pe_image_data = der::seq(&[&[tag::BIT_STRING, 2, 7, 0x80], &link]);
    let data = der::seq(&[&der::oid(oids::SPC_PE_IMAGE_DATA), &pe_image_data]);
    let digest_info = der::seq(&[&digest_algorithm(alg), &der::octets(image_digest)]);
    der::seq(&[&data, &digest_info])
}

/// An `SpcString` of its `unicode` choice: `[0] IMPLICIT BMPString` (UTF-16BE).
fn bmp_string(text: &str) -> Vec<u8> {
    let utf16: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    der::tlv(0x80, &utf16)
}

/// `SpcSpOpusInfo`: empty (what signtool writes without `/d`), or with the `programName`
/// `[0] EXPLICIT SpcString`: the `ascii` choice (`[1] IMPLICIT IA5String`, as osslsigncode
/// writes it) for ASCII text, else `unicode`.
fn opus_info(description: Option<&str>) -> Vec<u8> {
    match description {
        None => der::seq(&[]),
        Some(d) if d.is_ascii() => {
            der::seq(&[&der::tlv(tag::context(0), &der::tlv(0x81, d.as_bytes()))])
        }
        Some(d) => der::seq(&[&der::tlv(tag::context(0), &bmp_string(d))]),
    }
}

fn attribute(oid: &[u32], values: Vec<Vec<u8>>) -> Vec<u8> {
    der::seq(&[&der::oid(oid), &der::set_of(values)])
}

/// The signer's `IssuerAndSerialNumber`, copied from its certificate's DER.
fn issuer_and_serial(leaf: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("the signer certificate is not DER X.509: {e}"))?;
    let serial = cert.tbs_certificate.raw_serial();
    Ok(der::seq(&[
        cert.tbs_certificate.issuer.as_raw(),
        &der::tlv(tag::INTEGER, serial),
    ]))
}

/// What [`signed_data`] needs besides the signer.
pub(crate) struct Request<'a> {
    pub(crate) alg: Algorithm,
    pub(crate) image_digest: &'a [u8],
    /// Unix seconds of the signingTime attribute.
    pub(crate) signing_time: i64,
    /// The SpcSpOpusInfo programName.
    pub(crate) description: Option<&'a str>,
    /// For a nested signature, its place among the nested ones (1 for the first), written as
    /// the sequenceNumber attribute as osslsigncode does.
    pub(crate) sequence: Option<u64>,
}

/// Why a signature could not be built.
#[derive(Debug)]
pub(crate) enum BuildError {
    /// The signer failed or its certificate is unusable.
    Signer(String),
    /// The timestamp could not be had.
    Timestamp(crate::timestamp::Error),
}

/// Gets the signature value and returns the RFC 3161 token to embed, or `None`.
pub(crate) type Stamp<'a> =
    dyn FnMut(&[u8]) -> Result<Option<Vec<u8>>, crate::timestamp::Error> + 'a;

/// Builds the `ContentInfo` DER. `timestamp` gets the signature value and returns the RFC 3161
/// token (a `ContentInfo`) to embed, or `None` for no timestamp.
pub(crate) fn signed_data(
    signer: &dyn Signer,
    req: &Request<'_>,
    timestamp: &mut Stamp<'_>,
) -> Result<Vec<u8>, BuildError> {
    let certs = signer.certificates();
    let leaf = certs
        .first()
        .ok_or_else(|| BuildError::Signer("the signer has no certificate".to_owned()))?;
    let content = indirect_data(req.alg, req.image_digest);
    let (content_tlv, _) = der::read(&content)
        .ok_or_else(|| BuildError::Signer("internal: indirect data unreadable".to_owned()))?;
    let message_digest =
        hash(req.alg, content_tlv.content).map_err(|e| BuildError::Signer(e.to_string()))?;

    let mut attrs = vec![
        attribute(oids::CONTENT_TYPE, vec![der::oid(oids::SPC_INDIRECT_DATA)]),
        attribute(oids::SPC_SP_OPUS_INFO, vec![opus_info(req.description)]),
        attribute(
            oids::SPC_STATEMENT_TYPE,
            vec![der::seq(&[&der::oid(oids::SPC_INDIVIDUAL_SP_KEY_PURPOSE)])],
        ),
        attribute(oids::SIGNING_TIME, vec![der::time(req.signing_time)]),
        attribute(oids::MESSAGE_DIGEST, vec![der::octets(&message_digest)]),
    ];
    if let Some(n) = req.sequence {
        attrs.push(attribute(oids::SEQUENCE_NUMBER, vec![der::uint(n)]));
    }
    let attrs_set = der::set_of(attrs);
    let attrs_digest = hash(req.alg, &attrs_set).map_err(|e| BuildError::Signer(e.to_string()))?;
    let signature = signer
        .sign_digest(req.alg, &attrs_digest)
        .map_err(|e| BuildError::Signer(e.to_string()))?;
    let mut attrs_implicit = attrs_set;
    if let Some(t) = attrs_implicit.first_mut() {
        *t = tag::context(0);
    }
    let unsigned = match timestamp(&signature).map_err(BuildError::Timestamp)? {
        Some(token) => {
            let attr = attribute(oids::MS_RFC3161_TIMESTAMP, vec![token]);
            der::tlv(tag::context(1), &attr)
        }
        None => Vec::new(),
    };
    let signer_info = der::seq(&[
        &der::uint(1),
        &issuer_and_serial(leaf).map_err(BuildError::Signer)?,
        &digest_algorithm(req.alg),
        &attrs_implicit,
        &signature_algorithm(signer.key_kind(), req.alg)?,
        &der::octets(&signature),
        &unsigned,
    ]);
    // `certificates [0] IMPLICIT SET OF`: in DER order, as OpenSSL writes it (not chain order;
    // verifiers build the chain themselves).
    let mut sorted: Vec<&[u8]> = certs.iter().map(Vec::as_slice).collect();
    sorted.sort_unstable();
    let cert_set = der::tlv(tag::context(0), &sorted.concat());
    let inner = der::seq(&[
        &der::uint(1),
        &der::cons(tag::SET, &[&digest_algorithm(req.alg)]),
        &der::seq(&[
            &der::oid(oids::SPC_INDIRECT_DATA),
            &der::tlv(tag::context(0), &content),
        ]),
        &cert_set,
        &der::cons(tag::SET, &[&signer_info]),
    ]);
    Ok(der::seq(&[
        &der::oid(oids::SIGNED_DATA),
        &der::tlv(tag::context(0), &inner),
    ]))
}

/// Why an existing signature cannot take a nested one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the existing signature is not a DER PKCS#7 SignedData with a SignerInfo ({0})")]
pub(crate) struct NestError(&'static str);

/// `outer` (a `ContentInfo`) with `nested` (another) added to its first SignerInfo's nested
/// signature attribute, which is created if absent and appended to if present.
pub(crate) fn nest(outer: &[u8], nested: &[u8]) -> Result<Vec<u8>, NestError> {
    let (ci, _) = der::read(outer).ok_or(NestError("ContentInfo"))?;
    let ci_kids = kids(&ci, tag::SEQUENCE, "ContentInfo")?;
    let explicit = *ci_kids.get(1).ok_or(NestError("ContentInfo content"))?;
    let sd = *kids(&explicit, tag::context(0), "content")?
        .first()
        .ok_or(NestError("SignedData"))?;
    let sd_kids = kids(&sd, tag::SEQUENCE, "SignedData")?;
    let (si_set_at, si_set) = sd_kids
        .iter()
        .enumerate()
        .rev()
        .find(|(_, t)| t.tag == tag::SET)
        .ok_or(NestError("signerInfos"))?;
    let si_kids_set = kids(si_set, tag::SET, "signerInfos")?;
    let si = *si_kids_set.first().ok_or(NestError("SignerInfo"))?;
    let si_parts = kids(&si, tag::SEQUENCE, "SignerInfo")?;

    let mut new_si_parts: Vec<Vec<u8>> = si_parts.iter().map(|t| t.whole.to_vec()).collect();
    let unsigned_at = si_parts.iter().position(|t| t.tag == tag::context(1));
    let new_unsigned = match unsigned_at {
        None => der::tlv(
            tag::context(1),
            &attribute(oids::NESTED_SIGNATURE, vec![nested.to_vec()]),
        ),
        Some(i) => {
            let unsigned = *si_parts.get(i).ok_or(NestError("unsignedAttrs"))?;
            let attrs = kids(&unsigned, tag::context(1), "unsignedAttrs")?;
            let nested_oid = der::oid(oids::NESTED_SIGNATURE);
            let mut found = false;
            let mut parts: Vec<Vec<u8>> = Vec::with_capacity(attrs.len().saturating_add(1));
            for a in &attrs {
                let a_kids = kids(a, tag::SEQUENCE, "Attribute")?;
                match a_kids.as_slice() {
                    [id, values] if !found && id.whole == nested_oid.as_slice() => {
                        // Appended after the ones already there (not re-sorted): verifiers
                        // list nested signatures in this order.
                        let mut v = values.content.to_vec();
                        v.extend_from_slice(nested);
                        parts.push(der::seq(&[id.whole, &der::tlv(tag::SET, &v)]));
                        found = true;
                    }
                    _ => parts.push(a.whole.to_vec()),
                }
            }
            if !found {
                parts.push(attribute(oids::NESTED_SIGNATURE, vec![nested.to_vec()]));
            }
            der::tlv(tag::context(1), &parts.concat())
        }
    };
    match unsigned_at {
        Some(i) => {
            if let Some(slot) = new_si_parts.get_mut(i) {
                *slot = new_unsigned;
            }
        }
        None => new_si_parts.push(new_unsigned),
    }
    let new_si = der::tlv(tag::SEQUENCE, &new_si_parts.concat());
    let mut new_set_parts: Vec<&[u8]> = vec![&new_si];
    new_set_parts.extend(si_kids_set.iter().skip(1).map(|t| t.whole));
    let new_si_set = der::cons(tag::SET, &new_set_parts);
    let mut new_sd_parts: Vec<&[u8]> = sd_kids.iter().map(|t| t.whole).collect();
    if let Some(slot) = new_sd_parts.get_mut(si_set_at) {
        *slot = &new_si_set;
    }
    let new_sd = der::cons(tag::SEQUENCE, &new_sd_parts);
    let new_explicit = der::tlv(tag::context(0), &new_sd);
    let first = ci_kids.first().ok_or(NestError("ContentInfo type"))?;
    Ok(der::seq(&[first.whole, &new_explicit]))
}

/// How many nested signatures `outer` (a `ContentInfo`) carries in its first SignerInfo.
pub(crate) fn nested_count(outer: &[u8]) -> Result<usize, NestError> {
    let (ci, _) = der::read(outer).ok_or(NestError("ContentInfo"))?;
    let ci_kids = kids(&ci, tag::SEQUENCE, "ContentInfo")?;
    let explicit = *ci_kids.get(1).ok_or(NestError("ContentInfo content"))?;
    let sd = *kids(&explicit, tag::context(0), "content")?
        .first()
        .ok_or(NestError("SignedData"))?;
    let sd_kids = kids(&sd, tag::SEQUENCE, "SignedData")?;
    let si_set = sd_kids
        .iter()
        .rev()
        .find(|t| t.tag == tag::SET)
        .ok_or(NestError("signerInfos"))?;
    let si = *kids(si_set, tag::SET, "signerInfos")?
        .first()
        .ok_or(NestError("SignerInfo"))?;
    let nested_oid = der::oid(oids::NESTED_SIGNATURE);
    let mut n = 0usize;
    for part in kids(&si, tag::SEQUENCE, "SignerInfo")? {
        if part.tag != tag::context(1) {
            continue;
        }
        for a in kids(&part, tag::context(1), "unsignedAttrs")? {
            if let [id, values] = kids(&a, tag::SEQUENCE, "Attribute")?.as_slice()
                && id.whole == nested_oid.as_slice()
            {
                n = n.saturating_add(kids(values, tag::SET, "nested signatures")?.len());
            }
        }
    }
    Ok(n)
}

fn kids<'a>(t: &Tlv<'a>, want: u8, what: &'static str) -> Result<Vec<Tlv<'a>>, NestError> {
    if t.tag != want {
        return Err(NestError(what));
    }
    der::children(t.content).ok_or(NestError(what))
}
