//! The C (and C++) cross compiler of each CGO cell: which one, why, and what it puts in the
//! cell's environment.
//!
//! The order, per target ([`plan`] says what it would be without running anything; [`choose`]
//! settles it, provisioning Zig if needed):
//!
//! 1. an explicit compiler for that target, used as given: [`CgoOptions::overrides`] (`pegate
//!    build --cc windows/arm64='clang --target=aarch64-w64-mingw32'`), else the environment's
//!    `PEGATE_CC_WINDOWS_ARM64` (and `PEGATE_CXX_WINDOWS_ARM64`; see [`override_env_var`]), else
//!    the configuration file's `[cgo.cc]` table ([`CgoConfig`], [`CgoOptions::configured`]);
//! 2. for windows/amd64 and windows/386, Debian's MinGW-w64 (`x86_64-w64-mingw32-gcc`,
//!    `i686-w64-mingw32-gcc`, with the matching `-g++`) when it is on `PATH`;
//! 3. for every Windows target, arm64 included, `zig cc -target <arch>-windows-gnu`: the `zig`
//!    named by `PEGATE_ZIG`, else the pinned `ziglang` wheel pegate provisions like Go
//!    ([`crate::toolchain::provision_zig`]), with Zig's cache under pegate's cache.
//!
//! A target none of them serves is a cell failure naming what to install. The choice goes into
//! the cell's environment only (`CC`, `CXX`, Zig's cache directories), never the process's, and
//! into its report ([`CCompiler`]: command, version, source). By default the C runtime is linked
//! statically (`-extldflags=-static`: libgcc, libstdc++ and winpthread of MinGW are linked in), so
//! that the program starts on a clean Windows without DLLs the build machine happened to have.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use pegate_facts::{GoArch, GoOs};
use serde::{Deserialize, Serialize};

use crate::matrix::Target;
use crate::toolchain::{
    self, DEFAULT_ZIG_VERSION, PEGATE_ZIG_ENV, Zig, default_python, find_on_path, host_platform,
    installed_zig, run_captured, zig_cache_dir, zig_pin_for_platform,
};

/// Where a cell's C compiler came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum CompilerKind {
    /// Given explicitly for the target (flag or configuration).
    Override,
    /// Debian's MinGW-w64 cross GCC found on `PATH`.
    Mingw,
    /// `zig cc`, pinned and provisioned by pegate or named by `PEGATE_ZIG`.
    Zig,
}

/// The C and C++ compiler of one CGO cell, as its report records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CCompiler {
    /// Which rule chose it.
    pub kind: CompilerKind,
    /// The `CC` value (Go splits it like a shell would, quotes respected).
    pub cc: String,
    /// The `CXX` value.
    pub cxx: String,
    /// The compiler's version (`zig version`, or the first line of `CC --version`).
    pub version: String,
    /// Where it came from, for a reader (`PATH`, the pinned wheel, `--cc`, `PEGATE_ZIG`).
    pub source: String,
    /// Environment the compiler needs besides `CC`/`CXX` (Zig's cache directories).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env: Vec<(String, String)>,
}

impl CCompiler {
    /// The variables a cell's `go build` gets for this compiler: `CC`, `CXX`, then the rest.
    pub fn cell_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("CC".to_owned(), self.cc.clone()),
            ("CXX".to_owned(), self.cxx.clone()),
        ];
        env.extend(self.env.iter().cloned());
        env
    }
}

/// An explicit compiler for one target, which wins over MinGW and Zig.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompilerOverride {
    /// The `CC` value.
    pub cc: String,
    /// The `CXX` value; `None` derives it from `cc` (`gcc` → `g++`, `clang` → `clang++`,
    /// `zig cc` → `zig c++`), else uses `cc` itself.
    pub cxx: Option<String>,
    /// Where it was given (`--cc`, a configuration file), for the report.
    pub origin: String,
}

impl CompilerOverride {
    /// An override with `CXX` derived from `cc`.
    pub fn new(cc: impl Into<String>, origin: impl Into<String>) -> Self {
        CompilerOverride {
            cc: cc.into(),
            cxx: None,
            origin: origin.into(),
        }
    }
}

