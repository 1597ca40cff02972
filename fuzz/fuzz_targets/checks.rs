//! The fuzz targets' checks, one function per target, shared by the libFuzzer binaries here and
//! by the regression test that replays every reproducer in `fixtures/fuzz-regressions/<target>/`
//! (`tests/integration/fuzz_regressions.rs`), so a reproducer is checked exactly as it was found.
//! Each function panics (assert) when the property fails; a crash or sanitizer report is a
//! finding too.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::path::PathBuf;

use pegate_pe::{InspectOptions, PeView};

/// The PE view, the summary (with and without the whole-file checksum), the description and
/// the Go build-info reader on arbitrary bytes: nothing may panic, and the section and directory
/// tables of a view that parses are whole.
pub fn pe_view(data: &[u8]) {
    if let Ok(view) = pegate_pe::PeView::parse(data) {
        let summary = pegate_pe::summarize(&view);
        let _ = pegate_pe::describe(&summary);
        let _ = pegate_pe::summarize_headers(&view);
        // The lazily named flags and the compact names, as printing them does.
        let headers = view.headers();
        let _ = (headers.machine_name(), headers.subsystem_name());
        let _ = headers.characteristics.names();
        for s in &summary.sections {
            let _ = (s.name.as_str(), s.characteristics.names());
        }
        let _ = pegate_gobin::buildinfo::read(&view);
        for s in view.sections() {
            let _ = view.section_name(s);
        }
        let _ = view.rva_to_file_offset(view.entry_point());
        // The import tables: bounded whatever the descriptors and thunks say.
        let imports = pegate_pe::imports::summarize(&view);
        assert!(imports.dlls.len() <= 2 * pegate_pe::imports::MAX_DESCRIPTORS);
        let thunks: u64 = imports
            .dlls
            .iter()
            .map(|d| u64::from(d.by_name) + u64::from(d.by_ordinal))
            .sum();
        assert!(thunks <= pegate_pe::imports::MAX_THUNKS as u64);
        // The tables are sliced on demand from ranges the parse checked. A file that ends inside
        // its headers reads as the loader maps it (missing bytes are zero): the slices hold what
        // the bytes have, `data_directory` answers for every directory the header counts.
        let declared = usize::from(headers.number_of_sections);
        assert_eq!(view.declared_sections(), declared);
        // Whole 40-byte entries present: all declared ones when the table fits, else those
        // before the end of the bytes (none when the table starts past it, or none declared).
        let whole = data.len().saturating_sub(view.sections_offset()) / 40;
        assert_eq!(view.sections().len(), declared.min(whole));
        let count = view.directory_count();
        let present = view.data_directories();
        assert!(present.len() <= count && count <= 16);
        for i in 0..16 {
            let d = view.data_directory(i);
            assert_eq!(d.is_some(), i < count, "directory {i} of {count}");
            if let (Some(d), Some(raw)) = (d, present.get(i)) {
                assert_eq!(
                    (d.virtual_address, d.size),
                    (
                        raw.virtual_address.get(object::LittleEndian),
                        raw.size.get(object::LittleEndian)
                    )
                );
            }
        }
    }
    // A prefix view of a longer file, as inspect_path builds it.
    let _ = pegate_pe::PeView::parse_prefix(data, u64::MAX);
}

/// A valid PE whose certificate table starts at 0x800 (relative to this file, so the fuzz
/// crate and the workspace test both find it).
const CERT_BASE: &[u8] = include_bytes!("../../fixtures/pe/ok/tiny-amd64-certtable.exe");

/// The certificate table walker and the PKCS#7 wrapper: arbitrary bytes as a certificate
/// table behind a valid PE header, and as a whole file. Nothing may panic or crash, and the
/// signature fast path answers as authenticode-parser does wherever it answers.
pub fn authenticode(data: &[u8]) {
    let _ = pegate_authenticode::table::walk(data, 0);
    // The fast path answers only what it can prove authenticode-parser's answer for.
    assert!(
        pegate_authenticode::fast_path_agrees(data),
        "the fast path and authenticode-parser disagree"
    );
    // The fixture's certificate table starts at 0x800: replace it with the input.
    let mut file = CERT_BASE[..0x800].to_vec();
    file.extend_from_slice(data);
    let dir = 0x40 + 4 + 20 + 112 + 8 * 4;
    file[dir + 4..dir + 8].copy_from_slice(&(data.len() as u32).to_le_bytes());
    let _ = pegate_authenticode::verify_bytes(&file, &Default::default());
    let _ = pegate_authenticode::verify_bytes(data, &Default::default());
}

