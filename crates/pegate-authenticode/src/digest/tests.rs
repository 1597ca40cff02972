//! The passes against plain SHA-256 and checksum computations: every way of sharing the work
//! between the reader and the helper gives the same digests.

use super::chunks::CHUNK;
use super::pipeline::INTERLEAVE;
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
    for ((len, parse_ms), file_sha256) in cases.into_iter().flat_map(|c| [(c, true), (c, false)]) {
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
