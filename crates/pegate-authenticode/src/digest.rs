//! The Authenticode image hash, the whole-file SHA-256 and the PE checksum, in one read.
//!
//! Windows (and the Authenticode specification) hash the headers without the `CheckSum` field
//! and the security directory entry, then each section's raw data in `PointerToRawData` order,
//! then whatever lies between the last section and the certificate table. osslsigncode hashes
//! the same exclusions but linearly, gaps between sections included. pegate follows Windows and
//! computes the linear hash as well only when the two byte streams differ, so that the report
//! can say so. The file SHA-256 and the checksum run on one core while the Authenticode hashes
//! run on the other, so a full verification costs about one SHA-256 pass of wall time.

use std::ops::Range;

use object::LittleEndian as LE;
use pegate_pe::{Checksum, PeView};
use sha1::Digest as _;

/// A digest algorithm a signature may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Algorithm {
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl Algorithm {
    /// From authenticode-parser's lowercase name (`sha256`) or an OpenSSL-style name.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name.to_ascii_lowercase().replace('-', "").as_str() {
            "sha1" => Some(Algorithm::Sha1),
            "sha256" => Some(Algorithm::Sha256),
            "sha384" => Some(Algorithm::Sha384),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

#[derive(Clone)]
enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    fn new(a: Algorithm) -> Hasher {
        match a {
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
        }
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Sha1(h) => h.update(b),
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha384(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn finish(self) -> Vec<u8> {
        match self {
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha384(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        }
    }
}

/// The byte ranges each method hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) windows: Vec<Range<u64>>,
    pub(crate) linear: Vec<Range<u64>>,
}

fn push(ranges: &mut Vec<Range<u64>>, r: Range<u64>) {
    if r.start >= r.end {
        return;
    }
    if let Some(last) = ranges.last_mut()
        && last.end == r.start
    {
        last.end = r.end;
        return;
    }
    ranges.push(r);
}

/// The ranges to hash for a file of `len` bytes whose certificate table starts at `table_start`
/// (`len` when there is none).
pub(crate) fn layout(view: &PeView<'_>, len: u64, table_start: u64) -> Layout {
    let end = table_start.min(len);
    let cks = view.checksum_field_offset() as u64;
    let mut excluded: Vec<Range<u64>> = Vec::with_capacity(2);
    excluded.push(cks..cks.saturating_add(4));
    if let Some(sd) = view.security_entry_offset() {
        excluded.push(sd as u64..(sd as u64).saturating_add(8));
    }
    excluded.sort_by_key(|r| r.start);
    // Everything from `from` to `to`, minus the excluded fields.
    let minus = |from: u64, to: u64, out: &mut Vec<Range<u64>>| {
        let mut at = from;
        for x in &excluded {
            if x.end <= at || x.start >= to {
                continue;
            }
            push(out, at..x.start.max(at));
            at = x.end.max(at);
        }
        push(out, at..to);
    };
    let mut linear = Vec::new();
    minus(0, end, &mut linear);

    let mut windows = Vec::new();
    let headers = u64::from(view.size_of_headers()).min(end);
    minus(0, headers, &mut windows);
    let mut sections: Vec<(u64, u64)> = view
        .sections()
        .iter()
        .map(|s| {
            (
                u64::from(s.pointer_to_raw_data.get(LE)),
                u64::from(s.size_of_raw_data.get(LE)),
            )
        })
        .filter(|&(_, size)| size != 0)
        .collect();
    sections.sort_unstable();
    let mut last_end = headers;
    for (start, size) in sections {
        let stop = start.saturating_add(size).min(end);
        // The spec hashes each section whole; a section overlapping the headers or a previous
        // section is hashed from where the stream already is (bytes are never hashed twice).
        let from = start.max(last_end);
        push(&mut windows, from..stop);
        last_end = last_end.max(stop);
    }
    push(&mut windows, last_end..end);
    Layout { windows, linear }
}

/// Results of the one pass.
#[derive(Debug, Clone)]
pub(crate) struct Digests {
    pub(crate) windows: Vec<(Algorithm, Vec<u8>)>,
    /// `None` when the linear stream is the same as Windows'.
    pub(crate) linear: Option<Vec<(Algorithm, Vec<u8>)>>,
    pub(crate) file_sha256: [u8; 32],
    pub(crate) checksum: u32,
}

struct Stream {
    ranges: Vec<Range<u64>>,
    next: usize,
    hashers: Vec<(Algorithm, Hasher)>,
}

impl Stream {
    fn new(ranges: Vec<Range<u64>>, algs: &[Algorithm]) -> Stream {
        Stream {
            ranges,
            next: 0,
            hashers: algs.iter().map(|&a| (a, Hasher::new(a))).collect(),
        }
    }

    /// Feeds the part of `chunk` (at file offset `pos`) that the ranges cover; ranges are sorted.
    fn feed(&mut self, pos: u64, chunk: &[u8]) {
        let end = pos.saturating_add(chunk.len() as u64);
        while let Some(r) = self.ranges.get(self.next) {
            if r.start >= end {
                break;
            }
            let from = r.start.max(pos);
            let to = r.end.min(end);
            if from < to {
                let slice = chunk
                    .get(from.saturating_sub(pos) as usize..to.saturating_sub(pos) as usize)
                    .unwrap_or_default();
                for (_, h) in &mut self.hashers {
                    h.update(slice);
                }
            }
            if r.end <= end {
                self.next = self.next.saturating_add(1);
            } else {
                break;
            }
        }
    }

    fn finish(self) -> Vec<(Algorithm, Vec<u8>)> {
        self.hashers
            .into_iter()
            .map(|(a, h)| (a, h.finish()))
            .collect()
    }
}

/// Hashes a file given as a sequence of chunks in order (`read` fills the buffer, returns the
/// count, 0 at end).
pub(crate) fn one_pass(
    layout: Layout,
    algs: &[Algorithm],
    checksum_field: usize,
    mut read: impl FnMut(&mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<Digests> {
    let same = layout.windows == layout.linear;
    let mut windows = Stream::new(layout.windows, algs);
    let mut linear = (!same).then(|| Stream::new(layout.linear, algs));
    let mut file = sha2::Sha256::new();
    let mut checksum = Checksum::new(checksum_field);
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    loop {
        let n = read(&mut buf)?;
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        // Two SHA-256 streams of nearly the same bytes: one per core; the (cheap) checksum
        // rides with the file hash, which has no ranges to walk.
        rayon::join(
            || {
                file.update(chunk);
                checksum.update(chunk);
            },
            || {
                windows.feed(pos, chunk);
                if let Some(l) = linear.as_mut() {
                    l.feed(pos, chunk);
                }
            },
        );
        pos = pos.saturating_add(n as u64);
    }
    Ok(Digests {
        windows: windows.finish(),
        linear: linear.map(Stream::finish),
        file_sha256: file.finalize().into(),
        checksum: checksum.finish(),
    })
}
