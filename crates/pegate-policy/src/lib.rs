//! pegate's policy file and its evaluation into findings. Pure: no I/O.
//!
//! A policy says what each artifact must be. Rules are matched to artifacts by glob; each rule
//! yields one [`RuleResult`] per artifact and check, `pass`, `fail` or `not-applicable` with a
//! reason, under a stable [`RuleId`]. The caller gathers the facts of each artifact (from
//! pegate-pe, pegate-authenticode and the Go build info) into an [`ArtifactFacts`] and reads the
//! checksums file; this crate only decides. The facts are typed (pegate-facts' [`Machine`],
//! [`DllCharacteristics`], [`SignatureStatus`], ...): the policy's names are turned into those
//! types once, when it is compiled, and evaluation compares values, never names.
//!
//! ```
//! use pegate_policy::{
//!     ArtifactFacts, DllCharacteristics, Machine, Outcome, Policy, SignatureStatus, Subsystem,
//! };
//!
//! let policy = Policy::from_toml(r#"
//!     [[artifact]]
//!     glob = "*amd64*.exe"
//!     machine = "AMD64"
//!     subsystem = "WINDOWS_CUI"
//!     dll_characteristics = { require = ["DYNAMIC_BASE", "NX_COMPAT"] }
//!     signature = "required"
//! "#).unwrap();
//! let facts = ArtifactFacts {
//!     path: "dist/hello_windows_amd64.exe".into(),
//!     machine: Some(Machine::AMD64),
//!     subsystem: Some(Subsystem::WINDOWS_CUI),
//!     dll_characteristics: DllCharacteristics::DYNAMIC_BASE | DllCharacteristics::NX_COMPAT,
//!     signature_status: Some(SignatureStatus::Unsigned),
//!     ..ArtifactFacts::default()
//! };
//! let report = policy.evaluate(&[facts], None);
//! let failed: Vec<_> = report.failures().map(|r| r.rule.as_str()).collect();
//! assert_eq!(failed, ["signature.required"]);
//! assert!(report.results.iter().any(|r| r.rule.as_str() == "machine" && r.outcome == Outcome::Pass));
//! ```

mod check;
mod checksums;
mod eval;
pub mod imports;
pub mod render;
mod rules;
mod wire;

pub use checksums::{ChecksumList, parse_checksums};
pub use eval::Seen;
pub use pegate_facts::{
    DigestAlgorithm, DllCharacteristics, GoArch, GoOs, GoVersion, GuardFlags, Machine, Outcome,
    Recorded, SectionCharacteristics, SignatureStatus, Subsystem,
};
pub use rules::{RULES, RuleId, RuleInfo};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Everything that can go wrong reading a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TOML is malformed or holds an unknown key or a value of the wrong type.
    #[error("invalid policy: {message}")]
    Toml {
        /// What the TOML parser said, with line and column.
        message: String,
    },
    /// A glob in `[[artifact]] glob` does not parse.
    #[error("invalid policy: artifact rule {index}: bad glob `{glob}`: {message}")]
    Glob {
        /// Index of the `[[artifact]]` table, from 1.
        index: usize,
        /// The glob as written.
        glob: String,
        /// Why it does not parse.
        message: String,
    },
    /// A `go_version` range does not parse.
    #[error("invalid policy: artifact rule {index}: bad go_version range `{range}`: {message}")]
    VersionRange {
        /// Index of the `[[artifact]]` table, from 1.
        index: usize,
        /// The range as written.
        range: String,
        /// Why it does not parse.
        message: String,
    },
    /// A machine, subsystem, DllCharacteristics or digest name pegate does not know (the
    /// known names come from the type's table in pegate-facts).
    #[error(
        "invalid policy: artifact rule {index}: unknown {what} `{name}`; expected one of: {known}"
    )]
    UnknownName {
        /// Index of the `[[artifact]]` table, from 1.
        index: usize,
        /// `machine`, `subsystem`, `dll characteristic` or `signature digest`.
        what: &'static str,
        /// The name as written.
        name: String,
        /// The names pegate knows.
        known: String,
    },
    /// A `max_size` that is neither a number of bytes nor like `20 MiB`.
    #[error(
        "invalid policy: artifact rule {index}: bad max_size `{size}`: expected bytes or e.g. \"20 MiB\""
    )]
    Size {
        /// Index of the `[[artifact]]` table, from 1.
        index: usize,
        /// The size as written.
        size: String,
    },
    /// A checksums file line that is neither `<sha256>  <name>` nor blank.
    #[error("checksums file line {line}: expected `<sha256 hex>  <file name>`, got `{text}`")]
    ChecksumLine {
        /// Line number, from 1.
        line: usize,
        /// The line as written (truncated).
        text: String,
    },
}

