//! Snapshots of the inspection of every reference-matrix cell, for both pinned Go versions.
//!
//! One YAML file per cell in `snapshots/` (`pinned__…` for the default Go, `older__…` for
//! Go 1.23.9: diff the two sets to see what a toolchain bump changes). Redacted: what depends on
//! the code's size and layout (file size, section sizes/offsets/addresses, directory addresses
//! and sizes, entry point, size of image). Kept: format, machine, subsystem, every flag, linker/OS/
//! subsystem versions, image base, alignments, timestamp, symbol count presence, section names and
//! flags, which data directories exist, the load config guard flags, the Go build info (its build
//! ID and file offset redacted) and the build-info cross-check findings.

use pegate_go::matrix::Artifact;
use pegate_go::{buildinfo, crosscheck};
use serde::Serialize;

use crate::plan::portable_command;
use crate::{Built, older, pinned};

#[derive(Serialize)]
struct CellSnapshot {
    cell: String,
    command: Vec<String>,
    describe: String,
    has_coff_symbols: bool,
    summary: pegate_pe::PeSummary,
    build_info: Option<buildinfo::BuildInfo>,
    findings: Vec<crosscheck::Finding>,
}

fn snapshot_of(built: &Built, artifact: &Artifact) -> CellSnapshot {
    // The whole file: long DWARF section names live in the COFF string table at its end.
    let data = std::fs::read(&artifact.path).unwrap();
    let view = pegate_pe::PeView::parse(&data).unwrap();
    let summary = pegate_pe::summarize(&view);
    let build_info = buildinfo::read(&view).unwrap();
    // Reading from disk (only the needed ranges) agrees with reading the bytes in memory.
    assert_eq!(buildinfo::read_path(&artifact.path).unwrap(), build_info);
    let findings = crosscheck::check(&summary, build_info.as_ref().unwrap());
    assert!(
        findings
            .iter()
            .all(|f| f.status != crosscheck::Outcome::Fail),
        "{findings:#?}"
    );
    CellSnapshot {
        cell: artifact.cell.name(),
        command: portable_command(artifact, built.out.path()),
        describe: pegate_pe::describe(&summary),
        has_coff_symbols: summary.headers.number_of_symbols > 0,
        summary,
        build_info,
        findings,
    }
}

#[track_caller]
fn assert_cells(built: &Built, set: &str) {
    assert_eq!(
        built.report.artifacts().count(),
        9,
        "every cell must have built"
    );
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        for artifact in built.report.artifacts() {
            let name = format!("{set}__{}", artifact.cell.name());
            insta::assert_yaml_snapshot!(name, snapshot_of(built, artifact), {
                ".summary.file_size" => "[size]",
                ".summary.size_of_image" => "[size]",
                ".summary.entry_point" => "[rva]",
                ".summary.number_of_symbols" => "[count]",
                ".summary.checksum.computed" => "[checksum]",
                ".summary.sections[].virtual_address" => "[rva]",
                ".summary.sections[].virtual_size" => "[size]",
                ".summary.sections[].raw_offset" => "[offset]",
                ".summary.sections[].raw_size" => "[size]",
                ".summary.data_directories[].virtual_address" => "[rva]",
                ".summary.data_directories[].size" => "[size]",
                ".build_info.build_id" => "[build id]",
                ".build_info.offset" => "[offset]",
            });
        }
    });
}

#[test]
fn every_cell_of_the_pinned_matrix() {
    if crate::go_build_fails_here() {
        return;
    }
    assert_cells(pinned(), "pinned");
}

#[test]
fn every_cell_of_the_older_matrix() {
    if crate::go_build_fails_here() {
        return;
    }
    assert_cells(older(), "older");
}
