//! Bit fields as a raw value whose flag names are produced on demand.
//!
//! A summary holds one [`Flags`] per section plus the COFF and optional header fields; keeping
//! only the raw value (the names come from `object`'s static tables when printed or asked
//! for) means building a summary allocates no name list at all. Serialised, a `Flags` is
//! `{"raw": 34, "flags": ["EXECUTABLE_IMAGE", "LARGE_ADDRESS_AWARE"]}`.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use object::pe::{DllFlags, FileFlags, GuardFlags, SectionFlags};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize};

mod sealed {
    pub trait Sealed {}
}

/// Which winnt.h table a [`Flags`] value is named from.
pub trait FlagKind: sealed::Sealed + Copy + Default + fmt::Debug + 'static {
    /// Calls `f` with each set flag's name (prefix removed) until it returns `false`; returns
    /// the bits no name covers.
    #[doc(hidden)]
    fn each(raw: u32, f: &mut dyn FnMut(&'static str) -> bool) -> u32;
}

macro_rules! kind {
    ($(#[$doc:meta])* $kind:ident, $ty:ident, $inner:ty, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
        pub struct $kind;
        impl sealed::Sealed for $kind {}
        impl FlagKind for $kind {
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
    File, FileFlags, u16, "IMAGE_FILE_"
);
kind!(
    /// Optional header `DllCharacteristics` (`IMAGE_DLLCHARACTERISTICS_*`).
    Dll, DllFlags, u16, "IMAGE_DLLCHARACTERISTICS_"
);
kind!(
    /// Section `Characteristics` (`IMAGE_SCN_*`).
    Section, SectionFlags, u32, "IMAGE_SCN_"
);
kind!(
    /// Load config `GuardFlags` (`IMAGE_GUARD_*`).
    Guard, GuardFlags, u32, "IMAGE_GUARD_"
);

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
}

impl<K: FlagKind> fmt::Debug for Flags<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x} ", self.raw)?;
        f.debug_list().entries(self.names()).finish()
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
    }

    #[test]
    fn values_wider_than_the_field_keep_their_high_bits() {
        let f = Flags::<File>::new(0x1_0002);
        assert_eq!(f.names(), ["EXECUTABLE_IMAGE", "0x10000"]);
    }
}
