//! The `pegate` binary over the PE fixtures: every subcommand, format and failure exit.

use super::{assert_valid, pegate, temp_file, transcript};

fn run(args: &[&str]) -> std::process::Output {
    pegate().args(args).output().unwrap()
}

#[test]
fn version_and_help() {
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("pegate {}\n", env!("CARGO_PKG_VERSION"))
    );
    insta::assert_snapshot!("help", transcript(&run(&["--help"])));
    insta::assert_snapshot!("gate-help", transcript(&run(&["gate", "--help"])));
    let out = run(&["inspekt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'inspekt'"));
}

#[test]
fn inspect_table() {
    insta::assert_snapshot!(
        "inspect-table",
        transcript(&run(&["inspect", "fixtures/pe/ok"]))
    );
}

#[test]
fn inspect_json_validates_against_the_schema() {
    let out = run(&["inspect", "--format", "json", "fixtures/pe"]);
    // The err/ directory holds damaged PE files: reported with an error, exit 1.
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("schema/inspect.schema.json", &doc);
    let all = doc.as_array().unwrap();
    let paths: Vec<&str> = all.iter().map(|a| a["path"].as_str().unwrap()).collect();
    // Walked files that are not PE at all are skipped quietly.
    for skipped in [
        "empty.bin",
        "text.txt",
        "mz-only.exe",
        "bad-pe-signature.exe",
        "lfanew-huge.exe",
    ] {
        assert!(
            !paths.iter().any(|p| p.ends_with(skipped)),
            "{skipped} listed"
        );
    }
    // ok/ and loader/ (files the loader reads differently from the spec) summarise.
    let ok: usize = ["fixtures/pe/ok", "fixtures/pe/loader"]
        .iter()
        .map(|d| std::fs::read_dir(super::root().join(d)).unwrap().count())
        .sum();
    assert_eq!(all.iter().filter(|a| a["error"].is_null()).count(), ok);
    let arm64 = all
        .iter()
        .find(|a| a["path"].as_str().unwrap().ends_with("tiny-arm64-gui.exe"))
        .unwrap();
    assert_eq!(arm64["format"], "PE32+");
    assert_eq!(arm64["machine"], "ARM64");
    assert_eq!(arm64["subsystem"], "WINDOWS_GUI");
    assert_eq!(arm64["hybrid"], serde_json::Value::Null);
    let ec = all
        .iter()
        .find(|a| a["path"].as_str().unwrap().ends_with("tiny-arm64ec.dll"))
        .unwrap();
    assert_eq!(ec["hybrid"], "ARM64EC");
}

/// `schema/inspect.schema.json` is what `cargo xtask schema` generates from the types pegate
/// serialises: a change to them that is not republished fails here.
#[test]
fn the_published_schema_is_generated_from_the_types() {
    let mut want = serde_json::to_string_pretty(&pegate::artifact::schema()).unwrap();
    want.push('\n');
    let have = std::fs::read_to_string(super::root().join("schema/inspect.schema.json")).unwrap();
    assert!(
        have.replace("\r\n", "\n") == want,
        "schema/inspect.schema.json is stale: run `cargo xtask schema`"
    );
}

