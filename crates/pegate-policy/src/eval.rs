//! Evaluation: the policy compiled once (names turned into values), then one result per
//! artifact and check; the per-rule checks are in [`crate::check`].

use std::str::FromStr;

use globset::{Glob, GlobMatcher};
use pegate_facts::{DigestAlgorithm, DllCharacteristics, Machine, Subsystem};
use semver::VersionReq;

use crate::check::{CHECKS, Case, or_unknown};
use crate::{
    ArtifactFacts, ArtifactRule, ChecksumList, Context, Error, Outcome, Policy, Report, RuleId,
    RuleResult, Size,
};

/// An `[[artifact]]` rule with its names turned into values, once, when the policy is built.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) matcher: GlobMatcher,
    pub(crate) go_version: Option<VersionReq>,
    pub(crate) max_size: Option<u64>,
    pub(crate) machine: Option<Machine>,
    pub(crate) subsystem: Option<Subsystem>,
    /// Each required and each forbidden DllCharacteristics flag, in the policy's order.
    pub(crate) dll_require: Vec<DllCharacteristics>,
    pub(crate) dll_forbid: Vec<DllCharacteristics>,
    /// `forbid_signature_digests`, in the policy's order.
    pub(crate) forbidden_digests: Vec<DigestAlgorithm>,
    /// The `imports` table with its globs compiled.
    pub(crate) imports: Option<crate::imports::CompiledImports>,
}

pub(crate) fn compile_glob(index: usize, glob: &str) -> Result<GlobMatcher, Error> {
    Glob::new(glob)
        .map(|g| g.compile_matcher())
        .map_err(|e| Error::Glob {
            index,
            glob: glob.to_owned(),
            message: e.kind().to_string(),
        })
}

/// Parses a name with its type's table; the error lists that table's names.
fn parse_name<T>(index: usize, name: &str) -> Result<T, Error>
where
    T: FromStr<Err = pegate_facts::Error>,
{
    name.parse().map_err(|e| match e {
        pegate_facts::Error::UnknownName { what, name, known } => Error::UnknownName {
            index,
            what,
            name,
            known: known.join(", "),
        },
        // Only the Go version parser says anything else, and no rule names a version that way.
        other => Error::UnknownName {
            index,
            what: "name",
            name: name.to_owned(),
            known: other.to_string(),
        },
    })
}

/// Parses `"20 MiB"`, `"512KiB"`, `"3 MB"`, `"1000"`.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = number * factor;
    (0.0..1.8e19).contains(&bytes).then_some(bytes as u64)
}

