//! Text that came from a file (a section name, a Go module path, a certificate subject, a file
//! name) made safe to show a person: every character a terminal, a log viewer or an editor would
//! act on instead of showing is written as a visible escape.
//!
//! Escaped: the C0 controls (U+0000–U+001F, ESC among them, which starts the terminal's
//! control sequences), DEL (U+007F), the C1 controls (U+0080–U+009F, CSI and OSC among them on
//! terminals that read 8-bit controls) and the bidirectional embeddings, overrides and isolates
//! (U+202A–U+202E, U+2066–U+2069), which reorder what is shown (the "Trojan Source" trick).
//! An ASCII control becomes `\x1b`, any other `\u{202e}`. Everything else, non-ASCII letters
//! included, is kept: a Chinese file name prints as itself.
//!
//! This is for human-readable output only (tables, GitHub annotations, the doctor's report,
//! error messages). The escape is not reversible (a file name that contains the four characters
//! `\x1b` prints the same as one that contains ESC); machine-readable formats (JSON, SARIF,
//! JUnit) keep the exact value, escaped as their own syntax requires.
//!
//! ```
//! use pegate_facts::untrusted;
//!
//! assert_eq!(untrusted::escape("\x1b[2J.text"), r"\x1b[2J.text");
//! assert_eq!(untrusted::escape("exe.\u{202e}txt"), r"exe.\u{202e}txt");
//! assert_eq!(untrusted::escape("a\nb"), r"a\x0ab");
//! assert_eq!(untrusted::escape_lines("go: a\n\tb\x1b"), "go: a\n\tb\\x1b");
//! assert!(matches!(untrusted::escape("plain.exe"), std::borrow::Cow::Borrowed(_)));
//! ```

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` is shown escaped: a C0 or C1 control, DEL, or a bidirectional override,
/// embedding or isolate.
pub fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every [`is_unsafe`] character escaped, for one line of a table or message
/// (a newline or tab is escaped too: it would break the row).
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_with(text, |_| false)
}

/// `text` with every [`is_unsafe`] character escaped except newline and tab, for output of
/// several lines that is shown as lines (a compiler's messages beneath a failed build).
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_with(text, |c| matches!(c, '\n' | '\t'))
}

fn escape_with(text: &str, keep: impl Fn(char) -> bool) -> Cow<'_, str> {
    let unsafe_char = |c: char| is_unsafe(c) && !keep(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().saturating_add(8));
    for c in text.chars() {
        if !unsafe_char(c) {
            out.push(c);
        } else if c.is_ascii() {
            let _ = write!(out, "\\x{:02x}", u32::from(c));
        } else {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn every_unsafe_character_is_escaped_and_nothing_else() {
        for u in 0..=0x10ffffu32 {
            let Some(c) = char::from_u32(u) else { continue };
            let s = c.to_string();
            let shown = escape(&s);
            let expected_unsafe = u < 0x20
                || (0x7f..=0x9f).contains(&u)
                || (0x202a..=0x202e).contains(&u)
                || (0x2066..=0x2069).contains(&u);
            assert_eq!(is_unsafe(c), expected_unsafe, "U+{u:04X}");
            if expected_unsafe {
                assert!(shown.starts_with('\\'), "U+{u:04X} shown as {shown:?}");
                assert!(!shown.chars().any(is_unsafe), "U+{u:04X}");
            } else {
                assert_eq!(shown, s, "U+{u:04X}");
            }
        }
    }

    #[test]
    fn the_issue_section_name() {
        let name = "\x1b[2J\x1b]0";
        assert_eq!(escape(name), r"\x1b[2J\x1b]0");
        assert_eq!(escape("\u{85}\u{9b}\u{7f}"), r"\u{85}\u{9b}\x7f");
        assert_eq!(escape_lines("a\r\nb"), "a\\x0d\nb");
    }
}
