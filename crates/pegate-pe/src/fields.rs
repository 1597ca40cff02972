//! The JSON fields of a [`PeSummary`], listed once: each key, the value it takes from the
//! summary (most from its [`PeHeaders`](crate::PeHeaders), where the header fields are
//! declared), its type, and which objects carry it. The summary's own `Serialize` and
//! [`JsonSchema`] impls and every part of it that a larger object embeds ([`Fields`]) are
//! generated from this one list, so the output and its published schema cannot drift apart.
//!
//! The order is the summary's own: `pegate inspect` objects lead with the fields tagged `lead`
//! (its schema's required keys), in this order, and put the rest after their own fields.
//!
//! ```
//! use pegate_pe::fields::{Fields, Lead};
//!
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let summary = pegate_pe::summarize(&pegate_pe::PeView::parse(&data).unwrap());
//! let lead = serde_json::to_value(Fields::<Lead>::of(Some(&summary))).unwrap();
//! assert_eq!(lead["machine"], "AMD64");
//! // Without a summary the lead fields are null, so the keys are always there.
//! let none = serde_json::to_value(Fields::<Lead>::of(None)).unwrap();
//! assert!(none["machine"].is_null());
//! ```

use std::borrow::Cow;
use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Serialize;
use serde::ser::SerializeStruct;

use crate::imports::Imports;
use crate::summary::{ChecksumSummary, Directory, Overlay, Section, SecurityDirectorySummary};
use crate::{Characteristics, DllCharacteristics, GuardFlags, Machine, PeSummary, Problem};
use crate::{Subsystem, Version};

/// What a field is, for choosing the parts that carry it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Tags {
    /// `pegate inspect` objects lead with it (a required key, null when there is no summary).
    pub lead: bool,
    /// The default `pegate inspect --format jsonl` object carries it.
    pub brief: bool,
}

impl Tags {
    /// These tags and `lead`.
    pub const fn lead(self) -> Tags {
        Tags { lead: true, ..self }
    }

    /// These tags and `brief`.
    pub const fn brief(self) -> Tags {
        Tags {
            brief: true,
            ..self
        }
    }
}

/// A selection of the summary's fields: which it keeps, and what stands in for them when there
/// is no summary (the file could not be summarised).
pub trait Part {
    /// The schema's name for the selection.
    const NAME: &'static str;
    /// Whether the kept fields are written as `null` without a summary (else left out).
    const NULLS: bool;
    /// Whether the kept fields are always there (the schema requires them).
    const REQUIRED: bool;
    /// Whether the selection carries a field with these tags.
    fn keeps(tags: Tags) -> bool;
}

/// Every field: the summary as one object.
#[derive(Debug)]
pub enum All {}

/// The fields `pegate inspect` objects lead with.
#[derive(Debug)]
pub enum Lead {}

/// The fields `pegate inspect --full` objects end with: all but the lead.
#[derive(Debug)]
pub enum Rest {}

/// The lead fields the default `pegate inspect --format jsonl` object carries.
#[derive(Debug)]
pub enum BriefLead {}

impl Part for All {
    const REQUIRED: bool = true;
    const NAME: &'static str = "PeSummary";
    const NULLS: bool = false;
    fn keeps(_: Tags) -> bool {
        true
    }
}

impl Part for Lead {
    const REQUIRED: bool = true;
    const NAME: &'static str = "PeSummaryLead";
    const NULLS: bool = true;
    fn keeps(tags: Tags) -> bool {
        tags.lead
    }
}

impl Part for Rest {
    const REQUIRED: bool = false;
    const NAME: &'static str = "PeSummaryRest";
    const NULLS: bool = false;
    fn keeps(tags: Tags) -> bool {
        !tags.lead
    }
}

impl Part for BriefLead {
    const REQUIRED: bool = true;
    const NAME: &'static str = "PeSummaryBriefLead";
    const NULLS: bool = true;
    fn keeps(tags: Tags) -> bool {
        tags.lead && tags.brief
    }
}

/// `PE32` or `PE32+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
pub enum Format {
    /// A 32-bit image.
    #[serde(rename = "PE32")]
    Pe32,
    /// A 64-bit image.
    #[serde(rename = "PE32+")]
    Pe32Plus,
}

impl Format {
    fn of(pe32_plus: bool) -> Format {
        if pe32_plus {
            Format::Pe32Plus
        } else {
            Format::Pe32
        }
    }
}

