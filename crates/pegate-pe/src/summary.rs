//! The owned, serialisable summary of a PE file, built once from a [`PeView`].
//!
//! A damaged optional part (the load config, a long section name, the certificate table's
//! bounds) is recorded in [`PeSummary::errors`] and the rest is still summarised.

use core::mem::offset_of;
use std::borrow::Cow;

use object::LittleEndian as LE;
use object::pe::{ImageLoadConfigDirectory32, ImageLoadConfigDirectory64};
use pegate_facts::{Flags, GuardFlags, Machine, SectionCharacteristics, Subsystem};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Problem;
use crate::headers::PeHeaders;
use crate::text::SectionName;
use crate::view::{
    DIRECTORY_LOAD_CONFIG, MAX_LONG_NAME, PeView, SecurityDirectory, long_name_bytes,
    long_name_index,
};

/// One section header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Section {
    /// The name, `/N` long names resolved when the string table was readable.
    pub name: SectionName,
    /// `VirtualAddress`.
    pub virtual_address: u32,
    /// `VirtualSize`.
    pub virtual_size: u32,
    /// `PointerToRawData`.
    pub raw_offset: u32,
    /// `SizeOfRawData`.
    pub raw_size: u32,
    /// `Characteristics`.
    pub characteristics: SectionCharacteristics,
}

/// One data directory entry that is present (non-zero).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Directory {
    /// `EXPORT`, `IMPORT`, ..., `SECURITY`, `BASERELOC`, ... (`RESERVED` for 15).
    pub name: Cow<'static, str>,
    /// The RVA (for `SECURITY`, a file offset).
    pub virtual_address: u32,
    /// The size.
    pub size: u32,
}

/// The certificate table's place in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecurityDirectorySummary {
    /// File offset (the security directory holds a file offset, not an RVA).
    pub offset: u32,
    /// Size in bytes.
    pub size: u32,
    /// Whether `offset + size` lies inside the file.
    pub in_file: bool,
}

/// The stored and computed checksums.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChecksumSummary {
    /// `OptionalHeader.CheckSum`.
    pub stored: u32,
    /// `CheckSumMappedFile`'s value; `None` unless the whole file was read.
    pub computed: Option<u32>,
}

/// Bytes after the last section's raw data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Overlay {
    /// Where it starts.
    pub offset: u64,
    /// How many bytes.
    pub size: u64,
    /// How many of them belong to the certificate table.
    pub certificate_bytes: u64,
}

/// Everything pegate reports about a PE file's headers: the header fields as [`PeHeaders`]
/// holds them (declared there, once), and what the summary reads beyond them (load config,
/// section table, data directories, overlay).
///
/// Serialises as one flat object, the header fields among the others in the order
/// [`crate::fields`] lists them; [`crate::Fields`] serialises a part of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeSummary {
    /// The COFF and optional header fields.
    pub headers: PeHeaders,
    /// `ARM64EC` or `ARM64X` when the load config carries CHPE (hybrid) metadata.
    pub hybrid: Option<Machine>,
    /// Load config `GuardFlags`, when there is a load config that reaches that field.
    pub guard_flags: Option<GuardFlags>,
    /// Flags of the `IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS` debug entry (`0x1` CETCOMPAT), when
    /// the file has one and its bytes were in view (see [`crate::debug`]).
    pub ex_dll_characteristics: Option<u32>,
    /// The section table.
    pub sections: Vec<Section>,
    /// The non-empty data directories.
    pub data_directories: Vec<Directory>,
    /// `CheckSumMappedFile`'s value; `None` unless the whole file was read.
    pub computed_checksum: Option<u32>,
    /// Bytes after the last section, if any.
    pub overlay: Option<Overlay>,
    /// Per-part problems (`load config: ...`); the rest of the summary is still valid.
    pub errors: Vec<Problem>,
    /// The import and delay-import tables, when asked for ([`crate::InspectOptions::imports`],
    /// [`PeSummary::read_imports`]): they lie anywhere in the file, so the default summary
    /// does not read them.
    pub imports: Option<crate::imports::Imports>,
}

