//! What a matrix is: its cells' variants and targets, and the spec that lists them and says how
//! each cell's `go build` is invoked.

use std::cmp::Ordering;
use std::fmt;
use std::path::{Path, PathBuf};

use pegate_facts::{GoArch, GoOs};
use serde::{Deserialize, Serialize};

use crate::cgo::CgoOptions;
use crate::error::{Error, Result};
use crate::run::RunOptions;
use crate::toolchain::Toolchain;

/// How a cell links its binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Variant {
    /// The default: a console (`WINDOWS_CUI`) program with symbols and DWARF.
    Console,
    /// `-ldflags=-H=windowsgui`: a `WINDOWS_GUI` program, no console window.
    Gui,
    /// `-ldflags=-s -w`: no symbol table, no DWARF.
    Stripped,
}

impl Variant {
    /// Every variant, in matrix order.
    pub const ALL: [Variant; 3] = [Variant::Console, Variant::Gui, Variant::Stripped];

    /// The lowercase name used in cell names and file names.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Console => "console",
            Variant::Gui => "gui",
            Variant::Stripped => "stripped",
        }
    }

    /// The `-ldflags` value this variant passes to `go build`, if any.
    pub fn ldflags(self) -> Option<&'static str> {
        match self {
            Variant::Console => None,
            Variant::Gui => Some("-H=windowsgui"),
            Variant::Stripped => Some("-s -w"),
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GOOS/GOARCH pair.
///
/// Targets order by their Go names (`windows/386` < `windows/amd64`), as the text they are
/// written as: maps keyed by target list them in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// Target operating system (`windows`).
    pub goos: GoOs,
    /// Target architecture (`amd64`).
    pub goarch: GoArch,
}

impl Target {
    /// `windows/<goarch>`.
    pub fn windows(goarch: GoArch) -> Target {
        Target {
            goos: GoOs::Windows,
            goarch,
        }
    }

    /// Parses `goos/goarch`; a GOOS or GOARCH Go does not name is an error that lists the
    /// names it knows.
    pub fn parse(text: &str) -> Result<Target> {
        let invalid = |why: String| Error::InvalidMatrix {
            reason: format!("target `{text}`{why}"),
        };
        match text.split_once('/') {
            Some((goos, goarch))
                if !goos.is_empty() && !goarch.is_empty() && !goarch.contains('/') =>
            {
                Ok(Target {
                    goos: goos.parse().map_err(|e| invalid(format!(": {e}")))?,
                    goarch: goarch.parse().map_err(|e| invalid(format!(": {e}")))?,
                })
            }
            _ => Err(invalid(
                " is not GOOS/GOARCH (e.g. windows/amd64)".to_owned(),
            )),
        }
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Target) -> Ordering {
        (self.goos.as_str(), self.goarch.as_str())
            .cmp(&(other.goos.as_str(), other.goarch.as_str()))
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Target) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.goos, self.goarch)
    }
}

/// The GOARCHes of the reference targets, in matrix order: the one list of the Windows ports
/// pegate builds and checks by default (the matrix, `pegate doctor`).
pub const REFERENCE_GOARCHES: [GoArch; 3] = [GoArch::Amd64, GoArch::Arm64, GoArch::I386];

/// The reference targets: windows/amd64, windows/arm64 and windows/386.
pub fn reference_targets() -> Vec<Target> {
    REFERENCE_GOARCHES
        .into_iter()
        .map(Target::windows)
        .collect()
}

/// One build of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cell {
    /// The toolchain version (`go1.27.3`).
    pub go_version: String,
    /// Target operating system.
    pub goos: GoOs,
    /// Target architecture.
    pub goarch: GoArch,
    /// How the binary is linked.
    pub variant: Variant,
}

impl Cell {
    /// `go1.27.3-windows-amd64-console`: unique within a matrix, used for file names.
    pub fn name(&self) -> String {
        format!(
            "{}-{}-{}-{}",
            self.go_version, self.goos, self.goarch, self.variant
        )
    }

    /// The cell's GOOS/GOARCH.
    pub fn target(&self) -> Target {
        Target {
            goos: self.goos,
            goarch: self.goarch,
        }
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// What to build and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MatrixSpec {
    /// The Go package directory to build (holds `go.mod` and the `.go` files).
    pub source_dir: PathBuf,
    /// The artifact base name (`hello` → `hello-go1.27.3-windows-amd64-console.exe`).
    pub binary_name: String,
    /// GOOS/GOARCH pairs.
    pub targets: Vec<Target>,
    /// Variants built for every target.
    pub variants: Vec<Variant>,
    /// Where artifacts end up (created if missing).
    pub out_dir: PathBuf,
    /// pegate's cache: GOCACHE, GOPATH and GOMODCACHE live under it.
    pub cache: PathBuf,
    /// Pass `-trimpath` (default true; needed for reproducible bytes).
    pub trimpath: bool,
    /// `CGO_ENABLED=1` instead of 0, with a C cross compiler chosen per target (see [`crate::cgo`]).
    pub cgo: bool,
    /// With [`MatrixSpec::cgo`]: how each cell's C compiler is chosen and how it links.
    pub cgo_options: CgoOptions,
    /// Let Go stamp version-control info (`vcs.revision`, ...); off by default (`-buildvcs=false`)
    /// so that the bytes do not depend on the commit or on a dirty checkout.
    pub buildvcs: bool,
    /// Build every cell a second time from a copy of the source elsewhere and compare bytes.
    pub reproducibility: bool,
    /// Cells built at once (default: rayon's global pool).
    pub jobs: Option<usize>,
    /// Run every artifact this host can execute once it is built (see [`crate::run`]).
    pub run: Option<RunOptions>,
}

impl MatrixSpec {
    /// The reference matrix: windows/{amd64,arm64,386} × {console,gui,stripped}.
    pub fn reference(
        source_dir: impl Into<PathBuf>,
        out_dir: impl Into<PathBuf>,
        cache: impl Into<PathBuf>,
    ) -> MatrixSpec {
        let source_dir = source_dir.into();
        let binary_name = source_dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| !n.is_empty() && *n != "." && *n != "..")
            .unwrap_or("main")
            .to_owned();
        MatrixSpec {
            source_dir,
            binary_name,
            targets: reference_targets(),
            variants: Variant::ALL.to_vec(),
            out_dir: out_dir.into(),
            cache: cache.into(),
            trimpath: true,
            cgo: false,
            cgo_options: CgoOptions::default(),
            buildvcs: false,
            reproducibility: false,
            jobs: None,
            run: None,
        }
    }

