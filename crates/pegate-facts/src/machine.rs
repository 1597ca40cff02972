//! [`Machine`] (COFF `Machine`) and [`Subsystem`] (optional header `Subsystem`): a raw `u16`
//! each, named from `object`'s winnt.h tables without the `IMAGE_FILE_MACHINE_` /
//! `IMAGE_SUBSYSTEM_` prefix. A value without a name prints as `0x` and four hex digits.
//!
//! ```
//! use pegate_facts::{Machine, Subsystem};
//! assert_eq!(Machine(0xaa64).to_string(), "ARM64");
//! assert_eq!(Subsystem(3).to_string(), "WINDOWS_CUI");
//! assert_eq!(Subsystem(4).to_string(), "0x0004");
//! assert_eq!("0x0004".parse::<Subsystem>().unwrap(), Subsystem(4));
//! ```

use std::fmt;
use std::str::FromStr;

use object::pe;

use crate::{Error, parse_hex, serde_via_str};

macro_rules! named_u16 {
    (
        $(#[$doc:meta])*
        $ty:ident, $object:ident, $prefix:literal, $what:literal,
        consts { $($(#[$cdoc:meta])* $konst:ident = $cvalue:ident,)* }
        table [$($value:ident),* $(,)?]
    ) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $ty(pub u16);

        impl $ty {
            $($(#[$cdoc])* pub const $konst: $ty = $ty(pe::$cvalue.0);)*

            /// Every value with a name, in the order error messages list them.
            pub const KNOWN: &'static [$ty] = &[$($ty(pe::$value.0)),*];

            /// The winnt.h name without its prefix, or `None` for a value without one.
            #[inline]
            pub fn name(self) -> Option<&'static str> {
                pe::$object(self.0)
                    .name()
                    .map(|n| n.strip_prefix($prefix).unwrap_or(n))
            }

            /// Every valid name, in [`Self::KNOWN`]'s order.
            pub fn names() -> impl Iterator<Item = &'static str> {
                Self::KNOWN.iter().filter_map(|v| v.name())
            }

            /// The value named `name` (without prefix), if any.
            pub fn from_name(name: &str) -> Option<$ty> {
                Self::KNOWN.iter().copied().find(|v| v.name() == Some(name))
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // `pad`, so that `{:<8}` lines up a table of names.
                match self.name() {
                    Some(n) => f.pad(n),
                    None => f.pad(&format!("{:#06x}", self.0)),
                }
            }
        }

        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($ty), "({})"), self)
            }
        }

        impl FromStr for $ty {
            type Err = Error;

            /// A name from the table, or `0x…` as an unnamed value prints.
            fn from_str(text: &str) -> Result<$ty, Error> {
                if let Some(v) = $ty::from_name(text) {
                    return Ok(v);
                }
                parse_hex(text)
                    .and_then(|v| u16::try_from(v).ok())
                    .map($ty)
                    .ok_or_else(|| Error::unknown($what, text, $ty::names()))
            }
        }

        /// Compares the printed form, so `summary.machine == "AMD64"` compares with the name
        /// as printed.
        impl PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                match self.name() {
                    Some(n) => n == other,
                    // Exactly as printed: `0x` and four lowercase hex digits.
                    None => {
                        other.len() == 6
                            && !other.bytes().any(|b| b.is_ascii_uppercase())
                            && other.parse::<$ty>().is_ok_and(|v| v == *self)
                    }
                }
            }
        }

        impl PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                *self == **other
            }
        }

        serde_via_str!($ty);

        /// What `Serialize` writes: a name of [`Self::KNOWN`], or `0x` and four lowercase hex
        /// digits for a value without one (never the hex of a named value).
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn schema_id() -> std::borrow::Cow<'static, str> {
                concat!("pegate_facts::", stringify!($ty)).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                let names: Vec<&str> = $ty::names().collect();
                let named_hex: Vec<String> =
                    $ty::KNOWN.iter().map(|v| format!("{:#06x}", v.0)).collect();
                schemars::json_schema!({
                    "description": concat!(
                        "A ", $what, " value: its winnt.h name without the `", $prefix,
                        "` prefix, or `0x` and four lowercase hex digits for a value without a name."
                    ),
                    "type": "string",
                    "anyOf": [
                        { "enum": names },
                        { "pattern": "^0x[0-9a-f]{4}$", "not": { "enum": named_hex } },
                    ],
                })
            }
        }
    };
}

