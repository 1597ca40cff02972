//! `PeView`: a lazy, zero-copy, bounds-checked view over the headers of a PE file.
//!
//! Only the DOS header, the NT headers, the data directories and the section table are validated
//! when the view is built (the two tables as range checks; they are sliced when asked for);
//! everything else is read when asked for. The bytes may be a prefix of
//! the file (the headers), in which case [`PeView::parse_prefix`] is told the real file length.
//!
//! The headers are read the way the Windows loader reads them, not the way the PE specification
//! says a linker should write them:
//!
//! - The optional header's fields, the data directories included, are read at their fixed
//!   offsets whatever `SizeOfOptionalHeader` says: that field only locates the section table
//!   (`e_lfanew + 24 + SizeOfOptionalHeader`), and may be 0 or smaller than the header, with
//!   the section table overlapping it. The loader reads `min(NumberOfRvaAndSizes, 16)`
//!   directories (ntdll's `RtlImageDirectoryEntryToData` checks only `NumberOfRvaAndSizes`).
//! - A file shorter than its headers is mapped into zero-filled memory, so header bytes past
//!   its end read as zero (Windows XP runs a 97-byte PE that ends inside its optional header).
//!   Section headers that lie wholly past the end are not listed by [`PeView::sections`]; the
//!   summary says how many there were.
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! assert_eq!(view.machine(), object::pe::IMAGE_FILE_MACHINE_AMD64.0);
//! assert!(view.is_pe32_plus());
//! ```

use core::mem::{offset_of, size_of};

use object::LittleEndian as LE;
use object::pe::{
    IMAGE_DOS_SIGNATURE, IMAGE_NT_OPTIONAL_HDR32_MAGIC, IMAGE_NT_OPTIONAL_HDR64_MAGIC,
    IMAGE_NT_SIGNATURE, IMAGE_NUMBEROF_DIRECTORY_ENTRIES, ImageDataDirectory, ImageDosHeader,
    ImageFileHeader, ImageOptionalHeader32, ImageOptionalHeader64, ImageSectionHeader,
};
use object::pod;

use crate::Error;
use short::zero_filled_directory;
pub(crate) use short::{ShortOptional, short_optional};

mod diagnose;
mod short;
#[cfg(test)]
mod tests;

/// Index of the security (certificate table) directory.
pub const DIRECTORY_SECURITY: usize = 4;
/// Index of the load configuration directory.
pub const DIRECTORY_LOAD_CONFIG: usize = 10;

/// The optional header, PE32 or PE32+.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Optional<'data> {
    Pe32(&'data ImageOptionalHeader32),
    Pe64(&'data ImageOptionalHeader64),
}

/// The size of the optional header's fixed part, which the data directories follow.
#[inline]
const fn fixed_size(pe32_plus: bool) -> usize {
    if pe32_plus {
        size_of::<ImageOptionalHeader64>()
    } else {
        size_of::<ImageOptionalHeader32>()
    }
}

/// Offset of `NumberOfRvaAndSizes` in the optional header.
#[inline]
const fn rva_count_offset(pe32_plus: bool) -> usize {
    if pe32_plus {
        offset_of!(ImageOptionalHeader64, number_of_rva_and_sizes)
    } else {
        offset_of!(ImageOptionalHeader32, number_of_rva_and_sizes)
    }
}

/// Evaluates `$e` with `$h` bound to the optional header, PE32 or PE32+: the two structs name
/// their fields alike, so one expression serves both. The second form also binds whether it is
/// PE32+ and `ImageBase` widened to `u64` (the one field whose width differs), each fixed per
/// arm so the branch is taken once.
macro_rules! with_optional {
    ($optional:expr, $h:ident => $e:expr) => {
        match $optional {
            Optional::Pe32($h) => $e,
            Optional::Pe64($h) => $e,
        }
    };
    ($optional:expr, $h:ident, $pe32_plus:ident, $image_base:ident => $e:expr) => {
        match $optional {
            Optional::Pe32($h) => {
                let ($pe32_plus, $image_base) = (false, u64::from($h.image_base.get(LE)));
                $e
            }
            Optional::Pe64($h) => {
                let ($pe32_plus, $image_base) = (true, $h.image_base.get(LE));
                $e
            }
        }
    };
}
pub(crate) use with_optional;

/// One optional header field: from the header in view, or (a file that ends inside its
/// optional header) from [`short_optional`], which reads the missing bytes as zero.
macro_rules! field {
    ($view:expr, $h:ident => $e:expr, $p:ident => $short:expr) => {
        match $view.optional {
            Some(o) => with_optional!(o, $h => $e),
            None => {
                let $p = short_optional($view.data, $view.optional_header_offset(), $view.pe32_plus);
                $short
            }
        }
    };
}

/// A data directory entry as stored: an RVA (a file offset for the security directory) and a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataDirectory {
    /// The RVA (for the security directory: the file offset).
    pub virtual_address: u32,
    /// The size in bytes.
    pub size: u32,
}

