//! Go version strings as `go` and `.go-version` files write them, read by
//! [`pegate_facts::GoVersion`].
//!
//! ```
//! use pegate_go::toolchain::{normalize_version, parse_version};
//! assert_eq!(parse_version("go1.24rc1"), Some((1, 24, 0)));
//! assert_eq!(normalize_version("1.27.3").unwrap(), "go1.27.3");
//! ```

use pegate_facts::GoVersion;

use crate::error::{Error, Result};

/// Parses `1.27.3`, `go1.27.3`, `1.23` (patch 0) or `go1.24rc1` (patch 0) into numbers: the
/// numbers of [`GoVersion`], the one parser of Go versions.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    text.parse::<GoVersion>().ok().map(|v| v.numbers())
}

/// `1.27.3` or `go1.27.3` → `go1.27.3`; anything else is [`Error::BadVersion`].
pub fn normalize_version(text: &str) -> Result<String> {
    let trimmed = text.trim();
    let bare = trimmed.strip_prefix("go").unwrap_or(trimmed);
    let valid = parse_version(bare).is_some()
        && bare.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        && bare.starts_with(|c: char| c.is_ascii_digit());
    if valid {
        Ok(format!("go{bare}"))
    } else {
        Err(Error::BadVersion {
            text: text.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::arithmetic_side_effects)]
    use super::*;

    #[test]
    fn versions_parse_and_normalize() {
        assert_eq!(parse_version("go1.27.3"), Some((1, 27, 3)));
        assert_eq!(parse_version("1.23"), Some((1, 23, 0)));
        assert_eq!(parse_version("go1.24rc1"), Some((1, 24, 0)));
        assert_eq!(parse_version("banana"), None);
        assert_eq!(normalize_version("1.27.3").unwrap(), "go1.27.3");
        assert_eq!(normalize_version(" go1.23.9\n").unwrap(), "go1.23.9");
        assert!(matches!(
            normalize_version("1.2x/../3"),
            Err(Error::BadVersion { .. })
        ));
        assert!(matches!(
            normalize_version(""),
            Err(Error::BadVersion { .. })
        ));
    }
}
