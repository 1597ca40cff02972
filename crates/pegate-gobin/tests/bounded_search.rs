//! `Search::Bounded` against `Search::Exact`: a blob past the first 4 KiB of the data section is
//! found by the bounded search only when Go's build ID starts the code section, and by the exact
//! one always; a blob in the first 4 KiB is found by both. From memory and from a file whose
//! view holds only the headers (so the data and code sections are read).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::Path;

use pegate_gobin::buildinfo::{self, BuildInfo, Search};

/// tiny-amd64-console.exe: three sections (.text at file 0x200, .rdata, .data), 2 KiB.
fn tiny() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pe/ok/tiny-amd64-console.exe"),
    )
    .unwrap()
}

/// An inline-format blob (Go ≥ 1.18) for `go1.99.0`, main package `x.y/z`.
fn blob() -> Vec<u8> {
    let mut b = buildinfo::MAGIC.to_vec();
    b.extend_from_slice(&[8, 2]);
    b.resize(32, 0);
    b.push(8);
    b.extend_from_slice(b"go1.99.0");
    let mut modinfo = vec![0x55u8; 16];
    modinfo.extend_from_slice(b"path\tx.y/z\nbuild\tGOOS=windows\n");
    modinfo.extend_from_slice(&[0xaa; 16]);
    b.push(modinfo.len() as u8);
    b.extend_from_slice(&modinfo);
    b
}

/// The fixture with its `.data` moved to the end of the file and grown to 8 KiB, `blob` at
/// `at` in it, and `text_start` written at the start of `.text`.
fn image(at: usize, text_start: &[u8]) -> (Vec<u8>, u64) {
    let mut pe = tiny();
    let e_lfanew = u32::from_le_bytes(pe[0x3c..0x40].try_into().unwrap()) as usize;
    let optional = u16::from_le_bytes(pe[e_lfanew + 20..e_lfanew + 22].try_into().unwrap());
    let data_header = e_lfanew + 24 + usize::from(optional) + 2 * 40;
    assert_eq!(&pe[data_header..data_header + 5], b".data");
    let start = pe.len().next_multiple_of(0x200);
    pe.resize(start + 0x2000, 0);
    let put =
        |pe: &mut Vec<u8>, at: usize, v: u32| pe[at..at + 4].copy_from_slice(&v.to_le_bytes());
    put(&mut pe, data_header + 8, 0x2000); // VirtualSize
    put(&mut pe, data_header + 16, 0x2000); // SizeOfRawData
    put(&mut pe, data_header + 20, start as u32); // PointerToRawData
    let b = blob();
    pe[start + at..start + at + b.len()].copy_from_slice(&b);
    pe[0x200..0x200 + text_start.len()].copy_from_slice(text_start);
    (pe, (start + at) as u64)
}

/// The build info by both routes (memory, and a file read through a headers-only view), which
/// must agree.
fn read(pe: &[u8], search: Search) -> Option<BuildInfo> {
    read_with_head(pe, search, 0x200)
}

/// [`read`], the file's view holding its first `head` bytes.
fn read_with_head(pe: &[u8], search: Search, head: usize) -> Option<BuildInfo> {
    let in_memory = buildinfo::read_with(&pegate_pe::PeView::parse(pe).unwrap(), search).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.exe");
    std::fs::write(&path, pe).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let headers = pegate_pe::PeView::parse_prefix(&pe[..head], pe.len() as u64).unwrap();
    let from_file = buildinfo::read_file_with(&file, &headers, search).unwrap();
    assert_eq!(in_memory, from_file, "{search:?}: memory and file agree");
    in_memory
}

const BUILD_ID: &[u8] = b"\xff Go build ID: \"abc/def\"\n";

#[test]
fn a_blob_in_the_first_chunk_is_found_by_both_searches() {
    let (pe, offset) = image(0x10, b"");
    for search in [Search::Exact, Search::Bounded] {
        let info = read(&pe, search).unwrap_or_else(|| panic!("{search:?} finds the blob"));
        assert_eq!(
            (info.go_version.as_str(), info.path.as_str()),
            ("go1.99.0", "x.y/z")
        );
        assert_eq!(info.offset, offset);
        assert_eq!(info.build_id, None);
    }
}

#[test]
fn past_the_first_chunk_the_bounded_search_goes_on_only_for_a_go_build_id() {
    // No build ID: not Go for the bounded search, the exact one finds the blob at 5 KiB.
    let (pe, offset) = image(0x1400, b"");
    assert_eq!(read(&pe, Search::Exact).unwrap().offset, offset);
    assert_eq!(read(&pe, Search::Bounded), None);
    // With Go's build ID at the start of `.text` both find it, with the ID.
    let (pe, offset) = image(0x1400, BUILD_ID);
    for search in [Search::Exact, Search::Bounded] {
        let info = read(&pe, search).unwrap();
        assert_eq!(info.offset, offset);
        assert_eq!(info.build_id.as_deref(), Some("abc/def"));
    }
    // Something that only looks like it (no closing quote in the window) is not an ID.
    let (pe, _) = image(0x1400, b"\xff Go build ID: abc");
    assert_eq!(read(&pe, Search::Bounded), None);
}

#[test]
fn the_default_search_is_exact() {
    assert_eq!(Search::default(), Search::Exact);
    let (pe, offset) = image(0x1400, b"");
    let view = pegate_pe::PeView::parse(&pe).unwrap();
    assert_eq!(buildinfo::read(&view).unwrap().unwrap().offset, offset);
}

#[test]
fn a_build_id_cut_by_the_bytes_in_memory_is_read_whole() {
    // The ID's prefix starts 20 bytes into `.text`; the view holds 10, 30 or 60 bytes of it
    // (none of the prefix, part of it, all of the ID): the ID found is the same.
    let mut text = vec![0x90u8; 20];
    text.extend_from_slice(BUILD_ID);
    let (pe, offset) = image(0x1400, &text);
    for held in [10, 30, 60] {
        let info = read_with_head(&pe, Search::Bounded, 0x200 + held)
            .unwrap_or_else(|| panic!("{held} bytes of .text in memory"));
        assert_eq!(info.offset, offset);
        assert_eq!(info.build_id.as_deref(), Some("abc/def"), "{held}");
    }
}
