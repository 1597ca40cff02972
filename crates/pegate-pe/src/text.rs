//! Small owned strings of a summary that need no heap: section names and versions.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Serialize};

/// A section name: the 8-byte header names inline, `/N` long names (Go's DWARF sections) and
/// names that are not UTF-8 (lossily decoded) on the heap.
#[derive(Clone)]
pub struct SectionName(Repr);

// Equality and hashing go by the name, not the representation: the same text can be inline or
// on the heap (a short lossily decoded name is on the heap from `from_bytes`, inline from
// `From<&str>`, so the in-memory and on-disk summaries of one file compared unequal; found by
// the `summary` fuzz target).
impl PartialEq for SectionName {
    fn eq(&self, other: &SectionName) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SectionName {}

impl std::hash::Hash for SectionName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Repr {
    /// Up to 8 bytes of valid UTF-8, the length in the first field.
    Inline(u8, [u8; 8]),
    Heap(Box<str>),
}

impl SectionName {
    /// A name from its bytes (invalid UTF-8 is replaced, as `String::from_utf8_lossy` does).
    pub fn from_bytes(bytes: &[u8]) -> SectionName {
        // The usual case: an ASCII header name, copied as is.
        let mut inline = [0u8; 8];
        if let Some(slot) = inline.get_mut(..bytes.len())
            && bytes.is_ascii()
        {
            slot.copy_from_slice(bytes);
            return SectionName(Repr::Inline(bytes.len() as u8, inline));
        }
        if let Ok(s) = core::str::from_utf8(bytes) {
            return SectionName::from(s);
        }
        SectionName(Repr::Heap(String::from_utf8_lossy(bytes).into()))
    }

    /// The name stored in a section header's 8-byte field, when it is a plain ASCII name (not a
    /// `/N` reference into the string table): up to the first NUL, copied without a loop.
    #[inline]
    pub fn from_header_field(raw: &[u8; 8]) -> Option<SectionName> {
        let word = u64::from_le_bytes(*raw);
        if raw.first() == Some(&b'/') || word & 0x8080_8080_8080_8080 != 0 {
            return None;
        }
        // Bytes before the first NUL: find the lowest zero byte of the word.
        let zero_bytes = word.wrapping_sub(0x0101_0101_0101_0101) & !word & 0x8080_8080_8080_8080;
        let len = (zero_bytes.trailing_zeros() / 8).min(8);
        let keep = u64::MAX
            .checked_shr(64u32.saturating_sub(len.saturating_mul(8)))
            .unwrap_or(0);
        Some(SectionName(Repr::Inline(
            len as u8,
            (word & keep).to_le_bytes(),
        )))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Inline(len, bytes) => bytes
                .get(..usize::from(*len))
                .and_then(|b| core::str::from_utf8(b).ok())
                .unwrap_or_default(),
            Repr::Heap(s) => s,
        }
    }
}

impl From<&str> for SectionName {
    fn from(s: &str) -> SectionName {
        let mut inline = [0u8; 8];
        match inline.get_mut(..s.len()) {
            Some(slot) => {
                slot.copy_from_slice(s.as_bytes());
                SectionName(Repr::Inline(s.len() as u8, inline))
            }
            None => SectionName(Repr::Heap(s.into())),
        }
    }
}

impl From<String> for SectionName {
    fn from(s: String) -> SectionName {
        if s.len() <= 8 {
            SectionName::from(s.as_str())
        } else {
            SectionName(Repr::Heap(s.into_boxed_str()))
        }
    }
}

impl Deref for SectionName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SectionName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for SectionName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SectionName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for SectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for SectionName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl schemars::JsonSchema for SectionName {
    fn schema_name() -> Cow<'static, str> {
        "SectionName".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The section's name; a `/N` long name resolved when the string table was readable.",
            "type": "string"
        })
    }
}

impl<'de> Deserialize<'de> for SectionName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Cow::<'de, str>::deserialize(d).map(|s| SectionName::from(&*s))
    }
}

/// A `major.minor` version from the optional header, serialised as the string `"6.1"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
}

impl Version {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Version {
        Version { major, minor }
    }
}

impl From<(u16, u16)> for Version {
    fn from((major, minor): (u16, u16)) -> Version {
        Version { major, minor }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl PartialEq<&str> for Version {
    fn eq(&self, other: &&str) -> bool {
        other.parse::<Version>().is_ok_and(|v| v == *self)
    }
}

impl core::str::FromStr for Version {
    type Err = String;
    fn from_str(s: &str) -> Result<Version, String> {
        let (major, minor) = s
            .split_once('.')
            .ok_or_else(|| format!("version {s:?} is not major.minor"))?;
        let number = |n: &str| {
            n.parse::<u16>()
                .map_err(|e| format!("version {s:?}: {n:?}: {e}"))
        };
        Ok(Version::new(number(major)?, number(minor)?))
    }
}

impl Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Version {
    fn schema_name() -> Cow<'static, str> {
        "Version".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`major.minor`.",
            "type": "string",
            "pattern": "^[0-9]{1,5}\\.[0-9]{1,5}$"
        })
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Cow::<'de, str>::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn section_names_equal_by_text_whatever_the_representation() {
        use std::hash::BuildHasher;
        let lossy = SectionName::from_bytes(b"\xff\xfe\x01");
        let text = SectionName::from(String::from_utf8_lossy(b"\xff\xfe\x01").into_owned());
        assert!(matches!(lossy.0, Repr::Heap(_)));
        assert!(matches!(text.0, Repr::Inline(7, _)));
        assert_eq!(lossy, text);
        let hasher = std::collections::hash_map::RandomState::new();
        assert_eq!(hasher.hash_one(&lossy), hasher.hash_one(&text));
        assert_ne!(lossy, SectionName::from("\u{fffd}"));
    }

    #[test]
    fn section_names_inline_heap_and_lossy() {
        let short = SectionName::from(".text");
        assert_eq!(short, ".text");
        assert!(matches!(short.0, Repr::Inline(5, _)));
        let eight = SectionName::from(".rdata$z");
        assert!(matches!(eight.0, Repr::Inline(8, _)));
        let long = SectionName::from(".debug_abbrev");
        assert_eq!(long.as_str(), ".debug_abbrev");
        assert_eq!(SectionName::from_bytes(b".t\xffx"), ".t\u{fffd}x");
        assert_eq!(serde_json::to_string(&long).unwrap(), "\".debug_abbrev\"");
        for raw in [
            *b".text\0\0\0",
            *b".rdata$z",
            *b"\0\0\0\0\0\0\0\0",
            *b"ab\0cdefg",
            *b"a\0\0\0\0\0\0\0",
        ] {
            let end = raw.iter().position(|&b| b == 0).unwrap_or(8);
            let fast = SectionName::from_header_field(&raw).unwrap();
            assert_eq!(fast, SectionName::from_bytes(&raw[..end]), "{raw:?}");
        }
        assert!(SectionName::from_header_field(b"/4\0\0\0\0\0\0").is_none());
        assert!(SectionName::from_header_field(b".t\xffx\0\0\0\0").is_none());
        let back: SectionName = serde_json::from_str("\".text\"").unwrap();
        assert_eq!(back, short);
    }

    #[test]
    fn versions_print_and_parse() {
        let v = Version::new(6, 1);
        assert_eq!(v.to_string(), "6.1");
        assert_eq!(v, "6.1");
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"6.1\"");
        assert_eq!(
            serde_json::from_str::<Version>("\"10.0\"").unwrap(),
            Version::new(10, 0)
        );
        assert!("6".parse::<Version>().is_err());
    }
}
