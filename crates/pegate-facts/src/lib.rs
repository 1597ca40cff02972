//! pegate-facts: the vocabulary. Every fact pegate reads from a file or a policy has one type
//! here, with one name table and `Display`/`FromStr`/serde written once:
//!
//! - [`Machine`] and [`Subsystem`]: COFF and optional header values, named from `object`'s
//!   `IMAGE_FILE_MACHINE_*` / `IMAGE_SUBSYSTEM_*` tables;
//! - [`Flags`] and its sets [`Characteristics`], [`DllCharacteristics`],
//!   [`SectionCharacteristics`] and [`GuardFlags`], named from `object`'s flag tables;
//! - [`SignatureStatus`]: the Authenticode verdict;
//! - [`DigestAlgorithm`]: a signature's hash algorithm, named and identified by OID;
//! - [`Outcome`]: pass, fail or not applicable, for a policy rule and a Go cross-check alike;
//! - [`GoArch`], [`GoOs`] and [`GoVersion`]: what Go's build info records;
//! - [`untrusted::escape`]: text read from a file made safe to show a person (controls, bidi
//!   overrides escaped), the one helper every human-readable output uses.
//!
//! Strings appear only at the edges: a policy's names are parsed once with `FromStr` (whose
//! errors list the valid names from the same table) and reports print with `Display`. A value
//! read from a file is never an error: an unnamed machine prints as `0x1234`, unnamed flag bits
//! as one `0x…` entry, and a build-info string that is no known GOARCH or Go version is kept as
//! written in a [`Recorded`].
//!
//! Each type implements [`schemars::JsonSchema`] describing exactly what its `Serialize` writes
//! (hand-written, from the same table, since schemars cannot see a hand-written `Serialize`), for
//! the JSON Schema of `pegate inspect`'s output: a machine is a name of the table or `0x` and
//! four hex digits, a flag set `{"raw", "flags"}` with the names its kind can give.
//!
//! ```
//! use pegate_facts::{DllCharacteristics, GoArch, GoVersion, Machine};
//!
//! let machine: Machine = "AMD64".parse().unwrap();
//! assert_eq!(machine, Machine::AMD64);
//! assert_eq!(Machine(0x1234).to_string(), "0x1234");
//! assert_eq!(GoArch::Amd64.machine(), Some(Machine::AMD64));
//!
//! let dll = DllCharacteristics::new(0x8160);
//! assert!(dll.contains(DllCharacteristics::DYNAMIC_BASE | DllCharacteristics::NX_COMPAT));
//! assert_eq!(dll.to_string(), "HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT | TERMINAL_SERVER_AWARE");
//!
//! let v: GoVersion = "go1.27.3".parse().unwrap();
//! assert!(v > "go1.27rc1".parse().unwrap());
//! assert_eq!(v.to_string(), "go1.27.3");
//!
//! let err = "X86_64".parse::<Machine>().unwrap_err().to_string();
//! assert!(err.starts_with("unknown machine `X86_64`; expected one of: AMD64, ARM64, I386"), "{err}");
//!
//! let schema = schemars::schema_for!(Machine);
//! assert_eq!(schema.get("type"), Some(&serde_json::json!("string")));
//! assert_eq!(schemars::schema_for!(DllCharacteristics).get("title"), Some(&"DllCharacteristics".into()));
//! ```

mod digest;
pub mod flags;
mod go;
mod machine;
mod outcome;
mod recorded;
mod signature;
pub mod untrusted;

pub use digest::DigestAlgorithm;
pub use flags::{
    Characteristics, DllCharacteristics, FlagKind, Flags, GuardFlags, SectionCharacteristics,
};
pub use go::{GoArch, GoOs, GoVersion};
pub use machine::{Machine, Subsystem};
pub use outcome::Outcome;
pub use recorded::Recorded;
pub use signature::SignatureStatus;

/// Why a name or a version does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name that is not in the type's table.
    #[error("unknown {what} `{name}`; expected one of: {}", .known.join(", "))]
    UnknownName {
        /// What was being named: `machine`, `subsystem`, `dll characteristic`, `GOARCH`, ...
        what: &'static str,
        /// The name as written.
        name: String,
        /// Every valid name, from the type's table, in its order.
        known: Vec<&'static str>,
    },
    /// Text that does not read as a Go version.
    #[error("`{text}` is not a Go version; expected e.g. go1.27.3, 1.27 or go1.26rc1")]
    GoVersion {
        /// The text as written.
        text: String,
    },
}

impl Error {
    pub(crate) fn unknown(
        what: &'static str,
        name: &str,
        known: impl IntoIterator<Item = &'static str>,
    ) -> Error {
        Error::UnknownName {
            what,
            name: name.to_owned(),
            known: known.into_iter().collect(),
        }
    }
}

/// Parses `0x1a2b` (any case, with the prefix) as a number: how unnamed values print.
pub(crate) fn parse_hex(text: &str) -> Option<u32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(digits, 16).ok()
}

/// Serde support for the types that read from and print as text: serialise with `Display`,
/// deserialise with `FromStr`.
macro_rules! serde_via_str {
    ($ty:ty) => {
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use serde_via_str;

/// A deterministic xorshift32 stream for the unit tests' generated inputs.
#[cfg(test)]
pub(crate) fn tests_xorshift(mut x: u32) -> impl FnMut() -> u32 {
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hex_reads_only_prefixed_hex_digits() {
        for (text, want) in [
            ("0x1234", Some(0x1234)),
            ("0X00ff", Some(0xff)),
            ("0x", None),
            ("1234", None),
            ("0x12g4", None),
            ("0x+1", None),
            ("0x1_0000_0000", None),
            ("0x100000000", None),
        ] {
            assert_eq!(parse_hex(text), want, "{text}");
        }
    }
}
