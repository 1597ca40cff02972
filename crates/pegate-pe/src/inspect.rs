//! Inspecting files on disk: read the header prefix, then only the ranges asked for.
//!
//! ```no_run
//! use pegate_pe::{InspectOptions, inspect_path};
//!
//! let summary = inspect_path("dist/hello.exe".as_ref(), &InspectOptions::default()).unwrap();
//! println!("{} {}", summary.headers.machine, summary.headers.subsystem);
//! ```

use std::fs::File;
use std::path::Path;
#[cfg(feature = "batch")]
use std::path::PathBuf;

#[cfg(feature = "batch")]
use rayon::prelude::*;

use crate::file::{WINDOW_LEN, Window, read_full_at, read_range, with_headers, with_window};
use crate::summary::{
    Extra, MAX_LOAD_CONFIG, load_config_range, string_table_range, summarize_with,
};
use crate::{Checksum, Error, PeHeaders, PeSummary, PeView};

/// What to read beyond the headers.
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct InspectOptions {
    /// Read the whole file to compute the checksum (otherwise `computed_checksum` is `None`).
    pub checksum: bool,
    /// Leave `/N` section names (Go's DWARF sections) unresolved, as `/4` and so on, rather
    /// than read the COFF string table at the end of the file for them: for output that shows
    /// no section names.
    pub raw_long_names: bool,
    /// Read the import and delay-import tables into [`PeSummary::imports`]: the whole file is
    /// read for them when the header prefix does not hold it.
    pub imports: bool,
}

impl InspectOptions {
    /// Also compute the checksum over the whole file.
    pub fn with_checksum(mut self, yes: bool) -> Self {
        self.checksum = yes;
        self
    }

    /// Leave long section names unresolved (no read of the string table), or not.
    pub fn with_raw_long_names(mut self, yes: bool) -> Self {
        self.raw_long_names = yes;
        self
    }

    /// Also read the import tables, or not.
    pub fn with_imports(mut self, yes: bool) -> Self {
        self.imports = yes;
        self
    }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
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
    with_headers(path, |_, view| view.headers())
}

/// [`inspect_headers`] over many files in parallel (rayon); results in input order.
#[cfg(feature = "batch")]
pub fn inspect_headers_paths(paths: &[PathBuf]) -> Vec<Result<PeHeaders, Error>> {
    paths.par_iter().map(|p| inspect_headers(p)).collect()
}

/// Inspects a file: reads its first 4 KiB (more only if the headers are longer), the load config
/// when there is one, and the whole file only when `opts.checksum` asks.
pub fn inspect_path(path: &Path, opts: &InspectOptions) -> Result<PeSummary, Error> {
    with_headers(path, |file, view| summary_of(file, view, path, opts))?
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
    with_headers(path, |file, view| {
        summary_of(file, view, path, opts).map(|summary| f(file, view, summary))
    })?
}

fn summary_of(
    file: &File,
    view: &PeView<'_>,
    path: &Path,
    opts: &InspectOptions,
) -> Result<PeSummary, Error> {
    let file_len = view.file_len();
    // The load config lies beyond the header prefix in most images, and the debug directory
    // usually a few hundred bytes from it: one read for both when they are that close.
    let load_config = load_config_range(view)
        .filter(|&(offset, len)| view.bytes_at(offset, len).is_none() && offset < file_len);
    let (offset, len) = match load_config {
        Some(range) => near_range(view, range),
        None => (0, 0),
    };
    with_window(file, offset, len, |window| {
        let window = window.map_err(io(path))?;
        // At most MAX_LOAD_CONFIG bytes, as many as the file has from its offset.
        let load_config = load_config.map(|(offset, len)| {
            let bytes = window.from(offset).unwrap_or_default();
            bytes.get(..len.min(MAX_LOAD_CONFIG)).unwrap_or(bytes)
        });
        summary_after_load_config(file, view, path, opts, load_config, window)
    })
}

/// The load config's file range, widened to cover the debug directory's entries when those
/// lie outside the view and the two fit in one [`WINDOW_LEN`] read together.
fn near_range(view: &PeView<'_>, load_config: (u64, usize)) -> (u64, usize) {
    let (offset, len) = load_config;
    let end = offset.saturating_add(len as u64);
    let Some((debug, debug_len)) = crate::debug::entries_range(view)
        .filter(|&(o, l)| view.bytes_at(o, l).is_none() && o < view.file_len())
    else {
        return load_config;
    };
    let start = offset.min(debug);
    let stop = end.max(debug.saturating_add(debug_len as u64));
    match usize::try_from(stop.saturating_sub(start)) {
        Ok(span) if span <= WINDOW_LEN => (start, span),
        _ => load_config,
    }
}

/// The rest of [`summary_of`] once the load config is read (`window` holds it, and what was
/// read with it).
fn summary_after_load_config(
    file: &File,
    view: &PeView<'_>,
    path: &Path,
    opts: &InspectOptions,
    load_config: Option<&[u8]>,
    window: Window<'_>,
) -> Result<PeSummary, Error> {
    let string_table = match string_table_range(view).filter(|_| !opts.raw_long_names) {
        Some((offset, len)) if view.bytes_at(offset, len).is_none() => {
            Some((offset, read_range(file, offset, len).map_err(io(path))?))
        }
        _ => None,
    };
    let computed_checksum = if opts.checksum {
        let mut sum = Checksum::new(view.checksum_field_offset());
        let mut chunk = vec![0u8; 1 << 20];
        let mut offset = 0u64;
        loop {
            let n = read_full_at(file, &mut chunk, offset).map_err(io(path))?;
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
    let mut summary = summarize_with(
        view,
        Extra {
            load_config,
            computed_checksum,
            string_table: string_table.as_ref().map(|(o, b)| (*o, b.as_slice())),
            raw_long_names: opts.raw_long_names,
        },
    );
    // The debug directory usually lies beyond the header prefix the summary saw: read its
    // extended DLL characteristics entry from the file, as `summarize` reads it in memory. Only
    // then: what the prefix held gave the same answer or problem the whole file would.
    if matches!(
        crate::debug::ex_dll_characteristics(view),
        Err(crate::debug::DebugError::NotInView { .. })
    ) {
        match crate::debug::read_near(file, view, window) {
            Ok(flags) => summary.ex_dll_characteristics = flags,
            Err(e) => summary.errors.push(e.into()),
        }
    }
    if opts.imports {
        read_imports(file, view, path, &mut summary)?;
    }
    Ok(summary)
}

/// The import tables lie anywhere in the file: from the view when it holds the whole file,
/// else from the whole file read once (its length is the file's, not a field's).
fn read_imports(
    file: &File,
    view: &PeView<'_>,
    path: &Path,
    summary: &mut PeSummary,
) -> Result<(), Error> {
    if view.is_whole_file() {
        summary.read_imports(view);
        return Ok(());
    }
    let len = usize::try_from(view.file_len()).unwrap_or(usize::MAX);
    let whole = read_range(file, 0, len).map_err(io(path))?;
    match PeView::parse(&whole) {
        Ok(full) => summary.read_imports(&full),
        // The file changed under us: its headers no longer parse.
        Err(e) => summary
            .errors
            .push(crate::Problem::Text(format!("imports: {e}"))),
    }
    Ok(())
}

/// Inspects many files in parallel (rayon); results in input order.
#[cfg(feature = "batch")]
pub fn inspect_paths(paths: &[PathBuf], opts: &InspectOptions) -> Vec<Result<PeSummary, Error>> {
    paths.par_iter().map(|p| inspect_path(p, opts)).collect()
}
