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

use std::cell::RefCell;
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

/// From this length on, [`read_range`] reads into the new buffer's uninitialised capacity
/// (a seek, then reads through the cursor) rather than zero-filling it for a positioned read:
/// zeroing 64 KiB costs more than the one more system call.
const UNFILLED_FROM: usize = 64 << 10;

/// Reads up to `len` bytes at `offset` into a new buffer (shorter only at end of file).
pub fn read_range(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    if len >= UNFILLED_FROM {
        use std::io::{Read, Seek, SeekFrom};
        let mut buf = Vec::with_capacity(len);
        let mut cursor = file;
        cursor.seek(SeekFrom::Start(offset))?;
        cursor.take(len as u64).read_to_end(&mut buf)?;
        return Ok(buf);
    }
    let mut buf = vec![0u8; len];
    let n = read_full_at(file, &mut buf, offset)?;
    buf.truncate(n);
    Ok(buf)
}

thread_local! {
    /// The header prefix buffer of [`with_headers`], reused by every file this thread reads.
    static HEAD: RefCell<[u8; PREFIX]> = const { RefCell::new([0; PREFIX]) };
    /// The buffer of [`with_window`], reused likewise.
    static WINDOW: RefCell<[u8; WINDOW_LEN]> = const { RefCell::new([0; WINDOW_LEN]) };
}

/// The most bytes [`with_window`] reads at once.
pub(crate) const WINDOW_LEN: usize = 4096;

/// Bytes of a file read at `offset` in one call, from which later reads falling inside them
/// are served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window<'a> {
    /// File offset of `bytes`.
    pub(crate) offset: u64,
    /// The bytes read (fewer than asked for only at the end of the file).
    pub(crate) bytes: &'a [u8],
}

impl<'a> Window<'a> {
    /// No bytes: every read goes to the file.
    pub(crate) const EMPTY: Window<'static> = Window {
        offset: 0,
        bytes: &[],
    };

    /// The bytes from `offset` to the window's end, if `offset` is inside it (or at its end).
    pub(crate) fn from(&self, offset: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset.checked_sub(self.offset)?).ok()?;
        self.bytes.get(start..)
    }

    /// `[offset, offset + len)` if it lies wholly in the window.
    pub(crate) fn get(&self, offset: u64, len: usize) -> Option<&'a [u8]> {
        self.from(offset)?.get(..len)
    }
}

/// Reads up to `len` (at most [`WINDOW_LEN`]) bytes at `offset` into this thread's reused
/// window buffer and hands them to `f`: no buffer zeroed or allocated per file. A nested call
/// (the buffer already lent out) reads into a fresh buffer instead.
pub(crate) fn with_window<R>(
    file: &File,
    offset: u64,
    len: usize,
    f: impl FnOnce(std::io::Result<Window<'_>>) -> R,
) -> R {
    let read = |buf: &mut [u8; WINDOW_LEN]| {
        let slot = buf.get_mut(..len.min(WINDOW_LEN)).unwrap_or_default();
        read_full_at(file, slot, offset).map(|n| n.min(slot.len()))
    };
    WINDOW.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            let n = read(&mut buf);
            f(n.map(|n| Window {
                offset,
                bytes: buf.get(..n).unwrap_or_default(),
            }))
        }
        Err(_) => {
            let mut buf = [0u8; WINDOW_LEN];
            let n = read(&mut buf);
            f(n.map(|n| Window {
                offset,
                bytes: buf.get(..n).unwrap_or_default(),
            }))
        }
    })
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
    // The common case reads into this thread's reused buffer; headers longer than 4 KiB go to
    // the heap. A nested call (the buffer already lent out) reads into a fresh one.
    HEAD.with(|cell| match cell.try_borrow_mut() {
        Ok(mut prefix) => headers_then(&file, path, file_len, &mut prefix, f),
        Err(_) => headers_then(&file, path, file_len, &mut [0u8; PREFIX], f),
    })
}

/// [`with_headers`] once the file is open: the headers read into `prefix` (and past it when
/// they are longer), parsed, and handed to `f`.
fn headers_then<R>(
    file: &File,
    path: &Path,
    file_len: u64,
    prefix: &mut [u8; PREFIX],
    f: impl FnOnce(&File, &PeView<'_>) -> R,
) -> Result<R, Error> {
    // No more than the file holds: a short file is read in one call, not one more to see its end.
    let want = usize::try_from(file_len).map_or(PREFIX, |len| len.min(PREFIX));
    let n = read_full_at(file, prefix.get_mut(..want).unwrap_or_default(), 0).map_err(io(path))?;
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
                long_headers = read_range(file, 0, want as usize).map_err(io(path))?;
                if (long_headers.len() as u64) < need {
                    // The file shrank under us: parse what there is as the whole file.
                    let len = long_headers.len() as u64;
                    return PeView::parse_prefix(&long_headers, len).map(|view| f(file, &view));
                }
                headers = &long_headers;
            }
            Err(e) => return Err(e),
            Ok(view) => break view,
        }
    };
    Ok(f(file, &view))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    /// A window serves exactly the ranges wholly inside it, and `from` what is left of it.
    #[test]
    fn window_serves_only_ranges_inside_it() {
        let bytes: Vec<u8> = (0..=99).collect();
        let w = Window {
            offset: 1000,
            bytes: &bytes,
        };
        assert_eq!(w.get(1000, 100), Some(&bytes[..]));
        assert_eq!(w.get(1090, 10), Some(&bytes[90..]));
        assert_eq!(w.get(1090, 11), None, "runs past the end");
        assert_eq!(w.get(999, 1), None, "starts before");
        assert_eq!(w.from(1100), Some(&[][..]));
        assert_eq!(w.from(1101), None);
        assert_eq!(Window::EMPTY.get(0, 1), None);
    }

    /// The reused buffers give the same bytes as a fresh read, nested calls included, and
    /// `read_range` reads the same on both sides of its zero-fill threshold.
    #[test]
    fn reused_buffers_and_long_ranges_read_the_file() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fixtures/pe/ok/tiny-amd64-console.exe"
        );
        let data = std::fs::read(path).unwrap();
        let file = File::open(path).unwrap();
        with_window(&file, 2, 64, |outer| {
            let outer = outer.unwrap();
            assert_eq!(outer.bytes, &data[2..66]);
            with_window(&file, 0, 8, |inner| {
                assert_eq!(inner.unwrap().bytes, &data[..8]);
            });
        });
        let nested = with_headers(Path::new(path), |_, outer| {
            with_headers(Path::new(path), |_, inner| inner.data() == outer.data()).unwrap()
        });
        assert!(nested.unwrap());
        let big = UNFILLED_FROM + 10;
        assert_eq!(read_range(&file, 1, big).unwrap(), &data[1..]);
        assert_eq!(read_range(&file, 1, 100).unwrap(), &data[1..101]);
    }
}