/// The `[cgo]` table of a build configuration file (`pegate build --config FILE`): a compiler
/// pinned per target, which wins over MinGW and Zig and yields to `--cc` and `PEGATE_CC_*`.
///
/// ```toml
/// [cgo.cc]
/// "windows/arm64" = "clang --target=aarch64-w64-mingw32"
/// [cgo.cxx]                      # optional; derived from cc otherwise
/// "windows/arm64" = "clang++ --target=aarch64-w64-mingw32"
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct CgoConfig {
    /// `GOOS/GOARCH` → the `CC` value.
    #[serde(default)]
    pub cc: BTreeMap<String, String>,
    /// `GOOS/GOARCH` → the `CXX` value; a target missing here derives it from its `cc`.
    #[serde(default)]
    pub cxx: BTreeMap<String, String>,
}

/// How CGO cells choose and use their compiler.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CgoOptions {
    /// Explicit compilers per target (`--cc`); they win over everything else.
    pub overrides: BTreeMap<Target, CompilerOverride>,
    /// Compilers per target from a configuration file ([`CgoConfig`]); the flag's and the
    /// environment's (`PEGATE_CC_*`) win over them, and they win over MinGW and Zig.
    pub configured: BTreeMap<Target, CompilerOverride>,
    /// Link the C runtime statically (`-extldflags=-static`); default true.
    pub static_runtime: bool,
    /// Use Debian's MinGW-w64 for amd64 and 386 when it is installed; default true.
    pub mingw: bool,
    /// Use Zig (provisioning the pinned one if needed); default true.
    pub zig: bool,
    /// The Python that fetches the Zig wheel.
    pub python: PathBuf,
    /// The search path for MinGW instead of the process's `PATH`.
    pub path_var: Option<OsString>,
}

impl Default for CgoOptions {
    fn default() -> Self {
        CgoOptions {
            overrides: BTreeMap::new(),
            configured: BTreeMap::new(),
            static_runtime: true,
            mingw: true,
            zig: true,
            python: PathBuf::from(default_python()),
            path_var: None,
        }
    }
}

impl CgoOptions {
    /// Parses `GOOS/GOARCH=CC` (`--cc windows/arm64=clang --target=aarch64-w64-mingw32`) into
    /// [`CgoOptions::overrides`]; `origin` says where it was given.
    pub fn add_override(&mut self, spec: &str, origin: &str) -> Result<(), String> {
        let (target, cc) = spec
            .split_once('=')
            .ok_or_else(|| format!("`{spec}` is not GOOS/GOARCH=COMPILER"))?;
        let target = Target::parse(target.trim()).map_err(|e| e.to_string())?;
        let cc = cc.trim();
        if cc.is_empty() {
            return Err(format!("`{spec}` names no compiler"));
        }
        self.overrides
            .insert(target, CompilerOverride::new(cc, origin));
        Ok(())
    }

    /// Takes a configuration file's per-target compilers into [`CgoOptions::configured`];
    /// `origin` names the file for the report (`pegate-build.toml [cgo.cc]`). A target that does
    /// not parse, an empty compiler, or a `cxx` entry without its `cc` is an error naming it.
    pub fn apply_config(&mut self, config: &CgoConfig, origin: &str) -> Result<(), String> {
        if let Some(target) = config.cxx.keys().find(|t| !config.cc.contains_key(*t)) {
            return Err(format!(
                "{origin}: [cgo.cxx] \"{target}\" has no [cgo.cc] entry for the same target"
            ));
        }
        let mut configured = BTreeMap::new();
        for (target, cc) in &config.cc {
            let parsed = Target::parse(target.trim())
                .map_err(|e| format!("{origin}: [cgo.cc] \"{target}\": {e}"))?;
            let cc = cc.trim();
            if cc.is_empty() {
                return Err(format!("{origin}: [cgo.cc] \"{target}\" names no compiler"));
            }
            let cxx = config
                .cxx
                .get(target)
                .map(|c| c.trim().to_owned())
                .filter(|c| !c.is_empty());
            configured.insert(
                parsed,
                CompilerOverride {
                    cc: cc.to_owned(),
                    cxx,
                    origin: origin.to_owned(),
                },
            );
        }
        // All or nothing: a bad entry leaves the options as they were.
        self.configured.extend(configured);
        Ok(())
    }

