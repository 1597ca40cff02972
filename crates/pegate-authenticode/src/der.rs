//! Just enough DER to find nested Authenticode signatures: the values of the unsigned
//! attribute `1.3.6.1.4.1.311.2.4.1` (`SPC_NESTED_SIGNATURE`), each a PKCS#7 ContentInfo.
//!
//! Bounded: every length is checked against the bytes present, nesting is not followed
//! recursively here (the caller recurses with a depth limit).

/// DER of the OID 1.3.6.1.4.1.311.2.4.1, tag and length included.
const NESTED_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01,
];

/// Reads one TLV at the start of `b`: (tag, whole TLV length, header length).
pub(crate) fn tlv(b: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | usize::from(*b.get(2usize.checked_add(i)?)?);
        }
        (len, 2usize.checked_add(n)?)
    };
    let total = header.checked_add(len)?;
    (total <= b.len()).then_some((tag, total, header))
}

/// The nested ContentInfo blobs directly inside `der` (one PKCS#7 signature).
pub(crate) fn nested_signatures(der: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let finder = memchr_find_all(der, NESTED_OID);
    for at in finder {
        let Some(after) = der.get(at.saturating_add(NESTED_OID.len())..) else {
            continue;
        };
        // SET OF ContentInfo
        let Some((0x31, set_len, set_header)) = tlv(after) else {
            continue;
        };
        let mut inner = after.get(set_header..set_len).unwrap_or_default();
        while let Some((0x30, len, _)) = tlv(inner) {
            if let Some(ci) = inner.get(..len) {
                out.push(ci);
            }
            inner = inner.get(len..).unwrap_or_default();
        }
    }
    out
}

fn memchr_find_all(hay: &[u8], needle: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut start = 0usize;
    while let Some(rest) = hay.get(start..) {
        let Some(i) = rest.windows(needle.len()).position(|w| w == needle) else {
            break;
        };
        let at = start.saturating_add(i);
        out.push(at);
        start = at.saturating_add(1);
    }
    out
}

/// Checks a PKCS#7 blob before it reaches the C parser: the whole DER tree must be well formed
/// (every child inside its parent, bounded depth and size), every embedded certificate must
/// load with a usable public key, and every value the parser reads through an untyped `ANY`
/// must have its type (see [`TYPED`]). authenticode-parser dereferences what OpenSSL returns
/// without checking, so a certificate with a damaged key (seen: one flipped byte in an RFC 3161
/// TSA certificate) or a messageDigest attribute holding an OID (found by the fuzzer: OpenSSL
/// keeps an OID as a different struct, whose pointer bits the parser then took for a length)
/// would crash the process; here they become errors.
pub(crate) fn precheck(der: &[u8]) -> Result<(), String> {
    let mut nodes = 0usize;
    walk(der, 0, 0, &mut nodes)
}

/// The first DER element of `b` (a WIN_CERTIFICATE's data may end in alignment padding).
pub(crate) fn first_element(b: &[u8]) -> Option<&[u8]> {
    let (_, total, _) = tlv(b)?;
    b.get(..total)
}

/// Attributes whose values authenticode-parser reads as a string or SEQUENCE without checking
/// the type: (OID content bytes, name, the tags the specification allows).
const TYPED: &[(&[u8], &str, &[u8])] = &[
    // 1.2.840.113549.1.9.4 messageDigest: OCTET STRING
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04],
        "messageDigest",
        &[0x04],
    ),
    // 1.2.840.113549.1.9.5 signingTime: UTCTime or GeneralizedTime
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05],
        "signingTime",
        &[0x17, 0x18],
    ),
    // 1.2.840.113549.1.9.6 countersignature: SignerInfo
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06],
        "countersignature",
        &[0x30],
    ),
    // 1.3.6.1.4.1.311.2.1.12 SpcSpOpusInfo
    (
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c],
        "SpcSpOpusInfo",
        &[0x30],
    ),
    // 1.3.6.1.4.1.311.2.4.1 nested signature: ContentInfo
    (
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01],
        "nested signature",
        &[0x30],
    ),
    // 1.3.6.1.4.1.311.3.3.1 RFC 3161 countersignature: ContentInfo
    (
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01],
        "RFC 3161 timestamp",
        &[0x30],
    ),
];

/// 1.3.6.1.4.1.311.2.1.4 SPC_INDIRECT_DATA: a ContentInfo of this type must carry its content,
/// a SEQUENCE, in `[0]` (the parser reads it without checking that it is there).
const SPC_INDIRECT_DATA: &[u8] = &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];

