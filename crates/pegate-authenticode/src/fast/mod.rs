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

mod cert;
mod signed_data;
mod timestamp;

use cert::{chain, find_signer};
use signed_data::{digest_algorithm, signed_data, signer_verifies};
use timestamp::ms_countersignature;

use crate::CertificateInfo;
use crate::der::oid;
use crate::der::tlv::{Tlv, first_value, items, oid_ok, single};
use crate::pkcs7::Parsed;

/// authenticode-parser's limit on the values of one nested-signature or countersignature
/// attribute; with more, it reads the first 16 (this path leaves that case to it).
const MAX_VALUES: usize = 16;
/// Nested signatures inside nested signatures this deep are left to authenticode-parser.
const MAX_NESTING: usize = 4;

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
    if !oid_ok(data.take(0x06)?) || !data.rest_is_optional_any() {
        return None;
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
    if !signer_verifies(s, &sd.md_algs, sd.content.content, leaf.key()) {
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
        if single(link.content)?.tag != 0x80 {
            return None;
        }
    }
    if !it.done() {
        return None;
    }
    let Some(name) = name else {
        return Some(None);
    };
    let s = single(name.content)?;
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

#[cfg(test)]
mod tests;