/// The certificate table's location: a file offset, not an RVA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecurityDirectory {
    /// File offset of the first WIN_CERTIFICATE.
    pub offset: u32,
    /// Size of the whole table.
    pub size: u32,
}

/// A zero-copy view over a PE file's headers.
///
/// Every structure the view hands out is bounds-checked when the view is built; the data
/// directory and section tables are checked there and sliced only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct PeView<'data> {
    data: &'data [u8],
    file_len: u64,
    nt_offset: usize,
    file_header: &'data ImageFileHeader,
    /// `None` when the file ends inside the optional header's fixed part: its fields are then
    /// read at their offsets with the missing bytes as zero.
    optional: Option<Optional<'data>>,
    pe32_plus: bool,
    directory_count: usize,
    /// Data directories wholly in `data`: `directory_count` unless the file ends inside them.
    directories_in_data: usize,
    sections_offset: usize,
    /// Section headers wholly in `data`: `NumberOfSections` unless the file ends inside the table.
    section_count: usize,
}

/// The COFF file header's size, after the 4-byte `PE\0\0`: the optional header is at
/// `e_lfanew + OPTIONAL_AFTER_NT`.
const OPTIONAL_AFTER_NT: usize = 4 + size_of::<ImageFileHeader>();

/// `count` records of `T` at `offset`, or none if they are not all there.
#[inline]
fn table<T: pod::Pod>(data: &[u8], offset: usize, count: usize) -> Option<&[T]> {
    data.get(offset..)
        .and_then(|rest| pod::slice_from_bytes::<T>(rest, count).ok())
        .map(|(t, _)| t)
}

