//! What the matrix builder promises: artifacts, hashes, command lines, failures per cell.

use std::fs;
use std::path::Path;

use pegate_go::Error;
use pegate_go::matrix::{self, CellErrorKind, MatrixSpec, Target, Variant};
use pegate_go::toolchain;

use crate::{Built, cache, go, hello_dir, older, pinned};

/// The machine field of a PE file, read by hand so this test does not depend on pegate-pe.
fn pe_machine(path: &Path) -> u16 {
    let bytes = fs::read(path).unwrap();
    assert_eq!(&bytes[..2], b"MZ");
    let lfanew = u32::from_le_bytes(bytes[0x3c..0x40].try_into().unwrap()) as usize;
    assert_eq!(&bytes[lfanew..lfanew + 4], b"PE\0\0");
    u16::from_le_bytes(bytes[lfanew + 4..lfanew + 6].try_into().unwrap())
}

#[track_caller]
fn assert_clean_out_dir(dir: &Path) {
    let leftovers: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[track_caller]
fn check_reference(built: &Built) {
    let report = &built.report;
    assert_eq!(report.go_version, built.tc.version);
    assert_eq!(report.cells.len(), 9);
    assert!(
        report.all_ok(),
        "{:#?}",
        report.failures().collect::<Vec<_>>()
    );
    let names: Vec<_> = report.cells.iter().map(|c| c.cell.name()).collect();
    let v = &built.tc.version;
    assert_eq!(
        names,
        ["amd64", "arm64", "386"]
            .iter()
            .flat_map(|a| ["console", "gui", "stripped"].map(|x| format!("{v}-windows-{a}-{x}")))
            .collect::<Vec<_>>()
    );
    for artifact in report.artifacts() {
        let cell = &artifact.cell;
        let file_name = format!("hello-{}.exe", cell.name());
        assert_eq!(
            artifact.path,
            fs::canonicalize(built.out.path()).unwrap().join(&file_name)
        );
        assert_eq!(
            toolchain::sha256_file(&artifact.path).unwrap(),
            artifact.sha256
        );
        assert_eq!(fs::metadata(&artifact.path).unwrap().len(), artifact.size);
        assert_eq!(artifact.go_version, built.tc.version);
        let machine = match cell.goarch.as_str() {
            "amd64" => 0x8664,
            "arm64" => 0xaa64,
            "386" => 0x14c,
            other => panic!("unexpected arch {other}"),
        };
        assert_eq!(pe_machine(&artifact.path), machine, "{cell}");
        let ldflags = match cell.variant {
            Variant::Console => vec![],
            Variant::Gui => vec!["-ldflags=-H=windowsgui".to_owned()],
            Variant::Stripped => vec!["-ldflags=-s -w".to_owned()],
        };
        let mut expected = vec![
            built.tc.go.display().to_string(),
            "build".to_owned(),
            "-trimpath".to_owned(),
            "-buildvcs=false".to_owned(),
        ];
        expected.extend(ldflags);
        expected.extend([
            "-o".to_owned(),
            artifact.path.display().to_string(),
            ".".to_owned(),
        ]);
        assert_eq!(artifact.command, expected);
        assert_eq!(
            artifact.env,
            [
                "GOOS=windows".to_owned(),
                format!("GOARCH={}", cell.goarch),
                "CGO_ENABLED=0".to_owned()
            ]
        );
    }
    assert_clean_out_dir(built.out.path());
}

#[test]
fn the_pinned_reference_matrix_builds_every_cell() {
    if crate::go_build_fails_here() {
        return;
    }
    check_reference(pinned());
}

#[test]
fn the_older_reference_matrix_builds_every_cell() {
    if crate::go_build_fails_here() {
        return;
    }
    check_reference(older());
}

#[test]
fn stripped_is_smaller_and_variants_differ() {
    if crate::go_build_fails_here() {
        return;
    }
    let report = &pinned().report;
    for arch in ["amd64", "arm64", "386"] {
        let of = |v: Variant| {
            report
                .artifacts()
                .find(|a| a.cell.goarch.as_str() == arch && a.cell.variant == v)
                .unwrap()
        };
        let (console, gui, stripped) = (
            of(Variant::Console),
            of(Variant::Gui),
            of(Variant::Stripped),
        );
        assert!(stripped.size < console.size, "{arch}");
        assert_ne!(console.sha256, gui.sha256, "{arch}");
    }
}

fn one_cell_spec(out: &Path, targets: &[&str], variants: &[Variant]) -> MatrixSpec {
    let mut spec = MatrixSpec::reference(hello_dir(), out, cache());
    spec.targets = targets.iter().map(|t| Target::parse(t).unwrap()).collect();
    spec.variants = variants.to_vec();
    spec
}

#[test]
fn a_failing_cell_reports_its_stderr_while_the_others_finish() {
    if crate::go_build_fails_here() {
        return;
    }
    let tc = go(toolchain::DEFAULT_GO_VERSION);
    let src = tempfile::tempdir().unwrap();
    for name in ["hello.go", "go.mod"] {
        fs::copy(hello_dir().join(name), src.path().join(name)).unwrap();
    }
    // Only the arm64 build sees this file, and it does not compile.
    fs::write(
        src.path().join("broken_arm64.go"),
        "package main\n\nvar broken int = \"not an int\"\n",
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut spec = one_cell_spec(
        out.path(),
        &["windows/amd64", "windows/arm64"],
        &[Variant::Console],
    );
    spec.source_dir = src.path().to_path_buf();
    let events = std::sync::Mutex::new(Vec::new());
    let report = matrix::build(&tc, &spec, &|e| {
        events.lock().unwrap().push(format!("{e:?}"))
    })
    .unwrap();
    assert_eq!(
        events.lock().unwrap().len(),
        4,
        "a start and a finish per cell"
    );
    assert!(!report.all_ok());
    let amd64 = &report.cells[0];
    assert!(amd64.error().is_none(), "{:?}", amd64.error());
    assert!(amd64.artifact().unwrap().path.is_file());
    let arm64 = &report.cells[1];
    assert!(arm64.artifact().is_none());
    let error = arm64.error().unwrap();
    assert_eq!(error.kind, CellErrorKind::BuildFailed);
    let name = src
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        error.message.starts_with(&format!(
            "cell {}-windows-arm64-console: go build failed (exit status: 1)",
            tc.version
        )),
        "{}",
        error.message
    );
    assert!(
        error.stderr.contains("broken_arm64.go:3:"),
        "{}",
        error.stderr
    );
    assert!(
        error.stderr.contains("cannot use \"not an int\""),
        "{}",
        error.stderr
    );
    assert!(
        error.command.iter().any(|a| a == "-trimpath"),
        "{:?} {name}",
        error.command
    );
    // Nothing of the failed cell is left in the output directory.
    assert_clean_out_dir(out.path());
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 1);
}

