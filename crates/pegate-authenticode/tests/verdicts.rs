//! Verdicts on the signed fixtures (made by `cargo xtask sign-fixtures`), cross-checked with
//! `osslsigncode verify`, and hostile certificate tables that must give `error`, never a panic.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};

use sha2::Digest as _;

use pegate_authenticode::{
    SignatureReport, Status, TrustStore, VerifyOptions, verify_bytes, verify_path,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/authenticode")
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "exe"))
        .collect();
    v.sort();
    assert!(v.len() >= 10);
    v
}

/// The test CA trusted, and every whole-file value computed.
fn trusted() -> VerifyOptions {
    VerifyOptions::default()
        .with_trust(TrustStore::from_pem_file(&dir().join("ca.pem")).unwrap())
        .with_file_sha256(true)
        .with_checksum(true)
}

/// The verdict each fixture must get with the test CA trusted, from its name.
fn expected(name: &str) -> Status {
    match name {
        n if n.ends_with("-unsigned.exe") => Status::Unsigned,
        n if n.contains("selfsigned") => Status::SignedUntrusted,
        n if n.contains("tampered") => Status::SignedInvalid,
        n if n.contains("truncated") || n.contains("bad-revision") || n.contains("garbage") => {
            Status::Error
        }
        _ => Status::SignedValid,
    }
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// The stable parts of a report, for snapshots (hashes and validity dates change when the
/// fixtures are regenerated; statuses and structure must not).
fn shape(r: &SignatureReport) -> serde_json::Value {
    serde_json::json!({
        "status": r.status,
        "entries": r.entries.iter().map(|e| serde_json::json!({"revision": format!("{:#06x}", e.revision), "type": e.cert_type})).collect::<Vec<_>>(),
        "methods_differ": r.methods_differ,
        "errors": r.errors,
        "signatures": r.signatures.iter().map(|s| serde_json::json!({
            "nested": s.nested,
            "digest_algorithm": s.digest_algorithm,
            "digest_matches": s.digest_matches,
            "signer": s.signer_chain.first().map(|c| c.subject.clone()),
            "chain_length": s.signer_chain.len(),
            "timestamps": s.timestamps.iter().map(|t| t.valid).collect::<Vec<_>>(),
            "trusted": s.trust.as_ref().map(|t| t.trusted),
            "error": s.error,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn verdicts_with_and_without_the_test_ca() {
    let opts = trusted();
    for f in fixtures() {
        let n = name(&f);
        let with = verify_path(&f, &opts).unwrap();
        assert_eq!(with.status, expected(&n), "{n}: {with:#?}");
        insta::with_settings!({snapshot_suffix => n.clone(), prepend_module_to_snapshot => false}, {
            insta::assert_json_snapshot!("report", shape(&with));
        });
        let without = verify_path(&f, &VerifyOptions::default()).unwrap();
        let want = match expected(&n) {
            Status::SignedValid => Status::SignedUntrusted,
            other => other,
        };
        assert_eq!(without.status, want, "{n} without a bundle");
        // The one-pass file hash and checksum agree with pegate-pe and a plain hash.
        let bytes = std::fs::read(&f).unwrap();
        let view = pegate_pe::PeView::parse(&bytes).unwrap();
        let checksum = pegate_pe::pe_checksum(&bytes, view.checksum_field_offset());
        assert_eq!(with.checksum, Some(checksum), "{n}");
        assert_eq!(
            with.file_sha256,
            Some(hex::encode(sha2::Sha256::digest(&bytes))),
            "{n}"
        );
        // By default only what the verdict needs: no file hash; the checksum of a file that
        // was read in full anyway (a signed one) and of no other.
        assert_eq!(without.file_sha256, None, "{n}");
        let signed = view.security_directory().is_some();
        assert_eq!(without.checksum, signed.then_some(checksum), "{n}");
        assert_eq!(
            verify_bytes(&bytes, &opts),
            with,
            "{n}: verify_bytes and verify_path agree"
        );
    }
}

#[test]
fn signed_files_carry_the_checksum_osslsigncode_wrote() {
    for f in fixtures()
        .into_iter()
        .filter(|f| expected(&name(f)) == Status::SignedValid)
    {
        let bytes = std::fs::read(&f).unwrap();
        let view = pegate_pe::PeView::parse(&bytes).unwrap();
        let r = verify_path(&f, &VerifyOptions::default()).unwrap();
        assert_eq!(r.checksum, Some(view.stored_checksum()), "{}", name(&f));
    }
}

/// What `osslsigncode verify -CAfile` says, reduced to pegate's words.
fn osslsigncode(file: &Path) -> &'static str {
    let out = std::process::Command::new("osslsigncode")
        .arg("verify")
        .arg("-CAfile")
        .arg(dir().join("ca.pem"))
        .arg("-TSA-CAfile")
        .arg(dir().join("ca.pem"))
        .arg("-in")
        .arg(file)
        .output()
        .expect("osslsigncode is needed for this cross-check: apt-get install osslsigncode");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        "signed-valid"
    } else if text.contains("No signature found") {
        "no signature"
    } else if text.contains("MISMATCH")
        || text.contains("Signature verification: failed")
            && text.contains("Calculated message digest")
            && !text.contains("Signer's certificate")
    {
        "digest mismatch"
    } else {
        "failed"
    }
}

#[test]
fn verdicts_agree_with_osslsigncode() {
    if cfg!(windows) {
        eprintln!("skipped on Windows: osslsigncode is a Linux tool here (Debian package)");
        return;
    }
    let opts = trusted();
    for f in fixtures() {
        let n = name(&f);
        let ours = verify_path(&f, &opts).unwrap().status;
        let theirs = osslsigncode(&f);
        let agree = match ours {
            Status::SignedValid => theirs == "signed-valid",
            Status::Unsigned => theirs == "no signature",
            // osslsigncode fails the untrusted chain; the digest check is ours to report.
            Status::SignedUntrusted | Status::SignedInvalid => {
                theirs == "failed" || theirs == "digest mismatch"
            }
            // The documented exception: a table cut short is "no signature" to osslsigncode
            // (it gives up on the directory), and `error` to pegate (a signature was meant).
            Status::Error => {
                theirs == "failed" || (theirs == "no signature" && n.contains("truncated"))
            }
        };
        assert!(agree, "{n}: pegate {ours:?}, osslsigncode {theirs}");
    }
}

#[test]
fn tampered_digest_is_reported_with_both_values() {
    let r = verify_path(&dir().join("amd64-tampered.exe"), &trusted()).unwrap();
    let s = &r.signatures[0];
    assert!(!s.digest_matches);
    assert_ne!(s.signed_digest, s.computed_digest);
    assert_eq!(s.signed_digest.as_ref().unwrap().len(), 64);
}

#[test]
fn nested_signature_is_found_with_its_own_algorithm() {
    let r = verify_path(&dir().join("amd64-nested.exe"), &trusted()).unwrap();
    let algs: Vec<_> = r
        .signatures
        .iter()
        .map(|s| (s.nested, s.digest_algorithm.clone().unwrap()))
        .collect();
    assert_eq!(
        algs,
        [(false, "sha1".to_owned()), (true, "sha256".to_owned())]
    );
    assert!(
        r.signatures
            .iter()
            .all(|s| s.trust.as_ref().unwrap().trusted)
    );
    assert_eq!(r.signer_subjects().len(), 2);
}

#[test]
fn hostile_tables_give_error_never_a_panic() {
    let signed = std::fs::read(dir().join("amd64-signed.exe")).unwrap();
    let view = pegate_pe::PeView::parse(&signed).unwrap();
    let sd = view.security_directory().unwrap();
    let (start, size) = (sd.offset as usize, sd.size as usize);
    let entry = view.security_entry_offset().unwrap();
    let opts = trusted();
    // Every truncation inside the table.
    for cut in (start..start + size).step_by(97) {
        let r = verify_bytes(&signed[..cut], &opts);
        assert_eq!(r.status, Status::Error, "cut at {cut:#x}");
    }
    // Directory sizes: zero, huge, past the end; offsets past the end.
    for (offset, len) in [
        (start as u32, 0u32),
        (start as u32, u32::MAX),
        (u32::MAX - 4, 64),
        (signed.len() as u32, 8),
    ] {
        let mut b = signed.clone();
        b[entry..entry + 4].copy_from_slice(&offset.to_le_bytes());
        b[entry + 4..entry + 8].copy_from_slice(&len.to_le_bytes());
        let r = verify_bytes(&b, &opts);
        assert!(
            matches!(r.status, Status::Error | Status::Unsigned),
            "{offset:#x}+{len:#x}: {:?}",
            r.status
        );
    }
    // Deterministic byte flips across the PKCS#7: never a panic, never signed-valid.
    let mut x: u32 = 0x9e37_79b9;
    for _ in 0..300 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut b = signed.clone();
        let at = start + 8 + (x as usize % (size - 8));
        b[at] ^= (x >> 24) as u8 | 1;
        let r = verify_bytes(&b, &opts);
        assert_ne!(r.status, Status::Unsigned);
    }
}

/// An attribute whose value has the wrong DER type (found by the fuzzer: a messageDigest holding
/// an OID, which authenticode-parser read as a string and crashed on) is an `error`, with the
/// attribute named, before the C parser sees it.
#[test]
fn attribute_of_the_wrong_type_is_an_error_not_a_crash() {
    let signed = std::fs::read(dir().join("amd64-signed.exe")).unwrap();
    // messageDigest OID, SET of one OCTET STRING of 32 bytes (the SHA-256 signer digest).
    let needle = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x04, 0x31, 0x22, 0x04, 0x20,
    ];
    let at = signed
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the signer's messageDigest attribute");
    let mut b = signed.clone();
    // The same 34 bytes as an OBJECT IDENTIFIER (32 arcs of 42: valid DER for OpenSSL).
    b[at + needle.len() - 2] = 0x06;
    b[at + needle.len()..at + needle.len() + 32].fill(0x2a);
    for _ in 0..20 {
        let r = verify_bytes(&b, &trusted());
        assert_eq!(r.status, Status::Error, "{r:?}");
        assert!(
            r.errors
                .iter()
                .any(|e| e.contains("messageDigest attribute value has DER tag 0x06")),
            "{:?}",
            r.errors
        );
    }
}
