//! The child processes pegate-go starts (`go`, pip), so that an interrupted run can stop them.
//!
//! [`stop_all`], called from a signal handler, makes later spawns fail with
//! [`std::io::ErrorKind::Interrupted`] (so a matrix stops starting cells) and passes the signal
//! on to the children alive.
//!
//! A program that handles SIGINT and SIGTERM itself calls [`forward_signals`] first: on Unix
//! each child then starts in a process group of its own, so that `stop_all` also stops what it
//! started (the compiler and linker under `go build`, the C compiler of a cgo build); a signal
//! sent to pegate alone (a CI timeout's SIGTERM) would otherwise leave them running, and a
//! terminal's Ctrl-C, which reaches only the foreground group, is passed on by `stop_all`.
//! Without that call children stay in the caller's group, as `std::process` starts them.
//!
//! On Windows a console's Ctrl-C reaches every process attached to it, children included; there
//! `stop_all` only refuses later spawns.
//!
//! ```
//! let mut cmd = std::process::Command::new(if cfg!(windows) { "cmd" } else { "true" });
//! if cfg!(windows) {
//!     cmd.args(["/c", "ver"]);
//! }
//! let out = pegate_go::children::output(&mut cmd)?;
//! assert!(out.status.success());
//! assert!(!pegate_go::children::stopping());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// The children alive: process id, and whether it leads a process group of its own.
static LIVE: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());
/// Set once the run is being stopped.
static STOPPING: AtomicBool = AtomicBool::new(false);
/// Set by [`forward_signals`].
static OWN_GROUPS: AtomicBool = AtomicBool::new(false);

/// Declares that this process handles SIGINT and SIGTERM by calling [`stop_all`]: children
/// started from now on get process groups of their own (Unix), which only `stop_all` signals.
pub fn forward_signals() {
    OWN_GROUPS.store(true, Ordering::SeqCst);
}

/// The signal [`stop_all`] passes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stop {
    /// SIGINT (Ctrl-C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

/// Whether [`stop_all`] has been called.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

fn interrupted() -> io::Error {
    io::Error::new(io::ErrorKind::Interrupted, "interrupted by a signal")
}

/// Starts `cmd` (stdin closed) as a tracked child, in a process group of its own on Unix; it
/// is tracked until the returned [`Tracked`] drops (after the child is waited for).
pub fn spawn(cmd: &mut Command) -> io::Result<(Child, Tracked)> {
    if stopping() {
        return Err(interrupted());
    }
    let own_group = cfg!(unix) && OWN_GROUPS.load(Ordering::SeqCst);
    #[cfg(unix)]
    if own_group {
        std::os::unix::process::CommandExt::process_group(cmd, 0);
    }
    let child = cmd.stdin(Stdio::null()).spawn()?;
    let pid = child.id();
    if let Ok(mut live) = LIVE.lock() {
        live.push((pid, own_group));
    }
    // A stop that came between the check above and the registration missed this child.
    if stopping() {
        signal(pid, own_group, Stop::Terminate);
    }
    Ok((child, Tracked { pid }))
}

/// Runs `cmd` as a tracked child and collects its output, as [`Command::output`] does; fails
/// with [`io::ErrorKind::Interrupted`] without starting it once the run is being stopped.
pub fn output(cmd: &mut Command) -> io::Result<Output> {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let (child, _tracked) = spawn(cmd)?;
    child.wait_with_output()
}

/// A child's place in the list of live children; removed on drop.
#[derive(Debug)]
pub struct Tracked {
    pid: u32,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if let Ok(mut live) = LIVE.lock()
            && let Some(at) = live.iter().position(|&(p, _)| p == self.pid)
        {
            live.swap_remove(at);
        }
    }
}

/// Stops the run: later spawns fail, and (Unix) `how` is sent to every live child (to its
/// process group, after [`forward_signals`]). Returns how many children were signalled. For a
/// signal-handling thread, not a signal handler itself (it takes a lock and allocates).
pub fn stop_all(how: Stop) -> usize {
    STOPPING.store(true, Ordering::SeqCst);
    let live = match LIVE.lock() {
        Ok(live) => live.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    live.iter()
        .filter(|&&(pid, group)| signal(pid, group, how))
        .count()
}

/// Sends `how` to `pid`, or to the process group it leads; whether it was delivered.
fn signal(pid: u32, group: bool, how: Stop) -> bool {
    #[cfg(unix)]
    {
        use rustix::process::{Pid, Signal, kill_process, kill_process_group};
        let sig = match how {
            Stop::Interrupt => Signal::INT,
            Stop::Terminate => Signal::TERM,
        };
        let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return false;
        };
        if group {
            kill_process_group(pid, sig).is_ok()
        } else {
            kill_process(pid, sig).is_ok()
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, group, how);
        false
    }
}
