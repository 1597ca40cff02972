//! Terminal details: colour decisions, quiet broken pipes, and untrusted text made safe to show.

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

/// A path as a person sees it: displayed, with controls and bidi overrides escaped (the names
/// come from the file system, which pegate did not write).
pub(crate) fn shown(path: &std::path::Path) -> String {
    pegate::facts::untrusted::escape(&path.display().to_string()).into_owned()
}

/// A message read from a file or a tool (a parse error, a compiler's output) escaped for one
/// line of a table or of stderr.
pub(crate) fn text(message: &str) -> std::borrow::Cow<'_, str> {
    pegate::facts::untrusted::escape(message)
}

/// Several lines of output from a tool (go's errors, a program's stdout), kept as lines.
pub(crate) fn lines(message: &str) -> std::borrow::Cow<'_, str> {
    pegate::facts::untrusted::escape_lines(message)
}

/// An error and its causes as one line, `outer: inner: cause`, each cause once: many errors'
/// messages already end with their source's text (`create directory d: File exists (os error
/// 17)`), which anyhow's `{:#}` would print a second time.
pub(crate) fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let part = cause.to_string();
        if text.ends_with(&part) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&part);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_is_said_once() {
        let io = std::io::Error::from_raw_os_error(17);
        let inner = pegate::go::Error::Io {
            action: "create directory",
            path: "afile".into(),
            source: io,
        };
        let e = anyhow::Error::new(inner).context("build fixtures/hello");
        let os = std::io::Error::from_raw_os_error(17).to_string();
        assert_eq!(
            error_text(&e),
            format!("build fixtures/hello: create directory afile: {os}")
        );
        // A context that does not repeat its cause keeps it.
        let e = anyhow::Error::new(std::io::Error::from_raw_os_error(17)).context("read x");
        assert_eq!(error_text(&e), format!("read x: {os}"));
    }
}
