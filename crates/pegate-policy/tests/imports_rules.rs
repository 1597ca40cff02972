//! `imports.system-only` and `imports.deny` on import facts, each pass, fail and
//! not-applicable case; and the default release policy: it parses, round-trips through TOML,
//! and judges what a first-time user expects (snapshot of its text).
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use pegate_policy::{
    ArtifactFacts, DEFAULT_POLICY, DllImport, ImportFacts, Outcome, Policy, PolicyFile, RULES,
    RuleId, render,
};

fn with_imports(dlls: &[(&str, bool)], errors: &[&str]) -> ArtifactFacts {
    ArtifactFacts {
        path: "dist/app_windows_amd64.exe".into(),
        format: Some("PE32+".into()),
        machine: Some("AMD64".parse().unwrap()),
        imports: Some(ImportFacts {
            dlls: dlls
                .iter()
                .map(|(name, delay)| DllImport {
                    name: (*name).into(),
                    delay: *delay,
                })
                .collect(),
            errors: errors.iter().map(|e| (*e).to_owned()).collect(),
        }),
        ..ArtifactFacts::default()
    }
}

/// The one result of `rule`, as (outcome, message).
#[track_caller]
fn result(policy: &str, facts: ArtifactFacts, rule: &str) -> Option<(Outcome, String)> {
    let report = Policy::from_toml(policy).unwrap().evaluate(&[facts], None);
    let hits: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.rule.as_str() == rule)
        .collect();
    assert!(hits.len() <= 1, "{hits:#?}");
    hits.first().map(|r| (r.outcome, r.message.clone()))
}

const SYSTEM_ONLY: &str = r#"
[[artifact]]
glob = "*.exe"
imports = {}
"#;

#[test]
fn system_only() {
    type Case<'a> = (&'a str, &'a str, ArtifactFacts, Outcome, &'a [&'a str]);
    let cases: Vec<Case<'_>> = vec![
        (
            "Go: kernel32 only",
            SYSTEM_ONLY,
            with_imports(&[("kernel32.dll", false)], &[]),
            Outcome::Pass,
            &["1 imported DLL(s), all part of Windows"],
        ),
        (
            "MSVC with the UCRT API sets, a delay-loaded system DLL",
            SYSTEM_ONLY,
            with_imports(
                &[
                    ("KERNEL32.dll", false),
                    ("api-ms-win-crt-runtime-l1-1-0.dll", false),
                    ("ext-ms-win-ntuser-window-l1-1-0.dll", false),
                    ("bcrypt.dll", true),
                ],
                &[],
            ),
            Outcome::Pass,
            &["4 imported DLL(s), all part of Windows"],
        ),
        (
            "cgo linked against winpthreads",
            SYSTEM_ONLY,
            with_imports(
                &[("KERNEL32.dll", false), ("libwinpthread-1.dll", false)],
                &[],
            ),
            Outcome::Fail,
            &[
                "dist/app_windows_amd64.exe imports libwinpthread-1.dll, which is not part of Windows",
                "-static",
            ],
        ),
        (
            "C++ runtime, delay-loaded",
            SYSTEM_ONLY,
            with_imports(&[("libstdc++-6.dll", true)], &[]),
            Outcome::Fail,
            &[
                "imports libstdc++-6.dll (delay-loaded), which is not part of Windows",
                "-static-libstdc++ -static-libgcc",
            ],
        ),
        (
            "the Visual C++ redistributable",
            SYSTEM_ONLY,
            with_imports(&[("VCRUNTIME140.dll", false)], &[]),
            Outcome::Fail,
            &["VCRUNTIME140.dll", "/MT", "redistributable"],
        ),
        (
            "a DLL the release ships, allowed (glob, case ignored)",
            "[[artifact]]\nglob = \"*\"\nimports = { allow = [\"SQLite*.dll\"] }\n",
            with_imports(&[("kernel32.dll", false), ("sqlite3.dll", false)], &[]),
            Outcome::Pass,
            &["2 imported DLL(s): part of Windows, or allowed by the policy (1)"],
        ),
        (
            "a damaged import table",
            SYSTEM_ONLY,
            with_imports(
                &[],
                &["import table: descriptor 0 rva 0x9000 is in no section"],
            ),
            Outcome::Fail,
            &["the import table cannot be read", "rva 0x9000"],
        ),
        (
            "import tables not read",
            SYSTEM_ONLY,
            ArtifactFacts {
                path: "a.exe".into(),
                ..ArtifactFacts::default()
            },
            Outcome::NotApplicable,
            &["the import table was not read"],
        ),
    ];
    for (name, policy, facts, want, words) in cases {
        let (got, message) = result(policy, facts, "imports.system-only").unwrap();
        assert_eq!(got, want, "{name}: {message}");
        for w in words {
            assert!(message.contains(w), "{name}: {message:?} lacks {w:?}");
        }
    }
    // `system_only = false` turns the rule off; `imports.deny` alone still runs.
    let off = "[[artifact]]\nglob = \"*\"\nimports = { system_only = false, deny = [\"x.dll\"] }\n";
    let facts = with_imports(&[("libwinpthread-1.dll", false)], &[]);
    assert_eq!(result(off, facts.clone(), "imports.system-only"), None);
    assert_eq!(
        result(off, facts, "imports.deny").map(|r| r.0),
        Some(Outcome::Pass)
    );
}