    fn search_path(&self) -> OsString {
        self.path_var
            .clone()
            .or_else(|| std::env::var_os("PATH"))
            .unwrap_or_default()
    }
}

/// What [`plan`] found for one target, without running or fetching anything.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Plan {
    /// An explicit compiler for the target.
    Override(CompilerOverride),
    /// MinGW-w64's GCC at this path.
    Mingw {
        /// The C compiler.
        gcc: PathBuf,
        /// The C++ compiler, if installed.
        gxx: Option<PathBuf>,
    },
    /// `zig cc -target <triple>`.
    Zig {
        /// Zig's target triple (`aarch64-windows-gnu`).
        triple: &'static str,
        /// The `zig` already there (`PEGATE_ZIG`, or the pinned one installed in the cache);
        /// `None`: the pinned wheel would be fetched from PyPI first.
        zig: Option<PathBuf>,
    },
    /// No compiler: the message says what to install.
    Missing(String),
}

impl Plan {
    /// One line saying what would be used and why (for `pegate doctor`).
    pub fn describe(&self) -> String {
        match self {
            Plan::Override(o) => format!("{} (given by {})", o.cc, o.origin),
            Plan::Mingw { gcc, gxx } => format!(
                "MinGW-w64 {} (installed; preferred over zig for this target){}",
                gcc.display(),
                if gxx.is_none() {
                    "; no g++ beside it, so C++ files would fail"
                } else {
                    ""
                }
            ),
            Plan::Zig {
                triple,
                zig: Some(zig),
            } => format!("zig cc -target {triple} ({})", zig.display()),
            Plan::Zig { triple, zig: None } => format!(
                "zig cc -target {triple}, after fetching the pinned ziglang {DEFAULT_ZIG_VERSION} wheel from PyPI (python3 -m pip download)"
            ),
            Plan::Missing(why) => why.clone(),
        }
    }
}

/// The environment variable that pins `target`'s C compiler (`PEGATE_CC_WINDOWS_ARM64`); its
/// `CXX` twin is `PEGATE_CXX_…`. A flag ([`CgoOptions::overrides`]) wins over it.
pub fn override_env_var(target: &Target, what: &str) -> String {
    let clean = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!(
        "PEGATE_{what}_{}_{}",
        clean(target.goos.as_str()),
        clean(target.goarch.as_str())
    )
}

fn env_override(target: &Target, env: &dyn Fn(&str) -> Option<String>) -> Option<CompilerOverride> {
    let var = override_env_var(target, "CC");
    let cc = env(&var).filter(|v| !v.trim().is_empty())?;
    let cxx = env(&override_env_var(target, "CXX")).filter(|v| !v.trim().is_empty());
    Some(CompilerOverride {
        cc: cc.trim().to_owned(),
        cxx,
        origin: var,
    })
}

/// Zig's target triple for a Windows GOARCH.
pub fn zig_triple(goarch: GoArch) -> Option<&'static str> {
    match goarch {
        GoArch::Amd64 => Some("x86_64-windows-gnu"),
        GoArch::I386 => Some("x86-windows-gnu"),
        GoArch::Arm64 => Some("aarch64-windows-gnu"),
        _ => None,
    }
}

/// Debian's MinGW-w64 tool prefix and package suffix for a Windows GOARCH.
fn mingw_prefix(goarch: GoArch) -> Option<(&'static str, &'static str)> {
    match goarch {
        GoArch::Amd64 => Some(("x86_64-w64-mingw32", "x86-64")),
        GoArch::I386 => Some(("i686-w64-mingw32", "i686")),
        _ => None,
    }
}

/// What to install for `target` when nothing serves it.
fn install_hint(target: &Target) -> String {
    let zig = format!(
        "let pegate fetch zig (needs python3 with pip and PyPI), install the pinned ziglang wheel offline, \
         or set {PEGATE_ZIG_ENV} to a zig executable"
    );
    match mingw_prefix(target.goarch) {
        Some((_, pkg)) => format!(
            "no C compiler for {target}: install MinGW-w64 (apt-get install gcc-mingw-w64-{pkg} g++-mingw-w64-{pkg}), {zig}, or pass --cc {target}=COMPILER"
        ),
        None => format!("no C compiler for {target}: {zig}, or pass --cc {target}=COMPILER"),
    }
}

