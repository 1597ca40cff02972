//! A file that cannot be read is an error, never "not a Go binary".
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::path::Path;

use pegate_gobin::{Error, buildinfo};

#[test]
fn a_failed_read_of_the_data_section_is_an_error_not_a_missing_blob() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/pe/ok/tiny-amd64-console.exe");
    let bytes = std::fs::read(&fixture).unwrap();
    let view = pegate_pe::PeView::parse(&bytes).unwrap();
    // The same bytes read fine: no build info there.
    assert_eq!(buildinfo::read(&view).unwrap(), None);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tiny.exe");
    std::fs::write(&path, &bytes).unwrap();
    // Opened for writing only: every read of it fails, on Unix and on Windows. The view holds
    // the headers only, as `pegate_pe::with_headers` gives it, so the data section must be read.
    let write_only = std::fs::File::options().write(true).open(&path).unwrap();
    let headers = pegate_pe::PeView::parse_prefix(&bytes[..0x400], bytes.len() as u64).unwrap();
    match buildinfo::read_file(&write_only, &headers) {
        Err(Error::Read { offset, .. }) => assert_eq!(offset, 0x600, "the data section"),
        other => panic!("expected a read error, got {other:?}"),
    }
    // Bytes the view already holds are not read again: over the whole file, nothing is read.
    assert_eq!(buildinfo::read_file(&write_only, &view).unwrap(), None);
    // Readable, the file gives what the bytes give.
    let readable = std::fs::File::open(&path).unwrap();
    assert_eq!(buildinfo::read_file(&readable, &view).unwrap(), None);
}
