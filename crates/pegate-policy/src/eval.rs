//! Evaluation: one result per artifact and check.

use globset::{Glob, GlobMatcher};
use semver::{Version, VersionReq};

use crate::{
    ArtifactFacts, ArtifactRule, ChecksumList, Context, DEFAULT_CERT_MIN_DAYS, Error, Outcome,
    Policy, Report, Requirement, RuleId, RuleResult, SignaturePolicy, Size,
};

/// COFF machine names pegate-pe reports for the targets Go can build, plus the other common ones.
const MACHINES: &[&str] = &[
    "AMD64", "ARM64", "I386", "ARMNT", "ARM", "ARM64EC", "ARM64X", "IA64", "THUMB", "RISCV64",
];
const SUBSYSTEMS: &[&str] = &[
    "NATIVE",
    "WINDOWS_GUI",
    "WINDOWS_CUI",
    "OS2_CUI",
    "POSIX_CUI",
    "NATIVE_WINDOWS",
    "WINDOWS_CE_GUI",
    "EFI_APPLICATION",
    "EFI_BOOT_SERVICE_DRIVER",
    "EFI_RUNTIME_DRIVER",
    "EFI_ROM",
    "XBOX",
    "WINDOWS_BOOT_APPLICATION",
];
const DLL_FLAGS: &[&str] = &[
    "HIGH_ENTROPY_VA",
    "DYNAMIC_BASE",
    "FORCE_INTEGRITY",
    "NX_COMPAT",
    "NO_ISOLATION",
    "NO_SEH",
    "NO_BIND",
    "APPCONTAINER",
    "WDM_DRIVER",
    "GUARD_CF",
    "TERMINAL_SERVER_AWARE",
];

/// Digest algorithm names `forbid_signature_digests` accepts (authenticode-parser's, lowercase).
const DIGESTS: &[&str] = &["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/// `IMAGE_SCN_MEM_SHARED`, `_EXECUTE`, `_WRITE` (winnt.h).
const SCN_MEM_SHARED: u32 = 0x1000_0000;
const SCN_MEM_EXECUTE: u32 = 0x2000_0000;
const SCN_MEM_WRITE: u32 = 0x8000_0000;

/// `IMAGE_GUARD_CF_INSTRUMENTED` (winnt.h).
const GUARD_CF_INSTRUMENTED: u32 = 0x100;

/// Machines with CET shadow stacks (x86 and x64 only).
const CET_MACHINES: &[&str] = &["AMD64", "I386"];

const SECONDS_PER_DAY: i64 = 86_400;

/// A digest name as `forbid_signature_digests` and the signature facts compare it: lowercase,
/// no dash (`SHA-1` and `sha1` agree).
fn digest_key(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "")
}

/// GOARCH → COFF machine name.
const GOARCH_MACHINE: &[(&str, &str)] = &[
    ("amd64", "AMD64"),
    ("arm64", "ARM64"),
    ("386", "I386"),
    ("arm", "ARMNT"),
];

