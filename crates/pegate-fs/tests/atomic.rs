//! pegate-fs's promise: a product is the old file or the new one, never a partial one, and no
//! temporary file is left behind, whether the write succeeds or fails.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::Path;

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn creates_replaces_and_leaves_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("checksums.txt");
    pegate_fs::write(&path, b"one\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
    pegate_fs::write(&path, b"two\n").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"two\n");
    assert_eq!(entries(dir.path()), ["checksums.txt"]);
}

#[test]
fn a_failed_fill_leaves_the_old_file_and_no_debris() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.cdx.json");
    std::fs::write(&path, b"old").unwrap();
    let err = pegate_fs::write_with(&path, |f| {
        use std::io::Write as _;
        f.write_all(b"half")?;
        Err(std::io::Error::other("disk on fire"))
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("write {}: disk on fire", path.display())
    );
    assert_eq!(err.io_error().kind(), std::io::ErrorKind::Other);
    assert_eq!(std::fs::read(&path).unwrap(), b"old");
    assert_eq!(entries(dir.path()), ["a.cdx.json"]);
}

#[test]
fn a_missing_directory_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no").join("such").join("x.sarif");
    let err = pegate_fs::write(&path, b"x").unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "create a temporary file beside {}: ",
            path.display()
        )),
        "{text}"
    );
    assert_eq!(err.io_error().kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn publish_moves_a_staged_file_into_place() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join(".cell-x");
    std::fs::create_dir(&staging).unwrap();
    let staged = staging.join("hello.exe");
    std::fs::write(&staged, b"MZ").unwrap();
    let path = dir.path().join("hello.exe");
    std::fs::write(&path, b"old").unwrap();
    pegate_fs::publish(&staged, &path).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"MZ");
    assert!(!staged.exists());
}

#[cfg(unix)]
#[test]
fn the_mode_is_what_fs_write_gives_or_the_replaced_files() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::write(&plain, b"x").unwrap();
    let atomic = dir.path().join("atomic");
    pegate_fs::write(&atomic, b"x").unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&atomic), mode(&plain));
    std::fs::set_permissions(&atomic, std::fs::Permissions::from_mode(0o750)).unwrap();
    pegate_fs::write(&atomic, b"y").unwrap();
    assert_eq!(mode(&atomic), 0o750);
}

/// A reader polling the file while it is rewritten between two contents of 1 MiB each sees one
/// of them whole every time.
#[test]
fn a_reader_never_sees_a_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.bin");
    let a = vec![b'a'; 1 << 20];
    let b = vec![b'b'; 1 << 20];
    pegate_fs::write(&path, &a).unwrap();
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0u32;
            // Bounded in time too, so a failed writer cannot leave this thread spinning.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            while !done.load(std::sync::atomic::Ordering::Relaxed)
                && std::time::Instant::now() < deadline
            {
                // Windows refuses to replace a file that is open without FILE_SHARE_DELETE;
                // std opens with it, so a read only ever races the rename, as on Unix.
                if let Ok(bytes) = std::fs::read(&path) {
                    assert!(
                        bytes == a || bytes == b,
                        "a partial read of {} bytes",
                        bytes.len()
                    );
                    reads += 1;
                }
            }
            reads
        });
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for i in 0..40 {
                let next = if i % 2 == 0 { &b } else { &a };
                // On Windows (and Wine) a rename can fail while the reader holds the file:
                // retry then, giving the reader time to close it.
                let mut tries = 0;
                while let Err(e) = pegate_fs::write(&path, next) {
                    tries += 1;
                    assert!(cfg!(windows) && tries < 2000, "{e}");
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }));
        // Stop the reader whatever the writer did, then report the writer's failure.
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let reads = reader.join().unwrap();
        if let Err(panic) = written {
            std::panic::resume_unwind(panic);
        }
        assert!(reads > 0);
    });
    assert_eq!(entries(dir.path()), ["big.bin"]);
}

/// A dead run's staging entries go, a live run's stay, and entries without a process id go
/// only once they are older than any build.
#[test]
fn stale_entries_of_dead_runs_are_removed_and_live_ones_kept() {
    let dir = tempfile::tempdir().unwrap();
    // The id of a process that has exited (ids are not reused this soon).
    let mut exited = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("--list")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dead = exited.id();
    exited.wait().unwrap();
    let live = std::process::id();
    let make = |name: &str| {
        let p = dir.path().join(name);
        std::fs::create_dir(&p).unwrap();
        std::fs::write(p.join("hello.exe"), b"MZ").unwrap();
        p
    };
    make(&format!(".cell-{dead}-aB3x9Q"));
    make(&format!(".cell-{live}-zz9Q1a"));
    std::fs::write(
        dir.path().join(format!(".pegate-tmp-{dead}-a.exe.x1")),
        b"half",
    )
    .unwrap();
    make(".cell-young1");
    // A file: Windows cannot open a directory to set its time.
    let old = dir.path().join(".repro-old123");
    std::fs::write(&old, b"x").unwrap();
    let two_days = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::OpenOptions::new()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_days)
        .unwrap();
    std::fs::write(dir.path().join("hello.exe"), b"MZ").unwrap();

    let removed = pegate_fs::remove_stale(dir.path()).unwrap();
    let mut removed: Vec<String> = removed
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    removed.sort();
    let mut kept = vec![
        format!(".cell-{live}-zz9Q1a"),
        ".cell-young1".to_owned(),
        "hello.exe".to_owned(),
    ];
    let mut gone = vec![".repro-old123".to_owned()];
    if cfg!(unix) {
        // Windows cannot ask whether a process id is alive: young entries stay there.
        gone.push(format!(".cell-{dead}-aB3x9Q"));
        gone.push(format!(".pegate-tmp-{dead}-a.exe.x1"));
    } else {
        kept.push(format!(".cell-{dead}-aB3x9Q"));
        kept.push(format!(".pegate-tmp-{dead}-a.exe.x1"));
    }
    gone.sort();
    kept.sort();
    assert_eq!(removed, gone);
    assert_eq!(entries(dir.path()), kept);
}