/// Every object `--full` writes for signed, damaged, nested and trusted signatures validates,
/// with the whole signature report; and the schema is not vacuous: each thing pegate never
/// writes (an unknown key, a lowercase machine, a missing required key, a number where a flag
/// set belongs, a short hash) is refused.
#[test]
fn the_schema_holds_every_signature_report_and_refuses_what_pegate_never_writes() {
    let out = run(&[
        "inspect",
        "--format",
        "jsonl",
        "--full",
        "--trust",
        "fixtures/authenticode/ca.pem",
        "fixtures/authenticode",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut statuses = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_valid("schema/inspect.schema.json", &v);
        statuses.insert(v["signature"]["status"].as_str().unwrap_or("-").to_owned());
    }
    for status in [
        "unsigned",
        "signed-valid",
        "signed-untrusted",
        "signed-invalid",
    ] {
        assert!(
            statuses.contains(status),
            "{status} not covered: {statuses:?}"
        );
    }

    let out = run(&[
        "inspect",
        "--format",
        "jsonl",
        "fixtures/authenticode/amd64-signed.exe",
    ]);
    let brief: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_valid("schema/inspect.schema.json", &brief);
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(super::root().join("schema/inspect.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    type Change = fn(&mut serde_json::Value);
    let changes: [(&str, Change); 6] = [
        ("an unknown key", |v| v["colour"] = "red".into()),
        ("a lowercase machine", |v| v["machine"] = "amd64".into()),
        ("no checksum key", |v| {
            v.as_object_mut().unwrap().remove("checksum");
        }),
        ("a number as the flag set", |v| {
            v["dll_characteristics"] = 0x8160.into()
        }),
        ("a short file hash", |v| v["sha256"] = "abc".into()),
        ("an unknown signature status", |v| {
            v["signature"]["status"] = "signed".into()
        }),
    ];
    for (what, change) in changes {
        let mut bad = brief.clone();
        change(&mut bad);
        assert!(
            !validator.is_valid(&bad),
            "the schema accepts {what}: {bad}"
        );
    }
}

#[test]
fn inspect_jsonl_streams_one_valid_object_per_line() {
    let out = run(&["inspect", "--format", "jsonl", "fixtures/pe/ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let ok = std::fs::read_dir(super::root().join("fixtures/pe/ok"))
        .unwrap()
        .count();
    assert_eq!(text.lines().count(), ok);
    for line in text.lines() {
        assert_valid(
            "schema/inspect.schema.json",
            &serde_json::from_str(line).unwrap(),
        );
    }
    // --full: the same files, each with every field; the summary's keys have the same values.
    let out = run(&["inspect", "--format", "jsonl", "--full", "fixtures/pe/ok"]);
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let full = String::from_utf8(out.stdout).unwrap();
    assert_eq!(full.lines().count(), ok);
    for (brief, full) in text.lines().zip(full.lines()) {
        let brief: serde_json::Value = serde_json::from_str(brief).unwrap();
        let full: serde_json::Value = serde_json::from_str(full).unwrap();
        assert_valid("schema/inspect.schema.json", &full);
        assert!(brief.get("sections").is_none(), "{brief}");
        assert!(full["sections"].is_array(), "{full}");
        for key in [
            "path",
            "error",
            "format",
            "machine",
            "hybrid",
            "subsystem",
            "characteristics",
            "dll_characteristics",
            "security_directory",
            "checksum",
            "sha256",
            "crosscheck",
            "description",
            "file_size",
        ] {
            assert_eq!(brief[key], full[key], "{key} of {}", brief["path"]);
        }
    }
}

#[test]
fn inspect_reports_named_non_pe_and_missing_files() {
    let out = run(&[
        "inspect",
        "fixtures/pe/err/text.txt",
        "fixtures/pe/ok/tiny-386-console.exe",
        "no/such/file.exe",
    ]);
    insta::assert_snapshot!("inspect-bad-inputs", transcript(&out));
    assert_eq!(out.status.code(), Some(1));
    let out = run(&["inspect", "no/such/file.exe"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "nothing readable: could not evaluate"
    );
}

#[cfg(unix)]
/// A directory of 10,000 files none of which is PE: skipped quietly, one line saying so, exit 0.
#[test]
fn inspect_skips_a_directory_of_ten_thousand_non_pe_files() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..10_000 {
        std::fs::write(
            dir.path().join(format!("n{i:05}.txt")),
            b"plain text, not a PE\n",
        )
        .unwrap();
    }
    let out = run(&["inspect", "--format", "jsonl", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pegate: no PE files found (10000 files skipped: not PE)\n"
    );
}

#[test]
fn inspect_survives_a_symlink_loop_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        super::root().join("fixtures/pe/ok/tiny-amd64-console.exe"),
        dir.path().join("a.exe"),
    )
    .unwrap();
    #[cfg(unix)]
    let linked = std::os::unix::fs::symlink(dir.path(), dir.path().join("loop"));
    #[cfg(windows)]
    let linked = std::os::windows::fs::symlink_dir(dir.path(), dir.path().join("loop"));
    match linked {
        Ok(()) if super::under_wine() => {
            // walkdir's loop check compares file ids, which Wine does not give symlinked dirs.
            eprintln!("skipped under Wine: it reports no file ids, so loops cannot be detected");
            return;
        }
        Ok(()) => {}
        Err(e) if cfg!(windows) => {
            eprintln!("skipped: Windows allows symlinks only with Developer Mode or admin ({e})");
            return;
        }
        Err(e) => panic!("symlink: {e}"),
    }
    let out = pegate()
        .args(["inspect", "--format", "jsonl"])
        .arg(dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("symlink loop"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn broken_pipe_exits_quietly() {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_pegate"))
        .current_dir(super::root())
        .args([
            "inspect",
            "--format",
            "jsonl",
            "fixtures/pe/ok",
            "fixtures/pe/ok",
            "fixtures/pe/ok",
            "fixtures/pe/ok",
        ])
        .args(std::iter::repeat_n("fixtures/pe/ok", 200))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
}

/// Commands that print one finished text (`doctor --list`, `gate --explain`,
/// `gate --print-default-policy`) into a pipe whose reader is already gone: a quiet exit 0, not a
/// panic from `print!` (seen as `pegate doctor | head` panicking under Wine).
#[test]
fn a_closed_pipe_is_a_quiet_exit_for_every_printed_text() {
    for args in [
        &["doctor", "--list"][..],
        &["gate", "--explain"],
        &["gate", "--print-default-policy"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_pegate"))
            .current_dir(super::root())
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "pegate {args:?}");
        assert_eq!(out.status.code(), Some(0), "pegate {args:?}");
    }
}

const POLICY: &str = r#"
[[artifact]]
glob = "*amd64*"
machine = "AMD64"
dll_characteristics = { require = ["DYNAMIC_BASE", "NX_COMPAT"], forbid = ["GUARD_CF"] }

[[artifact]]
glob = "tiny-arm64-gui.exe"
machine = "AMD64"
subsystem = "WINDOWS_CUI"
"#;

#[test]
fn gate_every_format() {
    let (_dir, policy) = temp_file("pegate.toml", POLICY);
    let files = [
        "fixtures/pe/ok/tiny-amd64-console.exe",
        "fixtures/pe/ok/tiny-amd64-cfg.exe",
        "fixtures/pe/ok/tiny-arm64-gui.exe",
    ];
    for format in ["text", "json", "junit", "sarif", "github"] {
        let out = pegate()
            .args(["gate", "--policy"])
            .arg(&policy)
            .args(["--format", format])
            .args(files)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}: {}", transcript(&out));
        insta::assert_snapshot!(format!("gate-{format}"), transcript(&out));
    }
    let out = pegate()
        .args(["gate", "-v", "--policy"])
        .arg(&policy)
        .args(files)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    insta::assert_snapshot!("gate-text-verbose", transcript(&out));
}

#[test]
fn gate_passes_and_writes_the_github_summary() {
    let (dir, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*.exe\"\nmachine = \"I386\"\n",
    );
    let summary = dir.path().join("summary.md");
    let out = pegate()
        .args(["gate", "--format", "github", "--policy"])
        .arg(&policy)
        .arg("fixtures/pe/ok/tiny-386-console.exe")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("**✅ passed**: 2 passed, 0 failed"), "{md}");
}

#[test]
fn gate_bad_policies_exit_2_with_a_precise_message() {
    let cases = [
        (
            "unknown-key",
            "[[artifact]]\nglob = \"*\"\nmachin = \"AMD64\"\n",
        ),
        ("bad-glob", "[[artifact]]\nglob = \"[x\"\n"),
        (
            "bad-range",
            "[[artifact]]\nglob = \"*\"\ngo_version = \"~>1.2\"\n",
        ),
        ("not-toml", "this is = = not toml"),
    ];
    for (name, text) in cases {
        let (_dir, policy) = temp_file("pegate.toml", text);
        let out = pegate()
            .args(["gate", "--policy"])
            .arg(&policy)
            .arg("fixtures/pe/ok")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{name}");
        let stderr =
            String::from_utf8_lossy(&out.stderr).replace(&policy.display().to_string(), "[POLICY]");
        insta::assert_snapshot!(format!("gate-bad-policy-{name}"), stderr);
    }
    let out = run(&["gate", "--policy", "no/such/policy.toml", "fixtures/pe/ok"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("read the policy no/such/policy.toml"));
}

#[test]
fn gate_unreadable_artifact_exits_2_but_reports_the_rest() {
    let (_dir, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*.exe\"\nmachine = \"I386\"\n",
    );
    let out = pegate()
        .args(["gate", "--format", "json", "--policy"])
        .arg(&policy)
        .args(["fixtures/pe/ok/tiny-386-console.exe", "vanished.exe"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["summary"]["pass"], 2,
        "the readable artifact is still judged"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("vanished.exe: cannot read"));
}

#[test]
fn gate_explain_lists_every_rule() {
    insta::assert_snapshot!("gate-explain", transcript(&run(&["gate", "--explain"])));
}

/// The pinned Go that pegate provisions (shared with the other tests).
fn provisioned_go() -> std::path::PathBuf {
    let cache = super::root().join("target").join("pegate-go");
    pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .unwrap()
        .go
}

/// The ids of the doctor checks that run on this OS, from the catalogue.
fn catalogue_here() -> Vec<&'static str> {
    use pegate::go::doctor::{CATALOG, Platform};
    CATALOG
        .iter()
        .filter(|c| match c.platform {
            Platform::All => true,
            Platform::WindowsOnly => cfg!(windows),
            Platform::NotWindows => !cfg!(windows),
            other => panic!("{}: a platform this test does not know: {other:?}", c.id),
        })
        .map(|c| c.id)
        .collect()
}

#[test]
fn doctor_passes_on_the_provisioned_toolchain() {
    let go = provisioned_go();
    let goroot_bin = go.parent().unwrap().to_path_buf();
    let home = tempfile::tempdir().unwrap();
    let gopath = home.path().join("go");
    let path = std::env::join_paths([
        goroot_bin,
        gopath.join("bin"),
        "/usr/bin".into(),
        "/bin".into(),
    ])
    .unwrap();
    let out = pegate()
        .args(["doctor", "--format", "json", "--project"])
        .arg(home.path())
        .arg("--go")
        .arg(&go)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", home.path())
        .env("GOPATH", &gopath)
        .env("GOTOOLCHAIN", "local")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let checks: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    // Every check of the catalogue that runs on this OS, in catalogue order.
    let ids: Vec<&str> = checks.iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(ids, catalogue_here());
    for c in &checks {
        assert_eq!(c["status"], "pass", "{c}");
    }
}

#[test]
fn doctor_names_each_problem_of_a_broken_environment_and_exits_1() {
    let go = provisioned_go();
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join(".go-version"), "1.22.10\n").unwrap();
    let out = pegate()
        .args(["doctor", "--project"])
        .arg(home.path())
        .arg("--go")
        .arg(&go)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "https://goproxy.example")
        .env("GOSUMDB", "off")
        .env("CGO_ENABLED", "1")
        .env("SSL_CERT_FILE", "/no/such/ca.pem")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    // SSL_CERT_FILE is the CA bundle Go reads off Windows; on Windows Go verifies with the ROOT
    // store and ignores it, and there the PATH without any go.exe is what `path.order` reports.
    let per_os = if cfg!(windows) {
        ("warn", "path.order")
    } else {
        ("FAIL", "certs.system-roots")
    };
    for (status, id) in [
        ("FAIL", "go-version.file"),
        ("warn", "goproxy.fallback"),
        ("FAIL", "gosumdb.enabled"),
        ("FAIL", "cgo.cross-compiler"),
        per_os,
        ("warn", "path.go-bins"),
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(status) && l.contains(id)),
            "{status} {id} missing in:\n{text}"
        );
    }
    assert!(text.contains("fix: "), "{text}");
}

#[test]
fn gate_requires_a_trusted_signature() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        super::root().join("fixtures/authenticode/ca.pem"),
        dir.path().join("ca.pem"),
    )
    .unwrap();
    let policy = dir.path().join("pegate.toml");
    std::fs::write(
        &policy,
        "trust = \"ca.pem\"\n[[artifact]]\nglob = \"*.exe\"\nsignature = \"required\"\nsigner_subject = \"O=pegate\"\n",
    )
    .unwrap();
    let gate = |file: &str| {
        pegate()
            .args(["gate", "--format", "json", "--policy"])
            .arg(&policy)
            .arg(format!("fixtures/authenticode/{file}"))
            .output()
            .unwrap()
    };
    let out = gate("arm64-signed.exe");
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    for (file, why) in [
        ("arm64-unsigned.exe", "not signed"),
        ("amd64-tampered.exe", "digest does not match"),
        (
            "amd64-selfsigned.exe",
            "does not reach the policy's trust bundle",
        ),
        ("amd64-garbage-pkcs7.exe", "cannot be parsed"),
    ] {
        let out = gate(file);
        assert_eq!(out.status.code(), Some(1), "{file}: {}", transcript(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains(why),
            "{file}: {}",
            transcript(&out)
        );
    }
}

/// By default `inspect` computes only what its verdicts need: a signed file is read in full for
/// its signature (which gives its checksum too), an unsigned one not at all; `--sha256` and
/// `--checksum` fill the whole-file values of every file, and nothing else changes.
#[test]
fn inspect_computes_whole_file_values_only_when_asked() {
    use sha2::Digest as _;
    let files = [
        "fixtures/authenticode/amd64-signed.exe",
        "fixtures/authenticode/amd64-unsigned.exe",
    ];
    let lines = |extra: &[&str]| -> Vec<serde_json::Value> {
        let out = pegate()
            .args(["inspect", "--format", "jsonl"])
            .args(extra)
            .args(files)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let v = serde_json::from_str(l).unwrap();
                assert_valid("schema/inspect.schema.json", &v);
                v
            })
            .collect()
    };
    let facts = |v: &serde_json::Value| {
        (
            v["sha256"].clone(),
            v["checksum"]["computed"].clone(),
            v["signature"]["file_sha256"].clone(),
            v["signature"]["checksum"].clone(),
        )
    };
    let null = serde_json::Value::Null;
    let truth: Vec<(serde_json::Value, serde_json::Value)> = files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(super::root().join(f)).unwrap();
            let view = pegate::pe::PeView::parse(&bytes).unwrap();
            (
                sha2::Sha256::digest(&bytes)
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
                    .into(),
                pegate::pe::pe_checksum(&bytes, view.checksum_field_offset()).into(),
            )
        })
        .collect();
    let default = lines(&[]);
    let sum = &truth[0].1;
    assert_eq!(
        facts(&default[0]),
        (null.clone(), sum.clone(), null.clone(), sum.clone()),
        "signed, by default"
    );
    assert_eq!(
        facts(&default[1]),
        (null.clone(), null.clone(), null.clone(), null.clone()),
        "unsigned, by default"
    );
    let all = lines(&["--sha256", "--checksum"]);
    for ((got, (sha, sum)), f) in all.iter().zip(&truth).zip(files) {
        assert_eq!(
            facts(got),
            (sha.clone(), sum.clone(), sha.clone(), sum.clone()),
            "{f} with --sha256 --checksum"
        );
    }
    let headers_only = lines(&["--no-signature", "--sha256", "--checksum"]);
    for ((got, (sha, sum)), f) in headers_only.iter().zip(&truth).zip(files) {
        assert_eq!(got["signature"], null, "{f}");
        assert_eq!(got["sha256"], *sha, "{f} with --no-signature --sha256");
        assert_eq!(
            got["checksum"]["computed"], *sum,
            "{f} with --no-signature --checksum"
        );
    }
    // The summary names the signer and the Go target; --full has the whole reports.
    assert_eq!(
        default[0]["signature"]["signers"].as_array().unwrap().len(),
        1
    );
    assert_eq!(default[1]["signature"]["signers"], serde_json::json!([]));
    for d in &default {
        assert_eq!(d["go"]["goos"], "windows", "{d}");
        assert_eq!(d["go"]["goarch"], "amd64", "{d}");
        assert!(
            d["go"]["go_version"].as_str().unwrap().starts_with("go1."),
            "{d}"
        );
    }
    let full = lines(&["--full"]);
    let signer = &full[0]["signature"]["signatures"][0]["signer_chain"][0]["subject"];
    assert_eq!(default[0]["signature"]["signers"][0], *signer);
    assert!(full[0]["go"]["settings"].is_array());
    // The verdicts themselves do not depend on the extra values.
    for (d, a) in default.iter().zip(&all) {
        assert_eq!(d["signature"]["status"], a["signature"]["status"]);
    }
}
