//! Running what the matrix built ("compile hello.go, cross-compile, run it", the first check of
//! a new build setup) for every artifact this host can execute.
//!
//! Two halves, kept apart so the decision is testable anywhere:
//! - [`select_runner`] is pure: from the [`Host`] (its GOOS/GOARCH and which Wine loaders it has)
//!   and a cell's [`Target`] it picks a [`Runner`], or says in one line why the cell cannot run
//!   here (`arm64: no runner on this host`). Such a cell is skipped, not failed.
//! - [`run_artifact`] spawns the artifact (directly, or as `wine64 <exe>`) with an argument vector,
//!   no stdin, a timeout after which the process is killed, and stdout/stderr captured up to a
//!   bound (the rest is drained and dropped, so a chatty program cannot block on a full pipe).
//!
//! Windows runs windows/amd64 and windows/386 natively on x64, and windows/arm64 and windows/386
//! on Arm64 (amd64 too on Windows 11, whose x64 emulation Windows 10 on Arm lacks). On Linux,
//! Wine runs windows/amd64 through its 64-bit loader and windows/386 only through the 32-bit one
//! (Debian's `wine32:i386`); no Wine runs arm64 PE files on an x86 host. The Wine loaders are
//! looked up as Debian installs them (`/usr/lib/wine/wine64`, `/usr/lib/wine/wine`) and on PATH
//! (see [`crate::wine`], where everything Wine-specific lives);
//! `WINEPREFIX` and `WINEDEBUG` pass through from the caller's environment.
//!
//! ```
//! use pegate_facts::GoArch;
//! use pegate_go::matrix::Target;
//! use pegate_go::run::{select_runner, Host, Runner};
//!
//! let host = Host { goos: "linux".into(), goarch: "amd64".into(), wine64: Some("/usr/lib/wine/wine64".into()), wine32: None };
//! assert!(matches!(select_runner(&host, &Target::windows(GoArch::Amd64)), Ok(Runner::Wine { .. })));
//! assert_eq!(select_runner(&host, &Target::windows(GoArch::Arm64)).unwrap_err().to_string(), "arm64: no runner on this host");
//! assert_eq!(select_runner(&host, &Target::windows(GoArch::I386)).unwrap_err().to_string(), "386: no 32-bit Wine on this host");
//! ```

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use pegate_facts::{GoArch, GoOs};
use serde::{Deserialize, Serialize};

use crate::matrix::Target;

/// How long an artifact may run before it is killed, unless the caller says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many bytes of stdout and of stderr are kept per run.
pub const DEFAULT_MAX_OUTPUT: usize = 64 * 1024;

/// What this machine is and which Wine loaders it has: the whole input of [`select_runner`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Host {
    /// The host OS as a GOOS (`linux`, `windows`, `darwin`). Text, not a [`GoOs`]: it is
    /// Rust's name for the OS, and an OS Go has no port for keeps that name.
    pub goos: String,
    /// The host CPU as a GOARCH (`amd64`, `arm64`, `386`). Text, not a [`GoArch`]: a CPU
    /// [`GoArch::RUST_ARCHES`] does not map keeps Rust's name (`riscv64`, `powerpc64`).
    pub goarch: String,
    /// Wine's 64-bit loader, if installed.
    pub wine64: Option<PathBuf>,
    /// Wine's 32-bit loader, if installed.
    pub wine32: Option<PathBuf>,
}

impl Host {
    /// This machine: its OS and CPU, and the Wine loaders found (not looked for on Windows).
    pub fn detect() -> Host {
        let goos = match std::env::consts::OS {
            "macos" => "darwin",
            other => other,
        };
        let goarch = crate::toolchain::host_goarch();
        let (wine64, wine32) = if cfg!(windows) {
            (None, None)
        } else {
            // Both layouts (Debian's /usr/lib/wine, WineHQ's PATH), by ELF class: crate::wine.
            crate::wine::find_loaders(&std::env::var_os("PATH").unwrap_or_default())
        };
        Host {
            goos: goos.to_owned(),
            goarch: goarch.to_owned(),
            wine64,
            wine32,
        }
    }
}

