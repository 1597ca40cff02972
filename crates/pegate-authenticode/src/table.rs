//! The certificate table: a sequence of `WIN_CERTIFICATE` entries, each 8-byte aligned.
//!
//! `dwLength` (u32) counts the 8-byte header and the certificate; `wRevision` is 0x0100 or
//! 0x0200; `wCertificateType` 2 is `WIN_CERT_TYPE_PKCS_SIGNED_DATA`, the only type Authenticode
//! uses. The next entry starts at the current one's length rounded up to 8.

use serde::Serialize;

use crate::Problem;

/// `WIN_CERT_TYPE_PKCS_SIGNED_DATA`.
pub const PKCS_SIGNED_DATA: u16 = 2;

/// One entry of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
// `Entry` alone would say nothing beside the other types of inspect's schema.
#[schemars(deny_unknown_fields, rename = "CertificateTableEntry")]
pub struct Entry {
    /// File offset of the entry.
    pub offset: u64,
    /// `dwLength`.
    pub length: u32,
    /// `wRevision`.
    pub revision: u16,
    /// `wCertificateType`.
    pub cert_type: u16,
    /// Range of the certificate bytes inside the table slice.
    #[serde(skip)]
    pub(crate) data: core::ops::Range<usize>,
}

/// What is wrong with one WIN_CERTIFICATE entry (the report says which, by its file offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryProblem {
    /// Fewer bytes are left in the table than an entry header takes.
    #[error("{left} bytes left, a header needs 8")]
    ShortHeader {
        /// Bytes left.
        left: usize,
    },
    /// `dwLength` does not even cover the header.
    #[error("dwLength {length} is smaller than its 8-byte header")]
    LengthBelowHeader {
        /// `dwLength`.
        length: u32,
    },
    /// `dwLength` runs past the end of the table.
    #[error("dwLength {length:#x} runs {overrun:#x} bytes past the end of the table")]
    PastTableEnd {
        /// `dwLength`.
        length: u32,
        /// By how many bytes.
        overrun: usize,
    },
    /// `wRevision` is neither 0x0100 nor 0x0200.
    #[error("unknown revision {revision:#06x}")]
    UnknownRevision {
        /// `wRevision`.
        revision: u16,
    },
    /// `wCertificateType` is not [`PKCS_SIGNED_DATA`].
    #[error("type {cert_type} is not PKCS_SIGNED_DATA (2)")]
    NotPkcsSignedData {
        /// `wCertificateType`.
        cert_type: u16,
    },
    /// The certificate does not start with a DER element.
    #[error("the certificate is not a DER element")]
    NotDer,
    /// The certificate's DER would be unsafe to hand to the PKCS#7 parser.
    #[error(transparent)]
    Der(#[from] crate::DerError),
    /// The certificate is DER, but not PKCS#7 SignedData.
    #[error("not a PKCS#7 SignedData")]
    NotPkcs7,
}

/// Walks `table` (the bytes of the certificate table, which starts at file offset `base`).
/// Returns the entries that could be read and the problems found, each as
/// [`Problem::Entry`].
pub fn walk(table: &[u8], base: u64) -> (Vec<Entry>, Vec<Problem>) {
    let mut entries = Vec::new();
    let mut problems = Vec::new();
    let mut at = 0usize;
    while at < table.len() {
        let offset = base.saturating_add(at as u64);
        let Some(header) = table
            .get(at..at.saturating_add(8))
            .and_then(|h| <[u8; 8]>::try_from(h).ok())
        else {
            problems.push(Problem::entry(
                offset,
                EntryProblem::ShortHeader {
                    left: table.len().saturating_sub(at),
                },
            ));
            break;
        };
        let length = u32::from_le_bytes([header[0], header[1], header[2], header[3]]);
        let revision = u16::from_le_bytes([header[4], header[5]]);
        let cert_type = u16::from_le_bytes([header[6], header[7]]);
        if length < 8 {
            problems.push(Problem::entry(
                offset,
                EntryProblem::LengthBelowHeader { length },
            ));
            break;
        }
        let end = at.saturating_add(length as usize);
        if end > table.len() {
            problems.push(Problem::entry(
                offset,
                EntryProblem::PastTableEnd {
                    length,
                    overrun: end.saturating_sub(table.len()),
                },
            ));
            break;
        }
        if revision != 0x0100 && revision != 0x0200 {
            problems.push(Problem::entry(
                offset,
                EntryProblem::UnknownRevision { revision },
            ));
        }
        if cert_type != PKCS_SIGNED_DATA {
            problems.push(Problem::entry(
                offset,
                EntryProblem::NotPkcsSignedData { cert_type },
            ));
        }
        entries.push(Entry {
            offset,
            length,
            revision,
            cert_type,
            data: at.saturating_add(8)..end,
        });
        // Entries are 8-byte aligned; a zero-length remainder of padding ends the walk.
        let next = end.saturating_add(7) & !7;
        if next <= at {
            break;
        }
        at = next;
        if table
            .get(at..)
            .is_some_and(|rest| rest.iter().all(|&b| b == 0))
        {
            break;
        }
    }
    (entries, problems)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    fn entry(len: u32, rev: u16, ty: u16, payload: usize) -> Vec<u8> {
        let mut v = len.to_le_bytes().to_vec();
        v.extend_from_slice(&rev.to_le_bytes());
        v.extend_from_slice(&ty.to_le_bytes());
        v.resize(8 + payload, 0x30);
        v
    }

    #[test]
    fn two_aligned_entries() {
        let mut t = entry(13, 0x200, 2, 5);
        t.resize(16, 0);
        t.extend(entry(12, 0x100, 2, 4));
        let (e, p) = walk(&t, 0x1000);
        assert!(p.is_empty(), "{p:?}");
        assert_eq!(e.len(), 2);
        assert_eq!(e[1].offset, 0x1010);
        assert_eq!(e[0].data, 8..13);
    }

    #[test]
    fn hostile_lengths_and_revisions() {
        let text = |p: &[Problem]| p.iter().map(Problem::to_string).collect::<Vec<_>>();
        let (e, p) = walk(&entry(4, 0x200, 2, 0), 0);
        assert!(e.is_empty());
        assert_eq!(
            p,
            [Problem::entry(
                0,
                EntryProblem::LengthBelowHeader { length: 4 }
            )]
        );
        assert_eq!(
            text(&p),
            ["WIN_CERTIFICATE at 0x0: dwLength 4 is smaller than its 8-byte header"]
        );
        let (_, p) = walk(&entry(u32::MAX, 0x200, 2, 8), 0);
        assert_eq!(
            text(&p),
            [
                "WIN_CERTIFICATE at 0x0: dwLength 0xffffffff runs 0xffffffef bytes past the end of the table"
            ]
        );
        let (e, p) = walk(&entry(16, 0x300, 1, 8), 0);
        assert_eq!(e.len(), 1);
        assert_eq!(
            text(&p),
            [
                "WIN_CERTIFICATE at 0x0: unknown revision 0x0300",
                "WIN_CERTIFICATE at 0x0: type 1 is not PKCS_SIGNED_DATA (2)"
            ]
        );
        let (e, p) = walk(&[1, 2, 3], 0x40);
        assert!(e.is_empty());
        assert_eq!(
            text(&p),
            ["WIN_CERTIFICATE at 0x40: 3 bytes left, a header needs 8"]
        );
    }
}