/// What the policy says about signatures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SignaturePolicy {
    /// No requirement.
    #[default]
    Any,
    /// The artifact must carry a signature whose digest matches (and, with a trust bundle, is trusted).
    Required,
    /// The artifact must not be signed.
    Forbidden,
}

/// Required and forbidden DllCharacteristics flag names.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagRule {
    /// Flags that must be set (`DYNAMIC_BASE`, `NX_COMPAT`, ...).
    #[serde(default)]
    pub require: Vec<String>,
    /// Flags that must not be set.
    #[serde(default)]
    pub forbid: Vec<String>,
}

/// Whether a hardening property is required (`"required"`) or not judged (`"any"`, the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// Not judged.
    #[default]
    Any,
    /// The artifact must have it.
    Required,
}

/// Go build settings (`go version -m`'s `build` lines) that must or must not have a value.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsRule {
    /// Setting → the value it must have (`"-trimpath" = "true"`, `CGO_ENABLED = "0"`).
    #[serde(default)]
    pub require: BTreeMap<String, String>,
    /// Setting → a value it must not have (`"vcs.modified" = "true"`); an absent setting passes.
    #[serde(default)]
    pub forbid: BTreeMap<String, String>,
}

/// A size in bytes, written as a number or a string like `"20 MiB"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Size {
    /// Bytes.
    Bytes(u64),
    /// `"20 MiB"`, `"512 KiB"`, `"3MB"`.
    Text(String),
}

/// One `[[artifact]]` table: a glob and what matching artifacts must be.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactRule {
    /// Glob over the artifact path as given (or its file name): `dist/*_windows_amd64*.exe`.
    pub glob: String,
    /// COFF machine name: `AMD64`, `ARM64`, `I386`, `ARMNT`.
    pub machine: Option<String>,
    /// Subsystem name: `WINDOWS_CUI`, `WINDOWS_GUI`.
    pub subsystem: Option<String>,
    /// Required and forbidden DllCharacteristics.
    pub dll_characteristics: Option<FlagRule>,
    /// Signature requirement.
    #[serde(default)]
    pub signature: SignaturePolicy,
    /// With `signature = "required"`: a substring the signer's subject must contain.
    pub signer_subject: Option<String>,
    /// Go version range, e.g. `">=1.23, <1.28"`.
    pub go_version: Option<String>,
    /// Check that the GOOS/GOARCH in the file name agrees with the build info and the header.
    #[serde(default)]
    pub goarch_matches_name: bool,
    /// Maximum file size.
    pub max_size: Option<Size>,
    /// No section may be both writable and executable (`sections.wx`).
    #[serde(default)]
    pub forbid_wx_sections: bool,
    /// No writable section may be shared between processes (`sections.shared-writable`).
    #[serde(default)]
    pub forbid_shared_writable_sections: bool,
    /// Control Flow Guard instrumentation (`cfg.instrumented`).
    #[serde(default)]
    pub cfg: Requirement,
    /// CET shadow stack compatibility (`cet.compatible`).
    #[serde(default)]
    pub cet: Requirement,
    /// Digest algorithms no signature, nested or not, may use: `["sha1", "md5"]`
    /// (`signature.digest`).
    #[serde(default)]
    pub forbid_signature_digests: Vec<String>,
    /// Every signature must carry a valid timestamp (`signature.timestamped`).
    #[serde(default)]
    pub signature_timestamp: Requirement,
    /// Every signer certificate must stay valid this many days after the gate time
    /// (`signature.cert-expiry`).
    pub cert_min_days: Option<u32>,
    /// `"required"` turns `signature.cert-expiry` on with `cert_min_days` (default 30).
    #[serde(default)]
    pub cert_expiry: Requirement,
    /// The Go that built the binary is one of the two newest major releases (`go.supported`).
    #[serde(default)]
    pub go_supported: bool,
    /// Required and forbidden Go build settings (`go.settings`).
    pub go_settings: Option<SettingsRule>,
    /// Which DLLs the artifact may import (`imports.system-only`, `imports.deny`).
    pub imports: Option<ImportsRule>,
}

