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

use pegate_facts::GoVersion;
use serde::{Deserialize, Serialize};

use crate::toolchain::{self, Port, Toolchain, WindowsArm};

#[cfg(windows)]
mod gather;
mod windows;

pub use windows::{GO_PROXY_ROOTS, RegString, WindowsFacts};

/// Where a check runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Platform {
    /// Everywhere.
    All,
    /// Only on Windows (it reads the registry or the certificate store).
    WindowsOnly,
    /// Everywhere but Windows (a Windows machine gets a precise check instead).
    NotWindows,
}

/// One entry of the check catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CheckInfo {
    /// The stable id.
    pub id: &'static str,
    /// Where it runs.
    pub platform: Platform,
    /// What it checks, in one line.
    pub about: &'static str,
}

/// Every check [`run`] can produce, in output order.
pub const CATALOG: &[CheckInfo] = &[
    CheckInfo {
        id: "go.found",
        platform: Platform::All,
        about: "a usable go is on PATH (or given)",
    },
    CheckInfo {
        id: "goroot.layout",
        platform: Platform::All,
        about: "GOROOT holds bin/go",
    },
    CheckInfo {
        id: "goroot.gopath",
        platform: Platform::All,
        about: "GOPATH and GOROOT do not overlap",
    },
    CheckInfo {
        id: "path.go-bins",
        platform: Platform::All,
        about: "GOROOT/bin and GOPATH/bin are on PATH",
    },
    CheckInfo {
        id: "go-version.file",
        platform: Platform::All,
        about: "the toolchain matches the project's .go-version",
    },
    CheckInfo {
        id: "goproxy.fallback",
        platform: Platform::All,
        about: "GOPROXY has a fallback (,direct)",
    },
    CheckInfo {
        id: "gosumdb.enabled",
        platform: Platform::All,
        about: "module checksums are verified",
    },
    CheckInfo {
        id: "goflags.clean",
        platform: Platform::All,
        about: "GOFLAGS holds no surprising build flags",
    },
    CheckInfo {
        id: "targets.supported",
        platform: Platform::All,
        about: "every matrix target is a port of this go",
    },
    CheckInfo {
        id: "cgo.cross-compiler",
        platform: Platform::All,
        about: "CGO_ENABLED=1 has a C cross compiler per target",
    },
    CheckInfo {
        id: "cgo.pegate-compiler",
        platform: Platform::All,
        about: "which C compiler `pegate build --cgo` uses per target, and why",
    },
    CheckInfo {
        id: "windows.path-length",
        platform: Platform::NotWindows,
        about: "paths a Windows runner would see stay under MAX_PATH",
    },
    CheckInfo {
        id: "env.persisted",
        platform: Platform::WindowsOnly,
        about: "this terminal has the GOROOT/GOPATH/GOPROXY/PATH saved in the registry (the setx trap)",
    },
    CheckInfo {
        id: "path.order",
        platform: Platform::WindowsOnly,
        about: "the first go.exe on PATH is %GOROOT%\\bin's",
    },
    CheckInfo {
        id: "windows.long-paths",
        platform: Platform::WindowsOnly,
        about: "LongPathsEnabled against the deepest path in GOPATH/GOMODCACHE",
    },
    CheckInfo {
        id: "certs.system-roots",
        platform: Platform::All,
        about: "root certificates for the Go proxy: a CA bundle, or on Windows the ROOT store",
    },
];

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
    pub targets: Vec<(String, String)>,
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
            targets: ["amd64", "arm64", "386"]
                .iter()
                .map(|a| ("windows".to_owned(), (*a).to_owned()))
                .collect(),
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