#[derive(Debug, Clone)]
pub(crate) struct CompiledRule {
    pub(crate) matcher: GlobMatcher,
    pub(crate) go_version: Option<VersionReq>,
    pub(crate) max_size: Option<u64>,
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

/// Go versions (`go1.27.3`, `go1.27`, `go1.27rc1`, `1.23`) as semver.
pub(crate) fn go_semver(text: &str) -> Option<Version> {
    let text = text.trim().trim_start_matches("go");
    // `go1.27.3 X:nocoverageredesign` and similar suffixes.
    let text = text.split_whitespace().next()?;
    let (core, pre) = match text.find(|c: char| c.is_ascii_alphabetic() || c == '-') {
        Some(i) => text.split_at(i),
        None => (text, ""),
    };
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    let mut v = Version::new(major, minor, patch);
    let pre = pre.trim_start_matches('-');
    if !pre.is_empty() {
        v.pre = semver::Prerelease::new(pre).ok()?;
    }
    Some(v)
}

impl CompiledRule {
    pub(crate) fn new(index: usize, rule: &ArtifactRule) -> Result<CompiledRule, Error> {
        let matcher = compile_glob(index, &rule.glob)?;
        if let Some(m) = &rule.machine {
            check_name(index, "machine", m, MACHINES)?;
        }
        if let Some(s) = &rule.subsystem {
            check_name(index, "subsystem", s, SUBSYSTEMS)?;
        }
        if let Some(flags) = &rule.dll_characteristics {
            for f in flags.require.iter().chain(&flags.forbid) {
                check_name(index, "dll characteristic", f, DLL_FLAGS)?;
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

fn or_unknown(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("unknown")
}

/// GOOS/GOARCH named in a file name, as `_windows_amd64` / `-windows-arm64.exe` / `windows_386`.
pub(crate) fn target_from_name(path: &str) -> Option<(&'static str, &'static str)> {
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
        .then_some("windows");
    let goarch = GOARCH_MACHINE
        .iter()
        .map(|(arch, _)| *arch)
        .find(|arch| tokens.iter().any(|t| t == arch))
        .or_else(|| {
            tokens.iter().find_map(|t| match *t {
                "x86_64" | "x64" => Some("amd64"),
                "aarch64" => Some("arm64"),
                "i386" | "x86" => Some("386"),
                _ => None,
            })
        });
    match (goos, goarch) {
        (Some(os), Some(arch)) => Some((os, arch)),
        (None, Some(arch)) => Some(("", arch)),
        _ => None,
    }
}

/// `trust`: the policy names a trust bundle, so `signed-untrusted` is not good enough.
fn evaluate_rule(
    rule: &ArtifactRule,
    compiled: &CompiledRule,
    a: &ArtifactFacts,
    trust: bool,
    out: &mut Out<'_>,
) {
    if let Some(want) = &rule.machine {
        let got = or_unknown(&a.machine);
        out.check(
            RuleId::Machine,
            got == want,
            format!("machine is {got}"),
            format!("machine is {got}, the policy wants {want}"),
        );
    }
    if let Some(want) = &rule.subsystem {
        let got = or_unknown(&a.subsystem);
        out.check(
            RuleId::Subsystem,
            got == want,
            format!("subsystem is {got}"),
            format!("subsystem is {got}, the policy wants {want}"),
        );
    }
    if let Some(flags) = &rule.dll_characteristics {
        let has = |f: &String| a.dll_characteristics.iter().any(|x| x == f);
        if !flags.require.is_empty() {
            let missing: Vec<&str> = flags
                .require
                .iter()
                .filter(|f| !has(f))
                .map(String::as_str)
                .collect();
            out.check(
                RuleId::DllRequired,
                missing.is_empty(),
                format!("has {}", flags.require.join(", ")),
                format!("missing {}", missing.join(", ")),
            );
        }
        if !flags.forbid.is_empty() {
            let present: Vec<&str> = flags
                .forbid
                .iter()
                .filter(|f| has(f))
                .map(String::as_str)
                .collect();
            out.check(
                RuleId::DllForbidden,
                present.is_empty(),
                format!("has none of {}", flags.forbid.join(", ")),
                format!("has forbidden {}", present.join(", ")),
            );
        }
    }
    let status = a.signature_status.as_deref().unwrap_or("unknown");
    match rule.signature {
        SignaturePolicy::Any => {}
        SignaturePolicy::Required => {
            let (ok, why) = match status {
                "signed-valid" => (true, "signed; the digest matches and the chain is trusted"),
                "signed-untrusted" if trust => (
                    false,
                    "signed and the digest matches, but the chain does not reach the policy's trust bundle",
                ),
                "signed-untrusted" => (
                    true,
                    "signed and the digest matches (no trust bundle in the policy, chain not judged)",
                ),
                "unsigned" => (false, "not signed"),
                "signed-invalid" => (
                    false,
                    "signed, but the digest does not match: the file changed after signing",
                ),
                "error" => (false, "a signature is present but cannot be parsed"),
                _ => (false, "the signature status is unknown"),
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
            status == "unsigned",
            "not signed",
            format!("signatures are forbidden, the artifact is {status}"),
        ),
    }
    if let Some(req) = &compiled.go_version {
        match a.go_version.as_deref() {
            None => out.push(
                RuleId::GoVersion,
                Outcome::NotApplicable,
                "no Go build info in the file",
            ),
            Some(v) => match go_semver(v) {
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
                if !os.is_empty() && a.goos.as_deref().is_some_and(|g| g != os) {
                    problems.push(format!(
                        "name says {os}, build info says GOOS={}",
                        or_unknown(&a.goos)
                    ));
                }
                if let Some(g) = a.goarch.as_deref().filter(|g| *g != arch) {
                    problems.push(format!("name says {arch}, build info says GOARCH={g}"));
                }
                let want_machine = GOARCH_MACHINE
                    .iter()
                    .find(|(g, _)| *g == arch)
                    .map(|(_, m)| *m);
                if let (Some(want), Some(got)) = (want_machine, a.machine.as_deref())
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
    let sections_with = |bits: u32| -> Vec<&str> {
        a.sections
            .iter()
            .filter(|s| s.characteristics & bits == bits)
            .map(|s| s.name.as_str())
            .collect()
    };
    let mut section_rule = |id: RuleId, bits: u32, what: &str| {
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
            SCN_MEM_WRITE | SCN_MEM_EXECUTE,
            "writable and executable",
        );
    }
    if rule.forbid_shared_writable_sections {
        section_rule(
            RuleId::SectionsSharedWritable,
            SCN_MEM_WRITE | SCN_MEM_SHARED,
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
                flags & GUARD_CF_INSTRUMENTED != 0,
                format!("GuardFlags {flags:#x} has CF_INSTRUMENTED"),
                format!("GuardFlags {flags:#x} lacks CF_INSTRUMENTED: no Control Flow Guard"),
            ),
        }
    }
    if rule.cet == Requirement::Required {
        let machine = a.machine.as_deref().unwrap_or("unknown");
        match a.cet_compat {
            _ if !CET_MACHINES.contains(&machine) => out.push(
                RuleId::CetCompatible,
                Outcome::NotApplicable,
                format!("CET shadow stacks exist on AMD64 and I386 only, the machine is {machine}"),
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
        match (a.go_version.as_deref(), newest.first()) {
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
            (Some(v), Some(&latest)) => match go_semver(v) {
                None => out.push(
                    RuleId::GoSupported,
                    Outcome::Fail,
                    format!("cannot read Go version `{v}`"),
                ),
                Some(sv) => {
                    let major = (sv.major, sv.minor);
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