/// How an artifact is started.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Runner {
    /// Executed directly.
    Native,
    /// Handed to a Wine loader: `<program> <exe>`.
    Wine {
        /// The loader (`/usr/lib/wine/wine64`).
        program: PathBuf,
    },
}

impl Runner {
    /// `native`, or the Wine loader's file name (`wine64`), for reports.
    pub fn name(&self) -> String {
        match self {
            Runner::Native => "native".to_owned(),
            Runner::Wine { program } => program
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "wine".to_owned()),
        }
    }
}

/// Why a target's artifacts cannot run on this host; its message is the skipped run's reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoRunner {
    /// A target for another OS than the host's and not Windows (nothing emulates it).
    #[error("{target}: no runner on this host")]
    ForeignOs {
        /// The target.
        target: Target,
    },
    /// Neither the host CPU nor an emulator it has runs this GOARCH.
    #[error("{goarch}: no runner on this host")]
    ForeignCpu {
        /// The target's GOARCH.
        goarch: GoArch,
    },
    /// windows/386 on a Linux host without Wine's 32-bit loader.
    #[error("{goarch}: no 32-bit Wine on this host")]
    NoWine32 {
        /// The target's GOARCH.
        goarch: GoArch,
    },
    /// windows/amd64 on a Linux host without Wine's 64-bit loader.
    #[error("{goarch}: no wine64 on this host (apt-get install wine64)")]
    NoWine64 {
        /// The target's GOARCH.
        goarch: GoArch,
    },
}

/// Picks how `target`'s artifacts run on `host`, or says why they cannot (`arm64: no runner on
/// this host`). Pure: everything it knows is in its arguments.
pub fn select_runner(host: &Host, target: &Target) -> Result<Runner, NoRunner> {
    let arch = target.goarch;
    let no_runner = || NoRunner::ForeignCpu { goarch: arch };
    if target.goos != GoOs::Windows {
        return if target.goos.as_str() == host.goos && arch.as_str() == host.goarch {
            Ok(Runner::Native)
        } else {
            Err(NoRunner::ForeignOs { target: *target })
        };
    }
    // `None` for a host CPU Go has no name for: it runs no Windows program.
    let host_arch = host.goarch.parse::<GoArch>().ok();
    if host.goos == GoOs::Windows.as_str() {
        let runs = match host_arch {
            // x64 Windows runs x86 programs through WOW64.
            Some(GoArch::Amd64) => matches!(arch, GoArch::Amd64 | GoArch::I386),
            Some(GoArch::Arm64) => matches!(arch, GoArch::Arm64 | GoArch::Amd64 | GoArch::I386),
            Some(GoArch::I386) => arch == GoArch::I386,
            _ => false,
        };
        return if runs {
            Ok(Runner::Native)
        } else {
            Err(no_runner())
        };
    }
    // Wine translates system calls, not instructions: the PE's CPU must be the host's.
    let same_cpu_family = match arch {
        GoArch::Amd64 => host_arch == Some(GoArch::Amd64),
        GoArch::I386 => matches!(host_arch, Some(GoArch::Amd64 | GoArch::I386)),
        _ => false,
    };
    if !same_cpu_family {
        return Err(no_runner());
    }
    let goarch = arch;
    let loader = if arch == GoArch::I386 {
        host.wine32.clone().ok_or(NoRunner::NoWine32 { goarch })?
    } else {
        host.wine64.clone().ok_or(NoRunner::NoWine64 { goarch })?
    };
    Ok(Runner::Wine { program: loader })
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Exited with code 0.
    Passed,
    /// Exited non-zero, was killed by a signal, or could not be started.
    Failed,
    /// Still running at the timeout; killed.
    TimedOut,
    /// Not run: this host has no runner for the target (`reason` says why). Not a failure.
    Skipped,
}

