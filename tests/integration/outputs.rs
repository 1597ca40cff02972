//! Outputs users can trust: one SBOM per input whatever the inputs' names, written whole, and
//! error messages that say each cause once.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{pegate, root, temp_file, transcript};

/// Copies fixtures to `dir/<rel>`; returns the paths.
fn place(dir: &Path, files: &[(&str, &str)]) -> Vec<PathBuf> {
    files
        .iter()
        .map(|(rel, fixture)| {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::copy(root().join("fixtures/pe/ok").join(fixture), &path).unwrap();
            path
        })
        .collect()
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The SHA-256 an SBOM records for its artifact.
fn recorded_sha256(sbom: &Path) -> String {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(sbom).unwrap()).unwrap();
    doc["metadata"]["component"]["hashes"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// A path as pegate shows one it was given: in the platform's own separators (`a/x.exe` given on
/// Windows is shown `a\x.exe`), as `inspect`, `gate` and `sbom` walk their inputs.
fn shown(path: &Path) -> String {
    path.components().collect::<PathBuf>().display().to_string()
}

fn sha256(path: &Path) -> String {
    Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Same-named files from different folders (`gofmt.exe` twice, as in a Go distribution's
/// `bin/` and `pkg/tool/`) each get their own SBOM, named by their relative path, the mapping
/// printed; a unique name keeps its plain name.
#[test]
fn same_named_inputs_get_one_sbom_each() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = place(
        dir.path(),
        &[
            ("go/bin/gofmt.exe", "tiny-amd64-console.exe"),
            ("go/pkg/tool/gofmt.exe", "tiny-amd64-cfg.exe"),
            ("go/bin/vet.exe", "tiny-386-console.exe"),
        ],
    );
    let out_dir = dir.path().join("sbom");
    let out = pegate()
        .args(["sbom", "--created", "2026-12-01", "--out"])
        .arg(&out_dir)
        .args(&inputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert_eq!(
        listing(&out_dir),
        [
            "bin_gofmt.exe.cdx.json",
            "pkg_tool_gofmt.exe.cdx.json",
            "vet.exe.cdx.json"
        ]
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    for (input, name) in inputs.iter().zip([
        "bin_gofmt.exe.cdx.json",
        "pkg_tool_gofmt.exe.cdx.json",
        "vet.exe.cdx.json",
    ]) {
        let sbom = out_dir.join(name);
        assert_eq!(recorded_sha256(&sbom), sha256(input), "{name}");
        let line = format!("pegate: wrote {} ({})", sbom.display(), shown(input));
        assert!(stderr.contains(&line), "{line} not in:\n{stderr}");
    }

    // gate --sbom names them by the same rule.
    let (_p, policy) = temp_file("pegate.toml", "[[artifact]]\nglob = \"*\"\n");
    let gate_dir = dir.path().join("gate-sbom");
    let out = pegate()
        .args(["gate", "--now", "2026-12-01", "--policy"])
        .arg(&policy)
        .arg("--sbom")
        .arg(&gate_dir)
        .arg(dir.path().join("go"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert_eq!(
        listing(&gate_dir),
        [
            "bin_gofmt.exe.cdx.json",
            "pkg_tool_gofmt.exe.cdx.json",
            "vet.exe.cdx.json"
        ]
    );
}

/// `sbom --out DIR` given a directory, as its help shows: one SBOM per PE file below it (named
/// as `gate --sbom` names them), the files that are not PE skipped; a missing path is one error
/// naming it once, exit 2; without `--out`, a directory of several PE files is refused.
#[test]
fn sbom_of_a_directory_documents_its_pe_files() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = place(
        dir.path(),
        &[
            ("dist/bin/gofmt.exe", "tiny-amd64-console.exe"),
            ("dist/tool/gofmt.exe", "tiny-amd64-cfg.exe"),
        ],
    );
    std::fs::write(dir.path().join("dist/README.txt"), "not a PE file").unwrap();
    let out_dir = dir.path().join("sbom");
    let out = pegate()
        .args(["sbom", "--created", "2026-12-01", "--out"])
        .arg(&out_dir)
        .arg(dir.path().join("dist"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let names = ["bin_gofmt.exe.cdx.json", "tool_gofmt.exe.cdx.json"];
    assert_eq!(listing(&out_dir), names);
    for (input, name) in inputs.iter().zip(names) {
        assert_eq!(
            recorded_sha256(&out_dir.join(name)),
            sha256(input),
            "{name}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("README"),
        "{}",
        transcript(&out)
    );

    let missing = dir.path().join("no-such.exe");
    let out = pegate()
        .args(["sbom", "--out"])
        .arg(&out_dir)
        .arg(&missing)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert_eq!(
        stderr.matches(&*missing.to_string_lossy()).count(),
        1,
        "{stderr}"
    );
    assert_eq!(listing(&out_dir), names);

    let out = pegate()
        .arg("sbom")
        .arg(dir.path().join("dist"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("2 PE files found: pass --out DIR for one SBOM each"),
        "{}",
        transcript(&out)
    );
    assert!(out.stdout.is_empty());
}

/// A user's pattern that gives two inputs one name is refused before anything is written:
/// exit 2, both inputs named.
#[test]
fn a_colliding_pattern_is_refused_naming_both_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = place(
        dir.path(),
        &[
            ("a/x.exe", "tiny-amd64-console.exe"),
            ("b/x.exe", "tiny-amd64-cfg.exe"),
        ],
    );
    let out_dir = dir.path().join("sbom");
    std::fs::create_dir(&out_dir).unwrap();
    std::fs::write(out_dir.join("x.cdx.json"), b"keep me").unwrap();
    let out = pegate()
        .args(["sbom", "--name", "{stem}.{ext}", "--out"])
        .arg(&out_dir)
        .args(&inputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    // (The fixtures are no Go binaries: a line says so for each, before the error.)
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "pegate: error: both {} and {} would be written to x.cdx.json; use a pattern with {{path}} or {{digest}}",
            shown(&inputs[0]),
            shown(&inputs[1])
        ),
        "{stderr}"
    );
    assert_eq!(listing(&out_dir), ["x.cdx.json"]);
    assert_eq!(
        std::fs::read(out_dir.join("x.cdx.json")).unwrap(),
        b"keep me"
    );

    let out = pegate()
        .args(["sbom", "--name", "{stem}-{digest}.{ext}", "--out"])
        .arg(&out_dir)
        .args(&inputs)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert_eq!(listing(&out_dir).len(), 3, "{:?}", listing(&out_dir));
}

/// A file where the output directory should be: the cause is said once.
#[test]
fn an_output_path_that_is_a_file_is_one_clear_error() {
    let (_dir, file) = temp_file("afile", "not a directory");
    let out = pegate()
        .args(["sbom", "--out"])
        .arg(&file)
        .args([
            "fixtures/pe/ok/tiny-amd64-console.exe",
            "fixtures/pe/ok/tiny-amd64-cfg.exe",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "\npegate: error: create the SBOM directory {}: ",
            file.display()
        )),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}

/// `gate -o FILE` writes the report whole; nothing but the report is left beside it.
#[test]
fn gate_writes_its_report_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (_p, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*\"\nmachine = \"AMD64\"\n",
    );
    let report = dir.path().join("pegate.sarif");
    std::fs::write(&report, b"old").unwrap();
    let out = pegate()
        .args(["gate", "--format", "sarif", "--policy"])
        .arg(&policy)
        .arg("-o")
        .arg(&report)
        .arg("fixtures/pe/ok/tiny-386-console.exe")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    assert!(out.stdout.is_empty());
    let sarif: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(listing(dir.path()), ["pegate.sarif"]);
}

/// `pegate build --out afile`, a file: the cause once, not `File exists (os error 17): File
/// exists (os error 17)`.
#[test]
fn a_build_into_a_file_says_the_cause_once() {
    let (_dir, file) = temp_file("afile", "not a directory");
    let out = super::build_hello(&file)
        .args(["--target", "windows/amd64", "--variant", "console"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("create directory {}: ", file.display())),
        "{stderr}"
    );
    assert_eq!(stderr.matches("os error").count(), 1, "{stderr}");
}
