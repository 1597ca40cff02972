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

#[path = "support/flips.rs"]
mod flips;

use pegate_authenticode::{
    DigestAlgorithm, Recorded, SignatureReport, Status, TrustStore, VerifyOptions, verify_bytes,
    verify_path,
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
            "trusted": s.trust.as_ref().map(|t| t.trusted()),
            "error": s.error,
        })).collect::<Vec<_>>(),
    })
}

#[test]
fn verdicts_with_and_without_the_test_ca() {
    // One instant for every chain no timestamp dates (2027-01-15, inside the test CA's validity),
    // so verify_path and verify_bytes judge at the same time and must agree to the field.
    let opts = trusted().with_time(1_800_000_000);
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
        let in_memory = verify_bytes(&bytes, &opts);
        assert_eq!(in_memory, with, "{n}: verify_bytes and verify_path agree");
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
        [
            (false, Recorded::Known(DigestAlgorithm::Sha1)),
            (true, Recorded::Known(DigestAlgorithm::Sha256))
        ]
    );
    assert!(
        r.signatures
            .iter()
            .all(|s| s.trust.as_ref().unwrap().trusted())
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
    // Every truncation inside the table; cut at its start, the table lies wholly outside the
    // file, which is no signature.
    for cut in (start..start + size).step_by(97) {
        let r = verify_bytes(&signed[..cut], &opts);
        let want = if cut == start {
            Status::Unsigned
        } else {
            Status::Error
        };
        assert_eq!(r.status, want, "cut at {cut:#x}");
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
    for (_, b) in flips::byte_flips(&signed, start, size, 300) {
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
            r.errors.iter().any(|e| e
                .to_string()
                .contains("messageDigest attribute value has DER tag 0x06")),
            "{:?}",
            r.errors
        );
    }
}

fn bundle(pems: &[&str]) -> VerifyOptions {
    let text: Vec<u8> = pems
        .iter()
        .flat_map(|p| std::fs::read(dir().join(p)).unwrap())
        .collect();
    VerifyOptions::default().with_trust(TrustStore::from_pem(&text, &pems.join("+")).unwrap())
}

/// The anchors each signature's chain ended at (`None` where it is not trusted).
fn anchors(r: &SignatureReport) -> Vec<Option<String>> {
    r.signatures
        .iter()
        .map(|s| s.trust.as_ref().and_then(|t| t.anchor().map(str::to_owned)))
        .collect()
}

const UEFI_2011: &str = "C=US, ST=Washington, L=Redmond, O=Microsoft Corporation, CN=Microsoft Corporation UEFI CA 2011";
const UEFI_2023: &str = "C=US, O=Microsoft Corporation, CN=Microsoft UEFI CA 2023";

/// Debian's signed shim carries two signatures, under the Microsoft UEFI CA 2011 and 2023,
/// which are intermediates (issued by Microsoft roots UEFI firmware does not hold): trusted
/// directly, as firmware's `db` and `sbverify --cert` trust them, each signature names its
/// anchor; with one CA the other signature is untrusted and the file still `signed-valid`.
#[test]
fn intermediate_certificates_are_anchors_uefi_ca_and_shim() {
    let shim = dir().join("shimx64.efi.signed");
    let both = verify_path(
        &shim,
        &bundle(&["ms-uefi-ca-2011.pem", "ms-uefi-ca-2023.pem"]),
    )
    .unwrap();
    assert_eq!(both.status, Status::SignedValid, "{both:#?}");
    assert!(both.errors.is_empty(), "{:?}", both.errors);
    assert!(both.signatures.iter().all(|s| s.digest_matches));
    assert_eq!(
        anchors(&both),
        [Some(UEFI_2011.to_owned()), Some(UEFI_2023.to_owned())]
    );
    let old = verify_path(&shim, &bundle(&["ms-uefi-ca-2011.pem"])).unwrap();
    assert_eq!(old.status, Status::SignedValid);
    assert_eq!(anchors(&old), [Some(UEFI_2011.to_owned()), None]);
    let new = verify_path(&shim, &bundle(&["ms-uefi-ca-2023.pem"])).unwrap();
    assert_eq!(new.status, Status::SignedValid);
    assert_eq!(anchors(&new), [None, Some(UEFI_2023.to_owned())]);
    // A bundle that holds neither CA.
    let other = verify_path(&shim, &trusted()).unwrap();
    assert_eq!(other.status, Status::SignedUntrusted);
    assert_eq!(anchors(&other), [None, None]);
}

