//! Untrusted text stays text: a PE whose first section is named `ESC[2J ESC]0` (bytes
//! 1b 5b 32 4a 1b 5d 30; a terminal that prints them clears itself) and is writable and
//! executable, under a file name with a right-to-left override, gated and inspected in every
//! format. Human-readable output shows the escape, machine-readable output the exact bytes.

use std::path::{Path, PathBuf};

use crate::{pegate, root, temp_file};

const SECTION: &[u8; 7] = b"\x1b[2J\x1b]0";
const SHOWN: &str = r"\x1b[2J\x1b]0";

/// `tiny-amd64-console.exe` with its first section renamed to [`SECTION`] and marked
/// writable and executable, written to `dir/name`.
fn hostile_pe(dir: &Path, name: &str) -> PathBuf {
    let mut pe = std::fs::read(root().join("fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
    let lfanew = u32::from_le_bytes(pe[0x3c..0x40].try_into().unwrap()) as usize;
    let optional_size = u16::from_le_bytes(pe[lfanew + 20..lfanew + 22].try_into().unwrap());
    let section = lfanew + 24 + usize::from(optional_size);
    pe[section..section + 8].fill(0);
    pe[section..section + 7].copy_from_slice(SECTION);
    let flags = section + 36;
    let c = u32::from_le_bytes(pe[flags..flags + 4].try_into().unwrap()) | 0xa000_0000;
    pe[flags..flags + 4].copy_from_slice(&c.to_le_bytes());
    let path = dir.join(name);
    std::fs::write(&path, pe).unwrap();
    path
}

/// No ESC, other control (newline aside) or bidi override in `text`.
#[track_caller]
fn assert_safe(what: &str, text: &str) {
    let bad: Vec<_> = text
        .chars()
        .filter(|&c| c != '\n' && pegate::facts::untrusted::is_unsafe(c))
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {bad:?} reached the output:\n{text:?}"
    );
}

#[test]
fn section_names_and_file_names_are_escaped_for_people_exact_for_machines() {
    let dir = tempfile::tempdir().unwrap();
    // U+202E (right-to-left override): `evil<RLO>exe.txt` would show as `eviltxt.exe`.
    let artifact = hostile_pe(dir.path(), "evil\u{202e}exe.txt");
    let (_pdir, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*\"\nforbid_wx_sections = true\n",
    );
    let shown_name = r"evil\u{202e}exe.txt";

    for format in ["text", "github"] {
        let out = pegate()
            .args(["gate", "--format", format, "--policy"])
            .arg(&policy)
            .arg(&artifact)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert_safe(format, &stdout);
        assert!(
            stdout.contains(&format!("writable and executable sections: {SHOWN}")),
            "{format}: {stdout}"
        );
        assert!(stdout.contains(shown_name), "{format}: {stdout}");
    }
    for format in ["json", "sarif"] {
        let out = pegate()
            .args(["gate", "--format", format, "--policy"])
            .arg(&policy)
            .arg(&artifact)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = doc.to_string();
        // serde_json writes ESC as \u001b; the parsed value is the exact name.
        let exact = format!(
            "writable and executable sections: {}",
            std::str::from_utf8(SECTION).unwrap()
        );
        let messages: Vec<&str> = match format {
            "json" => doc["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["message"].as_str().unwrap())
                .collect(),
            _ => doc["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["message"]["text"].as_str().unwrap())
                .collect(),
        };
        assert!(messages.contains(&exact.as_str()), "{format}: {text}");
    }
    let out = pegate()
        .args(["gate", "--format", "junit", "--policy"])
        .arg(&policy)
        .arg(&artifact)
        .output()
        .unwrap();
    let xml = String::from_utf8(out.stdout).unwrap();
    // XML 1.0 cannot carry ESC at all, even as a reference: the visible escape; the RLO is kept.
    assert!(
        xml.contains(&format!("writable and executable sections: {SHOWN}")),
        "{xml}"
    );
    assert!(xml.contains("evil\u{202e}exe.txt"), "{xml}");

    let out = pegate().arg("inspect").arg(&artifact).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_safe("inspect table", &table);
    assert!(table.contains(shown_name), "{table}");
    let out = pegate()
        .args(["inspect", "--format", "json", "--full"])
        .arg(&artifact)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc[0]["sections"][0]["name"],
        std::str::from_utf8(SECTION).unwrap(),
        "{doc}"
    );
}

/// A file name with ESC in it (Unix only: Windows file names cannot hold control characters)
/// in the inspect table, a walk error and the error message of an unreadable file.
#[cfg(unix)]
#[test]
fn file_names_with_escape_sequences_are_escaped_in_tables_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let artifact = hostile_pe(dir.path(), "\x1b[31mred.exe");
    let broken = dir.path().join("\x1b]0;title\x07.exe");
    std::fs::write(&broken, b"MZ not a PE").unwrap();
    let out = pegate()
        .arg("inspect")
        .arg(&artifact)
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_safe("inspect stdout", &stdout);
    assert_safe("inspect stderr", &stderr);
    assert!(stdout.contains(r"\x1b[31mred.exe"), "{stdout}");
    assert!(stdout.contains(r"\x1b]0;title\x07.exe"), "{stdout}");

    let missing = dir.path().join("gone\x1b[2J.exe");
    let out = pegate().arg("inspect").arg(&missing).output().unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_safe("missing file", &stderr);
    assert!(stderr.contains(r"gone\x1b[2J.exe"), "{stderr}");
}
