//! DER read in place, one element at a time, under two sets of rules, and the generic shapes
//! built from the strict one (AlgorithmIdentifier, Attribute) that SignedData, certificates and
//! timestamps share.
//!
//! [`next`] reads strict DER: the fast path (`fast/`) hashes what OpenSSL re-encodes, so an
//! element it accepts must be one OpenSSL writes back unchanged. [`next_lenient`] reads any
//! definite length: the precheck ([`super::precheck`]) guards authenticode-parser, which decodes
//! BER lengths, and refusing a signature it reads would turn a valid file into an error.

/// One element: its tag, its content, and the whole TLV.
#[derive(Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) whole: &'a [u8],
}

impl Tlv<'_> {
    /// The length of the tag and length bytes.
    pub(crate) fn header_len(&self) -> usize {
        self.whole.len().saturating_sub(self.content.len())
    }
}

/// Reads strict DER: one-byte tags, definite minimal lengths (what OpenSSL re-encodes byte for
/// byte, which the signature check over the attributes depends on). Returns the element and
/// the bytes after it.
pub(crate) fn next(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    read(b, true)
}

/// Reads one element with any definite length of up to four length bytes, minimal or not (as
/// BER allows and OpenSSL decodes). The first byte is the whole tag: a high tag number's
/// further bytes are read as the length. An indefinite length is refused, as by [`next`].
pub(crate) fn next_lenient(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    read(b, false)
}

fn read(b: &[u8], strict: bool) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    if strict && tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    let (len, header) = if first < 0x80 {
        (usize::from(first), 2usize)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(2..2usize.checked_add(n)?)?;
        if strict && bytes.first() == Some(&0) {
            return None;
        }
        let len = bytes.iter().fold(0usize, |l, &x| (l << 8) | usize::from(x));
        if strict && len < 0x80 {
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

/// The one strict element `b` holds, nothing before or after it.
pub(crate) fn single(b: &[u8]) -> Option<Tlv<'_>> {
    match next(b)? {
        (t, []) => Some(t),
        _ => None,
    }
}

/// `tag` and `content` as DER, the length in its shortest form (what [`next`] reads).
pub(crate) fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
    let len = content.len();
    let mut out = vec![tag];
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        let bytes = bytes.get(skip..).unwrap_or_default();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(bytes);
    }
    out.extend_from_slice(content);
    out
}

/// The elements of a constructed element's content, in order, read as strict DER.
pub(crate) struct Items<'a>(pub(crate) &'a [u8]);

impl<'a> Items<'a> {
    /// The next element, which must have `tag`.
    pub(crate) fn take(&mut self, tag: u8) -> Option<Tlv<'a>> {
        let (t, rest) = next(self.0)?;
        (t.tag == tag).then(|| {
            self.0 = rest;
            t
        })
    }

    /// The next element if it has `tag`; nothing consumed otherwise.
    pub(crate) fn optional(&mut self, tag: u8) -> Option<Tlv<'a>> {
        match next(self.0) {
            Some((t, rest)) if t.tag == tag => {
                self.0 = rest;
                Some(t)
            }
            _ => None,
        }
    }

    /// Whether every element was taken.
    pub(crate) fn done(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether what remains is nothing, or one value [`any_ok`] accepts (an optional `ANY`
    /// ending a SEQUENCE).
    pub(crate) fn rest_is_optional_any(&self) -> bool {
        self.done() || single(self.0).is_some_and(any_ok)
    }

    /// Every remaining element (`None` if one is not strict DER).
    pub(crate) fn all(mut self) -> Option<Vec<Tlv<'a>>> {
        let mut out = Vec::new();
        while !self.0.is_empty() {
            let (t, rest) = next(self.0)?;
            out.push(t);
            self.0 = rest;
        }
        Some(out)
    }
}

/// The elements of `t`'s content.
pub(crate) fn items(t: Tlv<'_>) -> Items<'_> {
    Items(t.content)
}

/// An INTEGER OpenSSL decodes: not empty, no padding byte.
pub(crate) fn integer_ok(t: Tlv<'_>) -> bool {
    match t.content {
        [] => false,
        [0, b, ..] => b & 0x80 != 0,
        [0xff, b, ..] => b & 0x80 == 0,
        _ => true,
    }
}

/// An OBJECT IDENTIFIER OpenSSL decodes: not empty, no `0x80` padding, last byte final.
pub(crate) fn oid_ok(t: Tlv<'_>) -> bool {
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
pub(crate) fn any_ok(t: Tlv<'_>) -> bool {
    match t.tag {
        0x30 | 0x31 | 0x04 | 0x17 | 0x18 => true,
        0x06 => oid_ok(t),
        0x02 => integer_ok(t),
        0x05 => t.content.is_empty(),
        // Context, application or private class: kept as raw bytes.
        tag => tag & 0xc0 != 0,
    }
}

/// AlgorithmIdentifier { OID, parameters absent or NULL }: its OID.
pub(crate) fn algorithm(t: Tlv<'_>) -> Option<&[u8]> {
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
pub(crate) fn attributes(t: Tlv<'_>) -> Option<Vec<(&[u8], Vec<Tlv<'_>>)>> {
    items(t).all()?.into_iter().map(attribute).collect()
}

/// The first value of the first attribute with `oid` (OpenSSL's `PKCS7_get_signed_attribute`).
pub(crate) fn first_value<'a>(attrs: &[(&[u8], Vec<Tlv<'a>>)], oid: &[u8]) -> Option<Tlv<'a>> {
    attrs
        .iter()
        .find(|(o, _)| *o == oid)
        .and_then(|(_, v)| v.first().copied())
}
