//! `remove_in_flight`, a signal handler's last act, in a test binary of its own: it removes
//! every write in flight in the process, which would break the other tests' writes.
#![allow(clippy::unwrap_used)]

use std::path::Path;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A signal handler's view: the temporary file of a write in flight is listed and removed,
/// the destination keeps its old content, and no write starts afterwards.
#[test]
fn a_write_in_flight_can_be_abandoned() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.spdx.json");
    std::fs::write(&path, b"old").unwrap();
    let err = pegate_fs::write_with(&path, |f| {
        use std::io::Write as _;
        f.write_all(b"half")?;
        // What the signal-handling thread does before it exits the process.
        assert!(pegate_fs::remove_in_flight() >= 1);
        // Windows lists a file deleted while open until its last handle closes.
        if cfg!(unix) {
            assert_eq!(entries(dir.path()), ["a.spdx.json"]);
        }
        Ok(())
    });
    // The rename of a removed file fails on Unix; Windows may still hold it open, deleted.
    if let Err(e) = err {
        assert!(e.to_string().contains("a.spdx.json"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
    }
    assert!(
        entries(dir.path())
            .iter()
            .all(|n| !n.starts_with(".pegate-tmp-"))
    );
    // The process is ending: a write that starts now (another thread's next file) creates no
    // temporary file for the exit to leave behind, and fails as interrupted.
    let next = dir.path().join("b.spdx.json");
    let err = pegate_fs::write(&next, b"new").unwrap_err();
    assert_eq!(
        err.io_error().kind(),
        std::io::ErrorKind::Interrupted,
        "{err}"
    );
    assert!(!next.exists());
    assert!(
        entries(dir.path())
            .iter()
            .all(|n| !n.starts_with(".pegate-tmp-")),
        "{:?}",
        entries(dir.path())
    );
}
