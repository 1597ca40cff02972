//! [`SignatureStatus`]: the one Authenticode verdict for a file, as pegate-authenticode decides
//! it and the policy judges it.
//!
//! ```
//! use pegate_facts::SignatureStatus;
//! assert_eq!(SignatureStatus::SignedValid.to_string(), "signed-valid");
//! assert_eq!("unsigned".parse::<SignatureStatus>().unwrap(), SignatureStatus::Unsigned);
//! ```

use std::fmt;
use std::str::FromStr;

use crate::{Error, serde_via_str};

macro_rules! statuses {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The one verdict for a file.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SignatureStatus {
            $($(#[$doc])* $variant,)*
        }

        impl SignatureStatus {
            /// Every status, in the order error messages list them.
            pub const ALL: &'static [SignatureStatus] = &[$(SignatureStatus::$variant),*];

            /// The status's name as printed and serialised (`signed-valid`, ...).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(SignatureStatus::$variant => $name,)*
                }
            }
        }
    };
}

statuses! {
    /// No certificate table, or one that lies outside the file (the problem is in the errors).
    Unsigned => "unsigned",
    /// Every digest matches and a chain reaches a trusted root.
    SignedValid => "signed-valid",
    /// Every digest matches; no chain was judged trusted (or no bundle was given).
    SignedUntrusted => "signed-untrusted",
    /// A signature's digest does not match the file, or the signature does not verify: tampered.
    SignedInvalid => "signed-invalid",
    /// A signature is present but cannot be read.
    Error => "error",
}

impl fmt::Display for SignatureStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for SignatureStatus {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Error> {
        Self::ALL
            .iter()
            .copied()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| {
                Error::unknown(
                    "signature status",
                    text,
                    Self::ALL.iter().map(|s| s.as_str()),
                )
            })
    }
}

serde_via_str!(SignatureStatus);

/// What `Serialize` writes: one of the names of [`SignatureStatus::ALL`].
impl schemars::JsonSchema for SignatureStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "SignatureStatus".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        "pegate_facts::SignatureStatus".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Self::ALL.iter().map(|s| s.as_str()).collect();
        schemars::json_schema!({
            "description": "The one Authenticode verdict for a file.",
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
        let names: Vec<String> = SignatureStatus::ALL.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "unsigned",
                "signed-valid",
                "signed-untrusted",
                "signed-invalid",
                "error"
            ]
        );
        for s in SignatureStatus::ALL {
            assert_eq!(s.as_str().parse::<SignatureStatus>().unwrap(), *s);
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(json, format!("\"{s}\""));
            assert_eq!(serde_json::from_str::<SignatureStatus>(&json).unwrap(), *s);
        }
        assert_eq!(
            "valid".parse::<SignatureStatus>().unwrap_err().to_string(),
            "unknown signature status `valid`; expected one of: unsigned, signed-valid, \
             signed-untrusted, signed-invalid, error"
        );
    }
}