/// The outcome of running one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    /// Passed, failed, timed out or skipped.
    pub status: RunStatus,
    /// `native` or the Wine loader (`wine64`); empty when skipped.
    pub runner: String,
    /// The exit code, when the process exited by itself.
    pub exit_code: Option<i32>,
    /// Standard output (lossy UTF-8), at most the bound given.
    pub stdout: String,
    /// Standard error (lossy UTF-8), at most the bound given.
    pub stderr: String,
    /// Wall time from spawn to exit (or kill), in milliseconds.
    pub elapsed_ms: u64,
    /// Why it was skipped or could not run; `None` when it ran.
    pub reason: Option<String>,
    /// Whether stdout or stderr went past the bound and was cut.
    pub truncated: bool,
}

impl RunResult {
    /// A cell that is not run here, with the reason.
    pub fn skipped(reason: impl Into<String>) -> RunResult {
        RunResult {
            status: RunStatus::Skipped,
            runner: String::new(),
            exit_code: None,
            stdout: String::new(),
            stderr: String::new(),
            elapsed_ms: 0,
            reason: Some(reason.into()),
            truncated: false,
        }
    }

    /// Whether this run fails its cell (non-zero exit, timeout, could not start).
    pub fn failed(&self) -> bool {
        matches!(self.status, RunStatus::Failed | RunStatus::TimedOut)
    }

    /// One short line for tables: `exit 0: Hello, Windows!`, `skipped: arm64: no runner ...`.
    pub fn summary(&self) -> String {
        let first = |s: &str| {
            s.lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("")
                .trim()
                .to_owned()
        };
        match self.status {
            RunStatus::Skipped => format!("skipped: {}", self.reason.as_deref().unwrap_or("")),
            RunStatus::TimedOut => format!("timed out after {} ms", self.elapsed_ms),
            RunStatus::Passed => format!("exit 0: {}", first(&self.stdout)),
            RunStatus::Failed => match (self.exit_code, &self.reason) {
                (_, Some(reason)) => format!("FAIL {reason}"),
                (Some(code), None) => format!("exit {code}: {}", first(&self.stderr)),
                (None, None) => format!("killed: {}", first(&self.stderr)),
            },
        }
    }
}

/// How [`run_artifact`] runs things.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RunOptions {
    /// Kill the process after this long (default [`DEFAULT_TIMEOUT`]).
    pub timeout: Duration,
    /// Bytes of stdout and of stderr kept (default [`DEFAULT_MAX_OUTPUT`]).
    pub max_output: usize,
    /// Extra environment for the process (`WINEPREFIX`, ...), on top of the caller's. Under
    /// Wine, the variables that are not `WINE*` reach the program even where the prefix's
    /// registry has its own value ([`crate::wine::command`]).
    pub env: Vec<(String, String)>,
    /// The machine the artifacts run on.
    pub host: Host,
    /// Arguments for the program (none by default).
    pub args: Vec<std::ffi::OsString>,
    /// The working directory (default: the artifact's directory).
    pub dir: Option<PathBuf>,
}

impl RunOptions {
    /// The defaults for this machine ([`Host::detect`]).
    pub fn detect() -> RunOptions {
        RunOptions::for_host(Host::detect())
    }

    /// The defaults for a given host.
    pub fn for_host(host: Host) -> RunOptions {
        RunOptions {
            timeout: DEFAULT_TIMEOUT,
            max_output: DEFAULT_MAX_OUTPUT,
            env: Vec::new(),
            host,
            args: Vec::new(),
            dir: None,
        }
    }
}

/// Runs `exe` built for `target` if this host can, else returns a skipped result with the reason.
pub fn run_target(exe: &Path, target: &Target, opts: &RunOptions) -> RunResult {
    match select_runner(&opts.host, target) {
        Ok(runner) => run_artifact(&runner, exe, opts),
        Err(reason) => RunResult::skipped(reason.to_string()),
    }
}

