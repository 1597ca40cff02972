//! Ctrl-C and SIGTERM during a real `cargo xtask verify`: the `go` children stop, the cells
//! remove their staging directories, no report is written, and the exit code is 130 / 143.
//!
//! The signal must land while a cell is building: `go` is the pinned toolchain behind a wrapper
//! script that, for the windows/386 cells, runs a long `sleep` (marked by its odd duration, so
//! the test can find it) before `go build`, while the amd64 and arm64 cells finish. Unix only:
//! Windows has no SIGINT/SIGTERM to send to one process (a console's Ctrl-C reaches every
//! process attached to it, which ends the children too).

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(unix)]
#[path = "../../tests/integration/procs.rs"]
mod procs;

#[cfg(unix)]
mod unix {
    use crate::procs::{assert_stopped, entries, interrupt, marked};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    fn workspace() -> PathBuf {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
        manifest.parent().unwrap_or(manifest).to_path_buf()
    }

    fn cache() -> PathBuf {
        workspace().join("target").join("pegate-go")
    }

    /// A `go` that hangs (`sleep <mark>`) before building for windows/386.
    fn slow_go(dir: &Path, mark: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let real =
            pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache())
                .unwrap()
                .go;
        let script = dir.join("go");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\ncase \"$1:$GOARCH\" in build:386) sleep {mark};; esac\nexec '{}' \"$@\"\n",
                real.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }

    /// Runs `cargo xtask verify` with the slow `go`, sends `signal` once a cell has finished and
    /// a 386 cell hangs, and checks what the run leaves.
    fn interrupted_verify(signal: &str, mark: &str, code: i32) {
        let dir = tempfile::tempdir().unwrap();
        let go = slow_go(dir.path(), mark);
        let out = dir.path().join("verify");
        let artifacts = out.join("artifacts");
        let mut child = Command::new(env!("CARGO_BIN_EXE_xtask"))
            .current_dir(workspace())
            .arg("verify")
            .arg("--go")
            .arg(&go)
            .arg("--cache")
            .arg(cache())
            .arg("--out")
            .arg(&out)
            .args(["--jobs", "2"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A cold Go build cache compiles the standard library per target first: minutes.
        let start = Instant::now();
        let ready =
            || entries(&artifacts).iter().any(|n| n.ends_with(".exe")) && !marked(mark).is_empty();
        while !ready() {
            if start.elapsed() > Duration::from_secs(600) || child.try_wait().unwrap().is_some() {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "no finished cell with a hanging one: {:?}\n{}",
                    entries(&artifacts),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        interrupt(child, signal, "cargo xtask verify", code);
        // The hanging children were stopped with the run, not left to their sleep's minutes.
        assert_stopped(mark, "sleeps left running");
        let left = entries(&artifacts);
        assert!(
            left.iter().all(|n| !n.starts_with('.')),
            "staging entries left: {left:?}"
        );
        assert!(left.iter().any(|n| n.ends_with(".exe")), "{left:?}");
        assert!(
            !out.join("report.json").exists(),
            "a report of a stopped run"
        );
    }

    #[test]
    fn sigint_mid_matrix_stops_go_and_leaves_no_staging() {
        interrupted_verify("INT", "297.5321", 130);
    }

    #[test]
    fn sigterm_mid_matrix_stops_go_and_leaves_no_staging() {
        interrupted_verify("TERM", "297.5322", 143);
    }
}
