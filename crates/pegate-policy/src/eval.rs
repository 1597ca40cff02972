//! Evaluation: one result per artifact and check.

use globset::{Glob, GlobMatcher};
use semver::{Version, VersionReq};

use crate::{
    ArtifactFacts, ArtifactRule, ChecksumList, Error, Outcome, Policy, Report, RuleId, RuleResult,
    SignaturePolicy, Size,
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
