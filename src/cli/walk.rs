//! Expanding the paths on the command line into the files to inspect.

use std::path::{Path, PathBuf};

/// A file to inspect, and whether the user named it (so a non-PE file is reported, not skipped).
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) path: PathBuf,
    pub(crate) explicit: bool,
}

/// A path that could not be walked (a symlink loop, an unreadable directory, a missing path).
#[derive(Debug, Clone)]
pub(crate) struct WalkError {
    pub(crate) path: PathBuf,
    pub(crate) message: String,
}

/// Files named directly, and every file below the named directories (symlinks followed, loops
/// reported), sorted within each directory so output order is stable.
pub(crate) fn expand(paths: &[PathBuf]) -> (Vec<Input>, Vec<WalkError>) {
    let mut inputs = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                // Unsorted: walkdir's own sort compares `file_name()`s, parsing both paths
                // backwards on every comparison (a sixth of a `--no-signature` run's main
                // thread over 10,000 files); the files are sorted once below instead.
                let walker = walkdir::WalkDir::new(path).follow_links(true);
                let first = inputs.len();
                for entry in walker {
                    match entry {
                        Ok(e) if e.file_type().is_file() => inputs.push(Input {
                            path: native(e.into_path()),
                            explicit: false,
                        }),
                        Ok(_) => {}
                        Err(e) => {
                            let at = e.path().map(PathBuf::from).unwrap_or_else(|| path.clone());
                            let message = if let Some(ancestor) = e.loop_ancestor() {
                                format!("symlink loop back to {}; skipped", ancestor.display())
                            } else {
                                e.io_error()
                                    .map(|io| io.to_string())
                                    .unwrap_or_else(|| e.to_string())
                            };
                            errors.push(WalkError { path: at, message });
                        }
                    }
                }
                if let Some(found) = inputs.get_mut(first..) {
                    found.sort_unstable_by(|a, b| walk_order(&a.path, &b.path));
                }
            }
            Ok(_) => inputs.push(Input {
                path: native(path.clone()),
                explicit: true,
            }),
            Err(e) => errors.push(WalkError {
                path: path.clone(),
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (inputs, errors)
}

/// The order of a sorted depth-first walk (each directory's entries by name, a directory's files
/// before its next sibling's), for paths below one root: byte order with a separator below
/// every other byte, so `a/x` comes before `a.exe` as `a` does. No name holds a separator or a
/// NUL, so this is the order of the paths' components.
fn walk_order(a: &Path, b: &Path) -> std::cmp::Ordering {
    let key = |&c: &u8| {
        if std::path::is_separator(char::from(c)) {
            0
        } else {
            c
        }
    };
    let (a, b) = (
        a.as_os_str().as_encoded_bytes(),
        b.as_os_str().as_encoded_bytes(),
    );
    // The common prefix, eight bytes at a time (paths below one root share a long one).
    let word = |c: &[u8]| c.try_into().map_or(0, u64::from_ne_bytes);
    let words = a
        .chunks_exact(8)
        .zip(b.chunks_exact(8))
        .take_while(|&(x, y)| word(x) == word(y))
        .count()
        .saturating_mul(8);
    let (rest_a, rest_b) = (
        a.get(words..).unwrap_or_default(),
        b.get(words..).unwrap_or_default(),
    );
    let same = words.saturating_add(
        rest_a
            .iter()
            .zip(rest_b)
            .take_while(|(x, y)| x == y)
            .count(),
    );
    match (a.get(same), b.get(same)) {
        (Some(x), Some(y)) => key(x).cmp(&key(y)),
        _ => a.len().cmp(&b.len()),
    }
}

/// The path with the host's separators, so tables and JSON show `dist\a.exe` on Windows even when
/// the user typed `dist/` (walkdir joins onto the root as given). Unix paths are left as they are.
fn native(path: PathBuf) -> PathBuf {
    if cfg!(windows) {
        path.components().collect()
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The files come out in the order walkdir's own sorted walk gives them, names that are
    /// prefixes of their siblings and of directories included. (No two names differ only in
    /// case: on Windows they would be one file.)
    #[test]
    fn files_come_in_the_order_of_a_sorted_walk() {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "a.exe",
            "a/x.exe",
            "a/y/z.dll",
            "a-b.exe",
            "a0",
            "b",
            "C",
            "a/y.exe",
            "ab/c",
            "é.exe",
            "a/y0/q",
            "z/a",
        ] {
            let p = dir.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"x").unwrap();
        }
        let root = dir.path().to_path_buf();
        let (inputs, errors) = expand(std::slice::from_ref(&root));
        assert!(errors.is_empty());
        let ours: Vec<PathBuf> = inputs.into_iter().map(|i| i.path).collect();
        let sorted: Vec<PathBuf> = walkdir::WalkDir::new(&root)
            .sort_by_file_name()
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| native(e.into_path()))
            .collect();
        assert_eq!(ours.len(), 12);
        assert_eq!(ours, sorted);
    }
}
