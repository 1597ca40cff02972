//! The on-disk corpus of the batch benchmarks: 10,000 files, each the same length as a real PE
//! (Go binaries, MSVC DLLs) and byte-identical to it everywhere a header tool reads (the first
//! and last 64 KiB, the load config, Go's build info), with the rest left as a hole, so the
//! tree takes megabytes rather than 25 GB of disk and every tool sees a real file.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const PAGE: usize = 4096;
const EDGE: usize = 64 * 1024;

/// The page-aligned ranges of `bytes` that a header reader may touch.
fn touched(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut ranges = vec![
        (0, EDGE.min(bytes.len())),
        (bytes.len().saturating_sub(EDGE), bytes.len()),
    ];
    if let Ok(view) = pegate_pe::PeView::parse(bytes)
        && let Some((offset, len)) = pegate_pe::load_config_range(&view)
    {
        ranges.push((offset as usize, offset as usize + len));
    }
    // Go's build info: the header, then the module strings right after it.
    let magic = b"\xff Go buildinf:";
    if let Some(at) = bytes.windows(magic.len()).position(|w| w == magic) {
        ranges.push((at, at + EDGE));
    }
    ranges
        .into_iter()
        .map(|(s, e)| {
            (
                s / PAGE * PAGE,
                e.div_ceil(PAGE).saturating_mul(PAGE).min(bytes.len()),
            )
        })
        .collect()
}

/// Writes a sparse copy of `bytes` at `path`.
fn write_sparse(path: &Path, bytes: &[u8], ranges: &[(usize, usize)]) {
    let mut f = File::create(path).unwrap();
    f.set_len(bytes.len() as u64).unwrap();
    for &(s, e) in ranges {
        f.seek(SeekFrom::Start(s as u64)).unwrap();
        f.write_all(&bytes[s..e]).unwrap();
    }
}

/// `n` files in a new temporary directory, cycling through `sources` (name, bytes).
pub(crate) fn build(sources: &[(String, Vec<u8>)], n: usize) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let plans: Vec<Vec<(usize, usize)>> = sources.iter().map(|(_, b)| touched(b)).collect();
    let paths = (0..n)
        .map(|i| {
            let k = i % sources.len();
            let (name, bytes) = &sources[k];
            let ext = Path::new(name)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("exe");
            let p = dir.path().join(format!("f{i:05}.{ext}"));
            write_sparse(&p, bytes, &plans[k]);
            p
        })
        .collect();
    (dir, paths)
}
