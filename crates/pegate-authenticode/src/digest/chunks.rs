//! Chunk buffers: their size, the spares a thread keeps between files, and the plain read
//! loop of the passes that hash on one thread.
//!
//! Shared by the two-thread pipeline and the single-thread passes, so both read in the same
//! chunks and reuse the same buffers.

/// The size of one read: small enough that the image-hash helper trails the reader by little,
/// large enough that a read is mostly copying.
pub(super) const CHUNK: usize = 256 << 10;
/// Chunks read ahead of the image-hash helper at most (bounds memory on huge files).
pub(super) const AHEAD: usize = 8;
/// Chunk buffers a thread keeps between verifications: about as many as are in flight when the
/// helper keeps up. Kept buffers spare each file the page faults of fresh 256 KiB buffers, and
/// the allocator the heap trims (with cross-CPU TLB flushes) of freeing them after each file.
const SPARE: usize = 4;

thread_local! {
    static SPARE_CHUNKS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A chunk buffer: one this thread kept, or a new one.
pub(super) fn take_spare() -> Vec<u8> {
    SPARE_CHUNKS
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keeps up to `SPARE` buffers for this thread's next verification.
pub(super) fn keep_spare(bufs: impl IntoIterator<Item = Vec<u8>>) {
    let _ = SPARE_CHUNKS.try_with(|s| {
        let mut s = s.borrow_mut();
        let room = SPARE.saturating_sub(s.len());
        s.extend(bufs.into_iter().take(room));
    });
}

/// Calls `f` with each chunk of the file in order, read into one buffer that this thread keeps
/// for its next file (as [`pipelined`](super::pipelined) keeps its chunks). A file known to be
/// `len` bytes gets a buffer no larger than it needs (one more read then sees the end).
pub(super) fn for_each_chunk(
    read_at: &mut impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
    len: u64,
    mut f: impl FnMut(u64, &[u8]),
) -> std::io::Result<()> {
    let mut buf = take_spare();
    buf.resize(usize::try_from(len).unwrap_or(CHUNK).clamp(1, CHUNK), 0);
    let mut pos = 0u64;
    let outcome = loop {
        let n = match read_at(pos, &mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => n,
            Err(e) => break Err(e),
        };
        f(pos, buf.get(..n).unwrap_or_default());
        pos = pos.saturating_add(n as u64);
    };
    keep_spare([buf]);
    outcome
}
