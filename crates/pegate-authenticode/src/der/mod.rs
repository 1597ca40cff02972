//! The crate's DER: one reader ([`tlv`]) for the precheck and the fast path (`fast/`), the OIDs
//! they look for, the precheck every signature passes before authenticode-parser reads it, and
//! the nested Authenticode signatures found in a signature: the values of the unsigned attribute
//! `1.3.6.1.4.1.311.2.4.1` (`SPC_NESTED_SIGNATURE`), each a PKCS#7 ContentInfo.
//!
//! Bounded: every length is checked against the bytes present, nested signatures are not
//! followed recursively here (the caller recurses with a depth limit).

pub(crate) mod tlv;

use tlv::{Tlv, next_lenient};

/// OID contents (no tag or length), for this walk and for the fast path (`fast/`).
pub(crate) mod oid {
    /// 1.2.840.113549.1.7.1 data.
    pub(crate) const DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01];
    /// 1.2.840.113549.1.7.2 signedData.
    pub(crate) const SIGNED_DATA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02];
    /// 1.2.840.113549.1.9.4 messageDigest.
    pub(crate) const MESSAGE_DIGEST: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04];
    /// 1.2.840.113549.1.9.5 signingTime.
    pub(crate) const SIGNING_TIME: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05];
    /// 1.2.840.113549.1.9.6 countersignature (PKCS#9).
    pub(crate) const COUNTERSIGNATURE: &[u8] =
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x06];
    /// 1.2.840.113549.1.9.16.1.4 id-smime-ct-TSTInfo.
    pub(crate) const TST_INFO: &[u8] = &[
        0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x04,
    ];
    /// 1.3.6.1.4.1.311.2.1.4 SPC_INDIRECT_DATA.
    pub(crate) const SPC_INDIRECT_DATA: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x04];
    /// 1.3.6.1.4.1.311.2.1.12 SpcSpOpusInfo.
    pub(crate) const SPC_SP_OPUS_INFO: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x01, 0x0c];
    /// 1.3.6.1.4.1.311.2.4.1 SPC_NESTED_SIGNATURE.
    pub(crate) const NESTED_SIGNATURE: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01];
    /// 1.3.6.1.4.1.311.3.3.1 RFC 3161 countersignature (Microsoft's).
    pub(crate) const MS_COUNTERSIGNATURE: &[u8] =
        &[0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x03, 0x03, 0x01];
}

/// DER of the OID [`oid::NESTED_SIGNATURE`], tag and length included.
const NESTED_OID: &[u8] = &[
    0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x04, 0x01,
];

/// Why a signature's DER was refused before it reached the C parser: the whole tree must be well
/// formed, every certificate must load, and the values the parser reads untyped must have their
/// type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DerError {
    /// Elements nested deeper than the walk follows.
    #[error("DER nested deeper than {} at offset {offset:#x}", MAX_DEPTH)]
    TooDeep {
        /// Offset of the content that is too deep, in the signature's DER.
        offset: usize,
    },
    /// More elements than any real signature has.
    #[error("DER has too many elements")]
    TooManyElements,
    /// An element whose length runs past its parent, or that cannot be read at all.
    #[error("malformed DER element at offset {offset:#x}")]
    Malformed {
        /// Offset of the element.
        offset: usize,
    },
    /// An embedded certificate OpenSSL cannot use.
    #[error("certificate at DER offset {offset:#x}: {problem}")]
    Certificate {
        /// Offset of the certificate.
        offset: usize,
        /// What is wrong with it.
        problem: CertificateProblem,
    },
    /// A value the C parser reads without checking its type has another type.
    #[error("at DER offset {offset:#x}: {problem}")]
    Value {
        /// Offset of the SEQUENCE holding the value.
        offset: usize,
        /// What is wrong with it.
        problem: ValueProblem,
    },
}

/// Why an embedded certificate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateProblem {
    /// OpenSSL cannot load it.
    #[error("cannot load: {reason}")]
    Unloadable {
        /// OpenSSL's message.
        reason: String,
    },
    /// It loads, but its public key does not.
    #[error("unusable public key: {reason}")]
    UnusablePublicKey {
        /// OpenSSL's message.
        reason: String,
    },
}

