//! Output names for commands that write one file per input (`sbom --out`, `gate --sbom`):
//! unique for the inputs given, so no input's output overwrites another's.
//!
//! Without a pattern, an input is named by its file name (`hello.exe.cdx.json`) when no other
//! input has that name; same-named inputs from different folders are named by their path
//! relative to the folder the group shares, made safe (`a_gofmt.exe.cdx.json`,
//! `b_gofmt.exe.cdx.json`), and any name still shared gets a short digest of the input's path.
//! Names are compared without case, as Windows and macOS file systems compare them.
//!
//! With a user's pattern (`--name`), its placeholders are filled in and two inputs that get one
//! name are an error naming both: pegate never picks a different name than the user asked for.
//! The same file given twice is written once.

use std::collections::{HashMap, HashSet};
use std::path::{Component, Path, PathBuf};

/// Two inputs that a pattern gives one output name.
#[derive(Debug)]
pub(crate) struct Collision {
    pub(crate) name: String,
    pub(crate) first: PathBuf,
    pub(crate) second: PathBuf,
}

impl std::fmt::Display for Collision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "both {} and {} would be written to {}; use a pattern with {{path}} or {{digest}}",
            super::output::shown(&self.first),
            super::output::shown(&self.second),
            super::output::text(&self.name)
        )
    }
}

impl std::error::Error for Collision {}

/// One output name per input (`None` for a repeated input, already named), in input order.
pub(crate) fn assign(
    inputs: &[&Path],
    ext: &str,
    pattern: Option<&str>,
) -> Result<Vec<Option<String>>, Collision> {
    let abs: Vec<PathBuf> = inputs
        .iter()
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
        .collect();
    // The first occurrence of each path is named; a repeat gets `None`.
    let mut seen: HashSet<&Path> = HashSet::new();
    let first: Vec<bool> = abs.iter().map(|p| seen.insert(p.as_path())).collect();
    let unique = abs.iter().zip(&first).filter(|(_, f)| **f).map(|(p, _)| p);
    let common = common_folder(unique.map(PathBuf::as_path));
    let names: Vec<Option<String>> = match pattern {
        Some(pattern) => abs
            .iter()
            .zip(&first)
            .map(|(p, f)| f.then(|| fill(p, pattern, &common, ext)))
            .collect(),
        None => default_names(&abs, &first, &common, ext),
    };
    no_collision(inputs, &names)?;
    Ok(names)
}

/// `pattern` with its placeholders filled in for the input `p`: `{name}` and `{stem}` made
/// safe, `{path}` relative to `common`, `{digest}` of the path, and `{ext}`.
fn fill(p: &Path, pattern: &str, common: &Path, ext: &str) -> String {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = p
        .file_stem()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    pattern
        .replace("{name}", &safe(&name))
        .replace("{stem}", &safe(&stem))
        .replace("{path}", &relative(p, common))
        .replace("{digest}", &digest(p))
        .replace("{ext}", ext)
}

/// The names without a pattern, for the inputs `first` marks as first occurrences: the file
/// name where no other input has it, else the path relative to `common` made safe, and that
/// with a digest of the path where it is still shared. Names are counted without case.
fn default_names(abs: &[PathBuf], first: &[bool], common: &Path, ext: &str) -> Vec<Option<String>> {
    let plain = |p: &Path| fill(p, "{name}.{ext}", common, ext);
    let unique = abs.iter().zip(first).filter(|(_, f)| **f).map(|(p, _)| p);
    let counts = count(unique.map(|p| plain(p)));
    let named: Vec<Option<String>> = abs
        .iter()
        .zip(first)
        .map(|(p, f)| {
            f.then(|| {
                let n = plain(p);
                if counts.get(&n.to_lowercase()).copied().unwrap_or(0) > 1 {
                    fill(p, "{path}.{ext}", common, ext)
                } else {
                    n
                }
            })
        })
        .collect();
    // A path made safe can meet another input's own name (`a/b.exe` and `a_b.exe`).
    let counts = count(named.iter().flatten().cloned());
    abs.iter()
        .zip(named)
        .map(|(p, n)| {
            n.map(|n| {
                if counts.get(&n.to_lowercase()).copied().unwrap_or(0) > 1 {
                    fill(p, "{path}-{digest}.{ext}", common, ext)
                } else {
                    n
                }
            })
        })
        .collect()
}

