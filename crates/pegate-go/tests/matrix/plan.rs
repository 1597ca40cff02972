//! Snapshot of what the reference matrix runs: one entry per cell with its exact command and
//! target environment (machine-specific paths replaced by `go` and `[out]`).

use std::path::Path;

use pegate_go::matrix::Artifact;
use serde::Serialize;

use crate::{Built, older, pinned};

#[derive(Serialize)]
struct PlannedCell {
    cell: String,
    env: Vec<String>,
    command: Vec<String>,
}

/// The command with machine-specific paths replaced: `go` and `[out]/file`.
pub fn portable_command(artifact: &Artifact, out: &Path) -> Vec<String> {
    let out = std::fs::canonicalize(out).unwrap().display().to_string();
    let mut command = artifact.command.clone();
    command[0] = "go".to_owned();
    for arg in &mut command {
        if let Some(rest) = arg.strip_prefix(&out) {
            *arg = format!("[out]{rest}");
        }
    }
    command
}

fn plan(built: &Built) -> Vec<PlannedCell> {
    built
        .report
        .artifacts()
        .map(|a| PlannedCell {
            cell: a.cell.name(),
            env: a.env.clone(),
            command: portable_command(a, built.out.path()),
        })
        .collect()
}

#[test]
fn the_reference_matrix_commands() {
    if crate::go_build_fails_here() {
        return;
    }
    insta::with_settings!({ snapshot_path => "snapshots", prepend_module_to_snapshot => false, omit_expression => true }, {
        insta::assert_yaml_snapshot!("pinned__plan", plan(pinned()));
        insta::assert_yaml_snapshot!("older__plan", plan(older()));
    });
}