/// A value of the wrong type where the C parser trusts the type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueProblem {
    /// An SPC_INDIRECT_DATA ContentInfo whose `[0]` does not hold a SEQUENCE.
    #[error("SPC_INDIRECT_DATA content is not a SEQUENCE")]
    IndirectDataNotSequence,
    /// An SPC_INDIRECT_DATA ContentInfo that ends after its OID.
    #[error("SPC_INDIRECT_DATA without its content")]
    IndirectDataMissing,
    /// An SPC_INDIRECT_DATA ContentInfo whose content is not tagged `[0]`.
    #[error("SPC_INDIRECT_DATA content is not in [0]")]
    IndirectDataUntagged,
    /// An attribute value with a DER tag its specification does not allow.
    #[error(
        "{attribute} attribute value has DER tag {tag:#04x}, not {}",
        Tags(allowed)
    )]
    WrongTag {
        /// The attribute's name (`messageDigest`).
        attribute: &'static str,
        /// The tag found.
        tag: u8,
        /// The tags allowed.
        allowed: &'static [u8],
    },
}

/// Tags as `0x17 or 0x18`.
struct Tags<'a>(&'a [u8]);

impl std::fmt::Display for Tags<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, t) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            write!(f, "{t:#04x}")?;
        }
        Ok(())
    }
}

