//! `pegate doctor`: the checks people run by hand when a Go-for-Windows build environment breaks
//! (the toolchain, GOROOT/GOPATH/PATH, `.go-version`, the module proxy and checksum database,
//! GOFLAGS, the targets, cgo, path lengths, root certificates), each with pass / warn / fail and
//! a one-line fix.
//!
//! [`DoctorEnv::from_system`] gathers everything that takes running a program or reading the
//! registry: the environment, `go env -json`, `go tool dist list -json`, and on Windows the
//! [`WindowsFacts`] (registry, ROOT store) that switch on the Windows-only checks. The checks
//! themselves take that [`DoctorEnv`] and spawn nothing and read no registry; they do look at
//! the files it names (GOROOT's `bin/go`, the project's `.go-version`, the trees under GOPATH
//! and GOMODCACHE, certificate bundles), so they are tested with fake GOROOT trees, temporary
//! directories and hand-made environment maps. [`CATALOG`] lists every check and where it runs.
//!
//! ```
//! use pegate_go::doctor::{self, DoctorEnv, Status};
//!
//! let mut env = DoctorEnv::empty("/tmp/project");
//! env.go_env.insert("GOPROXY".into(), "https://proxy.golang.org".into());
//! let checks = doctor::run(&env);
//! let proxy = checks.iter().find(|c| c.id == "goproxy.fallback").unwrap();
//! assert_eq!(proxy.status, Status::Warn);
//! ```

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::toolchain::{self, Port, Toolchain};

mod catalog;
mod cross;
#[cfg(windows)]
mod gather;
mod go_env;
mod host;
mod windows;

pub use catalog::{CATALOG, CheckId, CheckInfo, Platform};
pub use windows::{GO_PROXY_ROOTS, RegString, WindowsFacts};

use cross::{cgo, pegate_cgo, targets};
use go_env::{go_found, go_version_file, goflags, goproxy, goroot_checks, gosumdb, path_check};
use host::{certs, longest_relative, path_length};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// All is well.
    Pass,
    /// Works here, but is a risk (or could not be checked).
    Warn,
    /// Broken: builds will fail or ship something wrong.
    Fail,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// Stable id (`go.found`, `goroot.layout`, `goproxy.fallback`, ...).
    pub id: String,
    /// Pass, warn or fail.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// One line saying how to fix it (empty when it passes).
    pub fix: String,
}

/// Everything the checks look at, gathered once.
#[derive(Debug, Clone, Default)]
pub struct DoctorEnv {
    /// The process environment (`PATH`, `CGO_ENABLED`, `SSL_CERT_FILE`, ...).
    pub vars: BTreeMap<String, String>,
    /// The `go` executable checked, if one was found.
    pub go: Option<PathBuf>,
    /// Its version (`go1.27.3`).
    pub go_version: Option<String>,
    /// Why no usable `go` was found.
    pub go_error: Option<String>,
    /// `go env -json`.
    pub go_env: BTreeMap<String, String>,
    /// `go tool dist list -json`, when it could be run.
    pub ports: Option<Vec<Port>>,
    /// The project directory (`.go-version` is looked for here and above).
    pub project_dir: PathBuf,
    /// GOOS/GOARCH targets to check (default windows/amd64, windows/arm64, windows/386).
    pub targets: Vec<crate::matrix::Target>,
    /// Where system root certificates may live (bundle files or directories).
    pub cert_locations: Vec<PathBuf>,
    /// The directory a Windows runner puts the module cache in, for the path-length estimate.
    pub windows_modcache_prefix: String,
    /// What only Windows has (registry, ROOT store); `Some` switches on the Windows-only checks.
    pub windows: Option<WindowsFacts>,
    /// pegate's cache, where `pegate build --cgo` finds (or would install) its pinned zig.
    pub cache: Option<PathBuf>,
    /// C compilers pinned per target by a build configuration file (`pegate doctor --config`,
    /// as `pegate build --config` reads it; [`crate::cgo::CgoOptions::configured`]).
    pub cgo_configured: BTreeMap<crate::matrix::Target, crate::cgo::CompilerOverride>,
}

/// Windows' classic MAX_PATH without LongPathsEnabled.
pub const MAX_PATH: usize = 260;

impl DoctorEnv {
    /// An environment with nothing found: no Go, no variables; the defaults for targets,
    /// certificate locations and the Windows prefix.
    pub fn empty(project_dir: impl Into<PathBuf>) -> DoctorEnv {
        DoctorEnv {
            project_dir: project_dir.into(),
            targets: crate::matrix::reference_targets(),
            cert_locations: [
                "/etc/ssl/certs/ca-certificates.crt",
                "/etc/pki/tls/certs/ca-bundle.crt",
                "/etc/ssl/ca-bundle.pem",
                "/etc/ssl/cert.pem",
                "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
            ]
            .iter()
            .map(PathBuf::from)
            .collect(),
            windows_modcache_prefix: r"C:\Users\runneradmin\go\pkg\mod\".to_owned(),
            ..DoctorEnv::default()
        }
    }

