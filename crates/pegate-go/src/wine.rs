//! Wine, in one place: where its loaders are, which version it is, and the workarounds a run
//! under it needs. Everything else in pegate treats Wine as "a runner"; whatever is peculiar to
//! Wine lives here, so that what a Wine run does (and does not) prove can be read in one file.
//!
//! ## Finding the loaders
//!
//! Wine translates Windows API calls, not instructions, and a Wine install has one loader per
//! PE bitness: a 64-bit ELF that runs PE32+ (windows/amd64) and a 32-bit ELF that runs PE32
//! (windows/386). Two layouts exist:
//! - Debian/Ubuntu's packages: `/usr/lib/wine/wine64` (package `wine64`) and `/usr/lib/wine/wine`
//!   (package `wine32:i386`); on PATH only `wine`, a shell script that picks the 32-bit loader
//!   when it is installed and otherwise falls back to wine64 (with a warning). Once `wine32` is
//!   installed, `wine64` is not on PATH at all.
//! - WineHQ's packages, Arch, Fedora and builds from source: `wine` (32-bit ELF) and `wine64`
//!   (64-bit ELF) on PATH. Wine 9's "new WoW64" build has a single 64-bit `wine` that also runs
//!   32-bit programs; nothing in the file says so, so such a host is taken as 64-bit only (its
//!   windows/386 cells are skipped with the reason, never failed).
//!
//! [`find_loaders`] looks at `wine64` and `wine` on PATH and at Debian's two paths, reads each
//! file's ELF class (following symlinks; a script is not a loader) and takes the first 64-bit and
//! the first 32-bit one: the choice itself is the pure [`pick_loaders`].
//!
//! With both installed, either loader starts either kind of program (the prefix is then WoW64:
//! `system32` holds 64-bit DLLs and `syswow64` 32-bit ones); pegate still runs each with its own.
//!
//! ## Known differences from Windows (Wine 8.0, Debian 12), and the workarounds
//!
//! 1. **No `bcryptprimitives.dll`.** Every Go >= 1.22 and Rust >= 1.78 Windows binary imports
//!    `ProcessPrng` from it and dies at start (`fatal error: bcryptprimitives.dll not found`,
//!    exit 2). `cargo xtask wine-prefix` builds a stub twice (64-bit into `system32`, 32-bit into
//!    `syswow64`); pegate never ships it and real Windows does not need it.
//! 2. **The environment of a process started from Linux is rebuilt from the registry.** Variables
//!    Wine keeps in the prefix (`HKCU\Environment`: `TEMP`, `TMP`, plus anything persisted there;
//!    the profile's `USERPROFILE`, `APPDATA`, ...; the system's `windir`, ...) override the value
//!    the Linux parent passes: `USERPROFILE=C:\x wine cmd /c echo %USERPROFILE%` prints
//!    `C:\users\<you>`. A variable set inside a batch file before it starts the program is
//!    inherited as on Windows, so [`command`] passes the caller's variables that way.
//! 3. **`go.exe build` exits 1 after writing its output**: removing its temporary work directory
//!    fails with `unlinkat ...\a.out.exe: Invalid function`; `go build -work` (which keeps the
//!    directory) exits 0 (the cause is difference 6). So pegate's own tests of Go builds skip
//!    under Wine, saying why, except the end-to-end test of `pegate.exe`
//!    (`tests/integration/windows_e2e.rs`), which checks the failure is still there and then
//!    adds `GOFLAGS=-work` to the `go.env` of its own toolchain: pegate runs every `go` with
//!    `GOFLAGS=` empty (the user's flags must not change the artifacts), which Go reads as unset
//!    and so falls back to `$GOROOT/go.env`; it points `GOTMPDIR` at a directory it deletes
//!    afterwards. pegate itself never adds `-work`. With it, `go.exe` under Wine builds
//!    byte-identical artifacts to the Linux `go` (windows/amd64, arm64, 386; measured, and held
//!    by that test).
//! 4. **Wine's own version of Windows**: `GetVersion` answers 6.1 build 7601 (see below).
//! 5. **Killing the loader does not kill what `cmd /c` started.** A run with variables goes
//!    through a batch file (difference 2): the loader pegate started runs `cmd.exe`, which starts
//!    the program as a second Windows process, i.e. a second Linux process that Wine forks and
//!    that is not pegate's child. Killing the first at the timeout left the program running
//!    (measured: a test binary sleeping in `TestMain` outlived `pegate test` by minutes). So a
//!    timed-out Wine run is followed by [`kill_strays`], which kills the processes whose command
//!    line starts with the program's Wine path (unique: pegate runs from temporary directories).
//!    On Windows `TerminateProcess` of the direct child is all there is, as with `go test`.
//! 6. **Go's `os.RemoveAll` fails under Wine 8**: Wine has no `FileDispositionInformationEx`
//!    (`fixme:file:NtSetInformationFile Unsupported class (64)`) and answers
//!    `STATUS_NOT_IMPLEMENTED` ("Invalid function"), where Go's `internal/syscall/windows.Deleteat`
//!    falls back to the older call only on `STATUS_INVALID_INFO_CLASS`,
//!    `STATUS_INVALID_PARAMETER` or `STATUS_NOT_SUPPORTED`. This is the cause of difference 3.
//!    Rust's `remove_dir_all` falls back and works.
//! 7. **Wine itself can crash**: once, a windows/386 program that passed in every other run ended
//!    with the 32-bit loader killed by SIGSEGV, while other Wine prefixes were busy on the same
//!    machine; 70 runs of the same file afterwards, 40 of them four at a time, all passed. A
//!    crashing Windows program exits with its status; only Wine's own failure kills the Linux
//!    process, so [`wine_failed`] tells such a run apart and `run_artifact` makes it once more.
//!    Wine's client can also lose its wineserver (`wine client error:0: recvmsg: Connection reset
//!    by peer`, exit 1: seen once in a clean-clone CI run, on a windows/386 cgo cell that passes
//!    otherwise); [`wine_failed`] counts that as Wine's failure too.
//!
//! ## What a passing run under Wine proves
//!
//! That the program's Windows code paths (drive letters, `\` separators, UNC names, the Win32
//! calls Go's `syscall` and `os` make, case-insensitive environment names, `.exe` lookup) work
//! against Wine's implementation of those APIs on this prefix. It does not prove the same on
//! Windows: Wine's file system is a Linux one underneath (case-sensitive unless Wine folds names,
//! no NTFS ACLs, alternate data streams or short 8.3 names, different locking and
//! delete-while-open semantics), `GetVersion` reports the version Wine imitates (measured: 6.1
//! build 7601, Windows 7, in a fresh Wine 8.0 prefix; Windows 10 and 11 tell a program without a
//! manifest 6.2 build 9200), there is no real registry beyond the prefix's, no services, no
//! Defender or SmartScreen, and console, code-page and timing behaviour differ. A failure under Wine is worth
//! reading but can be Wine's; a pass is evidence, not a Windows certification.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::toolchain::find_on_path;

