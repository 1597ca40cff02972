//! Data-driven tests over `fixtures/pe`: every file in `ok/` is summarised (snapshot), agrees
//! with goblin, object and `file`, and survives every truncation; every file in `err/` gives
//! its structured error (snapshot). Adding a case is adding a file.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::{Path, PathBuf};

use pegate_pe::{
    InspectOptions, PeView, describe, inspect_headers, inspect_headers_paths, inspect_path,
    summarize,
};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pe")
        .join(kind);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no fixtures in {}", dir.display());
    files
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn ok_fixtures_summaries() {
    for path in fixtures("ok") {
        let data = std::fs::read(&path).unwrap();
        let summary = summarize(&PeView::parse(&data).unwrap());
        insta::with_settings!({snapshot_suffix => name(&path), prepend_module_to_snapshot => false}, {
            insta::assert_yaml_snapshot!("summary", summary);
        });
    }
}

#[test]
fn inspect_path_reads_the_same_as_a_whole_file_parse() {
    for path in fixtures("ok") {
        let data = std::fs::read(&path).unwrap();
        let whole = summarize(&PeView::parse(&data).unwrap());
        let mut from_disk = inspect_path(&path, &InspectOptions::default()).unwrap();
        // A file that fits in the first read is whole in memory: its checksum comes for free.
        if data.len() > 4096 {
            assert_eq!(
                from_disk.computed_checksum,
                None,
                "{}: checksum read without asking",
                name(&path)
            );
        }
        from_disk.computed_checksum = whole.computed_checksum;
        assert_eq!(from_disk, whole, "{}", name(&path));
        let with_sum = inspect_path(&path, &InspectOptions::default().with_checksum(true)).unwrap();
        assert_eq!(with_sum, whole, "{}", name(&path));
    }
}

/// Without long section names, the summary is the same but for those names, left as `/N` with
/// no problem reported for them (`partial-longname-past-eof.exe` has one when they are resolved),
/// and nothing read for them (`tiny-amd64-longnames-far.exe` holds its string table far from its
/// headers).
#[test]
fn raw_long_names_change_only_the_long_names() {
    let mut far = 0;
    for path in fixtures("ok") {
        let resolved = inspect_path(&path, &InspectOptions::default()).unwrap();
        let raw =
            inspect_path(&path, &InspectOptions::default().with_raw_long_names(true)).unwrap();
        let data = std::fs::read(&path).unwrap();
        let view = PeView::parse(&data).unwrap();
        let mut expected = resolved.clone();
        for (section, header) in expected.sections.iter_mut().zip(view.sections()) {
            if header.name[0] == b'/' {
                let end = header.name.iter().position(|&b| b == 0).unwrap_or(8);
                section.name = pegate_pe::SectionName::from_bytes(&header.name[..end]);
            }
        }
        // What resolving those names reported goes too.
        expected.errors.retain(
            |e| !matches!(e, pegate_pe::Problem::SectionName { raw, .. } if raw.starts_with('/')),
        );
        assert_eq!(raw, expected, "{}", name(&path));
        if name(&path) == "tiny-amd64-longnames-far.exe" {
            assert!(
                raw.sections
                    .iter()
                    .any(|s| s.name.as_str().starts_with('/'))
            );
            assert!(
                resolved
                    .sections
                    .iter()
                    .all(|s| !s.name.as_str().starts_with('/'))
            );
            far += 1;
        }
    }
    assert_eq!(far, 1);
}

/// The allocation-free header summary says what the full summary says, from disk or memory.
#[test]
fn headers_agree_with_the_summary() {
    let paths = fixtures("ok");
    let batch = inspect_headers_paths(&paths);
    for (path, from_batch) in paths.iter().zip(batch) {
        let data = std::fs::read(path).unwrap();
        let h = PeView::parse(&data).unwrap().headers();
        assert_eq!(inspect_headers(path).unwrap(), h, "{}", name(path));
        assert_eq!(from_batch.unwrap(), h, "{}", name(path));
        let s = summarize(&PeView::parse(&data).unwrap());
        let what = name(path);
        // The summary embeds the headers the fast path reads: one read, the same fields.
        assert_eq!(s.headers, h, "{what}");
        assert_eq!(h.machine_name(), s.headers.machine.to_string(), "{what}");
        assert_eq!(
            usize::from(h.number_of_sections),
            s.sections.len(),
            "{what}"
        );
    }
    for path in fixtures("err") {
        let data = std::fs::read(&path).unwrap();
        let from_disk = inspect_headers(&path).map_err(|e| e.to_string());
        let in_memory = PeView::parse(&data)
            .map(|v| v.headers())
            .map_err(|e| e.to_string());
        assert_eq!(from_disk.is_ok(), in_memory.is_ok(), "{}", name(&path));
    }
}

