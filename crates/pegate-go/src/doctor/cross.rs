//! The cross-compilation checks: the toolchain has the Windows ports, and a C cross compiler
//! serves each target for cgo (`CGO_ENABLED` builds and `pegate build --cgo`).

use std::ffi::{OsStr, OsString};

use pegate_facts::{GoArch, GoOs};

use crate::matrix::Target;
use crate::toolchain::{self, WindowsArm};

use super::go_env::go_version;
use super::{Check, CheckId, DoctorEnv, Status, check};

pub(super) fn targets(env: &DoctorEnv) -> Check {
    let Some(ports) = &env.ports else {
        return check(
            CheckId::TargetsSupported,
            Status::Warn,
            "could not run `go tool dist list -json`",
            "fix the go toolchain first (see go.found)",
        );
    };
    let have = go_version(env);
    let mut missing = Vec::new();
    for target in &env.targets {
        if !ports.iter().any(|p| {
            p.goos == target.goos.as_str() && p.goarch == target.goarch.as_str() && !p.broken
        }) {
            let arm = (*target == Target::windows(GoArch::Arm))
                .then(|| have.as_ref().and_then(toolchain::windows_arm))
                .flatten();
            let why = match arm {
                Some(WindowsArm::Removed) => " (removed in Go 1.26)",
                Some(WindowsArm::Broken) => " (marked broken since Go 1.24)",
                None => "",
            };
            missing.push(format!("{target}{why}"));
        }
    }
    let list: Vec<String> = env.targets.iter().map(Target::to_string).collect();
    if missing.is_empty() {
        check(
            CheckId::TargetsSupported,
            Status::Pass,
            format!("{} supported", list.join(", ")),
            "",
        )
    } else {
        check(
            CheckId::TargetsSupported,
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
fn compilers_for(goarch: GoArch) -> &'static [&'static str] {
    match goarch {
        GoArch::Amd64 => &["x86_64-w64-mingw32-gcc", "zig", "clang"],
        GoArch::I386 => &["i686-w64-mingw32-gcc", "zig", "clang"],
        GoArch::Arm64 => &[
            "aarch64-w64-mingw32-gcc",
            "aarch64-w64-mingw32-clang",
            "zig",
            "clang",
        ],
        _ => &["zig", "clang"],
    }
}

pub(super) fn cgo(env: &DoctorEnv) -> Check {
    // Go turns cgo off by itself when cross-compiling unless CGO_ENABLED=1 is set explicitly,
    // so only an explicit setting needs a cross compiler (`go env` shows the host default).
    if env.vars.get("CGO_ENABLED").map(String::as_str) != Some("1") {
        return check(
            CheckId::CgoCrossCompiler,
            Status::Pass,
            "CGO_ENABLED is not set to 1: cross builds use no C compiler",
            "",
        );
    }
    if let Some(cc) = env.vars.get("CC").filter(|c| !c.is_empty()) {
        return check(
            CheckId::CgoCrossCompiler,
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
        .filter(|t| t.goos == GoOs::Windows)
        .filter(|t| !compilers_for(t.goarch).iter().any(|c| on_path(c)))
        .map(|t| format!("{t} (tried {})", compilers_for(t.goarch).join(", ")))
        .collect();
    if missing.is_empty() {
        check(
            CheckId::CgoCrossCompiler,
            Status::Pass,
            "a C cross compiler is on PATH for every windows target",
            "",
        )
    } else {
        check(
            CheckId::CgoCrossCompiler,
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
pub(super) fn pegate_cgo(env: &DoctorEnv) -> Check {
    use crate::cgo::{CgoOptions, Plan, plan_in};
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
    for target in &env.targets {
        // PEGATE_CC_* from the gathered variables, like PATH.
        let plan = plan_in(target, &opts, &cache, &|var| env.vars.get(var).cloned());
        if let Plan::Missing(_) = plan {
            missing.push(target.to_string());
        }
        lines.push(format!("{target}: {}", plan.describe()));
    }
    let message = lines.join("; ");
    if missing.is_empty() {
        check(CheckId::CgoPegateCompiler, Status::Pass, message, "")
    } else {
        check(
            CheckId::CgoPegateCompiler,
            Status::Warn,
            message,
            "install MinGW-w64 (apt-get install gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 gcc-mingw-w64-i686 g++-mingw-w64-i686), \
             let pegate fetch zig (python3 with pip), set PEGATE_ZIG, or pass pegate build --cc GOOS/GOARCH=COMPILER",
        )
    }
}