impl<'data> PeView<'data> {
    /// Builds a view over a whole file's bytes.
    #[inline]
    pub fn parse(data: &'data [u8]) -> Result<PeView<'data>, Error> {
        PeView::parse_prefix(data, data.len() as u64)
    }

    /// Builds a view over the first bytes of a file of `file_len` bytes (at least the headers).
    /// When the headers need more bytes than `data` holds and the file has them, the error is
    /// [`Error::BeyondRead`], which says how many to read.
    #[inline]
    pub fn parse_prefix(data: &'data [u8], file_len: u64) -> Result<PeView<'data>, Error> {
        match PeView::check(data, file_len) {
            Some(view) => Ok(view),
            None => PeView::diagnose(data, file_len),
        }
    }

    /// The fast path of [`PeView::parse_prefix`]: every header wholly in `data`, with no error
    /// to build, so it stays short and branch-light (the many ways of building an `Error`
    /// would crowd the code, and live in `diagnose`). `diagnose` runs only
    /// when this says no, and also accepts files that end inside their headers; the two are
    /// tested to build the same view wherever this one accepts.
    #[inline(always)]
    fn check(data: &'data [u8], file_len: u64) -> Option<PeView<'data>> {
        let (dos, _) = pod::from_bytes::<ImageDosHeader>(data).ok()?;
        if dos.e_magic.get(LE) != IMAGE_DOS_SIGNATURE {
            return None;
        }
        let nt_offset = dos.e_lfanew.get(LE) as usize;
        let (signature, _) = pod::from_bytes::<object::U32<LE>>(data.get(nt_offset..)?).ok()?;
        if signature.get(LE) != IMAGE_NT_SIGNATURE {
            return None;
        }
        let (file_header, rest) =
            pod::from_bytes::<ImageFileHeader>(data.get(nt_offset.saturating_add(4)..)?).ok()?;
        let size_of_optional = usize::from(file_header.size_of_optional_header.get(LE));
        let magic = rest.get(..2)?;
        let optional = if magic == IMAGE_NT_OPTIONAL_HDR64_MAGIC.to_le_bytes() {
            Optional::Pe64(pod::from_bytes(rest).ok()?.0)
        } else if magic == IMAGE_NT_OPTIONAL_HDR32_MAGIC.to_le_bytes() {
            Optional::Pe32(pod::from_bytes(rest).ok()?.0)
        } else {
            return None;
        };
        let pe32_plus = matches!(optional, Optional::Pe64(_));
        let declared = with_optional!(optional, h => h.number_of_rva_and_sizes.get(LE));
        let directory_count = (declared as usize).min(IMAGE_NUMBEROF_DIRECTORY_ENTRIES);
        let optional_offset = nt_offset.saturating_add(OPTIONAL_AFTER_NT);
        let directories_end = optional_offset
            .saturating_add(fixed_size(pe32_plus))
            .saturating_add(directory_count.saturating_mul(size_of::<ImageDataDirectory>()));
        let sections_offset = optional_offset.saturating_add(size_of_optional);
        let section_count = usize::from(file_header.number_of_sections.get(LE));
        let sections_end = sections_offset
            .saturating_add(section_count.saturating_mul(size_of::<ImageSectionHeader>()));
        if directories_end.max(sections_end) > data.len() {
            return None;
        }
        Some(PeView {
            data,
            file_len: file_len.max(data.len() as u64),
            nt_offset,
            file_header,
            optional: Some(optional),
            pe32_plus,
            directory_count,
            directories_in_data: directory_count,
            sections_offset,
            section_count,
        })
    }

    /// The bytes the view was built over (the whole file, or a prefix).
    #[inline]
    pub fn data(&self) -> &'data [u8] {
        self.data
    }

    /// The length of the whole file.
    #[inline]
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Whether all of the file's bytes are in [`PeView::data`].
    #[inline]
    pub fn is_whole_file(&self) -> bool {
        self.data.len() as u64 == self.file_len
    }

    /// The file offset of the `PE\0\0` signature (`e_lfanew`).
    #[inline]
    pub fn nt_headers_offset(&self) -> usize {
        self.nt_offset
    }

    /// File offset of the optional header.
    #[inline]
    pub fn optional_header_offset(&self) -> usize {
        self.nt_offset.saturating_add(OPTIONAL_AFTER_NT)
    }

    /// File offset of the data directories: right after the optional header's fixed part.
    #[inline]
    fn directories_offset(&self) -> usize {
        self.optional_header_offset()
            .saturating_add(fixed_size(self.pe32_plus))
    }

    /// The optional header, when its fixed part is in the bytes (see [`PeView::headers`]).
    #[inline]
    pub(crate) fn optional(&self) -> Option<Optional<'data>> {
        self.optional
    }

    /// Whether the optional header is PE32+ (64-bit).
    #[inline]
    pub fn is_pe32_plus(&self) -> bool {
        self.pe32_plus
    }

    /// The size of the optional header as the format defines it: its fixed part and the
    /// data directories `NumberOfRvaAndSizes` announces (at most 16).
    #[inline]
    pub fn optional_header_size(&self) -> usize {
        fixed_size(self.pe32_plus).saturating_add(
            self.directory_count
                .saturating_mul(size_of::<ImageDataDirectory>()),
        )
    }

    /// Where the headers the view reads end: past the optional header with its directories
    /// and past the section table, whichever is later. Beyond [`PeView::file_len`] the loader
    /// reads zeros.
    #[inline]
    pub fn headers_end(&self) -> u64 {
        let optional_end = self
            .optional_header_offset()
            .saturating_add(self.optional_header_size()) as u64;
        let sections_end = (self.sections_offset as u64).saturating_add(
            u64::from(self.file_header.number_of_sections.get(LE))
                .saturating_mul(size_of::<ImageSectionHeader>() as u64),
        );
        optional_end.max(sections_end)
    }

    /// The COFF file header.
    #[inline]
    pub fn file_header(&self) -> &'data ImageFileHeader {
        self.file_header
    }

