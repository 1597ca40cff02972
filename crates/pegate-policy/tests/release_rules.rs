//! The hardening, signing and Go release rules: one table row per pass, fail and
//! not-applicable case, with the gate time and Go release table passed in as data; their
//! catalogue entries (BinSkim ids in the SARIF rule metadata) and policy validation.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use pegate_policy::{
    ArtifactFacts, Context, GuardFlags, Outcome, Policy, RULES, Recorded, RuleId,
    SectionCharacteristics, SectionFacts, SignatureFacts, TimestampFacts, render,
};

/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;
const DAY: i64 = 86_400;

const TEXT: u32 = 0x6000_0020; // CODE | EXECUTE | READ
const DATA: u32 = 0xc000_0040; // INITIALIZED_DATA | READ | WRITE

fn go_binary() -> ArtifactFacts {
    ArtifactFacts {
        path: "dist/hello_windows_amd64.exe".into(),
        format: Some("PE32+".into()),
        machine: Some("AMD64".parse().unwrap()),
        subsystem: Some("WINDOWS_CUI".parse().unwrap()),
        signature_status: Some("unsigned".parse().unwrap()),
        go_version: Some(Recorded::read("go1.27.3")),
        goos: Some(Recorded::read("windows")),
        goarch: Some(Recorded::read("amd64")),
        sections: vec![section(".text", TEXT), section(".data", DATA)],
        guard_flags: None,
        cet_compat: Some(false),
        go_settings: [
            ("-trimpath", "true"),
            ("CGO_ENABLED", "0"),
            ("GOARCH", "amd64"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .to_vec(),
        ..ArtifactFacts::default()
    }
}

fn section(name: &str, characteristics: u32) -> SectionFacts {
    SectionFacts {
        name: name.into(),
        characteristics: SectionCharacteristics::new(characteristics),
    }
}

fn signature(digest: &str, nested: bool, not_after: i64, timestamps: &[bool]) -> SignatureFacts {
    SignatureFacts {
        nested,
        digest_algorithm: Some(Recorded::read(digest)),
        signer_subject: Some("CN=leaf".into()),
        signer_not_after: Some(not_after),
        timestamps: timestamps
            .iter()
            .map(|&valid| TimestampFacts {
                time: NOW - 10 * DAY,
                valid,
            })
            .collect(),
    }
}

fn signed(signatures: Vec<SignatureFacts>) -> ArtifactFacts {
    ArtifactFacts {
        signature_status: Some("signed-untrusted".parse().unwrap()),
        signatures,
        ..go_binary()
    }
}

fn context() -> Context {
    Context::new()
        .with_now(NOW)
        .with_go_releases(["1.27", "1.26", "1.25"])
}

struct Case {
    name: &'static str,
    policy: &'static str,
    facts: ArtifactFacts,
    context: Context,
    rule: &'static str,
    outcome: Outcome,
    message_has: &'static str,
}

fn case(
    name: &'static str,
    policy: &'static str,
    facts: ArtifactFacts,
    rule: &'static str,
    outcome: Outcome,
    message_has: &'static str,
) -> Case {
    Case {
        name,
        policy,
        facts,
        context: context(),
        rule,
        outcome,
        message_has,
    }
}

fn cases() -> Vec<Case> {
    use Outcome::{Fail, NotApplicable as Na, Pass};
    let wx = "forbid_wx_sections = true";
    let shared = "forbid_shared_writable_sections = true";
    let cfg = "cfg = \"required\"";
    let cet = "cet = \"required\"";
    let digests = "forbid_signature_digests = [\"sha1\", \"MD5\"]";
    let ts = "signature_timestamp = \"required\"";
    let expiry = "cert_min_days = 30";
    let expiry_default = "cert_expiry = \"required\"";
    let supported = "go_supported = true";
    let settings = "go_settings = { require = { \"-trimpath\" = \"true\", \"CGO_ENABLED\" = \"0\" }, forbid = { \"vcs.modified\" = \"true\" } }";
    let mut cases = vec![
        case(
            "go sections",
            wx,
            go_binary(),
            "sections.wx",
            Pass,
            "no writable and executable section among 2",
        ),
        case(
            "rwx text",
            wx,
            ArtifactFacts {
                sections: vec![section(".text", TEXT | 0x8000_0000), section(".data", DATA)],
                ..go_binary()
            },
            "sections.wx",
            Fail,
            "writable and executable sections: .text",
        ),
        case(
            "no sections",
            wx,
            ArtifactFacts {
                sections: vec![],
                ..go_binary()
            },
            "sections.wx",
            Na,
            "no sections",
        ),
        case(
            "go sections shared",
            shared,
            go_binary(),
            "sections.shared-writable",
            Pass,
            "no writable shared section",
        ),
        case(
            "shared data",
            shared,
            ArtifactFacts {
                sections: vec![
                    section(".text", TEXT),
                    section(".shared", DATA | 0x1000_0000),
                ],
                ..go_binary()
            },
            "sections.shared-writable",
            Fail,
            "writable shared sections: .shared",
        ),
        case(
            "shared no sections",
            shared,
            ArtifactFacts {
                sections: vec![],
                ..go_binary()
            },
            "sections.shared-writable",
            Na,
            "no sections",
        ),
        // Shared but read-only is what BinSkim allows too.
        case(
            "shared read-only",
            shared,
            ArtifactFacts {
                sections: vec![section(".rdata", 0x4000_0040 | 0x1000_0000)],
                ..go_binary()
            },
            "sections.shared-writable",
            Pass,
            "among 1",
        ),
        case(
            "cfg instrumented",
            cfg,
            ArtifactFacts {
                guard_flags: Some(GuardFlags::new(0x1_0500)),
                ..go_binary()
            },
            "cfg.instrumented",
            Pass,
            "0x10500 has CF_INSTRUMENTED",
        ),
        case(
            "go load config",
            cfg,
            ArtifactFacts {
                guard_flags: Some(GuardFlags::new(0)),
                ..go_binary()
            },
            "cfg.instrumented",
            Fail,
            "lacks CF_INSTRUMENTED",
        ),
        case(
            "no load config",
            cfg,
            go_binary(),
            "cfg.instrumented",
            Na,
            "no load config",
        ),
        case(
            "cet compat",
            cet,
            ArtifactFacts {
                cet_compat: Some(true),
                ..go_binary()
            },
            "cet.compatible",
            Pass,
            "sets CETCOMPAT",
        ),
        case(
            "no cet entry",
            cet,
            go_binary(),
            "cet.compatible",
            Fail,
            "no CETCOMPAT",
        ),
        case(
            "cet unreadable",
            cet,
            ArtifactFacts {
                cet_compat: None,
                ..go_binary()
            },
            "cet.compatible",
            Na,
            "could not be read",
        ),
        case(
            "cet on arm64",
            cet,
            ArtifactFacts {
                machine: Some("ARM64".parse().unwrap()),
                ..go_binary()
            },
            "cet.compatible",
            Na,
            "the machine is ARM64",
        ),
        case(
            "sha256 only",
            digests,
            signed(vec![signature("sha256", false, NOW + 400 * DAY, &[true])]),
            "signature.digest",
            Pass,
            "digests: sha256",
        ),
        case(
            "nested sha1",
            digests,
            signed(vec![
                signature("sha256", false, NOW + 400 * DAY, &[true]),
                signature("sha1", true, NOW + 400 * DAY, &[true]),
            ]),
            "signature.digest",
            Fail,
            "signature 2 (nested) uses sha1",
        ),
        case(
            "md5 outer",
            digests,
            signed(vec![signature("md5", false, NOW + 400 * DAY, &[])]),
            "signature.digest",
            Fail,
            "signature 1 uses md5",
        ),
        case(
            "digest unreadable",
            digests,
            signed(vec![SignatureFacts::default()]),
            "signature.digest",
            Fail,
            "unreadable",
        ),
        case(
            "digest unsigned",
            digests,
            go_binary(),
            "signature.digest",
            Na,
            "not signed",
        ),
        case(
            "timestamped",
            ts,
            signed(vec![signature("sha256", false, NOW + DAY, &[false, true])]),
            "signature.timestamped",
            Pass,
            "each with a valid timestamp",
        ),
        case(
            "no timestamp",
            ts,
            signed(vec![
                signature("sha256", false, NOW + DAY, &[true]),
                signature("sha256", true, NOW + DAY, &[]),
            ]),
            "signature.timestamped",
            Fail,
            "signature 2 (nested) has no timestamp",
        ),
        case(
            "invalid timestamp",
            ts,
            signed(vec![signature("sha256", false, NOW + DAY, &[false])]),
            "signature.timestamped",
            Fail,
            "no timestamp verifies",
        ),
        case(
            "timestamp unsigned",
            ts,
            go_binary(),
            "signature.timestamped",
            Na,
            "not signed",
        ),
        case(
            "cert long valid",
            expiry,
            signed(vec![signature("sha256", false, NOW + 400 * DAY, &[])]),
            "signature.cert-expiry",
            Pass,
            "valid for 400 more days (≥ 30)",
        ),
        case(
            "cert exactly 30 days",
            expiry,
            signed(vec![signature("sha256", false, NOW + 30 * DAY, &[])]),
            "signature.cert-expiry",
            Pass,
            "30 more days",
        ),
        case(
            "cert expiring",
            expiry,
            signed(vec![signature("sha256", false, NOW + 29 * DAY, &[])]),
            "signature.cert-expiry",
            Fail,
            "expires in 29 days, the policy wants at least 30",
        ),
        case(
            "cert expired",
            expiry,
            signed(vec![signature("sha256", false, NOW - 3 * DAY, &[])]),
            "signature.cert-expiry",
            Fail,
            "expired 3 days ago",
        ),
        case(
            "default 30 days",
            expiry_default,
            signed(vec![signature("sha256", false, NOW + 29 * DAY, &[])]),
            "signature.cert-expiry",
            Fail,
            "at least 30",
        ),
        case(
            "expiry unsigned",
            expiry,
            go_binary(),
            "signature.cert-expiry",
            Na,
            "not signed",
        ),
        case(
            "go 1.27",
            supported,
            go_binary(),
            "go.supported",
            Pass,
            "go1.27.3 is a supported release (go1.27, go1.26)",
        ),
        case(
            "go 1.26",
            supported,
            ArtifactFacts {
                go_version: Some(Recorded::read("go1.26.9")),
                ..go_binary()
            },
            "go.supported",
            Pass,
            "supported",
        ),
        case(
            "go 1.25",
            supported,
            ArtifactFacts {
                go_version: Some(Recorded::read("go1.25.4")),
                ..go_binary()
            },
            "go.supported",
            Fail,
            "go1.25.4 is not among the supported releases go1.27, go1.26",
        ),
        case(
            "go 1.28 rc",
            supported,
            ArtifactFacts {
                go_version: Some(Recorded::read("go1.28rc1")),
                ..go_binary()
            },
            "go.supported",
            Pass,
            "newer than pegate's release table",
        ),
        case(
            "not go",
            supported,
            ArtifactFacts {
                go_version: None,
                ..go_binary()
            },
            "go.supported",
            Na,
            "no Go build info",
        ),
        case(
            "settings ok",
            settings,
            go_binary(),
            "go.settings",
            Pass,
            "-trimpath=true, CGO_ENABLED=0, not vcs.modified=true",
        ),
        case(
            "settings dirty cgo",
            settings,
            ArtifactFacts {
                go_settings: [("CGO_ENABLED", "1"), ("vcs.modified", "true")]
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .to_vec(),
                ..go_binary()
            },
            "go.settings",
            Fail,
            "-trimpath is not set, the policy wants -trimpath=true; CGO_ENABLED=1, the policy wants CGO_ENABLED=0; vcs.modified=true is forbidden",
        ),
        case(
            "settings not go",
            settings,
            ArtifactFacts {
                go_version: None,
                ..go_binary()
            },
            "go.settings",
            Na,
            "no Go build info",
        ),
    ];
    cases.push(Case {
        context: Context::new().with_go_releases(["1.27", "1.26"]),
        ..case(
            "no gate time",
            expiry,
            signed(vec![signature("sha256", false, NOW, &[])]),
            "signature.cert-expiry",
            Na,
            "no gate time",
        )
    });
    cases.push(Case {
        context: Context::new().with_now(NOW),
        ..case(
            "no release table",
            supported,
            go_binary(),
            "go.supported",
            Na,
            "no Go release table",
        )
    });
    cases
}

#[test]
fn every_rule_passes_fails_and_does_not_apply_as_the_table_says() {
    let mut failures = Vec::new();
    for c in cases() {
        let policy = Policy::from_toml(&format!("[[artifact]]\nglob = \"*.exe\"\n{}\n", c.policy))
            .unwrap_or_else(|e| panic!("{}: {e}", c.name));
        let report = policy.evaluate_with(&[c.facts], None, &c.context);
        let hits: Vec<_> = report
            .results
            .iter()
            .filter(|r| r.rule.as_str() == c.rule)
            .collect();
        match hits.as_slice() {
            [hit] if hit.outcome == c.outcome && hit.message.contains(c.message_has) => {}
            _ => failures.push(format!(
                "{}: want one {} {:?} containing `{}`, got {hits:#?}",
                c.name, c.rule, c.outcome, c.message_has
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_new_rule_has_a_case_of_each_outcome_it_can_have() {
    let cases = cases();
    for rule in [
        "sections.wx",
        "sections.shared-writable",
        "cfg.instrumented",
        "cet.compatible",
        "signature.digest",
        "signature.timestamped",
        "signature.cert-expiry",
        "go.supported",
        "go.settings",
    ] {
        for outcome in [Outcome::Pass, Outcome::Fail, Outcome::NotApplicable] {
            assert!(
                cases.iter().any(|c| c.rule == rule && c.outcome == outcome),
                "{rule} has no {outcome:?} case"
            );
        }
    }
}

#[test]
fn the_catalogue_names_the_binskim_rules_and_sarif_carries_them() {
    let binskim: Vec<(&str, &str)> = RULES
        .iter()
        .filter_map(|r| Some((r.id.as_str(), r.binskim?)))
        .collect();
    assert_eq!(
        binskim,
        [
            ("sections.wx", "BA2021"),
            ("sections.shared-writable", "BA2019"),
            ("cfg.instrumented", "BA2008"),
            ("cet.compatible", "BA2025"),
            ("signature.digest", "BA2022"),
        ]
    );
    assert_eq!(RuleId::SectionsWx.info().binskim, Some("BA2021"));
    let policy =
        Policy::from_toml("[[artifact]]\nglob = \"*.exe\"\nforbid_wx_sections = true\n").unwrap();
    let facts = ArtifactFacts {
        sections: vec![section(".text", TEXT | 0x8000_0000)],
        ..go_binary()
    };
    let sarif: serde_json::Value =
        serde_json::from_str(&render::sarif(&policy.evaluate(&[facts], None))).unwrap();
    let run = &sarif["runs"][0];
    let index = run["results"][0]["ruleIndex"].as_u64().unwrap() as usize;
    let rule = &run["tool"]["driver"]["rules"][index];
    assert_eq!(rule["id"], "sections.wx");
    assert_eq!(rule["properties"]["binskimRuleId"], "BA2021");
    assert_eq!(run["results"][0]["ruleId"], "sections.wx");
}

#[test]
fn bad_digest_names_and_setting_values_are_policy_errors() {
    for (policy, message) in [
        (
            "forbid_signature_digests = [\"sha3\"]",
            "artifact rule 1: unknown signature digest `sha3`",
        ),
        (
            "go_settings = { require = { CGO_ENABLED = 0 } }",
            "invalid type: integer `0`, expected a string",
        ),
        ("cfg = \"yes\"", "unknown variant `yes`"),
        ("go_settings = { allow = {} }", "unknown field `allow`"),
    ] {
        let err = Policy::from_toml(&format!("[[artifact]]\nglob = \"*\"\n{policy}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{policy}: {err}");
    }
}
