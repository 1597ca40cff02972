//! One read of the file on two cores: the reader hashes its own stream while a helper job
//! parses the signatures and then works through the queued chunks for the other streams.
//!
//! The synchronisation (the shared queue, who holds the hash state, who sleeps and who wakes
//! whom) is the subtle part of hashing, so it is kept apart from what is hashed.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use pegate_facts::DigestAlgorithm;
use pegate_pe::Checksum;
use sha1::Digest as _;

use super::chunks::{AHEAD, CHUNK, for_each_chunk, keep_spare, take_spare};
use super::stream::{Image, Stream};
use super::{Digests, Extras, Layout};

/// The stream the reader hashes as it reads: the file SHA-256 when it is asked for (the longest
/// stream), else Windows' image hash, with the checksum when nothing else is left for the
/// helper (see `Work::start`).
enum Own {
    File(sha2::Sha256),
    Windows(Stream, Option<Checksum>),
}

/// How much of a chunk the reader hashes before it sums the same bytes for the checksum, so
/// the checksum reads them from the first-level cache.
pub(super) const INTERLEAVE: usize = 16 << 10;

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
