//! The per-artifact checks: one function per rule, each pushing its one result when the
//! `[[artifact]]` rule asks for it, run in [`CHECKS`] order (the report's order).

use std::fmt::Display;

use pegate_facts::{
    DllCharacteristics, GoArch, GoOs, GoVersion, GuardFlags, Machine, Recorded,
    SectionCharacteristics, SignatureStatus,
};
use semver::Version;

use crate::eval::{CompiledRule, Out};
use crate::{
    ArtifactFacts, ArtifactRule, Context, DEFAULT_CERT_MIN_DAYS, Outcome, Requirement, RuleId,
    SignaturePolicy,
};

const SECONDS_PER_DAY: i64 = 86_400;

/// What a check looks at: the rule as written and as compiled, one matching artifact's facts
/// and the evaluation's context.
pub(crate) struct Case<'a> {
    pub(crate) rule: &'a ArtifactRule,
    pub(crate) compiled: &'a CompiledRule,
    pub(crate) facts: &'a ArtifactFacts,
    pub(crate) context: &'a Context,
    /// The policy names a trust bundle, so `signed-untrusted` is not good enough.
    pub(crate) trust: bool,
}

/// One rule's check.
type Check = fn(&Case<'_>, &mut Out<'_>);

/// Every per-artifact check, in report order.
pub(crate) const CHECKS: &[Check] = &[
    machine,
    subsystem,
    dll_required,
    dll_forbidden,
    signature_required,
    signer_subject,
    signature_forbidden,
    go_version,
    go_target_name,
    max_size,
    sections_wx,
    sections_shared_writable,
    cfg_instrumented,
    cet_compatible,
    signature_digest,
    signature_timestamped,
    cert_expiry,
    go_supported,
    go_settings,
    imports_system_only,
    imports_deny,
];

/// `imports.system-only`.
fn imports_system_only(c: &Case<'_>, out: &mut Out<'_>) {
    if let Some(rule) = &c.compiled.imports {
        crate::imports::system_only(rule, c.facts, out);
    }
}

/// `imports.deny`.
fn imports_deny(c: &Case<'_>, out: &mut Out<'_>) {
    if let Some(rule) = &c.compiled.imports {
        crate::imports::deny(rule, c.facts, out);
    }
}

