//! Running `go` and pip: captured output, readable command lines, the end of stderr.

use std::process::Command;

use crate::error::{Error, Result};

/// Runs a command, returning its stdout; a failure carries the end of its stderr.
pub(crate) fn run_captured(cmd: &mut Command) -> Result<String> {
    let program = cmd.get_program().to_string_lossy().into_owned();
    let output = crate::children::output(cmd).map_err(|source| Error::Spawn {
        program: program.clone(),
        source,
    })?;
    if !output.status.success() {
        return Err(Error::CommandFailed {
            command: command_line(cmd),
            status: output.status.to_string(),
            stderr: tail(&String::from_utf8_lossy(&output.stderr), 4000),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A command as one readable line (for messages only; pegate never runs it through a shell).
pub(super) fn command_line(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The last `max` bytes of `text` (on a char boundary), trimmed.
pub(crate) fn tail(text: &str, max: usize) -> String {
    let text = text.trim();
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start = start.saturating_add(1);
    }
    text.get(start..).unwrap_or(text).to_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("  abcdé\n", 2), "é");
        assert_eq!(tail("abc", 10), "abc");
    }
}
