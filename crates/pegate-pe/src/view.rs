//! `PeView`: a lazy, zero-copy, bounds-checked view over the headers of a PE file.
//!
//! Only the DOS header, the NT headers, the data directories and the section table are validated
//! when the view is built (the two tables as one range check; they are sliced when asked for);
//! everything else is read when asked for. The bytes may be a prefix of
//! the file (the headers), in which case [`PeView::parse_prefix`] is told the real file length.
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! assert_eq!(view.machine(), object::pe::IMAGE_FILE_MACHINE_AMD64.0);
//! assert!(view.is_pe32_plus());
//! ```

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

impl Optional<'_> {
    /// The size of the fixed part, which the data directories follow.
    #[inline]
    fn fixed_size(self) -> usize {
        match self {
            Optional::Pe32(_) => core::mem::size_of::<ImageOptionalHeader32>(),
            Optional::Pe64(_) => core::mem::size_of::<ImageOptionalHeader64>(),
        }
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
/// directory and section tables are checked as one range there and sliced only when asked for.
#[derive(Debug, Clone, Copy)]
pub struct PeView<'data> {
    data: &'data [u8],
    file_len: u64,
    nt_offset: usize,
    file_header: &'data ImageFileHeader,
    optional: Optional<'data>,
    directory_count: usize,
    sections_offset: usize,
}

/// The COFF file header's size, after the 4-byte `PE\0\0`: the optional header is at
/// `e_lfanew + OPTIONAL_AFTER_NT`.
const OPTIONAL_AFTER_NT: usize = 4 + core::mem::size_of::<ImageFileHeader>();

#[inline]
fn read<'data, T: pod::Pod>(
    data: &'data [u8],
    offset: usize,
    what: &'static str,
) -> Result<&'data T, Error> {
    data.get(offset..)
        .and_then(|rest| pod::from_bytes::<T>(rest).ok())
        .map(|(t, _)| t)
        .ok_or_else(|| truncated::<T>(what, offset, data.len()))
}

#[cold]
fn truncated<T>(what: &'static str, offset: usize, len: usize) -> Error {
    Error::truncated(what, offset, core::mem::size_of::<T>(), len)
}

/// `count` records of `T` at `offset`, or none if they are not all there.
#[inline]
fn table<T: pod::Pod>(data: &[u8], offset: usize, count: usize) -> Option<&[T]> {
    data.get(offset..)
        .and_then(|rest| pod::slice_from_bytes::<T>(rest, count).ok())
        .map(|(t, _)| t)
}

/// Which of the two tables the bytes end in: the data directories, or the section table.
#[cold]
fn tables_truncated(
    len: usize,
    directories_offset: usize,
    directory_count: usize,
    sections_offset: usize,
    sections_len: usize,
) -> Error {
    let directories_len =
        directory_count.saturating_mul(core::mem::size_of::<ImageDataDirectory>());
    if directories_offset.saturating_add(directories_len) > len {
        Error::truncated("data directories", directories_offset, directories_len, len)
    } else {
        Error::truncated("section table", sections_offset, sections_len, len)
    }
}

