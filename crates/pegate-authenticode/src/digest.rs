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

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use object::LittleEndian as LE;
use pegate_facts::DigestAlgorithm;
use pegate_pe::{Checksum, PeView};
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

struct Stream {
    ranges: Vec<Range<u64>>,
    next: usize,
    hashers: Vec<(DigestAlgorithm, Hasher)>,
}

impl Stream {
    fn new(ranges: Vec<Range<u64>>, algs: &[DigestAlgorithm]) -> Stream {
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

    fn finish(self) -> Vec<(DigestAlgorithm, Vec<u8>)> {
        self.hashers
            .into_iter()
            .map(|(a, h)| (a, h.finish()))
            .collect()
    }
}

/// The size of one read: small enough that the image-hash helper trails the reader by little,
/// large enough that a read is mostly copying.
const CHUNK: usize = 256 << 10;
/// Chunks read ahead of the image-hash helper at most (bounds memory on huge files).
const AHEAD: usize = 8;
/// Chunk buffers a thread keeps between verifications: about as many as are in flight when the
/// helper keeps up. Kept buffers spare each file the page faults of fresh 256 KiB buffers, and
/// the allocator the heap trims (with cross-CPU TLB flushes) of freeing them after each file.
const SPARE: usize = 4;

thread_local! {
    static SPARE_CHUNKS: std::cell::RefCell<Vec<Vec<u8>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A chunk buffer: one this thread kept, or a new one.
fn take_spare() -> Vec<u8> {
    SPARE_CHUNKS
        .try_with(|s| s.borrow_mut().pop())
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// Keeps up to `SPARE` buffers for this thread's next verification.
fn keep_spare(bufs: impl IntoIterator<Item = Vec<u8>>) {
    let _ = SPARE_CHUNKS.try_with(|s| {
        let mut s = s.borrow_mut();
        let room = SPARE.saturating_sub(s.len());
        s.extend(bufs.into_iter().take(room));
    });
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

/// The stream the reader hashes as it reads: the file SHA-256 when it is asked for (the longest
/// stream), else Windows' image hash, with the checksum when nothing else is left for the
/// helper (see `Work::start`).
enum Own {
    File(sha2::Sha256),
    Windows(Stream, Option<Checksum>),
}

/// How much of a chunk the reader hashes before it sums the same bytes for the checksum, so
/// the checksum reads them from the first-level cache.
const INTERLEAVE: usize = 16 << 10;

/// The work queued for the helper: the image hash streams the reader does not compute
/// (Windows' order unless the reader has it, the linear one when it differs) and the checksum,
/// which a pass with an image hash always computes since it reads every byte anyway.
struct Image {
    windows: Option<Stream>,
    linear: Option<Stream>,
    checksum: Option<Checksum>,
}

impl Image {
    fn feed(&mut self, pos: u64, chunk: &[u8]) {
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

/// The image hash's work list, shared by the two threads: whichever holds the hash state feeds
/// it the queued chunks in order.
struct Shared {
    /// Chunks to feed: file offset, buffer, and how much of the buffer the read filled (the
    /// buffers stay whole, so reusing one never zeroes it again).
    queue: VecDeque<(u64, Arc<Vec<u8>>, usize)>,
    /// `None` while one thread is feeding it.
    image: Option<Image>,
    /// Fed chunks, for the reader to reuse.
    free: Vec<Arc<Vec<u8>>>,
    /// The reader has queued the last chunk.
    done: bool,
    /// The helper is asleep, waiting for work: only then does the reader wake it.
    helper_waiting: bool,
    /// The reader is asleep, waiting for the helper to catch up.
    reader_waiting: bool,
}

struct Work {
    shared: Mutex<Shared>,
    changed: Condvar,
    /// The helper has not finished the parse (or never started it: in a batch that keeps every
    /// core busy, the reader runs the parse itself after its read). Meanwhile nobody else can
    /// feed the queued work, so the reader feeds each chunk as soon as it has read it, while
    /// the chunk is in its cache, and reuses the buffer for the next read.
    parsing: AtomicBool,
    /// Whether there is anything for the shared hash state to do: when not, chunks are not
    /// queued at all and the reader reuses its one buffer.
    shared_work: bool,
}

impl Work {
    /// The work of a pass over `layout` for `algs`: the reader's own stream, and everything
    /// else in the hash state the two threads share.
    fn start(layout: Layout, algs: &[DigestAlgorithm], extras: Extras) -> (Own, Work) {
        let same = layout.windows == layout.linear;
        // Whether the helper has a hash stream to feed. If not (the common case: the image hash
        // alone), the reader sums the checksum too, each block right after hashing it: handing
        // it to the helper cost more (every chunk read again from another core, a wake-up every
        // few chunks, and the end waiting for the helper) than the checksum itself, about a
        // tenth of the hash. The helper then only parses.
        let hashes = extras.file_sha256 || !same;
        let (own, windows, checksum) = if extras.file_sha256 {
            (
                Own::File(sha2::Sha256::new()),
                Some(Stream::new(layout.windows, algs)),
                extras.checksum.map(Checksum::new),
            )
        } else if hashes {
            (
                Own::Windows(Stream::new(layout.windows, algs), None),
                None,
                extras.checksum.map(Checksum::new),
            )
        } else {
            (
                Own::Windows(
                    Stream::new(layout.windows, algs),
                    extras.checksum.map(Checksum::new),
                ),
                None,
                None,
            )
        };
        let work = Work {
            shared: Mutex::new(Shared {
                queue: VecDeque::new(),
                image: Some(Image {
                    windows,
                    linear: (!same).then(|| Stream::new(layout.linear, algs)),
                    checksum,
                }),
                free: Vec::new(),
                done: false,
                helper_waiting: false,
                reader_waiting: false,
            }),
            changed: Condvar::new(),
            shared_work: hashes,
            parsing: AtomicBool::new(true),
        };
        (own, work)
    }

    fn lock(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock cannot leave `Shared` half-updated; go on with it.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sleeps until the other thread queues work or hands the hash state back, with this
    /// thread's waiting flag set meanwhile: each thread wakes the other only when it sleeps, so
    /// a helper that keeps up is not woken (a system call and, on an idle core, an interrupt)
    /// for every chunk.
    fn wait(&self, mut g: MutexGuard<'_, Shared>, waiting: fn(&mut Shared) -> &mut bool) {
        *waiting(&mut g) = true;
        let mut g = self.changed.wait(g).unwrap_or_else(PoisonError::into_inner);
        *waiting(&mut g) = false;
    }

    /// Wakes the other thread if it sleeps (the caller is not asleep, so any flag set is the
    /// other's).
    fn wake_other(&self, g: &Shared) {
        if g.helper_waiting || g.reader_waiting {
            self.changed.notify_all();
        }
    }

    /// Feeds queued chunks to the image hash while this thread can hold it and more than `keep`
    /// are queued; returns when no more than `keep` are left or the other thread holds the hash.
    fn feed_queued(&self, keep: usize) {
        let mut g = self.lock();
        loop {
            if g.queue.len() <= keep {
                return;
            }
            let Some(mut image) = g.image.take() else {
                return;
            };
            let Some((pos, chunk, len)) = g.queue.pop_front() else {
                g.image = Some(image);
                return;
            };
            drop(g);
            image.feed(pos, chunk.get(..len).unwrap_or_default());
            g = self.lock();
            g.image = Some(image);
            g.free.push(chunk);
            self.wake_other(&g);
        }
    }

    /// The helper's part after the parse: feeds the queue until the reader is done and the
    /// queue is empty. Once it has caught up it sleeps until a chunk is queued (its share, a
    /// hash stream, is as slow as the reader's).
    fn feed_until_done(&self) {
        loop {
            self.feed_queued(0);
            let g = self.lock();
            if g.done && g.queue.is_empty() {
                return;
            }
            if g.image.is_some() && !g.queue.is_empty() {
                continue;
            }
            self.wait(g, |s| &mut s.helper_waiting);
        }
    }

    /// The reader's part: reads the file chunk by chunk into `own`, queueing each chunk for
    /// the shared hash state, until the end of the file or a read error.
    fn read_all(
        &self,
        own: &mut Own,
        read_at: &mut impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
    ) -> std::io::Result<()> {
        let mut pos = 0u64;
        loop {
            let mut buf = self.buffer();
            let n = read_at(pos, &mut buf)?;
            if n == 0 {
                // Kept whole for the next file, which would otherwise allocate and zero a fresh
                // one.
                self.lock().free.push(Arc::new(buf));
                return Ok(());
            }
            // `read_at` fills the buffer unless the file ends: no read past a short chunk.
            let last = n < buf.len();
            if !self.shared_work {
                own.feed(pos, buf.get(..n).unwrap_or_default());
                pos = pos.saturating_add(n as u64);
                self.lock().free.push(Arc::new(buf));
                if last {
                    return Ok(());
                }
                continue;
            }
            let chunk = Arc::new(buf);
            {
                let mut g = self.lock();
                g.queue.push_back((pos, Arc::clone(&chunk), n));
                if g.helper_waiting {
                    self.changed.notify_all();
                }
            }
            own.feed(pos, chunk.get(..n).unwrap_or_default());
            drop(chunk);
            pos = pos.saturating_add(n as u64);
            self.keep_within(AHEAD);
            if last {
                return Ok(());
            }
        }
    }

    /// A chunk buffer for the next read: one the hash state is done with, else a spare one.
    fn buffer(&self) -> Vec<u8> {
        let reuse = self.lock().free.pop();
        let mut buf = reuse
            .and_then(|b| Arc::try_unwrap(b).ok())
            .unwrap_or_else(take_spare);
        buf.resize(CHUNK, 0);
        buf
    }

    /// Returns once at most `ahead` chunks are queued: helps with the image hash, or waits for
    /// the helper to catch up. Not sooner once the helper has parsed: a chunk the reader takes
    /// from a helper that is keeping up stalls the reader's own stream while the helper idles.
    /// Before that, the reader feeds every queued chunk (see `Work::parsing`).
    fn keep_within(&self, ahead: usize) {
        loop {
            let keep = if self.parsing.load(Ordering::Relaxed) {
                0
            } else {
                ahead
            };
            self.feed_queued(keep);
            let g = self.lock();
            if g.queue.len() <= ahead {
                return;
            }
            if g.image.is_some() {
                continue;
            }
            self.wait(g, |s| &mut s.reader_waiting);
        }
    }

    /// Marks the last chunk queued, then feeds the queued work while the helper may still
    /// be parsing.
    fn finish_reading(&self) {
        {
            let mut g = self.lock();
            g.done = true;
            self.wake_other(&g);
        }
        self.feed_queued(0);
    }

    /// After both threads are done: the hash state, with the chunk buffers kept as this
    /// thread's spares.
    fn reclaim(&self) -> Option<Image> {
        let mut guard = self.lock();
        let shared = &mut *guard;
        let image = shared.image.take();
        let queued = shared.queue.drain(..).map(|(_, b, _)| b);
        keep_spare(
            shared
                .free
                .drain(..)
                .chain(queued)
                .filter_map(|b| Arc::try_unwrap(b).ok()),
        );
        image
    }
}

impl Own {
    fn feed(&mut self, pos: u64, chunk: &[u8]) {
        match self {
            Own::File(h) => h.update(chunk),
            Own::Windows(w, None) => w.feed(pos, chunk),
            Own::Windows(w, Some(c)) => {
                let mut at = pos;
                for block in chunk.chunks(INTERLEAVE) {
                    w.feed(at, block);
                    c.update(block);
                    at = at.saturating_add(block.len() as u64);
                }
            }
        }
    }

    /// The digests of a pass: this stream's and those of the shared hash state.
    fn finish(self, image: Image) -> Digests {
        let (windows, file_sha256, own_checksum) = match self {
            Own::File(h) => (
                image.windows.map(Stream::finish).unwrap_or_default(),
                Some(h.finalize().into()),
                None,
            ),
            Own::Windows(w, c) => (w.finish(), None, c),
        };
        Digests {
            windows,
            linear: image.linear.map(Stream::finish),
            file_sha256,
            checksum: own_checksum.or(image.checksum).map(Checksum::finish),
        }
    }
}

/// One read of the file on two cores. The calling thread reads each chunk, hashes it into its
/// own stream (the file SHA-256 when `extras` asks for it, else the Authenticode image hash for
/// `algs`: the caller's guess, SHA-256 nearly always) and queues it for the rest (the image
/// hash if the reader does not compute it, the linear hash, the checksum). When the image hash
/// is all there is to hash, nothing is queued: the reader sums the checksum as it hashes. A
/// helper job runs `after` (the PKCS#7 parse) and then works through the queue. Whichever thread is free feeds
/// the queued work: after a quick parse the two run side by side; during a slow one (a long
/// timestamp chain) the reader, done with its own stream, feeds the queued work too. Reading
/// stays at most `AHEAD` chunks ahead of the queue, so memory stays bounded on huge files.
///
/// The helper is a job on rayon's pool, not a thread of its own: a pool thread is already
/// running and its OpenSSL per-thread state is already set up, where a fresh thread per file
/// pays its start, OpenSSL's thread-local init and its exit on every verification
/// (benches/README.md compares the two). When the caller is itself a pool thread in a batch that keeps every core
/// busy, nobody steals the job and the calling thread runs it after its read, having hashed
/// everything itself: the cheapest order when there is no idle core.
pub(crate) fn pipelined<T: Send>(
    layout: Layout,
    algs: &[DigestAlgorithm],
    extras: Extras,
    after: impl FnOnce() -> T + Send,
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<(T, Digests)> {
    if algs.is_empty() {
        // No image hash to share (an unsigned file): no helper either.
        let same = layout.windows == layout.linear;
        return serial(extras, same, after, read_at);
    }
    let (mut own, work) = Work::start(layout, algs, extras);
    let mut helped = None;
    let outcome = rayon::in_place_scope(|scope| {
        let helped = &mut helped;
        let work = &work;
        scope.spawn(move |_| {
            // A panic in the parser becomes an error; the reader then hashes alone, since the
            // hash state is never held across the parse.
            let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(after));
            let failed = parsed.is_err();
            *helped = Some(parsed);
            if !failed {
                work.parsing.store(false, Ordering::Relaxed);
                work.feed_until_done();
            }
        });
        let outcome = work.read_all(&mut own, &mut read_at);
        work.finish_reading();
        outcome
    });
    let image = work.reclaim();
    let parsed = helped
        .and_then(Result::ok)
        .ok_or_else(|| std::io::Error::other("the signature parser panicked"))?;
    let image = outcome.and_then(|()| {
        image.ok_or_else(|| std::io::Error::other("the image hash state was lost"))
    })?;
    Ok((parsed, own.finish(image)))
}

/// What `extras` asks for on the calling thread, for files with no image hash to compute; no
/// read at all when it asks for nothing.
fn serial<T>(
    extras: Extras,
    same: bool,
    after: impl FnOnce() -> T,
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<(T, Digests)> {
    let mut file = extras.file_sha256.then(sha2::Sha256::new);
    let mut checksum = extras.checksum.map(Checksum::new);
    if file.is_some() || checksum.is_some() {
        for_each_chunk(&mut read_at, u64::MAX, |_, chunk| {
            if let Some(h) = file.as_mut() {
                h.update(chunk);
            }
            if let Some(c) = checksum.as_mut() {
                c.update(chunk);
            }
        })?;
    }
    Ok((
        after(),
        Digests {
            windows: Vec::new(),
            linear: (!same).then(Vec::new),
            file_sha256: file.map(|h| h.finalize().into()),
            checksum: checksum.map(Checksum::finish),
        },
    ))
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

/// Calls `f` with each chunk of the file in order, read into one buffer that this thread keeps
/// for its next file (as [`pipelined`] keeps its chunks). A file known to be `len` bytes gets a
/// buffer no larger than it needs (one more read then sees the end).
fn for_each_chunk(
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

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::single_range_in_vec_init
)]
mod tests {
    use super::*;

    fn data(len: usize) -> Vec<u8> {
        // xorshift bytes: deterministic, not compressible by accident.
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// One range over the first `len` bytes, for both methods.
    fn whole(len: u64) -> Layout {
        Layout {
            windows: vec![0..len],
            linear: vec![0..len],
        }
    }

    /// Everything a pass can compute besides the image hash (checksum field at 64).
    fn all() -> Extras {
        Extras {
            file_sha256: true,
            checksum: Some(64),
        }
    }

    fn sha256_of(parts: &[&[u8]]) -> Vec<u8> {
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().to_vec()
    }

    /// With one image stream and no file hash the reader sums the checksum itself, block by
    /// block between its hash updates, and queues nothing: the same digests, for parses
    /// quicker and slower than the read and checksum fields inside and across blocks.
    #[test]
    fn the_reader_alone_hashes_and_sums_the_image() {
        for (len, parse_ms, field) in [
            (100_000, 0, 64),
            (3_000_000, 0, 64),
            (3_000_000, 40, INTERLEAVE - 2),
            (700_000, 40, CHUNK + INTERLEAVE - 1),
        ] {
            let bytes = data(len);
            let image = 0..len as u64 - 10;
            let layout = Layout {
                windows: vec![image.clone()],
                linear: vec![image],
            };
            let extras = Extras {
                file_sha256: false,
                checksum: Some(field),
            };
            let after = || std::thread::sleep(std::time::Duration::from_millis(parse_ms));
            let read_at = crate::slice_reader(&bytes);
            let ((), d) =
                pipelined(layout, &[DigestAlgorithm::Sha256], extras, after, read_at).unwrap();
            let what = format!("{len} bytes, parse {parse_ms} ms, field at {field}");
            assert_eq!(
                d.windows,
                vec![(DigestAlgorithm::Sha256, sha256_of(&[&bytes[..len - 10]]))],
                "{what}"
            );
            assert_eq!(d.linear, None, "{what}");
            assert_eq!(
                d.checksum,
                Some(pegate_pe::pe_checksum(&bytes, field)),
                "{what}"
            );
        }
    }

    /// Every way the two threads can share the image hash gives the same digests: a parse
    /// quicker than the read, one slower than all the hashing, files longer than the
    /// read-ahead bound (so the reader must wait or help), with the reader hashing the file or
    /// the image itself.
    #[test]
    fn pipelined_digests_do_not_depend_on_who_hashes() {
        let cases = [(100_000, 0), (3_000_000, 0), (3_000_000, 40), (700_000, 40)];
        for ((len, parse_ms), file_sha256) in
            cases.into_iter().flat_map(|c| [(c, true), (c, false)])
        {
            let bytes = data(len);
            let gap = len / 3..len / 3 + 1000;
            let layout = Layout {
                windows: vec![0..gap.start as u64, gap.end as u64..len as u64 - 10],
                linear: vec![0..len as u64 - 10],
            };
            let read_at = crate::slice_reader(&bytes);
            let after = || std::thread::sleep(std::time::Duration::from_millis(parse_ms));
            let extras = Extras {
                file_sha256,
                ..all()
            };
            let ((), d) =
                pipelined(layout, &[DigestAlgorithm::Sha256], extras, after, read_at).unwrap();
            let what = format!("{len} bytes, parse {parse_ms} ms, file hash {file_sha256}");
            assert_eq!(
                d.windows,
                vec![(
                    DigestAlgorithm::Sha256,
                    sha256_of(&[&bytes[..gap.start], &bytes[gap.end..len - 10]])
                )],
                "{what}"
            );
            assert_eq!(
                d.linear,
                Some(vec![(
                    DigestAlgorithm::Sha256,
                    sha256_of(&[&bytes[..len - 10]])
                )]),
                "{what}"
            );
            assert_eq!(
                d.file_sha256.map(|h| h.to_vec()),
                file_sha256.then(|| sha256_of(&[&bytes])),
                "{what}"
            );
            assert_eq!(
                d.checksum,
                Some(pegate_pe::pe_checksum(&bytes, 64)),
                "{what}"
            );
        }
    }

    /// A small file hashed on the calling thread gets the digests the two-thread pass gets, for
    /// every mix of streams; its parse still runs (once) and a panicking one is an error.
    #[test]
    fn alone_gives_the_pipelined_digests() {
        for len in [0usize, 1, 100, 4096, ALONE as usize] {
            let bytes = data(len);
            let cut = len.saturating_sub(10) as u64;
            let layout = Layout {
                windows: vec![0..cut / 2, cut / 2 + 1..cut],
                linear: vec![0..cut],
            };
            for (algs, extras) in [
                (&[DigestAlgorithm::Sha256][..], all()),
                (
                    &[DigestAlgorithm::Sha256, DigestAlgorithm::Sha1][..],
                    Extras::default(),
                ),
                (&[][..], all()),
            ] {
                let (ran, a) = alone(
                    layout.clone(),
                    algs,
                    extras,
                    len as u64,
                    || true,
                    crate::slice_reader(&bytes),
                )
                .unwrap();
                let ((), p) = pipelined(
                    layout.clone(),
                    algs,
                    extras,
                    || (),
                    crate::slice_reader(&bytes),
                )
                .unwrap();
                assert!(ran);
                let what = format!("{len} bytes, {algs:?}, {extras:?}");
                assert_eq!(a.windows, p.windows, "{what}");
                assert_eq!(a.linear, p.linear, "{what}");
                assert_eq!(a.file_sha256, p.file_sha256, "{what}");
                assert_eq!(a.checksum, p.checksum, "{what}");
            }
        }
        let err = alone(
            whole(10),
            &[DigestAlgorithm::Sha256],
            all(),
            10,
            || panic!("parser"),
            crate::slice_reader(&data(10)),
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "the signature parser panicked");
    }

    /// No image hash asked for (an unsigned file): the same file hash and checksum, on one
    /// thread, each only when asked for; asked for nothing, the file is not read at all.
    #[test]
    fn without_image_hash_the_file_hash_and_checksum_are_computed_only_when_asked() {
        let bytes = data(1_500_000);
        let cases = [
            (true, Some(64)),
            (true, None),
            (false, Some(64)),
            (false, None),
        ];
        for (file_sha256, checksum) in cases {
            let reads = std::cell::Cell::new(0usize);
            let mut inner = crate::slice_reader(&bytes);
            let read_at = |pos: u64, buf: &mut [u8]| {
                reads.set(reads.get() + 1);
                inner(pos, buf)
            };
            let extras = Extras {
                file_sha256,
                checksum,
            };
            let d = one_pass(whole(10), &[], extras, read_at).unwrap();
            let what = format!("{extras:?}");
            assert!(d.windows.is_empty(), "{what}");
            assert_eq!(d.linear, None, "{what}");
            assert_eq!(
                d.file_sha256.map(|h| h.to_vec()),
                file_sha256.then(|| sha256_of(&[&bytes])),
                "{what}"
            );
            assert_eq!(
                d.checksum,
                checksum.map(|f| pegate_pe::pe_checksum(&bytes, f)),
                "{what}"
            );
            assert_eq!(
                reads.get() == 0,
                !file_sha256 && checksum.is_none(),
                "{what}"
            );
        }
    }

    /// A parser that panics costs its result, not the process, and the read finishes.
    #[test]
    fn a_panicking_parse_is_an_error() {
        let bytes = data(3_000_000);
        let read_at = crate::slice_reader(&bytes);
        let layout = whole(3_000_000);
        let after = || -> () { panic!("parser bug") };
        let err = pipelined(layout, &[DigestAlgorithm::Sha256], all(), after, read_at).unwrap_err();
        assert_eq!(err.to_string(), "the signature parser panicked");
    }

    /// Many verifications at once from rayon's own threads (as `pegate inspect` runs them):
    /// helper jobs that nobody steals run after their read, and every digest is still right.
    #[test]
    fn pipelines_inside_a_busy_pool_finish_with_the_same_digests() {
        use rayon::prelude::*;
        let bytes = data(1_200_000);
        let want = sha256_of(&[&bytes]);
        let results: Vec<_> = (0..16)
            .into_par_iter()
            .map(|i| {
                let read_at = crate::slice_reader(&bytes);
                let layout = whole(1_200_000);
                let after = move || {
                    std::thread::sleep(std::time::Duration::from_millis(i % 3));
                    i
                };
                pipelined(layout, &[DigestAlgorithm::Sha256], all(), after, read_at).unwrap()
            })
            .collect();
        for (i, (got, d)) in results.into_iter().enumerate() {
            assert_eq!(got, i as u64);
            assert_eq!(d.windows, vec![(DigestAlgorithm::Sha256, want.clone())]);
            assert_eq!(d.file_sha256.map(|h| h.to_vec()), Some(want.clone()));
            assert_eq!(d.checksum, Some(pegate_pe::pe_checksum(&bytes, 64)));
        }
    }

    #[test]
    fn a_read_error_is_returned_not_hung_on() {
        let layout = whole(10_000_000);
        let read_at = |pos: u64, buf: &mut [u8]| {
            if pos >= 2_000_000 {
                return Err(std::io::Error::other("disk gone"));
            }
            buf.fill(1);
            Ok(buf.len())
        };
        let err = pipelined(layout, &[DigestAlgorithm::Sha256], all(), || (), read_at).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
    }
}
