//! Inspecting files on disk: read the header prefix, then only the ranges asked for.
//!
//! ```no_run
//! use pegate_pe::{InspectOptions, inspect_path};
//!
//! let summary = inspect_path("dist/hello.exe".as_ref(), &InspectOptions::default()).unwrap();
//! println!("{} {}", summary.machine, summary.subsystem);
//! ```

use std::fs::File;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::summary::{Extra, load_config_range, string_table_range, summarize_with};
use crate::{Checksum, Error, PeHeaders, PeSummary, PeView};

/// What to read beyond the headers.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct InspectOptions {
    /// Read the whole file to compute the checksum (otherwise `checksum.computed` is `None`).
    pub checksum: bool,
}

impl InspectOptions {
    /// Also compute the checksum over the whole file.
    pub fn with_checksum(mut self, yes: bool) -> Self {
        self.checksum = yes;
        self
    }
}

/// The first read: enough for the headers of almost every PE file.
const PREFIX: usize = 4096;
/// Headers larger than this are not headers (the loader maps at most a few pages).
const MAX_HEADERS: usize = 1 << 20;

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads up to `buf.len()` bytes at `offset` (fewer only at end of file); returns how many.
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut filled = 0usize;
    while let Some(slot) = buf.get_mut(filled..).filter(|s| !s.is_empty()) {
        match file.read_at(slot, offset.saturating_add(filled as u64)) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The file's length: a seek to its end (lighter than `statx`), `metadata` where seeking fails.
fn file_length(file: &mut File) -> std::io::Result<u64> {
    use std::io::{Seek, SeekFrom};
    match file.seek(SeekFrom::End(0)) {
        Ok(len) => Ok(len),
        Err(_) => Ok(file.metadata()?.len()),
    }
}

/// Reads up to `len` bytes at `offset` into a new buffer (shorter only at end of file).
fn read_range(file: &File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let n = read_at(file, &mut buf, offset)?;
    buf.truncate(n);
    Ok(buf)
}

/// Opens `path`, reads its headers (4 KiB, more only when they are longer) and hands the view
/// and the open file to `f`.
fn with_view<R>(
    path: &Path,
    f: impl FnOnce(&File, &PeView<'_>) -> Result<R, Error>,
) -> Result<R, Error> {
    let mut file = File::open(path).map_err(io(path))?;
    let file_len = file_length(&mut file).map_err(io(path))?;
    // The common case reads into the stack; headers longer than 4 KiB go to the heap.
    let mut prefix = [0u8; PREFIX];
    let n = read_at(&file, &mut prefix, 0).map_err(io(path))?;
    let mut long_headers: Vec<u8>;
    let mut headers = prefix.get(..n).unwrap_or(&[]);
    let view = loop {
        match PeView::parse_prefix(headers, file_len) {
            Err(Error::Truncated { end, .. })
                if (headers.len() as u64) < file_len
                    && (end as usize) <= MAX_HEADERS
                    && (end as usize) > headers.len() =>
            {
                let want = (end as usize).max(headers.len().saturating_add(PREFIX));
                long_headers = read_range(&file, 0, want).map_err(io(path))?;
                headers = &long_headers;
            }
            Err(e) => return Err(e),
            Ok(view) => break view,
        }
    };
    f(&file, &view)
}

/// Reads a file's headers only (the first 4 KiB, more only when they are longer): the
/// allocation-free [`PeHeaders`] for gates and batch jobs that need no section table or load
/// config. Two reads of the file at most, usually one.
///
/// ```no_run
/// let h = pegate_pe::inspect_headers("dist/hello.exe".as_ref()).unwrap();
/// println!("{} {}", h.machine_name(), h.subsystem_name());
/// ```
pub fn inspect_headers(path: &Path) -> Result<PeHeaders, Error> {
    with_view(path, |_, view| Ok(view.headers()))
}

/// [`inspect_headers`] over many files in parallel (rayon); results in input order.
pub fn inspect_headers_paths(paths: &[PathBuf]) -> Vec<Result<PeHeaders, Error>> {
    paths.par_iter().map(|p| inspect_headers(p)).collect()
}

/// Inspects a file: reads its first 4 KiB (more only if the headers are longer), the load config
/// when there is one, and the whole file only when `opts.checksum` asks.
pub fn inspect_path(path: &Path, opts: &InspectOptions) -> Result<PeSummary, Error> {
    with_view(path, |file, view| summary_of(file, view, path, opts))
}

/// [`inspect_path`], then `f` with the open file, the header view and the summary, so a caller
/// that reads more of the file (Go build info, say) opens it and parses its headers once.
///
/// ```no_run
/// let (summary, first_section) = pegate_pe::inspect_path_with(
///     "dist/hello.exe".as_ref(),
///     &pegate_pe::InspectOptions::default(),
///     |_file, view, summary| (summary, view.sections().first().map(|s| s.name)),
/// )
/// .unwrap();
/// # let _ = (summary, first_section);
/// ```
pub fn inspect_path_with<R>(
    path: &Path,
    opts: &InspectOptions,
    f: impl FnOnce(&File, &PeView<'_>, PeSummary) -> R,
) -> Result<R, Error> {
    with_view(path, |file, view| {
        let summary = summary_of(file, view, path, opts)?;
        Ok(f(file, view, summary))
    })
}

fn summary_of(
    file: &File,
    view: &PeView<'_>,
    path: &Path,
    opts: &InspectOptions,
) -> Result<PeSummary, Error> {
    let file_len = view.file_len();
    // The load config is at most 1 KiB as read (see `load_config_range`): a stack buffer.
    let mut load_config_buf = [0u8; 1024];
    let load_config = match load_config_range(view) {
        Some((offset, len)) if view.bytes_at(offset, len).is_none() && offset < file_len => {
            let slot = load_config_buf.get_mut(..len).unwrap_or_default();
            let n = read_at(file, slot, offset).map_err(io(path))?;
            slot.get(..n)
        }
        _ => None,
    };
    let string_table = match string_table_range(view) {
        Some((offset, len)) if view.bytes_at(offset, 1).is_none() => {
            Some((offset, read_range(file, offset, len).map_err(io(path))?))
        }
        _ => None,
    };
    let computed_checksum = if opts.checksum {
        let mut sum = Checksum::new(view.checksum_field_offset());
        let mut chunk = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let n = read_at(file, &mut chunk, offset).map_err(io(path))?;
            if n == 0 {
                break;
            }
            sum.update(chunk.get(..n).unwrap_or(&[]));
            offset = offset.saturating_add(n as u64);
        }
        Some(sum.finish())
    } else {
        None
    };
    Ok(summarize_with(
        view,
        Extra {
            load_config,
            computed_checksum,
            string_table: string_table.as_ref().map(|(o, b)| (*o, b.as_slice())),
        },
    ))
}

/// Inspects many files in parallel (rayon); results in input order.
pub fn inspect_paths(paths: &[PathBuf], opts: &InspectOptions) -> Vec<Result<PeSummary, Error>> {
    paths.par_iter().map(|p| inspect_path(p, opts)).collect()
}