/// A fact as the messages print it: `unknown` when the artifact did not say.
pub(crate) fn or_unknown<T: Display>(v: &Option<T>) -> String {
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

/// `machine`.
fn machine(c: &Case<'_>, out: &mut Out<'_>) {
    let Some(want) = c.compiled.machine else {
        return;
    };
    let got = or_unknown(&c.facts.machine);
    out.check(
        RuleId::Machine,
        c.facts.machine == Some(want),
        format!("machine is {got}"),
        format!("machine is {got}, the policy wants {want}"),
    );
}

/// `subsystem`.
fn subsystem(c: &Case<'_>, out: &mut Out<'_>) {
    let Some(want) = c.compiled.subsystem else {
        return;
    };
    let got = or_unknown(&c.facts.subsystem);
    out.check(
        RuleId::Subsystem,
        c.facts.subsystem == Some(want),
        format!("subsystem is {got}"),
        format!("subsystem is {got}, the policy wants {want}"),
    );
}

/// `dll-characteristics.required`.
fn dll_required(c: &Case<'_>, out: &mut Out<'_>) {
    let require = &c.compiled.dll_require;
    if require.is_empty() {
        return;
    }
    let missing: Vec<&DllCharacteristics> = require
        .iter()
        .filter(|f| !c.facts.dll_characteristics.contains(**f))
        .collect();
    out.check(
        RuleId::DllRequired,
        missing.is_empty(),
        format!("has {}", join(require, ", ")),
        format!("missing {}", join(missing, ", ")),
    );
}

/// `dll-characteristics.forbidden`.
fn dll_forbidden(c: &Case<'_>, out: &mut Out<'_>) {
    let forbid = &c.compiled.dll_forbid;
    if forbid.is_empty() {
        return;
    }
    let present: Vec<&DllCharacteristics> = forbid
        .iter()
        .filter(|f| c.facts.dll_characteristics.contains(**f))
        .collect();
    out.check(
        RuleId::DllForbidden,
        present.is_empty(),
        format!("has none of {}", join(forbid, ", ")),
        format!("has forbidden {}", join(present, ", ")),
    );
}

/// `signature.required`.
fn signature_required(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.signature != SignaturePolicy::Required {
        return;
    }
    let (ok, why) = match c.facts.signature_status {
        Some(SignatureStatus::SignedValid) => {
            (true, "signed; the digest matches and the chain is trusted")
        }
        Some(SignatureStatus::SignedUntrusted) if c.trust => (
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
        Some(SignatureStatus::Error) => (false, "a signature is present but cannot be parsed"),
        None => (false, "the signature status is unknown"),
    };
    out.check(
        RuleId::SignatureRequired,
        ok,
        why,
        format!("signature required: {why}"),
    );
}

/// `signature.signer`: with `signature = "required"` only.
fn signer_subject(c: &Case<'_>, out: &mut Out<'_>) {
    let (SignaturePolicy::Required, Some(subject)) = (c.rule.signature, &c.rule.signer_subject)
    else {
        return;
    };
    let signers = &c.facts.signer_subjects;
    if signers.is_empty() {
        out.push(
            RuleId::SignerSubject,
            Outcome::Fail,
            format!("no signer; the policy wants a subject containing `{subject}`"),
        );
        return;
    }
    let found = signers.iter().find(|s| s.contains(subject.as_str()));
    out.check(
        RuleId::SignerSubject,
        found.is_some(),
        format!("signer `{}`", found.map(String::as_str).unwrap_or_default()),
        format!(
            "no signer subject contains `{subject}` (signers: {})",
            signers.join("; ")
        ),
    );
}

/// `signature.forbidden`.
fn signature_forbidden(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.signature != SignaturePolicy::Forbidden {
        return;
    }
    let status = c.facts.signature_status;
    out.check(
        RuleId::SignatureForbidden,
        status == Some(SignatureStatus::Unsigned),
        "not signed",
        format!(
            "signatures are forbidden, the artifact is {}",
            or_unknown(&status)
        ),
    );
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

/// `go.version`.
fn go_version(c: &Case<'_>, out: &mut Out<'_>) {
    let Some(req) = &c.compiled.go_version else {
        return;
    };
    let Some(v) = &c.facts.go_version else {
        out.push(
            RuleId::GoVersion,
            Outcome::NotApplicable,
            "no Go build info in the file",
        );
        return;
    };
    match v.known().and_then(go_semver) {
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
    }
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

/// `go.target-name`: the GOOS/GOARCH in the file name, the build info and the machine agree.
fn go_target_name(c: &Case<'_>, out: &mut Out<'_>) {
    if !c.rule.goarch_matches_name {
        return;
    }
    let a = c.facts;
    let Some((os, arch)) = target_from_name(&a.path) else {
        out.push(
            RuleId::GoTargetName,
            Outcome::NotApplicable,
            "the file name names no GOARCH",
        );
        return;
    };
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

/// `size.max`.
fn max_size(c: &Case<'_>, out: &mut Out<'_>) {
    let Some(max) = c.compiled.max_size else {
        return;
    };
    match c.facts.size {
        None => out.push(RuleId::MaxSize, Outcome::NotApplicable, "size unknown"),
        Some(size) => out.check(
            RuleId::MaxSize,
            size <= max,
            format!("{size} bytes ≤ {max}"),
            format!("{size} bytes > max_size {max}"),
        ),
    }
}

/// No section has all of `bits` set: `sections.wx` and `sections.shared-writable`.
fn no_section_with(
    a: &ArtifactFacts,
    id: RuleId,
    bits: SectionCharacteristics,
    what: &str,
    out: &mut Out<'_>,
) {
    if a.sections.is_empty() {
        out.push(id, Outcome::NotApplicable, "the file has no sections");
        return;
    }
    let found: Vec<&str> = a
        .sections
        .iter()
        .filter(|s| s.characteristics.contains(bits))
        .map(|s| s.name.as_str())
        .collect();
    out.check(
        id,
        found.is_empty(),
        format!("no {what} section among {}", a.sections.len()),
        format!("{what} sections: {}", found.join(", ")),
    );
}

/// `sections.wx`.
fn sections_wx(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.forbid_wx_sections {
        no_section_with(
            c.facts,
            RuleId::SectionsWx,
            SectionCharacteristics::MEM_WRITE | SectionCharacteristics::MEM_EXECUTE,
            "writable and executable",
            out,
        );
    }
}

/// `sections.shared-writable`.
fn sections_shared_writable(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.forbid_shared_writable_sections {
        no_section_with(
            c.facts,
            RuleId::SectionsSharedWritable,
            SectionCharacteristics::MEM_WRITE | SectionCharacteristics::MEM_SHARED,
            "writable shared",
            out,
        );
    }
}

/// `cfg.instrumented`.
fn cfg_instrumented(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.cfg != Requirement::Required {
        return;
    }
    match c.facts.guard_flags {
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

/// `cet.compatible`.
fn cet_compatible(c: &Case<'_>, out: &mut Out<'_>) {
    if c.rule.cet != Requirement::Required {
        return;
    }
    let a = c.facts;
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

/// For the signature rules: whether the artifact has signatures to judge; pushes `id`'s
/// not-applicable result when not (whether it must be signed is `signature.required`'s
/// business).
fn signed(a: &ArtifactFacts, id: RuleId, out: &mut Out<'_>) -> bool {
    if a.signatures.is_empty() {
        out.push(id, Outcome::NotApplicable, "not signed");
        return false;
    }
    true
}

/// `signature 2 (nested)`: how messages name the signature at `index`.
fn signature_label(a: &ArtifactFacts, index: usize) -> String {
    let nested = a.signatures.get(index).is_some_and(|s| s.nested);
    format!(
        "signature {}{}",
        index.saturating_add(1),
        if nested { " (nested)" } else { "" }
    )
}

/// `signature.digest`.
fn signature_digest(c: &Case<'_>, out: &mut Out<'_>) {
    let forbidden = &c.compiled.forbidden_digests;
    let a = c.facts;
    if forbidden.is_empty() || !signed(a, RuleId::SignatureDigest, out) {
        return;
    }
    let mut problems = Vec::new();
    for (i, s) in a.signatures.iter().enumerate() {
        match &s.digest_algorithm {
            None => problems.push(format!(
                "{}: digest algorithm unreadable",
                signature_label(a, i)
            )),
            Some(Recorded::Known(d)) if forbidden.contains(d) => {
                problems.push(format!("{} uses {d}", signature_label(a, i)));
            }
            Some(_) => {}
        }
    }
    let used: Vec<String> = a
        .signatures
        .iter()
        .filter_map(|s| s.digest_algorithm.as_ref().map(ToString::to_string))
        .collect();
    out.check(
        RuleId::SignatureDigest,
        problems.is_empty(),
        format!("digests: {}", used.join(", ")),
        problems.join("; "),
    );
}

/// `signature.timestamped`.
fn signature_timestamped(c: &Case<'_>, out: &mut Out<'_>) {
    let a = c.facts;
    if c.rule.signature_timestamp != Requirement::Required
        || !signed(a, RuleId::SignatureTimestamped, out)
    {
        return;
    }
    let mut problems = Vec::new();
    for (i, s) in a.signatures.iter().enumerate() {
        if s.timestamps.is_empty() {
            problems.push(format!("{} has no timestamp", signature_label(a, i)));
        } else if !s.timestamps.iter().any(|t| t.valid) {
            problems.push(format!("{}: no timestamp verifies", signature_label(a, i)));
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

/// `signature.cert-expiry`.
fn cert_expiry(c: &Case<'_>, out: &mut Out<'_>) {
    let days = match (c.rule.cert_min_days, c.rule.cert_expiry) {
        (Some(days), _) => days,
        (None, Requirement::Required) => DEFAULT_CERT_MIN_DAYS,
        (None, Requirement::Any) => return,
    };
    let a = c.facts;
    if !signed(a, RuleId::CertExpiry, out) {
        return;
    }
    let Some(now) = c.context.now else {
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
        let Some(not_after) = s.signer_not_after else {
            problems.push(format!("{}: no signer certificate", signature_label(a, i)));
            continue;
        };
        let left = not_after.saturating_sub(now).div_euclid(SECONDS_PER_DAY);
        least = Some(least.map_or(left, |l| l.min(left)));
        if not_after < now {
            problems.push(format!(
                "{}: signer certificate expired {} days ago",
                signature_label(a, i),
                left.saturating_neg()
            ));
        } else if not_after < need {
            problems.push(format!(
                "{}: signer certificate expires in {left} days, the policy wants at least {days}",
                signature_label(a, i)
            ));
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

/// `go.supported`: the Go that built the file is one of the two newest major releases.
fn go_supported(c: &Case<'_>, out: &mut Out<'_>) {
    if !c.rule.go_supported {
        return;
    }
    let newest: Vec<(u64, u64)> = c.context.go_releases.iter().take(2).copied().collect();
    let (v, latest) = match (&c.facts.go_version, newest.first()) {
        (None, _) => {
            return out.push(
                RuleId::GoSupported,
                Outcome::NotApplicable,
                "no Go build info in the file",
            );
        }
        (Some(_), None) => {
            return out.push(
                RuleId::GoSupported,
                Outcome::NotApplicable,
                "no Go release table given",
            );
        }
        (Some(v), Some(&latest)) => (v, latest),
    };
    let Some((major, minor)) = v.known().map(GoVersion::release) else {
        return out.push(
            RuleId::GoSupported,
            Outcome::Fail,
            format!("cannot read Go version `{v}`"),
        );
    };
    let release = (u64::from(major), u64::from(minor));
    let names = join(newest.iter().map(|(a, b)| format!("go{a}.{b}")), ", ");
    if release > latest {
        out.push(
            RuleId::GoSupported,
            Outcome::Pass,
            format!("{v} is newer than pegate's release table ({names})"),
        );
    } else {
        out.check(
            RuleId::GoSupported,
            newest.contains(&release),
            format!("{v} is a supported release ({names})"),
            format!("{v} is not among the supported releases {names}"),
        );
    }
}

/// `go.settings`: not applicable to a file without Go build info.
fn go_settings(c: &Case<'_>, out: &mut Out<'_>) {
    let Some(settings) = &c.rule.go_settings else {
        return;
    };
    let a = c.facts;
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
    let checked = join(
        settings
            .require
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .chain(settings.forbid.iter().map(|(k, v)| format!("not {k}={v}"))),
        ", ",
    );
    out.check(
        RuleId::GoSettings,
        problems.is_empty(),
        checked,
        problems.join("; "),
    );
}
