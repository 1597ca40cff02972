//! Paths as a Windows user has them (these tests run on Linux and, cross-built, under Wine):
//! native separators in the table and JSON, forward slashes in GitHub annotations, paths longer
//! than Windows' old 260-character limit, and Chinese directory names.

use std::path::{MAIN_SEPARATOR, MAIN_SEPARATOR_STR, Path, PathBuf};

use super::{pegate, root, temp_file, transcript};

const FIXTURE: &str = "fixtures/pe/ok/tiny-amd64-console.exe";

/// Copies the fixture to `dir/relative` (creating the directories) and returns the new path.
#[track_caller]
fn place(dir: &Path, relative: &[&str]) -> PathBuf {
    let path: PathBuf = relative.iter().fold(dir.to_path_buf(), |p, c| p.join(c));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(root().join(FIXTURE), &path).unwrap();
    path
}

/// `pegate inspect --format jsonl` in `cwd`: the exit code and each line's `path` and `machine`.
#[track_caller]
fn inspect_jsonl(cwd: &Path, args: &[&str]) -> Vec<(String, String)> {
    let out = pegate()
        .current_dir(cwd)
        .args(["inspect", "--format", "jsonl", "--no-signature"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            (
                v["path"].as_str().unwrap().to_owned(),
                v["machine"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[test]
fn table_and_json_show_native_paths() {
    let dir = tempfile::tempdir().unwrap();
    place(dir.path(), &["dist", "sub", "a.exe"]);
    let native = ["dist", "sub", "a.exe"].join(MAIN_SEPARATOR_STR);
    // Typed with forward slashes, as scripts do on every OS.
    assert_eq!(
        inspect_jsonl(dir.path(), &["dist/"]),
        [(native.clone(), "AMD64".to_owned())]
    );
    let out = pegate()
        .current_dir(dir.path())
        .args(["inspect", "--no-signature", "dist/sub/a.exe"])
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains(&native), "{table}");
}

#[test]
fn paths_longer_than_260_characters_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let segment = "a-directory-name-of-fifty-characters-for-long-path";
    let mut parts = vec![segment; 6];
    parts.push("hello.exe");
    let file = place(dir.path(), &parts);
    assert!(file.as_os_str().len() > 300, "{}", file.display());
    let found = inspect_jsonl(dir.path(), &[segment]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].1, "AMD64");
    assert!(found[0].0.ends_with("hello.exe"), "{found:?}");
    // The file named directly by its absolute path, and (Windows) by its `\\?\` form.
    let mut named = vec![file.clone()];
    if cfg!(windows) {
        let mut verbatim = std::ffi::OsString::from(r"\\?\");
        verbatim.push(std::path::absolute(&file).unwrap());
        named.push(PathBuf::from(verbatim));
    }
    for path in named {
        let arg = path.to_str().unwrap();
        assert_eq!(
            inspect_jsonl(dir.path(), &[arg]),
            [(arg.to_owned(), "AMD64".to_owned())]
        );
        let summary = pegate::pe::inspect_path(&path, &Default::default()).unwrap();
        assert_eq!(summary.headers.machine.to_string(), "AMD64");
    }
}

#[test]
fn chinese_directory_names_are_read_and_printed() {
    let dir = tempfile::tempdir().unwrap();
    // A Windows user profile with a Chinese user name: C:\Users\张伟\go\bin.
    let file = place(dir.path(), &["Users", "张伟", "go", "bin", "你好.exe"]);
    let native = ["Users", "张伟", "go", "bin", "你好.exe"].join(MAIN_SEPARATOR_STR);
    assert_eq!(
        inspect_jsonl(dir.path(), &["Users"]),
        [(native, "AMD64".to_owned())]
    );
    let arg = file.to_str().unwrap();
    assert_eq!(
        inspect_jsonl(dir.path(), &[arg]),
        [(arg.to_owned(), "AMD64".to_owned())]
    );
}

#[test]
fn github_annotations_name_files_with_forward_slashes() {
    let dir = tempfile::tempdir().unwrap();
    place(dir.path(), &["dist", "用户", "a.exe"]);
    let (_policy_dir, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"\n",
    );
    // Named relative to the workspace, or absolutely (on Windows: a drive path) from inside it.
    for dist in [PathBuf::from("dist"), dir.path().join("dist")] {
        let out = pegate()
            .current_dir(dir.path())
            .args(["gate", "--format", "github", "--policy"])
            .arg(&policy)
            .arg(&dist)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("::error file=dist/用户/a.exe,title=pegate machine::"),
            "{}: {text}",
            dist.display()
        );
    }
}

/// `pegate inspect --format jsonl` over every fixture, paths written with `/`: one snapshot for
/// Linux and Windows, so the suite run under Wine shows that `pegate.exe` reports the same JSON.
#[test]
fn inspect_jsonl_of_the_fixtures_is_the_same_on_every_os() {
    let out = pegate()
        .args(["inspect", "--format", "jsonl", "fixtures"])
        .output()
        .unwrap();
    // fixtures/pe/err holds damaged PE files: reported with an error, exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
            let path = v["path"].as_str().unwrap().replace(MAIN_SEPARATOR, "/");
            v["path"] = path.into();
            serde_json::to_string(&v).unwrap()
        })
        .collect();
    insta::assert_snapshot!("inspect-jsonl-fixtures", lines.join("\n"));
}
