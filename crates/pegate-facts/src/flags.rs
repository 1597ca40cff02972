//! Bit fields as a raw value whose flag names are produced on demand.
//!
//! A PE summary holds one [`Flags`] per section plus the COFF and optional header fields;
//! keeping only the raw value (the names come from `object`'s static tables when printed or
//! asked for) means building a summary allocates no name list at all. Serialised, a `Flags` is
//! `{"raw": 34, "flags": ["EXECUTABLE_IMAGE", "LARGE_ADDRESS_AWARE"]}`; as text (`Display`,
//! `FromStr`) it is `EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE`, `0` when no bit is set.
//!
//! ```
//! use pegate_facts::{DllCharacteristics, SectionCharacteristics};
//! let dll: DllCharacteristics = "DYNAMIC_BASE | NX_COMPAT".parse().unwrap();
//! assert_eq!(dll.raw, 0x140);
//! assert!(dll.contains(DllCharacteristics::NX_COMPAT));
//! let wx = SectionCharacteristics::MEM_WRITE | SectionCharacteristics::MEM_EXECUTE;
//! assert!(!SectionCharacteristics::new(0x6000_0020).contains(wx));
//! assert_eq!(SectionCharacteristics::new(0x6000_0020).to_string(), "CNT_CODE | MEM_EXECUTE | MEM_READ");
//! ```

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{BitAnd, BitOr};
use std::str::FromStr;

use object::pe::{DllFlags, FileFlags, GuardFlags as ObjectGuardFlags, SectionFlags};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

use crate::{Error, parse_hex};

mod sealed {
    pub trait Sealed {}
}