/// For a SEQUENCE's content: an Attribute { OID, SET OF value } from [`TYPED`] whose values have
/// another type, or a ContentInfo { SPC_INDIRECT_DATA, [0] content } without its SEQUENCE.
fn check_typed(content: &[u8]) -> Result<(), String> {
    let Some((0x06, oid_len, oid_header)) = tlv(content) else {
        return Ok(());
    };
    let oid = content.get(oid_header..oid_len).unwrap_or_default();
    let next = content.get(oid_len..).unwrap_or_default();
    if oid == SPC_INDIRECT_DATA {
        return match tlv(next) {
            Some((0xa0, len, header)) => match tlv(next.get(header..len).unwrap_or_default()) {
                Some((0x30, ..)) => Ok(()),
                _ => Err("SPC_INDIRECT_DATA content is not a SEQUENCE".to_owned()),
            },
            None if next.is_empty() => Err("SPC_INDIRECT_DATA without its content".to_owned()),
            _ => Err("SPC_INDIRECT_DATA content is not in [0]".to_owned()),
        };
    }
    let Some(&(_, name, allowed)) = TYPED.iter().find(|(o, ..)| *o == oid) else {
        return Ok(());
    };
    let Some((0x31, set_len, set_header)) = tlv(next) else {
        return Ok(());
    };
    let mut values = next.get(set_header..set_len).unwrap_or_default();
    while let Some((tag, len, _)) = tlv(values) {
        if !allowed.contains(&tag) {
            return Err(format!(
                "{name} attribute value has DER tag {tag:#04x}, not {}",
                allowed
                    .iter()
                    .map(|t| format!("{t:#04x}"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        values = values.get(len..).unwrap_or_default();
    }
    Ok(())
}

const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

fn walk(b: &[u8], base: usize, depth: usize, nodes: &mut usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "DER nested deeper than {MAX_DEPTH} at offset {base:#x}"
        ));
    }
    let mut at = 0usize;
    while at < b.len() {
        *nodes = nodes.saturating_add(1);
        if *nodes > MAX_NODES {
            return Err("DER has too many elements".to_owned());
        }
        let rest = b.get(at..).unwrap_or_default();
        let (tag, total, header) = tlv(rest).ok_or_else(|| {
            format!(
                "malformed DER element at offset {:#x}",
                base.saturating_add(at)
            )
        })?;
        let node = rest.get(..total).unwrap_or_default();
        if tag & 0x20 != 0 {
            let content = node.get(header..).unwrap_or_default();
            if tag == 0x30 && looks_like_certificate(content) {
                check_certificate(node).map_err(|e| {
                    format!(
                        "certificate at DER offset {:#x}: {e}",
                        base.saturating_add(at)
                    )
                })?;
            }
            if tag == 0x30 {
                check_typed(content)
                    .map_err(|e| format!("at DER offset {:#x}: {e}", base.saturating_add(at)))?;
            }
            walk(
                content,
                base.saturating_add(at).saturating_add(header),
                depth.saturating_add(1),
                nodes,
            )?;
        }
        at = at.saturating_add(total);
    }
    Ok(())
}

/// SEQUENCE { SEQUENCE { [0] { INTEGER version } ... } ... }: an X.509 certificate.
fn looks_like_certificate(content: &[u8]) -> bool {
    let Some((0x30, _, tbs_header)) = tlv(content) else {
        return false;
    };
    content.get(tbs_header) == Some(&0xa0)
}

fn check_certificate(der: &[u8]) -> Result<(), String> {
    let cert = openssl::x509::X509::from_der(der).map_err(|e| format!("cannot load: {e}"))?;
    cert.public_key()
        .map_err(|e| format!("unusable public key: {e}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    #[test]
    fn tlv_lengths() {
        assert_eq!(tlv(&[0x30, 0x03, 1, 2, 3]), Some((0x30, 5, 2)));
        assert_eq!(tlv(&[0x30, 0x82, 0x00, 0x01, 9]), Some((0x30, 5, 4)));
        assert_eq!(tlv(&[0x30, 0x82, 0xff, 0xff]), None, "length past the end");
        assert_eq!(tlv(&[0x30, 0x85, 1, 1, 1, 1, 1]), None, "5-byte length");
        assert_eq!(tlv(&[0x30]), None);
    }

    fn oid(content: &[u8]) -> Vec<u8> {
        let mut v = vec![0x06, content.len() as u8];
        v.extend_from_slice(content);
        v
    }

    #[test]
    fn untyped_values_must_have_their_type() {
        let digest = TYPED[0].0;
        // SEQUENCE content: OID messageDigest, SET { value }
        let attr = |value: &[u8]| {
            let mut v = oid(digest);
            v.extend_from_slice(&[0x31, value.len() as u8]);
            v.extend_from_slice(value);
            v
        };
        assert_eq!(check_typed(&attr(&[0x04, 0x02, 1, 2])), Ok(()));
        let err = check_typed(&attr(&[0x06, 0x01, 0x2a])).unwrap_err();
        assert_eq!(
            err,
            "messageDigest attribute value has DER tag 0x06, not 0x04"
        );
        let time = TYPED[1].0;
        let mut t = oid(time);
        t.extend_from_slice(&[0x31, 0x02, 0x05, 0x00]);
        assert!(check_typed(&t).unwrap_err().contains("0x17 or 0x18"));

        let mut ci = oid(SPC_INDIRECT_DATA);
        assert_eq!(
            check_typed(&ci),
            Err("SPC_INDIRECT_DATA without its content".to_owned())
        );
        ci.extend_from_slice(&[0xa0, 0x02, 0x05, 0x00]);
        assert_eq!(
            check_typed(&ci),
            Err("SPC_INDIRECT_DATA content is not a SEQUENCE".to_owned())
        );
        let mut ok = oid(SPC_INDIRECT_DATA);
        ok.extend_from_slice(&[0xa0, 0x02, 0x30, 0x00]);
        assert_eq!(check_typed(&ok), Ok(()));
        // Any other SEQUENCE is not this check's business.
        assert_eq!(check_typed(&[0x02, 0x01, 0x00]), Ok(()));
    }

    #[test]
    fn finds_each_nested_content_info() {
        let mut der = vec![0x30, 0x00];
        der.extend_from_slice(NESTED_OID);
        der.extend_from_slice(&[0x31, 0x08, 0x30, 0x02, 0xaa, 0xbb, 0x30, 0x02, 0xcc, 0xdd]);
        let found = nested_signatures(&der);
        assert_eq!(
            found,
            [&[0x30, 0x02, 0xaa, 0xbb][..], &[0x30, 0x02, 0xcc, 0xdd][..]]
        );
        der.truncate(der.len() - 3);
        assert!(
            nested_signatures(&der).is_empty(),
            "a truncated SET yields nothing"
        );
    }
}
