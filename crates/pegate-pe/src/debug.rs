//! The debug directory, read only as far as pegate judges it: the extended DLL characteristics
//! entry (`IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS`, type 20), whose `CETCOMPAT` bit (0x1) marks an
//! image compatible with CET shadow stacks (MSVC's `/CETCOMPAT`, BinSkim BA2025).
//!
//! The DEBUG data directory (index 6) holds the RVA and size of an array of 28-byte
//! `IMAGE_DEBUG_DIRECTORY` entries; each entry points at its data by file offset
//! (`PointerToRawData`) and by RVA (`AddressOfRawData`). The type-20 entry's data starts with a
//! `u32` of `IMAGE_DLLCHARACTERISTICS_EX_*` flags (winnt.h). Go's linker writes no debug
//! directory, so a Go binary has no such entry.
//!
//! At most [`MAX_ENTRIES`] entries are read, whatever the directory's size says, from a stack
//! buffer: an untrusted size never sizes an allocation.
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! // No debug directory: no extended DLL characteristics.
//! assert_eq!(pegate_pe::debug::ex_dll_characteristics(&view).unwrap(), None);
//! ```

use std::fs::File;

use object::pe::{IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS, ImageDebugDirectory};

use crate::PeView;
use crate::file::Window;

/// Index of the DEBUG data directory.
const DIRECTORY_DEBUG: usize = object::pe::IMAGE_DIRECTORY_ENTRY_DEBUG;

/// `IMAGE_DLLCHARACTERISTICS_EX_CET_COMPAT` (winnt.h; commented out in `object`'s table).
pub const EX_CET_COMPAT: u32 = 0x01;

/// The most debug directory entries read (linkers write a handful).
pub const MAX_ENTRIES: usize = 64;

const ENTRY_SIZE: usize = size_of::<ImageDebugDirectory>();