    /// COFF `Machine`.
    #[inline]
    pub fn machine(&self) -> u16 {
        self.file_header.machine.get(LE).0
    }

    /// COFF `Characteristics`.
    #[inline]
    pub fn characteristics(&self) -> u16 {
        self.file_header.characteristics.get(LE).0
    }

    /// Optional header `Subsystem`.
    #[inline]
    pub fn subsystem(&self) -> u16 {
        field!(self, h => h.subsystem.get(LE).0, p => p.subsystem)
    }

    /// Optional header `DllCharacteristics`.
    #[inline]
    pub fn dll_characteristics(&self) -> u16 {
        field!(self, h => h.dll_characteristics.get(LE).0, p => p.dll_characteristics)
    }

    /// `ImageBase`.
    #[inline]
    pub fn image_base(&self) -> u64 {
        match self.optional {
            Some(o) => with_optional!(o, _h, _pe32_plus, image_base => image_base),
            None => {
                short_optional(self.data, self.optional_header_offset(), self.pe32_plus).image_base
            }
        }
    }

    /// `SizeOfHeaders`.
    #[inline]
    pub fn size_of_headers(&self) -> u32 {
        field!(self, h => h.size_of_headers.get(LE), p => p.size_of_headers)
    }

    /// `SizeOfImage`.
    #[inline]
    pub fn size_of_image(&self) -> u32 {
        field!(self, h => h.size_of_image.get(LE), p => p.size_of_image)
    }

    /// `AddressOfEntryPoint` (an RVA).
    #[inline]
    pub fn entry_point(&self) -> u32 {
        field!(self, h => h.address_of_entry_point.get(LE), p => p.entry_point)
    }

    /// `SectionAlignment` and `FileAlignment`.
    #[inline]
    pub fn alignments(&self) -> (u32, u32) {
        field!(self,
            h => (h.section_alignment.get(LE), h.file_alignment.get(LE)),
            p => (p.section_alignment, p.file_alignment))
    }

    /// Linker, operating system, image and subsystem versions as (major, minor) pairs.
    #[inline]
    pub fn versions(&self) -> [(u16, u16); 4] {
        field!(self, h => [
            (
                u16::from(h.major_linker_version),
                u16::from(h.minor_linker_version),
            ),
            (
                h.major_operating_system_version.get(LE),
                h.minor_operating_system_version.get(LE),
            ),
            (h.major_image_version.get(LE), h.minor_image_version.get(LE)),
            (
                h.major_subsystem_version.get(LE),
                h.minor_subsystem_version.get(LE),
            ),
        ], p => [p.linker, p.os, p.image, p.subsystem_version])
    }

    /// The stored `CheckSum`.
    #[inline]
    pub fn stored_checksum(&self) -> u32 {
        field!(self, h => h.check_sum.get(LE), p => p.checksum)
    }

    /// File offset of `OptionalHeader.CheckSum` (4 bytes); the same for PE32 and PE32+.
    #[inline]
    pub fn checksum_field_offset(&self) -> usize {
        self.optional_header_offset().saturating_add(64)
    }