/// Debian's 64-bit loader (package `wine64`).
pub const DEBIAN_WINE64: &str = "/usr/lib/wine/wine64";
/// Debian's 32-bit loader (package `wine32:i386`).
pub const DEBIAN_WINE32: &str = "/usr/lib/wine/wine";

/// What a candidate loader file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoaderKind {
    /// A 32-bit ELF executable: runs PE32 (windows/386).
    Elf32,
    /// A 64-bit ELF executable: runs PE32+ (windows/amd64).
    Elf64,
    /// Anything else (a shell wrapper, a file that cannot be read).
    Other,
}

/// Reads the ELF class of `path` (following symlinks) from its first five bytes.
pub fn loader_kind(path: &Path) -> LoaderKind {
    let mut head = [0u8; 5];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut head));
    match (read, head) {
        (Ok(()), [0x7f, b'E', b'L', b'F', 1]) => LoaderKind::Elf32,
        (Ok(()), [0x7f, b'E', b'L', b'F', 2]) => LoaderKind::Elf64,
        _ => LoaderKind::Other,
    }
}

/// The 64-bit and the 32-bit loader among `candidates` (in order of preference): the first of
/// each ELF class. Pure.
pub fn pick_loaders(candidates: &[(PathBuf, LoaderKind)]) -> (Option<PathBuf>, Option<PathBuf>) {
    let first = |kind: LoaderKind| {
        candidates
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(p, _)| p.clone())
    };
    (first(LoaderKind::Elf64), first(LoaderKind::Elf32))
}

/// This host's Wine loaders, `(64-bit, 32-bit)`, from `path` (a PATH value) and Debian's paths.
pub fn find_loaders(path: &OsStr) -> (Option<PathBuf>, Option<PathBuf>) {
    let candidates: Vec<(PathBuf, LoaderKind)> = [
        find_on_path(path, "wine64"),
        Some(PathBuf::from(DEBIAN_WINE64)),
        Some(PathBuf::from(DEBIAN_WINE32)),
        find_on_path(path, "wine"),
    ]
    .into_iter()
    .flatten()
    .map(|p| {
        let kind = loader_kind(&p);
        (p, kind)
    })
    .collect();
    pick_loaders(&candidates)
}

