#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../fixtures/pe/ok/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn put(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// File offset of the import directory entry (index 1) in `tiny-amd64-console.exe`.
const DIR: usize = 0xd0;

/// `tiny-amd64-console.exe` (PE32+, `.rdata` at file 0x400 / rva 0x2000, 0x200 bytes raw,
/// VirtualSize made 0x1000) with an import table built at rva 0x2100 (file 0x500): one
/// descriptor per entry of `dlls`, each naming `dllN.dll` (at rva 0x2180 + 16N) and importing
/// its thunks (top-bit ordinals included) from rva 0x21c0 on.
fn with_imports(dlls: &[&[u64]]) -> Vec<u8> {
    let mut b = fixture("tiny-amd64-console.exe");
    put(&mut b, 0x178, 0x1000); // .rdata VirtualSize
    put(&mut b, DIR, 0x2100);
    put(&mut b, DIR + 4, 40);
    let mut thunk_rva = 0x21c0u32;
    for (i, thunks) in dlls.iter().enumerate() {
        let d = 0x500 + i * 20;
        let name_rva = 0x2180 + i as u32 * 16;
        let name = format!("dll{i}.dll\0");
        let n = 0x400 + (name_rva as usize - 0x2000);
        b[n..n + name.len()].copy_from_slice(name.as_bytes());
        put(&mut b, d, thunk_rva); // OriginalFirstThunk
        put(&mut b, d + 12, name_rva);
        put(&mut b, d + 16, thunk_rva); // FirstThunk
        for (j, t) in thunks.iter().enumerate() {
            let at = 0x400 + (thunk_rva as usize - 0x2000) + j * 8;
            b[at..at + 8].copy_from_slice(&t.to_le_bytes());
        }
        thunk_rva += (thunks.len() as u32 + 1) * 8;
    }
    b
}

/// pefile's reading of the fixtures (DLL, functions by name), PE32+ and PE32 thunks.
#[test]
fn fixtures_read_as_pefile_reads_them() {
    let cases: [(&str, &[(&str, u32)]); 3] = [
        ("tiny-amd64-console.exe", &[]),
        (
            "markupsafe-3.0.2-speedups-win_amd64.pyd",
            &[
                ("python312.dll", 2),
                ("KERNEL32.dll", 15),
                ("VCRUNTIME140.dll", 4),
                ("api-ms-win-crt-runtime-l1-1-0.dll", 8),
            ],
        ),
        (
            "markupsafe-3.0.2-speedups-win32.pyd",
            &[
                ("python312.dll", 2),
                ("KERNEL32.dll", 12),
                ("VCRUNTIME140.dll", 4),
                ("api-ms-win-crt-runtime-l1-1-0.dll", 8),
            ],
        ),
    ];
    for (name, want) in cases {
        let data = fixture(name);
        let imports = summarize(&PeView::parse(&data).unwrap());
        assert!(imports.is_complete(), "{name}: {:?}", imports.errors);
        let got: Vec<(&str, u32)> = imports
            .dlls
            .iter()
            .map(|d| (d.name.as_str(), d.by_name))
            .collect();
        assert_eq!(got, want, "{name}");
        assert!(imports.dlls.iter().all(|d| d.by_ordinal == 0 && !d.delay));
    }
}

#[test]
fn built_tables_are_read_with_their_counts() {
    let data = with_imports(&[&[0x3000, 0x3010, 1 << 63 | 7], &[1 << 63 | 1]]);
    let view = PeView::parse(&data).unwrap();
    let imports = summarize(&view);
    assert!(imports.is_complete(), "{:?}", imports.errors);
    assert_eq!(
        imports.dlls,
        [
            ImportedDll {
                name: "dll0.dll".into(),
                by_name: 2,
                by_ordinal: 1,
                delay: false
            },
            ImportedDll {
                name: "dll1.dll".into(),
                by_name: 0,
                by_ordinal: 1,
                delay: false
            },
        ]
    );
    let thunks: Vec<_> = modules(&view).next().unwrap().unwrap().thunks().collect();
    assert_eq!(
        thunks,
        [
            Ok(Thunk::Name(0x3000)),
            Ok(Thunk::Name(0x3010)),
            Ok(Thunk::Ordinal(7))
        ]
    );
}

