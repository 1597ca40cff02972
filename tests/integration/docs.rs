//! The docs name what the code has: README's library paragraph lists exactly the modules
//! `src/lib.rs` exports, and ARCHITECTURE.md names every source file of every crate, so a new,
//! moved or removed module cannot leave the docs behind.

use std::path::Path;

use crate::root;

/// `pub use <crate> as <name>;` and `pub mod <name>;` in `src/lib.rs`.
fn exported_modules() -> Vec<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).unwrap();
    let mut names: Vec<String> = lib
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            if let Some(rest) = l.strip_prefix("pub use ") {
                return rest
                    .split(" as ")
                    .nth(1)
                    .map(|n| n.trim_end_matches(';').to_owned());
            }
            l.strip_prefix("pub mod ")
                .map(|n| n.trim_end_matches(';').to_owned())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn the_readme_names_the_modules_src_lib_exports() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme
        .find("As a library (`pegate` re-exports")
        .expect("README's library paragraph");
    let paragraph = &readme[start..];
    let paragraph = &paragraph[..paragraph.find("):").expect("the paragraph's end")];
    // The names are the code spans that are not crate names (`pegate-…`) or the facade itself.
    let mut named: Vec<String> = paragraph
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| !span.starts_with("pegate") && !span.contains('/'))
        .map(|span| span.trim_start_matches("pegate::").to_owned())
        .collect();
    named.extend(
        paragraph
            .split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|span| span.strip_prefix("pegate::"))
            .map(str::to_owned),
    );
    named.sort();
    named.dedup();
    assert_eq!(named, exported_modules(), "README.md's library paragraph");
}

/// The `.rs` files under `dir`, relative to it, with `/` separators.
fn sources(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.path().extension().is_some_and(|x| x == "rs"))
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap();
            rel.to_string_lossy().replace('\\', "/")
        })
        .collect()
}

/// The lines of ARCHITECTURE.md's section for the crate whose sources are in `dir` (the
/// section's header names it as `(`<dir>/`)`), up to the next section.
fn section<'a>(doc: &'a str, dir: &str) -> &'a str {
    let header = format!("(`{dir}/`):");
    let start = doc
        .find(&header)
        .unwrap_or_else(|| panic!("ARCHITECTURE.md has no section for {dir}"));
    let rest = &doc[start..];
    let end = rest[1..].find("\n- **").map_or(rest.len(), |e| e + 1);
    &rest[..end]
}

/// Every module file of every crate is named in its crate's section, with its path from the
/// crate's `src/`. A `tests.rs` holds its parent module's unit tests and is not a module of its
/// own.
#[test]
fn architecture_names_every_source_file() {
    let doc = std::fs::read_to_string(root().join("ARCHITECTURE.md")).unwrap();
    let mut dirs = vec!["src".to_owned(), "xtask/src".to_owned()];
    for krate in std::fs::read_dir(root().join("crates")).unwrap() {
        let krate = krate.unwrap().file_name().to_string_lossy().into_owned();
        if root().join("crates").join(&krate).join("src").is_dir() {
            dirs.push(format!("crates/{krate}/src"));
        }
    }
    let mut missing = Vec::new();
    for dir in &dirs {
        let section = section(&doc, dir);
        for file in sources(&root().join(dir)) {
            if !file.ends_with("tests.rs") && !section.contains(&format!("`{file}`")) {
                missing.push(format!("{dir}/{file}"));
            }
        }
    }
    missing.sort();
    assert_eq!(
        missing,
        Vec::<String>::new(),
        "source files ARCHITECTURE.md does not name"
    );
}