impl CompiledRule {
    pub(crate) fn new(index: usize, rule: &ArtifactRule) -> Result<CompiledRule, Error> {
        let matcher = compile_glob(index, &rule.glob)?;
        let machine = rule
            .machine
            .as_deref()
            .map(|m| parse_name(index, m))
            .transpose()?;
        let subsystem = rule
            .subsystem
            .as_deref()
            .map(|s| parse_name(index, s))
            .transpose()?;
        let (mut dll_require, mut dll_forbid) = (Vec::new(), Vec::new());
        if let Some(flags) = &rule.dll_characteristics {
            for (names, parsed) in [
                (&flags.require, &mut dll_require),
                (&flags.forbid, &mut dll_forbid),
            ] {
                for f in names {
                    parsed.push(parse_name(index, f)?);
                }
            }
        }
        let go_version = rule
            .go_version
            .as_deref()
            .map(|range| {
                let normalized = range.replace("go", "");
                VersionReq::parse(&normalized).map_err(|e| Error::VersionRange {
                    index,
                    range: range.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()?;
        let max_size = match &rule.max_size {
            None => None,
            Some(Size::Bytes(n)) => Some(*n),
            Some(Size::Text(t)) => Some(parse_size(t).ok_or_else(|| Error::Size {
                index,
                size: t.clone(),
            })?),
        };
        let forbidden_digests = rule
            .forbid_signature_digests
            .iter()
            .map(|d| parse_name(index, d))
            .collect::<Result<Vec<DigestAlgorithm>, Error>>()?;
        let imports = rule
            .imports
            .as_ref()
            .map(|i| crate::imports::CompiledImports::new(index, i))
            .transpose()?;
        Ok(CompiledRule {
            imports,
            matcher,
            go_version,
            max_size,
            machine,
            subsystem,
            dll_require,
            dll_forbid,
            forbidden_digests,
        })
    }

    fn matches(&self, path: &str) -> bool {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        self.matcher.is_match(path) || self.matcher.is_match(name)
    }
}

/// Where the checks put their results, for one artifact.
pub(crate) struct Out<'a> {
    artifact: &'a str,
    results: &'a mut Vec<RuleResult>,
}

impl Out<'_> {
    pub(crate) fn push(&mut self, rule: RuleId, outcome: Outcome, message: impl Into<String>) {
        self.results.push(RuleResult {
            artifact: self.artifact.to_owned(),
            rule,
            outcome,
            message: message.into(),
        });
    }

    /// Pushes a pass with the `pass` message when `ok`, else a fail with the `fail` message.
    pub(crate) fn check(
        &mut self,
        rule: RuleId,
        ok: bool,
        pass: impl Into<String>,
        fail: impl Into<String>,
    ) {
        if ok {
            self.push(rule, Outcome::Pass, pass);
        } else {
            self.push(rule, Outcome::Fail, fail);
        }
    }
}

/// Judges every artifact with every rule whose glob matches it, then the artifact list with
/// `expected`: [`Policy::evaluate_artifact`] per artifact, then [`Policy::expected_results`].
pub(crate) fn evaluate(
    policy: &Policy,
    artifacts: &[ArtifactFacts],
    checksums: Option<&ChecksumList>,
    context: &Context,
) -> Report {
    let mut results = Vec::new();
    let mut seen = Seen::default();
    for a in artifacts {
        results.extend(policy.evaluate_artifact(a, checksums, context));
        policy.see(&mut seen, &a.path);
    }
    results.extend(policy.expected_results(&seen));
    Report { results }
}

/// Which of a policy's `expected` names the artifacts judged so far match: what
/// `artifact.expected` needs of them, whatever their number. Filled by [`Policy::see`]; the
/// parts a parallel caller keeps per thread are joined with [`Seen::merge`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    /// One flag per `expected` entry (empty until an artifact is seen).
    present: Vec<bool>,
}

impl Seen {
    /// Adds what `other` saw.
    pub fn merge(&mut self, other: &Seen) {
        if self.present.len() < other.present.len() {
            self.present.resize(other.present.len(), false);
        }
        for (mine, theirs) in self.present.iter_mut().zip(&other.present) {
            *mine |= *theirs;
        }
    }
}

impl Policy {
    /// Every result for one artifact (`artifact.readable`, each matching rule's checks,
    /// `artifact.rule-match`, `checksum.match`), in rule order: the results
    /// [`Policy::evaluate_with`] gives it, for a caller that judges artifacts one at a time and
    /// keeps none of their facts.
    pub fn evaluate_artifact(
        &self,
        artifact: &ArtifactFacts,
        checksums: Option<&ChecksumList>,
        context: &Context,
    ) -> Vec<RuleResult> {
        let mut results = Vec::new();
        let mut out = Out {
            artifact: &artifact.path,
            results: &mut results,
        };
        evaluate_artifact(self, artifact, checksums, context, &mut out);
        results
    }

    /// Records in `seen` which `expected` names the artifact at `path` matches (by its path or
    /// its file name).
    pub fn see(&self, seen: &mut Seen, path: &str) {
        if seen.present.len() < self.expected.len() {
            seen.present.resize(self.expected.len(), false);
        }
        for (present, matcher) in seen.present.iter_mut().zip(&self.expected) {
            *present = *present || matches_path(matcher, path);
        }
    }

