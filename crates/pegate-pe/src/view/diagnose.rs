//! The slow path of [`PeView::parse_prefix`]: the headers checked one structure at a time, for
//! the error that says which one is wrong and where, and for a file that ends inside its
//! headers (read with the bytes past its end as zero).

use core::mem::{offset_of, size_of};

use object::LittleEndian as LE;
use object::pe::{
    IMAGE_DOS_SIGNATURE, IMAGE_NT_OPTIONAL_HDR32_MAGIC, IMAGE_NT_OPTIONAL_HDR64_MAGIC,
    IMAGE_NT_SIGNATURE, IMAGE_NUMBEROF_DIRECTORY_ENTRIES, ImageDataDirectory, ImageDosHeader,
    ImageFileHeader, ImageSectionHeader,
};
use object::pod;

use super::short::{u16_at, u32_at};
use super::{OPTIONAL_AFTER_NT, Optional, PeView, fixed_size, rva_count_offset};
use crate::Error;

/// The bytes being diagnosed: the whole file, or a prefix of a file of `file_len` bytes.
#[derive(Clone, Copy)]
struct Prefix<'data> {
    data: &'data [u8],
    file_len: u64,
    /// Whether `data` is the whole file: past its end the loader sees zeros, where past the
    /// end of a prefix the bytes are unknown and must be read.
    whole: bool,
}

/// Where the optional header is and what of it the view reads.
struct OptionalPart<'data> {
    /// `None` when the whole file ends inside the fixed part.
    header: Option<Optional<'data>>,
    /// `min(NumberOfRvaAndSizes, 16)`.
    directory_count: usize,
}

impl<'data> Prefix<'data> {
    /// `Ok` when `[offset, offset + size)` is in the bytes, or the bytes are the whole file;
    /// else [`Error::BeyondRead`], which says how far to read.
    fn need(&self, what: &'static str, offset: usize, size: usize) -> Result<(), Error> {
        let end = offset.saturating_add(size);
        if self.whole || end <= self.data.len() {
            Ok(())
        } else {
            Err(Error::BeyondRead {
                what,
                offset: offset as u64,
                end: end as u64,
                read: self.data.len() as u64,
            })
        }
    }

    /// The DOS header and the `PE\0\0` signature it points at: the NT headers' offset.
    fn nt_offset(&self) -> Result<usize, Error> {
        if self.data.get(..2) != Some(&IMAGE_DOS_SIGNATURE.to_le_bytes()[..]) {
            return Err(Error::NoDosSignature);
        }
        self.need("DOS header", 0, size_of::<ImageDosHeader>())?;
        let nt_offset = u32_at(self.data, offset_of!(ImageDosHeader, e_lfanew)) as usize;
        let not_pe = Error::NoPeSignature {
            offset: nt_offset as u64,
        };
        // e_lfanew past the end of the whole file: not a PE at all.
        if nt_offset as u64 >= self.file_len {
            return Err(not_pe);
        }
        self.need("PE signature", nt_offset, 4)?;
        if u32_at(self.data, nt_offset) != IMAGE_NT_SIGNATURE {
            return Err(not_pe);
        }
        Ok(nt_offset)
    }

    /// The optional header's magic: whether it is PE32+.
    fn pe32_plus(&self, optional_offset: usize) -> Result<bool, Error> {
        self.need("optional header", optional_offset, 2)?;
        match u16_at(self.data, optional_offset) {
            IMAGE_NT_OPTIONAL_HDR32_MAGIC => Ok(false),
            IMAGE_NT_OPTIONAL_HDR64_MAGIC => Ok(true),
            magic => Err(Error::BadOptionalMagic {
                magic,
                offset: optional_offset as u64,
            }),
        }
    }

    /// The COFF file header. Both magic bytes after it are non-zero, so they, and the header
    /// before them, are in the file: a file that ends earlier has stopped at the magic.
    fn file_header(
        &self,
        offset: usize,
        optional_offset: usize,
    ) -> Result<&'data ImageFileHeader, Error> {
        self.data
            .get(offset..)
            .and_then(|rest| pod::from_bytes(rest).ok())
            .map(|(h, _)| h)
            .ok_or(Error::Truncated {
                what: "COFF file header",
                offset: offset as u64,
                end: optional_offset as u64,
                len: self.data.len() as u64,
            })
    }

    /// The optional header's fixed part and the data directories it announces.
    fn optional(&self, offset: usize, pe32_plus: bool) -> Result<OptionalPart<'data>, Error> {
        let fixed = fixed_size(pe32_plus);
        self.need("optional header", offset, fixed)?;
        let header = self.data.get(offset..).and_then(|rest| {
            if pe32_plus {
                pod::from_bytes(rest).ok().map(|(h, _)| Optional::Pe64(h))
            } else {
                pod::from_bytes(rest).ok().map(|(h, _)| Optional::Pe32(h))
            }
        });
        let declared = u32_at(
            self.data,
            offset.saturating_add(rva_count_offset(pe32_plus)),
        );
        let directory_count = (declared as usize).min(IMAGE_NUMBEROF_DIRECTORY_ENTRIES);
        self.need(
            "data directories",
            offset.saturating_add(fixed),
            directory_count.saturating_mul(size_of::<ImageDataDirectory>()),
        )?;
        Ok(OptionalPart {
            header,
            directory_count,
        })
    }

    /// How many whole records of `T` the bytes hold from `offset` on.
    fn records_from<T>(&self, offset: usize) -> usize {
        self.data
            .len()
            .saturating_sub(offset)
            .checked_div(size_of::<T>())
            .unwrap_or(0)
    }
}

impl<'data> PeView<'data> {
    /// The slow path of [`PeView::parse_prefix`], step by step, for the error that says which
    /// structure is wrong and where; and the one that reads a file ending inside its headers,
    /// with the bytes past its end as zero.
    #[cold]
    #[inline(never)]
    pub(super) fn diagnose(data: &'data [u8], file_len: u64) -> Result<PeView<'data>, Error> {
        let prefix = Prefix {
            data,
            file_len,
            whole: data.len() as u64 >= file_len,
        };
        let nt_offset = prefix.nt_offset()?;
        let file_header_offset = nt_offset.saturating_add(4);
        prefix.need(
            "COFF file header",
            file_header_offset,
            size_of::<ImageFileHeader>(),
        )?;
        let optional_offset = nt_offset.saturating_add(OPTIONAL_AFTER_NT);
        let pe32_plus = prefix.pe32_plus(optional_offset)?;
        let file_header = prefix.file_header(file_header_offset, optional_offset)?;
        let optional = prefix.optional(optional_offset, pe32_plus)?;
        let sections_offset = optional_offset
            .saturating_add(usize::from(file_header.size_of_optional_header.get(LE)));
        let declared_sections = usize::from(file_header.number_of_sections.get(LE));
        prefix.need(
            "section table",
            sections_offset,
            declared_sections.saturating_mul(size_of::<ImageSectionHeader>()),
        )?;
        let directories_offset = optional_offset.saturating_add(fixed_size(pe32_plus));
        Ok(PeView {
            data,
            file_len: file_len.max(data.len() as u64),
            nt_offset,
            file_header,
            optional: optional.header,
            pe32_plus,
            directory_count: optional.directory_count,
            directories_in_data: prefix
                .records_from::<ImageDataDirectory>(directories_offset)
                .min(optional.directory_count),
            sections_offset,
            section_count: declared_sections
                .min(prefix.records_from::<ImageSectionHeader>(sections_offset)),
        })
    }
}