    /// Gathers the real environment: `go` from `go` (or PATH), `go env -json`, `go tool dist list -json`.
    pub fn from_system(go: Option<&Path>, project_dir: &Path) -> DoctorEnv {
        let mut env = DoctorEnv::empty(project_dir);
        env.cache = toolchain::user_cache_dir();
        // Windows names are case-insensitive (`Path`); the checks look them up upper-cased.
        env.vars = std::env::vars()
            .map(|(k, v)| (if cfg!(windows) { k.to_uppercase() } else { k }, v))
            .collect();
        #[cfg(windows)]
        {
            env.windows = Some(gather::gather(&env.vars));
        }
        let go_path = match go {
            Some(p) => Some(p.to_path_buf()),
            None => toolchain::find_on_path(
                OsStr::new(env.vars.get("PATH").map(String::as_str).unwrap_or_default()),
                "go",
            ),
        };
        let Some(go_path) = go_path else {
            env.go_error = Some("no `go` on PATH".to_owned());
            return env;
        };
        match Toolchain::from_go(&go_path) {
            Ok(tc) => {
                env.go_version = Some(tc.version.clone());
                env.go = Some(tc.go.clone());
                // The user's own settings matter here, so `go env` runs with their environment.
                match std::process::Command::new(&tc.go)
                    .args(["env", "-json"])
                    .output()
                {
                    Ok(out) if out.status.success() => {
                        env.go_env = serde_json::from_slice(&out.stdout).unwrap_or_default();
                    }
                    Ok(out) => {
                        env.go_error = Some(String::from_utf8_lossy(&out.stderr).trim().to_owned())
                    }
                    Err(e) => env.go_error = Some(e.to_string()),
                }
                env.ports = tc.dist_list().ok();
            }
            Err(e) => {
                env.go = Some(go_path);
                env.go_error = Some(e.to_string());
            }
        }
        if let Some(prefix) = std::env::var_os("PEGATE_WINDOWS_MODCACHE") {
            env.windows_modcache_prefix = prefix.to_string_lossy().into_owned();
        }
        env
    }

    fn setting(&self, key: &str) -> Option<&str> {
        self.go_env
            .get(key)
            .or_else(|| self.vars.get(key))
            .map(String::as_str)
    }

    fn path_dirs(&self) -> Vec<PathBuf> {
        self.vars
            .get("PATH")
            .map(|p| std::env::split_paths(&OsString::from(p)).collect())
            .unwrap_or_default()
    }
}

fn check(id: CheckId, status: Status, message: impl Into<String>, fix: &str) -> Check {
    Check {
        id: id.as_str().to_owned(),
        status,
        message: message.into(),
        fix: if status == Status::Pass {
            String::new()
        } else {
            fix.to_owned()
        },
    }
}

fn same_or_inside(a: &Path, b: &Path) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// Runs every check, in a fixed order.
pub fn run(env: &DoctorEnv) -> Vec<Check> {
    let mut out = vec![go_found(env)];
    out.extend(goroot_checks(env));
    out.push(path_check(env));
    out.push(go_version_file(env));
    out.push(goproxy(env));
    out.push(gosumdb(env));
    out.push(goflags(env));
    out.push(targets(env));
    out.push(cgo(env));
    out.push(pegate_cgo(env));
    match &env.windows {
        Some(facts) => {
            out.push(windows::env_persisted(facts, &env.vars));
            out.push(windows::path_order(facts, &env.vars));
            out.push(windows::long_paths(
                facts.long_paths_enabled,
                deepest_go_path(env),
            ));
            out.push(windows::system_roots(facts));
        }
        None => {
            out.push(path_length(env));
            out.push(certs(env));
        }
    }
    out
}

/// The longest path (in UTF-16 units, as Windows counts) under GOPATH and GOMODCACHE.
fn deepest_go_path(env: &DoctorEnv) -> Option<(usize, String)> {
    let mut bases: Vec<PathBuf> = env
        .setting("GOPATH")
        .map(|p| std::env::split_paths(&OsString::from(p)).collect())
        .unwrap_or_default();
    bases.extend(
        env.setting("GOMODCACHE")
            .filter(|m| !m.is_empty())
            .map(PathBuf::from),
    );
    bases
        .iter()
        .filter_map(|base| {
            let (_, rel) = longest_relative(base, 50_000)?;
            let full = base.join(rel).display().to_string();
            Some((full.encode_utf16().count(), full))
        })
        .max_by_key(|(len, _)| *len)
}
