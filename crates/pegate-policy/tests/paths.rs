//! Artifact paths in the CI formats, as a Windows run writes them: SARIF's `artifactLocation.uri`
//! and GitHub's `::error file=` name files with forward slashes whatever the OS, a Windows long
//! path's `\\?\` prefix is dropped, and non-ASCII names survive (percent-encoded UTF-8 in SARIF).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use pegate_policy::{ArtifactFacts, Policy, Report, render};

/// A report with one failure (the wrong machine) on an artifact at `path`.
fn failing(path: &str) -> Report {
    let policy = Policy::from_toml("[[artifact]]\nglob = \"*.exe\"\nmachine = \"ARM64\"").unwrap();
    let facts = ArtifactFacts {
        path: path.into(),
        machine: Some("AMD64".parse().unwrap()),
        ..ArtifactFacts::default()
    };
    policy.evaluate(&[facts], None)
}

#[track_caller]
fn sarif_uri(report: &Report) -> String {
    let doc: serde_json::Value = serde_json::from_str(&render::sarif(report)).unwrap();
    let location = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    location["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[track_caller]
fn github_file(report: &Report) -> String {
    let text = render::github(report);
    let line = text.lines().find(|l| l.starts_with("::error ")).unwrap();
    let file = line.strip_prefix("::error file=").unwrap();
    file.split(",title=").next().unwrap().to_owned()
}

#[test]
fn paths_are_forward_slashed_for_sarif_and_github() {
    // (artifact path as pegate found it, SARIF uri, GitHub file= property)
    let cases = [
        ("dist/a.exe", "dist/a.exe", "dist/a.exe"),
        ("./dist/a.exe", "dist/a.exe", "dist/a.exe"),
        (r"dist\a.exe", "dist/a.exe", "dist/a.exe"),
        (r".\dist\sub\a.exe", "dist/sub/a.exe", "dist/sub/a.exe"),
        (
            r"dist\用户\张伟.exe",
            "dist/%E7%94%A8%E6%88%B7/%E5%BC%A0%E4%BC%9F.exe",
            "dist/用户/张伟.exe",
        ),
        (r"dist\a b,c.exe", "dist/a%20b%2Cc.exe", "dist/a b%2Cc.exe"),
        // Absolute drive paths: `/C:/...` against SARIF's file:/// root; `:` escaped in a
        // workflow command property (the runner unescapes it).
        (r"C:\w\dist\a.exe", "/C:/w/dist/a.exe", "C%3A/w/dist/a.exe"),
        (
            r"\\?\C:\w\dist\a.exe",
            "/C:/w/dist/a.exe",
            "C%3A/w/dist/a.exe",
        ),
        (
            r"\\?\UNC\server\share\a.exe",
            "//server/share/a.exe",
            "//server/share/a.exe",
        ),
    ];
    for (path, uri, file) in cases {
        let report = failing(path);
        assert_eq!(sarif_uri(&report), uri, "SARIF uri of {path}");
        assert_eq!(github_file(&report), file, "GitHub file= of {path}");
    }
}

#[test]
fn globs_match_native_windows_paths() {
    let policy =
        Policy::from_toml("[[artifact]]\nglob = \"dist/*amd64*.exe\"\nmachine = \"AMD64\"")
            .unwrap();
    let facts = |path: &str| ArtifactFacts {
        path: path.into(),
        machine: Some("AMD64".parse().unwrap()),
        ..ArtifactFacts::default()
    };
    // The rule's machine check runs only on artifacts its glob matched.
    let matched = |path: &str| {
        policy
            .evaluate(&[facts(path)], None)
            .results
            .iter()
            .any(|r| r.rule.as_str() == "machine")
    };
    assert!(matched("dist/hello_amd64.exe"));
    // globset reads `\` as a separator only on Windows, where pegate's paths have them.
    assert_eq!(matched(r"dist\hello_amd64.exe"), cfg!(windows));
}