/// `wine 8.0` from `wine-8.0 (Debian 8.0~repack-4)`: the loader's `--version`, for reports.
/// `None` when it cannot be run or says something else.
pub fn version(loader: &Path) -> Option<String> {
    let out = Command::new(loader)
        .arg("--version")
        .env("WINEDEBUG", "-all")
        .output()
        .ok()?;
    parse_version(&String::from_utf8_lossy(&out.stdout))
}

/// `wine-8.0 (Debian 8.0~repack-4)` → `wine 8.0`. Pure.
pub fn parse_version(text: &str) -> Option<String> {
    let word = text.split_whitespace().next()?;
    let v = word.strip_prefix("wine-")?;
    (!v.is_empty()).then(|| format!("wine {v}"))
}

/// Whether this (Windows) process runs under Wine rather than on Windows: the prefix has Wine's
/// own `winecfg.exe`. Always false off Windows.
pub fn running_under_wine() -> bool {
    cfg!(windows) && Path::new(r"C:\windows\system32\winecfg.exe").exists()
}

/// Whether a variable is for the Wine loader itself (`WINEPREFIX`, `WINEDEBUG`, ...): those
/// belong in the Linux environment of the loader, not in the program's.
fn for_the_loader(name: &str) -> bool {
    name.starts_with("WINE")
}

/// Why a value cannot go into the batch file [`command`] writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// A line break or a double quote, which a batch line cannot carry.
    #[error("cannot pass {what} through Wine's cmd: it contains a line break or a double quote")]
    Unquotable {
        /// Which argument or variable.
        what: String,
    },
}

/// `%` doubled (a batch file expands `%NAME%`); refuses what a quoted batch word cannot hold.
fn batch_word(text: &str, what: &str) -> Result<String, BatchError> {
    if text.contains(['"', '\n', '\r']) {
        return Err(BatchError::Unquotable {
            what: what.to_owned(),
        });
    }
    Ok(text.replace('%', "%%"))
}

/// The batch file that sets `env` (each `set "NAME=value"`) and then runs `exe` with `args`,
/// exiting with its exit code. `exe` is a Windows path or a Unix one (Wine maps `/` to `Z:\`).
pub fn batch_script(
    exe: &Path,
    args: &[OsString],
    env: &[(String, String)],
) -> Result<String, BatchError> {
    let mut s = String::from("@echo off\r\n");
    for (name, value) in env {
        let name = batch_word(name, name)?;
        let value = batch_word(value, &name)?;
        s.push_str(&format!("set \"{name}={value}\"\r\n"));
    }
    let exe = unix_to_wine_path(exe);
    let mut line = format!("\"{}\"", batch_word(&exe, "the program path")?);
    for (i, arg) in args.iter().enumerate() {
        let arg = batch_word(
            &arg.to_string_lossy(),
            &format!("argument {}", i.saturating_add(1)),
        )?;
        line.push_str(&format!(" \"{arg}\""));
    }
    s.push_str(&line);
    s.push_str("\r\nexit /b %ERRORLEVEL%\r\n");
    Ok(s)
}

/// `/tmp/x/a.exe` → `Z:\tmp\x\a.exe`, Wine's default mapping of the Linux root; a path that is
/// not absolute is only given backslashes.
fn unix_to_wine_path(path: &Path) -> String {
    let text = path.display().to_string();
    if text.starts_with('/') {
        format!("Z:{}", text.replace('/', "\\"))
    } else {
        text.replace('/', "\\")
    }
}