impl PeSummary {
    /// Records the checksum computed elsewhere (e.g. during a one-pass signature check).
    pub fn set_computed_checksum(&mut self, computed: u32) {
        self.computed_checksum = Some(computed);
    }

    /// The certificate table's place, and whether it lies inside the file.
    pub fn security_directory(&self) -> Option<SecurityDirectorySummary> {
        self.headers
            .security_directory
            .map(|s| SecurityDirectorySummary {
                offset: s.offset,
                size: s.size,
                in_file: certificate_table_end(s) <= self.headers.file_size,
            })
    }

    /// The stored checksum and, when the whole file was read, the computed one.
    pub fn checksum(&self) -> ChecksumSummary {
        ChecksumSummary {
            stored: self.headers.checksum,
            computed: self.computed_checksum,
        }
    }

    /// Reads the import tables from `view` (over the whole file) into [`PeSummary::imports`].
    pub fn read_imports(&mut self, view: &PeView<'_>) {
        self.imports = Some(crate::imports::summarize(view));
    }

    /// The section named `name`.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// The data directory named `name` (`SECURITY`, `BASERELOC`, ...).
    pub fn directory(&self, name: &str) -> Option<&Directory> {
        self.data_directories.iter().find(|d| d.name == name)
    }
}

const DIRECTORY_NAMES: [&str; 16] = [
    "EXPORT",
    "IMPORT",
    "RESOURCE",
    "EXCEPTION",
    "SECURITY",
    "BASERELOC",
    "DEBUG",
    "ARCHITECTURE",
    "GLOBALPTR",
    "TLS",
    "LOAD_CONFIG",
    "BOUND_IMPORT",
    "IAT",
    "DELAY_IMPORT",
    "COM_DESCRIPTOR",
    "RESERVED",
];

/// The name of a COFF machine value, without `IMAGE_FILE_MACHINE_` (`0x…` when unknown):
/// [`Machine`]'s `Display`, borrowed when it is a name.
pub fn machine_name(raw: u16) -> Cow<'static, str> {
    let m = Machine(raw);
    m.name()
        .map_or_else(|| Cow::Owned(m.to_string()), Cow::Borrowed)
}

/// The name of a subsystem value, without `IMAGE_SUBSYSTEM_` (`0x…` when unknown):
/// [`Subsystem`]'s `Display`, borrowed when it is a name.
pub fn subsystem_name(raw: u16) -> Cow<'static, str> {
    let s = Subsystem(raw);
    s.name()
        .map_or_else(|| Cow::Owned(s.to_string()), Cow::Borrowed)
}

/// What the load config says: GuardFlags and whether CHPE metadata is present.
struct LoadConfig {
    guard_flags: Option<u32>,
    chpe_metadata: bool,
}

