//! Evaluation: one result per artifact and check.

use std::fmt::Display;
use std::str::FromStr;

use globset::{Glob, GlobMatcher};
use pegate_facts::{
    DllCharacteristics, GoArch, GoOs, GoVersion, GuardFlags, Machine, SectionCharacteristics,
    SignatureStatus, Subsystem,
};
use semver::{Version, VersionReq};

use crate::{
    ArtifactFacts, ArtifactRule, ChecksumList, Context, DEFAULT_CERT_MIN_DAYS, Error, Outcome,
    Policy, Report, Requirement, RuleId, RuleResult, SignaturePolicy, Size,
};

/// Digest algorithm names `forbid_signature_digests` accepts (authenticode-parser's, lowercase).
const DIGESTS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

const SECONDS_PER_DAY: i64 = 86_400;

/// A digest name as `forbid_signature_digests` and the signature facts compare it: lowercase,
/// no dash (`SHA-1` and `sha1` agree).
fn digest_key(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "")
}

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

fn check_name(index: usize, what: &'static str, name: &str, known: &[&str]) -> Result<(), Error> {
    if known.contains(&name) {
        Ok(())
    } else {
        Err(Error::UnknownName {
            index,
            what,
            name: name.to_owned(),
            known: known.join(", "),
        })
    }
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

/// A Go version as semver, for `go_version` ranges (`go1.27rc1` is `1.27.0-rc1`).
fn go_semver(v: &GoVersion) -> Option<Version> {
    let (major, minor, patch) = v.numbers();
    let mut sv = Version::new(major.into(), minor.into(), patch.into());
    if let Some(pre) = v.pre() {
        sv.pre = semver::Prerelease::new(pre).ok()?;
    }
    Some(sv)
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
        for d in &rule.forbid_signature_digests {
            check_name(index, "signature digest", &digest_key(d), DIGESTS)?;
        }
        Ok(CompiledRule {
            matcher,
            go_version,
            max_size,
            machine,
            subsystem,
            dll_require,
            dll_forbid,
        })
    }

    fn matches(&self, path: &str) -> bool {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        self.matcher.is_match(path) || self.matcher.is_match(name)
    }
}

struct Out<'a> {
    artifact: &'a str,
    results: &'a mut Vec<RuleResult>,
}

impl Out<'_> {
    fn push(&mut self, rule: RuleId, outcome: Outcome, message: impl Into<String>) {
        self.results.push(RuleResult {
            artifact: self.artifact.to_owned(),
            rule,
            outcome,
            message: message.into(),
        });
    }

    fn check(&mut self, rule: RuleId, ok: bool, pass: impl Into<String>, fail: impl Into<String>) {
        if ok {
            self.push(rule, Outcome::Pass, pass);
        } else {
            self.push(rule, Outcome::Fail, fail);
        }
    }
}

/// A fact as the messages print it: `unknown` when the artifact did not say.
fn or_unknown<T: Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "unknown".to_owned(), ToString::to_string)
}

/// Joins values by their printed names.
fn join<T: Display>(values: impl IntoIterator<Item = T>, sep: &str) -> String {
    values
        .into_iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(sep)
}

/// GOOS/GOARCH named in a file name, as `_windows_amd64` / `-windows-arm64.exe` / `windows_386`:
/// the GOOS when the name says Windows, and the GOARCH (a Windows port's, Go's name or a
/// common alias).
pub(crate) fn target_from_name(path: &str) -> Option<(Option<GoOs>, GoArch)> {
    let name = path
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    let tokens: Vec<&str> = name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let goos = tokens
        .iter()
        .any(|t| *t == "windows" || *t == "win")
        .then_some(GoOs::Windows);
    let goarch = GoArch::ALL
        .iter()
        .copied()
        .filter(|arch| arch.machine().is_some())
        .find(|arch| tokens.iter().any(|t| *t == arch.as_str()))
        .or_else(|| {
            tokens.iter().find_map(|t| match *t {
                "x86_64" | "x64" => Some(GoArch::Amd64),
                "aarch64" => Some(GoArch::Arm64),
                "i386" | "x86" => Some(GoArch::I386),
                _ => None,
            })
        })?;
    Some((goos, goarch))
}

