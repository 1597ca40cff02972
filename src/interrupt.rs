//! Ctrl-C (SIGINT) and SIGTERM for a program built on pegate (the `pegate` CLI, `cargo xtask
//! verify`): stop the children, remove temporary files, exit 130 / 143.
//!
//! A thread waits for the signals (Unix). On the first one it stops every child pegate-go
//! started (`go`, the C compiler under it, Wine, pip) and refuses new ones. A program that can
//! finish cleanly ([`Mode::Finish`]: a matrix build, whose cells then fail fast, remove their
//! staging directories and leave the finished artifacts with a matching `checksums.txt`) returns
//! on its own and asks [`interrupted`] for its exit code; if it has not within [`GRACE`], or in
//! [`Mode::Exit`], the thread removes the temporary files of the writes in flight (the products
//! keep their old content) and exits at once. A second signal exits at once too.
//!
//! On Windows a console's Ctrl-C reaches the program and its children alike and ends them; no
//! handler is installed there, and the temporary entries a run leaves are removed by a later
//! run ([`crate::fs::remove_stale`]).
//!
//! ```no_run
//! use pegate::interrupt::{self, Mode};
//!
//! interrupt::install("mytool", Mode::Finish);
//! // ... build a matrix with pegate::go::matrix::build ...
//! if let Some(code) = interrupt::interrupted() {
//!     std::process::exit(i32::from(code)); // 130 after Ctrl-C, 143 after SIGTERM
//! }
//! ```

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, Ordering};
#[cfg(unix)]
use std::time::Duration;

/// How long a finishing command may take after the signal before pegate exits anyway.
#[cfg(unix)]
const GRACE: Duration = Duration::from_secs(10);

/// The signal received (0: none).
static RECEIVED: AtomicI32 = AtomicI32::new(0);
/// The program name the messages start with.
static PROGRAM: OnceLock<&'static str> = OnceLock::new();

/// What a signal does to the running program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// The program notices (its children fail) and returns; `main` exits with the code
    /// [`interrupted`] gives.
    Finish,
    /// Exit as soon as the temporary files are removed.
    Exit,
}

/// The exit code for a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM).
pub fn exit_code(signal: i32) -> u8 {
    u8::try_from(signal.saturating_add(128)).unwrap_or(u8::MAX)
}

/// The signal received so far, if any.
pub fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// The signal's name, for the message.
pub fn name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// Installs the handler for the rest of the process (Unix; nothing elsewhere); `program`
/// starts the messages (`<program>: interrupted by SIGINT`). Call it once, early in `main`.
pub fn install(program: &'static str, mode: Mode) {
    let _ = PROGRAM.set(program);
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
            return;
        };
        crate::go::children::forward_signals();
        std::thread::spawn(move || {
            for signal in signals.forever() {
                if RECEIVED.swap(signal, Ordering::SeqCst) != 0 {
                    exit_now(signal);
                }
                let how = if signal == SIGINT {
                    crate::go::children::Stop::Interrupt
                } else {
                    crate::go::children::Stop::Terminate
                };
                crate::go::children::stop_all(how);
                match mode {
                    Mode::Exit => exit_now(signal),
                    Mode::Finish => {
                        std::thread::spawn(move || {
                            std::thread::sleep(GRACE);
                            exit_now(signal);
                        });
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = mode;
}

/// Removes the temporary files of the writes in flight and exits with the signal's code.
#[cfg(unix)]
fn exit_now(signal: i32) -> ! {
    let removed = crate::fs::remove_in_flight();
    let what = match removed {
        0 => String::new(),
        1 => "; removed 1 unfinished temporary file".to_owned(),
        n => format!("; removed {n} unfinished temporary files"),
    };
    eprintln!("{}: interrupted by {}{what}", program(), name(signal));
    std::process::exit(i32::from(exit_code(signal)));
}

/// After a signal: says so on stderr (`<program>: interrupted by SIGINT`, with the name given
/// to [`install`]) and returns the exit code (130 / 143). What failed after the signal failed
/// because of it, so a caller reports this instead of its children's errors. `None` when no
/// signal came.
pub fn interrupted() -> Option<u8> {
    let signal = received()?;
    eprintln!("{}: interrupted by {}", program(), name(signal));
    Some(exit_code(signal))
}

fn program() -> &'static str {
    PROGRAM.get().copied().unwrap_or("pegate")
}