    /// The section headers wholly in the bytes: all `NumberOfSections` of them unless the file
    /// ends inside the table (the loader would read the rest as zeros).
    #[inline]
    pub fn sections(&self) -> &'data [ImageSectionHeader] {
        // In bounds: `parse_prefix` checked the table, or counted the headers in the file.
        table(self.data, self.sections_offset, self.section_count).unwrap_or_default()
    }

    /// `NumberOfSections`, including any section headers past the end of the file.
    #[inline]
    pub fn declared_sections(&self) -> usize {
        usize::from(self.file_header.number_of_sections.get(LE))
    }

    /// File offset of the section table.
    #[inline]
    pub fn sections_offset(&self) -> usize {
        self.sections_offset
    }

    /// How many data directories the loader reads: `min(NumberOfRvaAndSizes, 16)`.
    #[inline]
    pub fn directory_count(&self) -> usize {
        self.directory_count
    }

    /// The data directories wholly in the bytes (at most 16); [`PeView::data_directory`] also
    /// reads those past the end of a short file, as zeros.
    #[inline]
    pub fn data_directories(&self) -> &'data [ImageDataDirectory] {
        // In bounds: `parse_prefix` counted them against the bytes.
        table(
            self.data,
            self.directories_offset(),
            self.directories_in_data,
        )
        .unwrap_or_default()
    }

    /// Data directory `index`, if the header has that many (bytes past the end of the file
    /// read as zero).
    #[inline]
    pub fn data_directory(&self, index: usize) -> Option<DataDirectory> {
        if let Some(d) = self.data_directories().get(index) {
            return Some(DataDirectory {
                virtual_address: d.virtual_address.get(LE),
                size: d.size.get(LE),
            });
        }
        (index < self.directory_count).then(|| {
            zero_filled_directory(
                self.data,
                self.directories_offset()
                    .saturating_add(index.saturating_mul(size_of::<ImageDataDirectory>())),
            )
        })
    }

    /// The certificate table (security directory), when its entry is present and non-empty.
    #[inline]
    pub fn security_directory(&self) -> Option<SecurityDirectory> {
        self.data_directory(DIRECTORY_SECURITY)
            .filter(|d| d.virtual_address != 0 && d.size != 0)
            .map(|d| SecurityDirectory {
                offset: d.virtual_address,
                size: d.size,
            })
    }

    /// File offset of the security directory entry (8 bytes), when the header has one.
    #[inline]
    pub fn security_entry_offset(&self) -> Option<usize> {
        (self.directory_count > DIRECTORY_SECURITY).then(|| {
            self.directories_offset()
                .saturating_add(DIRECTORY_SECURITY.saturating_mul(size_of::<ImageDataDirectory>()))
        })
    }

    /// Where the loader reads a section's raw data from, as (file offset, length), before the
    /// end of the file bounds it.
    ///
    /// The Windows loader rounds `PointerToRawData` down to a multiple of 0x200 when
    /// `FileAlignment` is at least 0x200 (smaller alignments are used as they are), and reads
    /// `SizeOfRawData` rounded up to `FileAlignment`. pefile follows the same rule for
    /// section data (`adjust_PointerToRawData`, `adjust_FileAlignment`).
    #[inline]
    pub fn section_file_range(&self, section: &ImageSectionHeader) -> (u64, u64) {
        let (_, file_alignment) = self.alignments();
        let pointer = section.pointer_to_raw_data.get(LE);
        let start = if file_alignment >= 0x200 {
            pointer & !0x1ff
        } else {
            pointer
        };
        let raw = u64::from(section.size_of_raw_data.get(LE));
        let fa = u64::from(file_alignment);
        let len = if fa > 1 {
            raw.div_ceil(fa).saturating_mul(fa)
        } else {
            raw
        };
        (u64::from(start), len)
    }

    /// Translates an RVA to a file offset through the section table (or the headers), with
    /// each section's raw data where the loader maps it from ([`PeView::section_file_range`]).
    #[inline]
    pub fn rva_to_file_offset(&self, rva: u32) -> Option<u32> {
        if rva < self.size_of_headers() {
            return Some(rva);
        }
        for s in self.sections() {
            let va = s.virtual_address.get(LE);
            let (start, raw_len) = self.section_file_range(s);
            let raw_size = u32::try_from(raw_len).unwrap_or(u32::MAX);
            let size = s.virtual_size.get(LE).max(raw_size);
            let delta = rva.checked_sub(va)?;
            if delta < size {
                // Bytes past SizeOfRawData are zero-filled in memory, not in the file.
                return (delta < raw_size)
                    .then(|| u32::try_from(start).ok()?.checked_add(delta))?;
            }
        }
        None
    }

    /// File offset of the COFF string table: right after the symbol table (18-byte records),
    /// where `/N` section names point.
    #[inline]
    pub fn string_table_offset(&self) -> u64 {
        u64::from(self.file_header.pointer_to_symbol_table.get(LE)).saturating_add(
            u64::from(self.file_header.number_of_symbols.get(LE)).saturating_mul(18),
        )
    }

    /// The name of a section, resolving COFF `/N` long names through the string table when its
    /// bytes are in view (up to the first NUL, at most [`MAX_LONG_NAME`] bytes). Trailing NULs
    /// are removed. A name past the bytes in view is [`Error::BeyondRead`] when the file goes
    /// on, [`Error::Truncated`] (with the file's length) when the file ends first.
    #[inline]
    pub fn section_name(&self, section: &'data ImageSectionHeader) -> Result<&'data [u8], Error> {
        let raw: &'data [u8] = &section.name;
        let Some(index) = long_name_index(&section.name) else {
            return Ok(raw.split(|&b| b == 0).next().unwrap_or(raw));
        };
        let start = self.string_table_offset().saturating_add(u64::from(index));
        let bytes = usize::try_from(start)
            .ok()
            .and_then(|s| self.data.get(s..))
            .filter(|b| !b.is_empty());
        match bytes {
            Some(bytes) => Ok(long_name_bytes(bytes)),
            None if start < self.file_len => Err(Error::BeyondRead {
                what: "COFF string table",
                offset: start,
                end: start.saturating_add(1),
                read: self.data.len() as u64,
            }),
            None => Err(Error::Truncated {
                what: "COFF string table",
                offset: start,
                end: start.saturating_add(1),
                len: self.file_len,
            }),
        }
    }

    /// Bytes `[offset, offset + len)` of the file if they are in view.
    #[inline]
    pub fn bytes_at(&self, offset: u64, len: usize) -> Option<&'data [u8]> {
        let start = usize::try_from(offset).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// The end of the sections' raw data as the loader maps it: where the overlay starts.
    ///
    /// Each section with raw data ends at [`PeView::section_file_range`]'s end, bounded by the
    /// end of the file; the headers (`SizeOfHeaders`) count as the first such range. pefile's
    /// `get_overlay_data_start_offset` differs for a section whose unrounded range runs past
    /// the end of the file: it skips that section, where the loader maps what there is.
    #[inline]
    pub fn end_of_sections(&self) -> u64 {
        let headers = u64::from(self.size_of_headers());
        self.sections()
            .iter()
            .filter(|s| s.size_of_raw_data.get(LE) != 0)
            .map(|s| {
                let (start, len) = self.section_file_range(s);
                start.saturating_add(len).min(self.file_len)
            })
            .fold(headers, u64::max)
    }
}

/// The longest `/N` section name read from the COFF string table.
pub(crate) const MAX_LONG_NAME: usize = 1024;

/// The string table index `N` of a `/N` section name (the name cut at its first NUL): `None` for
/// a name stored in the header itself.
pub(crate) fn long_name_index(name: &[u8; 8]) -> Option<u32> {
    let name = name.split(|&b| b == 0).next()?;
    core::str::from_utf8(name.strip_prefix(b"/")?)
        .ok()?
        .parse()
        .ok()
}

/// A long section name from the string table bytes at its index: up to the first NUL within
/// [`MAX_LONG_NAME`] bytes, or as many of those bytes as there are. In memory and on disk alike,
/// so both paths name a section the same.
pub(crate) fn long_name_bytes(bytes: &[u8]) -> &[u8] {
    let window = bytes.get(..MAX_LONG_NAME).unwrap_or(bytes);
    window.split(|&b| b == 0).next().unwrap_or(window)
}