const HEADERS: usize = 0x200;
const IMAGE_BASE: u64 = 0x40_0000;
/// `.data` starts here, so a pointer-format input can point into itself at IMAGE_BASE + DATA_RVA.
const DATA_RVA: u32 = 0x10_0000;

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// DOS header, PE signature, COFF header, PE32+ optional header and two section headers, both
/// sections covering the `len` bytes after the headers.
fn headers(len: u32) -> Vec<u8> {
    let mut h = vec![0u8; HEADERS];
    h[..2].copy_from_slice(b"MZ");
    put32(&mut h, 0x3c, 0x40);
    h[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut h, coff, 0x8664);
    put16(&mut h, coff + 2, 2);
    put16(&mut h, coff + 16, 0xf0);
    put16(&mut h, coff + 18, 0x22);
    let opt = coff + 20;
    put16(&mut h, opt, 0x20b);
    h[opt + 24..opt + 32].copy_from_slice(&IMAGE_BASE.to_le_bytes());
    put32(&mut h, opt + 32, 0x1000);
    put32(&mut h, opt + 36, 0x200);
    put32(&mut h, opt + 56, DATA_RVA + 0x10_0000);
    put32(&mut h, opt + 60, HEADERS as u32);
    put16(&mut h, opt + 68, 3);
    put32(&mut h, opt + 108, 16);
    let sections = opt + 0xf0;
    for (i, (name, rva, flags)) in [
        (b".text\0\0\0", 0x1000u32, 0x6000_0020u32),
        (b".data\0\0\0", DATA_RVA, 0xc000_0040),
    ]
    .into_iter()
    .enumerate()
    {
        let s = sections + 40 * i;
        h[s..s + 8].copy_from_slice(name);
        put32(&mut h, s + 8, len);
        put32(&mut h, s + 12, rva);
        put32(&mut h, s + 16, len);
        put32(&mut h, s + 20, HEADERS as u32);
        put32(&mut h, s + 36, flags);
    }
    h
}

/// The Go build-info reader on arbitrary bytes placed where it looks: the input is the raw data
/// of both the `.text` section (build ID) and the `.data` section (the blob, inline or pointer
/// format) of a fixed, well-formed PE32+ header, so every execution reaches the decoder rather
/// than dying in the PE parse. The same file is also read from disk (`read_path`, which reads
/// chunk by chunk): both must agree. Nothing may panic or crash.
pub fn buildinfo(data: &[u8]) {
    let Ok(len) = u32::try_from(data.len()) else {
        return;
    };
    let mut file = headers(len);
    file.extend_from_slice(data);
    let view = pegate_pe::PeView::parse(&file).expect("the fixed headers parse");
    let in_memory = pegate_gobin::buildinfo::read(&view);
    if let Ok(Some(info)) = &in_memory {
        let _ = info.setting("GOARCH");
        assert!(info.offset >= HEADERS as u64 && info.offset < file.len() as u64);
    }
    let path = scratch("buildinfo");
    std::fs::write(&path, &file).expect("scratch file");
    let on_disk = pegate_gobin::buildinfo::read_path(&path);
    let _ = std::fs::remove_file(&path);
    match (&in_memory, &on_disk) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "read and read_path disagree"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors"),
        _ => panic!("read {in_memory:?} but read_path {on_disk:?}"),
    }
}

/// A scratch file for the file-reading paths, in memory (/dev/shm) where there is one; one
/// per process and thread so parallel tests and fuzzing jobs do not share it.
fn scratch(kind: &str) -> PathBuf {
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let thread = format!("{:?}", std::thread::current().id());
    let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
    dir.join(format!(
        "pegate-fuzz-{kind}-{}-{thread}",
        std::process::id()
    ))
}

/// The file-reading paths against the in-memory ones on the same bytes: `inspect_path` (a 4 KiB
/// header prefix, then positioned reads of the load config, string table and, for the checksum,
/// the whole file) must give exactly the summary `summarize` gives over the whole file in
/// memory, `inspect_headers` the same headers, and both the same error when the bytes are not a
/// PE file. Nothing may panic or crash.
pub fn summary(data: &[u8]) {
    let path = scratch("summary");
    std::fs::write(&path, data).expect("scratch file");
    let in_memory = PeView::parse(data);
    let on_disk = pegate_pe::inspect_path(&path, &InspectOptions::default().with_checksum(true));
    match (&in_memory, &on_disk) {
        (Ok(view), Ok(summary)) => {
            assert_eq!(&pegate_pe::summarize(view), summary, "inspect_path differs");
            let headers = pegate_pe::inspect_headers(&path).expect("headers parsed once");
            assert_eq!(view.headers(), headers, "inspect_headers differs");
            let _ = pegate_pe::describe(summary);
            // Without long names: the same summary but for the `/N` names, left as they are,
            // and the problems resolving them reported.
            let raw = pegate_pe::inspect_path(
                &path,
                &InspectOptions::default()
                    .with_checksum(true)
                    .with_raw_long_names(true),
            )
            .expect("parsed once already");
            let mut expected = summary.clone();
            for (section, header) in expected.sections.iter_mut().zip(view.sections()) {
                if header.name.first() == Some(&b'/') {
                    let name = header.name.split(|&b| b == 0).next().unwrap_or_default();
                    section.name = pegate_pe::SectionName::from_bytes(name);
                }
            }
            expected.errors.retain(|e| {
                !matches!(e, pegate_pe::Problem::SectionName { raw, .. } if raw.starts_with('/'))
            });
            assert_eq!(raw, expected, "raw long names change more than those names");
        }
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "different errors"),
        _ => panic!(
            "in memory {:?}, on disk {:?}",
            in_memory.as_ref().err(),
            on_disk.as_ref().err()
        ),
    }
    let _ = std::fs::remove_file(&path);
}
