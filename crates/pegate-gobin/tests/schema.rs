//! The JSON Schemas of [`BuildInfo`] and [`Finding`] describe exactly what their `Serialize`
//! writes: the build info of every Go fixture and its cross-check findings (pass, fail and not
//! applicable) validate, and a key too many or too few, or a wrong type, is rejected.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

use std::path::{Path, PathBuf};

use pegate_gobin::buildinfo::{self, BuildInfo, Module, Setting};
use pegate_gobin::crosscheck::{self, Finding};
use schemars::JsonSchema;
use serde_json::{Value, json};

#[path = "../../pegate-facts/tests/support/schema_check.rs"]
mod schema_check;
use schema_check::{assert_valid, validator};

/// The Go binaries among the fixtures (the Authenticode ones are Go-built, for three machines).
fn go_binaries() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/authenticode");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "exe"))
        .collect();
    v.sort();
    v
}

fn module(path: &str, replace: Option<Module>) -> Module {
    Module {
        path: path.into(),
        version: "v1.2.3".into(),
        sum: "h1:abc=".into(),
        replace: replace.map(Box::new),
    }
}

/// Each real build info, and variants of it that make every cross-check fail or not apply,
/// with dependencies replaced twice over (the schema is recursive there).
fn infos() -> Vec<(PathBuf, BuildInfo)> {
    let mut out = Vec::new();
    for path in go_binaries() {
        let Some(info) = buildinfo::read_path(&path).unwrap() else {
            continue;
        };
        let mut odd = info.clone();
        odd.main = None;
        odd.build_id = None;
        odd.deps = vec![
            module("example.com/a", None),
            module(
                "example.com/b",
                Some(module("../b", Some(module("c", None)))),
            ),
        ];
        for s in &mut odd.settings {
            match s.key.as_str() {
                "GOOS" => s.value = "linux".into(),
                "GOARCH" => s.value = "sparc64".into(),
                _ => {}
            }
        }
        odd.settings.push(Setting {
            key: "-ldflags".into(),
            value: "-H windowsgui".into(),
        });
        let mut bare = info.clone();
        bare.settings.clear();
        out.extend([(path.clone(), info), (path.clone(), odd), (path, bare)]);
    }
    assert!(out.len() >= 9, "{} Go binaries", out.len() / 3);
    out
}

#[test]
fn build_info_and_findings_validate() {
    let bv = validator::<BuildInfo>();
    let fv = validator::<Vec<Finding>>();
    let mut statuses = std::collections::BTreeSet::new();
    for (path, info) in infos() {
        let what = path.display().to_string();
        assert_valid(&bv, &what, &serde_json::to_value(&info).unwrap());
        let summary = pegate_pe::inspect_path(&path, &Default::default()).unwrap();
        let findings = crosscheck::check(&summary, &info);
        assert_valid(&fv, &what, &serde_json::to_value(&findings).unwrap());
        statuses.extend(findings.iter().map(|f| format!("{:?}", f.status)));
    }
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["Fail", "NotApplicable", "Pass"]
    );
}

#[test]
fn what_serialize_never_writes_is_rejected() {
    let (_, info) = infos().swap_remove(0);
    let bv = validator::<BuildInfo>();
    let good = serde_json::to_value(&info).unwrap();
    assert_valid(&bv, "the build info", &good);
    let edits: [fn(&mut Value); 7] = [
        |d| d["extra"] = json!(1),
        |d| {
            d.as_object_mut().unwrap().shift_remove("build_id");
        },
        |d| d["ptr_size"] = json!(256),
        |d| d["settings"] = json!([{"key": "GOOS"}]),
        |d| d["settings"] = json!([{"key": "GOOS", "value": "windows", "x": 1}]),
        |d| d["deps"] = json!([{"path": "a", "version": "v1", "sum": ""}]),
        |d| d["main"] = json!({"path": "a", "version": "v1", "sum": "", "replace": 1}),
    ];
    for (i, edit) in edits.iter().enumerate() {
        let mut doc = good.clone();
        edit(&mut doc);
        assert!(!bv.is_valid(&doc), "edit {i} accepted: {doc:#}");
    }
    let fv = validator::<Finding>();
    let finding = json!({"id": "go.goos", "status": "pass", "message": "m"});
    assert!(fv.is_valid(&finding));
    for bad in [
        json!({"id": "go.goos", "status": "Pass", "message": "m"}),
        json!({"id": "go.goos", "status": "not_applicable", "message": "m"}),
        json!({"id": "go.goos", "status": "pass"}),
        json!({"id": "go.goos", "status": "pass", "message": "m", "x": 1}),
    ] {
        assert!(!fv.is_valid(&bad), "accepted {bad}");
    }
    assert_eq!(
        crosscheck::Outcome::schema_name(),
        "FindingStatus",
        "distinct from the signature status in one schema"
    );
}