/// Why the debug directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DebugError {
    /// The directory's RVA lies in no section's file data.
    #[error("debug directory: rva {rva:#x} is in no section's file data")]
    Unmapped {
        /// The DEBUG data directory's RVA.
        rva: u32,
    },
    /// The bytes needed lie beyond the view (a header prefix); read them from the file.
    #[error("debug directory: bytes {offset:#x}..{end:#x} are not in the bytes read")]
    NotInView {
        /// File offset of the bytes.
        offset: u64,
        /// End of the bytes.
        end: u64,
    },
    /// The file ends inside the directory or the entry's data.
    #[error("debug directory: bytes {offset:#x}..{end:#x} run past the end of the file")]
    Truncated {
        /// File offset of the bytes.
        offset: u64,
        /// End of the bytes.
        end: u64,
    },
    /// The extended DLL characteristics entry holds fewer than 4 bytes.
    #[error("debug directory: entry {index} (ex dll characteristics) holds {size} bytes, not 4")]
    EntryTooSmall {
        /// Index of the entry.
        index: usize,
        /// Its `SizeOfData`.
        size: u32,
    },
    /// Reading the file failed.
    #[error("debug directory: {source}")]
    Io {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// The flags of the extended DLL characteristics debug entry, from bytes in the view; `Ok(None)`
/// when there is no debug directory or no such entry.
pub fn ex_dll_characteristics(view: &PeView<'_>) -> Result<Option<u32>, DebugError> {
    find(view, |offset, buf| {
        let end = offset.saturating_add(buf.len() as u64);
        let bytes = view
            .bytes_at(offset, buf.len())
            .ok_or(if view.is_whole_file() {
                DebugError::Truncated { offset, end }
            } else {
                DebugError::NotInView { offset, end }
            })?;
        buf.copy_from_slice(bytes);
        Ok(())
    })
}

/// [`ex_dll_characteristics`] reading the directory and the entry from the open file (for a view
/// over the header prefix only).
pub fn read_ex_dll_characteristics(
    file: &File,
    view: &PeView<'_>,
) -> Result<Option<u32>, DebugError> {
    read_near(file, view, Window::EMPTY)
}

/// [`read_ex_dll_characteristics`], the bytes that lie wholly in `near` (read already, with the
/// load config) taken from it rather than read again.
pub(crate) fn read_near(
    file: &File,
    view: &PeView<'_>,
    near: Window<'_>,
) -> Result<Option<u32>, DebugError> {
    find(view, |offset, buf| {
        if let Some(bytes) = near.get(offset, buf.len()) {
            buf.copy_from_slice(bytes);
            return Ok(());
        }
        let n =
            crate::read_full_at(file, buf, offset).map_err(|source| DebugError::Io { source })?;
        if n < buf.len() {
            return Err(DebugError::Truncated {
                offset,
                end: offset.saturating_add(buf.len() as u64),
            });
        }
        Ok(())
    })
}

/// For the summary: the flags when the bytes are in view; errors other than "not in view" are
/// recorded, since the summary of a header prefix leaves the entry to the caller.
pub(crate) fn for_summary(view: &PeView<'_>, errors: &mut Vec<crate::Problem>) -> Option<u32> {
    match ex_dll_characteristics(view) {
        Ok(flags) => flags,
        Err(DebugError::NotInView { .. }) => None,
        Err(e) => {
            errors.push(e.into());
            None
        }
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(s) = bytes.get(at..at.saturating_add(4)) {
        b.copy_from_slice(s);
    }
    u32::from_le_bytes(b)
}

/// The file range of the directory's entries (at most [`MAX_ENTRIES`]): (offset, length); `None`
/// when there is nothing to read (no directory, less than one entry, or no file data for it).
pub(crate) fn entries_range(view: &PeView<'_>) -> Option<(u64, usize)> {
    let dir = view
        .data_directory(DIRECTORY_DEBUG)
        .filter(|d| d.virtual_address != 0 && d.size != 0)?;
    let offset = view.rva_to_file_offset(dir.virtual_address)?;
    let count = (dir.size as usize / ENTRY_SIZE).min(MAX_ENTRIES);
    (count != 0).then(|| (u64::from(offset), count.saturating_mul(ENTRY_SIZE)))
}

/// Walks the entries with `read(offset, buf)` filling `buf` exactly from the file.
fn find(
    view: &PeView<'_>,
    mut read: impl FnMut(u64, &mut [u8]) -> Result<(), DebugError>,
) -> Result<Option<u32>, DebugError> {
    let Some(dir) = view.data_directory(DIRECTORY_DEBUG) else {
        return Ok(None);
    };
    if dir.virtual_address == 0 || dir.size == 0 {
        return Ok(None);
    }
    let offset = view
        .rva_to_file_offset(dir.virtual_address)
        .ok_or(DebugError::Unmapped {
            rva: dir.virtual_address,
        })?;
    let count = (dir.size as usize / ENTRY_SIZE).min(MAX_ENTRIES);
    if count == 0 {
        // Smaller than one entry: nothing to read, wherever it points.
        return Ok(None);
    }
    let mut buf = [0u8; MAX_ENTRIES * ENTRY_SIZE];
    let table = buf
        .get_mut(..count.saturating_mul(ENTRY_SIZE))
        .unwrap_or_default();
    read(u64::from(offset), table)?;
    for (index, entry) in table.chunks_exact(ENTRY_SIZE).enumerate() {
        // Field offsets of IMAGE_DEBUG_DIRECTORY: Type at 12, SizeOfData 16,
        // AddressOfRawData 20, PointerToRawData 24.
        if u32_at(entry, 12) != IMAGE_DEBUG_TYPE_EX_DLLCHARACTERISTICS.0 {
            continue;
        }
        let size = u32_at(entry, 16);
        if size < 4 {
            return Err(DebugError::EntryTooSmall { index, size });
        }
        let rva = u32_at(entry, 20);
        let pointer = match u32_at(entry, 24) {
            0 => view
                .rva_to_file_offset(rva)
                .ok_or(DebugError::Unmapped { rva })?,
            p => p,
        };
        let mut flags = [0u8; 4];
        read(u64::from(pointer), &mut flags)?;
        return Ok(Some(u32::from_le_bytes(flags)));
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]

    use super::*;

    fn tiny() -> Vec<u8> {
        std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/pe/ok/tiny-amd64-console.exe"
        ))
        .unwrap()
    }

    fn put(bytes: &mut [u8], at: usize, value: u32) {
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
    }

    /// `tiny-amd64-console.exe` with a debug directory in `.rdata` (file 0x500, rva 0x2100)
    /// holding `entries` entries, the last of type 20 with `size` bytes at file `pointer`.
    fn with_entry(entries: u32, size: u32, pointer: u32, flags: u32) -> Vec<u8> {
        let mut b = tiny();
        put(&mut b, 0x178, 0x200); // .rdata VirtualSize covers its raw data
        put(&mut b, 0xf8, 0x2100);
        put(&mut b, 0xfc, entries * 28);
        let last = 0x500 + (entries as usize - 1) * 28;
        put(&mut b, last + 12, 20);
        put(&mut b, last + 16, size);
        put(&mut b, last + 24, pointer);
        put(&mut b, 0x5f0, flags);
        b
    }

    #[test]
    fn the_entry_is_found_read_and_its_damage_reported() {
        type Check = fn(&Result<Option<u32>, DebugError>) -> bool;
        let cases: [(&str, Vec<u8>, Check); 7] = [
            ("cetcompat", with_entry(1, 4, 0x5f0, 1), |r| {
                matches!(r, Ok(Some(1)))
            }),
            ("strict too", with_entry(3, 4, 0x5f0, 3), |r| {
                matches!(r, Ok(Some(3)))
            }),
            ("entry without the bit", with_entry(1, 4, 0x5f0, 0), |r| {
                matches!(r, Ok(Some(0)))
            }),
            ("entry too small", with_entry(1, 2, 0x5f0, 1), |r| {
                matches!(r, Err(DebugError::EntryTooSmall { index: 0, size: 2 }))
            }),
            ("data past the end", with_entry(1, 4, 0xffff_fff0, 1), |r| {
                matches!(r, Err(DebugError::Truncated { .. }))
            }),
            (
                "directory unmapped",
                {
                    let mut b = with_entry(1, 4, 0x5f0, 1);
                    put(&mut b, 0xf8, 0x9000);
                    b
                },
                |r| matches!(r, Err(DebugError::Unmapped { rva: 0x9000 })),
            ),
            // A huge size reads MAX_ENTRIES entries at most (here: past the file's end).
            (
                "huge size",
                {
                    let mut b = with_entry(1, 4, 0x5f0, 1);
                    put(&mut b, 0xfc, u32::MAX);
                    b
                },
                |r| matches!(r, Err(DebugError::Truncated { .. })),
            ),
        ];
        for (name, bytes, check) in cases {
            let view = PeView::parse(&bytes).unwrap();
            let in_view = ex_dll_characteristics(&view);
            assert!(check(&in_view), "{name}: {in_view:?}");
            let file = tempfile_with(&bytes);
            let on_disk = read_ex_dll_characteristics(&file, &view);
            assert!(check(&on_disk), "{name}: {on_disk:?}");
            // The summary records the flags, or the damage in `errors`.
            let summary = crate::summarize(&view);
            assert_eq!(
                summary.ex_dll_characteristics,
                in_view.as_ref().ok().copied().flatten(),
                "{name}"
            );
            assert_eq!(
                summary.errors.iter().any(crate::Problem::is_debug),
                in_view.is_err(),
                "{name}: {:?}",
                summary.errors
            );
        }
    }

    /// The bytes as an open file (unlinked at once: the handle keeps it readable on Unix).
    fn tempfile_with(bytes: &[u8]) -> File {
        let path = std::env::temp_dir().join(format!(
            "pegate-debug-test-{}-{:x}",
            std::process::id(),
            crate::pe_checksum(bytes, 0)
        ));
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        file
    }

    /// Go's output has no debug directory; the MSVC-built DLLs have one.
    #[test]
    fn fixtures_without_and_with_a_debug_directory() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/");
        for (name, has_dir) in [
            ("tiny-amd64-console.exe", false),
            ("tiny-amd64-loadconfig-go127.exe", false),
            ("markupsafe-3.0.2-speedups-win_amd64.pyd", true),
        ] {
            let data = std::fs::read(format!("{dir}{name}")).unwrap();
            let view = PeView::parse(&data).unwrap();
            let debug = view
                .data_directory(DIRECTORY_DEBUG)
                .is_some_and(|d| d.size != 0);
            assert_eq!(debug, has_dir, "{name}");
            // Every outcome is data, never a panic; the in-view and on-disk readers agree.
            let in_view = ex_dll_characteristics(&view).unwrap();
            let file = File::open(format!("{dir}{name}")).unwrap();
            let on_disk = read_ex_dll_characteristics(&file, &view).unwrap();
            assert_eq!(in_view, on_disk, "{name}");
        }
    }
}