fn check(id: &str, status: Status, message: impl Into<String>, fix: &str) -> Check {
    Check {
        id: id.to_owned(),
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

fn go_found(env: &DoctorEnv) -> Check {
    match (&env.go, &env.go_version, &env.go_error) {
        (Some(go), Some(v), None) => check(
            "go.found",
            Status::Pass,
            format!("{v} at {}", go.display()),
            "",
        ),
        (go, _, err) => check(
            "go.found",
            Status::Fail,
            format!(
                "no usable go{}: {}",
                go.as_ref()
                    .map(|g| format!(" at {}", g.display()))
                    .unwrap_or_default(),
                err.as_deref().unwrap_or("not found")
            ),
            "install Go (or run `pegate build`, which provisions a pinned Go) and put its bin/ on PATH",
        ),
    }
}

fn goroot_checks(env: &DoctorEnv) -> Vec<Check> {
    let mut out = Vec::new();
    let goroot = env
        .setting("GOROOT")
        .filter(|g| !g.is_empty())
        .map(PathBuf::from);
    match &goroot {
        None => out.push(check(
            "goroot.layout",
            Status::Fail,
            "GOROOT is unknown",
            "run `go env GOROOT`; unset a wrong GOROOT so go finds its own",
        )),
        Some(root) => {
            let go = root
                .join("bin")
                .join(if cfg!(windows) { "go.exe" } else { "go" });
            out.push(if go.is_file() {
                check("goroot.layout", Status::Pass, format!("{} holds bin/go", root.display()), "")
            } else {
                check(
                    "goroot.layout",
                    Status::Fail,
                    format!("GOROOT {} has no bin/go", root.display()),
                    "point GOROOT at the Go installation (the directory holding bin/go), or unset it",
                )
            });
        }
    }
    let gopaths: Vec<PathBuf> = env
        .setting("GOPATH")
        .map(|p| std::env::split_paths(&OsString::from(p)).collect())
        .unwrap_or_default();
    let clash = goroot
        .as_ref()
        .and_then(|root| gopaths.iter().find(|gp| same_or_inside(root, gp)));
    out.push(match (clash, &goroot) {
        (Some(gp), Some(root)) => check(
            "goroot.gopath",
            Status::Fail,
            format!("GOPATH {} and GOROOT {} overlap", gp.display(), root.display()),
            "keep GOPATH (your workspace, default ~/go) outside GOROOT (the toolchain) and vice versa",
        ),
        _ if gopaths.is_empty() => check("goroot.gopath", Status::Warn, "GOPATH is unknown", "run `go env GOPATH`"),
        _ => check("goroot.gopath", Status::Pass, "GOROOT and GOPATH are separate", ""),
    });
    out
}

fn path_check(env: &DoctorEnv) -> Check {
    let dirs = env.path_dirs();
    let mut missing = Vec::new();
    if let Some(root) = env.setting("GOROOT").filter(|g| !g.is_empty()) {
        let bin = Path::new(root).join("bin");
        if !dirs.contains(&bin) {
            missing.push(bin);
        }
    }
    let gobin = env
        .setting("GOBIN")
        .filter(|g| !g.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env.setting("GOPATH")
                .and_then(|p| std::env::split_paths(&OsString::from(p)).next())
                .map(|p| p.join("bin"))
        });
    if let Some(bin) = gobin
        && !dirs.contains(&bin)
    {
        missing.push(bin);
    }
    if missing.is_empty() {
        check(
            "path.go-bins",
            Status::Pass,
            "GOROOT/bin and GOPATH/bin are on PATH",
            "",
        )
    } else {
        let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        check(
            "path.go-bins",
            Status::Warn,
            format!("not on PATH: {}", list.join(", ")),
            "add GOROOT/bin (the go command) and GOPATH/bin (installed tools) to PATH",
        )
    }
}

/// The checked toolchain's version, if it has one that parses.
fn go_version(env: &DoctorEnv) -> Option<GoVersion> {
    env.go_version.as_deref().and_then(|v| v.parse().ok())
}

fn go_version_file(env: &DoctorEnv) -> Check {
    let Some((file, wanted)) = toolchain::find_go_version_file(&env.project_dir) else {
        return check(
            "go-version.file",
            Status::Pass,
            "no .go-version in the project",
            "",
        );
    };
    let wanted = wanted.as_str();
    let want = wanted.parse::<GoVersion>().ok();
    let have = go_version(env);
    // `1.27` in .go-version accepts any 1.27.x.
    let matches = match (want, have) {
        (Some(w), Some(h)) => {
            if wanted.trim_start_matches("go").matches('.').count() >= 2 {
                w.numbers() == h.numbers()
            } else {
                w.release() == h.release()
            }
        }
        _ => false,
    };
    if matches {
        check(
            "go-version.file",
            Status::Pass,
            format!("{} asks for {wanted}, in use", file.display()),
            "",
        )
    } else {
        check(
            "go-version.file",
            Status::Fail,
            format!(
                "{} asks for {wanted}, the toolchain is {}",
                file.display(),
                env.go_version.as_deref().unwrap_or("unknown")
            ),
            "use the Go the project pins (`pegate build --go <version>` provisions it) or update .go-version",
        )
    }
}

fn goproxy(env: &DoctorEnv) -> Check {
    let proxy = env.setting("GOPROXY").unwrap_or("");
    let entries: Vec<&str> = proxy.split([',', '|']).map(str::trim).collect();
    if proxy == "off" {
        check(
            "goproxy.fallback",
            Status::Pass,
            "GOPROXY=off: module downloads are disabled on purpose",
            "",
        )
    } else if proxy.is_empty() {
        check(
            "goproxy.fallback",
            Status::Warn,
            "GOPROXY is empty: go falls back to direct VCS fetches only",
            "set GOPROXY=https://proxy.golang.org,direct (or your mirror followed by ,direct)",
        )
    } else if entries.contains(&"direct") || entries.contains(&"off") {
        check(
            "goproxy.fallback",
            Status::Pass,
            format!("GOPROXY={proxy}"),
            "",
        )
    } else {
        check(
            "goproxy.fallback",
            Status::Warn,
            format!("GOPROXY={proxy} has no fallback: one proxy outage stops every build"),
            "append ,direct (e.g. GOPROXY=https://goproxy.cn,direct)",
        )
    }
}

fn gosumdb(env: &DoctorEnv) -> Check {
    let sumdb = env.setting("GOSUMDB").unwrap_or("");
    let private = ["GONOSUMDB", "GOPRIVATE", "GONOSUMCHECK"]
        .iter()
        .filter_map(|k| {
            env.setting(k)
                .filter(|v| !v.is_empty())
                .map(|v| format!("{k}={v}"))
        })
        .collect::<Vec<_>>();
    if sumdb != "off" {
        return check(
            "gosumdb.enabled",
            Status::Pass,
            format!(
                "GOSUMDB={}",
                if sumdb.is_empty() {
                    "sum.golang.org (default)"
                } else {
                    sumdb
                }
            ),
            "",
        );
    }
    if private.is_empty() {
        check(
            "gosumdb.enabled",
            Status::Fail,
            "GOSUMDB=off with no GONOSUMDB/GOPRIVATE: module checksums are not verified for any module",
            "remove GOSUMDB=off; exempt only private modules with GOPRIVATE=<pattern>",
        )
    } else {
        check(
            "gosumdb.enabled",
            Status::Warn,
            format!(
                "GOSUMDB=off; {} suggests private modules",
                private.join(", ")
            ),
            "prefer GOSUMDB on with GOPRIVATE/GONOSUMDB for the private modules only",
        )
    }
}

fn goflags(env: &DoctorEnv) -> Check {
    let flags = env.setting("GOFLAGS").unwrap_or("");
    const SURPRISING: &[(&str, &str)] = &[
        ("-mod=mod", "lets builds rewrite go.mod"),
        ("-insecure", "allows insecure fetches"),
        ("-modcacherw", "leaves the module cache writable"),
        ("-buildmode=exe", "drops ASLR on windows/amd64 and 386"),
        ("-race", "disables PIE on Windows"),
        (
            "-trimpath=false",
            "makes builds depend on the checkout path",
        ),
    ];
    let found: Vec<String> = flags
        .split_whitespace()
        .filter_map(|f| {
            SURPRISING
                .iter()
                .find(|(s, _)| f == *s || f.starts_with(&format!("{s}=")))
                .map(|(s, why)| format!("{s} ({why})"))
        })
        .collect();
    if found.is_empty() {
        check(
            "goflags.clean",
            Status::Pass,
            if flags.is_empty() {
                "GOFLAGS is empty".to_owned()
            } else {
                format!("GOFLAGS={flags}")
            },
            "",
        )
    } else {
        check(
            "goflags.clean",
            Status::Warn,
            format!("GOFLAGS holds {}", found.join(", ")),
            "move build flags into the build command (or pegate's matrix) instead of GOFLAGS",
        )
    }
}

fn targets(env: &DoctorEnv) -> Check {
    let Some(ports) = &env.ports else {
        return check(
            "targets.supported",
            Status::Warn,
            "could not run `go tool dist list -json`",
            "fix the go toolchain first (see go.found)",
        );
    };
    let have = go_version(env);
    let mut missing = Vec::new();
    for (goos, goarch) in &env.targets {
        if !ports
            .iter()
            .any(|p| &p.goos == goos && &p.goarch == goarch && !p.broken)
        {
            let arm = (goos == "windows" && goarch == "arm")
                .then(|| have.as_ref().and_then(toolchain::windows_arm))
                .flatten();
            let why = match arm {
                Some(WindowsArm::Removed) => " (removed in Go 1.26)",
                Some(WindowsArm::Broken) => " (marked broken since Go 1.24)",
                None => "",
            };
            missing.push(format!("{goos}/{goarch}{why}"));
        }
    }
    let list: Vec<String> = env
        .targets
        .iter()
        .map(|(o, a)| format!("{o}/{a}"))
        .collect();
    if missing.is_empty() {
        check(
            "targets.supported",
            Status::Pass,
            format!("{} supported", list.join(", ")),
            "",
        )
    } else {
        check(
            "targets.supported",
            Status::Fail,
            format!(
                "not supported by {}: {}",
                env.go_version.as_deref().unwrap_or("this go"),
                missing.join(", ")
            ),
            "drop the target from the matrix or build it with an older Go that still has the port",
        )
    }
}

/// C cross compilers that can serve a windows GOARCH.
fn compilers_for(goarch: &str) -> &'static [&'static str] {
    match goarch {
        "amd64" => &["x86_64-w64-mingw32-gcc", "zig", "clang"],
        "386" => &["i686-w64-mingw32-gcc", "zig", "clang"],
        "arm64" => &[
            "aarch64-w64-mingw32-gcc",
            "aarch64-w64-mingw32-clang",
            "zig",
            "clang",
        ],
        _ => &["zig", "clang"],
    }
}

