//! Expanding the paths on the command line into the files to inspect.

use std::path::PathBuf;

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
                let walker = walkdir::WalkDir::new(path)
                    .follow_links(true)
                    .sort_by_file_name();
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

/// The path with the host's separators, so tables and JSON show `dist\a.exe` on Windows even when
/// the user typed `dist/` (walkdir joins onto the root as given). Unix paths are left as they are.
fn native(path: PathBuf) -> PathBuf {
    if cfg!(windows) {
        path.components().collect()
    } else {
        path
    }
}
