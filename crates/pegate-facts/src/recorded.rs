//! [`Recorded`]: a value as a file records it, parsed when it reads as the type and kept as
//! text when it does not, so that printing a file's value never fails or changes it.
//!
//! ```
//! use pegate_facts::{GoArch, Recorded};
//! assert_eq!(Recorded::<GoArch>::read("arm64"), Recorded::Known(GoArch::Arm64));
//! let odd = Recorded::<GoArch>::read("sparc64");
//! assert_eq!(odd.known(), None);
//! assert_eq!(odd.to_string(), "sparc64");
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value read from a file: `Known` when the text parses as a `T`, else the text as found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Recorded<T> {
    /// The text parsed.
    Known(T),
    /// The text, as found, did not.
    Unknown(Box<str>),
}

impl<T: FromStr> Recorded<T> {
    /// Parses `text`, keeping it as it is when it does not parse.
    pub fn read(text: &str) -> Self {
        match text.parse() {
            Ok(v) => Recorded::Known(v),
            Err(_) => Recorded::Unknown(text.into()),
        }
    }
}

impl<T> Recorded<T> {
    /// The parsed value, if the text parsed.
    pub fn known(&self) -> Option<&T> {
        match self {
            Recorded::Known(v) => Some(v),
            Recorded::Unknown(_) => None,
        }
    }
}

impl<T> From<T> for Recorded<T> {
    fn from(v: T) -> Self {
        Recorded::Known(v)
    }
}

/// Whether the value parsed and equals `other`.
impl<T: PartialEq> PartialEq<T> for Recorded<T> {
    fn eq(&self, other: &T) -> bool {
        self.known() == Some(other)
    }
}

/// The value as `T` prints it, or the text as found.
impl<T: fmt::Display> fmt::Display for Recorded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recorded::Known(v) => v.fmt(f),
            Recorded::Unknown(text) => f.pad(text),
        }
    }
}

impl<T: fmt::Display> Serialize for Recorded<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What `Serialize` writes: a string, `T` as printed or any text as found. It is only that
/// (any string), so the schema is inline and does not depend on `T`'s.
impl<T: schemars::JsonSchema> schemars::JsonSchema for Recorded<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Recorded_{}", T::schema_name()).into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        format!("pegate_facts::Recorded<{}>", T::schema_id()).into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": format!(
                "A {} as printed when the file's text reads as one, else the text as found.",
                T::schema_name()
            ),
            "type": "string",
        })
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Recorded<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Recorded::read(&text))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::{GoOs, GoVersion};

    #[test]
    fn text_round_trips_parsed_or_not() {
        for text in ["windows", "plan10", ""] {
            let r = Recorded::<GoOs>::read(text);
            assert_eq!(r.to_string(), text);
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(serde_json::from_str::<Recorded<GoOs>>(&json).unwrap(), r);
        }
        assert_eq!(Recorded::read("windows"), GoOs::Windows);
        for text in [
            "go1.27.3",
            "go1.27.3 X:nocoverageredesign",
            "devel go1.28-abc",
        ] {
            let r = Recorded::<GoVersion>::read(text);
            assert_eq!(r.to_string(), text);
        }
        assert!(
            Recorded::<GoVersion>::read("devel go1.28-abc")
                .known()
                .is_none()
        );
    }
}