fn cgo(env: &DoctorEnv) -> Check {
    // Go turns cgo off by itself when cross-compiling unless CGO_ENABLED=1 is set explicitly,
    // so only an explicit setting needs a cross compiler (`go env` shows the host default).
    if env.vars.get("CGO_ENABLED").map(String::as_str) != Some("1") {
        return check(
            "cgo.cross-compiler",
            Status::Pass,
            "CGO_ENABLED is not set to 1: cross builds use no C compiler",
            "",
        );
    }
    if let Some(cc) = env.vars.get("CC").filter(|c| !c.is_empty()) {
        return check(
            "cgo.cross-compiler",
            Status::Warn,
            format!("CGO_ENABLED=1 with CC={cc}: pegate cannot tell which targets it serves"),
            "set CC per target (e.g. CC=x86_64-w64-mingw32-gcc) in each cell's environment",
        );
    }
    // The toolchain's PATH search: an executable, with `.exe` on Windows.
    let path = OsStr::new(env.vars.get("PATH").map(String::as_str).unwrap_or_default());
    let on_path = |name: &str| toolchain::find_on_path(path, name).is_some();
    let missing: Vec<String> = env
        .targets
        .iter()
        .filter(|(goos, _)| goos == "windows")
        .filter(|(_, arch)| !compilers_for(arch).iter().any(|c| on_path(c)))
        .map(|(_, arch)| format!("windows/{arch} (tried {})", compilers_for(arch).join(", ")))
        .collect();
    if missing.is_empty() {
        check(
            "cgo.cross-compiler",
            Status::Pass,
            "a C cross compiler is on PATH for every windows target",
            "",
        )
    } else {
        check(
            "cgo.cross-compiler",
            Status::Fail,
            format!(
                "CGO_ENABLED=1 but no C cross compiler for {}",
                missing.join("; ")
            ),
            "install mingw-w64 (apt-get install gcc-mingw-w64) or zig, or build with CGO_ENABLED=0",
        )
    }
}

