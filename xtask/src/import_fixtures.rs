//! `cargo xtask import-fixtures`: builds the small MinGW programs under `fixtures/imports/` whose
//! import tables the `imports.*` gate rules are tested on.
//!
//! Each is one source of `fixtures/imports/src/` compiled with Debian's MinGW-w64 (the POSIX
//! thread model, `x86_64-w64-mingw32-gcc-posix` / `-g++-posix` from `gcc-mingw-w64-x86-64-posix`
//! and `g++-mingw-w64-x86-64-posix`), stripped and without a link timestamp, so a rerun with the
//! same compiler writes the same bytes:
//!
//! - `threads-dynamic.exe`: `threads.c` with `-pthread`, imports `libwinpthread-1.dll`;
//! - `threads-static.exe`: the same with `-static`, imports only `KERNEL32.dll` and `msvcrt.dll`;
//! - `cxx-dynamic.exe`: `hello.cpp`, imports `libstdc++-6.dll` and `libgcc_s_seh-1.dll`.

use std::path::Path;
use std::process::Command;

use anyhow::Context;

/// (output, compiler, source, extra flags).
const FIXTURES: &[(&str, &str, &str, &[&str])] = &[
    (
        "threads-dynamic.exe",
        "x86_64-w64-mingw32-gcc-posix",
        "threads.c",
        &["-pthread"],
    ),
    (
        "threads-static.exe",
        "x86_64-w64-mingw32-gcc-posix",
        "threads.c",
        &["-static", "-pthread"],
    ),
    (
        "cxx-dynamic.exe",
        "x86_64-w64-mingw32-g++-posix",
        "hello.cpp",
        &[],
    ),
];

/// Small, stripped, reproducible.
const COMMON: &[&str] = &["-Os", "-s", "-fno-ident", "-Wl,--no-insert-timestamp"];

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("imports");
    for (out, cc, src, flags) in FIXTURES {
        let path = dir.join(out);
        let status = Command::new(cc)
            .args(COMMON)
            .args(*flags)
            .arg(dir.join("src").join(src))
            .arg("-o")
            .arg(&path)
            .status()
            .with_context(|| {
                format!("run {cc} (Debian: apt-get install gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix)")
            })?;
        anyhow::ensure!(status.success(), "{cc} failed building {}", path.display());
        let len = std::fs::metadata(&path)
            .with_context(|| format!("stat {}", path.display()))?
            .len();
        println!("wrote {} ({len} bytes)", path.display());
    }
    Ok(())
}
