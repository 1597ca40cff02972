//! Processes and directories as the signal tests see them (Unix): a directory's entries, the
//! processes marked by an argument, and a signal sent to a child whose exit is then checked.
//! Shared by this suite's `signals.rs` and xtask's `tests/signals.rs` (which includes this file
//! by path).

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// The names in `dir`, sorted (none when it does not exist).
pub(crate) fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The processes whose command line holds `mark`.
pub(crate) fn marked(mark: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(mark))
        })
        .collect()
}

/// Sends `kill -<signal>` to `pid`.
pub(crate) fn kill(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args([format!("-{signal}"), pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -{signal} {pid}");
}

/// Sends SIG`signal` to `child` and waits for it: it must exit with `code` (130 / 143) and say
/// `<program>: interrupted by SIG<signal>`. Returns its standard error.
#[track_caller]
pub(crate) fn interrupt(child: Child, signal: &str, program: &str, code: i32) -> String {
    kill(child.id(), signal);
    let result = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&result.stderr).into_owned();
    assert_eq!(result.status.code(), Some(code), "SIG{signal}: {stderr}");
    assert!(
        stderr.contains(&format!("{program}: interrupted by SIG{signal}")),
        "{stderr}"
    );
    stderr
}

/// Waits up to five seconds for the processes marked `mark` to be gone, then asserts that none
/// is left: a signalled child is gone within moments, not its sleep's minutes.
#[track_caller]
pub(crate) fn assert_stopped(mark: &str, what: &str) {
    let stopped = Instant::now();
    while !marked(mark).is_empty() && stopped.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(marked(mark), Vec::<u32>::new(), "{what}");
}
