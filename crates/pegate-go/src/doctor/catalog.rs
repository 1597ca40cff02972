//! The catalogue of every check the doctor can produce: its id, where it runs, what it checks.

use serde::{Deserialize, Serialize};

/// A check's stable id: the one place its name is spelled (`go.found`, ...), so that a renamed
/// check cannot leave a stale id behind in a check, the catalogue or the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum CheckId {
    /// `go.found`.
    GoFound,
    /// `goroot.layout`.
    GorootLayout,
    /// `goroot.gopath`.
    GorootGopath,
    /// `path.go-bins`.
    PathGoBins,
    /// `go-version.file`.
    GoVersionFile,
    /// `goproxy.fallback`.
    GoproxyFallback,
    /// `gosumdb.enabled`.
    GosumdbEnabled,
    /// `goflags.clean`.
    GoflagsClean,
    /// `targets.supported`.
    TargetsSupported,
    /// `cgo.cross-compiler`.
    CgoCrossCompiler,
    /// `cgo.pegate-compiler`.
    CgoPegateCompiler,
    /// `windows.path-length`.
    WindowsPathLength,
    /// `env.persisted`.
    EnvPersisted,
    /// `path.order`.
    PathOrder,
    /// `windows.long-paths`.
    WindowsLongPaths,
    /// `certs.system-roots`.
    CertsSystemRoots,
}

impl CheckId {
    /// Every check id, in output order (the order of [`CATALOG`]).
    pub const ALL: [CheckId; 16] = [
        CheckId::GoFound,
        CheckId::GorootLayout,
        CheckId::GorootGopath,
        CheckId::PathGoBins,
        CheckId::GoVersionFile,
        CheckId::GoproxyFallback,
        CheckId::GosumdbEnabled,
        CheckId::GoflagsClean,
        CheckId::TargetsSupported,
        CheckId::CgoCrossCompiler,
        CheckId::CgoPegateCompiler,
        CheckId::WindowsPathLength,
        CheckId::EnvPersisted,
        CheckId::PathOrder,
        CheckId::WindowsLongPaths,
        CheckId::CertsSystemRoots,
    ];

    /// The id as the output, `--list` and the tests spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            CheckId::GoFound => "go.found",
            CheckId::GorootLayout => "goroot.layout",
            CheckId::GorootGopath => "goroot.gopath",
            CheckId::PathGoBins => "path.go-bins",
            CheckId::GoVersionFile => "go-version.file",
            CheckId::GoproxyFallback => "goproxy.fallback",
            CheckId::GosumdbEnabled => "gosumdb.enabled",
            CheckId::GoflagsClean => "goflags.clean",
            CheckId::TargetsSupported => "targets.supported",
            CheckId::CgoCrossCompiler => "cgo.cross-compiler",
            CheckId::CgoPegateCompiler => "cgo.pegate-compiler",
            CheckId::WindowsPathLength => "windows.path-length",
            CheckId::EnvPersisted => "env.persisted",
            CheckId::PathOrder => "path.order",
            CheckId::WindowsLongPaths => "windows.long-paths",
            CheckId::CertsSystemRoots => "certs.system-roots",
        }
    }
}

impl std::fmt::Display for CheckId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

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
        id: CheckId::GoFound.as_str(),
        platform: Platform::All,
        about: "a usable go is on PATH (or given)",
    },
    CheckInfo {
        id: CheckId::GorootLayout.as_str(),
        platform: Platform::All,
        about: "GOROOT holds bin/go",
    },
    CheckInfo {
        id: CheckId::GorootGopath.as_str(),
        platform: Platform::All,
        about: "GOPATH and GOROOT do not overlap",
    },
    CheckInfo {
        id: CheckId::PathGoBins.as_str(),
        platform: Platform::All,
        about: "GOROOT/bin and GOPATH/bin are on PATH",
    },
    CheckInfo {
        id: CheckId::GoVersionFile.as_str(),
        platform: Platform::All,
        about: "the toolchain matches the project's .go-version",
    },
    CheckInfo {
        id: CheckId::GoproxyFallback.as_str(),
        platform: Platform::All,
        about: "GOPROXY has a fallback (,direct)",
    },
    CheckInfo {
        id: CheckId::GosumdbEnabled.as_str(),
        platform: Platform::All,
        about: "module checksums are verified",
    },
    CheckInfo {
        id: CheckId::GoflagsClean.as_str(),
        platform: Platform::All,
        about: "GOFLAGS holds no surprising build flags",
    },
    CheckInfo {
        id: CheckId::TargetsSupported.as_str(),
        platform: Platform::All,
        about: "every matrix target is a port of this go",
    },
    CheckInfo {
        id: CheckId::CgoCrossCompiler.as_str(),
        platform: Platform::All,
        about: "CGO_ENABLED=1 has a C cross compiler per target",
    },
    CheckInfo {
        id: CheckId::CgoPegateCompiler.as_str(),
        platform: Platform::All,
        about: "which C compiler `pegate build --cgo` uses per target, and why",
    },
    CheckInfo {
        id: CheckId::WindowsPathLength.as_str(),
        platform: Platform::NotWindows,
        about: "paths a Windows runner would see stay under MAX_PATH",
    },
    CheckInfo {
        id: CheckId::EnvPersisted.as_str(),
        platform: Platform::WindowsOnly,
        about: "this terminal has the GOROOT/GOPATH/GOPROXY/PATH saved in the registry (the setx trap)",
    },
    CheckInfo {
        id: CheckId::PathOrder.as_str(),
        platform: Platform::WindowsOnly,
        about: "the first go.exe on PATH is %GOROOT%\\bin's",
    },
    CheckInfo {
        id: CheckId::WindowsLongPaths.as_str(),
        platform: Platform::WindowsOnly,
        about: "LongPathsEnabled against the deepest path in GOPATH/GOMODCACHE",
    },
    CheckInfo {
        id: CheckId::CertsSystemRoots.as_str(),
        platform: Platform::All,
        about: "root certificates for the Go proxy: a CA bundle, or on Windows the ROOT store",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_lists_every_check_id_once_in_order() {
        let listed: Vec<&str> = CATALOG.iter().map(|c| c.id).collect();
        let ids: Vec<&str> = CheckId::ALL.iter().map(|id| id.as_str()).collect();
        assert_eq!(listed, ids);
    }
}
