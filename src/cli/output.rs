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

/// Whether stdout gets colour, as anstream (clap's own choice) decides it: never when
/// `NO_COLOR` is set to anything non-empty, else only on a terminal (the `CLICOLOR`,
/// `CLICOLOR_FORCE` and `TERM=dumb` conventions included).
pub(crate) fn use_color() -> bool {
    anstream::AutoStream::choice(&io::stdout()) != anstream::ColorChoice::Never
}

/// Whether stderr is a terminal (progress output goes there only then).
pub(crate) fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}