/// The fields, in order: `key [tags]: type = |summary| value`, and `, if_some` for a field
/// left out when its value is `None`. The doc comment becomes the schema's description.
///
/// A macro rather than derived structs: the summary is written as four selections ([`All`],
/// [`Lead`], [`Rest`], [`BriefLead`]), whose lead fields are `null` without a summary and
/// whose schemas differ in which keys are required. Derived structs would spell each field in
/// up to four structs and four schemas, kept in the same order by hand; this list spells it
/// once, and each selection's writer, field count and schema are generated from it.
macro_rules! fields {
    ($(
        $(#[doc = $doc:literal])*
        $key:ident [$($tag:ident),*] : $ty:ty = |$s:ident| $get:expr $(, $if_some:ident)? ;
    )*) => {
        /// Writes the fields `P` keeps, from `summary` or as `P` says without one.
        fn write<S: SerializeStruct, P: Part>(
            summary: Option<&PeSummary>,
            st: &mut S,
        ) -> Result<(), S::Error> {
            $(
                if P::keeps(Tags::default()$(.$tag())*) {
                    let key = stringify!($key);
                    match summary {
                        Some($s) => {
                            let value: $ty = $get;
                            let present = true $(&& { let _ = stringify!($if_some); value.is_some() })?;
                            if present {
                                st.serialize_field(key, &value)?;
                            } else {
                                st.skip_field(key)?;
                            }
                        }
                        None if P::NULLS => st.serialize_field(key, &None::<()>)?,
                        None => st.skip_field(key)?,
                    }
                }
            )*
            Ok(())
        }

        /// How many fields [`write`] writes.
        fn len<P: Part>(summary: Option<&PeSummary>) -> usize {
            let mut n = 0usize;
            $(
                if P::keeps(Tags::default()$(.$tag())*) {
                    let written = match summary {
                        // Only a field left out when `None` needs its value here.
                        Some($s) => {
                            let _ = $s;
                            true $(&& { let _ = stringify!($if_some); ($get).is_some() })?
                        }
                        None => P::NULLS,
                    };
                    n = n.saturating_add(usize::from(written));
                }
            )*
            n
        }

        /// The object schema of the fields `P` keeps.
        fn schema<P: Part>(generator: &mut SchemaGenerator) -> Schema {
            let mut properties = serde_json::Map::new();
            let mut required = Vec::new();
            $(
                if P::keeps(Tags::default()$(.$tag())*) {
                    let key = stringify!($key);
                    let mut field = generator.subschema_for::<$ty>();
                    if P::NULLS {
                        field = or_null(field);
                    }
                    let doc = [$($doc),*].map(str::trim).join(" ");
                    if !doc.is_empty() {
                        field.insert("description".into(), doc.into());
                    }
                    properties.insert(key.into(), field.into());
                    let optional = false $(|| { let _ = stringify!($if_some); true })?;
                    if P::REQUIRED && !optional {
                        required.push(key);
                    }
                }
            )*
            json_schema!({ "type": "object", "properties": properties, "required": required })
        }
    };
}

fields! {
    /// `PE32` or `PE32+`.
    format [lead, brief]: Format = |s| Format::of(s.headers.pe32_plus);
    /// COFF `Machine`, by name.
    machine [lead, brief]: Machine = |s| s.headers.machine;
    /// COFF `Machine`, the number.
    machine_raw []: u16 = |s| s.headers.machine.0;
    /// `ARM64EC` or `ARM64X` when the load config carries CHPE (hybrid) metadata.
    hybrid [lead, brief]: Option<Machine> = |s| s.hybrid;
    /// Optional header `Subsystem`, by name.
    subsystem [lead, brief]: Subsystem = |s| s.headers.subsystem;
    /// Optional header `Subsystem`, the number.
    subsystem_raw []: u16 = |s| s.headers.subsystem.0;
    /// COFF `Characteristics`.
    characteristics [lead, brief]: Characteristics = |s| s.headers.characteristics;
    /// Optional header `DllCharacteristics`.
    dll_characteristics [lead, brief]: DllCharacteristics = |s| s.headers.dll_characteristics;
    /// Load config `GuardFlags`, when there is a load config that reaches that field.
    guard_flags []: Option<GuardFlags> = |s| s.guard_flags;
    /// Flags of the IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS debug entry (0x1 CETCOMPAT); absent
    /// when the file has none.
    ex_dll_characteristics []: Option<u32> = |s| s.ex_dll_characteristics, if_some;
    /// `MajorLinkerVersion.MinorLinkerVersion`.
    linker_version []: Version = |s| s.headers.linker_version;
    /// Operating system version.
    os_version []: Version = |s| s.headers.os_version;
    /// Image version.
    image_version []: Version = |s| s.headers.image_version;
    /// Subsystem version.
    subsystem_version []: Version = |s| s.headers.subsystem_version;
    /// `ImageBase`.
    image_base []: u64 = |s| s.headers.image_base;
    /// `AddressOfEntryPoint` (RVA).
    entry_point []: u32 = |s| s.headers.entry_point;
    /// `SectionAlignment`.
    section_alignment []: u32 = |s| s.headers.section_alignment;
    /// `FileAlignment`.
    file_alignment []: u32 = |s| s.headers.file_alignment;
    /// `SizeOfImage`.
    size_of_image []: u32 = |s| s.headers.size_of_image;
    /// `SizeOfHeaders`.
    size_of_headers []: u32 = |s| s.headers.size_of_headers;
    /// COFF `TimeDateStamp` (Go always writes 0).
    timestamp []: u32 = |s| s.headers.timestamp;
    /// COFF `NumberOfSymbols`.
    number_of_symbols []: u32 = |s| s.headers.number_of_symbols;
    /// The section table.
    sections [lead]: &[Section] = |s| &s.sections;
    /// The non-empty data directories.
    data_directories []: &[Directory] = |s| &s.data_directories;
    /// The certificate table, when the security directory is non-empty.
    security_directory [lead, brief]: Option<SecurityDirectorySummary> = |s| s.security_directory();
    /// The stored `CheckSum` and `CheckSumMappedFile`'s value: filled for signed files (read in
    /// full by the signature check) and, with `--checksum`, for every file; null otherwise.
    checksum [lead, brief]: ChecksumSummary = |s| s.checksum();
    /// Bytes after the last section, if any.
    overlay []: Option<&Overlay> = |s| s.overlay.as_ref();
    /// The file's length.
    file_size []: u64 = |s| s.headers.file_size;
    /// Per-part problems; the rest of the summary is still valid.
    errors []: &[Problem] = |s| &s.errors;
    /// The imported DLLs (import and delay-import tables), with `--imports`; absent otherwise.
    imports []: Option<&Imports> = |s| s.imports.as_ref(), if_some;
}

/// `schema`, or null: for a key that is always written, null when there is no value (schemars
/// makes an `Option` field either optional or, marked required, not null).
#[derive(Debug)]
pub struct Nullable<T>(PhantomData<T>);

impl<T: JsonSchema> JsonSchema for Nullable<T> {
    fn schema_name() -> Cow<'static, str> {
        format!("Nullable_{}", T::schema_name()).into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        or_null(generator.subschema_for::<T>())
    }
}

