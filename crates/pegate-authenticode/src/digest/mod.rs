//! The Authenticode image hash, and when asked the whole-file SHA-256 and the PE checksum, in
//! one read.
//!
//! Windows (and the Authenticode specification) hash the headers without the `CheckSum` field
//! and the security directory entry, then each section's raw data in `PointerToRawData` order,
//! then whatever lies between the last section and the certificate table. osslsigncode hashes
//! the same exclusions but linearly, gaps between sections included. pegate follows Windows and
//! computes the linear hash as well only when the two byte streams differ, so that the report
//! can say so. The reader hashes one stream as it reads (the file SHA-256 when it is asked for,
//! else the image hash) while a helper on the other core parses the signatures and then works
//! through the rest (the image hash when the reader does not, the linear hash, the checksum).
//! The image hash is computed with SHA-256, the algorithm nearly every signature uses; a
//! signature that asks for another algorithm costs a second pass. Without the file hash a
//! verification is one SHA-256 stream beside the parse; with it, two streams side by side (see
//! [`pipelined`]).

mod chunks;
mod layout;
mod pipeline;
mod stream;

use pegate_facts::DigestAlgorithm;
use pegate_pe::{Checksum, PeView};
use sha1::Digest as _;

use chunks::for_each_chunk;
pub(crate) use layout::{Layout, layout};
pub(crate) use pipeline::pipelined;
use stream::{Image, Stream};

/// Results of the one pass.
#[derive(Debug, Clone)]
pub(crate) struct Digests {
    pub(crate) windows: Vec<(DigestAlgorithm, Vec<u8>)>,
    /// `None` when the linear stream is the same as Windows'.
    pub(crate) linear: Option<Vec<(DigestAlgorithm, Vec<u8>)>>,
    /// When asked for.
    pub(crate) file_sha256: Option<[u8; 32]>,
    /// When asked for, or computed anyway (a pass with an image hash).
    pub(crate) checksum: Option<u32>,
}

/// What a pass computes besides the image hashes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Extras {
    /// The SHA-256 of the whole file.
    pub(crate) file_sha256: bool,
    /// The PE checksum, whose `CheckSum` field is at this offset.
    pub(crate) checksum: Option<usize>,
}

/// Hashes a file (`read_at` fills the buffer from a file offset as far as the file allows and
/// returns the count, 0 at end) with no signature to parse on the way.
pub(crate) fn one_pass(
    layout: Layout,
    algs: &[DigestAlgorithm],
    extras: Extras,
    read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<Digests> {
    pipelined(layout, algs, extras, || (), read_at).map(|((), d)| d)
}

/// Files up to this size are parsed and hashed on the calling thread ([`alone`]): handing the
/// parse to another thread costs more than the hashing it would overlap.
pub(crate) const ALONE: u64 = 64 << 10;

/// The pass for a small file (`len` bytes), all on the calling thread: `after` (the PKCS#7
/// parse) first, then one read that feeds every stream. The same digests as [`pipelined`].
pub(crate) fn alone<T>(
    layout: Layout,
    algs: &[DigestAlgorithm],
    extras: Extras,
    len: u64,
    after: impl FnOnce() -> T,
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<(T, Digests)> {
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(after))
        .map_err(|_| std::io::Error::other("the signature parser panicked"))?;
    let same = layout.windows == layout.linear;
    let mut image = Image {
        windows: Some(Stream::new(layout.windows, algs)),
        linear: (!same).then(|| Stream::new(layout.linear, algs)),
        checksum: extras.checksum.map(Checksum::new),
    };
    let mut file = extras.file_sha256.then(sha2::Sha256::new);
    for_each_chunk(&mut read_at, len, |pos, chunk| {
        image.feed(pos, chunk);
        if let Some(h) = file.as_mut() {
            h.update(chunk);
        }
    })?;
    Ok((
        parsed,
        Digests {
            windows: image.windows.map(Stream::finish).unwrap_or_default(),
            linear: image.linear.map(Stream::finish),
            file_sha256: file.map(|h| h.finalize().into()),
            checksum: image.checksum.map(Checksum::finish),
        },
    ))
}

/// A second pass for image hashes the first did not guess (a SHA-1 or SHA-384 signature).
pub(crate) fn image_pass(
    layout: Layout,
    algs: &[DigestAlgorithm],
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<Digests> {
    let same = layout.windows == layout.linear;
    let mut image = Image {
        windows: Some(Stream::new(layout.windows, algs)),
        linear: (!same).then(|| Stream::new(layout.linear, algs)),
        checksum: None,
    };
    for_each_chunk(&mut read_at, u64::MAX, |pos, chunk| image.feed(pos, chunk))?;
    Ok(Digests {
        windows: image.windows.map(Stream::finish).unwrap_or_default(),
        linear: image.linear.map(Stream::finish),
        file_sha256: None,
        checksum: None,
    })
}

/// The image hash in Windows' order alone, for a signer: the same ranges and streams as a
/// verification's, without the linear stream.
pub(crate) fn windows_pass(
    view: &PeView<'_>,
    len: u64,
    table_start: u64,
    alg: DigestAlgorithm,
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<Vec<u8>> {
    if !alg.image_hash() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{alg} is not a digest Windows accepts for an Authenticode image hash"),
        ));
    }
    let ranges = layout(view, len, table_start).windows;
    let mut stream = Stream::new(ranges, &[alg]);
    for_each_chunk(&mut read_at, len, |pos, chunk| stream.feed(pos, chunk))?;
    Ok(stream
        .finish()
        .into_iter()
        .next()
        .map(|(_, d)| d)
        .unwrap_or_default())
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::single_range_in_vec_init
)]
mod tests;
