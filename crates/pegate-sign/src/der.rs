//! Just enough DER to write a signature: definite-length TLVs, object identifiers, integers,
//! times, sorted SETs; and a reader of definite-length TLVs for the few places a signature is
//! taken apart (an existing signature that gets a nested one, a TSA's answer).
//!
//! Every writer emits DER (X.690 §10): minimal lengths, SET OF sorted by encoding, the
//! UTCTime/GeneralizedTime split at 2050 (RFC 5280 §4.1.2.5).

/// Tag numbers used here.
pub(crate) mod tag {
    pub(crate) const INTEGER: u8 = 0x02;
    pub(crate) const BIT_STRING: u8 = 0x03;
    pub(crate) const OCTET_STRING: u8 = 0x04;
    pub(crate) const NULL: u8 = 0x05;
    pub(crate) const OID: u8 = 0x06;
    pub(crate) const UTC_TIME: u8 = 0x17;
    pub(crate) const GENERALIZED_TIME: u8 = 0x18;
    pub(crate) const BOOLEAN: u8 = 0x01;
    pub(crate) const SEQUENCE: u8 = 0x30;
    pub(crate) const SET: u8 = 0x31;
    /// `[n]` constructed, context-specific.
    pub(crate) const fn context(n: u8) -> u8 {
        0xa0 | n
    }
}

/// One TLV: `tag`, length, `content`.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len().saturating_add(6));
    out.push(tag);
    push_len(&mut out, content.len());
    out.extend_from_slice(content);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|&&b| b == 0).count();
    let used = bytes.get(skip..).unwrap_or_default();
    out.push(0x80 | used.len() as u8);
    out.extend_from_slice(used);
}

/// A constructed TLV whose content is the concatenation of `parts`.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// A SEQUENCE of `parts`.
pub(crate) fn seq(parts: &[&[u8]]) -> Vec<u8> {
    cons(tag::SEQUENCE, parts)
}

/// A SET OF `items` in DER order (sorted by their encodings).
pub(crate) fn set_of(mut items: Vec<Vec<u8>>) -> Vec<u8> {
    items.sort();
    tlv(tag::SET, &items.concat())
}

/// An OBJECT IDENTIFIER from its arcs.
pub(crate) fn oid(arcs: &[u32]) -> Vec<u8> {
    let mut body = Vec::new();
    let (first, second, rest) = match arcs {
        [a, b, rest @ ..] => (*a, *b, rest),
        _ => (0, 0, &[][..]),
    };
    push_base128(&mut body, first.saturating_mul(40).saturating_add(second));
    for &arc in rest {
        push_base128(&mut body, arc);
    }
    tlv(tag::OID, &body)
}

fn push_base128(out: &mut Vec<u8>, v: u32) {
    let mut groups = [0u8; 5];
    let mut n = 0usize;
    let mut v = v;
    loop {
        if let Some(g) = groups.get_mut(n) {
            *g = (v & 0x7f) as u8;
        }
        n = n.saturating_add(1);
        v >>= 7;
        if v == 0 {
            break;
        }
    }
    for i in (0..n).rev() {
        let g = groups.get(i).copied().unwrap_or(0);
        out.push(if i == 0 { g } else { g | 0x80 });
    }
}

/// A non-negative INTEGER.
pub(crate) fn uint(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take(7).take_while(|&&b| b == 0).count();
    let mut body = Vec::with_capacity(9);
    let used = bytes.get(skip..).unwrap_or_default();
    if used.first().is_some_and(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(used);
    tlv(tag::INTEGER, &body)
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, one added
/// when the top bit is set).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let skip = magnitude.iter().take_while(|&&b| b == 0).count();
    let used = magnitude.get(skip..).unwrap_or_default();
    let mut body = Vec::with_capacity(used.len().saturating_add(1));
    if used.first().is_none_or(|&b| b & 0x80 != 0) {
        body.push(0);
    }
    body.extend_from_slice(used);
    tlv(tag::INTEGER, &body)
}

/// An OCTET STRING.
pub(crate) fn octets(b: &[u8]) -> Vec<u8> {
    tlv(tag::OCTET_STRING, b)
}

/// NULL.
pub(crate) fn null() -> Vec<u8> {
    vec![tag::NULL, 0]
}

/// A time as X.509 and CMS want it: UTCTime through 2049, GeneralizedTime from 2050.
pub(crate) fn time(unix: i64) -> Vec<u8> {
    let (y, mo, d, h, mi, s) = civil(unix);
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y.rem_euclid(100));
        tlv(tag::UTC_TIME, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        tlv(tag::GENERALIZED_TIME, text.as_bytes())
    }
}

