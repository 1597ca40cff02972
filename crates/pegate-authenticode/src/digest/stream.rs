//! The hash streams a pass feeds: one stream hashes its ranges with each algorithm asked for,
//! and an image is the set of streams (and the checksum) fed from the same chunks.
//!
//! Every pass (pipelined, alone, a second image pass, a signer's) feeds these; they know
//! nothing of threads or reading.

use std::ops::Range;

use pegate_facts::DigestAlgorithm;
use pegate_pe::Checksum;
use sha1::Digest as _;

#[derive(Clone)]
enum Hasher {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A hasher for an image-hash algorithm ([`DigestAlgorithm::image_hash`]); `None` for the others.
    fn new(a: DigestAlgorithm) -> Option<Hasher> {
        Some(match a {
            DigestAlgorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            DigestAlgorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Hasher::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Hasher::Sha512(sha2::Sha512::new()),
            DigestAlgorithm::Md5 | DigestAlgorithm::Sha224 => return None,
        })
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

pub(super) struct Stream {
    ranges: Vec<Range<u64>>,
    next: usize,
    hashers: Vec<(DigestAlgorithm, Hasher)>,
}

impl Stream {
    pub(super) fn new(ranges: Vec<Range<u64>>, algs: &[DigestAlgorithm]) -> Stream {
        Stream {
            ranges,
            next: 0,
            hashers: algs
                .iter()
                .filter_map(|&a| Some((a, Hasher::new(a)?)))
                .collect(),
        }
    }

    /// Feeds the part of `chunk` (at file offset `pos`) that the ranges cover; ranges are sorted.
    pub(super) fn feed(&mut self, pos: u64, chunk: &[u8]) {
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

    pub(super) fn finish(self) -> Vec<(DigestAlgorithm, Vec<u8>)> {
        self.hashers
            .into_iter()
            .map(|(a, h)| (a, h.finish()))
            .collect()
    }
}

/// The work queued for the helper: the image hash streams the reader does not compute
/// (Windows' order unless the reader has it, the linear one when it differs) and the checksum,
/// which a pass with an image hash always computes since it reads every byte anyway.
pub(super) struct Image {
    pub(super) windows: Option<Stream>,
    pub(super) linear: Option<Stream>,
    pub(super) checksum: Option<Checksum>,
}

impl Image {
    pub(super) fn feed(&mut self, pos: u64, chunk: &[u8]) {
        if let Some(w) = self.windows.as_mut() {
            w.feed(pos, chunk);
        }
        if let Some(l) = self.linear.as_mut() {
            l.feed(pos, chunk);
        }
        if let Some(c) = self.checksum.as_mut() {
            c.update(chunk);
        }
    }
}