/// Reads the fields pegate needs from load config bytes (`bytes` starts at the directory).
///
/// Which fields exist is decided by the structure's own `Size` (its first u32), for PE32 and
/// PE32+ alike, never by the LOAD_CONFIG data directory's size: the PE specification calls the
/// directory size "really only a version check" that must be 64 for x86 images to please
/// Windows XP's loader, so MSVC's x86 linker writes 0x40 there while `Size` says 0xBC or 0xC0;
/// later loaders, and pefile (`parse_directory_load_config`), read the fields `Size` covers.
/// The bytes read are bounded by the file and by [`MAX_LOAD_CONFIG`] (see
/// [`load_config_range`]), so a field past either is missing.
/// `None` when the bytes are too short to hold `Size` itself.
fn parse_load_config(bytes: &[u8], pe32_plus: bool) -> Option<LoadConfig> {
    let size = bytes
        .get(..4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map(u32::from_le_bytes)? as usize;
    let avail = size.min(bytes.len());
    let field = |offset: usize, width: usize| -> Option<u64> {
        let end = offset.checked_add(width)?;
        if end > avail {
            return None;
        }
        let b = bytes.get(offset..end)?;
        let mut v = [0u8; 8];
        v.get_mut(..width)?.copy_from_slice(b);
        Some(u64::from_le_bytes(v))
    };
    let (guard, chpe, ptr) = if pe32_plus {
        (
            offset_of!(ImageLoadConfigDirectory64, guard_flags),
            offset_of!(ImageLoadConfigDirectory64, chpe_metadata_pointer),
            8,
        )
    } else {
        (
            offset_of!(ImageLoadConfigDirectory32, guard_flags),
            offset_of!(ImageLoadConfigDirectory32, chpe_metadata_pointer),
            4,
        )
    };
    Some(LoadConfig {
        guard_flags: field(guard, 4).map(|v| v as u32),
        chpe_metadata: field(chpe, ptr).is_some_and(|v| v != 0),
    })
}

/// Bytes that the summary needs beyond the headers, when the view is only a prefix.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extra<'a> {
    /// The load config directory's bytes (from its file offset, up to its size).
    pub load_config: Option<&'a [u8]>,
    /// The checksum computed over the whole file elsewhere.
    pub computed_checksum: Option<u32>,
    /// The COFF string table's bytes and file offset, for `/N` section names (Go's DWARF
    /// sections) when the table lies beyond the header prefix.
    pub string_table: Option<(u64, &'a [u8])>,
    /// Leave `/N` section names as they are in the header, unresolved and with no problem
    /// reported: for callers whose output shows no section names, so the string table (at the
    /// far end of the file) need not be read.
    pub raw_long_names: bool,
}

/// The file range of the COFF string table that `/N` section names (Go's DWARF sections) point
/// into, if any name needs it: (offset, length to read). Only the bytes up to the largest index
/// plus room for one name are read, not the symbol names behind them: `N` has at most seven
/// digits (the name field is 8 bytes), so at most 10 MB, and never past the end of the file.
pub fn string_table_range(view: &PeView<'_>) -> Option<(u64, usize)> {
    let max_index = view
        .sections()
        .iter()
        .filter_map(|s| long_name_index(&s.name))
        .max()?;
    let start = view.string_table_offset();
    (start < view.file_len()).then(|| {
        let want = u64::from(max_index).saturating_add(MAX_LONG_NAME as u64);
        let len = view.file_len().saturating_sub(start).min(want) as usize;
        (start, len)
    })
}

/// Resolves a `/N` name from separately read string table bytes (`table` starts at its file
/// offset and holds every byte [`string_table_range`] asked for, so the rule is the one
/// [`PeView::section_name`] applies in memory).
fn long_name(name: &[u8; 8], table: (u64, &[u8]), view: &PeView<'_>) -> Option<String> {
    let index = long_name_index(name)?;
    let start = view.string_table_offset();
    let at = usize::try_from(start.checked_add(u64::from(index))?.checked_sub(table.0)?).ok()?;
    let bytes = table.1.get(at..).filter(|b| !b.is_empty())?;
    Some(String::from_utf8_lossy(long_name_bytes(bytes)).into_owned())
}

/// The most load config bytes read: the structure is 0xC0 bytes for PE32 and 0x148 for PE32+
/// in the newest SDK, and the fields pegate reads end before 0xD0.
pub(crate) const MAX_LOAD_CONFIG: usize = 1024;

/// The file range of the load config directory, if there is one: (offset, length to read).
///
/// The length is 1 KiB bounded by the end of the file, not the directory's size:
/// the structure's own `Size` says how much of it there is (see `parse_load_config`).
pub fn load_config_range(view: &PeView<'_>) -> Option<(u64, usize)> {
    let dir = view.data_directory(DIRECTORY_LOAD_CONFIG)?;
    if dir.virtual_address == 0 || dir.size == 0 {
        return None;
    }
    let offset = u64::from(view.rva_to_file_offset(dir.virtual_address)?);
    let len = view
        .file_len()
        .saturating_sub(offset)
        .min(MAX_LOAD_CONFIG as u64) as usize;
    Some((offset, len.max(4)))
}

/// Summarises a view over the whole file (or a prefix; parts beyond it are reported missing).
/// With the whole file in view, the checksum is computed too (one pass over the bytes).
pub fn summarize(view: &PeView<'_>) -> PeSummary {
    summarize_with(view, Extra::default())
}

/// Summarises the headers only: never touches the bytes beyond them except the load config and
/// the debug directory's extended DLL characteristics entry
/// (`computed_checksum` stays `None`). The hot path for many files held in memory.
pub fn summarize_headers(view: &PeView<'_>) -> PeSummary {
    summarize_impl(view, Extra::default(), false)
}

/// Summarises a view, with bytes read separately for the parts beyond a header prefix.
pub fn summarize_with(view: &PeView<'_>, extra: Extra<'_>) -> PeSummary {
    summarize_impl(view, extra, true)
}

/// What the loader reads differently from a well-formed file, as per-part errors: the
/// summary still reports the fields as the loader sees them.
fn header_oddities(view: &PeView<'_>, errors: &mut Vec<Problem>) {
    let optional = view.optional_header_offset() as u64;
    let declared = u64::from(view.file_header().size_of_optional_header.get(LE));
    let full = view.optional_header_size() as u64;
    if declared < full {
        errors.push(Problem::OptionalHeaderShort {
            declared,
            full,
            section_table: optional.saturating_add(declared),
        });
    }
    let file_len = view.file_len();
    if view.is_whole_file() && view.headers_end() > file_len {
        errors.push(Problem::HeadersPastEnd {
            file_len,
            optional_header: optional,
            headers_end: view.headers_end(),
        });
        let missing = view
            .declared_sections()
            .saturating_sub(view.sections().len());
        if missing > 0 {
            errors.push(Problem::SectionHeadersPastEnd {
                missing,
                declared: view.declared_sections(),
                offset: (view.sections_offset() as u64)
                    .saturating_add(40u64.saturating_mul(view.sections().len() as u64)),
            });
        }
    }
}

fn summarize_impl(view: &PeView<'_>, extra: Extra<'_>, checksum_whole_file: bool) -> PeSummary {
    let mut errors = Vec::new();
    let h = view.headers();
    header_oddities(view, &mut errors);
    let sections = sections(view, extra, &mut errors);
    let data_directories = directories(view);
    certificate_table_past_end(&h, &mut errors);
    let (guard, hybrid) = load_config_facts(view, extra.load_config, &h, &mut errors);
    let overlay = overlay(view, h.file_size, h.security_directory);
    let computed = extra.computed_checksum.or_else(|| {
        (checksum_whole_file && view.is_whole_file())
            .then(|| crate::pe_checksum(view.data(), view.checksum_field_offset()))
    });

    PeSummary {
        headers: h,
        hybrid,
        guard_flags: guard,
        ex_dll_characteristics: crate::debug::for_summary(view, &mut errors),
        sections,
        data_directories,
        computed_checksum: computed,
        overlay,
        errors,
        imports: None,
    }
}

/// The section table, long names resolved (from `string_table` when it was read apart from
/// the view); a name that cannot be resolved is kept as written, with its problem.
fn sections(view: &PeView<'_>, extra: Extra<'_>, errors: &mut Vec<Problem>) -> Vec<Section> {
    view.sections()
        .iter()
        .map(|s| Section {
            name: if extra.raw_long_names && s.name.first() == Some(&b'/') {
                SectionName::from_bytes(s.name.split(|&b| b == 0).next().unwrap_or_default())
            } else {
                section_name(view, s, extra.string_table, errors)
            },
            virtual_address: s.virtual_address.get(LE),
            virtual_size: s.virtual_size.get(LE),
            raw_offset: s.pointer_to_raw_data.get(LE),
            raw_size: s.size_of_raw_data.get(LE),
            characteristics: Flags::new(s.characteristics.get(LE).0),
        })
        .collect()
}

fn section_name(
    view: &PeView<'_>,
    s: &object::pe::ImageSectionHeader,
    string_table: Option<(u64, &[u8])>,
    errors: &mut Vec<Problem>,
) -> SectionName {
    if let Some(n) = SectionName::from_header_field(&s.name) {
        return n;
    }
    if let Some(n) = string_table.and_then(|t| long_name(&s.name, t, view)) {
        return SectionName::from(n);
    }
    match view.section_name(s) {
        Ok(n) => SectionName::from_bytes(n),
        Err(e) => {
            let raw = String::from_utf8_lossy(&s.name);
            let raw = raw.trim_end_matches('\0');
            errors.push(Problem::SectionName {
                raw: raw.to_owned(),
                error: std::sync::Arc::new(e),
            });
            SectionName::from(raw)
        }
    }
}

/// The data directories that are set (address or size not zero), named.
fn directories(view: &PeView<'_>) -> Vec<Directory> {
    let mut data_directories = Vec::with_capacity(view.directory_count());
    data_directories.extend(
        (0..view.directory_count())
            .filter_map(|i| view.data_directory(i))
            .zip(DIRECTORY_NAMES)
            .filter(|(d, _)| d.virtual_address != 0 || d.size != 0)
            .map(|(d, name)| Directory {
                name: Cow::Borrowed(name),
                virtual_address: d.virtual_address,
                size: d.size,
            }),
    );
    data_directories
}

/// Where the certificate table ends (offset plus size, which may pass the end of the file).
fn certificate_table_end(s: SecurityDirectory) -> u64 {
    u64::from(s.offset).saturating_add(u64::from(s.size))
}

/// A problem when the certificate table runs past the end of the file.
fn certificate_table_past_end(h: &PeHeaders, errors: &mut Vec<Problem>) {
    if let Some(s) = h.security_directory {
        let end = certificate_table_end(s);
        if end > h.file_size {
            errors.push(Problem::CertificateTablePastEnd {
                offset: s.offset,
                end,
                file_size: h.file_size,
            });
        }
    }
}

/// What the load config says: `GuardFlags`, and the hybrid (ARM64EC/ARM64X) machine its CHPE
/// metadata implies; the header machine itself may already say hybrid (object files, some
/// linkers). `load_config` holds its bytes when they were read apart from the view.
fn load_config_facts(
    view: &PeView<'_>,
    load_config: Option<&[u8]>,
    h: &PeHeaders,
    errors: &mut Vec<Problem>,
) -> (Option<GuardFlags>, Option<Machine>) {
    let (mut guard, mut hybrid) = (None, None);
    if let Some((offset, len)) = load_config_range(view) {
        let bytes = load_config.or_else(|| {
            let avail = view.data().len().saturating_sub(offset as usize).min(len);
            view.bytes_at(offset, avail).filter(|b| !b.is_empty())
        });
        match bytes.map(|b| parse_load_config(b, h.pe32_plus)) {
            Some(Some(lc)) => {
                guard = lc.guard_flags.map(Flags::new);
                if lc.chpe_metadata {
                    hybrid = match h.machine {
                        Machine::AMD64 => Some(Machine::ARM64EC),
                        Machine::ARM64 => Some(Machine::ARM64X),
                        _ => None,
                    };
                }
            }
            Some(None) => errors.push(Problem::LoadConfigTooShort { offset }),
            None => errors.push(Problem::LoadConfigNotRead { offset }),
        }
    } else if let Some(dir) = view.data_directory(DIRECTORY_LOAD_CONFIG)
        && dir.virtual_address != 0
        && dir.size != 0
    {
        errors.push(Problem::LoadConfigUnmapped {
            rva: dir.virtual_address,
        });
    }
    if hybrid.is_none() {
        hybrid = match h.machine {
            m @ (Machine::ARM64EC | Machine::ARM64X) => Some(m),
            _ => None,
        };
    }
    (guard, hybrid)
}

/// The bytes past the end of the sections as the loader maps them, and how many of them are
/// the certificate table.
fn overlay(
    view: &PeView<'_>,
    file_size: u64,
    security_directory: Option<SecurityDirectory>,
) -> Option<Overlay> {
    let end_of_sections = view.end_of_sections();
    (file_size > end_of_sections).then(|| {
        let certificate_bytes = security_directory
            .map(|s| {
                let start = u64::from(s.offset).max(end_of_sections);
                let end = certificate_table_end(s).min(file_size);
                end.saturating_sub(start)
            })
            .unwrap_or(0);
        Overlay {
            offset: end_of_sections,
            size: file_size.saturating_sub(end_of_sections),
            certificate_bytes,
        }
    })
}