/// Which compiler `target` would get, looking only at the options, `PATH`, `PEGATE_ZIG` and the
/// cache (nothing is fetched or run).
pub fn plan(target: &Target, opts: &CgoOptions, cache: &Path) -> Plan {
    plan_in(target, opts, cache, &|var| std::env::var(var).ok())
}

/// [`plan`] with `PEGATE_CC_*`/`PEGATE_CXX_*` looked up through `env`. The order: the flag
/// (`--cc`), the environment, the configuration file, MinGW-w64, Zig.
pub(crate) fn plan_in(
    target: &Target,
    opts: &CgoOptions,
    cache: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Plan {
    if let Some(o) = opts.overrides.get(target) {
        return Plan::Override(o.clone());
    }
    if let Some(o) = env_override(target, env) {
        return Plan::Override(o);
    }
    if let Some(o) = opts.configured.get(target) {
        return Plan::Override(o.clone());
    }
    if target.goos != GoOs::Windows {
        return Plan::Missing(format!(
            "{target}: pegate chooses C compilers for Windows targets only; pass --cc {target}=COMPILER"
        ));
    }
    let path = opts.search_path();
    if opts.mingw
        && let Some((prefix, _)) = mingw_prefix(target.goarch)
        && let Some(gcc) = find_on_path(&path, &format!("{prefix}-gcc"))
    {
        let gxx = find_on_path(&path, &format!("{prefix}-g++"));
        return Plan::Mingw { gcc, gxx };
    }
    if opts.zig
        && let Some(triple) = zig_triple(target.goarch)
    {
        let env_zig = std::env::var_os(PEGATE_ZIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let zig = env_zig.or_else(|| installed_zig(cache).map(|z| z.zig));
        let pinned = zig_pin_for_platform(DEFAULT_ZIG_VERSION, &host_platform()).is_some();
        if zig.is_some() || pinned {
            return Plan::Zig { triple, zig };
        }
    }
    Plan::Missing(install_hint(target))
}

/// Settles `target`'s compiler: the [`plan`], with Zig obtained through `zig` (provisioned once
/// per matrix by the caller) and the compiler's version asked. `Err` is the cell's message.
pub fn choose(
    target: &Target,
    opts: &CgoOptions,
    cache: &Path,
    zig: &dyn Fn() -> Result<Zig, String>,
) -> Result<CCompiler, String> {
    match plan(target, opts, cache) {
        Plan::Override(o) => {
            let cxx = o.cxx.clone().unwrap_or_else(|| derive_cxx(&o.cc));
            Ok(CCompiler {
                kind: CompilerKind::Override,
                version: version_of(&o.cc),
                source: format!("{} for {target}", o.origin),
                cc: o.cc,
                cxx,
                env: Vec::new(),
            })
        }
        Plan::Mingw { gcc, gxx } => {
            let cc = gcc.display().to_string();
            let cxx = gxx.map_or_else(|| derive_cxx(&cc), |p| p.display().to_string());
            Ok(CCompiler {
                kind: CompilerKind::Mingw,
                version: version_of(&quote(&cc)),
                source: "MinGW-w64 on PATH".to_owned(),
                cc: quote(&cc),
                cxx: quote(&cxx),
                env: Vec::new(),
            })
        }
        Plan::Zig { triple, .. } => {
            let zig =
                zig().map_err(|e| format!("{}; fetching zig failed: {e}", install_hint(target)))?;
            let exe = quote(&zig.zig.display().to_string());
            let caches = zig_cache_dir(cache).display().to_string();
            Ok(CCompiler {
                kind: CompilerKind::Zig,
                cc: format!("{exe} cc -target {triple}"),
                cxx: format!("{exe} c++ -target {triple}"),
                version: zig.version,
                source: zig.origin,
                env: vec![
                    ("ZIG_GLOBAL_CACHE_DIR".to_owned(), caches.clone()),
                    ("ZIG_LOCAL_CACHE_DIR".to_owned(), caches),
                ],
            })
        }
        Plan::Missing(why) => Err(why),
    }
}

/// The Zig a matrix uses: `PEGATE_ZIG`, the installed pin, or the pin provisioned with `python`.
pub fn provide_zig(cache: &Path, python: &Path) -> Result<Zig, String> {
    toolchain::provision_zig(cache, python).map_err(|e| e.to_string())
}

/// A path quoted for Go's `CC` splitting when it holds a space (Go accepts '…' and "…").
fn quote(path: &str) -> String {
    if path.contains(char::is_whitespace) {
        if path.contains('\'') {
            format!("\"{path}\"")
        } else {
            format!("'{path}'")
        }
    } else {
        path.to_owned()
    }
}

/// `CXX` for a given `CC`: the C++ driver beside a C one.
fn derive_cxx(cc: &str) -> String {
    let (program, rest) = match cc.split_once(char::is_whitespace) {
        Some((p, r)) => (p, Some(r)),
        None => (cc, None),
    };
    let rest_cxx = rest.map(|r| {
        // `zig cc …` → `zig c++ …`
        match r.trim_start().strip_prefix("cc") {
            Some(tail) if tail.is_empty() || tail.starts_with(char::is_whitespace) => {
                format!("c++{tail}")
            }
            _ => r.to_owned(),
        }
    });
    let program_cxx = if let Some(stem) = program.strip_suffix("gcc") {
        format!("{stem}g++")
    } else if let Some(stem) = program.strip_suffix("clang") {
        format!("{stem}clang++")
    } else if let Some(stem) = program.strip_suffix("gcc.exe") {
        format!("{stem}g++.exe")
    } else if let Some(stem) = program.strip_suffix("clang.exe") {
        format!("{stem}clang++.exe")
    } else {
        program.to_owned()
    };
    match rest_cxx {
        Some(rest) => format!("{program_cxx} {rest}"),
        None => program_cxx,
    }
}

/// The first line `CC --version` prints (`x86_64-w64-mingw32-gcc (GCC) 12-win32`), or why not.
fn version_of(cc: &str) -> String {
    let words = split_cc(cc);
    let Some((program, args)) = words.split_first() else {
        return "unknown (empty CC)".to_owned();
    };
    let mut cmd = Command::new(program);
    cmd.args(args).arg("--version");
    match run_captured(&mut cmd) {
        Ok(out) => out
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("unknown (no output)")
            .to_owned(),
        Err(e) => format!("unknown ({e})"),
    }
}

/// Splits a `CC` value the way Go does (whitespace, with '…' and "…" quoting).
fn split_cc(cc: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in cc.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => word.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            None => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cxx_driver_is_derived_from_cc() {
        for (cc, cxx) in [
            ("x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-g++"),
            (
                "/opt/llvm/bin/clang --target=aarch64-w64-mingw32",
                "/opt/llvm/bin/clang++ --target=aarch64-w64-mingw32",
            ),
            (
                "zig cc -target aarch64-windows-gnu",
                "zig c++ -target aarch64-windows-gnu",
            ),
            ("C:\\mingw\\bin\\gcc.exe", "C:\\mingw\\bin\\g++.exe"),
            ("my-cc-wrapper", "my-cc-wrapper"),
        ] {
            assert_eq!(derive_cxx(cc), cxx, "{cc}");
        }
    }

    #[test]
    fn the_override_variables_are_named_after_the_target() {
        assert_eq!(
            override_env_var(&Target::windows(GoArch::Arm64), "CC"),
            "PEGATE_CC_WINDOWS_ARM64"
        );
        assert_eq!(
            override_env_var(&Target::windows(GoArch::I386), "CXX"),
            "PEGATE_CXX_WINDOWS_386"
        );
    }

    #[test]
    fn cc_is_split_like_go_splits_it() {
        assert_eq!(
            split_cc("zig cc -target x86-windows-gnu"),
            ["zig", "cc", "-target", "x86-windows-gnu"]
        );
        assert_eq!(split_cc("'/a b/zig' cc"), ["/a b/zig", "cc"]);
        assert_eq!(split_cc("  \"x y\"  z "), ["x y", "z"]);
        assert_eq!(quote("/a b/zig"), "'/a b/zig'");
        assert_eq!(quote("/usr/bin/zig"), "/usr/bin/zig");
        assert!(split_cc("   ").is_empty());
    }

    #[test]
    fn an_override_wins_and_bad_overrides_are_refused() {
        let mut opts = CgoOptions::default();
        opts.add_override("windows/arm64=clang --target=aarch64-w64-mingw32", "--cc")
            .unwrap();
        let arm = Target::windows(GoArch::Arm64);
        let cache = Path::new("/nonexistent/pegate-cache");
        match plan(&arm, &opts, cache) {
            Plan::Override(o) => {
                assert_eq!(o.cc, "clang --target=aarch64-w64-mingw32");
                assert_eq!(o.origin, "--cc");
            }
            other => panic!("{other:?}"),
        }
        for bad in ["windows/arm64", "windows/arm64=", "arm64=clang"] {
            assert!(opts.add_override(bad, "--cc").is_err(), "{bad}");
        }
    }

    /// Flag > environment > configuration file > MinGW-w64 > Zig, each step shown by taking the
    /// one above it away.
    #[test]
    fn the_flag_beats_the_environment_beats_the_config_beats_mingw_beats_zig() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let gcc = bin.join(format!(
            "x86_64-w64-mingw32-gcc{}",
            std::env::consts::EXE_SUFFIX
        ));
        std::fs::write(&gcc, "#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&gcc, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let cache = dir.path().join("cache");
        let amd64 = Target::windows(GoArch::Amd64);
        let config: CgoConfig = serde_json::from_value(serde_json::json!({
            "cc": { "windows/amd64": "config-cc", "windows/arm64": "clang --target=aarch64-w64-mingw32" },
            "cxx": { "windows/amd64": "config-cxx" },
        }))
        .unwrap();
        let mut opts = CgoOptions {
            path_var: Some(bin.clone().into_os_string()),
            ..CgoOptions::default()
        };
        opts.apply_config(&config, "build.toml [cgo.cc]").unwrap();
        opts.add_override("windows/amd64=flag-cc", "--cc").unwrap();
        let env = |var: &str| match var {
            "PEGATE_CC_WINDOWS_AMD64" => Some("env-cc".to_owned()),
            "PEGATE_CXX_WINDOWS_AMD64" => Some("env-cxx".to_owned()),
            _ => None,
        };
        let no_env = |_: &str| None;
        let chosen = |opts: &CgoOptions, env: &dyn Fn(&str) -> Option<String>| match plan_in(
            &amd64, opts, &cache, env,
        ) {
            Plan::Override(o) => (o.cc, o.cxx, o.origin),
            Plan::Mingw { gcc, .. } => (gcc.display().to_string(), None, "mingw".to_owned()),
            Plan::Zig { triple, .. } => (triple.to_owned(), None, "zig".to_owned()),
            Plan::Missing(why) => (why, None, "missing".to_owned()),
        };
        assert_eq!(
            chosen(&opts, &env),
            ("flag-cc".to_owned(), None, "--cc".to_owned())
        );
        opts.overrides.clear();
        assert_eq!(
            chosen(&opts, &env),
            (
                "env-cc".to_owned(),
                Some("env-cxx".to_owned()),
                "PEGATE_CC_WINDOWS_AMD64".to_owned()
            )
        );
        assert_eq!(
            chosen(&opts, &no_env),
            (
                "config-cc".to_owned(),
                Some("config-cxx".to_owned()),
                "build.toml [cgo.cc]".to_owned()
            )
        );
        opts.configured.remove(&amd64);
        assert_eq!(
            chosen(&opts, &no_env),
            (gcc.display().to_string(), None, "mingw".to_owned())
        );
        opts.path_var = Some(dir.path().join("empty").into_os_string());
        if zig_pin_for_platform(DEFAULT_ZIG_VERSION, &host_platform()).is_some() {
            assert_eq!(
                chosen(&opts, &no_env),
                ("x86_64-windows-gnu".to_owned(), None, "zig".to_owned())
            );
        }
        // The configured arm64 compiler wins over zig, its CXX derived from its CC, and the
        // report says where it came from.
        let arm64 = Target::windows(GoArch::Arm64);
        let cc = choose(&arm64, &opts, &cache, &|| unreachable!()).unwrap();
        assert_eq!(cc.kind, CompilerKind::Override);
        assert_eq!(cc.cxx, "clang++ --target=aarch64-w64-mingw32");
        assert_eq!(cc.source, "build.toml [cgo.cc] for windows/arm64");
    }

    #[test]
    fn a_bad_cgo_config_is_refused_naming_the_entry() {
        let mut opts = CgoOptions::default();
        let bad = |cc: serde_json::Value, cxx: serde_json::Value| -> CgoConfig {
            serde_json::from_value(serde_json::json!({ "cc": cc, "cxx": cxx })).unwrap()
        };
        let err = opts
            .apply_config(
                &bad(serde_json::json!({ "amd64": "gcc" }), serde_json::json!({})),
                "b.toml",
            )
            .unwrap_err();
        assert!(err.starts_with("b.toml: [cgo.cc] \"amd64\": "), "{err}");
        let err = opts
            .apply_config(
                &bad(
                    serde_json::json!({ "windows/386": " " }),
                    serde_json::json!({}),
                ),
                "b.toml",
            )
            .unwrap_err();
        assert_eq!(err, "b.toml: [cgo.cc] \"windows/386\" names no compiler");
        let err = opts
            .apply_config(
                &bad(
                    serde_json::json!({}),
                    serde_json::json!({ "windows/386": "g++" }),
                ),
                "b.toml",
            )
            .unwrap_err();
        assert_eq!(
            err,
            "b.toml: [cgo.cxx] \"windows/386\" has no [cgo.cc] entry for the same target"
        );
        assert!(opts.configured.is_empty());
        assert!(serde_json::from_value::<CgoConfig>(serde_json::json!({ "c": {} })).is_err());
    }

    #[test]
    fn mingw_is_preferred_for_x86_and_zig_serves_arm64() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        for name in ["x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-g++"] {
            let file = bin.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
            std::fs::write(&file, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
        }
        let opts = CgoOptions {
            path_var: Some(bin.clone().into_os_string()),
            ..CgoOptions::default()
        };
        let cache = dir.path().join("cache");
        match plan(&Target::windows(GoArch::Amd64), &opts, &cache) {
            Plan::Mingw { gcc, gxx } => {
                assert!(gcc.starts_with(&bin));
                assert!(gxx.is_some());
            }
            other => panic!("{other:?}"),
        }
        // No i686 MinGW in that PATH: 386 goes to zig, as arm64 always does.
        for (arch, triple) in [
            (GoArch::I386, "x86-windows-gnu"),
            (GoArch::Arm64, "aarch64-windows-gnu"),
        ] {
            match plan(&Target::windows(arch), &opts, &cache) {
                Plan::Zig { triple: t, .. } => assert_eq!(t, triple),
                Plan::Missing(why)
                    if zig_pin_for_platform(DEFAULT_ZIG_VERSION, &host_platform()).is_none() =>
                {
                    assert!(why.contains("zig"), "{why}");
                }
                other => panic!("{arch}: {other:?}"),
            }
        }
        // With zig turned off and no MinGW, the cell is told what to install.
        let no_zig = CgoOptions {
            zig: false,
            ..opts.clone()
        };
        match plan(&Target::windows(GoArch::I386), &no_zig, &cache) {
            Plan::Missing(why) => {
                assert!(
                    why.contains("apt-get install gcc-mingw-w64-i686 g++-mingw-w64-i686"),
                    "{why}"
                );
                assert!(why.contains("--cc windows/386=COMPILER"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        let err = choose(
            &Target::windows(GoArch::Arm64),
            &no_zig,
            &cache,
            &|| unreachable!(),
        )
        .unwrap_err();
        assert!(err.starts_with("no C compiler for windows/arm64"), "{err}");
        // A zig that cannot be fetched fails the cell with both the hint and the reason.
        let err = choose(&Target::windows(GoArch::Arm64), &opts, &cache, &|| {
            Err("pip: no network".to_owned())
        });
        if zig_pin_for_platform(DEFAULT_ZIG_VERSION, &host_platform()).is_some()
            && std::env::var_os(PEGATE_ZIG_ENV).is_none()
        {
            let err = err.unwrap_err();
            assert!(
                err.contains("fetching zig failed: pip: no network"),
                "{err}"
            );
        }
    }
}