/// Fails on the first name two inputs share (without case): a user's pattern is used as
/// given, never changed to make the names unique.
fn no_collision(inputs: &[&Path], names: &[Option<String>]) -> Result<(), Collision> {
    let mut owner: HashMap<String, &Path> = HashMap::new();
    for (input, name) in inputs.iter().zip(names) {
        let Some(name) = name else { continue };
        if let Some(first) = owner.insert(name.to_lowercase(), input) {
            return Err(Collision {
                name: name.clone(),
                first: first.to_path_buf(),
                second: input.to_path_buf(),
            });
        }
    }
    Ok(())
}

fn count(names: impl Iterator<Item = String>) -> HashMap<String, usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for n in names {
        let c = counts.entry(n.to_lowercase()).or_insert(0);
        *c = c.saturating_add(1);
    }
    counts
}

/// The deepest folder holding every path.
fn common_folder<'a>(paths: impl Iterator<Item = &'a Path>) -> PathBuf {
    let mut common: Option<PathBuf> = None;
    for p in paths {
        let parent = p.parent().unwrap_or(Path::new(""));
        common = Some(match common {
            None => parent.to_path_buf(),
            Some(c) => c
                .components()
                .zip(parent.components())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.unwrap_or_default()
}

/// `path` relative to `base`, its folders joined with `_`, made safe.
fn relative(path: &Path, base: &Path) -> String {
    let rel = path.strip_prefix(base).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(safe(&s.to_string_lossy())),
            _ => None,
        })
        .collect();
    parts.join("_")
}

/// A file name safe on every OS: no separators, no characters Windows forbids, no controls or
/// bidi overrides, no leading dot (a hidden file) and not empty.
fn safe(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if pegate::facts::untrusted::is_unsafe(c) || r#"/\:*?"<>|"#.contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.is_empty() {
        s.push('_');
    }
    s
}

/// 8 hex digits of FNV-1a over the absolute path: stable across runs, different per folder.
fn digest(path: &Path) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in path.to_string_lossy().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{:08x}", h >> 32)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    fn names(inputs: &[&str], pattern: Option<&str>) -> Result<Vec<Option<String>>, Collision> {
        let paths: Vec<&Path> = inputs.iter().map(Path::new).collect();
        assign(&paths, "cdx.json", pattern)
    }

    #[test]
    fn unique_file_names_stay_as_they_were() {
        let n = names(&["dist/a.exe", "other/b.exe"], None).unwrap();
        assert_eq!(
            n,
            [Some("a.exe.cdx.json".into()), Some("b.exe.cdx.json".into())]
        );
    }

    #[test]
    fn same_names_from_different_folders_get_their_relative_path() {
        let n = names(
            &[
                "go/bin/gofmt.exe",
                "go/pkg/tool/gofmt.exe",
                "go/bin/go.exe",
                "x/GOFMT.EXE",
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            n,
            [
                Some("go_bin_gofmt.exe.cdx.json".into()),
                Some("go_pkg_tool_gofmt.exe.cdx.json".into()),
                Some("go.exe.cdx.json".into()),
                Some("x_GOFMT.EXE.cdx.json".into()),
            ]
        );
    }

    #[test]
    fn a_safe_path_that_meets_a_real_name_gets_a_digest() {
        let n = names(
            &[
                "d/a/b.exe",
                "d/c/b.exe",
                "d/a_b.exe.cdx.json.exe",
                "d/a_b.exe",
            ],
            None,
        )
        .unwrap();
        let all: Vec<String> = n.into_iter().flatten().collect();
        let mut lower: Vec<String> = all.iter().map(|s| s.to_lowercase()).collect();
        lower.sort();
        lower.dedup();
        assert_eq!(lower.len(), 4, "{all:?}");
        assert!(
            all[0].starts_with("a_b.exe-") && all[0].ends_with(".cdx.json"),
            "{all:?}"
        );
    }

    #[test]
    fn a_repeated_input_is_written_once() {
        let n = names(&["d/a.exe", "d/./a.exe", "d/a.exe"], None).unwrap();
        assert_eq!(n, [Some("a.exe.cdx.json".into()), None, None]);
    }

    #[test]
    fn a_colliding_pattern_names_both_inputs() {
        let err = names(&["a/x.exe", "b/x.exe"], Some("{stem}.{ext}")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "both a/x.exe and b/x.exe would be written to x.cdx.json; use a pattern with {path} or {digest}"
        );
        let ok = names(&["a/x.exe", "b/x.exe"], Some("{stem}-{digest}.{ext}")).unwrap();
        assert_ne!(ok[0], ok[1]);
    }

    #[test]
    fn hostile_names_are_made_safe() {
        let n = names(&["d/.\u{1b}[2J|x.exe"], None).unwrap();
        assert_eq!(n, [Some("__[2J_x.exe.cdx.json".into())]);
    }
}