/// Which winnt.h table a [`Flags`] value is named from.
pub trait FlagKind:
    sealed::Sealed + Copy + Default + Eq + std::hash::Hash + fmt::Debug + 'static
{
    /// What one flag of this kind is called in error messages (`dll characteristic`).
    const WHAT: &'static str;

    /// Calls `f` with each set flag's name (prefix removed) until it returns `false`; returns
    /// the bits no name covers.
    #[doc(hidden)]
    fn each(raw: u32, f: &mut dyn FnMut(&'static str) -> bool) -> u32;

    /// Values named as a group rather than a bit (a section's `ALIGN_*`), and their mask.
    #[doc(hidden)]
    const GROUPS: (u32, &'static [u32]) = (0, &[]);

    /// The JSON Schema name of a [`Flags`] of this kind: its alias's (`DllCharacteristics`).
    #[doc(hidden)]
    const SCHEMA_NAME: &'static str;
}

macro_rules! kind {
    ($(#[$doc:meta])* $kind:ident, $ty:ident, $inner:ty, $prefix:literal, $what:literal, $schema:literal $(, $groups:expr)?) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $kind;
        impl sealed::Sealed for $kind {}
        impl FlagKind for $kind {
            const WHAT: &'static str = $what;
            const SCHEMA_NAME: &'static str = $schema;
            $(const GROUPS: (u32, &'static [u32]) = $groups;)?
            fn each(raw: u32, f: &mut dyn FnMut(&'static str) -> bool) -> u32 {
                // Values wider than the field keep their high bits as unnamed.
                let mask = u32::from(<$inner>::MAX);
                let narrow = <$inner>::try_from(raw & mask).unwrap_or_default();
                let high = raw & !mask;
                let rest = $ty::NAMES.try_names($ty(narrow), |_, n| {
                    if f(n.strip_prefix($prefix).unwrap_or(n)) { Ok(()) } else { Err(()) }
                });
                // An early stop leaves the remainder unknown; report none then.
                u32::from(rest.unwrap_or(0)) | high
            }
        }
    };
}

kind!(
    /// COFF `Characteristics` (`IMAGE_FILE_*`).
    File, FileFlags, u16, "IMAGE_FILE_", "characteristic", "Characteristics"
);
kind!(
    /// Optional header `DllCharacteristics` (`IMAGE_DLLCHARACTERISTICS_*`).
    Dll, DllFlags, u16, "IMAGE_DLLCHARACTERISTICS_", "dll characteristic", "DllCharacteristics"
);
kind!(
    /// Section `Characteristics` (`IMAGE_SCN_*`).
    Section, SectionFlags, u32, "IMAGE_SCN_", "section characteristic", "SectionCharacteristics",
    // `ALIGN_1BYTES` .. `ALIGN_8192BYTES`: a 4-bit number under IMAGE_SCN_ALIGN_MASK.
    (0x00F0_0000, &[
        0x0010_0000, 0x0020_0000, 0x0030_0000, 0x0040_0000, 0x0050_0000, 0x0060_0000, 0x0070_0000,
        0x0080_0000, 0x0090_0000, 0x00A0_0000, 0x00B0_0000, 0x00C0_0000, 0x00D0_0000, 0x00E0_0000,
    ])
);
kind!(
    /// Load config `GuardFlags` (`IMAGE_GUARD_*`).
    Guard, ObjectGuardFlags, u32, "IMAGE_GUARD_", "guard flag", "GuardFlags"
);

/// COFF `Characteristics`.
pub type Characteristics = Flags<File>;
/// Optional header `DllCharacteristics`.
pub type DllCharacteristics = Flags<Dll>;
/// A section header's `Characteristics`.
pub type SectionCharacteristics = Flags<Section>;
/// The load config's `GuardFlags`.
pub type GuardFlags = Flags<Guard>;

/// A bit field: its raw value, with the names of the set bits (without the winnt.h prefix:
/// `DYNAMIC_BASE`, `EXECUTABLE_IMAGE`) produced from `object`'s tables when asked for.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags<K> {
    /// The raw value.
    pub raw: u32,
    kind: PhantomData<K>,
}

impl<K: FlagKind> Flags<K> {
    /// Wraps a raw value.
    pub const fn new(raw: u32) -> Self {
        Flags {
            raw,
            kind: PhantomData,
        }
    }

    /// Whether every bit of `other` is set (and `other` is not empty).
    #[inline]
    pub const fn contains(self, other: Self) -> bool {
        other.raw != 0 && self.raw & other.raw == other.raw
    }

    /// Calls `f` with each set flag's name, then with `0x…` for bits no name covers.
    pub fn for_each_name(&self, mut f: impl FnMut(Cow<'static, str>)) {
        let rest = K::each(self.raw, &mut |n| {
            f(Cow::Borrowed(n));
            true
        });
        if rest != 0 {
            f(Cow::Owned(format!("{rest:#x}")));
        }
    }

    /// The names of the set flags (unknown bits as one `0x…` entry).
    pub fn names(&self) -> Vec<Cow<'static, str>> {
        let mut names = Vec::new();
        self.for_each_name(|n| names.push(n));
        names
    }

    /// Whether the flag `name` (without prefix, as in [`Flags::names`]) is set.
    pub fn has(&self, name: &str) -> bool {
        let mut found = false;
        K::each(self.raw, &mut |n| {
            found = n == name;
            !found
        });
        found
    }

    /// Every flag this kind names, one bit (or one group value) each, in bit order: the
    /// table [`Flags::from_name`] and the error messages use.
    pub fn known() -> impl Iterator<Item = (Self, &'static str)> {
        let (group_mask, groups) = K::GROUPS;
        (0..32)
            .map(|bit| 1u32 << bit)
            .filter(move |b| b & group_mask == 0)
            .chain(groups.iter().copied())
            .filter_map(|value| {
                // A value is known when exactly one name covers all of it.
                let (mut name, mut several) = (None, false);
                let rest = K::each(value, &mut |n| {
                    several |= name.replace(n).is_some();
                    true
                });
                name.filter(|_| rest == 0 && !several)
                    .map(|n| (Self::new(value), n))
            })
    }

    /// The flag named `name` (without prefix), if this kind has it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::known().find(|(_, n)| *n == name).map(|(v, _)| v)
    }
}

impl<K> BitOr for Flags<K> {
    type Output = Self;
    fn bitor(self, other: Self) -> Self {
        Flags {
            raw: self.raw | other.raw,
            kind: PhantomData,
        }
    }
}

impl<K> BitAnd for Flags<K> {
    type Output = Self;
    fn bitand(self, other: Self) -> Self {
        Flags {
            raw: self.raw & other.raw,
            kind: PhantomData,
        }
    }
}

macro_rules! consts {
    ($kind:ident, $inner:ident: $($(#[$doc:meta])* $name:ident = $value:ident,)*) => {
        impl Flags<$kind> {
            $($(#[$doc])* pub const $name: Self = Self::new(object::pe::$value.0 as u32);)*
        }
    };
}

consts!(File, u16:
    /// `IMAGE_FILE_RELOCS_STRIPPED`: no base relocations, so the image cannot move (no ASLR).
    RELOCS_STRIPPED = IMAGE_FILE_RELOCS_STRIPPED,
    /// `IMAGE_FILE_EXECUTABLE_IMAGE`.
    EXECUTABLE_IMAGE = IMAGE_FILE_EXECUTABLE_IMAGE,
    /// `IMAGE_FILE_LARGE_ADDRESS_AWARE`.
    LARGE_ADDRESS_AWARE = IMAGE_FILE_LARGE_ADDRESS_AWARE,
    /// `IMAGE_FILE_DEBUG_STRIPPED`: debug information is in a separate (PDB) file.
    DEBUG_STRIPPED = IMAGE_FILE_DEBUG_STRIPPED,
    /// `IMAGE_FILE_SYSTEM`.
    SYSTEM = IMAGE_FILE_SYSTEM,
    /// `IMAGE_FILE_DLL`.
    DLL = IMAGE_FILE_DLL,
);
consts!(Dll, u16:
    /// `IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA`.
    HIGH_ENTROPY_VA = IMAGE_DLLCHARACTERISTICS_HIGH_ENTROPY_VA,
    /// `IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE`: ASLR.
    DYNAMIC_BASE = IMAGE_DLLCHARACTERISTICS_DYNAMIC_BASE,
    /// `IMAGE_DLLCHARACTERISTICS_NX_COMPAT`: DEP.
    NX_COMPAT = IMAGE_DLLCHARACTERISTICS_NX_COMPAT,
    /// `IMAGE_DLLCHARACTERISTICS_GUARD_CF`: Control Flow Guard.
    GUARD_CF = IMAGE_DLLCHARACTERISTICS_GUARD_CF,
    /// `IMAGE_DLLCHARACTERISTICS_TERMINAL_SERVER_AWARE`.
    TERMINAL_SERVER_AWARE = IMAGE_DLLCHARACTERISTICS_TERMINAL_SERVER_AWARE,
);
consts!(Section, u32:
    /// `IMAGE_SCN_MEM_SHARED`.
    MEM_SHARED = IMAGE_SCN_MEM_SHARED,
    /// `IMAGE_SCN_MEM_EXECUTE`.
    MEM_EXECUTE = IMAGE_SCN_MEM_EXECUTE,
    /// `IMAGE_SCN_MEM_READ`.
    MEM_READ = IMAGE_SCN_MEM_READ,
    /// `IMAGE_SCN_MEM_WRITE`.
    MEM_WRITE = IMAGE_SCN_MEM_WRITE,
);
consts!(Guard, u32:
    /// `IMAGE_GUARD_CF_INSTRUMENTED`: the module performs Control Flow Guard checks.
    CF_INSTRUMENTED = IMAGE_GUARD_CF_INSTRUMENTED,
);

impl<K: FlagKind> fmt::Debug for Flags<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x} ", self.raw)?;
        f.debug_list().entries(self.names()).finish()
    }
}

/// `NAME | NAME | 0x…`, or `0` when no bit is set.
impl<K: FlagKind> fmt::Display for Flags<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.raw == 0 {
            return f.write_str("0");
        }
        let mut first = true;
        let mut result = Ok(());
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            if !std::mem::take(&mut first) {
                f.write_str(" | ")?;
            }
            Ok(())
        };
        let rest = K::each(self.raw, &mut |n| {
            result = sep(f).and_then(|()| f.write_str(n));
            result.is_ok()
        });
        result?;
        if rest != 0 {
            sep(f)?;
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

/// Reads what `Display` prints: names and `0x…` joined by `|`, or `0`.
impl<K: FlagKind> FromStr for Flags<K> {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        if text.trim() == "0" {
            return Ok(Self::new(0));
        }
        text.split('|')
            .map(str::trim)
            .try_fold(Self::new(0), |acc, part| {
                let flag = Self::from_name(part)
                    .or_else(|| parse_hex(part).map(Self::new))
                    .ok_or_else(|| Error::unknown(K::WHAT, part, Self::known().map(|(_, n)| n)))?;
                Ok(acc | flag)
            })
    }
}

/// Serialises the names straight from the static tables, without collecting them.
struct Names<K>(u32, PhantomData<K>);

impl<K: FlagKind> Serialize for Names<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        let mut failed = None;
        let rest = K::each(self.0, &mut |n| match seq.serialize_element(n) {
            Ok(()) => true,
            Err(e) => {
                failed = Some(e);
                false
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if rest != 0 {
            seq.serialize_element(&format!("{rest:#x}"))?;
        }
        seq.end()
    }
}

impl<K: FlagKind> Serialize for Flags<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Flags", 2)?;
        st.serialize_field("raw", &self.raw)?;
        st.serialize_field("flags", &Names::<K>(self.raw, PhantomData))?;
        st.end()
    }
}

/// Every name [`Flags::for_each_name`] can give for kind `K`: the bits' names in bit order,
/// then the groups'.
///
/// `object` names each single bit, and a group (a section's `ALIGN_*`) by the value under its
/// mask alone, so the single bits, zero and every value under [`FlagKind::GROUPS`]' mask
/// between them produce every name any raw value can.
fn emitted_names<K: FlagKind>() -> Vec<&'static str> {
    let group_mask = K::GROUPS.0;
    let shift = group_mask.trailing_zeros();
    let group_values =
        (0..=group_mask.checked_shr(shift).unwrap_or(0)).map(|v| v.checked_shl(shift).unwrap_or(0));
    let mut names = Vec::new();
    for value in (0..32).map(|bit| 1u32 << bit).chain(group_values) {
        K::each(value, &mut |n| {
            if !names.contains(&n) {
                names.push(n);
            }
            true
        });
    }
    names
}

/// What `Serialize` writes: `{"raw": u32, "flags": [...]}`, the flags being names of this
/// kind's table, each once, and at most one `0x…` (lowercase, no leading zeros) for the bits
/// no name covers. One schema per kind, named as its alias (`DllCharacteristics`), so a
/// schema lists exactly the names its field can hold.
impl<K: FlagKind> schemars::JsonSchema for Flags<K> {
    fn schema_name() -> Cow<'static, str> {
        K::SCHEMA_NAME.into()
    }

    fn schema_id() -> Cow<'static, str> {
        format!("pegate_facts::Flags<{}>", K::SCHEMA_NAME).into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names = emitted_names::<K>();
        schemars::json_schema!({
            "description": format!(
                "A bit field of {}s: its raw value, and the names of its set bits followed by \
                 the bits no name covers as one `0x…`.",
                K::WHAT
            ),
            "type": "object",
            "properties": {
                "raw": {
                    "description": "The raw value.",
                    "type": "integer",
                    "format": "uint32",
                    "minimum": 0,
                    "maximum": u32::MAX,
                },
                "flags": {
                    "description": "The set flags' names, then the unnamed bits as `0x…`.",
                    "type": "array",
                    "uniqueItems": true,
                    // The unnamed bits are one entry, whatever their number.
                    "contains": { "type": "string", "pattern": "^0x" },
                    "minContains": 0,
                    "maxContains": 1,
                    "items": {
                        "type": "string",
                        "anyOf": [
                            { "enum": names },
                            { "pattern": "^0x[1-9a-f][0-9a-f]*$" },
                        ],
                    },
                },
            },
            "required": ["raw", "flags"],
            "additionalProperties": false,
        })
    }
}

impl<'de, K: FlagKind> Deserialize<'de> for Flags<K> {
    /// Reads `raw`; the names are derived from it, so a `flags` list is accepted and ignored.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Raw {
            raw: u32,
        }
        Raw::deserialize(d).map(|r| Flags::new(r.raw))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn names_has_and_unknown_bits() {
        let f = Flags::<Dll>::new(0x8160 | 0x1);
        assert!(f.has("DYNAMIC_BASE"));
        assert!(f.has("HIGH_ENTROPY_VA"));
        assert!(!f.has("GUARD_CF"));
        let names = f.names();
        assert_eq!(
            names,
            [
                "HIGH_ENTROPY_VA",
                "DYNAMIC_BASE",
                "NX_COMPAT",
                "TERMINAL_SERVER_AWARE",
                "0x1"
            ]
        );
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(
            json,
            r#"{"raw":33121,"flags":["HIGH_ENTROPY_VA","DYNAMIC_BASE","NX_COMPAT","TERMINAL_SERVER_AWARE","0x1"]}"#
        );
        let back: Flags<Dll> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert_eq!(
            f.to_string(),
            "HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT | TERMINAL_SERVER_AWARE | 0x1"
        );
    }

    #[test]
    fn values_wider_than_the_field_keep_their_high_bits() {
        let f = Flags::<File>::new(0x1_0002);
        assert_eq!(f.names(), ["EXECUTABLE_IMAGE", "0x10000"]);
        assert_eq!(f.to_string(), "EXECUTABLE_IMAGE | 0x10000");
        assert_eq!(f.to_string().parse::<Flags<File>>().unwrap(), f);
    }

    /// Every name of a kind reads back as its value and prints as itself; every value
    /// (named or not) prints as text that reads back as it.
    #[track_caller]
    fn round_trips<K: FlagKind>(expect_names: usize) {
        let known: Vec<_> = Flags::<K>::known().collect();
        assert_eq!(known.len(), expect_names, "{known:?}");
        for (value, name) in &known {
            assert_eq!(value.to_string(), *name);
            assert_eq!(name.parse::<Flags<K>>().unwrap(), *value);
            assert_eq!(Flags::<K>::from_name(name), Some(*value));
            assert!(value.has(name));
        }
        // Every name of the table, and nothing more, appears among the known ones.
        let mut all = Vec::new();
        let rest = K::each(u32::MAX, &mut |n| {
            all.push(n);
            true
        });
        for n in all {
            assert!(known.iter().any(|(_, k)| *k == n), "{n} is not known");
        }
        let mut next = crate::tests_xorshift(0x9e37_79b9);
        for raw in [0, u32::MAX, rest, 1, 0x8000_0000]
            .into_iter()
            .chain((0..2000).map(|_| next()))
        {
            let f = Flags::<K>::new(raw);
            let text = f.to_string();
            assert_eq!(text.parse::<Flags<K>>().unwrap(), f, "{text}");
        }
    }

    #[test]
    fn every_table_round_trips() {
        round_trips::<File>(15);
        round_trips::<Dll>(11);
        // 21 bits (MEM_FARDATA and MEM_16BIT share theirs with GPREL and MEM_PURGEABLE, which
        // come first) and 14 alignments.
        round_trips::<Section>(21 + 14);
        round_trips::<Guard>(17);
    }

    #[test]
    fn unknown_names_list_the_table() {
        let err = "DYNAMIC_BASE | ASLR".parse::<Flags<Dll>>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown dll characteristic `ASLR`; expected one of: HIGH_ENTROPY_VA, DYNAMIC_BASE, \
             FORCE_INTEGRITY, NX_COMPAT, NO_ISOLATION, NO_SEH, NO_BIND, APPCONTAINER, WDM_DRIVER, \
             GUARD_CF, TERMINAL_SERVER_AWARE"
        );
        for bad in [
            "",
            "|",
            "dynamic_base",
            "IMAGE_DLLCHARACTERISTICS_NX_COMPAT",
            "0x",
        ] {
            assert!(bad.parse::<Flags<Dll>>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn contains_and_constants() {
        assert_eq!(Flags::<Dll>::DYNAMIC_BASE.raw, 0x40);
        assert_eq!(Flags::<Guard>::CF_INSTRUMENTED.raw, 0x100);
        assert_eq!(Flags::<Section>::MEM_WRITE.raw, 0x8000_0000);
        assert_eq!(Flags::<File>::DLL.raw, 0x2000);
        let f = Flags::<Dll>::new(0x8160);
        assert!(f.contains(Flags::<Dll>::DYNAMIC_BASE | Flags::<Dll>::NX_COMPAT));
        assert!(!f.contains(Flags::<Dll>::DYNAMIC_BASE | Flags::<Dll>::GUARD_CF));
        assert!(!f.contains(Flags::new(0)));
        assert_eq!((f & Flags::<Dll>::GUARD_CF).raw, 0);
        assert_eq!(Flags::<Dll>::new(0).to_string(), "0");
        assert_eq!(
            "ALIGN_4BYTES | MEM_READ"
                .parse::<Flags<Section>>()
                .unwrap()
                .raw,
            0x4030_0000
        );
    }
}
