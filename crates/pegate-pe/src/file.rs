//! Reading a PE file on disk: its headers once, then positioned reads of the ranges asked for.
//! Shared by every crate that reads more of a file than the headers (the summary's load config,
//! Go build info, the Authenticode pass), so each opens the file and parses its headers once.
//!
//! ```no_run
//! let entry = pegate_pe::with_headers("dist/hello.exe".as_ref(), |file, view| {
//!     let mut first = [0u8; 16];
//!     let offset = view.rva_to_file_offset(view.entry_point()).unwrap_or(0);
//!     pegate_pe::read_full_at(file, &mut first, u64::from(offset)).map(|n| first[..n].to_vec())
//! });
//! # let _ = entry;
//! ```

use std::fs::File;
use std::path::Path;

use crate::{Error, PeView};

/// The first read: enough for the headers of almost every PE file.
const PREFIX: usize = 4096;
/// The most header bytes read (4 MiB): room for the largest section table there can be
/// (65,535 headers of 40 bytes, 2.5 MiB) and the largest optional header behind an `e_lfanew`
/// of up to 1.4 MiB. Headers reaching further are reported as [`Error::HeadersTooLong`].
const MAX_HEADERS: u64 = 4 << 20;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads up to `buf.len()` bytes at `offset`, fewer only at end of file (short reads and
/// interruptions are retried); returns how many.
pub fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut filled = 0usize;
    while let Some(slot) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match read_at(file, slot, offset.saturating_add(filled as u64)) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One positioned read: `pread` on Unix; on Windows `ReadFile` with an offset, which also moves
/// the file cursor (nothing here reads through the cursor).
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Reads up to `len` bytes at `offset` into a new buffer (shorter only at end of file).
pub fn read_range(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let n = read_full_at(file, &mut buf, offset)?;
    buf.truncate(n);
    Ok(buf)
}

/// The file's length: a seek to its end (lighter than `statx`), `metadata` where seeking fails.
fn file_length(file: &mut File) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    match file.seek(SeekFrom::End(0)) {
        Ok(len) => Ok(len),
        Err(_) => Ok(file.metadata()?.len()),
    }
}

/// Opens `path`, reads its headers (4 KiB, more only when they are longer) and hands the open
/// file and the header view to `f`. An unreadable file is [`Error::Io`]; bytes that are not a PE
/// are the view's error.
pub fn with_headers<R>(path: &Path, f: impl FnOnce(&File, &PeView<'_>) -> R) -> Result<R, Error> {
    let mut file = File::open(path).map_err(io(path))?;
    let file_len = file_length(&mut file).map_err(io(path))?;
    // The common case reads into the stack; headers longer than 4 KiB go to the heap.
    // No more than the file holds: a short file is read in one call, not one more to see its end.
    let mut prefix = [0u8; PREFIX];
    let want = usize::try_from(file_len).map_or(PREFIX, |len| len.min(PREFIX));
    let n = read_full_at(&file, prefix.get_mut(..want).unwrap_or_default(), 0).map_err(io(path))?;
    let mut long_headers: Vec<u8>;
    let mut headers = prefix.get(..n).unwrap_or(&[]);
    let view = loop {
        match PeView::parse_prefix(headers, file_len) {
            // The headers go on past the bytes read: read what they need, bounded by the real
            // file (past its end the view reads zeros) and by the cap.
            Err(Error::BeyondRead {
                what, offset, end, ..
            }) => {
                let need = end.min(file_len);
                if need > MAX_HEADERS {
                    return Err(Error::HeadersTooLong {
                        what,
                        offset,
                        end,
                        cap: MAX_HEADERS,
                        len: file_len,
                    });
                }
                // A page more than asked for, so the next structure is usually in it too.
                let read = headers.len() as u64;
                let want = need
                    .max(read.saturating_add(PREFIX as u64))
                    .min(file_len)
                    .min(MAX_HEADERS.max(need));
                if need <= read {
                    // Cannot happen (the view asked for more); stop rather than loop.
                    return Err(Error::BeyondRead {
                        what,
                        offset,
                        end,
                        read,
                    });
                }
                long_headers = read_range(&file, 0, want as usize).map_err(io(path))?;
                if (long_headers.len() as u64) < need {
                    // The file shrank under us: parse what there is as the whole file.
                    let len = long_headers.len() as u64;
                    return PeView::parse_prefix(&long_headers, len).map(|view| f(&file, &view));
                }
                headers = &long_headers;
            }
            Err(e) => return Err(e),
            Ok(view) => break view,
        }
    };
    Ok(f(&file, &view))
}
