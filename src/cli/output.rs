//! Terminal details: colour decisions, quiet broken pipes, and untrusted text made safe to show.

use std::io::{self, IsTerminal, Write};

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

/// Writes `text` to stdout. Unlike `print!`, a closed pipe (`pegate doctor | head`) is an error
/// the caller returns, which [`is_broken_pipe`] turns into a quiet exit, not a panic.
pub(crate) fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
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

/// Lines a command must have all of before it prints (column widths, totals before the rows):
/// kept in memory up to [`Spool::IN_MEMORY`] bytes, then moved to an anonymous temporary file
/// (removed by the system when pegate exits, however it exits), so memory stays flat with the
/// number of files. Read back in order as often as needed.
pub(crate) struct Spool {
    memory: Vec<u8>,
    file: Option<io::BufWriter<std::fs::File>>,
}

impl Spool {
    /// The bytes kept in memory before the spool moves to a temporary file.
    const IN_MEMORY: usize = 4 << 20;

    pub(crate) fn new() -> Spool {
        Spool {
            memory: Vec::new(),
            file: None,
        }
    }

    /// Appends `bytes` (whole lines, each ending in `\n`).
    pub(crate) fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use anyhow::Context as _;
        use io::Write as _;
        if self.file.is_none() && self.memory.len().saturating_add(bytes.len()) > Self::IN_MEMORY {
            let file = tempfile::tempfile().with_context(|| {
                format!(
                    "create a temporary file in {}",
                    std::env::temp_dir().display()
                )
            })?;
            let mut file = io::BufWriter::with_capacity(1 << 16, file);
            file.write_all(&self.memory)
                .context("write a temporary file")?;
            self.memory = Vec::new();
            self.file = Some(file);
        }
        match &mut self.file {
            Some(file) => file.write_all(bytes).context("write a temporary file"),
            None => {
                self.memory.extend_from_slice(bytes);
                Ok(())
            }
        }
    }

    /// Done writing: the lines, to be read back.
    pub(crate) fn finish(self) -> anyhow::Result<Spooled> {
        use anyhow::Context as _;
        Ok(match self.file {
            None => Spooled::Memory(self.memory),
            Some(file) => Spooled::File(
                file.into_inner()
                    .map_err(io::IntoInnerError::into_error)
                    .context("write a temporary file")?,
            ),
        })
    }
}

/// A finished [`Spool`].
pub(crate) enum Spooled {
    Memory(Vec<u8>),
    File(std::fs::File),
}

impl Spooled {
    /// Calls `each` with every line, in order, without its `\n`.
    pub(crate) fn each_line(&self, each: &mut dyn FnMut(&str) -> io::Result<()>) -> io::Result<()> {
        use io::{BufRead as _, Seek as _};
        match self {
            Spooled::Memory(bytes) => {
                let text = std::str::from_utf8(bytes).map_err(io::Error::other)?;
                text.lines().try_for_each(each)
            }
            Spooled::File(file) => {
                let mut f = file;
                f.seek(io::SeekFrom::Start(0))?;
                let mut reader = io::BufReader::with_capacity(1 << 16, f);
                let mut line = String::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line)? == 0 {
                        return Ok(());
                    }
                    each(line.strip_suffix('\n').unwrap_or(&line))?;
                }
            }
        }
    }
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

    /// Past its in-memory size the spool moves to a file and reads back the same lines, in
    /// order, as often as asked.
    #[test]
    fn a_spool_past_memory_reads_back_every_line() -> anyhow::Result<()> {
        let mut spool = Spool::new();
        let lines: Vec<String> = (0..200_000).map(|i| format!("line {i:>20}")).collect();
        for line in &lines {
            spool.write(format!("{line}\n").as_bytes())?;
        }
        let spooled = spool.finish()?;
        assert!(matches!(spooled, Spooled::File(_)));
        for _ in 0..2 {
            let mut read = Vec::new();
            spooled.each_line(&mut |l| {
                read.push(l.to_owned());
                Ok(())
            })?;
            assert_eq!(read, lines);
        }
        Ok(())
    }

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
