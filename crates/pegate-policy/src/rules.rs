//! The rule catalogue: stable ids, one-line descriptions, and how to fix a failure.

use serde::{Deserialize, Serialize};

macro_rules! rules {
    ($($variant:ident => $id:literal, $desc:literal, $fix:literal;)*) => {
        /// A stable rule id; its string form appears in every report (SARIF `ruleId`, JUnit name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum RuleId {
            $(
                #[doc = $desc]
                $variant,
            )*
        }

        /// Every rule, in report order.
        pub const RULES: &[RuleInfo] = &[$(RuleInfo { id: RuleId::$variant, description: $desc, fix: $fix },)*];

        impl RuleId {
            /// The stable id, e.g. `signature.required`.
            pub fn as_str(self) -> &'static str {
                match self { $(RuleId::$variant => $id,)* }
            }

            /// This rule's catalogue entry.
            pub fn info(self) -> &'static RuleInfo {
                match self { $(RuleId::$variant => &RuleInfo { id: RuleId::$variant, description: $desc, fix: $fix },)* }
            }

            /// Parses a stable id.
            pub fn from_id(id: &str) -> Option<RuleId> {
                match id { $($id => Some(RuleId::$variant),)* _ => None }
            }
        }
    };
}

rules! {
    Readable => "artifact.readable", "the artifact can be read and parsed as a PE file", "rebuild the artifact or remove it from the artifact list";
    RuleMatch => "artifact.rule-match", "some [[artifact]] rule matches the artifact (with require_rule_match)", "add an [[artifact]] rule whose glob matches this file, or remove the file";
    Expected => "artifact.expected", "every name in `expected` is among the artifacts", "build the missing artifact or remove it from `expected`";
    Machine => "machine", "the COFF machine is the one the rule names", "build for the right GOARCH (GOARCH=amd64 gives AMD64, arm64 gives ARM64, 386 gives I386)";
    Subsystem => "subsystem", "the PE subsystem is the one the rule names", "GUI apps need -ldflags=-H=windowsgui; console apps must not have it";
    DllRequired => "dll-characteristics.required", "every required DllCharacteristics flag is set", "drop -buildmode=exe (Go's default windows build mode is PIE, which sets DYNAMIC_BASE and HIGH_ENTROPY_VA)";
    DllForbidden => "dll-characteristics.forbidden", "no forbidden DllCharacteristics flag is set", "change the linker flags that set it";
    SignatureRequired => "signature.required", "the artifact is signed, its digest matches and (with a trust bundle) the chain is trusted", "sign the artifact (signtool, osslsigncode) after the last byte is written, with a certificate the trust bundle accepts";
    SignatureForbidden => "signature.forbidden", "the artifact carries no signature", "sign only release artifacts, or relax the rule";
    SignerSubject => "signature.signer", "a signer's subject contains the required text", "sign with the expected certificate";
    GoVersion => "go.version", "the Go version in the build info is inside the range", "build with a Go version inside the range (pegate build --go VERSION)";
    GoTargetName => "go.target-name", "the GOOS/GOARCH in the file name agree with the build info and the PE machine", "fix the name template of the release, or the GOARCH of the build";
    MaxSize => "size.max", "the file is not larger than max_size", "strip the binary (-ldflags=\"-s -w\") or raise max_size";
    Checksum => "checksum.match", "the artifact's SHA-256 matches its line in the checksums file", "regenerate the checksums file after the last change to the artifact (signing changes the hash)";
}

/// A rule's id, what it checks and how to fix a failure.
#[derive(Debug, Clone, Copy)]
pub struct RuleInfo {
    /// The stable id.
    pub id: RuleId,
    /// What the rule checks.
    pub description: &'static str,
    /// How to fix a failure.
    pub fix: &'static str,
}

impl std::fmt::Display for RuleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for RuleId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for RuleId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleId::from_id(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule id `{s}`")))
    }
}
