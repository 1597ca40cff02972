//! [`PeHeaders`]: every COFF and optional header field, read once from a [`PeView`] into a
//! `Copy` struct. No allocation and no loop: the header summary for hot paths that look at
//! many files (gates, batch inspection), where [`crate::PeSummary`] would be more than needed.

use std::borrow::Cow;

use object::LittleEndian as LE;
use serde::Serialize;

use pegate_facts::{Characteristics, DllCharacteristics, Flags, Machine, Subsystem};

use crate::text::Version;
use crate::view::{
    Optional, PeView, SecurityDirectory, ShortOptional, short_optional, with_optional,
};
use object::pe::ImageFileHeader;

/// The COFF file header and optional header of a PE file, with the certificate table's place.
///
/// ```
/// let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
/// let h = pegate_pe::PeView::parse(&data).unwrap().headers();
/// assert_eq!(h.machine, pegate_pe::Machine::AMD64);
/// assert_eq!(h.subsystem_name(), "WINDOWS_CUI");
/// assert!(h.dll_characteristics.contains(pegate_pe::DllCharacteristics::NX_COMPAT));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PeHeaders {
    /// `PE32` or `PE32+`.
    #[serde(serialize_with = "ser_format")]
    pub pe32_plus: bool,
    /// COFF `Machine` (serialised as the raw number).
    #[serde(serialize_with = "ser_raw_machine")]
    pub machine: Machine,
    /// COFF `Characteristics`.
    pub characteristics: Characteristics,
    /// COFF `TimeDateStamp`.
    pub timestamp: u32,
    /// COFF `NumberOfSections`.
    pub number_of_sections: u16,
    /// COFF `NumberOfSymbols`.
    pub number_of_symbols: u32,
    /// Optional header `Subsystem` (serialised as the raw number).
    #[serde(serialize_with = "ser_raw_subsystem")]
    pub subsystem: Subsystem,
    /// Optional header `DllCharacteristics`.
    pub dll_characteristics: DllCharacteristics,
    /// `MajorLinkerVersion.MinorLinkerVersion`.
    pub linker_version: Version,
    /// Operating system version.
    pub os_version: Version,
    /// Image version.
    pub image_version: Version,
    /// Subsystem version.
    pub subsystem_version: Version,
    /// `ImageBase`.
    pub image_base: u64,
    /// `AddressOfEntryPoint` (RVA).
    pub entry_point: u32,
    /// `SectionAlignment`.
    pub section_alignment: u32,
    /// `FileAlignment`.
    pub file_alignment: u32,
    /// `SizeOfImage`.
    pub size_of_image: u32,
    /// `SizeOfHeaders`.
    pub size_of_headers: u32,
    /// The stored `CheckSum`.
    pub checksum: u32,
    /// The certificate table, when the security directory entry is non-empty.
    #[serde(serialize_with = "ser_security")]
    pub security_directory: Option<SecurityDirectory>,
    /// The length of the whole file.
    pub file_size: u64,
}

fn ser_format<S: serde::Serializer>(pe32_plus: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(if *pe32_plus { "PE32+" } else { "PE32" })
}

fn ser_raw_machine<S: serde::Serializer>(m: &Machine, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(m.0)
}

fn ser_raw_subsystem<S: serde::Serializer>(v: &Subsystem, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(v.0)
}

fn ser_security<S: serde::Serializer>(
    dir: &Option<SecurityDirectory>,
    s: S,
) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Dir {
        offset: u32,
        size: u32,
    }
    dir.map(|d| Dir {
        offset: d.offset,
        size: d.size,
    })
    .serialize(s)
}

impl PeHeaders {
    /// `PE32` or `PE32+`.
    #[inline]
    pub fn format(&self) -> &'static str {
        if self.pe32_plus { "PE32+" } else { "PE32" }
    }

    /// The machine's winnt.h name without `IMAGE_FILE_MACHINE_` (`AMD64`), or `0x…`.
    #[inline]
    pub fn machine_name(&self) -> Cow<'static, str> {
        crate::machine_name(self.machine.0)
    }

    /// The subsystem's winnt.h name without `IMAGE_SUBSYSTEM_` (`WINDOWS_GUI`), or `0x…`.
    #[inline]
    pub fn subsystem_name(&self) -> Cow<'static, str> {
        crate::subsystem_name(self.subsystem.0)
    }
}

