//! [`Problem`]: what is wrong with one optional part of a PE file, recorded in
//! [`crate::PeSummary::errors`] while the rest of the summary is still built.
//!
//! A problem prints (and serialises) as one line naming the part first
//! (`load config at 0x…: …`, `debug directory: …`); read back from JSON, it is
//! [`Problem::Text`]: the JSON holds only its words.
//!
//! ```
//! let p = pegate_pe::Problem::LoadConfigUnmapped { rva: 0x3000 };
//! assert_eq!(p.to_string(), "load config: rva 0x3000 is in no section's file data");
//! ```

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::Error;
use crate::debug::DebugError;

/// One damaged optional part of a PE file; the loader's view of the rest still holds.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// `SizeOfOptionalHeader` is smaller than the optional header its magic selects.
    #[error(
        "optional header: SizeOfOptionalHeader {declared:#x} is smaller than the {full:#x}-byte header; \
         the loader reads its fields at their fixed offsets and the section table at {section_table:#x}"
    )]
    OptionalHeaderShort {
        /// `SizeOfOptionalHeader`.
        declared: u64,
        /// The size of the PE32 or PE32+ optional header.
        full: u64,
        /// Where the section table starts (the optional header's offset plus `declared`).
        section_table: u64,
    },
    /// The file ends inside its headers.
    #[error(
        "headers: the file ends at {file_len:#x}, inside its headers ({optional_header:#x}..{headers_end:#x}); \
         the loader reads the missing bytes as zero"
    )]
    HeadersPastEnd {
        /// The file's length.
        file_len: u64,
        /// Where the optional header starts.
        optional_header: u64,
        /// Where the headers (through the section table) end.
        headers_end: u64,
    },
    /// Section headers that the file ends before; the summary does not list them.
    #[error(
        "section table: {missing} of {declared} section headers (from {offset:#x}) are not wholly in the file; not listed"
    )]
    SectionHeadersPastEnd {
        /// How many are cut off.
        missing: usize,
        /// `NumberOfSections`.
        declared: usize,
        /// File offset of the first missing header.
        offset: u64,
    },
    /// A `/N` section name whose string table bytes could not be read.
    #[error("section name {raw}: {error}")]
    SectionName {
        /// The name field as written (`/4`).
        raw: String,
        /// Why the long name could not be read.
        error: Arc<Error>,
    },
    /// The certificate table runs past the end of the file.
    #[error(
        "security directory: certificate table {offset:#x}..{end:#x} ends past the end of the file ({file_size:#x})"
    )]
    CertificateTablePastEnd {
        /// The table's file offset.
        offset: u32,
        /// Where it ends.
        end: u64,
        /// The file's length.
        file_size: u64,
    },
    /// The load config is too short to hold its own `Size` field.
    #[error("load config at {offset:#x}: too short for its Size field")]
    LoadConfigTooShort {
        /// The load config's file offset.
        offset: u64,
    },
    /// The load config lies beyond the bytes read, and none were passed in.
    #[error("load config at {offset:#x}: not in the bytes read")]
    LoadConfigNotRead {
        /// The load config's file offset.
        offset: u64,
    },
    /// The LOAD_CONFIG directory's RVA is in no section's file data.
    #[error("load config: rva {rva:#x} is in no section's file data")]
    LoadConfigUnmapped {
        /// The directory's RVA.
        rva: u32,
    },
    /// The debug directory could not be read.
    #[error(transparent)]
    Debug(Arc<DebugError>),
    /// (Part of) the import or delay-import table could not be read.
    #[error(transparent)]
    Imports(crate::imports::ImportError),
    /// A problem known only by its words (read back from JSON).
    #[error("{0}")]
    Text(String),
}

impl Problem {
    /// Whether this is a debug directory problem (its extended DLL characteristics unknown).
    pub fn is_debug(&self) -> bool {
        matches!(self, Problem::Debug(_))
    }
}

impl From<crate::imports::ImportError> for Problem {
    fn from(e: crate::imports::ImportError) -> Problem {
        Problem::Imports(e)
    }
}

impl From<DebugError> for Problem {
    fn from(e: DebugError) -> Problem {
        Problem::Debug(Arc::new(e))
    }
}

/// Problems are equal when they say the same: the I/O errors some carry have no equality of
/// their own, and a problem read back from JSON has only its words.
impl PartialEq for Problem {
    fn eq(&self, other: &Problem) -> bool {
        self.to_string() == other.to_string()
    }
}

impl Eq for Problem {}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl schemars::JsonSchema for Problem {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PeProblem".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A problem with one part of the file, in words; the rest of the summary stands.",
            "type": "string"
        })
    }
}

impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Problem, D::Error> {
        String::deserialize(d).map(Problem::Text)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Each problem prints as its one line, part named first, and serialises as that line.
    #[test]
    fn problems_print_and_serialise_as_their_lines() {
        let cases: Vec<(Problem, &str)> = vec![
            (
                Problem::OptionalHeaderShort {
                    declared: 0x10,
                    full: 0xf0,
                    section_table: 0x98,
                },
                "optional header: SizeOfOptionalHeader 0x10 is smaller than the 0xf0-byte header; \
                 the loader reads its fields at their fixed offsets and the section table at 0x98",
            ),
            (
                Problem::HeadersPastEnd {
                    file_len: 0x100,
                    optional_header: 0x98,
                    headers_end: 0x1b0,
                },
                "headers: the file ends at 0x100, inside its headers (0x98..0x1b0); \
                 the loader reads the missing bytes as zero",
            ),
            (
                Problem::SectionHeadersPastEnd {
                    missing: 2,
                    declared: 3,
                    offset: 0x1b0,
                },
                "section table: 2 of 3 section headers (from 0x1b0) are not wholly in the file; not listed",
            ),
            (
                Problem::SectionName {
                    raw: "/4".into(),
                    error: Arc::new(Error::Truncated {
                        what: "COFF string table",
                        offset: 0x204,
                        end: 0x205,
                        len: 0x200,
                    }),
                },
                "section name /4: truncated COFF string table: needs bytes 0x204..0x205, the file has 0x200",
            ),
            (
                Problem::CertificateTablePastEnd {
                    offset: 0x400,
                    end: 0x600,
                    file_size: 0x500,
                },
                "security directory: certificate table 0x400..0x600 ends past the end of the file (0x500)",
            ),
            (
                Problem::LoadConfigTooShort { offset: 0x3fe },
                "load config at 0x3fe: too short for its Size field",
            ),
            (
                Problem::LoadConfigNotRead { offset: 0x2000 },
                "load config at 0x2000: not in the bytes read",
            ),
            (
                Problem::LoadConfigUnmapped { rva: 0x3000 },
                "load config: rva 0x3000 is in no section's file data",
            ),
            (
                DebugError::Unmapped { rva: 0x5000 }.into(),
                "debug directory: rva 0x5000 is in no section's file data",
            ),
        ];
        for (problem, line) in cases {
            assert_eq!(problem.to_string(), line);
            let json = serde_json::to_string(&problem).unwrap();
            assert_eq!(json, serde_json::to_string(line).unwrap());
            // Read back, only the words remain; they are still the same problem.
            let back: Problem = serde_json::from_str(&json).unwrap();
            assert!(matches!(&back, Problem::Text(t) if t == line));
            assert_eq!(back, problem);
            assert_eq!(problem.is_debug(), line.starts_with("debug directory"));
        }
    }
}