/// Per target, the C compiler `pegate build --cgo` would use and why ([`crate::cgo::plan`]: a
/// `--cc`/`PEGATE_CC_*` override, MinGW-w64 on PATH, zig); a target with none is a warning
/// (cgo is opt-in), naming what to install.
fn pegate_cgo(env: &DoctorEnv) -> Check {
    use crate::cgo::{CgoOptions, Plan, plan_in};
    use crate::matrix::Target;
    let opts = CgoOptions {
        path_var: Some(OsString::from(
            env.vars.get("PATH").map(String::as_str).unwrap_or_default(),
        )),
        configured: env.cgo_configured.clone(),
        ..CgoOptions::default()
    };
    let cache = env.cache.clone().unwrap_or_default();
    let mut lines = Vec::new();
    let mut missing = Vec::new();
    for (goos, goarch) in &env.targets {
        let target = Target {
            goos: goos.clone(),
            goarch: goarch.clone(),
        };
        // PEGATE_CC_* from the gathered variables, like PATH.
        let plan = plan_in(&target, &opts, &cache, &|var| env.vars.get(var).cloned());
        if let Plan::Missing(_) = plan {
            missing.push(target.to_string());
        }
        lines.push(format!("{target}: {}", plan.describe()));
    }
    let message = lines.join("; ");
    if missing.is_empty() {
        check("cgo.pegate-compiler", Status::Pass, message, "")
    } else {
        check(
            "cgo.pegate-compiler",
            Status::Warn,
            message,
            "install MinGW-w64 (apt-get install gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 gcc-mingw-w64-i686 g++-mingw-w64-i686), \
             let pegate fetch zig (python3 with pip), set PEGATE_ZIG, or pass pegate build --cc GOOS/GOARCH=COMPILER",
        )
    }
}

