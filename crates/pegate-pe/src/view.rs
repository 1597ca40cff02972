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

/// `N` bytes at `offset`, those past the end of `data` read as zero (the loader's zero-filled
/// header page).
#[inline]
fn zero_filled<const N: usize>(data: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    let rest = data.get(offset..).unwrap_or_default();
    let n = rest.len().min(N);
    if let (Some(dst), Some(src)) = (out.get_mut(..n), rest.get(..n)) {
        dst.copy_from_slice(src);
    }
    out
}

#[inline]
fn u16_at(data: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(zero_filled(data, offset))
}

#[inline]
fn u32_at(data: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(zero_filled(data, offset))
}

#[inline]
fn u64_at(data: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(zero_filled(data, offset))
}

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
    /// to build, which is half the cost of one that carries the error through each step (the
    /// branches to the many ways of building an `Error` crowd the code). `diagnose` runs only
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

    /// The slow path of [`PeView::parse_prefix`], step by step, for the error that says which
    /// structure is wrong and where; and the one that reads a file ending inside its headers,
    /// with the bytes past its end as zero.
    #[cold]
    #[inline(never)]
    fn diagnose(data: &'data [u8], file_len: u64) -> Result<PeView<'data>, Error> {
        // Past the end of a whole file the loader sees zeros; past the end of a prefix the
        // bytes are unknown and must be read.
        let whole = data.len() as u64 >= file_len;
        let need = |what: &'static str, offset: usize, size: usize| {
            let end = offset.saturating_add(size);
            if whole || end <= data.len() {
                Ok(())
            } else {
                Err(Error::BeyondRead {
                    what,
                    offset: offset as u64,
                    end: end as u64,
                    read: data.len() as u64,
                })
            }
        };
        if data.get(..2) != Some(&IMAGE_DOS_SIGNATURE.to_le_bytes()[..]) {
            return Err(Error::NoDosSignature);
        }
        need("DOS header", 0, size_of::<ImageDosHeader>())?;
        let nt_offset = u32_at(data, offset_of!(ImageDosHeader, e_lfanew)) as usize;
        if nt_offset as u64 >= file_len {
            // e_lfanew past the end of the whole file: not a PE at all.
            return Err(Error::NoPeSignature {
                offset: nt_offset as u64,
            });
        }
        need("PE signature", nt_offset, 4)?;
        if u32_at(data, nt_offset) != IMAGE_NT_SIGNATURE {
            return Err(Error::NoPeSignature {
                offset: nt_offset as u64,
            });
        }
        let file_header_offset = nt_offset.saturating_add(4);
        need(
            "COFF file header",
            file_header_offset,
            size_of::<ImageFileHeader>(),
        )?;
        let optional_offset = nt_offset.saturating_add(OPTIONAL_AFTER_NT);
        need("optional header", optional_offset, 2)?;
        let pe32_plus = match u16_at(data, optional_offset) {
            IMAGE_NT_OPTIONAL_HDR32_MAGIC => false,
            IMAGE_NT_OPTIONAL_HDR64_MAGIC => true,
            magic => {
                return Err(Error::BadOptionalMagic {
                    magic,
                    offset: optional_offset as u64,
                });
            }
        };
        // Both magic bytes are non-zero, so they, and the COFF header before them, are in the
        // file: a file that ends earlier has stopped at the magic.
        let file_header: &ImageFileHeader = data
            .get(file_header_offset..)
            .and_then(|rest| pod::from_bytes(rest).ok())
            .map(|(h, _)| h)
            .ok_or(Error::Truncated {
                what: "COFF file header",
                offset: file_header_offset as u64,
                end: optional_offset as u64,
                len: data.len() as u64,
            })?;
        let fixed = fixed_size(pe32_plus);
        need("optional header", optional_offset, fixed)?;
        // `None` when the whole file ends inside the fixed part.
        let optional = data.get(optional_offset..).and_then(|rest| {
            if pe32_plus {
                pod::from_bytes(rest).ok().map(|(h, _)| Optional::Pe64(h))
            } else {
                pod::from_bytes(rest).ok().map(|(h, _)| Optional::Pe32(h))
            }
        });
        let declared = u32_at(
            data,
            optional_offset.saturating_add(rva_count_offset(pe32_plus)),
        ) as usize;
        let directory_count = declared.min(IMAGE_NUMBEROF_DIRECTORY_ENTRIES);
        need(
            "data directories",
            optional_offset.saturating_add(fixed),
            directory_count.saturating_mul(size_of::<ImageDataDirectory>()),
        )?;
        let sections_offset = optional_offset
            .saturating_add(usize::from(file_header.size_of_optional_header.get(LE)));
        let declared_sections = usize::from(file_header.number_of_sections.get(LE));
        need(
            "section table",
            sections_offset,
            declared_sections.saturating_mul(size_of::<ImageSectionHeader>()),
        )?;
        let directories_in_data = data
            .len()
            .saturating_sub(optional_offset.saturating_add(fixed))
            .checked_div(size_of::<ImageDataDirectory>())
            .unwrap_or(0)
            .min(directory_count);
        let in_data = data
            .len()
            .saturating_sub(sections_offset)
            .checked_div(size_of::<ImageSectionHeader>())
            .unwrap_or(0);
        Ok(PeView {
            data,
            file_len: file_len.max(data.len() as u64),
            nt_offset,
            file_header,
            optional,
            pe32_plus,
            directory_count,
            directories_in_data,
            sections_offset,
            section_count: declared_sections.min(in_data),
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

/// The optional header's fields read at their fixed offsets from the bytes, those past the
/// end of the file as zero (scalars in, so the view itself stays in registers on the hot
/// path): the cold path of the field accessors for a file that ends
/// inside its optional header.
#[cold]
#[inline(never)]
pub(crate) fn short_optional(d: &[u8], o: usize, pe32_plus: bool) -> ShortOptional {
    let at = |field: usize| o.saturating_add(field);
    macro_rules! off {
        ($f:ident) => {
            offset_of!(ImageOptionalHeader32, $f)
        };
    }
    // Every field the summary reads sits at the same offset in PE32 and PE32+ except
    // ImageBase, which PE32+ widens over PE32's BaseOfData.
    ShortOptional {
        linker: (
            u16::from(zero_filled::<1>(d, at(off!(major_linker_version)))[0]),
            u16::from(zero_filled::<1>(d, at(off!(minor_linker_version)))[0]),
        ),
        os: (
            u16_at(d, at(off!(major_operating_system_version))),
            u16_at(d, at(off!(minor_operating_system_version))),
        ),
        image: (
            u16_at(d, at(off!(major_image_version))),
            u16_at(d, at(off!(minor_image_version))),
        ),
        subsystem_version: (
            u16_at(d, at(off!(major_subsystem_version))),
            u16_at(d, at(off!(minor_subsystem_version))),
        ),
        image_base: if pe32_plus {
            u64_at(d, at(offset_of!(ImageOptionalHeader64, image_base)))
        } else {
            u64::from(u32_at(d, at(off!(image_base))))
        },
        entry_point: u32_at(d, at(off!(address_of_entry_point))),
        section_alignment: u32_at(d, at(off!(section_alignment))),
        file_alignment: u32_at(d, at(off!(file_alignment))),
        size_of_image: u32_at(d, at(off!(size_of_image))),
        size_of_headers: u32_at(d, at(off!(size_of_headers))),
        checksum: u32_at(d, at(off!(check_sum))),
        subsystem: u16_at(d, at(off!(subsystem))),
        dll_characteristics: u16_at(d, at(off!(dll_characteristics))),
    }
}

/// A data directory entry at `at` in a file that ends inside it: the missing bytes as zero.
#[cold]
#[inline(never)]
fn zero_filled_directory(data: &[u8], at: usize) -> DataDirectory {
    DataDirectory {
        virtual_address: u32_at(data, at),
        size: u32_at(data, at.saturating_add(4)),
    }
}

/// The optional header fields of a file that ends inside its optional header, read with the
/// missing bytes as zero.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ShortOptional {
    pub(crate) linker: (u16, u16),
    pub(crate) os: (u16, u16),
    pub(crate) image: (u16, u16),
    pub(crate) subsystem_version: (u16, u16),
    pub(crate) image_base: u64,
    pub(crate) entry_point: u32,
    pub(crate) section_alignment: u32,
    pub(crate) file_alignment: u32,
    pub(crate) size_of_image: u32,
    pub(crate) size_of_headers: u32,
    pub(crate) checksum: u32,
    pub(crate) subsystem: u16,
    pub(crate) dll_characteristics: u16,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// Whether two views are over the same bytes with the same structures at the same places.
    fn same(a: &PeView<'_>, b: &PeView<'_>) -> bool {
        let optional = |v: &PeView<'_>| match v.optional {
            Some(Optional::Pe32(h)) => (h as *const ImageOptionalHeader32).cast::<u8>(),
            Some(Optional::Pe64(h)) => (h as *const ImageOptionalHeader64).cast::<u8>(),
            None => core::ptr::null(),
        };
        core::ptr::eq(a.data, b.data)
            && a.file_len == b.file_len
            && a.nt_offset == b.nt_offset
            && core::ptr::eq(a.file_header, b.file_header)
            && a.pe32_plus == b.pe32_plus
            && optional(a) == optional(b)
            && a.directory_count == b.directory_count
            && a.directories_in_data == b.directories_in_data
            && a.sections_offset == b.sections_offset
            && a.section_count == b.section_count
    }

    /// The fast path and the diagnosing path agree on `data` read as a prefix of `file_len`:
    /// wherever the fast path accepts, the diagnosis builds the same view; where it does not,
    /// the diagnosis accepts only a file that ends inside its headers (read as zeros there).
    fn agree(data: &[u8], file_len: u64) {
        match (
            PeView::check(data, file_len),
            PeView::diagnose(data, file_len),
        ) {
            (Some(fast), Ok(slow)) => assert!(same(&fast, &slow), "views differ"),
            (None, Err(_)) => {}
            (None, Ok(slow)) => assert!(
                slow.is_whole_file() && slow.headers_end() > data.len() as u64,
                "the diagnosis accepts what the fast path rejects, with the headers in the bytes ({} bytes of {file_len})",
                data.len()
            ),
            (Some(_), Err(e)) => panic!(
                "fast path accepts but the diagnosis says {e} ({} bytes of {file_len})",
                data.len()
            ),
        }
    }

    fn fixtures() -> Vec<Vec<u8>> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
        ["pe/ok", "pe/err", "pe/loader", "authenticode"]
            .iter()
            .flat_map(|dir| std::fs::read_dir(format!("{root}/{dir}")).unwrap())
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
            .map(|p| std::fs::read(p).unwrap())
            .collect()
    }

    #[test]
    fn fast_and_diagnosing_paths_agree_on_every_prefix_of_every_fixture() {
        let files = fixtures();
        assert!(files.len() > 10, "only {} fixtures found", files.len());
        let mut accepted = 0;
        for data in &files {
            let headers = data.len().min(8192);
            for cut in 0..=headers {
                // A prefix read from a longer file, and a file that really ends there.
                agree(&data[..cut], data.len() as u64);
                agree(&data[..cut], cut as u64);
            }
            accepted += usize::from(PeView::check(data, data.len() as u64).is_some());
        }
        assert!(accepted > 10, "only {accepted} fixtures parse");
    }

    #[test]
    fn fast_and_diagnosing_paths_agree_on_damaged_headers() {
        // Every fixture that parses, with header fields the checks read set to values around
        // their limits, one at a time and in random pairs (xorshift, deterministic).
        let mut next = crate::xorshift(0x9e37_79b9);
        let values = [
            0u32,
            1,
            2,
            0x3f,
            0x40,
            0x5a4d,
            0x4550,
            0x10b,
            0x20b,
            0xe0,
            0xf0,
            0x60,
            0x70,
            0xffff,
            0x7fff_ffff,
            u32::MAX,
        ];
        let mut checked = 0;
        for data in fixtures() {
            let Some(view) = PeView::check(&data, data.len() as u64) else {
                continue;
            };
            let nt = view.nt_offset;
            // e_lfanew; Machine, NumberOfSections, SizeOfOptionalHeader; Magic;
            // NumberOfRvaAndSizes (PE32 and PE32+ places).
            let fields = [
                (0x3c, 4),
                (nt, 4),
                (nt + 6, 2),
                (nt + 20, 2),
                (nt + 24, 2),
                (nt + 24 + 92, 4),
                (nt + 24 + 108, 4),
            ];
            let set = |d: &mut Vec<u8>, (at, width): (usize, usize), v: u32| {
                if let Some(field) = d.get_mut(at..at + width) {
                    field.copy_from_slice(&v.to_le_bytes()[..width]);
                }
            };
            for &field in &fields {
                for &v in &values {
                    let mut d = data.clone();
                    set(&mut d, field, v);
                    agree(&d, d.len() as u64);
                    agree(&d[..d.len().min(4096)], d.len() as u64);
                    checked += 1;
                }
            }
            for _ in 0..2000 {
                let mut d = data.clone();
                for _ in 0..2 {
                    let field = fields[next() as usize % fields.len()];
                    let v = if next().is_multiple_of(2) {
                        values[next() as usize % values.len()]
                    } else {
                        next() % 0x2000
                    };
                    set(&mut d, field, v);
                }
                let cut = (next() as usize % 8192).min(d.len());
                agree(&d, d.len() as u64);
                agree(&d[..cut], d.len() as u64);
                checked += 1;
            }
        }
        assert!(checked > 20_000, "only {checked} damaged files checked");
    }
}