/// Any certificate of the bundle is an anchor, the signer's own included: the test leaf alone
/// (issued by the test CA, not self-signed) makes the fixtures it signed `signed-valid`.
#[test]
fn a_leaf_in_the_bundle_is_an_anchor() {
    let r = verify_path(&dir().join("amd64-signed.exe"), &bundle(&["leaf.pem"])).unwrap();
    assert_eq!(r.status, Status::SignedValid, "{r:#?}");
    assert_eq!(
        anchors(&r),
        [Some("CN=pegate test code signing, O=pegate".to_owned())]
    );
    let r = verify_path(&dir().join("amd64-signed.exe"), &trusted()).unwrap();
    assert_eq!(
        anchors(&r),
        [Some("CN=pegate test root CA, O=pegate".to_owned())]
    );
}

/// `sbverify --cert` (Debian's sbsigntool) agrees that each UEFI CA alone verifies the shim.
#[test]
fn shim_verdicts_agree_with_sbverify() {
    for ca in ["ms-uefi-ca-2011.pem", "ms-uefi-ca-2023.pem"] {
        let ours = verify_path(&dir().join("shimx64.efi.signed"), &bundle(&[ca])).unwrap();
        assert_eq!(ours.status, Status::SignedValid, "{ca}");
        if cfg!(windows) {
            eprintln!(
                "sbverify cross-check skipped on Windows: sbverify is a Linux tool here (Debian sbsigntool)"
            );
            continue;
        }
        let out = std::process::Command::new("sbverify")
            .arg("--cert")
            .arg(dir().join(ca))
            .arg(dir().join("shimx64.efi.signed"))
            .output()
            .expect("sbverify is needed for this cross-check: apt-get install sbsigntool");
        assert!(out.status.success(), "sbverify --cert {ca}: {out:?}");
    }
}

/// A security directory that points past the end of the file is no signature (Windows,
/// osslsigncode and signify), and the problem stays in the report's errors.
#[test]
fn a_certificate_table_outside_the_file_is_unsigned() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures/pe/loader/cert-table-outside-file.exe");
    let r = verify_path(&path, &trusted()).unwrap();
    assert_eq!(r.status, Status::Unsigned);
    assert!(r.entries.is_empty() && r.signatures.is_empty());
    assert_eq!(
        r.errors,
        [pegate_authenticode::Problem::TableOutsideFile {
            start: 0x100000,
            end: 0x100800,
            file_len: 0x800
        }]
    );
    assert_eq!(
        r.errors[0].to_string(),
        "certificate table 0x100000..0x100800 lies outside the file (0x800 bytes): no signature"
    );
    assert_eq!(verify_bytes(&std::fs::read(&path).unwrap(), &trusted()), r);
    if cfg!(windows) {
        eprintln!(
            "osslsigncode cross-check skipped on Windows: osslsigncode is a Linux tool here (Debian package)"
        );
    } else {
        assert_eq!(osslsigncode(&path), "no signature");
    }
}

/// A trust verdict serialises as `trusted`, `at`, `message`, `anchor`, the message in the words
/// of the chain check whichever way it went.
#[test]
fn trust_verdicts_serialise_with_their_message() {
    let cases = [
        (
            "amd64-signed.exe",
            true,
            "chain verified for code signing (issued by pegate test root CA, pegate; anchor CN=pegate test root CA, O=pegate)",
            Some("CN=pegate test root CA, O=pegate"),
        ),
        (
            "amd64-selfsigned.exe",
            false,
            "chain not trusted: self-signed certificate (at depth 0)",
            None,
        ),
    ];
    for (file, trusted_, message, anchor) in cases {
        let r = verify_path(&dir().join(file), &trusted()).unwrap();
        let t = r.signatures[0].trust.as_ref().unwrap();
        assert_eq!(t.trusted(), trusted_, "{file}");
        assert_eq!(t.anchor(), anchor, "{file}");
        assert_eq!(
            serde_json::to_string(t).unwrap(),
            format!(
                r#"{{"trusted":{trusted_},"at":{},"message":{},"anchor":{}}}"#,
                t.at,
                serde_json::to_string(message).unwrap(),
                serde_json::to_string(&anchor).unwrap()
            ),
            "{file}"
        );
    }
}