/// A command that runs `exe` under `loader` with `args`, in `dir`, such that every variable of
/// `env` reaches the program even when the prefix's registry has its own value (difference 2
/// above): variables for the loader (`WINE*`) go into its Linux environment, the others into a
/// batch file written to the temporary directory and run with `cmd /c`. Without such variables the program is
/// started directly. Returns the command and the batch file, which the caller deletes after the
/// run.
pub fn command(
    loader: &Path,
    exe: &Path,
    args: &[OsString],
    env: &[(String, String)],
    dir: &Path,
) -> std::io::Result<(Command, Option<PathBuf>)> {
    let (loader_env, program_env): (Vec<_>, Vec<_>) =
        env.iter().cloned().partition(|(k, _)| for_the_loader(k));
    let mut cmd = Command::new(loader);
    cmd.envs(loader_env).current_dir(dir);
    if program_env.is_empty() {
        cmd.arg(exe).args(args);
        return Ok((cmd, None));
    }
    let script = batch_script(exe, args, &program_env)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    let mut file = tempfile::Builder::new()
        .prefix("pegate-wine-")
        .suffix(".cmd")
        .tempfile()?;
    file.write_all(script.as_bytes())?;
    let (_, path) = file.keep().map_err(|e| e.error)?;
    // `cmd /c` with the batch file's Unix path: Wine maps it to Z:\.
    cmd.arg("cmd").arg("/c").arg(unix_to_wine_path(&path));
    // The program env is also set on the Linux side: harmless, and it covers what the registry
    // does not override.
    cmd.envs(program_env);
    Ok((cmd, Some(path)))
}

/// Kills (SIGKILL) the processes still running `exe` under Wine: those whose command line
/// starts with `exe`'s Wine path (`Z:\\tmp\\...\\x.exe`, as Wine shows a Windows program's command
/// line in `/proc`). Called after a timed-out Wine run, whose program `cmd /c` may have
/// started as a process pegate never knew (difference 5). Returns how many it killed; does
/// nothing off Linux.
pub(crate) fn kill_strays(exe: &Path) -> usize {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Pid, Signal, kill_process};
        let wanted = unix_to_wine_path(exe);
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return 0;
        };
        let mut killed = 0usize;
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
                .and_then(Pid::from_raw)
            else {
                continue;
            };
            let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            if is_command_of(&cmdline, &wanted) && kill_process(pid, Signal::KILL).is_ok() {
                killed = killed.saturating_add(1);
            }
        }
        killed
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = exe;
        0
    }
}

/// Whether a `/proc/<pid>/cmdline` is that of a Windows program started as `wine_path`: Wine
/// puts the whole Windows command line in the first field (`Z:\\a\\x.exe -flag ...`), and
/// quotes the program when it has a space. Pure.
#[cfg(any(target_os = "linux", test))]
fn is_command_of(cmdline: &[u8], wine_path: &str) -> bool {
    let first = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    let first = first.trim_start_matches('"');
    first
        .get(..wine_path.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(wine_path))
        && first
            .get(wine_path.len()..)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '"']))
}

/// Why a run under Wine says nothing about the program, if it does not: Wine itself failed.
/// Two ways are known:
/// - the Wine process was killed by a signal (e.g. SIGSEGV in the 32-bit loader, seen once in
///   many runs of a windows/386 program that passes every other time). A Windows program that
///   crashes makes Wine exit with the program's status (0xC0000005 and the like); only Wine's
///   own failure kills the Linux process;
/// - Wine's client lost its wineserver (`wine client error:0: recvmsg: Connection reset by
///   peer`, seen once when a run started as the previous run's wineserver shut down): Wine
///   prints that from its own ntdll and exits 1 before or instead of the program's status.
///
/// Such a run is worth one more try. A timeout is not one of these: the run's own deadline
/// killed it.
pub(crate) fn wine_failed(
    runner: &crate::run::Runner,
    result: &crate::run::RunResult,
) -> Option<String> {
    if !matches!(runner, crate::run::Runner::Wine { .. })
        || result.status != crate::run::RunStatus::Failed
    {
        return None;
    }
    if result.exit_code.is_none()
        && let Some(reason) = result
            .reason
            .as_deref()
            .filter(|r| r.starts_with("terminated: "))
    {
        return Some(format!("Wine itself {reason}"));
    }
    result
        .stderr
        .lines()
        .find(|l| l.starts_with(WINE_CLIENT_ERROR))
        .map(|line| format!("Wine's client losing its server ({})", line.trim_end()))
}