    /// The `artifact.expected` results, one per `expected` name, once every artifact is seen.
    pub fn expected_results(&self, seen: &Seen) -> Vec<RuleResult> {
        self.file
            .expected
            .iter()
            .enumerate()
            .map(|(i, name)| expected(name, seen.present.get(i).copied().unwrap_or(false)))
            .collect()
    }
}

/// `artifact.readable`, then every matching rule's checks, `artifact.rule-match` and
/// `checksum.match`.
fn evaluate_artifact(
    policy: &Policy,
    a: &ArtifactFacts,
    checksums: Option<&ChecksumList>,
    context: &Context,
    out: &mut Out<'_>,
) {
    if let Some(err) = &a.error {
        out.push(RuleId::Readable, Outcome::Fail, err.clone());
        return;
    }
    out.push(
        RuleId::Readable,
        Outcome::Pass,
        format!("{} {}", or_unknown(&a.format), or_unknown(&a.machine)),
    );
    let mut matched = false;
    for (rule, compiled) in policy.file.artifacts.iter().zip(&policy.compiled) {
        if !compiled.matches(&a.path) {
            continue;
        }
        matched = true;
        let case = Case {
            rule,
            compiled,
            facts: a,
            context,
            trust: policy.file.trust.is_some(),
        };
        for check in CHECKS {
            check(&case, out);
        }
    }
    if policy.file.require_rule_match {
        out.check(
            RuleId::RuleMatch,
            matched,
            "matched by an [[artifact]] rule",
            "no [[artifact]] rule matches this file",
        );
    }
    if let Some(list) = checksums {
        checksum(list, a, out);
    }
}

/// `checksum.match`.
fn checksum(list: &ChecksumList, a: &ArtifactFacts, out: &mut Out<'_>) {
    match (list.lookup(&a.path), a.sha256.as_deref()) {
        (None, _) => out.push(
            RuleId::Checksum,
            Outcome::Fail,
            "not listed in the checksums file",
        ),
        (Some(_), None) => out.push(
            RuleId::Checksum,
            Outcome::NotApplicable,
            "the artifact's hash is unknown",
        ),
        (Some(want), Some(got)) => {
            let same =
                |h: &Option<String>| h.as_deref().is_some_and(|h| want.eq_ignore_ascii_case(h));
            if want.eq_ignore_ascii_case(got) {
                out.push(
                    RuleId::Checksum,
                    Outcome::Pass,
                    "sha256 matches the checksums file",
                );
            } else if same(&a.image_sha256) {
                out.push(
                    RuleId::Checksum,
                    Outcome::Pass,
                    "matched via the Authenticode image hash: the checksums file lists the hash \
                     the signature covers (checksums.authenticode.txt), which signing leaves as it was",
                );
            } else if same(&a.unsigned_sha256) {
                out.push(
                    RuleId::Checksum,
                    Outcome::Pass,
                    "matched via the image before signing: the file without its signature \
                     (certificate table removed, security directory and CheckSum zeroed) has the \
                     checksums file's sha256; it was signed after the checksum was taken",
                );
            } else {
                out.push(
                    RuleId::Checksum,
                    Outcome::Fail,
                    format!("sha256 is {got}, the checksums file says {want}"),
                );
            }
        }
    }
}

/// Whether `matcher` matches `path` or its file name.
fn matches_path(matcher: &GlobMatcher, path: &str) -> bool {
    let file = path.rsplit(['/', '\\']).next().unwrap_or(path);
    matcher.is_match(path) || matcher.is_match(file)
}

/// `artifact.expected`: whether some artifact's path or file name matched `name`'s glob.
fn expected(name: &str, present: bool) -> RuleResult {
    let (outcome, message) = if present {
        (Outcome::Pass, format!("`{name}` is present"))
    } else {
        (
            Outcome::Fail,
            format!("expected artifact `{name}` is missing"),
        )
    };
    RuleResult {
        artifact: name.to_owned(),
        rule: RuleId::Expected,
        outcome,
        message,
    }
}
