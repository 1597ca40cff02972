//! [`DigestAlgorithm`]: a hash algorithm a signature names, with its one table of names and
//! object identifiers.
//!
//! A name is OpenSSL's long name, lowercase (`sha256`), as authenticode-parser reports a
//! signature's algorithm and as pegate prints it. Parsing accepts any case and ignores dashes,
//! so a policy's `SHA-1` and `sha1` name the same algorithm. A name the table lacks, read from a
//! file, is kept as text in a [`Recorded`](crate::Recorded).
//!
//! ```
//! use pegate_facts::DigestAlgorithm;
//! assert_eq!(DigestAlgorithm::Sha256.to_string(), "sha256");
//! assert_eq!("SHA-1".parse::<DigestAlgorithm>().unwrap(), DigestAlgorithm::Sha1);
//! assert_eq!(DigestAlgorithm::from_oid(&[0x2b, 0x0e, 0x03, 0x02, 0x1a]), Some(DigestAlgorithm::Sha1));
//! assert!(DigestAlgorithm::Sha384.image_hash());
//! assert!(!DigestAlgorithm::Md5.image_hash());
//! ```

use std::fmt;
use std::str::FromStr;

use crate::{Error, serde_via_str};

macro_rules! digests {
    ($(
        $(#[$doc:meta])* $variant:ident => $name:literal, oid [$($oid:literal),*], image: $image:literal;
    )*) => {
        /// A digest algorithm a signature may name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum DigestAlgorithm {
            $($(#[$doc])* $variant,)*
        }

        impl DigestAlgorithm {
            /// Every algorithm, in the order error messages list them.
            pub const ALL: &'static [DigestAlgorithm] = &[$(DigestAlgorithm::$variant),*];

            /// OpenSSL's long name, lowercase (`sha256`): as printed and serialised.
            pub const fn name(self) -> &'static str {
                match self {
                    $(DigestAlgorithm::$variant => $name,)*
                }
            }

            /// The object identifier's DER content octets (without tag and length).
            pub const fn oid(self) -> &'static [u8] {
                match self {
                    $(DigestAlgorithm::$variant => &[$($oid),*],)*
                }
            }

            /// Whether Windows accepts it for an Authenticode image hash (and pegate computes
            /// the image hash with it): SHA-1 and the SHA-2 family but SHA-224.
            pub const fn image_hash(self) -> bool {
                match self {
                    $(DigestAlgorithm::$variant => $image,)*
                }
            }
        }
    };
}

digests! {
    /// MD5 (RFC 1321), 1.2.840.113549.2.5.
    Md5 => "md5", oid [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x02, 0x05], image: false;
    /// SHA-1, 1.3.14.3.2.26.
    Sha1 => "sha1", oid [0x2b, 0x0e, 0x03, 0x02, 0x1a], image: true;
    /// SHA-224, 2.16.840.1.101.3.4.2.4.
    Sha224 => "sha224", oid [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04], image: false;
    /// SHA-256, 2.16.840.1.101.3.4.2.1.
    Sha256 => "sha256", oid [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01], image: true;
    /// SHA-384, 2.16.840.1.101.3.4.2.2.
    Sha384 => "sha384", oid [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02], image: true;
    /// SHA-512, 2.16.840.1.101.3.4.2.3.
    Sha512 => "sha512", oid [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03], image: true;
}

impl DigestAlgorithm {
    /// The algorithm whose object identifier has these DER content octets, if any.
    pub fn from_oid(oid: &[u8]) -> Option<DigestAlgorithm> {
        Self::ALL.iter().copied().find(|a| a.oid() == oid)
    }

    /// Every name, in [`Self::ALL`]'s order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        Self::ALL.iter().map(|a| a.name())
    }
}

impl fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for DigestAlgorithm {
    type Err = Error;

    /// A name of the table in any case, dashes ignored (`SHA-256`, `sha256`). The error names
    /// the text as compared: lowercase, without dashes.
    fn from_str(text: &str) -> Result<DigestAlgorithm, Error> {
        let key = text.to_ascii_lowercase().replace('-', "");
        Self::ALL
            .iter()
            .copied()
            .find(|a| a.name() == key)
            .ok_or_else(|| Error::unknown("signature digest", &key, Self::names()))
    }
}

serde_via_str!(DigestAlgorithm);

/// What `Serialize` writes: one of the names of [`DigestAlgorithm::ALL`].
impl schemars::JsonSchema for DigestAlgorithm {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DigestAlgorithm".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_facts::DigestAlgorithm".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Self::names().collect();
        schemars::json_schema!({
            "description": "A digest algorithm: OpenSSL's long name, lowercase.",
            "type": "string",
            "enum": names,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_table_round_trips() {
        let names: Vec<&str> = DigestAlgorithm::names().collect();
        assert_eq!(
            names,
            ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
        );
        for a in DigestAlgorithm::ALL {
            assert_eq!(a.name().parse::<DigestAlgorithm>().unwrap(), *a);
            assert_eq!(
                a.name().to_uppercase().parse::<DigestAlgorithm>().unwrap(),
                *a
            );
            assert_eq!(DigestAlgorithm::from_oid(a.oid()), Some(*a));
            let json = serde_json::to_string(a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<DigestAlgorithm>(&json).unwrap(), *a);
        }
        assert_eq!(
            "SHA-384".parse::<DigestAlgorithm>().unwrap(),
            DigestAlgorithm::Sha384
        );
        assert_eq!(
            "sha3-256"
                .parse::<DigestAlgorithm>()
                .unwrap_err()
                .to_string(),
            "unknown signature digest `sha3256`; expected one of: md5, sha1, sha224, sha256, \
             sha384, sha512"
        );
        // A longer or shorter OID of the same arcs is no match.
        assert_eq!(DigestAlgorithm::from_oid(&[0x2b, 0x0e, 0x03, 0x02]), None);
        assert_eq!(
            DigestAlgorithm::from_oid(&[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x05]),
            None
        );
        let image: Vec<&str> = DigestAlgorithm::ALL
            .iter()
            .filter(|a| a.image_hash())
            .map(|a| a.name())
            .collect();
        assert_eq!(image, ["sha1", "sha256", "sha384", "sha512"]);
    }
}