/// What an artifact may import: `imports = { allow = ["sqlite3.dll"], deny = ["ucrtbased.dll"] }`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportsRule {
    /// Every imported DLL is part of Windows ([`imports::is_system_dll`]) or matches `allow`
    /// (`imports.system-only`); default true.
    #[serde(default = "yes")]
    pub system_only: bool,
    /// DLLs (globs, ASCII case ignored) the release ships or may otherwise rely on.
    #[serde(default)]
    pub allow: Vec<String>,
    /// DLLs (globs, ASCII case ignored) no artifact may import, system or not, allowed or not
    /// (`imports.deny`): `["ucrtbased.dll", "vcruntime*d.dll"]`.
    #[serde(default)]
    pub deny: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Default for ImportsRule {
    fn default() -> ImportsRule {
        ImportsRule {
            system_only: true,
            allow: Vec::new(),
            deny: Vec::new(),
        }
    }
}

/// The default release policy, as TOML with its comments: what `pegate gate` judges without a
/// policy file, and what `pegate gate --print-default-policy` writes out.
pub const DEFAULT_POLICY: &str = include_str!("default-policy.toml");

/// `cert_min_days` when the policy says only `cert_expiry = "required"`.
pub const DEFAULT_CERT_MIN_DAYS: u32 = 30;

/// A whole policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// PEM CA bundle the signatures are checked against (path relative to the policy file).
    pub trust: Option<String>,
    /// A `sha256sum` / GoReleaser `checksums.txt` file every artifact must match.
    pub checksums: Option<String>,
    /// File names (or globs) that must be among the artifacts.
    #[serde(default)]
    pub expected: Vec<String>,
    /// Fail an artifact that no `[[artifact]]` rule matches.
    #[serde(default)]
    pub require_rule_match: bool,
    /// The per-artifact rules.
    #[serde(default, rename = "artifact")]
    pub artifacts: Vec<ArtifactRule>,
}

/// A parsed and validated policy, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file as written.
    pub file: PolicyFile,
    compiled: Vec<eval::CompiledRule>,
    expected: Vec<globset::GlobMatcher>,
}

