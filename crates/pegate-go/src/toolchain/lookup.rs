//! The two lookups resolution and the doctor share, so that `pegate doctor` judges the toolchain
//! `pegate build` would pick: the project's `.go-version` and a program on a search path.

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use super::install::exe;

/// The nearest `.go-version` in `start` or its parents whose first line is not blank, and that
/// line trimmed (`1.27.3`, `go1.27.3`, `1.27`). A blank file is passed over, as if absent.
pub(crate) fn find_go_version_file(start: &Path) -> Option<(PathBuf, String)> {
    for dir in start.ancestors() {
        let file = dir.join(".go-version");
        if let Ok(text) = fs::read_to_string(&file) {
            let version = text.lines().next().unwrap_or_default().trim().to_owned();
            if !version.is_empty() {
                return Some((file, version));
            }
        }
    }
    None
}

/// The first `name` (with the platform's `.exe`) in the directories of `path` (`PATH` syntax)
/// that is a file this user may execute, as `which` finds it.
pub(crate) fn find_on_path(path: &OsStr, name: &str) -> Option<PathBuf> {
    // `which` resolves only relative program names against it; `go.exe` and the like are not.
    let cwd = std::env::current_dir().unwrap_or_default();
    which::which_in(exe(name), Some(path), cwd).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// (`.go-version` at the root, at root/a; the answer from root/a/b: directory below the
    /// root, version)
    type Case<'a> = (Option<&'a str>, Option<&'a str>, Option<(&'a str, &'a str)>);

    #[test]
    fn the_nearest_non_blank_go_version_file_wins() {
        let root = std::env::temp_dir().join(format!("pegate-lookup-{}", std::process::id()));
        let nested = root.join("a").join("b");
        fs::create_dir_all(&nested).unwrap();
        let cases: [Case<'_>; 4] = [
            (None, None, None),
            (Some("1.27.3\n"), None, Some(("", "1.27.3"))),
            (
                Some("1.27.3\n"),
                Some("  go1.23.9  \n1.22\n"),
                Some(("a", "go1.23.9")),
            ),
            // A blank first line is passed over.
            (Some("1.27\n"), Some("\n1.22\n"), Some(("", "1.27"))),
        ];
        for (outer, inner, want) in cases {
            for (dir, text) in [(root.clone(), outer), (root.join("a"), inner)] {
                let file = dir.join(".go-version");
                match text {
                    Some(text) => fs::write(&file, text).unwrap(),
                    None => {
                        let _ = fs::remove_file(&file);
                    }
                }
            }
            let got = find_go_version_file(&nested);
            let want = want.map(|(dir, v)| (root.join(dir).join(".go-version"), v.to_owned()));
            assert_eq!(got, want, "{outer:?} {inner:?}");
        }
        fs::remove_dir_all(&root).unwrap();
    }
}
