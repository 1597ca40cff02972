//! Header fields of a file that ends inside its headers: read at their fixed offsets, the bytes
//! past the end of the file as zero (the loader maps the headers into a zero-filled page).

use core::mem::offset_of;

use object::pe::{ImageOptionalHeader32, ImageOptionalHeader64};

use super::DataDirectory;

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
pub(super) fn u16_at(data: &[u8], offset: usize) -> u16 {
    u16::from_le_bytes(zero_filled(data, offset))
}

#[inline]
pub(super) fn u32_at(data: &[u8], offset: usize) -> u32 {
    u32::from_le_bytes(zero_filled(data, offset))
}

#[inline]
fn u64_at(data: &[u8], offset: usize) -> u64 {
    u64::from_le_bytes(zero_filled(data, offset))
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
pub(super) fn zero_filled_directory(data: &[u8], at: usize) -> DataDirectory {
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