named_u16!(
    /// A COFF `Machine` value (`AMD64`, `ARM64`, `I386`, ...).
    Machine, Machine, "IMAGE_FILE_MACHINE_", "machine",
    consts {
        /// `IMAGE_FILE_MACHINE_UNKNOWN` (0).
        UNKNOWN = IMAGE_FILE_MACHINE_UNKNOWN,
        /// x64: Go's `amd64`.
        AMD64 = IMAGE_FILE_MACHINE_AMD64,
        /// ARM64: Go's `arm64`.
        ARM64 = IMAGE_FILE_MACHINE_ARM64,
        /// x86: Go's `386`.
        I386 = IMAGE_FILE_MACHINE_I386,
        /// ARM Thumb-2: Go's `arm`.
        ARMNT = IMAGE_FILE_MACHINE_ARMNT,
        /// ARM64EC: x64-compatible code on ARM64.
        ARM64EC = IMAGE_FILE_MACHINE_ARM64EC,
        /// ARM64X: ARM64 and ARM64EC in one image.
        ARM64X = IMAGE_FILE_MACHINE_ARM64X,
    }
    // The machines Go builds and their relatives first: error messages list names in this
    // order, and a reader looks for those. The rest follow in winnt.h's order.
    table [
        IMAGE_FILE_MACHINE_AMD64,
        IMAGE_FILE_MACHINE_ARM64,
        IMAGE_FILE_MACHINE_I386,
        IMAGE_FILE_MACHINE_ARMNT,
        IMAGE_FILE_MACHINE_ARM,
        IMAGE_FILE_MACHINE_ARM64EC,
        IMAGE_FILE_MACHINE_ARM64X,
        IMAGE_FILE_MACHINE_IA64,
        IMAGE_FILE_MACHINE_THUMB,
        IMAGE_FILE_MACHINE_RISCV64,
        IMAGE_FILE_MACHINE_UNKNOWN,
        IMAGE_FILE_MACHINE_TARGET_HOST,
        IMAGE_FILE_MACHINE_R3000,
        IMAGE_FILE_MACHINE_R4000,
        IMAGE_FILE_MACHINE_R10000,
        IMAGE_FILE_MACHINE_WCEMIPSV2,
        IMAGE_FILE_MACHINE_ALPHA,
        IMAGE_FILE_MACHINE_SH3,
        IMAGE_FILE_MACHINE_SH3DSP,
        IMAGE_FILE_MACHINE_SH3E,
        IMAGE_FILE_MACHINE_SH4,
        IMAGE_FILE_MACHINE_SH5,
        IMAGE_FILE_MACHINE_AM33,
        IMAGE_FILE_MACHINE_POWERPC,
        IMAGE_FILE_MACHINE_POWERPCFP,
        IMAGE_FILE_MACHINE_POWERPCBE,
        IMAGE_FILE_MACHINE_MIPS16,
        IMAGE_FILE_MACHINE_ALPHA64,
        IMAGE_FILE_MACHINE_MIPSFPU,
        IMAGE_FILE_MACHINE_MIPSFPU16,
        IMAGE_FILE_MACHINE_TRICORE,
        IMAGE_FILE_MACHINE_CEF,
        IMAGE_FILE_MACHINE_EBC,
        IMAGE_FILE_MACHINE_M32R,
        IMAGE_FILE_MACHINE_CEE,
        IMAGE_FILE_MACHINE_RISCV32,
        IMAGE_FILE_MACHINE_RISCV128,
        IMAGE_FILE_MACHINE_CHPE_X86,
    ]
);