impl<'data> PeView<'data> {
    /// Builds a view over a whole file's bytes.
    #[inline]
    pub fn parse(data: &'data [u8]) -> Result<PeView<'data>, Error> {
        PeView::parse_prefix(data, data.len() as u64)
    }

    /// Builds a view over the first bytes of a file of `file_len` bytes (at least the headers).
    #[inline]
    pub fn parse_prefix(data: &'data [u8], file_len: u64) -> Result<PeView<'data>, Error> {
        match PeView::check(data, file_len) {
            Some(view) => Ok(view),
            None => PeView::diagnose(data, file_len),
        }
    }

    /// The fast path of [`PeView::parse_prefix`]: the same checks with no error to build, which
    /// is half the cost of one that carries the error through each step (the branches to the
    /// many ways of building an `Error` crowd the code). `diagnose` runs only when this says
    /// no; the two are tested to accept the same bytes and build the same view.
    #[inline]
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
        let declared = with_optional!(optional, h => h.number_of_rva_and_sizes.get(LE));
        let room = size_of_optional.checked_sub(optional.fixed_size())? >> 3; // 8-byte entries
        let directory_count = (declared as usize)
            .min(IMAGE_NUMBEROF_DIRECTORY_ENTRIES)
            .min(room);
        let sections_offset = nt_offset
            .saturating_add(OPTIONAL_AFTER_NT)
            .saturating_add(size_of_optional);
        let sections_len = usize::from(file_header.number_of_sections.get(LE))
            .saturating_mul(core::mem::size_of::<ImageSectionHeader>());
        if sections_offset.saturating_add(sections_len) > data.len() {
            return None;
        }
        Some(PeView {
            data,
            file_len: file_len.max(data.len() as u64),
            nt_offset,
            file_header,
            optional,
            directory_count,
            sections_offset,
        })
    }

    /// The slow path of [`PeView::parse_prefix`], step by step, for the error that says which
    /// structure is wrong and where.
    #[cold]
    #[inline(never)]
    fn diagnose(data: &'data [u8], file_len: u64) -> Result<PeView<'data>, Error> {
        if data.get(..2) != Some(&IMAGE_DOS_SIGNATURE.to_le_bytes()[..]) {
            return Err(Error::NoDosSignature);
        }
        let dos: &ImageDosHeader = read(data, 0, "DOS header")?;
        let nt_offset = dos.e_lfanew.get(LE) as usize;
        let signature: &object::U32<LE> =
            read(data, nt_offset, "PE signature").map_err(|e| match e {
                // e_lfanew past the end of the whole file: not a PE at all.
                Error::Truncated { .. } if nt_offset as u64 >= file_len => Error::NoPeSignature {
                    offset: nt_offset as u64,
                },
                e => e,
            })?;
        if signature.get(LE) != IMAGE_NT_SIGNATURE {
            return Err(Error::NoPeSignature {
                offset: nt_offset as u64,
            });
        }
        let file_header: &ImageFileHeader =
            read(data, nt_offset.saturating_add(4), "COFF file header")?;
        let optional_offset = nt_offset.saturating_add(OPTIONAL_AFTER_NT);
        let magic: &object::U16<LE> = read(data, optional_offset, "optional header")?;
        let size_of_optional = file_header.size_of_optional_header.get(LE);
        let optional = match magic.get(LE) {
            IMAGE_NT_OPTIONAL_HDR32_MAGIC => {
                Optional::Pe32(read(data, optional_offset, "optional header")?)
            }
            IMAGE_NT_OPTIONAL_HDR64_MAGIC => {
                Optional::Pe64(read(data, optional_offset, "optional header")?)
            }
            magic => {
                return Err(Error::BadOptionalMagic {
                    magic,
                    offset: optional_offset as u64,
                });
            }
        };
        let fixed = optional.fixed_size();
        if usize::from(size_of_optional) < fixed {
            return Err(Error::OptionalHeaderTooSmall {
                size: size_of_optional,
                offset: optional_offset as u64,
                need: fixed as u16,
            });
        }
        let declared = with_optional!(optional, h => h.number_of_rva_and_sizes.get(LE)) as usize;
        // The loader reads at most 16 entries, and only those inside SizeOfOptionalHeader.
        let room = usize::from(size_of_optional).saturating_sub(fixed) >> 3; // 8-byte entries
        let directory_count = declared.min(IMAGE_NUMBEROF_DIRECTORY_ENTRIES).min(room);
        // The directories lie inside SizeOfOptionalHeader and the section table right after it,
        // so one range check covers both tables.
        let sections_offset = optional_offset.saturating_add(usize::from(size_of_optional));
        let sections_len = usize::from(file_header.number_of_sections.get(LE))
            .saturating_mul(core::mem::size_of::<ImageSectionHeader>());
        if sections_offset.saturating_add(sections_len) > data.len() {
            return Err(tables_truncated(
                data.len(),
                optional_offset.saturating_add(fixed),
                directory_count,
                sections_offset,
                sections_len,
            ));
        }
        Ok(PeView {
            data,
            file_len: file_len.max(data.len() as u64),
            nt_offset,
            file_header,
            optional,
            directory_count,
            sections_offset,
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
    fn optional_offset(&self) -> usize {
        self.nt_offset.saturating_add(OPTIONAL_AFTER_NT)
    }

    /// File offset of the data directories: right after the optional header's fixed part.
    #[inline]
    fn directories_offset(&self) -> usize {
        self.optional_offset()
            .saturating_add(self.optional.fixed_size())
    }

    #[inline]
    pub(crate) fn optional(&self) -> Optional<'data> {
        self.optional
    }

    /// Whether the optional header is PE32+ (64-bit).
    #[inline]
    pub fn is_pe32_plus(&self) -> bool {
        matches!(self.optional, Optional::Pe64(_))
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
        with_optional!(self.optional, h => h.subsystem.get(LE).0)
    }

    /// Optional header `DllCharacteristics`.
    #[inline]
    pub fn dll_characteristics(&self) -> u16 {
        with_optional!(self.optional, h => h.dll_characteristics.get(LE).0)
    }

    /// `ImageBase`.
    #[inline]
    pub fn image_base(&self) -> u64 {
        with_optional!(self.optional, _h, _pe32_plus, image_base => image_base)
    }

    /// `SizeOfHeaders`.
    #[inline]
    pub fn size_of_headers(&self) -> u32 {
        with_optional!(self.optional, h => h.size_of_headers.get(LE))
    }

    /// `SizeOfImage`.
    #[inline]
    pub fn size_of_image(&self) -> u32 {
        with_optional!(self.optional, h => h.size_of_image.get(LE))
    }

    /// `AddressOfEntryPoint` (an RVA).
    #[inline]
    pub fn entry_point(&self) -> u32 {
        with_optional!(self.optional, h => h.address_of_entry_point.get(LE))
    }

    /// `SectionAlignment` and `FileAlignment`.
    #[inline]
    pub fn alignments(&self) -> (u32, u32) {
        with_optional!(self.optional, h => (h.section_alignment.get(LE), h.file_alignment.get(LE)))
    }

    /// Linker, operating system, image and subsystem versions as (major, minor) pairs.
    #[inline]
    pub fn versions(&self) -> [(u16, u16); 4] {
        with_optional!(self.optional, h => [
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
        ])
    }

    /// The stored `CheckSum`.
    #[inline]
    pub fn stored_checksum(&self) -> u32 {
        with_optional!(self.optional, h => h.check_sum.get(LE))
    }

    /// File offset of `OptionalHeader.CheckSum` (4 bytes); the same for PE32 and PE32+.
    #[inline]
    pub fn checksum_field_offset(&self) -> usize {
        self.optional_offset().saturating_add(64)
    }

    /// The section headers.
    #[inline]
    pub fn sections(&self) -> &'data [ImageSectionHeader] {
        let count = usize::from(self.file_header.number_of_sections.get(LE));
        // In bounds: `parse_prefix` checked the whole table.
        table(self.data, self.sections_offset, count).unwrap_or_default()
    }

    /// File offset of the section table.
    #[inline]
    pub fn sections_offset(&self) -> usize {
        self.sections_offset
    }

    /// The data directories present (at most 16).
    #[inline]
    pub fn data_directories(&self) -> &'data [ImageDataDirectory] {
        // In bounds: `parse_prefix` checked the directories with the section table after them.
        table(self.data, self.directories_offset(), self.directory_count).unwrap_or_default()
    }

    /// Data directory `index`, if the header has that many.
    #[inline]
    pub fn data_directory(&self, index: usize) -> Option<DataDirectory> {
        self.data_directories().get(index).map(|d| DataDirectory {
            virtual_address: d.virtual_address.get(LE),
            size: d.size.get(LE),
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
            self.directories_offset().saturating_add(
                DIRECTORY_SECURITY.saturating_mul(core::mem::size_of::<ImageDataDirectory>()),
            )
        })
    }

    /// Translates an RVA to a file offset through the section table (or the headers).
    #[inline]
    pub fn rva_to_file_offset(&self, rva: u32) -> Option<u32> {
        if rva < self.size_of_headers() {
            return Some(rva);
        }
        for s in self.sections() {
            let va = s.virtual_address.get(LE);
            let raw_size = s.size_of_raw_data.get(LE);
            let size = s.virtual_size.get(LE).max(raw_size);
            let delta = rva.checked_sub(va)?;
            if delta < size {
                // Bytes past SizeOfRawData are zero-filled in memory, not in the file.
                return (delta < raw_size)
                    .then(|| s.pointer_to_raw_data.get(LE).checked_add(delta))?;
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
    /// bytes are in view. Trailing NULs are removed.
    #[inline]
    pub fn section_name(&self, section: &'data ImageSectionHeader) -> Result<&'data [u8], Error> {
        let raw: &'data [u8] = &section.name;
        let name = match raw.iter().position(|&b| b == 0) {
            Some(end) => raw.get(..end).unwrap_or(raw),
            None => raw,
        };
        let Some(digits) = name.strip_prefix(b"/") else {
            return Ok(name);
        };
        let Some(index) = core::str::from_utf8(digits)
            .ok()
            .and_then(|d| d.parse::<u32>().ok())
        else {
            return Ok(name);
        };
        let table = self.string_table_offset();
        let start = usize::try_from(table.saturating_add(u64::from(index))).unwrap_or(usize::MAX);
        let bytes = self.data.get(start..).ok_or(Error::Truncated {
            what: "COFF string table",
            offset: start as u64,
            end: (start as u64).saturating_add(1),
            len: self.data.len() as u64,
        })?;
        let end = bytes
            .iter()
            .take(1024)
            .position(|&b| b == 0)
            .unwrap_or(bytes.len().min(1024));
        Ok(bytes.get(..end).unwrap_or(&[]))
    }

    /// Bytes `[offset, offset + len)` of the file if they are in view.
    #[inline]
    pub fn bytes_at(&self, offset: u64, len: usize) -> Option<&'data [u8]> {
        let start = usize::try_from(offset).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// The end of the last section's raw data: where the overlay starts.
    #[inline]
    pub fn end_of_sections(&self) -> u64 {
        let headers = u64::from(self.size_of_headers());
        self.sections()
            .iter()
            .filter(|s| s.size_of_raw_data.get(LE) != 0)
            .map(|s| {
                u64::from(s.pointer_to_raw_data.get(LE))
                    .saturating_add(u64::from(s.size_of_raw_data.get(LE)))
            })
            .fold(headers, u64::max)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// Whether two views are over the same bytes with the same structures at the same places.
    fn same(a: &PeView<'_>, b: &PeView<'_>) -> bool {
        let optional = |v: &PeView<'_>| match v.optional {
            Optional::Pe32(h) => (h as *const ImageOptionalHeader32).cast::<u8>(),
            Optional::Pe64(h) => (h as *const ImageOptionalHeader64).cast::<u8>(),
        };
        core::ptr::eq(a.data, b.data)
            && a.file_len == b.file_len
            && a.nt_offset == b.nt_offset
            && core::ptr::eq(a.file_header, b.file_header)
            && a.is_pe32_plus() == b.is_pe32_plus()
            && optional(a) == optional(b)
            && a.directory_count == b.directory_count
            && a.sections_offset == b.sections_offset
    }

    /// The fast path and the diagnosing path agree on `data` read as a prefix of `file_len`.
    fn agree(data: &[u8], file_len: u64) {
        match (
            PeView::check(data, file_len),
            PeView::diagnose(data, file_len),
        ) {
            (Some(fast), Ok(slow)) => assert!(same(&fast, &slow), "views differ"),
            (None, Err(_)) => {}
            (fast, slow) => panic!(
                "fast path {} but the diagnosis says {:?} ({} bytes of {file_len})",
                if fast.is_some() { "accepts" } else { "rejects" },
                slow.map(|_| "ok"),
                data.len()
            ),
        }
    }

    fn fixtures() -> Vec<Vec<u8>> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
        ["pe/ok", "pe/err", "authenticode"]
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