#[test]
fn deny() {
    let policy = r#"
[[artifact]]
glob = "*"
imports = { allow = ["ucrtbased.dll"], deny = ["ucrtbased.dll", "vcruntime*d.dll", "user32.dll"] }
"#;
    type Case<'a> = (&'a [(&'a str, bool)], Outcome, &'a [&'a str]);
    let cases: [Case<'_>; 4] = [
        (
            &[("kernel32.dll", false), ("VCRUNTIME140.dll", false)],
            Outcome::Pass,
            &["none of 2 imported DLL(s) is denied"],
        ),
        (
            // Denied even though allowed: deny wins.
            &[("UCRTBASED.dll", false)],
            Outcome::Fail,
            &[
                "imports UCRTBASED.dll, which the policy denies (`ucrtbased.dll`)",
                "debug C runtime",
                "/MDd",
            ],
        ),
        (
            &[("vcruntime140d.dll", true)],
            Outcome::Fail,
            &["vcruntime140d.dll (delay-loaded)", "`vcruntime*d.dll`"],
        ),
        (
            // A system DLL the policy denies: no debug-CRT advice.
            &[("user32.dll", false)],
            Outcome::Fail,
            &["imports user32.dll, which the policy denies (`user32.dll`)"],
        ),
    ];
    for (dlls, want, words) in cases {
        let (got, message) = result(policy, with_imports(dlls, &[]), "imports.deny").unwrap();
        assert_eq!(got, want, "{dlls:?}: {message}");
        for w in words {
            assert!(message.contains(w), "{message:?} lacks {w:?}");
        }
        if !dlls[0].0.starts_with("UCRTBASED") && !dlls[0].0.contains("140d") {
            assert!(!message.contains("debug C runtime"), "{message}");
        }
    }
    // A bad glob names the rule.
    let err = Policy::from_toml("[[artifact]]\nglob = \"*\"\nimports = { deny = [\"[x\"] }\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("artifact rule 1: bad glob `[x`"), "{err}");
    // Unknown keys are refused.
    let err = Policy::from_toml("[[artifact]]\nglob = \"*\"\nimports = { alow = [] }\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("unknown field `alow`"), "{err}");
}

#[test]
fn rules_are_in_the_catalogue_and_in_sarif() {
    for id in ["imports.system-only", "imports.deny"] {
        let rule = RuleId::from_id(id).unwrap();
        assert_eq!(rule.as_str(), id);
        assert!(RULES.iter().any(|r| r.id == rule));
        assert!(!rule.info().fix.is_empty() && !rule.info().description.is_empty());
    }
    let report = Policy::from_toml(SYSTEM_ONLY).unwrap().evaluate(
        &[with_imports(&[("libwinpthread-1.dll", false)], &[])],
        None,
    );
    let sarif: serde_json::Value = serde_json::from_str(&render::sarif(&report)).unwrap();
    let run = &sarif["runs"][0];
    let result = &run["results"][0];
    assert_eq!(result["ruleId"], "imports.system-only");
    assert_eq!(result["level"], "error");
    let index = result["ruleIndex"].as_u64().unwrap() as usize;
    assert_eq!(
        run["tool"]["driver"]["rules"][index]["id"],
        "imports.system-only"
    );
    assert!(
        run["tool"]["driver"]["rules"][index]["help"]["text"]
            .as_str()
            .unwrap()
            .contains("-static")
    );
}

#[test]
fn the_default_policy_parses_round_trips_and_is_the_one_documented() {
    let policy = Policy::default_release().unwrap();
    // Its text, as `--print-default-policy` writes it, parses to the same policy.
    assert_eq!(Policy::from_toml(DEFAULT_POLICY).unwrap().file, policy.file);
    // And the parsed policy written back as TOML (no comments) parses to itself.
    let written = toml::to_string(&policy.file).unwrap();
    let back: PolicyFile = toml::from_str(&written).unwrap();
    assert_eq!(back, policy.file);
    assert!(policy.needs_imports());
    insta::assert_snapshot!("default-policy", DEFAULT_POLICY);
}

#[test]
fn the_default_policy_judges_a_first_time_release() {
    let policy = Policy::default_release().unwrap();
    let go = ArtifactFacts {
        dll_characteristics: "HIGH_ENTROPY_VA | DYNAMIC_BASE | NX_COMPAT"
            .parse()
            .unwrap(),
        signature_status: Some("unsigned".parse().unwrap()),
        sections: vec![pegate_policy::SectionFacts {
            name: ".text".into(),
            characteristics: pegate_policy::SectionCharacteristics::new(0x6000_0020),
        }],
        ..with_imports(&[("kernel32.dll", false)], &[])
    };
    let report = policy.evaluate(std::slice::from_ref(&go), None);
    assert!(!report.failed(), "{:#?}", report.results);
    // The hardening, import and signature rules run; unsigned passes the signature hygiene
    // rules as not applicable.
    let rules: Vec<&str> = report.results.iter().map(|r| r.rule.as_str()).collect();
    for id in [
        "dll-characteristics.required",
        "sections.wx",
        "sections.shared-writable",
        "imports.system-only",
        "imports.deny",
        "signature.digest",
        "signature.timestamped",
        "signature.cert-expiry",
    ] {
        assert!(rules.contains(&id), "{id} in {rules:?}");
    }
    // The classic cgo failure fails it, naming the DLL.
    let dynamic = ArtifactFacts {
        imports: with_imports(&[("kernel32.dll", false), ("libstdc++-6.dll", false)], &[]).imports,
        ..go
    };
    let report = policy.evaluate(&[dynamic], None);
    let failed: Vec<_> = report.failures().map(|r| r.rule.as_str()).collect();
    assert_eq!(failed, ["imports.system-only"]);
}
