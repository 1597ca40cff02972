//! `pegate build --run`: a cell this host cannot run is skipped with the reason and passes; a bad
//! timeout is refused before anything is built.

use pegate::facts::GoArch;
use pegate::go::matrix::Target;
use pegate::go::run::{Host, select_runner};

use super::{pegate, root, transcript};

#[test]
fn build_run_skips_what_this_host_cannot_run_and_says_why() {
    if super::go_build_fails_here() {
        return;
    }
    let out_dir = tempfile::tempdir().unwrap();
    let out = super::build_hello(out_dir.path())
        .args([
            "--target",
            "windows/arm64",
            "--variant",
            "console",
            "--run",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = &report["cells"][0]["run"];
    match select_runner(&Host::detect(), &Target::windows(GoArch::Arm64)) {
        // An Arm64 Windows host runs it natively.
        Ok(_) => assert_eq!(run["stdout"], "Hello, Windows!\n", "{run}"),
        Err(reason) => {
            assert_eq!(run["status"], "skipped", "{run}");
            assert_eq!(run["reason"], reason.to_string().as_str(), "{run}");
        }
    }
}

/// go runs in the source directory and refuses a relative GOPATH: a relative `--go` and
/// `--cache` mean the working directory's, as for any other command.
#[test]
fn build_takes_relative_go_and_cache_paths() {
    if super::go_build_fails_here() {
        return;
    }
    let cache = root().join("target").join("pegate-go");
    let go = pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .unwrap()
        .go;
    let relative = |p: &std::path::Path| p.strip_prefix(root()).unwrap().to_path_buf();
    let out_dir = tempfile::tempdir().unwrap();
    for go in [
        relative(&go),
        relative(go.parent().unwrap().parent().unwrap()),
    ] {
        let out = pegate()
            .args(["build", "--source", "fixtures/hello", "--go"])
            .arg(&go)
            .arg("--cache")
            .arg(relative(&cache))
            .arg("--out")
            .arg(out_dir.path())
            .args([
                "--target",
                "windows/amd64",
                "--variant",
                "console",
                "--json",
            ])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "--go {}: {}",
            go.display(),
            transcript(&out)
        );
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 1, "{report}");
        assert!(cells[0]["error"].is_null(), "{report}");
        assert!(cells[0]["artifact"]["path"].is_string(), "{report}");
    }
}

#[test]
fn build_run_refuses_a_timeout_that_is_not_a_positive_number() {
    let out = pegate()
        .args([
            "build",
            "--source",
            "fixtures/hello",
            "--run",
            "--run-timeout",
            "0",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--run-timeout 0: expected a positive number of seconds"),
        "{}",
        transcript(&out)
    );
}