#[test]
fn err_fixtures_give_structured_errors() {
    for path in fixtures("err") {
        let data = std::fs::read(&path).unwrap();
        let err = PeView::parse(&data).unwrap_err();
        let on_disk = inspect_path(&path, &InspectOptions::default()).unwrap_err();
        assert_eq!(on_disk.to_string(), err.to_string(), "{}", name(&path));
        insta::with_settings!({snapshot_suffix => name(&path), prepend_module_to_snapshot => false}, {
            insta::assert_snapshot!("error", format!("{err}\nnot_pe: {}", err.is_not_pe()));
        });
    }
}

#[test]
fn every_truncation_of_every_fixture_parses_or_errors() {
    for path in fixtures("ok").into_iter().chain(fixtures("err")) {
        let data = std::fs::read(&path).unwrap();
        for len in 0..data.len().min(8192) {
            let prefix = &data[..len];
            if let Ok(view) = PeView::parse(prefix) {
                let s = summarize(&view);
                let _ = describe(&s);
            }
        }
    }
}

/// Machine, subsystem, flags, directories and sections agree with goblin's and object's parses.
/// Machine, subsystem, DllCharacteristics, section count and non-empty directory count, as
/// object's own PE reader sees them.
fn object_facts<Pe: object::read::pe::ImageNtHeaders>(
    data: &[u8],
    what: &str,
) -> (u16, u16, u16, usize, usize) {
    use object::read::pe::ImageOptionalHeader as _;
    let f = object::read::pe::PeFile::<Pe>::parse(data)
        .unwrap_or_else(|e| panic!("object rejects {what}: {e}"));
    let nt = f.nt_headers();
    (
        nt.file_header().machine.get(object::LittleEndian).0,
        nt.optional_header().subsystem().0,
        nt.optional_header().dll_characteristics().0,
        f.section_table().len(),
        f.data_directories()
            .iter()
            .filter(|d| {
                d.virtual_address.get(object::LittleEndian) != 0
                    || d.size.get(object::LittleEndian) != 0
            })
            .count(),
    )
}

#[test]
fn differential_against_goblin_and_object() {
    for path in fixtures("ok") {
        let data = std::fs::read(&path).unwrap();
        let ours = summarize(&PeView::parse(&data).unwrap());
        let what = name(&path);

        let g = match goblin::pe::PE::parse(&data) {
            Ok(g) => g,
            Err(e) => {
                // goblin parses eagerly and gives up on a broken optional part; pegate must
                // summarise the headers and say what is broken.
                assert!(
                    !ours.errors.is_empty(),
                    "goblin rejects {what} ({e}) but pegate saw no problem"
                );
                continue;
            }
        };
        assert_eq!(
            g.header.coff_header.machine, ours.headers.machine.0,
            "{what}: machine"
        );
        assert_eq!(
            u32::from(g.header.coff_header.characteristics),
            ours.headers.characteristics.raw,
            "{what}"
        );
        let oh = g.header.optional_header.unwrap();
        assert_eq!(
            oh.windows_fields.subsystem, ours.headers.subsystem.0,
            "{what}: subsystem"
        );
        assert_eq!(
            u32::from(oh.windows_fields.dll_characteristics),
            ours.headers.dll_characteristics.raw,
            "{what}"
        );
        assert_eq!(
            oh.windows_fields.image_base, ours.headers.image_base,
            "{what}"
        );
        assert_eq!(oh.windows_fields.check_sum, ours.headers.checksum, "{what}");
        assert_eq!(g.is_64, ours.headers.pe32_plus, "{what}");
        assert_eq!(g.sections.len(), ours.sections.len(), "{what}: sections");
        for (gs, os) in g.sections.iter().zip(&ours.sections) {
            assert_eq!(
                gs.virtual_address, os.virtual_address,
                "{what}: {}",
                os.name
            );
            assert_eq!(gs.size_of_raw_data, os.raw_size, "{what}: {}", os.name);
            assert_eq!(gs.pointer_to_raw_data, os.raw_offset, "{what}: {}", os.name);
            assert_eq!(
                gs.characteristics, os.characteristics.raw,
                "{what}: {}",
                os.name
            );
            if !what.starts_with("partial-longname") {
                // goblin resolves "/N" names through the string table too.
                let gname = gs.name().map(str::to_owned).unwrap_or_default();
                if !gname.starts_with('/') {
                    assert_eq!(gname, os.name.as_str(), "{what}");
                }
            }
        }
        let gdirs: Vec<(u32, u32)> = oh
            .data_directories
            .dirs()
            .map(|(_, d)| (d.virtual_address, d.size))
            .collect();
        let odirs: Vec<(u32, u32)> = ours
            .data_directories
            .iter()
            .map(|d| (d.virtual_address, d.size))
            .collect();
        assert_eq!(gdirs, odirs, "{what}: data directories");

        // object: the same facts through its own reader.
        let (machine, subsystem, dll, nsec, dirs) = if ours.headers.pe32_plus {
            object_facts::<object::pe::ImageNtHeaders64>(&data, &what)
        } else {
            object_facts::<object::pe::ImageNtHeaders32>(&data, &what)
        };
        assert_eq!(
            (machine, subsystem, u32::from(dll)),
            (
                ours.headers.machine.0,
                ours.headers.subsystem.0,
                ours.headers.dll_characteristics.raw
            ),
            "{what}: object"
        );
        assert_eq!(nsec, ours.sections.len(), "{what}: object sections");
        assert_eq!(
            dirs,
            ours.data_directories.len(),
            "{what}: object directories"
        );
    }
}