#[test]
fn unknown_targets_fail_their_cells_with_a_clear_message_before_building() {
    if crate::go_build_fails_here() {
        return;
    }
    let tc = go(toolchain::DEFAULT_GO_VERSION);
    let out = tempfile::tempdir().unwrap();
    let spec = one_cell_spec(
        out.path(),
        &["windows/arm", "windows/mips", "windows/amd64"],
        &[Variant::Stripped],
    );
    let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
    let messages: Vec<_> = report
        .cells
        .iter()
        .map(|c| c.error().map(|e| (e.kind, e.message.clone())))
        .collect();
    let v = &tc.version;
    assert_eq!(
        messages,
        [
            Some((
                CellErrorKind::UnknownTarget,
                format!(
                    "cell {v}-windows-arm-stripped: windows/arm was removed in Go 1.26 (golang/go#71671), \
                     so {v} cannot build it; drop windows/arm from the matrix or use Go 1.25 or older \
                     (where it is already marked broken)"
                )
            )),
            Some((
                CellErrorKind::UnknownTarget,
                format!(
                    "cell {v}-windows-mips-stripped: windows/mips is not a port of {v} \
                     (not in `go tool dist list`; removed, broken or misspelled)"
                )
            )),
            None,
        ]
    );
}

#[test]
fn a_missing_source_names_the_directory() {
    let tc = go(toolchain::DEFAULT_GO_VERSION);
    let empty = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    for dir in [empty.path().to_path_buf(), empty.path().join("nope")] {
        let spec = MatrixSpec::reference(&dir, out.path(), cache());
        let err = matrix::build(&tc, &spec, &|_| {}).unwrap_err();
        assert!(matches!(err, Error::MissingSource { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "go source not found: {} (expected a package directory with a .go file, e.g. fixtures/hello/hello.go)",
                dir.display()
            )
        );
    }
    assert_eq!(fs::read_dir(out.path()).unwrap().count(), 0);
    assert!(matches!(
        Target::parse("windows"),
        Err(Error::InvalidMatrix { .. })
    ));
    let err = Target::parse("windows/banana").unwrap_err();
    assert!(matches!(err, Error::InvalidMatrix { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("invalid matrix: target `windows/banana`: unknown GOARCH `banana`; expected one of: amd64, arm64, 386,"),
        "{err}"
    );
}

#[test]
fn trimpath_builds_reproduce_from_another_directory() {
    if crate::go_build_fails_here() {
        return;
    }
    let tc = go(toolchain::DEFAULT_GO_VERSION);
    let out = tempfile::tempdir().unwrap();
    let mut spec = one_cell_spec(out.path(), &["windows/arm64"], &[Variant::Stripped]);
    spec.reproducibility = true;
    spec.jobs = Some(1);
    let report = matrix::build(&tc, &spec, &|_| {}).unwrap();
    assert_eq!(
        report.cells[0].reproducible,
        Some(true),
        "{:?}",
        report.cells[0]
    );
    // Same bytes as the reference matrix's cell: builds do not depend on the directory.
    let reference = pinned()
        .report
        .artifacts()
        .find(|a| a.cell == report.cells[0].cell)
        .unwrap();
    assert_eq!(report.cells[0].artifact().unwrap().sha256, reference.sha256);
    assert_clean_out_dir(out.path());
}
