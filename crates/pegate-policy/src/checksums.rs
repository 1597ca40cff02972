//! The checksums file: `sha256sum` output or GoReleaser's `checksums.txt` (same format).

use std::collections::BTreeMap;

use crate::Error;

/// File name → lowercase SHA-256 hex, from a checksums file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChecksumList {
    /// Entries keyed by the name as written (a leading `*` binary marker or `./` removed).
    pub entries: BTreeMap<String, String>,
}

impl ChecksumList {
    /// The hash recorded for `path`: by its full path as written, else by its file name.
    pub fn lookup(&self, path: &str) -> Option<&str> {
        let normalized = path.trim_start_matches("./");
        if let Some(h) = self.entries.get(normalized) {
            return Some(h);
        }
        let name = normalized.rsplit(['/', '\\']).next().unwrap_or(normalized);
        self.entries.get(name).map(String::as_str)
    }
}

/// Parses `sha256sum` / `checksums.txt` text: `<64 hex>  <name>` or `<64 hex> *<name>` per line.
pub fn parse_checksums(text: &str) -> Result<ChecksumList, Error> {
    let mut entries = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || Error::ChecksumLine {
            line: i.saturating_add(1),
            text: line.chars().take(120).collect(),
        };
        let (hash, rest) = line.split_once(' ').ok_or_else(bad)?;
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let name = rest.trim_start_matches(' ').trim_start_matches('*');
        let name = name.trim_start_matches("./");
        if name.is_empty() {
            return Err(bad());
        }
        entries.insert(name.to_owned(), hash.to_ascii_lowercase());
    }
    Ok(ChecksumList { entries })
}
