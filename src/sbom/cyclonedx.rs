//! The CycloneDX 1.6 JSON writer.

use pegate_gobin::buildinfo::Module;
use serde_json::{Value, json};

use super::{Subject, deps, h1_to_hex, linked, properties, purl, rfc3339, set, stdlib, uuid_v5};

/// CycloneDX 1.6 JSON: the main module as `metadata.component` (with the artifact's SHA-256 and
/// the PE, signature and Go facts as properties), each dependency as a `library` component.
pub fn cyclonedx(subject: &Subject, created: i64) -> Value {
    let (name, version) = subject.main_name_version();
    let main_ref = purl(&name, version.as_deref());
    let main = main_component(subject, &name, version.as_deref(), &main_ref);
    let mut components: Vec<Value> = deps(subject).iter().map(dependency).collect();
    if let Some((version, purl)) = stdlib(subject) {
        components.push(library("stdlib", &version, &purl));
    }
    let dep_refs: Vec<Value> = components.iter().map(|c| c["bom-ref"].clone()).collect();
    let mut dependencies = vec![json!({"ref": main_ref, "dependsOn": dep_refs})];
    dependencies.extend(dep_refs.iter().map(|r| json!({"ref": r})));
    let mut bom = json!({
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "version": 1,
        "metadata": {
            "timestamp": rfc3339(created),
            "tools": {"components": [{
                "type": "application",
                "name": "pegate",
                "version": env!("CARGO_PKG_VERSION"),
            }]},
            "component": main,
        },
        "components": components,
        "dependencies": dependencies,
    });
    // Reproducible: the same artifact and creation time give the same serial number.
    let serial = format!("urn:uuid:{}", uuid_v5(bom.to_string().as_bytes()));
    if let Some(fields) = bom.as_object_mut() {
        fields.shift_insert(2, "serialNumber".to_owned(), json!(serial));
    }
    bom
}

/// The `metadata.component`: the main module with the artifact's hash and facts.
fn main_component(subject: &Subject, name: &str, version: Option<&str>, main_ref: &str) -> Value {
    let mut main = json!({
        "type": "application",
        "bom-ref": main_ref,
        "name": name,
    });
    if let Some(v) = version {
        set(&mut main, "version", json!(v));
    }
    if subject.go.is_some() {
        set(&mut main, "purl", json!(main_ref));
    }
    if let Some(h) = &subject.sha256 {
        set(
            &mut main,
            "hashes",
            json!([{"alg": "SHA-256", "content": h}]),
        );
    }
    set(&mut main, "properties", properties(subject.properties()));
    main
}

/// A required `library` component named by its package URL (also its `bom-ref`): a
/// dependency's (before its hashes and properties) and the standard library's.
fn library(name: &str, version: &str, purl: &str) -> Value {
    json!({
        "type": "library",
        "bom-ref": purl,
        "name": name,
        "version": version,
        "purl": purl,
        "scope": "required",
    })
}

/// One dependency as a `library` component: its `h1:` sum as SHA-256, its replacement as
/// properties.
fn dependency(m: &Module) -> Value {
    let mut c = library(&m.path, &m.version, &purl(&m.path, Some(&m.version)));
    let sum = &linked(m).sum;
    if let Some(hex) = h1_to_hex(sum) {
        set(
            &mut c,
            "hashes",
            json!([{"alg": "SHA-256", "content": hex}]),
        );
    }
    let mut props = Vec::new();
    if !sum.is_empty() {
        props.push(("pegate:go:module:sum".to_owned(), sum.clone()));
    }
    if let Some(r) = &m.replace {
        props.push(("pegate:go:replace:path".to_owned(), r.path.clone()));
        if !r.version.is_empty() {
            props.push(("pegate:go:replace:version".to_owned(), r.version.clone()));
        }
    }
    if !props.is_empty() {
        set(&mut c, "properties", properties(props));
    }
    c
}
