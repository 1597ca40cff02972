//! Inspecting files on disk: read the header prefix, then only the ranges asked for.
//!
//! ```no_run
//! use pegate_pe::{InspectOptions, inspect_path};
//!
//! let summary = inspect_path("dist/hello.exe".as_ref(), &InspectOptions::default()).unwrap();
//! println!("{} {}", summary.machine, summary.subsystem);
//! ```

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::summary::{Extra, load_config_range, string_table_range, summarize_with};
use crate::{Checksum, Error, PeSummary, PeView};

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

/// Reads up to `want` bytes from the current position (fewer only at end of file).
fn read_upto(file: &mut File, buf: &mut Vec<u8>, want: usize) -> std::io::Result<()> {
    let start = buf.len();
    buf.resize(start.saturating_add(want), 0);
    let mut filled = start;
    while filled < buf.len() {
        let Some(slot) = buf.get_mut(filled..) else {
            break;
        };
        match file.read(slot) {
            Ok(0) => break,
            Ok(n) => filled = filled.saturating_add(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(filled);
    Ok(())
}

fn read_range(file: &mut File, offset: u64, len: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    read_upto(file, &mut buf, len)?;
    Ok(buf)
}

/// Inspects a file: reads its first 4 KiB (more only if the headers are longer), the load config
/// when there is one, and the whole file only when `opts.checksum` asks.
pub fn inspect_path(path: &Path, opts: &InspectOptions) -> Result<PeSummary, Error> {
    let mut file = File::open(path).map_err(io(path))?;
    let file_len = file.metadata().map_err(io(path))?.len();
    let mut buf = Vec::with_capacity(PREFIX);
    read_upto(&mut file, &mut buf, PREFIX.min(file_len as usize)).map_err(io(path))?;
    // Grow the prefix while the view needs more header bytes than were read.
    loop {
        match PeView::parse_prefix(&buf, file_len) {
            Err(Error::Truncated { end, .. })
                if (buf.len() as u64) < file_len && (end as usize) <= MAX_HEADERS =>
            {
                let want = (end as usize).saturating_sub(buf.len());
                read_upto(&mut file, &mut buf, want.max(PREFIX)).map_err(io(path))?;
            }
            Err(e) => return Err(e),
            Ok(_) => break,
        }
    }
    let view = PeView::parse_prefix(&buf, file_len)?;
    let load_config = match load_config_range(&view) {
        Some((offset, len)) if view.bytes_at(offset, len).is_none() && offset < file_len => {
            Some(read_range(&mut file, offset, len).map_err(io(path))?)
        }
        _ => None,
    };
    let string_table = match string_table_range(&view) {
        Some((offset, len)) if view.bytes_at(offset, 1).is_none() => Some((
            offset,
            read_range(&mut file, offset, len).map_err(io(path))?,
        )),
        _ => None,
    };
    let computed_checksum = if opts.checksum {
        let mut sum = Checksum::new(view.checksum_field_offset());
        let mut chunk = vec![0u8; 1 << 20];
        use std::io::Seek;
        file.seek(std::io::SeekFrom::Start(0)).map_err(io(path))?;
        loop {
            let n = match file.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io(path)(e)),
            };
            sum.update(chunk.get(..n).unwrap_or(&[]));
        }
        Some(sum.finish())
    } else {
        None
    };
    Ok(summarize_with(
        &view,
        Extra {
            load_config: load_config.as_deref(),
            computed_checksum,
            string_table: string_table.as_ref().map(|(o, b)| (*o, b.as_slice())),
        },
    ))
}

/// Inspects many files in parallel (rayon); results in input order.
pub fn inspect_paths(paths: &[PathBuf], opts: &InspectOptions) -> Vec<Result<PeSummary, Error>> {
    paths.par_iter().map(|p| inspect_path(p, opts)).collect()
}