/// The facts about one artifact that the policy judges; gathered by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtifactFacts {
    /// The path as the user gave or the walk found it.
    pub path: String,
    /// Why the artifact could not be read or parsed, if so; every other rule is then not applicable.
    pub error: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: Option<String>,
    /// The SHA-256 Authenticode image hash (the file without its CheckSum field, security
    /// directory entry and certificate table), lowercase hex: what `pegate build --sign` writes
    /// to `checksums.authenticode.txt`, the same before and after signing. `checksum.match`
    /// accepts it when `sha256` does not match; the caller fills it for signed files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_sha256: Option<String>,
    /// SHA-256 of the file as it was before it was signed, rebuilt from the signed file: the
    /// certificate table (and the zero padding that aligned it) removed, the security directory
    /// entry and the CheckSum field zeroed. Exact for files whose linker wrote CheckSum 0 (Go's
    /// does); `checksum.match` accepts it when `sha256` does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsigned_sha256: Option<String>,
    /// `PE32` or `PE32+`.
    pub format: Option<String>,
    /// COFF machine.
    pub machine: Option<Machine>,
    /// Subsystem.
    pub subsystem: Option<Subsystem>,
    /// DllCharacteristics (serialised as the list of set flag names).
    #[serde(with = "wire::flag_names")]
    pub dll_characteristics: DllCharacteristics,
    /// The Authenticode verdict.
    pub signature_status: Option<SignatureStatus>,
    /// Subjects of the signers of every signature.
    pub signer_subjects: Vec<String>,
    /// Go version from the build info (`go1.27.3`), if a Go binary; kept as written when it
    /// does not read as a version.
    pub go_version: Option<Recorded<GoVersion>>,
    /// GOOS from the build info.
    pub goos: Option<Recorded<GoOs>>,
    /// GOARCH from the build info.
    pub goarch: Option<Recorded<GoArch>>,
    /// The section table, with each section's raw characteristics.
    #[serde(default)]
    pub sections: Vec<SectionFacts>,
    /// Load config `GuardFlags`, when the file has a load config that reaches that field
    /// (serialised as the raw number).
    #[serde(default, with = "wire::raw_option")]
    pub guard_flags: Option<GuardFlags>,
    /// Whether the extended DLL characteristics debug entry sets CETCOMPAT (`Some(false)` when
    /// there is no such entry); `None` when the debug directory could not be read.
    pub cet_compat: Option<bool>,
    /// Every signature, outer ones first, each followed by its nested ones.
    #[serde(default)]
    pub signatures: Vec<SignatureFacts>,
    /// Go build settings (`-trimpath`, `CGO_ENABLED`, `vcs.modified`, ...), in recorded order.
    #[serde(default)]
    pub go_settings: Vec<(String, String)>,
    /// The imported DLLs, when the import tables were read (the gate reads them when a rule
    /// judges imports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imports: Option<ImportFacts>,
}

/// What the import and delay-import tables say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFacts {
    /// Every imported DLL, in table order.
    pub dlls: Vec<DllImport>,
    /// Why (part of) the tables could not be read; empty when they were read whole.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// One imported DLL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DllImport {
    /// The name as the table writes it.
    pub name: String,
    /// Whether it is delay-loaded.
    pub delay: bool,
}

/// One section: its name and `Characteristics` (`IMAGE_SCN_*`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionFacts {
    /// The section name.
    pub name: String,
    /// The characteristics (serialised as the raw number).
    #[serde(with = "wire::raw")]
    pub characteristics: SectionCharacteristics,
}

/// One Authenticode signature, as the signature rules judge it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFacts {
    /// Whether it is nested inside another signature.
    pub nested: bool,
    /// Its digest algorithm (`sha256`, `sha1`, `md5`), when readable; a name outside the
    /// table is kept as the signature gives it.
    pub digest_algorithm: Option<Recorded<DigestAlgorithm>>,
    /// The signer (leaf) certificate's subject.
    pub signer_subject: Option<String>,
    /// The signer certificate's `notAfter`, Unix seconds.
    pub signer_not_after: Option<i64>,
    /// Its countersignatures and RFC 3161 timestamps.
    #[serde(default)]
    pub timestamps: Vec<TimestampFacts>,
}

/// One countersignature or RFC 3161 timestamp.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimestampFacts {
    /// The time stamped, Unix seconds.
    pub time: i64,
    /// Whether its signature verifies and matches the signature it stamps.
    pub valid: bool,
}

/// What the evaluation needs beyond the policy and the artifacts: the gate time and the Go
/// release table. The policy crate reads no clock and no file; the caller passes both in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Context {
    /// Gate time, Unix seconds; without it `signature.cert-expiry` is not applicable.
    pub now: Option<i64>,
    /// Go major releases (`(1, 27)`), newest first; without it `go.supported` is not applicable.
    pub go_releases: Vec<(u64, u64)>,
}