/// A stream's captured head and whether more came.
#[derive(Debug, Default)]
struct Capture {
    bytes: Vec<u8>,
    truncated: bool,
}

/// Reads `from` to its end on a thread, keeping the first `max` bytes; signals `done` at the end.
fn capture<R: Read + Send + 'static>(
    mut from: R,
    max: usize,
    done: mpsc::Sender<()>,
) -> Arc<Mutex<Capture>> {
    let shared = Arc::new(Mutex::new(Capture::default()));
    let sink = Arc::clone(&shared);
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let Ok(mut c) = sink.lock() else { break };
                    let room = max.saturating_sub(c.bytes.len());
                    let chunk = buf.get(..n).unwrap_or_default();
                    let keep = chunk.get(..room.min(n)).unwrap_or_default();
                    c.bytes.extend_from_slice(keep);
                    if keep.len() < n {
                        c.truncated = true;
                    }
                }
            }
        }
        let _ = done.send(());
    });
    shared
}

fn take(capture: &Mutex<Capture>) -> (String, bool) {
    match capture.lock() {
        Ok(c) => (String::from_utf8_lossy(&c.bytes).into_owned(), c.truncated),
        Err(_) => (String::new(), false),
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Runs `exe` with `runner`: no stdin, stdout/stderr captured up to `opts.max_output` bytes each,
/// killed at `opts.timeout`. Never panics; a process that cannot start is a failed result.
///
/// Under Wine, a run that Wine itself did not survive (see [`crate::wine::wine_failed`]) is
/// made once more; the second result stands, its stderr saying what happened to the first.
pub fn run_artifact(runner: &Runner, exe: &Path, opts: &RunOptions) -> RunResult {
    let first = run_once(runner, exe, opts);
    let Some(why) = crate::wine::wine_failed(runner, &first) else {
        return first;
    };
    let mut again = run_once(runner, exe, opts);
    again.stderr.insert_str(
        0,
        &format!(
            "pegate: the first run ended with {why} (not a Windows exit status); ran it again\n"
        ),
    );
    again
}

/// One run of `exe` (see [`run_artifact`]).
fn run_once(runner: &Runner, exe: &Path, opts: &RunOptions) -> RunResult {
    // Absolute, because the process starts in the artifact's directory and a relative program
    // path is resolved against the parent's or the child's directory depending on the OS.
    let absolute = std::path::absolute(exe);
    let exe = absolute.as_deref().unwrap_or(exe);
    let (mut cmd, batch) = match command(runner, exe, opts) {
        Ok(c) => c,
        Err(e) => {
            let mut result = RunResult::skipped("");
            result.status = RunStatus::Failed;
            result.runner = runner.name();
            result.reason = Some(format!(
                "could not prepare the run of {}: {e}",
                exe.display()
            ));
            return result;
        }
    };
    let _batch = batch.and_then(|b| tempfile::TempPath::try_from_path(b).ok());
    let started = Instant::now();
    let mut result = RunResult {
        status: RunStatus::Failed,
        runner: runner.name(),
        exit_code: None,
        stdout: String::new(),
        stderr: String::new(),
        elapsed_ms: 0,
        reason: None,
        truncated: false,
    };
    // Tracked like `go` and pip: a signal to pegate stops the program (and under Wine the
    // loader's process group) too, and no program starts once the run is being stopped.
    let (mut child, _tracked) = match crate::children::spawn(&mut cmd) {
        Ok(spawned) => spawned,
        Err(e) => {
            result.reason = Some(format!(
                "could not start {}: {e}",
                match runner {
                    Runner::Native => exe.display().to_string(),
                    Runner::Wine { program } => program.display().to_string(),
                }
            ));
            return result;
        }
    };
    let (done_tx, done_rx) = mpsc::channel();
    let out = child
        .stdout
        .take()
        .map(|s| capture(s, opts.max_output, done_tx.clone()));
    let err = child
        .stderr
        .take()
        .map(|s| capture(s, opts.max_output, done_tx.clone()));
    drop(done_tx);

    let status = wait(
        &mut child,
        started.checked_add(opts.timeout),
        exe,
        &mut result,
    );
    if result.status == RunStatus::TimedOut && matches!(runner, Runner::Wine { .. }) {
        // What `cmd /c` started is not our child: killing the loader left it running.
        crate::wine::kill_strays(exe);
    }
    result.elapsed_ms = millis(started.elapsed());
    collect_output(out, err, &done_rx, &mut result);
    if let Some(status) = status {
        result.exit_code = status.code();
        if status.success() {
            result.status = RunStatus::Passed;
        } else if status.code().is_none() {
            result.reason = Some(format!("terminated: {status}"));
        } else {
            result.reason = missing_dll(status.code(), &result.stderr);
        }
    }
    result
}

/// The loader's "a DLL is missing" failure, as Windows reports it (exit status
/// STATUS_DLL_NOT_FOUND, 0xC0000135) or Wine does (`err:module:import_dll Library X.dll (which is
/// needed by …) not found` on stderr when WINEDEBUG lets `err+module` through, and the status's
/// low byte, 53, as its Unix exit code).
fn missing_dll(code: Option<i32>, stderr: &str) -> Option<String> {
    const STATUS_DLL_NOT_FOUND: u32 = 0xC000_0135;
    let named = stderr.lines().find_map(|line| {
        let rest = line.split_once("import_dll Library ")?.1;
        let (dll, tail) = rest.split_once(' ')?;
        tail.contains("not found").then(|| dll.to_owned())
    });
    let windows_status =
        code.is_some_and(|c| u32::from_ne_bytes(c.to_ne_bytes()) == STATUS_DLL_NOT_FOUND);
    match named {
        Some(dll) => Some(format!(
            "{dll} was not found: the loader could not start the program (STATUS_DLL_NOT_FOUND); link it statically or ship the DLL"
        )),
        None if windows_status => Some(
            "a DLL it imports was not found: the loader could not start the program (STATUS_DLL_NOT_FOUND); link it statically or ship the DLL".to_owned(),
        ),
        None => None,
    }
}

/// The command that starts `exe` with `runner`, in the artifact's directory (or `opts.dir`),
/// with no stdin and both output streams piped; and the batch file a Wine run goes through,
/// which the caller deletes after the run.
fn command(
    runner: &Runner,
    exe: &Path,
    opts: &RunOptions,
) -> std::io::Result<(Command, Option<PathBuf>)> {
    let dir = opts
        .dir
        .clone()
        .or_else(|| exe.parent().map(Path::to_path_buf))
        .filter(|d| !d.as_os_str().is_empty());
    let (mut cmd, batch) = match runner {
        Runner::Native => {
            let mut cmd = Command::new(exe);
            cmd.args(&opts.args)
                .envs(opts.env.iter().map(|(k, v)| (k, v)));
            if let Some(dir) = &dir {
                cmd.current_dir(dir);
            }
            (cmd, None)
        }
        Runner::Wine { program } => {
            let here = std::env::current_dir()?;
            crate::wine::command(
                program,
                exe,
                &opts.args,
                &opts.env,
                dir.as_deref().unwrap_or(&here),
            )?
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    Ok((cmd, batch))
}

/// Waits for `child` until `deadline`, killing it then (status timed out); the exit status when
/// it exited by itself. A failure to wait is recorded in `result.reason`.
fn wait(
    child: &mut Child,
    deadline: Option<Instant>,
    exe: &Path,
    result: &mut RunResult,
) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) => {}
            Err(e) => {
                result.reason = Some(format!("waiting for {}: {e}", exe.display()));
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            let _ = child.kill();
            let _ = child.wait();
            result.status = RunStatus::TimedOut;
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Moves what the readers captured into `result`, waiting for them only briefly: a process the
/// artifact started (Wine's wineserver) can hold the pipes open after it exits.
fn collect_output(
    out: Option<Arc<Mutex<Capture>>>,
    err: Option<Arc<Mutex<Capture>>>,
    done: &mpsc::Receiver<()>,
    result: &mut RunResult,
) {
    let grace = Instant::now().checked_add(Duration::from_secs(2));
    let readers = usize::from(out.is_some()).saturating_add(usize::from(err.is_some()));
    for _ in 0..readers {
        let left = grace
            .map(|g| g.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        if done.recv_timeout(left).is_err() {
            break;
        }
    }
    for (capture, field) in [(out, &mut result.stdout), (err, &mut result.stderr)] {
        if let Some(capture) = capture {
            let (text, cut) = take(&capture);
            *field = text;
            result.truncated |= cut;
        }
    }
}

#[cfg(test)]
mod missing_dll_tests {
    use super::missing_dll;

    #[test]
    fn the_loader_s_missing_dll_is_named_from_wine_s_message_or_windows_status() {
        let wine = "00f4:err:module:import_dll Library libstdc++-6.dll (which is needed by L\"Z:\\tmp\\a.exe\") not found\n\
                    00f4:err:module:LdrInitializeThunk Importing dlls for L\"Z:\\tmp\\a.exe\" failed, status c0000135\n";
        let reason = missing_dll(Some(53), wine).unwrap_or_default();
        assert!(
            reason.starts_with("libstdc++-6.dll was not found"),
            "{reason}"
        );
        // Windows: exit status 0xC0000135, nothing on stderr.
        let reason = missing_dll(Some(i32::from_ne_bytes(0xC000_0135_u32.to_ne_bytes())), "")
            .unwrap_or_default();
        assert!(reason.contains("STATUS_DLL_NOT_FOUND"), "{reason}");
        // Any other failure is left as it is.
        assert_eq!(missing_dll(Some(1), "panic: boom"), None);
        assert_eq!(missing_dll(Some(53), ""), None);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn host(goos: &str, goarch: &str, wine64: bool, wine32: bool) -> Host {
        Host {
            goos: goos.into(),
            goarch: goarch.into(),
            wine64: wine64.then(|| PathBuf::from("/usr/lib/wine/wine64")),
            wine32: wine32.then(|| PathBuf::from("/usr/lib/wine/wine")),
        }
    }

    /// (host, target) → runner name or the reason it cannot run.
    #[test]
    fn runner_selection_table() {
        let cases: &[(Host, &str, Result<&str, &str>)] = &[
            (
                host("linux", "amd64", true, false),
                "windows/amd64",
                Ok("wine64"),
            ),
            (
                host("linux", "amd64", true, false),
                "windows/386",
                Err("386: no 32-bit Wine on this host"),
            ),
            (
                host("linux", "amd64", true, true),
                "windows/386",
                Ok("wine"),
            ),
            (
                host("linux", "amd64", true, true),
                "windows/arm64",
                Err("arm64: no runner on this host"),
            ),
            (
                host("linux", "amd64", false, false),
                "windows/amd64",
                Err("amd64: no wine64 on this host (apt-get install wine64)"),
            ),
            (
                host("linux", "arm64", true, true),
                "windows/amd64",
                Err("amd64: no runner on this host"),
            ),
            (
                host("linux", "arm64", true, true),
                "windows/arm64",
                Err("arm64: no runner on this host"),
            ),
            (
                host("linux", "amd64", true, true),
                "windows/arm",
                Err("arm: no runner on this host"),
            ),
            (
                host("windows", "amd64", false, false),
                "windows/amd64",
                Ok("native"),
            ),
            (
                host("windows", "amd64", false, false),
                "windows/386",
                Ok("native"),
            ),
            (
                host("windows", "amd64", false, false),
                "windows/arm64",
                Err("arm64: no runner on this host"),
            ),
            (
                host("windows", "arm64", false, false),
                "windows/arm64",
                Ok("native"),
            ),
            (
                host("windows", "arm64", false, false),
                "windows/amd64",
                Ok("native"),
            ),
            (
                host("linux", "amd64", false, false),
                "linux/amd64",
                Ok("native"),
            ),
            (
                host("linux", "amd64", false, false),
                "linux/arm64",
                Err("linux/arm64: no runner on this host"),
            ),
        ];
        for (host, target, want) in cases {
            let got = select_runner(host, &Target::parse(target).unwrap())
                .map(|r| r.name())
                .map_err(|e| e.to_string());
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                *want,
                "{host:?} {target}"
            );
        }
    }

    #[test]
    fn a_skipped_run_is_not_a_failure_and_says_why() {
        let r = run_target(
            Path::new("hello.exe"),
            &Target::windows(GoArch::Arm64),
            &RunOptions::for_host(host("linux", "amd64", true, false)),
        );
        assert_eq!(r.status, RunStatus::Skipped);
        assert!(!r.failed());
        assert_eq!(r.summary(), "skipped: arm64: no runner on this host");
    }

    /// A shell script run through `/bin/sh` as the "loader": the same spawn, capture and kill
    /// path that a Wine run takes, with no Wine needed.
    #[cfg(unix)]
    #[track_caller]
    fn run_script(script: &str, timeout_ms: u64, max_output: usize) -> RunResult {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cell.sh");
        std::fs::write(&file, script).unwrap();
        let mut opts = RunOptions::for_host(host("linux", "amd64", false, false));
        opts.timeout = Duration::from_millis(timeout_ms);
        opts.max_output = max_output;
        // A `WINE*` variable: Wine runs give those to the loader's own environment; the others
        // would go through a batch file for `cmd` (crate::wine::command), which sh is not.
        opts.env.push(("WINE_PEGATE_RUN_TEST".into(), "set".into()));
        let loader = Runner::Wine {
            program: PathBuf::from("/bin/sh"),
        };
        run_artifact(&loader, &file, &opts)
    }

    /// A run whose "Wine" is killed by a signal is made once more, and says so; a program's own
    /// failure (an exit status) is not retried, nor is a second crash hidden.
    #[cfg(unix)]
    #[test]
    fn a_run_wine_itself_did_not_survive_is_made_once_more() {
        // Crashes (SIGSEGV on itself) the first time, then passes; counts its starts.
        let flaky = r#"d=$(dirname "$0"); echo x >> "$d/starts"
if [ ! -e "$d/crashed" ]; then : > "$d/crashed"; kill -SEGV $$; fi
echo ok"#;
        let r = run_script(flaky, 10_000, 1024);
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert_eq!(r.stdout, "ok\n");
        assert!(
            r.stderr.starts_with(
                "pegate: the first run ended with Wine itself terminated: signal: 11 (SIGSEGV)"
            ),
            "{r:?}"
        );

        let always = run_script("kill -SEGV $$", 10_000, 1024);
        assert_eq!((always.status, always.exit_code), (RunStatus::Failed, None));
        assert_eq!(
            always.reason.as_deref(),
            Some("terminated: signal: 11 (SIGSEGV)")
        );
        assert!(
            always.stderr.starts_with("pegate: the first run ended"),
            "{always:?}"
        );

        let exits = run_script(
            r#"d=$(dirname "$0"); echo x >> "$d/starts"; n=$(wc -l < "$d/starts"); exit $((2 + n))"#,
            10_000,
            1024,
        );
        assert_eq!(exits.exit_code, Some(3), "not retried: {exits:?}");
        assert!(exits.stderr.is_empty(), "{exits:?}");
    }

    /// Wine's client losing its server (its own ntdll message, exit 1) is Wine's failure: one
    /// more run. The same text from a run that passed, or no such line, changes nothing.
    #[cfg(unix)]
    #[test]
    fn a_run_whose_wine_client_lost_its_server_is_made_once_more() {
        let flaky = r#"d=$(dirname "$0"); echo x >> "$d/starts"
if [ ! -e "$d/lost" ]; then : > "$d/lost"; echo 'wine client error:0: recvmsg: Connection reset by peer' >&2; exit 1; fi
echo ok"#;
        let r = run_script(flaky, 10_000, 1024);
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert_eq!(r.stdout, "ok\n");
        assert_eq!(
            r.stderr,
            "pegate: the first run ended with Wine's client losing its server (wine client \
             error:0: recvmsg: Connection reset by peer) (not a Windows exit status); ran it again\n"
        );

        let fails = run_script(
            r#"d=$(dirname "$0"); echo x >> "$d/starts"; n=$(wc -l < "$d/starts"); echo "client error $n" >&2; exit 1"#,
            10_000,
            1024,
        );
        assert_eq!(fails.stderr, "client error 1\n", "not retried: {fails:?}");
    }

    #[cfg(unix)]
    #[test]
    fn runs_capture_exit_codes_output_and_environment() {
        let ok = run_script(
            "echo \"Hello, $WINE_PEGATE_RUN_TEST\"; echo warn >&2",
            10_000,
            1024,
        );
        assert_eq!(ok.status, RunStatus::Passed, "{ok:?}");
        assert_eq!(
            (ok.exit_code, ok.stdout.as_str(), ok.stderr.as_str()),
            (Some(0), "Hello, set\n", "warn\n")
        );
        assert_eq!(
            (ok.runner.as_str(), ok.truncated, ok.failed()),
            ("sh", false, false)
        );
        assert_eq!(ok.summary(), "exit 0: Hello, set");

        let bad = run_script("echo partial; echo 'it broke' >&2; exit 3", 10_000, 1024);
        assert_eq!((bad.status, bad.exit_code), (RunStatus::Failed, Some(3)));
        assert!(bad.failed());
        assert_eq!(bad.summary(), "exit 3: it broke");
        assert_eq!(bad.stdout, "partial\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_hanging_program_is_killed_at_the_timeout() {
        let started = Instant::now();
        let r = run_script("echo started; exec sleep 30", 300, 1024);
        assert_eq!(r.status, RunStatus::TimedOut, "{r:?}");
        assert!(r.failed());
        assert_eq!(r.exit_code, None);
        assert_eq!(r.stdout, "started\n");
        assert!((300..5_000).contains(&r.elapsed_ms), "{r:?}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[cfg(unix)]
    #[test]
    fn output_is_kept_up_to_the_bound_and_the_rest_is_drained() {
        // 1 MB through a 64 KiB pipe: the program only finishes if the reader keeps draining.
        let r = run_script(
            "i=0; while [ $i -lt 16384 ]; do echo 0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq; i=$((i+1)); done",
            30_000,
            1000,
        );
        assert_eq!(r.status, RunStatus::Passed, "{r:?}");
        assert!(r.truncated);
        assert_eq!(r.stdout.len(), 1000);
        assert!(r.stdout.starts_with("0123456789abcdef"));
    }

    #[test]
    fn a_runner_that_cannot_start_fails_the_cell_with_the_reason() {
        let opts = RunOptions::for_host(host("linux", "amd64", true, false));
        let missing = Runner::Wine {
            program: PathBuf::from("/nonexistent/wine64"),
        };
        let r = run_artifact(&missing, Path::new("hello.exe"), &opts);
        assert_eq!(r.status, RunStatus::Failed);
        assert!(r.failed());
        let reason = r.reason.unwrap_or_default();
        assert!(
            reason.starts_with("could not start /nonexistent/wine64: "),
            "{reason}"
        );
    }
}
