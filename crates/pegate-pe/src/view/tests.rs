#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;

/// Whether two views are over the same bytes with the same structures at the same places.
fn same(a: &PeView<'_>, b: &PeView<'_>) -> bool {
    let optional = |v: &PeView<'_>| match v.optional {
        Some(Optional::Pe32(h)) => (h as *const ImageOptionalHeader32).cast::<u8>(),
        Some(Optional::Pe64(h)) => (h as *const ImageOptionalHeader64).cast::<u8>(),
        None => core::ptr::null(),
    };
    core::ptr::eq(a.data, b.data)
        && a.file_len == b.file_len
        && a.nt_offset == b.nt_offset
        && core::ptr::eq(a.file_header, b.file_header)
        && a.pe32_plus == b.pe32_plus
        && optional(a) == optional(b)
        && a.directory_count == b.directory_count
        && a.directories_in_data == b.directories_in_data
        && a.sections_offset == b.sections_offset
        && a.section_count == b.section_count
}

/// The fast path and the diagnosing path agree on `data` read as a prefix of `file_len`:
/// wherever the fast path accepts, the diagnosis builds the same view; where it does not,
/// the diagnosis accepts only a file that ends inside its headers (read as zeros there).
fn agree(data: &[u8], file_len: u64) {
    match (
        PeView::check(data, file_len),
        PeView::diagnose(data, file_len),
    ) {
        (Some(fast), Ok(slow)) => assert!(same(&fast, &slow), "views differ"),
        (None, Err(_)) => {}
        (None, Ok(slow)) => assert!(
            slow.is_whole_file() && slow.headers_end() > data.len() as u64,
            "the diagnosis accepts what the fast path rejects, with the headers in the bytes ({} bytes of {file_len})",
            data.len()
        ),
        (Some(_), Err(e)) => panic!(
            "fast path accepts but the diagnosis says {e} ({} bytes of {file_len})",
            data.len()
        ),
    }
}

fn fixtures() -> Vec<Vec<u8>> {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures");
    ["pe/ok", "pe/err", "pe/loader", "authenticode"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(format!("{root}/{dir}")).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn fast_and_diagnosing_paths_agree_on_every_prefix_of_every_fixture() {
    let files = fixtures();
    assert!(files.len() > 10, "only {} fixtures found", files.len());
    let mut accepted = 0;
    for data in &files {
        let headers = data.len().min(8192);
        for cut in 0..=headers {
            // A prefix read from a longer file, and a file that really ends there.
            agree(&data[..cut], data.len() as u64);
            agree(&data[..cut], cut as u64);
        }
        accepted += usize::from(PeView::check(data, data.len() as u64).is_some());
    }
    assert!(accepted > 10, "only {accepted} fixtures parse");
}

#[test]
fn fast_and_diagnosing_paths_agree_on_damaged_headers() {
    // Every fixture that parses, with header fields the checks read set to values around
    // their limits, one at a time and in random pairs (xorshift, deterministic).
    let mut next = crate::xorshift(0x9e37_79b9);
    let values = [
        0u32,
        1,
        2,
        0x3f,
        0x40,
        0x5a4d,
        0x4550,
        0x10b,
        0x20b,
        0xe0,
        0xf0,
        0x60,
        0x70,
        0xffff,
        0x7fff_ffff,
        u32::MAX,
    ];
    let mut checked = 0;
    for data in fixtures() {
        let Some(view) = PeView::check(&data, data.len() as u64) else {
            continue;
        };
        let nt = view.nt_offset;
        // e_lfanew; Machine, NumberOfSections, SizeOfOptionalHeader; Magic;
        // NumberOfRvaAndSizes (PE32 and PE32+ places).
        let fields = [
            (0x3c, 4),
            (nt, 4),
            (nt + 6, 2),
            (nt + 20, 2),
            (nt + 24, 2),
            (nt + 24 + 92, 4),
            (nt + 24 + 108, 4),
        ];
        let set = |d: &mut Vec<u8>, (at, width): (usize, usize), v: u32| {
            if let Some(field) = d.get_mut(at..at + width) {
                field.copy_from_slice(&v.to_le_bytes()[..width]);
            }
        };
        for &field in &fields {
            for &v in &values {
                let mut d = data.clone();
                set(&mut d, field, v);
                agree(&d, d.len() as u64);
                agree(&d[..d.len().min(4096)], d.len() as u64);
                checked += 1;
            }
        }
        for _ in 0..2000 {
            let mut d = data.clone();
            for _ in 0..2 {
                let field = fields[next() as usize % fields.len()];
                let v = if next().is_multiple_of(2) {
                    values[next() as usize % values.len()]
                } else {
                    next() % 0x2000
                };
                set(&mut d, field, v);
            }
            let cut = (next() as usize % 8192).min(d.len());
            agree(&d, d.len() as u64);
            agree(&d[..cut], d.len() as u64);
            checked += 1;
        }
    }
    assert!(checked > 20_000, "only {checked} damaged files checked");
}