/// The loader's rules: the IAT names the functions when `OriginalFirstThunk` is 0 or
/// outside the image; `FirstThunk` 0 ends the table whatever `Name` says; a delay descriptor
/// is read from directory 13, RVA-based (`Attributes` bit 0) or, without the bit, as
/// addresses, which in a PE32+ image whose base is above 4 GiB cannot be.
#[test]
fn loader_rules() {
    let two = || with_imports(&[&[0x3000], &[1 << 63 | 2, 0x3000]]);
    let read = |b: &[u8]| summarize(&PeView::parse(b).unwrap());
    let counts = |i: &Imports| -> Vec<(String, u32, u32, bool)> {
        i.dlls
            .iter()
            .map(|d| (d.name.clone(), d.by_name, d.by_ordinal, d.delay))
            .collect()
    };
    let want = vec![
        ("dll0.dll".to_owned(), 1, 0, false),
        ("dll1.dll".to_owned(), 1, 1, false),
    ];
    for oft in [0u32, 0xffff_0000, 0x10] {
        let mut b = two();
        put(&mut b, 0x500, oft);
        put(&mut b, 0x514, oft);
        let i = read(&b);
        assert_eq!(counts(&i), want, "OriginalFirstThunk {oft:#x}");
    }
    // FirstThunk 0 ends the table at the second descriptor.
    let mut b = two();
    put(&mut b, 0x514 + 16, 0);
    assert_eq!(counts(&read(&b)), want[..1]);
    // dll1 delay-loaded: its import descriptor gone, a delay descriptor at rva 0x2140.
    let mut b = two();
    b[0x514..0x528].fill(0);
    put(&mut b, 0xc8 + 13 * 8, 0x2140);
    put(&mut b, 0xc8 + 13 * 8 + 4, 64);
    put(&mut b, 0x540, 1); // Attributes: dlattrRva
    put(&mut b, 0x544, 0x2190); // DllNameRVA
    put(&mut b, 0x550, 0x21d0); // ImportNameTableRVA
    let i = read(&b);
    assert!(i.is_complete(), "{:?}", i.errors);
    assert_eq!(
        counts(&i),
        [want[0].clone(), ("dll1.dll".to_owned(), 1, 1, true)]
    );
    put(&mut b, 0x540, 0);
    let i = read(&b);
    assert_eq!(counts(&i), want[..1]);
    assert!(
        matches!(i.errors.as_slice(), [p] if p.to_string().contains("DllNameRVA of descriptor 0 va 0x2190 is below ImageBase")),
        "{:?}",
        i.errors
    );
}

#[test]
fn damage_is_reported_and_bounded() {
    // The directory in no section.
    let mut b = with_imports(&[&[0x3000]]);
    put(&mut b, DIR, 0x9_0000);
    let imports = summarize(&PeView::parse(&b).unwrap());
    assert!(imports.dlls.is_empty());
    assert!(
        matches!(imports.errors.as_slice(), [p] if p.to_string().contains("descriptor 0 rva 0x90000 is in no section")),
        "{:?}",
        imports.errors
    );
    // A name with no NUL: the rest of the section's raw data, then zeros in memory, end it
    // (the loader reads memory); a name pointing into unmapped space is an error.
    let mut b = with_imports(&[&[0x3000]]);
    put(&mut b, 0x500 + 12, 0x1_0000);
    let imports = summarize(&PeView::parse(&b).unwrap());
    assert!(imports.dlls.is_empty());
    assert!(
        imports.errors[0]
            .to_string()
            .contains("name of descriptor 0")
    );
    // Descriptors without end: the whole .rdata is descriptors naming one DLL, then
    // zero-filled memory ends the table; nothing panics, the count stays bounded.
    let mut b = with_imports(&[&[0x3000]]);
    for d in (0x514..0x600).step_by(20) {
        b.copy_within(0x500..0x514, d);
    }
    let imports = summarize(&PeView::parse(&b).unwrap());
    assert!(imports.dlls.len() <= MAX_DESCRIPTORS);
    // Thunks that run off the end of a truncated file.
    let b = with_imports(&[&[0x3000, 0x3008]]);
    let cut = &b[..0x5c4];
    let imports = summarize(&PeView::parse(cut).unwrap());
    assert!(
        imports
            .errors
            .iter()
            .any(|e| e.to_string().contains("past the end of the file")),
        "{:?}",
        imports.errors
    );
}

/// Every prefix and a few thousand damaged variants of real import tables: never a panic,
/// never more descriptors or thunks than the limits.
#[test]
fn damaged_real_tables_never_panic() {
    let mut next = crate::xorshift(0x1234_5678);
    for name in [
        "markupsafe-3.0.2-speedups-win_amd64.pyd",
        "tiny-amd64-loadconfig-go127.exe",
    ] {
        let data = fixture(name);
        let view = PeView::parse(&data).unwrap();
        let dir = view.data_directory(IMAGE_DIRECTORY_ENTRY_IMPORT).unwrap();
        let at = view.rva_to_file_offset(dir.virtual_address).unwrap() as usize;
        for _ in 0..3000 {
            let mut d = data.clone();
            for _ in 0..4 {
                let i = at + (next() as usize % 256);
                if i < d.len() {
                    d[i] = next() as u8;
                }
            }
            if let Ok(v) = PeView::parse(&d) {
                let s = summarize(&v);
                assert!(s.dlls.len() <= 2 * MAX_DESCRIPTORS);
            }
        }
    }
}
