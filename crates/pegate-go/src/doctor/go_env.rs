//! The toolchain checks: a usable `go`, GOROOT/GOPATH/PATH, `.go-version`, and the `go env`
//! settings that reach the network (GOPROXY, GOSUMDB) or every build (GOFLAGS).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pegate_facts::GoVersion;

use crate::toolchain;

use super::{Check, CheckId, DoctorEnv, Status, check, same_or_inside};

pub(super) fn go_found(env: &DoctorEnv) -> Check {
    match (&env.go, &env.go_version, &env.go_error) {
        (Some(go), Some(v), None) => check(
            CheckId::GoFound,
            Status::Pass,
            format!("{v} at {}", go.display()),
            "",
        ),
        (go, _, err) => check(
            CheckId::GoFound,
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

pub(super) fn goroot_checks(env: &DoctorEnv) -> Vec<Check> {
    let mut out = Vec::new();
    let goroot = env
        .setting("GOROOT")
        .filter(|g| !g.is_empty())
        .map(PathBuf::from);
    match &goroot {
        None => out.push(check(
            CheckId::GorootLayout,
            Status::Fail,
            "GOROOT is unknown",
            "run `go env GOROOT`; unset a wrong GOROOT so go finds its own",
        )),
        Some(root) => {
            let go = root
                .join("bin")
                .join(if cfg!(windows) { "go.exe" } else { "go" });
            out.push(if go.is_file() {
                check(CheckId::GorootLayout, Status::Pass, format!("{} holds bin/go", root.display()), "")
            } else {
                check(
                    CheckId::GorootLayout,
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
            CheckId::GorootGopath,
            Status::Fail,
            format!("GOPATH {} and GOROOT {} overlap", gp.display(), root.display()),
            "keep GOPATH (your workspace, default ~/go) outside GOROOT (the toolchain) and vice versa",
        ),
        _ if gopaths.is_empty() => check(CheckId::GorootGopath, Status::Warn, "GOPATH is unknown", "run `go env GOPATH`"),
        _ => check(CheckId::GorootGopath, Status::Pass, "GOROOT and GOPATH are separate", ""),
    });
    out
}

pub(super) fn path_check(env: &DoctorEnv) -> Check {
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
            CheckId::PathGoBins,
            Status::Pass,
            "GOROOT/bin and GOPATH/bin are on PATH",
            "",
        )
    } else {
        let list: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
        check(
            CheckId::PathGoBins,
            Status::Warn,
            format!("not on PATH: {}", list.join(", ")),
            "add GOROOT/bin (the go command) and GOPATH/bin (installed tools) to PATH",
        )
    }
}

/// The checked toolchain's version, if it has one that parses.
pub(super) fn go_version(env: &DoctorEnv) -> Option<GoVersion> {
    env.go_version.as_deref().and_then(|v| v.parse().ok())
}

pub(super) fn go_version_file(env: &DoctorEnv) -> Check {
    let Some((file, wanted)) = toolchain::find_go_version_file(&env.project_dir) else {
        return check(
            CheckId::GoVersionFile,
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
            CheckId::GoVersionFile,
            Status::Pass,
            format!("{} asks for {wanted}, in use", file.display()),
            "",
        )
    } else {
        check(
            CheckId::GoVersionFile,
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

pub(super) fn goproxy(env: &DoctorEnv) -> Check {
    let proxy = env.setting("GOPROXY").unwrap_or("");
    let entries: Vec<&str> = proxy.split([',', '|']).map(str::trim).collect();
    if proxy == "off" {
        check(
            CheckId::GoproxyFallback,
            Status::Pass,
            "GOPROXY=off: module downloads are disabled on purpose",
            "",
        )
    } else if proxy.is_empty() {
        check(
            CheckId::GoproxyFallback,
            Status::Warn,
            "GOPROXY is empty: go falls back to direct VCS fetches only",
            "set GOPROXY=https://proxy.golang.org,direct (or your mirror followed by ,direct)",
        )
    } else if entries.contains(&"direct") || entries.contains(&"off") {
        check(
            CheckId::GoproxyFallback,
            Status::Pass,
            format!("GOPROXY={proxy}"),
            "",
        )
    } else {
        check(
            CheckId::GoproxyFallback,
            Status::Warn,
            format!("GOPROXY={proxy} has no fallback: one proxy outage stops every build"),
            "append ,direct (e.g. GOPROXY=https://goproxy.cn,direct)",
        )
    }
}

pub(super) fn gosumdb(env: &DoctorEnv) -> Check {
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
            CheckId::GosumdbEnabled,
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
            CheckId::GosumdbEnabled,
            Status::Fail,
            "GOSUMDB=off with no GONOSUMDB/GOPRIVATE: module checksums are not verified for any module",
            "remove GOSUMDB=off; exempt only private modules with GOPRIVATE=<pattern>",
        )
    } else {
        check(
            CheckId::GosumdbEnabled,
            Status::Warn,
            format!(
                "GOSUMDB=off; {} suggests private modules",
                private.join(", ")
            ),
            "prefer GOSUMDB on with GOPRIVATE/GONOSUMDB for the private modules only",
        )
    }
}

pub(super) fn goflags(env: &DoctorEnv) -> Check {
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
            CheckId::GoflagsClean,
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
            CheckId::GoflagsClean,
            Status::Warn,
            format!("GOFLAGS holds {}", found.join(", ")),
            "move build flags into the build command (or pegate's matrix) instead of GOFLAGS",
        )
    }
}