named_u16!(
    /// An optional header `Subsystem` value (`WINDOWS_CUI`, `WINDOWS_GUI`, ...).
    Subsystem, Subsystem, "IMAGE_SUBSYSTEM_", "subsystem",
    consts {
        /// A GUI program (Go's `-ldflags=-H=windowsgui`).
        WINDOWS_GUI = IMAGE_SUBSYSTEM_WINDOWS_GUI,
        /// A console program (Go's default).
        WINDOWS_CUI = IMAGE_SUBSYSTEM_WINDOWS_CUI,
    }
    table [
        IMAGE_SUBSYSTEM_UNKNOWN,
        IMAGE_SUBSYSTEM_NATIVE,
        IMAGE_SUBSYSTEM_WINDOWS_GUI,
        IMAGE_SUBSYSTEM_WINDOWS_CUI,
        IMAGE_SUBSYSTEM_OS2_CUI,
        IMAGE_SUBSYSTEM_POSIX_CUI,
        IMAGE_SUBSYSTEM_NATIVE_WINDOWS,
        IMAGE_SUBSYSTEM_WINDOWS_CE_GUI,
        IMAGE_SUBSYSTEM_EFI_APPLICATION,
        IMAGE_SUBSYSTEM_EFI_BOOT_SERVICE_DRIVER,
        IMAGE_SUBSYSTEM_EFI_RUNTIME_DRIVER,
        IMAGE_SUBSYSTEM_EFI_ROM,
        IMAGE_SUBSYSTEM_XBOX,
        IMAGE_SUBSYSTEM_WINDOWS_BOOT_APPLICATION,
        IMAGE_SUBSYSTEM_XBOX_CODE_CATALOG,
    ]
);

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    /// The tables name every value `object` names, each once, and every name reads back as
    /// its value.
    #[track_caller]
    fn check_table<T>(known: &[T], name: impl Fn(u16) -> Option<&'static str>, wrap: fn(u16) -> T)
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr,
        <T as FromStr>::Err: fmt::Debug,
    {
        for raw in 0..=u16::MAX {
            let v = wrap(raw);
            let printed = v.to_string();
            match name(raw) {
                Some(n) => {
                    assert_eq!(printed, n);
                    assert_eq!(
                        known.iter().filter(|k| **k == v).count(),
                        1,
                        "{v:?} must be in the table once"
                    );
                }
                None => {
                    assert_eq!(printed, format!("{raw:#06x}"));
                    assert!(!known.contains(&v), "{v:?} has no name");
                }
            }
            assert_eq!(printed.parse::<T>().unwrap(), v, "{printed}");
        }
    }

    #[test]
    fn machine_table_round_trips() {
        check_table(Machine::KNOWN, |r| Machine(r).name(), Machine);
        assert_eq!(Machine::AMD64.to_string(), "AMD64");
        assert_eq!(Machine::I386.to_string(), "I386");
        assert_eq!(Machine::ARMNT.to_string(), "ARMNT");
        assert_eq!(Machine(0x1234).to_string(), "0x1234");
        assert_eq!(Machine(0x10).to_string(), "0x0010");
        assert_eq!(format!("{:?}", Machine::ARM64), "Machine(ARM64)");
        assert_eq!(
            format!("[{:<7}|{:>7}]", Machine::I386, Machine(0x10)),
            "[I386   | 0x0010]"
        );
    }

    #[test]
    fn subsystem_table_round_trips() {
        check_table(Subsystem::KNOWN, |r| Subsystem(r).name(), Subsystem);
        assert_eq!(Subsystem::WINDOWS_GUI.to_string(), "WINDOWS_GUI");
        assert_eq!(Subsystem(4).to_string(), "0x0004");
    }

    #[test]
    fn unknown_names_list_the_table() {
        let err = "X86_64".parse::<Machine>().unwrap_err();
        let Error::UnknownName { what, name, known } = &err else {
            panic!("{err:?}");
        };
        assert_eq!((*what, name.as_str()), ("machine", "X86_64"));
        assert_eq!(known.len(), Machine::KNOWN.len());
        assert_eq!(known[..4], ["AMD64", "ARM64", "I386", "ARMNT"]);
        assert!(
            err.to_string()
                .starts_with("unknown machine `X86_64`; expected one of: AMD64, ARM64, I386, ARMNT, ARM, ARM64EC, ARM64X, IA64, THUMB, RISCV64, UNKNOWN,")
        );
        let err = "GUI".parse::<Subsystem>().unwrap_err().to_string();
        assert!(
            err.starts_with("unknown subsystem `GUI`; expected one of: UNKNOWN, NATIVE, WINDOWS_GUI, WINDOWS_CUI,"),
            "{err}"
        );
        for bad in ["", "amd64", "0x", "0x10000", "1234", " AMD64"] {
            assert!(bad.parse::<Machine>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn compares_with_the_printed_name_and_serialises_as_it() {
        assert!(Machine::AMD64 == "AMD64");
        assert!(Machine::AMD64 != "ARM64");
        assert!(Machine(0x1234) == "0x1234");
        assert!(Machine(0x1234) != "0x01234");
        assert!(Machine::AMD64 != "0x8664");
        let json = serde_json::to_string(&[Machine::ARM64, Machine(0x1234)]).unwrap();
        assert_eq!(json, r#"["ARM64","0x1234"]"#);
        let back: Vec<Machine> = serde_json::from_str(&json).unwrap();
        assert_eq!(back, [Machine::ARM64, Machine(0x1234)]);
        assert!(serde_json::from_str::<Machine>(r#""X86""#).is_err());
    }
}
