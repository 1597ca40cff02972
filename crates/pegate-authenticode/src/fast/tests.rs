//! The fast path against authenticode-parser: on every fixture, on damaged signatures and on
//! the differential corpus, wherever the fast path answers, the two answers are the same.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::path::{Path, PathBuf};

use super::*;
use crate::pkcs7;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The PKCS#7 blobs of a PE file's certificate table that reach the parser (pass the
/// precheck), as `parse_table` finds them.
fn signatures(data: &[u8]) -> Vec<Vec<u8>> {
    let Ok(view) = pegate_pe::PeView::parse(data) else {
        return Vec::new();
    };
    let Some(b) = crate::table_bounds(&view, data.len() as u64) else {
        return Vec::new();
    };
    if b.outside {
        return Vec::new();
    }
    let start = b.start as usize;
    let table = data
        .get(start..start + b.present as usize)
        .unwrap_or_default();
    crate::parseable_signatures(table)
        .map(<[u8]>::to_vec)
        .collect()
}

/// Whether the fast path answered for `der`; when it does, its answer must be
/// authenticode-parser's, field for field.
fn same(der: &[u8], what: &str) -> bool {
    let fast = parse(der);
    if let Some(f) = &fast {
        assert_eq!(Some(f), pkcs7::parse(der).as_ref(), "{what}");
    }
    fast.is_some()
}

fn fixture(name: &str) -> Vec<Vec<u8>> {
    signatures(&std::fs::read(root().join("fixtures").join(name)).unwrap())
}

/// The shapes the fast path is for: it answers, and exactly as authenticode-parser does.
#[test]
fn answers_the_common_signatures_as_authenticode_parser_does() {
    for name in [
        "authenticode/amd64-signed.exe",
        "authenticode/arm64-signed.exe",
        "authenticode/386-signed.exe",
        "authenticode/amd64-sha384.exe",
        "authenticode/amd64-selfsigned.exe",
        "authenticode/amd64-nested.exe",
        "authenticode/amd64-tampered.exe",
        "authenticode/shimx64.efi.signed",
        "gate/tiny-amd64-signed-no-timestamp.exe",
        "gate/tiny-amd64-signed-md5.exe",
    ] {
        let sigs = fixture(name);
        assert!(!sigs.is_empty(), "{name}: no signature");
        for (i, der) in sigs.iter().enumerate() {
            assert!(same(der, name), "{name} entry {i}: not answered");
        }
    }
    // Nested signatures come back after the outer one.
    let nested = parse(&fixture("authenticode/amd64-nested.exe")[0]).unwrap();
    assert_eq!(nested.len(), 2);
    // Certificates loaded once, summarised once: a second file hits the cache.
    let a = parse(&fixture("authenticode/amd64-signed.exe")[0]).unwrap();
    let b = parse(&fixture("authenticode/arm64-signed.exe")[0]).unwrap();
    assert_eq!(a[0].certificates, b[0].certificates);
}

/// Every byte of a real signature changed in turn: wherever the fast path still answers
/// (a byte it does not read, or one that keeps the signature valid), authenticode-parser
/// agrees; a change that breaks the signature is left to it.
/// The shim's timestamps are read as CMS (their certificate sets hold attribute
/// certificates), osslsigncode's as PKCS#7.
#[test]
fn damaged_signatures_are_left_to_authenticode_parser_or_agree() {
    for name in [
        "authenticode/amd64-signed.exe",
        "authenticode/shimx64.efi.signed",
    ] {
        let der = &fixture(name)[0];
        let (mut answered, mut left) = (0usize, 0usize);
        for at in 0..der.len() {
            let mut d = der.clone();
            d[at] ^= if at % 2 == 0 { 0x01 } else { 0x80 };
            if crate::der::precheck(&d).is_err() {
                continue;
            }
            if same(&d, &format!("{name}: byte {at:#x} changed")) {
                answered += 1;
            } else {
                left += 1;
            }
        }
        eprintln!(
            "{name}: {} bytes; fast path answered {answered}, left {left}",
            der.len()
        );
        assert!(
            answered > 0 && left > 0,
            "{name}: answered {answered}, left {left}"
        );
    }
}

/// The differential corpus's real signed files (`cargo xtask corpus`; Microsoft's, DigiCert
/// and Sectigo timestamps): wherever the fast path answers, authenticode-parser agrees.
///
/// The corpus is an optional input: in CI (`CI` set), where `.ci/setup` fetches it, a missing
/// or unreadable corpus fails the test; elsewhere the test says it skipped and why. A corpus
/// that gives the fast path nothing to answer fails: the comparison would be empty.
#[test]
fn real_signed_files_agree_with_authenticode_parser() {
    let dir = std::env::var_os("PEGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pegate-corpus"));
    let index = dir.join("index.json");
    let text = match std::fs::read_to_string(&index) {
        Ok(text) => text,
        Err(e) if std::env::var_os("CI").is_some() && !cfg!(windows) => panic!(
            "the differential corpus is missing ({}: {e}); .ci/setup fetches it \
             (`cargo xtask corpus`)",
            index.display()
        ),
        Err(e) => {
            eprintln!(
                "skipped: no differential corpus ({}: {e}); run `cargo xtask corpus` (Linux) \
                 or set PEGATE_CORPUS",
                index.display()
            );
            return;
        }
    };
    let index: serde_json::Value = serde_json::from_str(&text).unwrap();
    let files = index["files"].as_array().unwrap();
    let (mut signed, mut answered, mut left) = (0usize, 0usize, 0usize);
    for f in files {
        let p = dir.join(f["path"].as_str().unwrap());
        let data = std::fs::read(&p).unwrap_or_else(|e| {
            panic!(
                "{} is in the corpus index but unreadable ({e}): rerun `cargo xtask corpus`",
                p.display()
            )
        });
        let sigs = signatures(&data);
        signed += usize::from(!sigs.is_empty());
        for der in sigs {
            if same(&der, &p.display().to_string()) {
                answered += 1;
            } else {
                left += 1;
            }
        }
    }
    eprintln!(
        "{}: {} files, {signed} signed; fast path answered {answered} signatures, left {left}",
        dir.display(),
        files.len()
    );
    assert!(
        answered > 0,
        "{}: the fast path answered no signature of the corpus ({signed} signed files): \
         nothing was compared",
        dir.display()
    );
}