/// How Wine's ntdll starts the message it prints when its connection to the wineserver fails.
pub(crate) const WINE_CLIENT_ERROR: &str = "wine client error:";

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn loaders_are_picked_by_elf_class_whatever_their_name() {
        let c = |p: &str, k| (PathBuf::from(p), k);
        // Debian with wine32: the PATH `wine` is a script, the loaders are in /usr/lib/wine.
        let debian = [
            c("/usr/lib/wine/wine64", LoaderKind::Elf64),
            c("/usr/lib/wine/wine", LoaderKind::Elf32),
            c("/usr/bin/wine", LoaderKind::Other),
        ];
        assert_eq!(
            pick_loaders(&debian),
            (
                Some("/usr/lib/wine/wine64".into()),
                Some("/usr/lib/wine/wine".into())
            )
        );
        // Debian without wine32: the wrapper would fall back to wine64, which is no 32-bit Wine.
        assert_eq!(
            pick_loaders(&[
                c("/usr/lib/wine/wine64", LoaderKind::Elf64),
                c("/usr/bin/wine", LoaderKind::Other)
            ]),
            (Some("/usr/lib/wine/wine64".into()), None)
        );
        // WineHQ: both on PATH.
        assert_eq!(
            pick_loaders(&[
                c("/opt/wine/bin/wine64", LoaderKind::Elf64),
                c("/opt/wine/bin/wine", LoaderKind::Elf32)
            ]),
            (
                Some("/opt/wine/bin/wine64".into()),
                Some("/opt/wine/bin/wine".into())
            )
        );
        // Wine 9 new WoW64: one 64-bit `wine`.
        assert_eq!(
            pick_loaders(&[c("/usr/bin/wine", LoaderKind::Elf64)]),
            (Some("/usr/bin/wine".into()), None)
        );
        assert_eq!(pick_loaders(&[]), (None, None));
    }

    #[test]
    fn elf_classes_are_read_from_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            p
        };
        assert_eq!(
            loader_kind(&write("a", b"\x7fELF\x01rest")),
            LoaderKind::Elf32
        );
        assert_eq!(
            loader_kind(&write("b", b"\x7fELF\x02rest")),
            LoaderKind::Elf64
        );
        assert_eq!(
            loader_kind(&write("c", b"#!/bin/sh -e\n")),
            LoaderKind::Other
        );
        assert_eq!(loader_kind(&write("d", b"\x7fE")), LoaderKind::Other);
        assert_eq!(loader_kind(&dir.path().join("missing")), LoaderKind::Other);
    }

    #[test]
    fn stray_programs_are_known_by_the_start_of_their_command_line() {
        let path = r"Z:\tmp\p-1\windows_amd64\a.test.exe";
        assert!(is_command_of(
            b"Z:\\tmp\\p-1\\windows_amd64\\a.test.exe -test.v=test2json      \0",
            path
        ));
        assert!(is_command_of(
            b"\"z:\\TMP\\p-1\\windows_amd64\\a.test.exe\"\0",
            path
        ));
        assert!(is_command_of(path.as_bytes(), path));
        // Another program in the same directory, or the same name elsewhere, is not it.
        assert!(!is_command_of(
            b"Z:\\tmp\\p-1\\windows_amd64\\a.test.exe.bak\0",
            path
        ));
        assert!(!is_command_of(
            b"C:\\windows\\system32\\cmd.exe /c Z:\\tmp\\p-1\\windows_amd64\\a.test.exe\0",
            path
        ));
        assert!(!is_command_of(b"", path));
    }

    #[test]
    fn versions_are_named_as_reports_show_them() {
        assert_eq!(
            parse_version("wine-8.0 (Debian 8.0~repack-4)\n").as_deref(),
            Some("wine 8.0")
        );
        assert_eq!(parse_version("wine-9.0\n").as_deref(), Some("wine 9.0"));
        assert_eq!(parse_version("").as_deref(), None);
        assert_eq!(parse_version("bash: wine: not found").as_deref(), None);
    }

    #[test]
    fn the_batch_file_sets_the_environment_then_runs_the_program() {
        let script = batch_script(
            Path::new("/tmp/t/pkg.test.exe"),
            &["-test.run".into(), "^Test(A|B)$".into(), "100%".into()],
            &[
                ("USERPROFILE".into(), r"C:\users\x".into()),
                ("P".into(), "a&b|c".into()),
            ],
        )
        .unwrap();
        assert_eq!(
            script,
            "@echo off\r\nset \"USERPROFILE=C:\\users\\x\"\r\nset \"P=a&b|c\"\r\n\
             \"Z:\\tmp\\t\\pkg.test.exe\" \"-test.run\" \"^Test(A|B)$\" \"100%%\"\r\n\
             exit /b %ERRORLEVEL%\r\n"
        );
        let bad = batch_script(Path::new("a.exe"), &["say \"hi\"".into()], &[]).unwrap_err();
        assert_eq!(
            bad.to_string(),
            "cannot pass argument 1 through Wine's cmd: it contains a line break or a double quote"
        );
        assert!(batch_script(Path::new("a.exe"), &[], &[("A".into(), "x\ny".into())]).is_err());
    }
}