    /// The cells of this spec for a toolchain, targets outer, variants inner.
    pub fn cells(&self, tc: &Toolchain) -> Vec<Cell> {
        self.targets
            .iter()
            .flat_map(|t| {
                self.variants.iter().map(move |&variant| Cell {
                    go_version: tc.version.clone(),
                    goos: t.goos,
                    goarch: t.goarch,
                    variant,
                })
            })
            .collect()
    }

    /// The `go` arguments that build `cell` into `output` (shared with benchmarks and docs).
    pub fn go_args(&self, cell: &Cell, output: &Path) -> Vec<String> {
        let mut args = vec!["build".to_owned()];
        if self.trimpath {
            args.push("-trimpath".to_owned());
        }
        if !self.buildvcs {
            args.push("-buildvcs=false".to_owned());
        }
        // cgo cells link externally: the C runtime linked in (no libgcc/libstdc++/winpthread
        // DLL to ship), and a GUI cell's subsystem said to the linker itself, because `zig cc`
        // drops the `-mwindows` Go passes for `-H=windowsgui` (GNU ld takes both).
        let mut extldflags = Vec::new();
        if self.cgo && self.cgo_options.static_runtime {
            extldflags.push("-static");
        }
        if self.cgo && cell.variant == Variant::Gui {
            extldflags.push("-Wl,--subsystem,windows");
        }
        let extldflags = match extldflags.as_slice() {
            [] => None,
            [one] => Some(format!("-extldflags={one}")),
            many => Some(format!("'-extldflags={}'", many.join(" "))),
        };
        let ldflags = [cell.variant.ldflags().map(str::to_owned), extldflags]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>();
        if !ldflags.is_empty() {
            args.push(format!("-ldflags={}", ldflags.join(" ")));
        }
        args.push("-o".to_owned());
        args.push(output.display().to_string());
        args.push(".".to_owned());
        args
    }

    /// The environment a cell's `go build` gets on top of the toolchain's hermetic one.
    pub fn go_env(&self, cell: &Cell) -> Vec<(String, String)> {
        let gopath = self.cache.join("gopath");
        vec![
            ("GOOS".to_owned(), cell.goos.to_string()),
            ("GOARCH".to_owned(), cell.goarch.to_string()),
            (
                "CGO_ENABLED".to_owned(),
                if self.cgo { "1" } else { "0" }.to_owned(),
            ),
            (
                "GOCACHE".to_owned(),
                self.cache.join("gocache").display().to_string(),
            ),
            (
                "GOMODCACHE".to_owned(),
                gopath.join("pkg").join("mod").display().to_string(),
            ),
            ("GOPATH".to_owned(), gopath.display().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn targets_read_write_and_order_by_their_go_names() {
        let t = Target::parse("windows/386").unwrap();
        assert_eq!(t, Target::windows(GoArch::I386));
        assert_eq!(t.to_string(), "windows/386");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"goos":"windows","goarch":"386"}"#
        );
        assert_eq!(
            serde_json::from_str::<Target>(r#"{"goos":"windows","goarch":"386"}"#).unwrap(),
            t
        );
        let mut sorted = reference_targets();
        sorted.sort();
        let names: Vec<String> = sorted.iter().map(Target::to_string).collect();
        assert_eq!(names, ["windows/386", "windows/amd64", "windows/arm64"]);
        let cell = Cell {
            go_version: "go1.27.3".to_owned(),
            goos: GoOs::Windows,
            goarch: GoArch::Arm64,
            variant: Variant::Gui,
        };
        assert_eq!(cell.name(), "go1.27.3-windows-arm64-gui");
        assert_eq!(
            serde_json::to_string(&cell).unwrap(),
            r#"{"go_version":"go1.27.3","goos":"windows","goarch":"arm64","variant":"gui"}"#
        );
    }

    #[test]
    fn an_unknown_goos_or_goarch_is_named_with_the_known_ones() {
        for (text, want) in [
            (
                "windows/foo",
                "invalid matrix: target `windows/foo`: unknown GOARCH `foo`; expected one of: \
                 amd64, arm64, 386, arm, loong64, mips, mipsle, mips64, mips64le, ppc64, ppc64le, \
                 riscv64, s390x, wasm",
            ),
            (
                "win/amd64",
                "invalid matrix: target `win/amd64`: unknown GOOS `win`; expected one of: \
                 windows, aix, android, darwin, dragonfly, freebsd, illumos, ios, js, linux, \
                 netbsd, openbsd, plan9, solaris, wasip1",
            ),
            (
                "windows",
                "invalid matrix: target `windows` is not GOOS/GOARCH (e.g. windows/amd64)",
            ),
            (
                "windows/amd64/x",
                "invalid matrix: target `windows/amd64/x` is not GOOS/GOARCH (e.g. windows/amd64)",
            ),
        ] {
            assert_eq!(Target::parse(text).unwrap_err().to_string(), want);
        }
    }
}
