//! pegate's integration tests: one binary, data-driven, snapshots beside each module.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod build_run;
mod cgo;
mod cli;
mod differential;
mod differential_imports;
mod docs;
mod faults;
mod fuzz_regressions;
mod gate_matrix;
mod imports;
mod native_paths;
mod outputs;
mod pegate_test;
#[cfg(unix)]
mod procs;
mod release;
mod sbom_syft;
mod sign;
mod signals;
mod untrusted;
mod windows_e2e;

use std::path::PathBuf;

/// The repository root.
pub(crate) fn root() -> PathBuf {
    // Under Wine the compile-time `/work/...` has no drive, which Go takes for a relative path;
    // `absolute` gives it the current one (Z:, Wine's view of `/`). Unix paths stay as they are.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    std::path::absolute(&dir).unwrap_or(dir)
}

/// `pegate` with the repository root as working directory and no colour or CI variables.
pub(crate) fn pegate() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_pegate"));
    cmd.current_dir(root())
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1");
    cmd
}

/// `pegate build` of the reference hello with the pinned Go from the shared cache, into `out`;
/// the caller adds targets, variants and flags.
pub(crate) fn build_hello(out: &std::path::Path) -> assert_cmd::Command {
    let mut cmd = pegate();
    cmd.args([
        "build",
        "--go",
        "1.27.3",
        "--source",
        "fixtures/hello",
        "--cache",
    ])
    .arg(root().join("target").join("pegate-go"))
    .arg("--out")
    .arg(out);
    cmd
}

/// `pegate build` of fixtures/hello's windows/amd64 console cell with Go `go` (a version, to
/// be provisioned), into `cache` and `out`, with `first` ahead of PATH: where a test puts the
/// `python3` that provisioning runs. A plain `std::process::Command`, so a test can spawn it.
#[cfg(unix)]
pub(crate) fn build_one_cell_with_path_first(
    go: &str,
    cache: &std::path::Path,
    out: &std::path::Path,
    first: &std::path::Path,
) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_pegate"));
    cmd.args(["build", "--go", go, "--source", "fixtures/hello"])
        .args(["--target", "windows/amd64", "--variant", "console"])
        .arg("--cache")
        .arg(cache)
        .arg("--out")
        .arg(out)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env(
            "PATH",
            format!(
                "{}:{}",
                first.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        );
    cmd
}

/// Exit code, stdout and stderr of a run, as one text to snapshot. On Windows the host's words
/// are put the Linux way (`\` separators, `pegate.exe`, the OS's text for a missing file) so that
/// one snapshot holds for both.
pub(crate) fn transcript(out: &std::process::Output) -> String {
    let text = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if cfg!(windows) {
        linux_words(&text)
    } else {
        text
    }
}

/// A Windows transcript in Linux words: path separators (`\\` escaped in JSON, `\` in text; a
/// JSON `\"` stays), the binary's name, and the OS's text for a missing file.
fn linux_words(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('\\', Some('\\')) => {
                chars.next();
                out.push('/');
            }
            ('\\', Some('"')) => out.push(c),
            ('\\', _) => out.push('/'),
            _ => out.push(c),
        }
    }
    out.replace("pegate.exe", "pegate").replace(
        "Path not found. (os error 3)",
        "No such file or directory (os error 2)",
    )
}

/// Under Wine 8 `go build` writes the binary and then exits 1 removing its temp dir (`unlinkat
/// ... a.out.exe: Invalid function`), so tests of Go builds stop, saying so; real Windows runs them.
pub(crate) fn go_build_fails_here() -> bool {
    let wine = under_wine();
    if wine {
        eprintln!(
            "skipped under Wine: Wine 8's go build writes the binary, then exits 1 (unlinkat ... a.out.exe: Invalid function)"
        );
    }
    wine
}

/// Whether this Windows is Wine (whose prefixes carry `winecfg.exe`), for the few checks whose
/// Windows behaviour Wine does not reproduce; each test that skips says why.
pub(crate) fn under_wine() -> bool {
    cfg!(windows) && std::path::Path::new(r"C:\windows\system32\winecfg.exe").exists()
}

/// Writes `text` to `name` in a fresh temporary directory and returns both.
pub(crate) fn temp_file(name: &str, text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

/// Validates `doc` against the JSON Schema at `schema` (relative to the root).
#[track_caller]
pub(crate) fn assert_valid(schema: &str, doc: &serde_json::Value) {
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(schema)).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema}: {errors:#?}");
}