/// `describe` agrees with `file` (libmagic) on every fixture; `file` is installed here and in CI.
#[test]
fn describe_agrees_with_file() {
    if cfg!(windows) {
        eprintln!("skipped on Windows: `file` (libmagic) is a Linux tool");
        return;
    }
    let files = fixtures("ok");
    let out = std::process::Command::new("file")
        .arg("--brief")
        .args(&files)
        .output()
        .expect("the `file` command is needed for this test: apt-get install file");
    assert!(out.status.success());
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), files.len());
    for (path, theirs) in files.iter().zip(lines) {
        let data = std::fs::read(path).unwrap();
        let s = summarize(&PeView::parse(&data).unwrap());
        let ours = describe(&s);
        let ours = match &s.hybrid {
            Some(h) => ours.trim_end_matches(&format!(", {h} hybrid")).to_owned(),
            None => ours,
        };
        assert_eq!(ours, theirs, "{}", name(path));
    }
}

/// `fixtures/pe/loader`: files the Windows loader reads differently from what the PE
/// specification says a linker writes (issue 13). Each is summarised as the loader sees it
/// (snapshot), with the oddity in `errors`, the same from disk as from memory.
#[test]
fn loader_fixtures_summaries() {
    for path in fixtures("loader") {
        let data = std::fs::read(&path).unwrap();
        let what = name(&path);
        let view = PeView::parse(&data).unwrap_or_else(|e| panic!("{what}: {e}"));
        let summary = summarize(&view);
        let mut from_disk = inspect_path(&path, &InspectOptions::default())
            .unwrap_or_else(|e| panic!("{what} from disk: {e}"));
        from_disk.computed_checksum = summary.computed_checksum;
        assert_eq!(from_disk, summary, "{what}");
        assert_eq!(inspect_headers(&path).unwrap(), view.headers(), "{what}");
        let _ = describe(&summary);
        insta::with_settings!({snapshot_suffix => what, prepend_module_to_snapshot => false}, {
            insta::assert_yaml_snapshot!("loader", summary);
        });
    }
}

/// Headers that reach past the 4 MiB pegate reads for them are reported as such, with the real
/// file length, not the length of the bytes read (a sparse file, so nothing is written).
#[test]
fn headers_past_the_read_cap_say_so() {
    let path = std::env::temp_dir().join(format!("pegate-cap-{}.exe", std::process::id()));
    let file = std::fs::File::create(&path).unwrap();
    let mut head = vec![0u8; 0x40];
    head[..2].copy_from_slice(b"MZ");
    head[0x3c..0x40].copy_from_slice(&0x0050_0000u32.to_le_bytes()); // e_lfanew 5 MiB
    std::io::Write::write_all(&mut &file, &head).unwrap();
    file.set_len(0x0060_0000).unwrap();
    let err = inspect_headers(&path).unwrap_err().to_string();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        err,
        "PE signature needs bytes 0x500000..0x500004, past the 0x400000 bytes pegate reads for headers (the file has 0x600000)"
    );
}
