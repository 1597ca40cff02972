//! Each fact's JSON Schema describes exactly what its `Serialize` writes: every value (all of
//! them where they can be counted, generated ones where they cannot) validates, and what
//! `Serialize` never writes is rejected.
#![allow(clippy::unwrap_used, clippy::arithmetic_side_effects, missing_docs)]

use pegate_facts::{
    Characteristics, DllCharacteristics, FlagKind, Flags, GoArch, GoOs, GoVersion, GuardFlags,
    Machine, Recorded, SectionCharacteristics, SignatureStatus, Subsystem,
};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{Value, json};

#[path = "support/schema_check.rs"]
mod schema_check;
use schema_check::validator;

/// Every value serialises to JSON its type's schema accepts.
#[track_caller]
fn assert_all_valid<T: JsonSchema + Serialize>(values: impl IntoIterator<Item = T>) -> usize {
    let v = validator::<T>();
    let mut n = 0;
    for value in values {
        let json = serde_json::to_value(&value).unwrap();
        let errors: Vec<String> = v.iter_errors(&json).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{json}: {errors:?}");
        n += 1;
    }
    n
}

/// None of `docs` (what `Serialize` never writes) is accepted by `T`'s schema.
#[track_caller]
fn assert_all_rejected<T: JsonSchema>(docs: &[Value]) {
    let v = validator::<T>();
    for doc in docs {
        assert!(!v.is_valid(doc), "{} accepted {doc}", T::schema_name());
    }
}

#[test]
fn every_machine_and_subsystem_value_validates_and_only_what_they_print() {
    assert_eq!(assert_all_valid((0..=u16::MAX).map(Machine)), 65536);
    assert_eq!(assert_all_valid((0..=u16::MAX).map(Subsystem)), 65536);
    assert_eq!(
        serde_json::to_value(Machine(0x8605)).unwrap(),
        json!("0x8605")
    );
    assert_all_rejected::<Machine>(&[
        json!("amd64"),
        json!("X86_64"),
        json!("0x8664"), // AMD64 prints by name
        json!("0x0"),
        json!("0x12345"),
        json!("0X1234"),
        json!("0x12AB"),
        json!(""),
        json!(0x8664),
        json!(null),
    ]);
    assert_all_rejected::<Subsystem>(&[json!("GUI"), json!("0x0003"), json!("0x4"), json!(3)]);
}

/// Raw values for a flag kind: every `u16` for the 16-bit fields (plus high bits, which a
/// `u32` raw can carry), generated ones and every single bit for the 32-bit ones.
fn raws(all_u16: bool) -> Vec<u32> {
    let mut x = 0x9e37_79b9u32;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut v: Vec<u32> = (0..32).map(|b| 1u32 << b).collect();
    v.extend([
        0,
        u32::MAX,
        0x00F0_0000,
        0x00E0_0060,
        0x6000_0020,
        0xC000_0040,
    ]);
    if all_u16 {
        v.extend(0..=u32::from(u16::MAX));
        v.extend([0x1_0000, 0x8160_0000 | 0x8160]);
    }
    v.extend((0..20_000).map(|_| next()));
    v
}

#[track_caller]
fn check_flags<K: FlagKind>(all_u16: bool, other_kinds_name: &str) {
    let n = assert_all_valid(raws(all_u16).into_iter().map(Flags::<K>::new));
    assert!(n > 20_000);
    assert_all_rejected::<Flags<K>>(&[
        json!({"raw": 0}),
        json!({"flags": []}),
        json!({"raw": 0, "flags": [], "names": []}),
        json!({"raw": -1, "flags": []}),
        json!({"raw": 4_294_967_296u64, "flags": []}),
        json!({"raw": 1, "flags": ["NOT_A_FLAG"]}),
        json!({"raw": 1, "flags": [other_kinds_name]}),
        json!({"raw": 1, "flags": ["0x0"]}),
        json!({"raw": 1, "flags": ["0x01"]}),
        json!({"raw": 1, "flags": ["0X1"]}),
        json!({"raw": 1, "flags": ["0x1", "0x1"]}),
        json!({"raw": 3, "flags": ["0x1", "0x2"]}),
        json!({"raw": 1, "flags": "0x1"}),
        json!([1, []]),
    ]);
}

