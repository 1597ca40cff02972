//! Terminal details: colour decisions and quiet broken pipes.

use std::io::{self, IsTerminal};

/// Whether an error chain ends in a closed stdout (`pegate inspect | head`): exit quietly then.
pub(crate) fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .map(io::Error::kind)
            .or_else(|| {
                c.downcast_ref::<serde_json::Error>()
                    .and_then(serde_json::Error::io_error_kind)
            })
            == Some(io::ErrorKind::BrokenPipe)
    })
}

/// Colour only on a terminal, and never when `NO_COLOR` is set to anything non-empty.
pub(crate) fn use_color() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    !no_color && io::stdout().is_terminal()
}

/// Whether stderr is a terminal (progress output goes there only then).
pub(crate) fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}