/// `trust`: the policy names a trust bundle, so `signed-untrusted` is not good enough.
fn evaluate_rule(
    rule: &ArtifactRule,
    compiled: &CompiledRule,
    a: &ArtifactFacts,
    trust: bool,
    out: &mut Out<'_>,
) {
    if let Some(want) = compiled.machine {
        let got = or_unknown(&a.machine);
        out.check(
            RuleId::Machine,
            a.machine == Some(want),
            format!("machine is {got}"),
            format!("machine is {got}, the policy wants {want}"),
        );
    }
    if let Some(want) = compiled.subsystem {
        let got = or_unknown(&a.subsystem);
        out.check(
            RuleId::Subsystem,
            a.subsystem == Some(want),
            format!("subsystem is {got}"),
            format!("subsystem is {got}, the policy wants {want}"),
        );
    }
    let has = |f: &&DllCharacteristics| a.dll_characteristics.contains(**f);
    if !compiled.dll_require.is_empty() {
        let missing = compiled.dll_require.iter().filter(|f| !has(f));
        out.check(
            RuleId::DllRequired,
            missing.clone().next().is_none(),
            format!("has {}", join(&compiled.dll_require, ", ")),
            format!("missing {}", join(missing, ", ")),
        );
    }
    if !compiled.dll_forbid.is_empty() {
        let present = compiled.dll_forbid.iter().filter(has);
        out.check(
            RuleId::DllForbidden,
            present.clone().next().is_none(),
            format!("has none of {}", join(&compiled.dll_forbid, ", ")),
            format!("has forbidden {}", join(present, ", ")),
        );
    }
    let status = a.signature_status;
    match rule.signature {
        SignaturePolicy::Any => {}
        SignaturePolicy::Required => {
            let (ok, why) = match status {
                Some(SignatureStatus::SignedValid) => {
                    (true, "signed; the digest matches and the chain is trusted")
                }
                Some(SignatureStatus::SignedUntrusted) if trust => (
                    false,
                    "signed and the digest matches, but the chain does not reach the policy's trust bundle",
                ),
                Some(SignatureStatus::SignedUntrusted) => (
                    true,
                    "signed and the digest matches (no trust bundle in the policy, chain not judged)",
                ),
                Some(SignatureStatus::Unsigned) => (false, "not signed"),
                Some(SignatureStatus::SignedInvalid) => (
                    false,
                    "signed, but the digest does not match: the file changed after signing",
                ),
                Some(SignatureStatus::Error) => {
                    (false, "a signature is present but cannot be parsed")
                }
                None => (false, "the signature status is unknown"),
            };
            out.check(
                RuleId::SignatureRequired,
                ok,
                why,
                format!("signature required: {why}"),
            );
            if let Some(subject) = &rule.signer_subject {
                if a.signer_subjects.is_empty() {
                    out.push(
                        RuleId::SignerSubject,
                        Outcome::Fail,
                        format!("no signer; the policy wants a subject containing `{subject}`"),
                    );
                } else {
                    let found = a
                        .signer_subjects
                        .iter()
                        .find(|s| s.contains(subject.as_str()));
                    out.check(
                        RuleId::SignerSubject,
                        found.is_some(),
                        format!("signer `{}`", found.map(String::as_str).unwrap_or_default()),
                        format!(
                            "no signer subject contains `{subject}` (signers: {})",
                            a.signer_subjects.join("; ")
                        ),
                    );
                }
            }
        }
        SignaturePolicy::Forbidden => out.check(
            RuleId::SignatureForbidden,
            status == Some(SignatureStatus::Unsigned),
            "not signed",
            format!(
                "signatures are forbidden, the artifact is {}",
                or_unknown(&status)
            ),
        ),
    }
    if let Some(req) = &compiled.go_version {
        match &a.go_version {
            None => out.push(
                RuleId::GoVersion,
                Outcome::NotApplicable,
                "no Go build info in the file",
            ),
            Some(v) => match v.known().and_then(go_semver) {
                None => out.push(
                    RuleId::GoVersion,
                    Outcome::Fail,
                    format!("cannot read Go version `{v}`"),
                ),
                Some(sv) => out.check(
                    RuleId::GoVersion,
                    req.matches(&sv),
                    format!("{v} is in {req}"),
                    format!("{v} is outside {req}"),
                ),
            },
        }
    }
    if rule.goarch_matches_name {
        match target_from_name(&a.path) {
            None => out.push(
                RuleId::GoTargetName,
                Outcome::NotApplicable,
                "the file name names no GOARCH",
            ),
            Some((os, arch)) => {
                let mut problems = Vec::new();
                if let Some(os) = os
                    && a.goos.as_ref().is_some_and(|g| *g != os)
                {
                    problems.push(format!(
                        "name says {os}, build info says GOOS={}",
                        or_unknown(&a.goos)
                    ));
                }
                if let Some(g) = a.goarch.as_ref().filter(|g| **g != arch) {
                    problems.push(format!("name says {arch}, build info says GOARCH={g}"));
                }
                if let (Some(want), Some(got)) = (arch.machine(), a.machine)
                    && want != got
                {
                    problems.push(format!("name says {arch}, the PE machine is {got}"));
                }
                out.check(
                    RuleId::GoTargetName,
                    problems.is_empty(),
                    format!("name, build info and header agree on {arch}"),
                    problems.join("; "),
                );
            }
        }
    }
    if let Some(max) = compiled.max_size {
        match a.size {
            None => out.push(RuleId::MaxSize, Outcome::NotApplicable, "size unknown"),
            Some(size) => out.check(
                RuleId::MaxSize,
                size <= max,
                format!("{size} bytes ≤ {max}"),
                format!("{size} bytes > max_size {max}"),
            ),
        }
    }
}

