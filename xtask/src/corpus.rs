//! `cargo xtask corpus`: fetches the differential test's corpus of real PE files.
//!
//! `fixtures/corpus.toml` pins every package (registry, name, version, SHA-256, licence). Each
//! is downloaded with its registry's ordinary client (`python3 -m pip download`, `npm pack`,
//! `apt-get download name=version`), its SHA-256 checked before anything is read from it, and
//! every file in it that is a PE image (by its `MZ` and `PE\0\0` signatures, not its name) is
//! copied into the cache, once per distinct content. The cache lives outside git:
//! `$PEGATE_CORPUS`, else `target/pegate-corpus/`. `index.json` there lists the files with
//! their package and licence; `tests/integration/differential.rs` reads it.
//!
//! A second run with an unchanged manifest only checks that the indexed files are still there.
//!
//! ```text
//! cargo xtask corpus            # fetch what is missing, print the corpus size
//! PEGATE_CORPUS=/data/pe cargo xtask corpus
//! ```

// Counters and sizes of a few hundred files: no overflow to guard against.
#![allow(clippy::arithmetic_side_effects)]

use std::collections::{BTreeMap, HashSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The manifest, relative to the workspace root.
const MANIFEST: &str = "fixtures/corpus.toml";

/// Fewer files than this and the differential test would prove little.
const MIN_FILES: usize = 200;

/// No file larger than this is read from a package (the oracles read every file whole).
const MAX_FILE: u64 = 64 << 20;

/// The registry a package comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
enum Registry {
    Pypi,
    Npm,
    Debian,
}

/// One pinned package of the manifest.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Package {
    registry: Registry,
    name: String,
    version: String,
    /// PyPI: the wheel's platform tag (`pip download --platform`, `any` for a pure wheel).
    platform: Option<String>,
    /// PyPI: the Python version the wheel is for (`pip download --python-version`).
    python: Option<String>,
    /// SHA-256 of the downloaded archive (wheel, npm tarball or .deb).
    sha256: String,
    /// The package's licence, as its metadata or Debian copyright file states it.
    licence: String,
    /// Take only PE files up to this many bytes (keeps a large package's share modest).
    max_size: Option<u64>,
    /// Instead of PE files, take these paths (PEM certificates) as trust anchors.
    anchors: Option<Vec<String>>,
}

