//! Tests of the report's serialised shape and of inspecting bytes in memory against the same
//! file on disk, over the fixtures.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use serde_json::Value;

use super::*;

/// A failed report and an inspected one serialise as one flat object with the same keys in
/// the same order; a failed one's inspection fields are null or empty.
#[test]
fn reports_serialise_as_one_flat_object() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/authenticode");
    let missing = inspect(&dir.join("no-such-file.exe"), &Options::default());
    assert_eq!(missing.failure().map(|f| f.kind), Some(FailureKind::Io));
    assert_eq!(
        serde_json::to_string(&missing).unwrap(),
        format!(
            r#"{{"path":{},"error":{},"failure":"io","pe":null,"sha256":null,"description":null,"signature":null,"go":null,"crosscheck":[]}}"#,
            serde_json::to_string(&missing.path).unwrap(),
            serde_json::to_string(missing.error().unwrap()).unwrap(),
        )
    );

    let signed = inspect(&dir.join("amd64-signed.exe"), &Options::default());
    assert!(signed.failure().is_none() && signed.error().is_none());
    let text = serde_json::to_string(&signed).unwrap();
    // Well-formed JSON, compact and pretty, whose `pe` is the whole summary.
    let value: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&serde_json::to_string_pretty(&signed).unwrap()).unwrap(),
        value
    );
    assert_eq!(value["pe"]["machine"], "AMD64");
    assert_eq!(
        value["pe"]["file_size"],
        signed.pe().unwrap().headers.file_size
    );
    let mut at = 0;
    for key in [
        "path",
        "error",
        "failure",
        "pe",
        "sha256",
        "description",
        "signature",
        "go",
        "crosscheck",
    ] {
        let pattern = format!("\"{key}\":");
        let found = text[at..].find(&pattern);
        assert!(found.is_some(), "{key} after byte {at} in {text}");
        at += found.unwrap_or_default() + pattern.len();
    }
    assert!(
        text.starts_with(r#"{"path":"#) && text.contains(r#""error":null,"failure":null,"pe":{"#)
    );
}

/// A file held in memory gives the report the file on disk gives, brief and full, with every
/// option the CLI sets: every fixture PE file, a non-PE file and a truncated one.
#[test]
fn bytes_inspect_as_the_file_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files: Vec<PathBuf> = ["pe/ok", "pe/err", "authenticode", "imports"]
        .iter()
        .flat_map(|d| std::fs::read_dir(root.join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(files.len() > 10, "{files:?}");
    let options = [
        Options::default(),
        Options::default().with_skip_section_names(true),
        Options::default().with_sha256(true),
        Options::default().with_sha256(true).with_checksum(true),
        Options::default()
            .with_skip_signature(true)
            .with_skip_go(true)
            .with_sha256(true),
        Options::default().with_imports(true),
    ];
    let mut compared = 0;
    for path in &files {
        let data = std::fs::read(path).unwrap();
        for opts in &options {
            let on_disk = inspect(path, opts);
            let in_memory = inspect_bytes(path, &data, opts);
            let (ours, theirs) = (
                serde_json::to_value(in_memory.record()).unwrap(),
                serde_json::to_value(on_disk.record()).unwrap(),
            );
            let differ: Vec<String> = ours
                .as_object()
                .unwrap()
                .iter()
                .filter(|(k, v)| theirs.get(k.as_str()) != Some(v))
                .map(|(k, v)| format!("{k}: {v} in memory, {} on disk", theirs[k.as_str()]))
                .collect();
            assert!(ours == theirs, "{} {opts:?}: {differ:#?}", path.display());
            assert_eq!(
                serde_json::to_value(in_memory.brief()).unwrap(),
                serde_json::to_value(on_disk.brief()).unwrap()
            );
            compared += 1;
        }
    }
    assert_eq!(compared, files.len() * options.len());
}
