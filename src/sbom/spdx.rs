//! The SPDX 2.3 JSON writer.

use pegate_gobin::buildinfo::Module;
use serde_json::{Value, json};

use super::{Subject, deps, encode, h1_to_hex, linked, purl, rfc3339, set, stdlib};

/// SPDX 2.3 JSON: the main module as the package the document describes (checksum: the
/// artifact's SHA-256; facts as annotations), each dependency a package it `DEPENDS_ON`.
pub fn spdx(subject: &Subject, created: i64) -> Value {
    let date = rfc3339(created);
    let tool = format!("Tool: pegate-{}", env!("CARGO_PKG_VERSION"));
    let annotator = Annotator {
        date: &date,
        tool: &tool,
    };
    let mut packages = vec![main_package(subject, &annotator)];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Package-main",
    })];
    for (i, m) in deps(subject).iter().enumerate() {
        let id = format!("SPDXRef-Package-dep-{}", i.saturating_add(1));
        packages.push(dependency(&id, m, &annotator));
        relationships.push(depends_on(&id));
    }
    if let Some((version, purl)) = stdlib(subject) {
        let id = "SPDXRef-Package-stdlib";
        packages.push(library("stdlib", id, &version, purl));
        relationships.push(depends_on(id));
    }
    json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": subject.file_name,
        "documentNamespace": document_namespace(subject),
        "creationInfo": {"created": date, "creators": [tool]},
        "packages": packages,
        "relationships": relationships,
    })
}

/// Who annotates, and when: every annotation of one document carries the same two.
struct Annotator<'a> {
    date: &'a str,
    tool: &'a str,
}

impl Annotator<'_> {
    /// An `OTHER` annotation saying `name=value`.
    fn note(&self, name: &str, value: &str) -> Value {
        json!({
            "annotationDate": self.date,
            "annotationType": "OTHER",
            "annotator": self.tool,
            "comment": format!("{name}={value}"),
        })
    }
}

/// A package's `externalRefs`: its package URL.
fn purl_ref(p: String) -> Value {
    json!([{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": p}])
}

/// `SPDXRef-Package-main DEPENDS_ON id`.
fn depends_on(id: &str) -> Value {
    json!({
        "spdxElementId": "SPDXRef-Package-main",
        "relationshipType": "DEPENDS_ON",
        "relatedSpdxElement": id,
    })
}

/// The package the document describes: the main module with the artifact's hash and facts.
fn main_package(subject: &Subject, annotator: &Annotator<'_>) -> Value {
    let (name, version) = subject.main_name_version();
    let mut main = json!({
        "name": name,
        "SPDXID": "SPDXRef-Package-main",
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "APPLICATION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
    });
    if let Some(v) = &version {
        set(&mut main, "versionInfo", json!(v));
    }
    if subject.go.is_some() {
        set(
            &mut main,
            "externalRefs",
            purl_ref(purl(&name, version.as_deref())),
        );
    }
    if let Some(h) = &subject.sha256 {
        set(
            &mut main,
            "checksums",
            json!([{"algorithm": "SHA256", "checksumValue": h}]),
        );
    }
    set(
        &mut main,
        "annotations",
        Value::Array(
            subject
                .properties()
                .iter()
                .map(|(k, v)| annotator.note(k, v))
                .collect(),
        ),
    );
    main
}

/// A `LIBRARY` package with nothing asserted but its name, version and package URL: a
/// dependency's (before its checksum and annotations) and the standard library's.
fn library(name: &str, id: &str, version: &str, purl: String) -> Value {
    json!({
        "name": name,
        "SPDXID": id,
        "versionInfo": version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "LIBRARY",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "externalRefs": purl_ref(purl),
    })
}

/// One dependency as a `LIBRARY` package: its `h1:` sum as SHA256, sum and replacement as
/// annotations.
fn dependency(id: &str, m: &Module, annotator: &Annotator<'_>) -> Value {
    let mut p = library(&m.path, id, &m.version, purl(&m.path, Some(&m.version)));
    let sum = &linked(m).sum;
    if let Some(hex) = h1_to_hex(sum) {
        set(
            &mut p,
            "checksums",
            json!([{"algorithm": "SHA256", "checksumValue": hex}]),
        );
    }
    let mut notes = Vec::new();
    if !sum.is_empty() {
        notes.push(annotator.note("pegate:go:module:sum", sum));
    }
    if let Some(r) = &m.replace {
        notes.push(annotator.note(
            "pegate:go:replace",
            format!("{} {}", r.path, r.version).trim_end(),
        ));
    }
    if !notes.is_empty() {
        set(&mut p, "annotations", Value::Array(notes));
    }
    p
}

/// `https://spdx.org/spdxdocs/pegate/<file name>-<sha256>`: unique per artifact.
fn document_namespace(subject: &Subject) -> String {
    let mut namespace = String::from("https://spdx.org/spdxdocs/pegate/");
    encode(&mut namespace, &subject.file_name, b"");
    namespace.push('-');
    namespace.push_str(subject.sha256.as_deref().unwrap_or("unhashed"));
    namespace
}