pub(crate) fn evaluate(
    policy: &Policy,
    artifacts: &[ArtifactFacts],
    checksums: Option<&ChecksumList>,
    context: &Context,
) -> Report {
    let trust = policy.file.trust.is_some();
    let mut results = Vec::new();
    for a in artifacts {
        let mut out = Out {
            artifact: &a.path,
            results: &mut results,
        };
        if let Some(err) = &a.error {
            out.push(RuleId::Readable, Outcome::Fail, err.clone());
            continue;
        }
        out.push(
            RuleId::Readable,
            Outcome::Pass,
            format!("{} {}", or_unknown(&a.format), or_unknown(&a.machine)),
        );
        let mut matched = false;
        for (rule, compiled) in policy.file.artifacts.iter().zip(&policy.compiled) {
            if compiled.matches(&a.path) {
                matched = true;
                evaluate_rule(rule, compiled, a, trust, &mut out);
                hardening(rule, a, &mut out);
                signing(rule, a, context, &mut out);
                go_rules(rule, a, context, &mut out);
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
                (Some(want), Some(got)) => out.check(
                    RuleId::Checksum,
                    want.eq_ignore_ascii_case(got),
                    "sha256 matches the checksums file",
                    format!("sha256 is {got}, the checksums file says {want}"),
                ),
            }
        }
    }
    for (name, matcher) in policy.file.expected.iter().zip(&policy.expected) {
        let present = artifacts.iter().any(|a| {
            let file = a.path.rsplit(['/', '\\']).next().unwrap_or(&a.path);
            matcher.is_match(&a.path) || matcher.is_match(file)
        });
        results.push(RuleResult {
            artifact: name.clone(),
            rule: RuleId::Expected,
            outcome: if present {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            message: if present {
                format!("`{name}` is present")
            } else {
                format!("expected artifact `{name}` is missing")
            },
        });
    }
    Report { results }
}

/// `sections.wx`, `sections.shared-writable`, `cfg.instrumented`, `cet.compatible`.
fn hardening(rule: &ArtifactRule, a: &ArtifactFacts, out: &mut Out<'_>) {
    let sections_with = |bits: SectionCharacteristics| -> Vec<&str> {
        a.sections
            .iter()
            .filter(|s| s.characteristics.contains(bits))
            .map(|s| s.name.as_str())
            .collect()
    };
    let mut section_rule = |id: RuleId, bits: SectionCharacteristics, what: &str| {
        if a.sections.is_empty() {
            out.push(id, Outcome::NotApplicable, "the file has no sections");
            return;
        }
        let found = sections_with(bits);
        out.check(
            id,
            found.is_empty(),
            format!("no {what} section among {}", a.sections.len()),
            format!("{what} sections: {}", found.join(", ")),
        );
    };
    if rule.forbid_wx_sections {
        section_rule(
            RuleId::SectionsWx,
            SectionCharacteristics::MEM_WRITE | SectionCharacteristics::MEM_EXECUTE,
            "writable and executable",
        );
    }
    if rule.forbid_shared_writable_sections {
        section_rule(
            RuleId::SectionsSharedWritable,
            SectionCharacteristics::MEM_WRITE | SectionCharacteristics::MEM_SHARED,
            "writable shared",
        );
    }
    if rule.cfg == Requirement::Required {
        match a.guard_flags {
            None => out.push(
                RuleId::CfgInstrumented,
                Outcome::NotApplicable,
                "no load config with GuardFlags in the file",
            ),
            Some(flags) => out.check(
                RuleId::CfgInstrumented,
                flags.contains(GuardFlags::CF_INSTRUMENTED),
                format!("GuardFlags {:#x} has CF_INSTRUMENTED", flags.raw),
                format!(
                    "GuardFlags {:#x} lacks CF_INSTRUMENTED: no Control Flow Guard",
                    flags.raw
                ),
            ),
        }
    }
    if rule.cet == Requirement::Required {
        // CET shadow stacks exist on x86 and x64 only.
        let cet_machine = matches!(a.machine, Some(Machine::AMD64 | Machine::I386));
        match a.cet_compat {
            _ if !cet_machine => out.push(
                RuleId::CetCompatible,
                Outcome::NotApplicable,
                format!(
                    "CET shadow stacks exist on AMD64 and I386 only, the machine is {}",
                    or_unknown(&a.machine)
                ),
            ),
            None => out.push(
                RuleId::CetCompatible,
                Outcome::NotApplicable,
                "the debug directory could not be read",
            ),
            Some(cet) => out.check(
                RuleId::CetCompatible,
                cet,
                "the extended DLL characteristics debug entry sets CETCOMPAT",
                "no CETCOMPAT: no extended DLL characteristics debug entry sets it",
            ),
        }
    }
}

/// `signature.digest`, `signature.timestamped`, `signature.cert-expiry`: not applicable to an
/// unsigned artifact (whether it must be signed is `signature.required`'s business).
fn signing(rule: &ArtifactRule, a: &ArtifactFacts, context: &Context, out: &mut Out<'_>) {
    let min_days = match (rule.cert_min_days, rule.cert_expiry) {
        (Some(days), _) => Some(days),
        (None, Requirement::Required) => Some(DEFAULT_CERT_MIN_DAYS),
        (None, Requirement::Any) => None,
    };
    let wanted = [
        (!rule.forbid_signature_digests.is_empty()).then_some(RuleId::SignatureDigest),
        (rule.signature_timestamp == Requirement::Required).then_some(RuleId::SignatureTimestamped),
        min_days.map(|_| RuleId::CertExpiry),
    ];
    if a.signatures.is_empty() {
        for id in wanted.into_iter().flatten() {
            out.push(id, Outcome::NotApplicable, "not signed");
        }
        return;
    }
    let label = |i: usize| {
        let s = a.signatures.get(i);
        format!(
            "signature {}{}",
            i.saturating_add(1),
            if s.is_some_and(|s| s.nested) {
                " (nested)"
            } else {
                ""
            }
        )
    };
    if !rule.forbid_signature_digests.is_empty() {
        let forbidden: Vec<String> = rule
            .forbid_signature_digests
            .iter()
            .map(|d| digest_key(d))
            .collect();
        let mut problems = Vec::new();
        for (i, s) in a.signatures.iter().enumerate() {
            match s.digest_algorithm.as_deref().map(digest_key) {
                None => problems.push(format!("{}: digest algorithm unreadable", label(i))),
                Some(d) if forbidden.contains(&d) => {
                    problems.push(format!("{} uses {d}", label(i)));
                }
                Some(_) => {}
            }
        }
        let used: Vec<&str> = a
            .signatures
            .iter()
            .filter_map(|s| s.digest_algorithm.as_deref())
            .collect();
        out.check(
            RuleId::SignatureDigest,
            problems.is_empty(),
            format!("digests: {}", used.join(", ")),
            problems.join("; "),
        );
    }
    if rule.signature_timestamp == Requirement::Required {
        let mut problems = Vec::new();
        for (i, s) in a.signatures.iter().enumerate() {
            if s.timestamps.is_empty() {
                problems.push(format!("{} has no timestamp", label(i)));
            } else if !s.timestamps.iter().any(|t| t.valid) {
                problems.push(format!("{}: no timestamp verifies", label(i)));
            }
        }
        out.check(
            RuleId::SignatureTimestamped,
            problems.is_empty(),
            format!(
                "{} signature(s), each with a valid timestamp",
                a.signatures.len()
            ),
            problems.join("; "),
        );
    }
    if let Some(days) = min_days {
        let Some(now) = context.now else {
            out.push(
                RuleId::CertExpiry,
                Outcome::NotApplicable,
                "no gate time given",
            );
            return;
        };
        let need = now.saturating_add(i64::from(days).saturating_mul(SECONDS_PER_DAY));
        let mut problems = Vec::new();
        let mut least: Option<i64> = None;
        for (i, s) in a.signatures.iter().enumerate() {
            match s.signer_not_after {
                None => problems.push(format!("{}: no signer certificate", label(i))),
                Some(not_after) => {
                    let left = not_after.saturating_sub(now).div_euclid(SECONDS_PER_DAY);
                    least = Some(least.map_or(left, |l| l.min(left)));
                    if not_after < now {
                        problems.push(format!(
                            "{}: signer certificate expired {} days ago",
                            label(i),
                            left.saturating_neg()
                        ));
                    } else if not_after < need {
                        problems.push(format!(
                            "{}: signer certificate expires in {left} days, the policy wants at least {days}",
                            label(i)
                        ));
                    }
                }
            }
        }
        out.check(
            RuleId::CertExpiry,
            problems.is_empty(),
            format!(
                "every signer certificate is valid for {} more days (≥ {days})",
                least.unwrap_or_default()
            ),
            problems.join("; "),
        );
    }
}

/// `go.supported` and `go.settings`: not applicable to a file without Go build info.
fn go_rules(rule: &ArtifactRule, a: &ArtifactFacts, context: &Context, out: &mut Out<'_>) {
    if rule.go_supported {
        let newest: Vec<(u64, u64)> = context.go_releases.iter().take(2).copied().collect();
        match (&a.go_version, newest.first()) {
            (None, _) => out.push(
                RuleId::GoSupported,
                Outcome::NotApplicable,
                "no Go build info in the file",
            ),
            (Some(_), None) => out.push(
                RuleId::GoSupported,
                Outcome::NotApplicable,
                "no Go release table given",
            ),
            (Some(v), Some(&latest)) => match v.known() {
                None => out.push(
                    RuleId::GoSupported,
                    Outcome::Fail,
                    format!("cannot read Go version `{v}`"),
                ),
                Some(gv) => {
                    let (major, minor) = gv.release();
                    let major = (u64::from(major), u64::from(minor));
                    let names: Vec<String> =
                        newest.iter().map(|(a, b)| format!("go{a}.{b}")).collect();
                    if major > latest {
                        out.push(
                            RuleId::GoSupported,
                            Outcome::Pass,
                            format!(
                                "{v} is newer than pegate's release table ({})",
                                names.join(", ")
                            ),
                        );
                    } else {
                        out.check(
                            RuleId::GoSupported,
                            newest.contains(&major),
                            format!("{v} is a supported release ({})", names.join(", ")),
                            format!(
                                "{v} is not among the supported releases {}",
                                names.join(", ")
                            ),
                        );
                    }
                }
            },
        }
    }
    if let Some(settings) = &rule.go_settings {
        if a.go_version.is_none() {
            out.push(
                RuleId::GoSettings,
                Outcome::NotApplicable,
                "no Go build info in the file",
            );
            return;
        }
        let get = |key: &str| {
            a.go_settings
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        let mut problems = Vec::new();
        for (key, want) in &settings.require {
            match get(key) {
                Some(got) if got == want => {}
                Some(got) => problems.push(format!("{key}={got}, the policy wants {key}={want}")),
                None => problems.push(format!("{key} is not set, the policy wants {key}={want}")),
            }
        }
        for (key, bad) in &settings.forbid {
            if get(key) == Some(bad.as_str()) {
                problems.push(format!("{key}={bad} is forbidden"));
            }
        }
        let checked: Vec<String> = settings
            .require
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(settings.forbid.iter().map(|(k, v)| format!("not {k}={v}")))
            .collect();
        out.check(
            RuleId::GoSettings,
            problems.is_empty(),
            checked.join(", "),
            problems.join("; "),
        );
    }
}
