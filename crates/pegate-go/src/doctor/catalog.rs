//! The catalogue of every check the doctor can produce: its id, where it runs, what it checks.

use serde::{Deserialize, Serialize};

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