impl Context {
    /// A context with neither a gate time nor a release table.
    pub fn new() -> Context {
        Context::default()
    }

    /// Sets the gate time (Unix seconds).
    pub fn with_now(mut self, now: i64) -> Context {
        self.now = Some(now);
        self
    }

    /// Sets the Go release table: major releases such as `"1.27"`, newest first; entries that
    /// do not read as `MAJOR.MINOR` are skipped.
    pub fn with_go_releases<'a>(mut self, releases: impl IntoIterator<Item = &'a str>) -> Context {
        self.go_releases = releases
            .into_iter()
            .filter_map(|r| {
                let (major, minor) = r.parse::<GoVersion>().ok()?.release();
                Some((u64::from(major), u64::from(minor)))
            })
            .collect();
        self
    }
}

/// One rule's result for one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleResult {
    /// The artifact path (or, for `artifact.expected`, the expected name).
    pub artifact: String,
    /// The stable rule id.
    pub rule: RuleId,
    /// Pass, fail or not applicable.
    pub outcome: Outcome,
    /// What was expected and found, or why the rule does not apply.
    pub message: String,
}

/// Every result of a policy evaluation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// Results in artifact order, then rule order.
    pub results: Vec<RuleResult>,
}

impl Report {
    /// The failed results.
    pub fn failures(&self) -> impl Iterator<Item = &RuleResult> {
        self.results.iter().filter(|r| r.outcome == Outcome::Fail)
    }

    /// Whether any rule failed.
    pub fn failed(&self) -> bool {
        self.failures().next().is_some()
    }

    /// Counts of pass, fail and not-applicable results.
    pub fn counts(&self) -> BTreeMap<Outcome, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.results {
            let n: &mut usize = counts.entry(r.outcome).or_default();
            *n = n.saturating_add(1);
        }
        counts
    }
}

impl Policy {
    /// Parses and validates a policy from TOML text.
    pub fn from_toml(text: &str) -> Result<Policy, Error> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| Error::Toml {
            message: e.to_string().trim_end().to_owned(),
        })?;
        Policy::new(file)
    }

    /// The default release policy ([`DEFAULT_POLICY`]); its tests hold it to parsing.
    pub fn default_release() -> Result<Policy, Error> {
        Policy::from_toml(DEFAULT_POLICY)
    }

    /// Validates a parsed policy file: globs, version ranges, names and sizes.
    pub fn new(file: PolicyFile) -> Result<Policy, Error> {
        let compiled = file
            .artifacts
            .iter()
            .enumerate()
            .map(|(i, rule)| eval::CompiledRule::new(i.saturating_add(1), rule))
            .collect::<Result<Vec<_>, _>>()?;
        let expected = file
            .expected
            .iter()
            .map(|g| eval::compile_glob(0, g))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy {
            file,
            compiled,
            expected,
        })
    }

    /// Whether some rule judges imports, so the caller must read the import tables
    /// ([`ArtifactFacts::imports`]).
    pub fn needs_imports(&self) -> bool {
        self.file.artifacts.iter().any(|r| r.imports.is_some())
    }

    /// Judges every artifact; `checksums` is the parsed checksums file when the policy names one.
    pub fn evaluate(
        &self,
        artifacts: &[ArtifactFacts],
        checksums: Option<&ChecksumList>,
    ) -> Report {
        eval::evaluate(self, artifacts, checksums, &Context::default())
    }

    /// [`Policy::evaluate`] with a gate time and a Go release table, which the certificate
    /// expiry and supported-Go rules need.
    pub fn evaluate_with(
        &self,
        artifacts: &[ArtifactFacts],
        checksums: Option<&ChecksumList>,
        context: &Context,
    ) -> Report {
        eval::evaluate(self, artifacts, checksums, context)
    }
}
