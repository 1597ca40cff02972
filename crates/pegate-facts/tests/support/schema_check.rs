//! The schema checks the `tests/schema.rs` of pegate-facts, pegate-authenticode and pegate-gobin
//! share (each includes this file with `#[path]`): the schema of a type for its serialised form,
//! and an assertion that names every place a document breaks it.

#![allow(dead_code)]

use schemars::JsonSchema;
use serde_json::Value;

/// The schema of `T` as its serialised form (every field `Serialize` always writes required).
pub(crate) fn validator<T: JsonSchema>() -> jsonschema::Validator {
    let schema = schemars::generate::SchemaSettings::default()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>();
    jsonschema::validator_for(schema.as_value()).unwrap()
}

/// `doc` is valid for `v`; else every error, with where it is and the document.
#[track_caller]
pub(crate) fn assert_valid(v: &jsonschema::Validator, what: &str, doc: &Value) {
    let errors: Vec<String> = v
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {doc:#}\n{errors:#?}");
}
