//! RFC 3161 timestamps (Microsoft's `1.3.6.1.4.1.311.3.3.1` countersignature): the token's
//! SignedData checked as authenticode-parser checks it, and its TSTInfo read down to the
//! signing time.
//!
//! Separate from the signature itself because the token has its own content (TSTInfo, a
//! GeneralizedTime, a TSA name) and its own verification rule (CMS tokens).

use pegate_facts::DigestAlgorithm;

use super::cert::{Cert, chain, find_signer};
use super::signed_data::{digest_matches, hash, md_of_oid, signed_data, signer_verifies};
use crate::Timestamp;
use crate::der::oid;
use crate::der::tlv::{Tlv, integer_ok, items, oid_ok, single};

/// An RFC 3161 timestamp (`1.3.6.1.4.1.311.3.3.1`): a PKCS#7 SignedData over a TSTInfo whose
/// message imprint is the digest of the signature it stamps. Returns the timestamp and the
/// token's certificates (authenticode-parser lists them with the outer signature's).
pub(super) fn ms_countersignature<'a>(
    der: &'a [u8],
    stamped: &[u8],
) -> Option<(Timestamp, Vec<Cert<'a>>)> {
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
        signer_verifies(s, &sd.md_algs, sd.content.content, leaf.key())
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
    let t = single(b)?;
    if t.tag != 0x30 {
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
    (it.rest_is_optional_any() && oid_ok(o)).then_some(o.content)
}

/// `[0] EXPLICIT GeneralName` holding a directoryName whose values are plain ASCII strings (what
/// OpenSSL's name decoding surely accepts).
fn directory_name(t: Tlv<'_>) -> Option<()> {
    let dn = single(t.content)?;
    let name = single(dn.content)?;
    if dn.tag != 0xa4 || name.tag != 0x30 {
        return None;
    }
    for rdn in items(name).all()? {
        if rdn.tag != 0x31 {
            return None;
        }
        for atv in items(rdn).all()? {
            let mut atv = items(atv);
            let o = atv.take(0x06)?;
            let v = single(atv.0)?;
            let ascii = v.content.iter().all(|&b| (0x20..0x7f).contains(&b));
            if !oid_ok(o) || !matches!(v.tag, 0x0c | 0x13 | 0x16) || !ascii {
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
