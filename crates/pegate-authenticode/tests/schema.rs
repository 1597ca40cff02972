//! The JSON Schema of a [`SignatureReport`] describes exactly what its `Serialize` writes: the
//! report of every fixture, with and without a trust bundle, and of hostile certificate tables
//! validates, and what `Serialize` never writes (a key too many or too few, an anchor without
//! trust) is rejected.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};

use pegate_authenticode::{
    SignatureReport, TrustStore, TrustVerdict, VerifyOptions, verify_bytes, verify_path,
};
use schemars::JsonSchema;
use serde_json::{Value, json};

#[path = "support/flips.rs"]
mod flips;

#[path = "../../pegate-facts/tests/support/schema_check.rs"]
mod schema_check;
use schema_check::{assert_valid, validator};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/authenticode")
}

fn bundle(pems: &[&str]) -> VerifyOptions {
    let text: Vec<u8> = pems
        .iter()
        .flat_map(|p| std::fs::read(dir().join(p)).unwrap())
        .collect();
    VerifyOptions::default()
        .with_trust(TrustStore::from_pem(&text, "test bundle").unwrap())
        .with_file_sha256(true)
        .with_checksum(true)
}

/// Every fixture's report under several options, and reports of cut and flipped tables.
fn reports() -> Vec<(String, SignatureReport)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".exe") || name.ends_with(".signed")
        })
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    let options = [
        VerifyOptions::default(),
        bundle(&["ca.pem"]),
        bundle(&["ca.pem", "self.pem", "tsa.pem"]),
        bundle(&["ms-uefi-ca-2011.pem", "ms-uefi-ca-2023.pem"]),
    ];
    let mut out = Vec::new();
    for file in &files {
        for (i, opts) in options.iter().enumerate() {
            let r = verify_path(file, opts).unwrap();
            out.push((format!("{} with options {i}", file.display()), r));
        }
    }
    // Hostile tables: cut inside the table, and bytes flipped across the PKCS#7.
    let signed = std::fs::read(dir().join("amd64-signed.exe")).unwrap();
    let view = pegate_pe::PeView::parse(&signed).unwrap();
    let sd = view.security_directory().unwrap();
    let (start, size) = (sd.offset as usize, sd.size as usize);
    let opts = bundle(&["ca.pem"]);
    for cut in (start..start + size).step_by(211) {
        out.push((
            format!("cut at {cut:#x}"),
            verify_bytes(&signed[..cut], &opts),
        ));
    }
    for (at, b) in flips::byte_flips(&signed, start, size, 100) {
        out.push((format!("flip at {at:#x}"), verify_bytes(&b, &opts)));
    }
    out.push(("not a PE".into(), verify_bytes(b"MZ not a PE", &opts)));
    out
}

#[test]
fn every_report_validates_against_the_schema() {
    let v = validator::<SignatureReport>();
    let reports = reports();
    let mut seen = std::collections::BTreeSet::new();
    for (what, r) in &reports {
        let doc = serde_json::to_value(r).unwrap();
        assert_valid(&v, what, &doc);
        // What the reports cover, so that the test keeps exercising every part of the schema.
        seen.insert(format!("status {}", r.status));
        seen.extend(r.errors.first().map(|_| "errors".to_owned()));
        for s in &r.signatures {
            seen.extend(s.error.map(|_| "signature error".to_owned()));
            seen.extend(s.timestamps.first().map(|_| "timestamp".to_owned()));
            seen.extend(s.trust.as_ref().map(|t| format!("trusted {}", t.trusted())));
            seen.extend(s.nested.then(|| "nested".to_owned()));
        }
    }
    for want in [
        "status unsigned",
        "status signed-valid",
        "status signed-untrusted",
        "status signed-invalid",
        "status error",
        "errors",
        "signature error",
        "timestamp",
        "trusted true",
        "trusted false",
        "nested",
    ] {
        assert!(seen.contains(want), "no report with {want}: {seen:?}");
    }
}

/// A real report, changed at `pointer` by `edit`.
fn edited(r: &SignatureReport, edit: impl FnOnce(&mut Value)) -> Value {
    let mut doc = serde_json::to_value(r).unwrap();
    edit(&mut doc);
    doc
}

#[test]
fn what_serialize_never_writes_is_rejected() {
    let v = validator::<SignatureReport>();
    let signed = verify_path(&dir().join("amd64-signed.exe"), &bundle(&["ca.pem"])).unwrap();
    assert_valid(&v, "the report", &serde_json::to_value(&signed).unwrap());
    let sig = "/signatures/0";
    let bad = [
        edited(&signed, |d| d["extra"] = json!(1)),
        edited(&signed, |d| {
            d.as_object_mut().unwrap().shift_remove("methods_differ");
        }),
        edited(&signed, |d| d["status"] = json!("valid")),
        edited(&signed, |d| d["errors"] = json!([1])),
        edited(&signed, |d| d["checksum"] = json!(-1)),
        edited(&signed, |d| d.pointer_mut(sig).unwrap()["extra"] = json!(1)),
        edited(&signed, |d| d.pointer_mut(sig).unwrap()["error"] = json!(3)),
        edited(&signed, |d| d["entries"][0]["data"] = json!([0, 1])),
        edited(&signed, |d| d["entries"][0]["revision"] = json!(65536)),
        edited(&signed, |d| {
            d.pointer_mut(&format!("{sig}/signer_chain/0"))
                .unwrap()
                .as_object_mut()
                .unwrap()
                .shift_remove("sha256");
        }),
        edited(&signed, |d| {
            d.pointer_mut(&format!("{sig}/timestamps/0")).unwrap()["valid"] = json!("yes")
        }),
        // Trust: an anchor only when trusted, every key present, no other.
        edited(&signed, |d| {
            *d.pointer_mut(&format!("{sig}/trust/anchor")).unwrap() = json!(null);
        }),
        edited(&signed, |d| {
            *d.pointer_mut(&format!("{sig}/trust/trusted")).unwrap() = json!(false);
        }),
        edited(&signed, |d| {
            d.pointer_mut(&format!("{sig}/trust"))
                .unwrap()
                .as_object_mut()
                .unwrap()
                .shift_remove("message");
        }),
        edited(&signed, |d| {
            d.pointer_mut(&format!("{sig}/trust")).unwrap()["result"] = json!("ok")
        }),
    ];
    for (i, doc) in bad.iter().enumerate() {
        assert!(!v.is_valid(doc), "edit {i} accepted: {doc:#}");
    }
    // The trust verdict on its own: untrusted with an anchor is never written.
    let tv = validator::<TrustVerdict>();
    assert!(tv.is_valid(&json!({"trusted": false, "at": 1, "message": "no", "anchor": null})));
    assert!(!tv.is_valid(&json!({"trusted": false, "at": 1, "message": "no", "anchor": "CN=x"})));
    assert!(!tv.is_valid(&json!({"trusted": true, "at": 1, "message": "ok", "anchor": null})));
}

#[test]
fn schema_names() {
    assert_eq!(SignatureReport::schema_name(), "SignatureReport");
    assert_eq!(TrustVerdict::schema_name(), "TrustVerdict");
    let schema = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<SignatureReport>();
    let mut defs: Vec<&String> = schema
        .get("$defs")
        .unwrap()
        .as_object()
        .unwrap()
        .keys()
        .collect();
    defs.sort();
    assert_eq!(
        defs,
        [
            "CertificateInfo",
            "CertificateTableEntry",
            "SignatureInfo",
            "SignatureStatus",
            "Timestamp",
            "TrustVerdict"
        ]
    );
}
