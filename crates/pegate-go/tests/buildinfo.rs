//! The build-info reader against `go version -m` on real Go binaries (Go provisioned by pegate
//! itself, the pinned version and the older one), the cross-checks on them, and hostile blobs.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pegate_go::buildinfo::{self, BuildInfo};
use pegate_go::crosscheck::{self, Outcome};
use pegate_go::matrix::{self, MatrixSpec, Target, Variant};
use pegate_go::toolchain::{self, Toolchain};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

fn cache() -> PathBuf {
    workspace().join("target").join("pegate-go")
}

/// Under Wine 8 `go build` writes the binary and then exits 1 removing its temp dir (`unlinkat
/// ... a.out.exe: Invalid function`), so tests of Go builds stop, saying so; real Windows runs them.
fn go_build_fails_here() -> bool {
    let wine = cfg!(windows) && std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists();
    if wine {
        eprintln!(
            "skipped under Wine: Wine 8's go build writes the binary, then exits 1 (unlinkat ... a.out.exe: Invalid function)"
        );
    }
    wine
}

struct Built {
    tc: Toolchain,
    files: Vec<PathBuf>,
    _dir: tempfile::TempDir,
}

/// Builds hello for the three windows targets and three variants, once per Go version.
fn built(version: &'static str) -> &'static Built {
    static NEW: OnceLock<Built> = OnceLock::new();
    static OLD: OnceLock<Built> = OnceLock::new();
    let cell = if version == toolchain::DEFAULT_GO_VERSION {
        &NEW
    } else {
        &OLD
    };
    cell.get_or_init(|| {
        let tc = toolchain::provision(version, &cache()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut spec =
            MatrixSpec::reference(workspace().join("fixtures/hello"), dir.path(), cache());
        spec.targets = matrix::REFERENCE_GOARCHES.map(Target::windows).to_vec();
        spec.variants = Variant::ALL.to_vec();
        let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
        assert!(report.all_ok(), "{report:#?}");
        let files = report.artifacts().map(|a| a.path.clone()).collect();
        Built {
            tc,
            files,
            _dir: dir,
        }
    })
}

/// `go version -m FILE` parsed into (go version, path, settings).
fn go_version_m(tc: &Toolchain, file: &Path) -> (String, String, BTreeMap<String, String>) {
    let out = tc
        .command()
        .args(["version", "-m"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    let version = first.rsplit(' ').next().unwrap().to_owned();
    let (mut path, mut settings) = (String::new(), BTreeMap::new());
    for line in lines {
        let fields: Vec<&str> = line.trim_start().splitn(2, '\t').collect();
        match fields[0] {
            "path" => path = fields[1].to_owned(),
            "build" => {
                let (k, v) = fields[1].split_once('=').unwrap();
                // `go version -m` prints quoted values quoted; compare unquoted.
                settings.insert(k.to_owned(), v.trim_matches('"').to_owned());
            }
            _ => {}
        }
    }
    (version, path, settings)
}

fn check_against_go(version: &'static str) {
    let b = built(version);
    assert_eq!(b.files.len(), 9);
    for file in &b.files {
        let ours = buildinfo::read_path(file).unwrap().expect("a Go binary");
        let bytes = std::fs::read(file).unwrap();
        let in_memory = buildinfo::read(&pegate_pe::PeView::parse(&bytes).unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(
            ours,
            in_memory,
            "read_path and read agree on {}",
            file.display()
        );
        // The bounded search of the default `pegate inspect` object finds the same blob.
        let bounded = pegate_pe::with_headers(file, |f, view| {
            buildinfo::read_file_with(f, view, buildinfo::Search::Bounded)
        })
        .unwrap()
        .unwrap();
        assert_eq!(
            bounded,
            Some(ours.clone()),
            "bounded search on {}",
            file.display()
        );
        let (go_version, path, settings) = go_version_m(&b.tc, file);
        assert_eq!(ours.go_version, go_version, "{}", file.display());
        assert_eq!(ours.path, path);
        let ours_settings: BTreeMap<String, String> = ours
            .settings
            .iter()
            .map(|s| (s.key.clone(), s.value.clone()))
            .collect();
        assert_eq!(ours_settings, settings, "{}", file.display());
        assert_eq!(ours.format, "inline");
        assert!(
            ours.build_id.as_deref().is_some_and(|id| id.contains('/')),
            "build id: {:?}",
            ours.build_id
        );

        // Every cross-check passes on what Go built by default.
        let summary = pegate_pe::inspect_path(file, &pegate_pe::InspectOptions::default()).unwrap();
        for f in crosscheck::check(&summary, &ours) {
            assert_ne!(f.status, Outcome::Fail, "{}: {f:?}", file.display());
        }
    }
}

#[test]
fn matches_go_version_m_for_the_pinned_go() {
    if go_build_fails_here() {
        return;
    }
    check_against_go(toolchain::DEFAULT_GO_VERSION);
}

#[test]
fn matches_go_version_m_for_the_older_go() {
    if go_build_fails_here() {
        return;
    }
    check_against_go("1.23.9");
}

fn info_with(settings: &[(&str, &str)]) -> BuildInfo {
    let mut info: BuildInfo = serde_json::from_value(serde_json::json!({
        "go_version": "go1.27.3", "path": "example.com/hello", "main": null, "deps": [],
        "settings": [], "build_id": null, "format": "inline", "ptr_size": 8, "offset": 0
    }))
    .unwrap();
    for (k, v) in settings {
        info.settings.push(buildinfo::Setting {
            key: (*k).into(),
            value: (*v).into(),
        });
    }
    info
}

fn summary_of(fixture: &str) -> pegate_pe::PeSummary {
    pegate_pe::inspect_path(
        &workspace().join("fixtures/pe/ok").join(fixture),
        &Default::default(),
    )
    .unwrap()
}

fn status(findings: &[crosscheck::Finding], id: &str) -> Outcome {
    findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("{id} missing: {findings:?}"))
        .status
}

#[test]
fn cross_checks_fail_when_header_and_build_info_disagree() {
    // The tiny fixtures have DYNAMIC_BASE but no base relocation directory: ASLR is not real.
    let amd64 = summary_of("tiny-amd64-console.exe");
    let f = crosscheck::check(
        &amd64,
        &info_with(&[
            ("GOOS", "linux"),
            ("GOARCH", "arm64"),
            ("-ldflags", "-H=windowsgui"),
        ]),
    );
    assert_eq!(status(&f, "go.goos"), Outcome::Fail);
    assert_eq!(status(&f, "go.goarch-machine"), Outcome::Fail);
    assert_eq!(status(&f, "go.gui-subsystem"), Outcome::Fail);
    assert_eq!(status(&f, "go.aslr"), Outcome::Fail);
    assert_eq!(status(&f, "go.high-entropy-va"), Outcome::Pass);

    let gui = summary_of("tiny-arm64-gui.exe");
    let f = crosscheck::check(
        &gui,
        &info_with(&[
            ("GOOS", "windows"),
            ("GOARCH", "arm64"),
            ("-ldflags", "-s -w -H windowsgui"),
        ]),
    );
    assert_eq!(status(&f, "go.goos"), Outcome::Pass);
    assert_eq!(status(&f, "go.goarch-machine"), Outcome::Pass);
    assert_eq!(status(&f, "go.gui-subsystem"), Outcome::Pass);

    let f = crosscheck::check(&gui, &info_with(&[("-trimpath", "true")]));
    assert_eq!(status(&f, "go.gui-subsystem"), Outcome::NotApplicable);
    assert_eq!(status(&f, "go.goarch-machine"), Outcome::NotApplicable);
}

#[test]
fn buildmode_exe_loses_aslr_and_the_crosscheck_says_so() {
    if go_build_fails_here() {
        return;
    }
    let b = built(toolchain::DEFAULT_GO_VERSION);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("exe.exe");
    let run =
        b.tc.windows_build(pegate_facts::GoArch::Amd64, &cache().join("gocache"))
            .current_dir(workspace().join("fixtures/hello"))
            .args(["-buildmode=exe", "-o"])
            .arg(&out)
            .arg(".")
            .output()
            .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let info = buildinfo::read_path(&out).unwrap().unwrap();
    assert_eq!(info.setting("-buildmode"), Some("exe"));
    let summary = pegate_pe::inspect_path(&out, &Default::default()).unwrap();
    let f = crosscheck::check(&summary, &info);
    assert_eq!(status(&f, "go.aslr"), Outcome::Fail, "{f:?}");
    assert_eq!(status(&f, "go.high-entropy-va"), Outcome::NotApplicable);
}

/// A minimal PE32+ whose .data holds `blob` at offset 0.
fn pe_with_data(blob: &[u8]) -> Vec<u8> {
    let base = std::fs::read(workspace().join("fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
    // tiny-amd64-console.exe: .data is the third section, raw data at 0x600, 0x200 bytes.
    let mut pe = base;
    let n = blob.len().min(0x200);
    pe[0x600..0x600 + n].copy_from_slice(&blob[..n]);
    pe
}

fn header(flags: u8, ptr: u8) -> Vec<u8> {
    let mut h = buildinfo::MAGIC.to_vec();
    h.push(ptr);
    h.push(flags);
    h.resize(32, 0);
    h
}

#[test]
fn synthetic_inline_blob_and_hostile_lengths() {
    let mut blob = header(2, 8);
    blob.push(8);
    blob.extend_from_slice(b"go1.99.0");
    let mut modinfo = vec![0x55u8; 16];
    modinfo.extend_from_slice(b"path\tx.y/z\nbuild\tGOARCH=amd64\nbuild\tGOOS=windows\n");
    modinfo.extend_from_slice(&[0xaa; 16]);
    blob.push(modinfo.len() as u8);
    blob.extend_from_slice(&modinfo);
    let pe = pe_with_data(&blob);
    let info = buildinfo::read(&pegate_pe::PeView::parse(&pe).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(info.go_version, "go1.99.0");
    assert_eq!(info.path, "x.y/z");
    assert_eq!(info.setting("GOOS"), Some("windows"));
    assert_eq!(info.offset, 0x600);

    // A length that promises more than the section holds is an error, not an allocation.
    let mut hostile = header(2, 8);
    hostile.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let err =
        buildinfo::read(&pegate_pe::PeView::parse(&pe_with_data(&hostile)).unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "malformed go build info at file offset 0x600: bad go version string"
    );

    // Pointer format whose string headers point nowhere.
    let mut ptrs = header(0, 8);
    ptrs[16..24].copy_from_slice(&0xdead_beef_u64.to_le_bytes());
    let err =
        buildinfo::read(&pegate_pe::PeView::parse(&pe_with_data(&ptrs)).unwrap()).unwrap_err();
    assert!(err.to_string().contains("points outside the file"), "{err}");

    let bad_ptr = header(0, 3);
    let err =
        buildinfo::read(&pegate_pe::PeView::parse(&pe_with_data(&bad_ptr)).unwrap()).unwrap_err();
    assert!(err.to_string().contains("pointer size 3"), "{err}");

    // Not on a 16-byte boundary: not found, like debug/buildinfo.
    let mut shifted = vec![0u8; 8];
    shifted.extend_from_slice(&blob);
    assert_eq!(
        buildinfo::read(&pegate_pe::PeView::parse(&pe_with_data(&shifted)).unwrap()).unwrap(),
        None
    );
    // Not a Go binary at all.
    assert_eq!(
        buildinfo::read_path(
            &workspace().join("fixtures/pe/ok/markupsafe-3.0.2-speedups-win_amd64.pyd")
        )
        .unwrap(),
        None
    );
}

#[test]
fn synthetic_pointer_format_big_endian() {
    // Go < 1.18 layout: the header holds VAs of Go string headers (ptr, len) in .data itself.
    // tiny-amd64-console.exe: image base 0x1_4000_0000, .data at RVA 0x3000 / file 0x600.
    let base = 0x1_4000_3000u64;
    let mut blob = header(1, 8); // big-endian, pointer format
    blob[16..24].copy_from_slice(&(base + 0x40).to_be_bytes());
    blob[24..32].copy_from_slice(&(base + 0x50).to_be_bytes());
    blob.resize(0x80, 0);
    let version = b"go1.16.15";
    let modinfo = b"path\told/thing\n";
    blob[0x40..0x48].copy_from_slice(&(base + 0x60).to_be_bytes());
    blob[0x48..0x50].copy_from_slice(&(version.len() as u64).to_be_bytes());
    blob[0x50..0x58].copy_from_slice(&(base + 0x70).to_be_bytes());
    blob[0x58..0x60].copy_from_slice(&(modinfo.len() as u64).to_be_bytes());
    blob[0x60..0x60 + version.len()].copy_from_slice(version);
    blob[0x70..0x70 + modinfo.len()].copy_from_slice(modinfo);
    let info = buildinfo::read(&pegate_pe::PeView::parse(&pe_with_data(&blob)).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(info.format, "pointer");
    assert_eq!(info.go_version, "go1.16.15");
    assert_eq!(info.path, "old/thing");
}