/// `schema` with null allowed, unless it allows null already.
fn or_null(schema: Schema) -> Schema {
    let null_type = serde_json::json!({ "type": "null" });
    let allows_null = match schema.get("type") {
        Some(serde_json::Value::String(t)) => t == "null",
        Some(serde_json::Value::Array(types)) => types.iter().any(|t| t == "null"),
        _ => schema
            .get("anyOf")
            .and_then(serde_json::Value::as_array)
            .is_some_and(|a| a.contains(&null_type)),
    };
    if allows_null {
        schema
    } else {
        json_schema!({ "anyOf": [schema, null_type] })
    }
}

/// The fields `P` keeps of a summary, or their stand-ins when there is none: one object, to
/// embed in a larger one with `#[serde(flatten)]`.
#[derive(Debug)]
pub struct Fields<'a, P> {
    summary: Option<&'a PeSummary>,
    part: PhantomData<P>,
}

impl<'a, P: Part> Fields<'a, P> {
    /// The fields of `summary`, or stand-ins for them.
    pub fn of(summary: Option<&'a PeSummary>) -> Self {
        Fields {
            summary,
            part: PhantomData,
        }
    }
}

impl<P: Part> Serialize for Fields<'_, P> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct(P::NAME, len::<P>(self.summary))?;
        write::<_, P>(self.summary, &mut st)?;
        st.end()
    }
}

impl<P: Part> JsonSchema for Fields<'_, P> {
    fn schema_name() -> Cow<'static, str> {
        P::NAME.into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        schema::<P>(generator)
    }
}

impl Serialize for PeSummary {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Fields::<All>::of(Some(self)).serialize(s)
    }
}

impl JsonSchema for PeSummary {
    fn schema_name() -> Cow<'static, str> {
        All::NAME.into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut schema = schema::<All>(generator);
        schema.insert("additionalProperties".into(), false.into());
        schema
    }
}