impl PeView<'_> {
    /// Every COFF and optional header field, read once (one branch on PE32 / PE32+).
    // Always inlined: the cold branch for a file that ends inside its optional header tips
    // LLVM's inliner otherwise, and a call makes the view go through memory.
    #[inline(always)]
    pub fn headers(&self) -> PeHeaders {
        let fh = self.file_header();
        let (security_directory, file_size) = (self.security_directory(), self.file_len());
        let Some(optional) = self.optional() else {
            return short_headers(
                self.file_header(),
                short_optional(
                    self.data(),
                    self.optional_header_offset(),
                    self.is_pe32_plus(),
                ),
                self.is_pe32_plus(),
                security_directory,
                file_size,
            );
        };
        with_optional!(optional, h, pe32_plus, image_base => PeHeaders {
            pe32_plus,
            machine: Machine(fh.machine.get(LE).0),
            characteristics: Flags::new(u32::from(fh.characteristics.get(LE).0)),
            timestamp: fh.time_date_stamp.get(LE),
            number_of_sections: fh.number_of_sections.get(LE),
            number_of_symbols: fh.number_of_symbols.get(LE),
            subsystem: Subsystem(h.subsystem.get(LE).0),
            dll_characteristics: Flags::new(u32::from(h.dll_characteristics.get(LE).0)),
            linker_version: Version::new(
                u16::from(h.major_linker_version),
                u16::from(h.minor_linker_version),
            ),
            os_version: Version::new(
                h.major_operating_system_version.get(LE),
                h.minor_operating_system_version.get(LE),
            ),
            image_version: Version::new(
                h.major_image_version.get(LE),
                h.minor_image_version.get(LE),
            ),
            subsystem_version: Version::new(
                h.major_subsystem_version.get(LE),
                h.minor_subsystem_version.get(LE),
            ),
            image_base,
            entry_point: h.address_of_entry_point.get(LE),
            section_alignment: h.section_alignment.get(LE),
            file_alignment: h.file_alignment.get(LE),
            size_of_image: h.size_of_image.get(LE),
            size_of_headers: h.size_of_headers.get(LE),
            checksum: h.check_sum.get(LE),
            security_directory,
            file_size,
        })
    }
}

/// [`PeView::headers`] for a file that ends inside its optional header: the fields at their
/// fixed offsets, the missing bytes as zero.
#[cold]
#[inline(never)]
fn short_headers(
    fh: &ImageFileHeader,
    p: ShortOptional,
    pe32_plus: bool,
    security_directory: Option<SecurityDirectory>,
    file_size: u64,
) -> PeHeaders {
    PeHeaders {
        pe32_plus,
        machine: Machine(fh.machine.get(LE).0),
        characteristics: Flags::new(u32::from(fh.characteristics.get(LE).0)),
        timestamp: fh.time_date_stamp.get(LE),
        number_of_sections: fh.number_of_sections.get(LE),
        number_of_symbols: fh.number_of_symbols.get(LE),
        subsystem: Subsystem(p.subsystem),
        dll_characteristics: Flags::new(u32::from(p.dll_characteristics)),
        linker_version: Version::new(p.linker.0, p.linker.1),
        os_version: Version::new(p.os.0, p.os.1),
        image_version: Version::new(p.image.0, p.image.1),
        subsystem_version: Version::new(p.subsystem_version.0, p.subsystem_version.1),
        image_base: p.image_base,
        entry_point: p.entry_point,
        section_alignment: p.section_alignment,
        file_alignment: p.file_alignment,
        size_of_image: p.size_of_image,
        size_of_headers: p.size_of_headers,
        checksum: p.checksum,
        security_directory,
        file_size,
    }
}
