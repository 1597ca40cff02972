//! The import table end to end: `pegate inspect --imports` on the MinGW programs of
//! `fixtures/imports/` (see its README), and `pegate gate` with the default release policy,
//! whose `imports.system-only` fails a program linked dynamically against MinGW's runtime DLLs
//! and passes the same program linked statically.

use serde_json::Value;

use crate::{assert_valid, pegate, temp_file, transcript};

fn run(args: &[&str]) -> std::process::Output {
    pegate().args(args).output().unwrap()
}

#[test]
fn inspect_lists_imports_only_when_asked() {
    let out = run(&[
        "inspect",
        "--format",
        "json",
        "--imports",
        "fixtures/imports/cxx-dynamic.exe",
        "fixtures/imports/threads-static.exe",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("schema/inspect.schema.json", &doc);
    let names = |i: usize| -> Vec<String> {
        doc[i]["imports"]["dlls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(0),
        [
            "KERNEL32.dll",
            "msvcrt.dll",
            "libgcc_s_seh-1.dll",
            "libstdc++-6.dll"
        ]
    );
    assert_eq!(names(1), ["KERNEL32.dll", "msvcrt.dll"]);
    // pefile 2024.8.26 counts the same functions (checked by hand): 14 from libstdc++-6.dll.
    assert_eq!(doc[0]["imports"]["dlls"][3]["by_name"], 14);
    assert_eq!(doc[0]["imports"]["dlls"][3]["by_ordinal"], 0);
    assert_eq!(doc[0]["imports"]["dlls"][3]["delay"], false);
    assert_eq!(doc[0]["imports"]["errors"], serde_json::json!([]));

    // --full carries it too; without --imports no object has the key.
    let full = run(&[
        "inspect",
        "--format",
        "jsonl",
        "--full",
        "--imports",
        "fixtures/imports/cxx-dynamic.exe",
    ]);
    let line: Value = serde_json::from_slice(&full.stdout).unwrap();
    assert_valid("schema/inspect.schema.json", &line);
    assert_eq!(line["imports"]["dlls"][3]["name"], "libstdc++-6.dll");
    for args in [
        &[
            "inspect",
            "--format",
            "json",
            "fixtures/imports/cxx-dynamic.exe",
        ][..],
        &[
            "inspect",
            "--format",
            "jsonl",
            "--full",
            "fixtures/imports/cxx-dynamic.exe",
        ][..],
    ] {
        let out = run(args);
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("\"imports\""),
            "{args:?}"
        );
    }
}

#[test]
fn gate_without_a_policy_applies_the_default_release_policy() {
    // Dynamically linked MinGW runtime DLLs fail, naming the DLL, the file and the fix.
    for (file, dlls) in [
        (
            "fixtures/imports/threads-dynamic.exe",
            &["libwinpthread-1.dll"][..],
        ),
        (
            "fixtures/imports/cxx-dynamic.exe",
            &["libgcc_s_seh-1.dll", "libstdc++-6.dll"][..],
        ),
    ] {
        let out = run(&["gate", file]);
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(1), "{text}");
        for dll in dlls {
            assert!(
                text.contains(&format!(
                    "{file} imports {dll}, which is not part of Windows"
                )),
                "{text}"
            );
        }
        assert!(text.contains("-static"), "{text}");
    }
    let out = run(&["gate", "fixtures/imports/threads-dynamic.exe"]);
    insta::assert_snapshot!("gate-default-policy-dynamic", transcript(&out));
    // The same program linked statically passes.
    let out = run(&["gate", "-v", "fixtures/imports/threads-static.exe"]);
    insta::assert_snapshot!("gate-default-policy-static", transcript(&out));
    assert_eq!(out.status.code(), Some(0));

    // SARIF carries the rule id and its help.
    let out = run(&[
        "gate",
        "--format",
        "sarif",
        "fixtures/imports/threads-dynamic.exe",
    ]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "imports.system-only"
            && r["message"]["text"]
                .as_str()
                .unwrap()
                .contains("libwinpthread-1.dll")),
        "{results:#?}"
    );
}

#[test]
fn the_printed_default_policy_is_the_one_applied() {
    let out = run(&["gate", "--print-default-policy"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text, pegate::policy::DEFAULT_POLICY);
    let (_dir, policy) = temp_file("pegate.toml", &text);
    let files = [
        "fixtures/imports/threads-dynamic.exe",
        "fixtures/imports/threads-static.exe",
        "fixtures/pe/ok",
    ];
    let default = run(&[&["gate", "--format", "json"][..], &files[..]].concat());
    let written = pegate()
        .args(["gate", "--format", "json", "--policy"])
        .arg(&policy)
        .args(files)
        .output()
        .unwrap();
    assert_eq!(default.status.code(), written.status.code());
    assert_eq!(
        String::from_utf8_lossy(&default.stdout),
        String::from_utf8_lossy(&written.stdout)
    );
    // --explain shows it too.
    let explain = String::from_utf8(run(&["gate", "--explain"]).stdout).unwrap();
    assert!(explain.contains("imports.system-only"));
    for line in text.lines().filter(|l| !l.is_empty()) {
        assert!(explain.contains(line), "{line}");
    }
}