/// The longest path under `dir`, relative to it, looking at no more than `budget` entries.
fn longest_relative(dir: &Path, budget: usize) -> Option<(usize, PathBuf)> {
    let mut best: Option<(usize, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            seen = seen.saturating_add(1);
            if seen > budget {
                return best;
            }
            let p = e.path();
            let rel = p.strip_prefix(dir).unwrap_or(&p).to_path_buf();
            let len = rel.as_os_str().len();
            if best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, rel));
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p);
            }
        }
    }
    best
}

fn path_length(env: &DoctorEnv) -> Check {
    let modcache = env
        .setting("GOMODCACHE")
        .filter(|m| !m.is_empty())
        .map(PathBuf::from);
    let mut worst: Option<(usize, String)> = None;
    for (base, prefix) in [
        (modcache, env.windows_modcache_prefix.clone()),
        (
            Some(env.project_dir.clone()),
            r"D:\a\project\project\".to_owned(),
        ),
    ] {
        let Some(base) = base else { continue };
        if let Some((len, rel)) = longest_relative(&base, 50_000) {
            let total = prefix.len().saturating_add(len);
            if worst.as_ref().is_none_or(|(l, _)| total > *l) {
                worst = Some((
                    total,
                    format!("{prefix}{}", rel.display().to_string().replace('/', "\\")),
                ));
            }
        }
    }
    match worst {
        Some((len, example)) if len > MAX_PATH => check(
            "windows.path-length",
            Status::Warn,
            format!(
                "a Windows runner would see {len}-character paths (> {MAX_PATH}), e.g. {example}"
            ),
            "enable LongPathsEnabled on Windows runners, or set a short GOMODCACHE (e.g. C:\\m)",
        ),
        Some((len, _)) => check(
            "windows.path-length",
            Status::Pass,
            format!("longest path on a Windows runner: about {len} characters"),
            "",
        ),
        None => check(
            "windows.path-length",
            Status::Pass,
            "no module cache or project files to measure",
            "",
        ),
    }
}

fn certs(env: &DoctorEnv) -> Check {
    // Go's crypto/x509 honours SSL_CERT_FILE first, then SSL_CERT_DIR.
    let explicit = ["SSL_CERT_FILE", "SSL_CERT_DIR"].iter().find_map(|k| {
        env.vars
            .get(*k)
            .filter(|v| !v.is_empty())
            .map(|v| (*k, PathBuf::from(v)))
    });
    if let Some((key, path)) = explicit {
        let usable = if key == "SSL_CERT_FILE" {
            path.is_file()
        } else {
            std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_some())
        };
        return if usable {
            check(
                "certs.system-roots",
                Status::Pass,
                format!("{key}={}", path.display()),
                "",
            )
        } else {
            check(
                "certs.system-roots",
                Status::Fail,
                format!("{key}={} does not exist or is empty", path.display()),
                "point it at a CA bundle, or unset it so Go finds the system's",
            )
        };
    }
    match env.cert_locations.iter().find(|p| p.is_file()) {
        Some(p) => check(
            "certs.system-roots",
            Status::Pass,
            format!("system roots at {}", p.display()),
            "",
        ),
        None => check(
            "certs.system-roots",
            Status::Fail,
            "no system root certificates: go get fails with \"x509: system root pool is not available\"",
            "install the CA bundle (apt-get install ca-certificates) or set SSL_CERT_FILE",
        ),
    }
}
