//! Strict DER, read in place: one element at a time, and the generic shapes built from them
//! (AlgorithmIdentifier, Attribute) that SignedData, certificates and timestamps share.
//!
//! Strict, because OpenSSL re-encodes what it decodes and the signature checks of the fast
//! path hash those bytes: an element this reader accepts is one OpenSSL writes back unchanged.
//! Kept apart from the signature logic so that what counts as readable is decided in one place.

use pegate_facts::DigestAlgorithm;

/// One DER element.
#[derive(Clone, Copy)]
pub(super) struct Tlv<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) whole: &'a [u8],
}

/// Reads strict DER: one-byte tags, definite minimal lengths (what OpenSSL re-encodes byte for
/// byte, which the signature check over the attributes depends on).
pub(super) fn next(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
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
pub(super) struct Items<'a>(pub(super) &'a [u8]);

impl<'a> Items<'a> {
    /// The next element, which must have `tag`.
    pub(super) fn take(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let (t, rest) = next(self.0)?;
        (t.tag == tag).then(|| {
            self.0 = rest;
            t
        })
    }

    /// The next element if it has `tag`; nothing consumed otherwise.
    pub(super) fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match next(self.0) {
            Some((t, rest)) if t.tag == tag => {
                self.0 = rest;
                Some(t)
            }
            _ => None,
        }
    }

    /// Whether every element was taken.
    pub(super) fn done(&self) -> bool {
        self.0.is_empty()
    }

    /// Every remaining element (`None` if one is not strict DER).
    pub(super) fn all(mut self) -> Option<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        while !self.0.is_empty() {
            let (t, rest) = next(self.0)?;
            out.push(t);
            self.0 = rest;
        }
        Some(out)
    }
}

pub(super) fn items(t: Tlv<'_>) -> Items<'_> {
    Items(t.content)
}

/// An INTEGER OpenSSL decodes: not empty, no padding byte.
pub(super) fn integer_ok(t: Tlv<'_>) -> bool {
    match t.content {
        [] => false,
        [0, b, ..] => b & 0x80 != 0,
        [0xff, b, ..] => b & 0x80 == 0,
        _ => true,
    }
}

/// An OBJECT IDENTIFIER OpenSSL decodes: not empty, no `0x80` padding, last byte final.
pub(super) fn oid_ok(t: Tlv<'_>) -> bool {
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
pub(super) fn any_ok(t: Tlv<'_>) -> bool {
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
pub(super) fn md_of_oid(oid: &[u8]) -> Option<DigestAlgorithm> {
    DigestAlgorithm::from_oid(oid).filter(|&md| md != DigestAlgorithm::Sha224)
}

/// AlgorithmIdentifier { OID, parameters absent or NULL }: its OID.
pub(super) fn algorithm(t: Tlv<'_>) -> Option<&[u8]> {
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

pub(super) fn digest_algorithm(t: Tlv<'_>) -> Option<DigestAlgorithm> {
    md_of_oid(algorithm(t)?)
}

/// SET OF AlgorithmIdentifier: every one a digest OpenSSL's `PKCS7_dataInit` can start.
pub(super) fn digest_set(t: Tlv<'_>) -> Option<Vec<DigestAlgorithm>> {
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
pub(super) fn attributes(t: Tlv<'_>) -> Option<Vec<(&[u8], Vec<Tlv<'_>>)>> {
    items(t).all()?.into_iter().map(attribute).collect()
}

/// The first value of the first attribute with `oid` (OpenSSL's `PKCS7_get_signed_attribute`).
pub(super) fn first_value<'a>(attrs: &[(&[u8], Vec<Tlv<'a>>)], oid: &[u8]) -> Option<Tlv<'a>> {
    attrs
        .iter()
        .find(|(o, _)| *o == oid)
        .and_then(|(_, v)| v.first().copied())
}