/// The nested ContentInfo blobs directly inside `der` (one PKCS#7 signature).
pub(crate) fn nested_signatures(der: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    // Non-overlapping matches are every match: no proper prefix of the OID is also its suffix.
    for at in memchr::memmem::find_iter(der, NESTED_OID) {
        let Some(after) = der.get(at.saturating_add(NESTED_OID.len())..) else {
            continue;
        };
        // SET OF ContentInfo
        let Some((set @ Tlv { tag: 0x31, .. }, _)) = next_lenient(after) else {
            continue;
        };
        let mut inner = set.content;
        while let Some((ci @ Tlv { tag: 0x30, .. }, rest)) = next_lenient(inner) {
            out.push(ci.whole);
            inner = rest;
        }
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
pub(crate) fn precheck(der: &[u8]) -> Result<(), DerError> {
    let mut nodes = 0usize;
    walk(der, 0, 0, &mut nodes)
}

/// The first DER element of `b` (a WIN_CERTIFICATE's data may end in alignment padding).
pub(crate) fn first_element(b: &[u8]) -> Option<&[u8]> {
    next_lenient(b).map(|(t, _)| t.whole)
}

/// Attributes whose values authenticode-parser reads as a string or SEQUENCE without checking
/// the type: (OID content bytes, name, the tags the specification allows).
const TYPED: &[(&[u8], &str, &[u8])] = &[
    (oid::MESSAGE_DIGEST, "messageDigest", &[0x04]),
    // UTCTime or GeneralizedTime
    (oid::SIGNING_TIME, "signingTime", &[0x17, 0x18]),
    // SignerInfo
    (oid::COUNTERSIGNATURE, "countersignature", &[0x30]),
    (oid::SPC_SP_OPUS_INFO, "SpcSpOpusInfo", &[0x30]),
    // ContentInfo
    (oid::NESTED_SIGNATURE, "nested signature", &[0x30]),
    // ContentInfo
    (oid::MS_COUNTERSIGNATURE, "RFC 3161 timestamp", &[0x30]),
];

/// For a SEQUENCE's content: an Attribute { OID, SET OF value } from [`TYPED`] whose values have
/// another type, or a ContentInfo { SPC_INDIRECT_DATA, [0] content } without its SEQUENCE.
fn check_typed(content: &[u8]) -> Result<(), ValueProblem> {
    let Some((id @ Tlv { tag: 0x06, .. }, next)) = next_lenient(content) else {
        return Ok(());
    };
    let oid = id.content;
    // A ContentInfo of type SPC_INDIRECT_DATA must carry its content, a SEQUENCE, in `[0]` (the
    // parser reads it without checking that it is there).
    if oid == self::oid::SPC_INDIRECT_DATA {
        return match next_lenient(next) {
            Some((tagged @ Tlv { tag: 0xa0, .. }, _)) => match next_lenient(tagged.content) {
                Some((Tlv { tag: 0x30, .. }, _)) => Ok(()),
                _ => Err(ValueProblem::IndirectDataNotSequence),
            },
            None if next.is_empty() => Err(ValueProblem::IndirectDataMissing),
            _ => Err(ValueProblem::IndirectDataUntagged),
        };
    }
    let Some(&(_, attribute, allowed)) = TYPED.iter().find(|(o, ..)| *o == oid) else {
        return Ok(());
    };
    let Some((set @ Tlv { tag: 0x31, .. }, _)) = next_lenient(next) else {
        return Ok(());
    };
    let mut values = set.content;
    while let Some((Tlv { tag, .. }, rest)) = next_lenient(values) {
        if !allowed.contains(&tag) {
            return Err(ValueProblem::WrongTag {
                attribute,
                tag,
                allowed,
            });
        }
        values = rest;
    }
    Ok(())
}

const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 200_000;

fn walk(b: &[u8], base: usize, depth: usize, nodes: &mut usize) -> Result<(), DerError> {
    if depth > MAX_DEPTH {
        return Err(DerError::TooDeep { offset: base });
    }
    let mut at = 0usize;
    while at < b.len() {
        *nodes = nodes.saturating_add(1);
        if *nodes > MAX_NODES {
            return Err(DerError::TooManyElements);
        }
        let rest = b.get(at..).unwrap_or_default();
        let offset = base.saturating_add(at);
        let (node, _) = next_lenient(rest).ok_or(DerError::Malformed { offset })?;
        if node.tag & 0x20 != 0 {
            if node.tag == 0x30 && looks_like_certificate(node.content) {
                crate::cert::load(node.whole)
                    .map_err(|problem| DerError::Certificate { offset, problem })?;
            }
            if node.tag == 0x30 {
                check_typed(node.content).map_err(|problem| DerError::Value { offset, problem })?;
            }
            walk(
                node.content,
                offset.saturating_add(node.header_len()),
                depth.saturating_add(1),
                nodes,
            )?;
        }
        at = at.saturating_add(node.whole.len());
    }
    Ok(())
}

/// SEQUENCE { SEQUENCE { [0] { INTEGER version } ... } ... }: an X.509 certificate.
fn looks_like_certificate(content: &[u8]) -> bool {
    match next_lenient(content) {
        // The byte after the TBSCertificate's header, read even when its content is empty.
        Some((tbs @ Tlv { tag: 0x30, .. }, _)) => content.get(tbs.header_len()) == Some(&0xa0),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    /// (tag, whole length, header length) of the first element, under each set of rules.
    fn read(b: &[u8]) -> [Option<(u8, usize, usize)>; 2] {
        let shape = |(t, _): (Tlv<'_>, &[u8])| (t.tag, t.whole.len(), t.header_len());
        [tlv::next(b).map(shape), next_lenient(b).map(shape)]
    }

    /// The precheck reads what OpenSSL decodes (any definite length); the fast path only DER.
    #[test]
    fn tlv_lengths() {
        let both = |x| [x, x];
        assert_eq!(read(&[0x30, 0x03, 1, 2, 3]), both(Some((0x30, 5, 2))));
        assert_eq!(read(&[0x30, 0x81, 0x80]), both(None), "length past the end");
        assert_eq!(
            read(&[0x30, 0x85, 1, 1, 1, 1, 1]),
            both(None),
            "5-byte length"
        );
        assert_eq!(read(&[0x30, 0x80, 0, 0]), both(None), "indefinite length");
        assert_eq!(read(&[0x30]), both(None));
        assert_eq!(
            read(&[0x30, 0x82, 0x00, 0x01, 9]),
            [None, Some((0x30, 5, 4))],
            "a padded length"
        );
        assert_eq!(
            read(&[0x30, 0x81, 0x01, 9]),
            [None, Some((0x30, 4, 3))],
            "a long form for a short length"
        );
        assert_eq!(
            read(&[0x3f, 0x01, 9]),
            [None, Some((0x3f, 3, 2))],
            "a high tag number: its next byte taken for the length"
        );
        let long = vec![7u8; 0x1234];
        let der = tlv::encode(0x04, &long);
        assert_eq!(read(&der), both(Some((0x04, 0x1238, 4))));
        assert_eq!(tlv::single(&der).map(|t| t.content), Some(&long[..]));
    }

    fn oid(content: &[u8]) -> Vec<u8> {
        tlv::encode(0x06, content)
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
            ValueProblem::WrongTag {
                attribute: "messageDigest",
                tag: 0x06,
                allowed: &[0x04]
            }
        );
        assert_eq!(
            err.to_string(),
            "messageDigest attribute value has DER tag 0x06, not 0x04"
        );
        let time = TYPED[1].0;
        let mut t = oid(time);
        t.extend_from_slice(&[0x31, 0x02, 0x05, 0x00]);
        assert_eq!(
            check_typed(&t).unwrap_err().to_string(),
            "signingTime attribute value has DER tag 0x05, not 0x17 or 0x18"
        );

        let mut ci = oid(super::oid::SPC_INDIRECT_DATA);
        let err = check_typed(&ci).unwrap_err();
        assert_eq!(err, ValueProblem::IndirectDataMissing);
        assert_eq!(err.to_string(), "SPC_INDIRECT_DATA without its content");
        ci.extend_from_slice(&[0xa0, 0x02, 0x05, 0x00]);
        let err = check_typed(&ci).unwrap_err();
        assert_eq!(err, ValueProblem::IndirectDataNotSequence);
        assert_eq!(
            err.to_string(),
            "SPC_INDIRECT_DATA content is not a SEQUENCE"
        );
        let mut untagged = oid(super::oid::SPC_INDIRECT_DATA);
        untagged.extend_from_slice(&[0x30, 0x00]);
        assert_eq!(
            check_typed(&untagged).unwrap_err().to_string(),
            "SPC_INDIRECT_DATA content is not in [0]"
        );
        let mut ok = oid(super::oid::SPC_INDIRECT_DATA);
        ok.extend_from_slice(&[0xa0, 0x02, 0x30, 0x00]);
        assert_eq!(check_typed(&ok), Ok(()));
        // Any other SEQUENCE is not this check's business.
        assert_eq!(check_typed(&[0x02, 0x01, 0x00]), Ok(()));
    }

    /// A SEQUENCE holding `content`, its length in the shortest form.
    fn seq(content: &[u8]) -> Vec<u8> {
        tlv::encode(0x30, content)
    }

    /// Each way the walk refuses DER, as the variant and as the words the report prints.
    #[test]
    fn precheck_refusals_name_the_place() {
        let mut deep = seq(&[]);
        for _ in 0..=MAX_DEPTH {
            deep = seq(&deep);
        }
        let mut wrong_tag = oid(TYPED[0].0);
        wrong_tag.extend_from_slice(&[0x31, 0x03, 0x06, 0x01, 0x2a]);
        let cases: [(Vec<u8>, DerError, &str); 4] = [
            (
                vec![0x30, 0x03, 0x02, 0x05, 0x00],
                DerError::Malformed { offset: 2 },
                "malformed DER element at offset 0x2",
            ),
            (
                [0x05, 0x00].repeat(MAX_NODES + 1),
                DerError::TooManyElements,
                "DER has too many elements",
            ),
            (
                deep.clone(),
                DerError::TooDeep {
                    offset: 2 * (MAX_DEPTH + 1) + 2,
                },
                "DER nested deeper than 64 at offset 0x84",
            ),
            (
                seq(&seq(&wrong_tag)),
                DerError::Value {
                    offset: 2,
                    problem: ValueProblem::WrongTag {
                        attribute: "messageDigest",
                        tag: 0x06,
                        allowed: &[0x04],
                    },
                },
                "at DER offset 0x2: messageDigest attribute value has DER tag 0x06, not 0x04",
            ),
        ];
        for (der, want, text) in cases {
            let got = precheck(&der).unwrap_err();
            assert_eq!(got, want);
            assert_eq!(got.to_string(), text);
        }
        // SEQUENCE { SEQUENCE { [0] ... } }: shaped like a certificate, which OpenSSL refuses.
        let cert = seq(&seq(&[0xa0, 0x03, 0x02, 0x01, 0x02]));
        let got = precheck(&cert).unwrap_err();
        assert!(
            matches!(
                got,
                DerError::Certificate {
                    offset: 0,
                    problem: CertificateProblem::Unloadable { .. }
                }
            ),
            "{got:?}"
        );
        assert!(
            got.to_string()
                .starts_with("certificate at DER offset 0x0: cannot load: "),
            "{got}"
        );
    }

    /// `nested_signatures` relies on memmem's non-overlapping matches being all of them.
    #[test]
    fn the_nested_oid_cannot_overlap_itself() {
        assert_eq!(
            NESTED_OID,
            oid(super::oid::NESTED_SIGNATURE),
            "the table's OID"
        );
        let n = NESTED_OID.len();
        for k in 1..n {
            assert_ne!(NESTED_OID[..k], NESTED_OID[n - k..], "border of {k} bytes");
        }
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