impl Package {
    /// A file-name-safe identity: registry, name, version and platform.
    fn id(&self) -> String {
        let mut id = format!("{:?}-{}-{}", self.registry, self.name, self.version).to_lowercase();
        if let Some(p) = &self.platform {
            id.push('-');
            id.push_str(p);
        }
        id.chars()
            .map(|c| match c {
                'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' | '_' | '+' => c,
                _ => '_',
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    package: Vec<Package>,
}

/// One PE file of the corpus, as `index.json` lists it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct IndexedFile {
    /// Relative to the corpus directory.
    path: String,
    /// The package's id (`registry-name-version[-platform]`).
    package: String,
    registry: Registry,
    licence: String,
    sha256: String,
    size: u64,
}

/// `index.json`: what the last successful run produced, and from which manifest.
#[derive(Debug, Serialize, Deserialize)]
struct Index {
    manifest_sha256: String,
    files: Vec<IndexedFile>,
    /// Trust anchors (PEM), relative to the corpus directory.
    anchors: Vec<String>,
}

/// The corpus directory: `$PEGATE_CORPUS`, else `target/pegate-corpus` under the workspace.
fn corpus_dir(root: &Path) -> PathBuf {
    std::env::var_os("PEGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/pegate-corpus"))
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(a) = args.first() {
        bail!(
            "cargo xtask corpus takes no arguments (got `{a}`); set PEGATE_CORPUS to move the cache"
        );
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?
        .to_path_buf();
    let (manifest, manifest_sha256) = read_manifest(&root)?;
    let dir = corpus_dir(&root);
    let started = std::time::Instant::now();

    if let Some(index) = current_index(&dir, &manifest_sha256) {
        report(&dir, &index, started, "up to date");
        return Ok(());
    }

    std::fs::create_dir_all(dir.join("downloads"))
        .with_context(|| format!("create {}", dir.display()))?;
    let mut taken = Taken::default();
    for pkg in &manifest.package {
        take_package(pkg, &dir, &mut taken)?;
    }
    ensure!(
        taken.files.len() >= MIN_FILES,
        "the corpus has {} PE files, fewer than {MIN_FILES}: add packages to {MANIFEST}",
        taken.files.len()
    );
    let index = Index {
        manifest_sha256,
        files: taken.files,
        anchors: taken.anchors,
    };
    let json = serde_json::to_string_pretty(&index)?;
    write(&dir.join("index.json"), json.as_bytes())?;
    report(&dir, &index, started, "fetched");
    Ok(())
}

/// The parsed manifest and the SHA-256 of its text, which `index.json` records so a changed
/// manifest is fetched again.
fn read_manifest(root: &Path) -> anyhow::Result<(Manifest, String)> {
    let manifest_text =
        std::fs::read_to_string(root.join(MANIFEST)).with_context(|| format!("read {MANIFEST}"))?;
    let manifest: Manifest =
        toml::from_str(&manifest_text).with_context(|| format!("parse {MANIFEST}"))?;
    let manifest_sha256 = hex::encode(Sha256::digest(manifest_text.as_bytes()));
    Ok((manifest, manifest_sha256))
}

/// What the packages gave so far: the distinct PE files and the trust anchors, with the
/// SHA-256 of every file taken so the same bytes are taken once.
#[derive(Default)]
struct Taken {
    seen: HashSet<String>,
    files: Vec<IndexedFile>,
    anchors: Vec<String>,
}

/// Fetches one package, replaces its files in the corpus with what its archive holds now, and
/// fails when it gave nothing: not every anchor it names, or no PE file not already taken.
fn take_package(pkg: &Package, dir: &Path, taken: &mut Taken) -> anyhow::Result<()> {
    let archive = fetch(pkg, &dir.join("downloads"))?;
    let out = dir.join("files").join(pkg.id());
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clear {}", out.display()))?;
    }
    let (before, anchors_before) = (taken.files.len(), taken.anchors.len());
    for_each_entry(&archive, &mut |inner, data| {
        take_entry(pkg, dir, inner, data, taken)
    })
    .with_context(|| format!("extract {}", archive.display()))?;
    if let Some(wanted) = &pkg.anchors {
        ensure!(
            taken.anchors.len() - anchors_before == wanted.len(),
            "{}: not every anchor in {wanted:?} is in the package",
            pkg.id()
        );
    } else {
        ensure!(
            taken.files.len() > before,
            "{}: no new PE file in the package",
            pkg.id()
        );
    }
    Ok(())
}

/// One file of a package's archive, at `inner` in it: a package that names anchors gives only
/// those (under `anchors/`); any other gives its PE files within its `max_size`, each under
/// `files/<package id>/` unless the same bytes were taken before.
fn take_entry(
    pkg: &Package,
    dir: &Path,
    inner: &str,
    data: &[u8],
    taken: &mut Taken,
) -> anyhow::Result<()> {
    if let Some(wanted) = &pkg.anchors {
        if wanted.iter().any(|w| w == inner) {
            let name = Path::new(inner)
                .file_name()
                .context("anchor path has no file name")?;
            let rel = Path::new("anchors").join(name);
            write(&dir.join(&rel), data)?;
            taken.anchors.push(rel.to_string_lossy().into_owned());
        }
        return Ok(());
    }
    if !is_pe(data) || pkg.max_size.is_some_and(|m| data.len() as u64 > m) {
        return Ok(());
    }
    let sha256 = hex::encode(Sha256::digest(data));
    if !taken.seen.insert(sha256.clone()) {
        return Ok(()); // the same bytes from another package or platform
    }
    let rel = Path::new("files")
        .join(pkg.id())
        .join(safe_relative(inner)?);
    write(&dir.join(&rel), data)?;
    taken.files.push(IndexedFile {
        path: rel.to_string_lossy().into_owned(),
        package: pkg.id(),
        registry: pkg.registry,
        licence: pkg.licence.clone(),
        sha256,
        size: data.len() as u64,
    });
    Ok(())
}

/// The index of an earlier run, if it came from this manifest and its files are all there.
fn current_index(dir: &Path, manifest_sha256: &str) -> Option<Index> {
    let text = std::fs::read_to_string(dir.join("index.json")).ok()?;
    let index: Index = serde_json::from_str(&text).ok()?;
    let complete = index.manifest_sha256 == manifest_sha256
        && index
            .files
            .iter()
            .all(|f| std::fs::metadata(dir.join(&f.path)).is_ok_and(|m| m.len() == f.size))
        && index.anchors.iter().all(|a| dir.join(a).is_file());
    complete.then_some(index)
}

fn report(dir: &Path, index: &Index, started: std::time::Instant, what: &str) {
    let mut by_registry: BTreeMap<String, (usize, u64)> = BTreeMap::new();
    for f in &index.files {
        let e = by_registry.entry(format!("{:?}", f.registry)).or_default();
        e.0 += 1;
        e.1 += f.size;
    }
    let total: u64 = index.files.iter().map(|f| f.size).sum();
    println!(
        "corpus {what} in {:.1} s: {} PE files, {:.1} MB, {} trust anchors, in {}",
        started.elapsed().as_secs_f64(),
        index.files.len(),
        total as f64 / 1e6,
        index.anchors.len(),
        dir.display()
    );
    for (registry, (n, bytes)) in by_registry {
        println!("  {registry}: {n} files, {:.1} MB", bytes as f64 / 1e6);
    }
}

/// Whether `data` starts with a DOS header whose `e_lfanew` points at `PE\0\0`.
fn is_pe(data: &[u8]) -> bool {
    let Some(lfanew) = data
        .get(0x3c..0x40)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
    else {
        return false;
    };
    let lfanew = u32::from_le_bytes(lfanew) as usize;
    data.starts_with(b"MZ")
        && lfanew
            .checked_add(4)
            .and_then(|end| data.get(lfanew..end))
            .is_some_and(|sig| sig == b"PE\0\0")
}

/// An archive member's path with only its normal components: no `..`, no root, no `./`,
/// and npm's `package/` prefix kept (it is part of the tarball's layout).
fn safe_relative(inner: &str) -> anyhow::Result<PathBuf> {
    let path: PathBuf = Path::new(inner)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n),
            _ => None,
        })
        .collect();
    ensure!(
        path.components().next().is_some(),
        "archive member `{inner}` has no file name"
    );
    Ok(path)
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("write {}", path.display()))
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file = std::fs::File::open(path).with_context(|| format!("open {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file
            .read(&mut buf)
            .with_context(|| format!("read {}", path.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(buf.get(..n).unwrap_or_default());
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The package's archive in `downloads`, fetched unless a verified copy is already there.
fn fetch(pkg: &Package, downloads: &Path) -> anyhow::Result<PathBuf> {
    let ext = match pkg.registry {
        Registry::Pypi => "whl",
        Registry::Npm => "tgz",
        Registry::Debian => "deb",
    };
    let target = downloads.join(format!("{}.{ext}", pkg.id()));
    if target.is_file() && sha256_file(&target)? == pkg.sha256 {
        return Ok(target);
    }
    let tmp = downloads.join(format!(".{}.partial", pkg.id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("clear {}", tmp.display()))?;
    }
    std::fs::create_dir_all(&tmp).with_context(|| format!("create {}", tmp.display()))?;
    let shown = download(pkg, &tmp)?;
    let fetched = downloaded_file(&tmp, ext, &shown)?;
    let actual = sha256_file(&fetched)?;
    if actual != pkg.sha256 {
        bail!(
            "{}: SHA-256 mismatch for {}: expected {}, got {actual}; the registry serves other bytes than the pin in {MANIFEST}",
            pkg.id(),
            fetched.display(),
            pkg.sha256
        );
    }
    std::fs::rename(&fetched, &target)
        .with_context(|| format!("move {} to {}", fetched.display(), target.display()))?;
    std::fs::remove_dir_all(&tmp).with_context(|| format!("remove {}", tmp.display()))?;
    Ok(target)
}

/// The registry's own client downloading the pinned package into `tmp`: `pip download` of the
/// wheel for the package's platform, `npm pack`, or `apt-get download name=version`.
fn download_command(pkg: &Package, tmp: &Path) -> Command {
    match pkg.registry {
        Registry::Pypi => {
            let mut cmd = Command::new("python3");
            cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
                .args(["--disable-pip-version-check", "--quiet", "--dest"])
                .arg(tmp);
            if let Some(platform) = &pkg.platform {
                cmd.args(["--platform", platform, "--implementation", "cp"]);
                cmd.args(["--python-version", pkg.python.as_deref().unwrap_or("3.12")]);
            }
            cmd.arg(format!("{}=={}", pkg.name, pkg.version));
            cmd
        }
        Registry::Npm => {
            let mut cmd = Command::new("npm");
            cmd.args(["pack", "--silent", "--pack-destination"])
                .arg(tmp)
                .arg(format!("{}@{}", pkg.name, pkg.version));
            cmd
        }
        Registry::Debian => {
            let mut cmd = Command::new("apt-get");
            cmd.args(["download", "-q"])
                .arg(format!("{}={}", pkg.name, pkg.version))
                .current_dir(tmp);
            cmd
        }
    }
}

/// Runs the package's download into `tmp` and returns the command as shown in messages; a
/// failed download is an error with the client's output (and, for Debian, what to do).
fn download(pkg: &Package, tmp: &Path) -> anyhow::Result<String> {
    let mut cmd = download_command(pkg, tmp);
    let shown = format!("{cmd:?}");
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("run {shown}"))?;
    if !out.status.success() {
        let hint = match pkg.registry {
            Registry::Debian => {
                " (run `apt-get update` first; if the archive no longer has this version, pin the new one and its SHA-256 in fixtures/corpus.toml)"
            }
            _ => "",
        };
        bail!(
            "{shown} failed{hint}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(shown)
}

/// The one archive (a `.<ext>` or `.zip` file) the download `shown` left in `tmp`; none or
/// several is an error.
fn downloaded_file(tmp: &Path, ext: &str, shown: &str) -> anyhow::Result<PathBuf> {
    let fetched: Vec<PathBuf> = std::fs::read_dir(tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == ext || e == "zip"))
        .collect();
    let [fetched] = fetched.as_slice() else {
        bail!(
            "{shown} left {} .{ext} files in {}, expected one",
            fetched.len(),
            tmp.display()
        );
    };
    Ok(fetched.clone())
}

/// Calls `f(path inside the archive, bytes)` for every regular file of a wheel, npm tarball or
/// .deb (its data part, through `dpkg-deb --fsys-tarfile`) no larger than [`MAX_FILE`].
fn for_each_entry(
    archive: &Path,
    f: &mut dyn FnMut(&str, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let open =
        || std::fs::File::open(archive).with_context(|| format!("open {}", archive.display()));
    match archive.extension().and_then(|e| e.to_str()) {
        Some("whl") => {
            let mut zip = zip::ZipArchive::new(open()?)?;
            for i in 0..zip.len() {
                let mut entry = zip.by_index(i)?;
                if !entry.is_file() || entry.size() > MAX_FILE {
                    continue;
                }
                let name = entry.name()?.into_owned();
                let mut data = Vec::new();
                entry.read_to_end(&mut data)?;
                f(&name, &data)?;
            }
            Ok(())
        }
        Some("tgz") => tar_entries(flate2::read::GzDecoder::new(open()?), f),
        Some("deb") => {
            let mut child = Command::new("dpkg-deb")
                .arg("--fsys-tarfile")
                .arg(archive)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .context("run dpkg-deb (Debian's dpkg) to read the .deb")?;
            let stdout = child.stdout.take().context("dpkg-deb has no stdout")?;
            let read = tar_entries(stdout, f);
            let status = child.wait().context("wait for dpkg-deb")?;
            read?;
            ensure!(status.success(), "dpkg-deb --fsys-tarfile failed: {status}");
            Ok(())
        }
        other => bail!("unknown archive type {other:?}"),
    }
}

fn tar_entries(
    reader: impl Read,
    f: &mut dyn FnMut(&str, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let mut tar = tar::Archive::new(reader);
    for entry in tar.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular || entry.size() > MAX_FILE {
            continue;
        }
        let name = entry.path()?.to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data)?;
        f(&name, &data)?;
    }
    Ok(())
}
