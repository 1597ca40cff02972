//! [`Outcome`]: pass, fail or not applicable, the result of one check on one artifact, whether
//! the check is a policy rule or a cross-check of Go's build info against the PE headers.
//!
//! ```
//! use pegate_facts::Outcome;
//! assert_eq!(serde_json::to_string(&Outcome::NotApplicable).unwrap(), "\"not-applicable\"");
//! assert!(Outcome::Pass < Outcome::Fail);
//! ```

use serde::{Deserialize, Serialize};

/// The outcome of one check on one artifact.
///
/// The JSON Schema keeps the cross-check's words (and the name `FindingStatus`, which a bare
/// `Status` beside the signature status would make ambiguous): `pegate inspect` carries this type
/// only in its `crosscheck` findings.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
#[schemars(rename = "FindingStatus", description = "A cross-check's outcome.")]
pub enum Outcome {
    /// The artifact satisfies the rule; build info and header agree.
    #[schemars(description = "Build info and header agree.")]
    Pass,
    /// It does not: a rule is broken, or build info and header disagree, or a protection the
    /// build should have is missing.
    #[schemars(description = "They disagree, or a protection the build should have is missing.")]
    Fail,
    /// The check does not apply or cannot be made (the message says why: e.g. the build info
    /// does not record what it needs).
    #[schemars(
        description = "The check cannot be made (the build info does not record what it needs)."
    )]
    NotApplicable,
}
