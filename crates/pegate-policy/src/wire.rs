//! How [`crate::ArtifactFacts`] reads and writes its flag sets: DllCharacteristics as a list of
//! names, the other flag sets as plain numbers, so the facts' JSON shape does not depend on the
//! flag types.

use pegate_facts::{FlagKind, Flags};
use serde::{Deserialize, Deserializer, Serializer};

/// A flag set as the list of its names (`["DYNAMIC_BASE", "NX_COMPAT"]`).
pub(crate) mod flag_names {
    use super::*;

    pub(crate) fn serialize<K: FlagKind, S: Serializer>(
        flags: &Flags<K>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(None)?;
        let mut failed = None;
        flags.for_each_name(|n| {
            if failed.is_none()
                && let Err(e) = seq.serialize_element(&n)
            {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        seq.end()
    }

    pub(crate) fn deserialize<'de, K: FlagKind, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Flags<K>, D::Error> {
        Vec::<String>::deserialize(d)?
            .iter()
            .try_fold(Flags::new(0), |acc, name| {
                name.parse::<Flags<K>>()
                    .map(|f| acc | f)
                    .map_err(serde::de::Error::custom)
            })
    }
}

/// A flag set as its raw number.
pub(crate) mod raw {
    use super::*;

    pub(crate) fn serialize<K: FlagKind, S: Serializer>(
        flags: &Flags<K>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_u32(flags.raw)
    }

    pub(crate) fn deserialize<'de, K: FlagKind, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Flags<K>, D::Error> {
        u32::deserialize(d).map(Flags::new)
    }
}

/// An optional flag set as its raw number or `null`.
pub(crate) mod raw_option {
    use super::*;

    pub(crate) fn serialize<K: FlagKind, S: Serializer>(
        flags: &Option<Flags<K>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match flags {
            Some(f) => s.serialize_some(&f.raw),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, K: FlagKind, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Flags<K>>, D::Error> {
        Option::<u32>::deserialize(d).map(|r| r.map(Flags::new))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use pegate_facts::{DllCharacteristics, GuardFlags, Machine, SectionCharacteristics};

    use crate::{ArtifactFacts, Recorded, SectionFacts};

    /// The facts serialise machine, subsystem and status as names, the DllCharacteristics as a
    /// list of names and the other flag sets as numbers; and read back.
    #[test]
    fn facts_json_keeps_its_shape() {
        let facts = ArtifactFacts {
            path: "a.exe".into(),
            machine: Some(Machine::AMD64),
            subsystem: Some("WINDOWS_GUI".parse().unwrap()),
            dll_characteristics: DllCharacteristics::new(0x8161),
            signature_status: Some("signed-valid".parse().unwrap()),
            go_version: Some(Recorded::read("go1.27.3 X:nocoverageredesign")),
            goos: Some(Recorded::read("windows")),
            goarch: Some(Recorded::read("sparc64")),
            sections: vec![SectionFacts {
                name: ".text".into(),
                characteristics: SectionCharacteristics::new(0x6000_0020),
            }],
            guard_flags: Some(GuardFlags::new(0x100)),
            ..ArtifactFacts::default()
        };
        let json = serde_json::to_string(&facts).unwrap();
        assert_eq!(
            json,
            r#"{"path":"a.exe","error":null,"size":null,"sha256":null,"format":null,"machine":"AMD64","subsystem":"WINDOWS_GUI","dll_characteristics":["HIGH_ENTROPY_VA","DYNAMIC_BASE","NX_COMPAT","TERMINAL_SERVER_AWARE","0x1"],"signature_status":"signed-valid","signer_subjects":[],"go_version":"go1.27.3 X:nocoverageredesign","goos":"windows","goarch":"sparc64","sections":[{"name":".text","characteristics":1610612768}],"guard_flags":256,"cet_compat":null,"signatures":[],"go_settings":[]}"#
        );
        let back: ArtifactFacts = serde_json::from_str(&json).unwrap();
        assert_eq!(back, facts);
        let empty = serde_json::to_string(&ArtifactFacts::default()).unwrap();
        assert!(
            empty.contains(r#""machine":null,"subsystem":null,"dll_characteristics":[],"signature_status":null"#),
            "{empty}"
        );
    }
}