/// Unix seconds to (year, month, day, hour, minute, second), UTC, proleptic Gregorian
/// (Howard Hinnant's `civil_from_days`).
// Every intermediate is bounded by the era arithmetic (|days| < 2^47 for any i64 seconds, the
// products a few times that): no overflow.
#[allow(clippy::arithmetic_side_effects)]
fn civil(unix: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let z = days.saturating_add(719_468);
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m as u32,
        d as u32,
        (secs / 3600) as u32,
        (secs / 60 % 60) as u32,
        (secs % 60) as u32,
    )
}

/// A TLV read from DER (definite lengths only).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    /// The identifier octet (single-byte tags only).
    pub(crate) tag: u8,
    /// The value.
    pub(crate) content: &'a [u8],
    /// Tag, length and value.
    pub(crate) whole: &'a [u8],
}

/// Reads the TLV at the start of `b`; returns it and what follows.
pub(crate) fn read(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = b.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None; // indefinite (BER) or absurd
        }
        let (len_bytes, rest) = rest.split_at_checked(n)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        (len, rest)
    };
    let (content, after) = rest.split_at_checked(len)?;
    let header = b.len().checked_sub(rest.len())?;
    let whole = b.get(..header.checked_add(len)?)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        after,
    ))
}

/// Every TLV of a constructed value's content, in order; `None` if any is malformed.
pub(crate) fn children(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (t, rest) = read(content)?;
        out.push(t);
        content = rest;
    }
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn oids_encode_as_x690_says() {
        // sha256, from RFC 5754: 06 09 60 86 48 01 65 03 04 02 01.
        assert_eq!(
            oid(&[2, 16, 840, 1, 101, 3, 4, 2, 1]),
            [
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01
            ]
        );
        // SPC_INDIRECT_DATA_OBJID 1.3.6.1.4.1.311.2.1.4.
        assert_eq!(
            hex(&oid(&[1, 3, 6, 1, 4, 1, 311, 2, 1, 4])),
            "060a2b060104018237020104"
        );
    }

    #[test]
    fn lengths_and_integers_are_minimal() {
        assert_eq!(tlv(0x04, &[0; 0x7f])[..2], [0x04, 0x7f]);
        assert_eq!(tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert_eq!(tlv(0x04, &[0; 0x1234])[..4], [0x04, 0x82, 0x12, 0x34]);
        assert_eq!(uint(0), [0x02, 0x01, 0x00]);
        assert_eq!(uint(1), [0x02, 0x01, 0x01]);
        assert_eq!(uint(0x80), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(uint(0x0100), [0x02, 0x02, 0x01, 0x00]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        assert_eq!(time(0), tlv(0x17, b"700101000000Z"));
        // 2023-11-14 22:13:20 UTC.
        assert_eq!(time(1_700_000_000), tlv(0x17, b"231114221320Z"));
        // 2050-01-01 00:00:00 UTC.
        assert_eq!(time(2_524_608_000), tlv(0x18, b"20500101000000Z"));
        // 2000-02-29 (a leap day) 12:00:00 UTC.
        assert_eq!(time(951_825_600), tlv(0x17, b"000229120000Z"));
    }

    #[test]
    fn sets_are_sorted_and_reads_round_trip() {
        let s = set_of(vec![vec![0x04, 0x01, 0x02], vec![0x04, 0x01, 0x01]]);
        assert_eq!(s, [0x31, 0x06, 0x04, 0x01, 0x01, 0x04, 0x01, 0x02]);
        let (t, rest) = read(&s).unwrap();
        assert!(rest.is_empty());
        let kids = children(t.content).unwrap();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1].content, [0x02]);
        // Indefinite length and a length past the end are refused.
        assert!(read(&[0x30, 0x80, 0, 0]).is_none());
        assert!(read(&[0x30, 0x05, 0]).is_none());
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }
}
