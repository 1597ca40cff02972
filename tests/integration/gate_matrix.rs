//! `pegate build` then `pegate gate` over the reference matrix, with the pinned Go that pegate
//! provisions itself (into `target/pegate-go`, shared with the other tests).

use std::path::PathBuf;
use std::sync::OnceLock;

use super::{pegate, root, temp_file, transcript};

/// Builds the reference matrix once per test binary; returns the output directory.
fn matrix() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = root().join("target").join("pegate-cli-test").join("dist");
        let _ = std::fs::remove_dir_all(&out);
        let run = super::build_hello(&out).output().unwrap();
        assert_eq!(run.status.code(), Some(0), "{}", transcript(&run));
        out
    })
}

#[test]
fn build_writes_nine_artifacts_and_a_checksums_file() {
    if super::go_build_fails_here() {
        return;
    }
    let dir = matrix();
    let sums = std::fs::read_to_string(dir.join("checksums.txt")).unwrap();
    let names: Vec<&str> = sums
        .lines()
        .map(|l| l.split_once("  ").unwrap().1)
        .collect();
    assert_eq!(names.len(), 9, "{sums}");
    for arch in ["amd64", "arm64", "386"] {
        for variant in ["console", "gui", "stripped"] {
            let name = format!("hello-go1.27.3-windows-{arch}-{variant}.exe");
            assert!(names.contains(&name.as_str()), "{name} missing from {sums}");
        }
    }
}

#[test]
fn the_example_policy_gates_the_reference_matrix_green() {
    if super::go_build_fails_here() {
        return;
    }
    let dir = matrix();
    // The example's checksums line is commented out; point one at the build's file.
    let example = std::fs::read_to_string(root().join("pegate.example.toml")).unwrap();
    let policy = format!(
        "checksums = {:?}\n{example}",
        dir.join("checksums.txt").display().to_string()
    );
    let (_tmp, path) = temp_file("pegate.toml", &policy);
    let out = pegate()
        .args(["gate", "--policy"])
        .arg(&path)
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
    // Nothing failed: no table of checks, one line per artifact (and per expected name) and
    // the totals.
    assert!(!text.contains("checksum.match"), "{text}");
    let artifact_lines = text
        .lines()
        .filter(|l| l.starts_with("pass  ") && l.contains("/hello-go1.27.3-windows-"))
        .count();
    assert_eq!(artifact_lines, 9, "{text}");
    // Verbose lists every check, the checksum ones among them.
    let out = pegate()
        .args(["gate", "--verbose", "--policy"])
        .arg(&path)
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" 0 failed"), "{text}");
    assert!(text.contains("checksum.match"), "{text}");
    for rule in [
        "sections.wx",
        "sections.shared-writable",
        "signature.digest",
        "signature.timestamped",
        "signature.cert-expiry",
        "go.supported",
        "go.settings",
    ] {
        assert!(text.contains(rule), "{rule} missing: {text}");
    }
}

/// What the example says of `cfg` and `cet`, which it leaves off: no Go binary of the matrix has
/// Control Flow Guard or CETCOMPAT (CET does not apply to arm64).
#[test]
fn go_binaries_have_neither_cfg_nor_cet_as_the_example_says() {
    if super::go_build_fails_here() {
        return;
    }
    let dir = matrix();
    let (_tmp, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*.exe\"\ncfg = \"required\"\ncet = \"required\"\n",
    );
    let out = pegate()
        .args(["gate", "--format", "json", "--policy"])
        .arg(&policy)
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for r in doc["results"].as_array().unwrap() {
        let (rule, outcome) = (r["rule"].as_str().unwrap(), r["outcome"].as_str().unwrap());
        if rule == "cfg.instrumented" || rule == "cet.compatible" {
            assert_ne!(outcome, "pass", "{r}");
            let arm64 = r["artifact"].as_str().unwrap().contains("arm64");
            seen.insert((rule.to_owned(), arm64, outcome.to_owned()));
        }
    }
    assert!(
        seen.contains(&("cfg.instrumented".into(), false, "fail".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("cet.compatible".into(), false, "fail".into())),
        "{seen:?}"
    );
    assert!(
        seen.contains(&("cet.compatible".into(), true, "not-applicable".into())),
        "{seen:?}"
    );
}

#[test]
fn a_signature_policy_fails_the_unsigned_arm64_artifact_in_every_format() {
    if super::go_build_fails_here() {
        return;
    }
    let dir = matrix();
    let (_tmp, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*windows-arm64*\"\nmachine = \"ARM64\"\nsignature = \"required\"\n",
    );
    for format in ["text", "json", "junit", "sarif", "github"] {
        let out = pegate()
            .args(["gate", "--format", format, "--policy"])
            .arg(&policy)
            .arg(dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {}", transcript(&out));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("signature.required"), "{format}: {stdout}");
        assert!(
            stdout.contains("hello-go1.27.3-windows-arm64-console.exe"),
            "{format}: {stdout}"
        );
    }
}