#[test]
fn every_flag_kind_validates_its_values_and_rejects_other_shapes_and_names() {
    // Each kind rejects a name only another kind has.
    check_flags::<pegate_facts::flags::File>(true, "DYNAMIC_BASE");
    check_flags::<pegate_facts::flags::Dll>(true, "EXECUTABLE_IMAGE");
    check_flags::<pegate_facts::flags::Section>(false, "DYNAMIC_BASE");
    check_flags::<pegate_facts::flags::Guard>(false, "MEM_EXECUTE");
    let names = [
        Characteristics::schema_name(),
        DllCharacteristics::schema_name(),
        SectionCharacteristics::schema_name(),
        GuardFlags::schema_name(),
    ];
    assert_eq!(
        names,
        [
            "Characteristics",
            "DllCharacteristics",
            "SectionCharacteristics",
            "GuardFlags"
        ]
    );
}

#[test]
fn named_enumerations_validate_every_value_and_reject_other_names() {
    assert_eq!(
        assert_all_valid(SignatureStatus::ALL.iter().copied()),
        SignatureStatus::ALL.len()
    );
    assert_all_rejected::<SignatureStatus>(&[json!("valid"), json!("Unsigned"), json!(0)]);
    assert_eq!(
        assert_all_valid(GoArch::ALL.iter().copied()),
        GoArch::ALL.len()
    );
    assert_all_rejected::<GoArch>(&[json!("x86_64"), json!("AMD64"), json!("windows")]);
    assert_eq!(assert_all_valid(GoOs::ALL.iter().copied()), GoOs::ALL.len());
    assert_all_rejected::<GoOs>(&[json!("win"), json!("Windows"), json!("amd64")]);
}

#[test]
fn go_version_schema_accepts_what_parses() {
    let texts = [
        "go1.27.3",
        "1.27.3",
        "go1.27",
        "go1",
        "go1.24rc1",
        "go1.28beta2",
        "1.28-rc.1",
        "1.28-3",
        "go1.27.3 X:nocoverageredesign",
        " go1.23.9\n",
        "go01.2",
        "banana",
        "",
        "go",
        "gogo1",
        "GO1.2",
        "1..3",
        "1.2.3.4",
        "1.2_3",
        "1.27.3+x",
        "go1.27-",
        "go1.27--x",
        "go1.27rc1-x",
        "1.27.x",
        "+1.2",
        "devel go1.28-abc123 Mon Jan 1",
        "1.2x/../3",
    ];
    let v = validator::<GoVersion>();
    for text in texts {
        let parses = text.parse::<GoVersion>().is_ok();
        assert_eq!(v.is_valid(&json!(text)), parses, "{text:?}");
        if let Ok(version) = text.parse::<GoVersion>() {
            assert_all_valid([version]);
        }
    }
    // The one superset: the pattern does not bound a number to `u32`.
    assert!("go99999999999.1".parse::<GoVersion>().is_err());
    assert!(v.is_valid(&json!("go99999999999.1")));
    assert_all_rejected::<GoVersion>(&[json!(1.27), json!(null)]);
}

#[test]
fn recorded_is_any_string_of_either_kind() {
    let values = ["go1.27.3", "devel go1.28-abc", "", "sparc64"];
    assert_all_valid(values.iter().map(|t| Recorded::<GoVersion>::read(t)));
    assert_all_valid(values.iter().map(|t| Recorded::<GoArch>::read(t)));
    assert_all_rejected::<Recorded<GoArch>>(&[json!(1), json!(null), json!(["amd64"])]);
    assert_eq!(Recorded::<GoArch>::schema_name(), "Recorded_GoArch");
}
