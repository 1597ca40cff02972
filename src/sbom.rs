//! Software bills of materials from the bytes: the Go build info of a binary (main module,
//! dependencies with version, `h1:` checksum and replacement, Go version and build settings)
//! with the artifact's SHA-256 and PE facts, as CycloneDX 1.6 JSON or SPDX 2.3 JSON.
//!
//! Pure functions from a [`Subject`] and a creation time to a JSON value: no clock, no I/O.
//! Go records no dependency graph, only the module list, so every dependency hangs directly off
//! the main module. A `h1:` checksum is the base64 SHA-256 of the module's file tree (Go's
//! `dirhash`); both formats want hex, so it is recoded, and the `h1:` text is kept beside it.
//!
//! ```
//! use pegate::sbom::{self, Subject};
//!
//! let subject = Subject {
//!     file_name: "hello.exe".into(),
//!     sha256: Some("ab".repeat(32)),
//!     machine: Some("AMD64".into()),
//!     ..Subject::default()
//! };
//! let bom = sbom::cyclonedx(&subject, 0);
//! assert_eq!(bom["specVersion"], "1.6");
//! assert_eq!(bom["metadata"]["component"]["hashes"][0]["content"], "ab".repeat(32));
//! assert_eq!(sbom::spdx(&subject, 0)["spdxVersion"], "SPDX-2.3");
//! ```

mod cyclonedx;
mod spdx;

use std::fmt::Write as _;

use pegate_gobin::buildinfo::{BuildInfo, Module};
use serde_json::{Value, json};

use crate::artifact::ArtifactReport;

pub use self::cyclonedx::cyclonedx;
pub use self::spdx::spdx;

/// The SBOM formats pegate writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Format {
    /// CycloneDX 1.6 JSON.
    #[default]
    CycloneDx,
    /// SPDX 2.3 JSON.
    Spdx,
}

impl Format {
    /// The file name suffix tools expect: `.cdx.json`, `.spdx.json`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::CycloneDx => "cdx.json",
            Format::Spdx => "spdx.json",
        }
    }

    /// The document in this format.
    pub fn render(self, subject: &Subject, created: i64) -> Value {
        match self {
            Format::CycloneDx => cyclonedx(subject, created),
            Format::Spdx => spdx(subject, created),
        }
    }
}

/// What an SBOM describes: one artifact.
#[derive(Debug, Clone, Default)]
pub struct Subject {
    /// The artifact's file name.
    pub file_name: String,
    /// SHA-256 of the artifact, lowercase hex.
    pub sha256: Option<String>,
    /// COFF machine name.
    pub machine: Option<String>,
    /// Subsystem name.
    pub subsystem: Option<String>,
    /// Authenticode verdict (`unsigned`, `signed-valid`, ...).
    pub signature_status: Option<String>,
    /// The Go build info, when the artifact is a Go binary.
    pub go: Option<BuildInfo>,
}

impl Subject {
    /// The subject of an inspected artifact.
    pub fn from_report(report: &ArtifactReport) -> Subject {
        let ok = report.inspection();
        let pe = report.pe();
        Subject {
            file_name: report
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| report.path.display().to_string()),
            sha256: ok.and_then(|i| i.sha256.clone()),
            machine: pe.map(|p| p.headers.machine.to_string()),
            subsystem: pe.map(|p| p.headers.subsystem.to_string()),
            signature_status: ok
                .and_then(|i| i.signature.as_ref())
                .map(|s| s.status.as_str().to_owned()),
            go: ok.and_then(|i| i.go.clone()),
        }
    }

    /// (name, version) of the main component: the main module, else the main package path,
    /// else the file name. A main module Go recorded as `(devel)` (built from a checkout, not
    /// fetched at a version) gets the version syft gives it from the VCS build settings, so
    /// that scanners see one name for one build: see [`vcs_pseudo_version`].
    fn main_name_version(&self) -> (String, Option<String>) {
        match &self.go {
            Some(go) => match &go.main {
                Some(m) if !m.path.is_empty() => {
                    let version = match m.version.as_str() {
                        "(devel)" => ldflags_version(go)
                            .or_else(|| vcs_pseudo_version(go))
                            .unwrap_or_else(|| m.version.clone()),
                        v => v.to_owned(),
                    };
                    (m.path.clone(), Some(version))
                }
                _ if !go.path.is_empty() => (go.path.clone(), None),
                _ => (self.file_name.clone(), None),
            },
            None => (self.file_name.clone(), None),
        }
    }

    /// The facts recorded as properties of the main component, in a fixed order.
    fn properties(&self) -> Vec<(String, String)> {
        let mut props = Vec::new();
        let mut add = |k: &str, v: Option<&str>| {
            if let Some(v) = v {
                props.push((k.to_owned(), v.to_owned()));
            }
        };
        add("pegate:file:name", Some(&self.file_name));
        add("pegate:pe:machine", self.machine.as_deref());
        add("pegate:pe:subsystem", self.subsystem.as_deref());
        add(
            "pegate:authenticode:status",
            self.signature_status.as_deref(),
        );
        if let Some(go) = &self.go {
            add("pegate:go:version", Some(&go.go_version));
            add("pegate:go:package", Some(&go.path));
            // The version Go recorded, when the component's is derived from it.
            if let (Some(m), (_, Some(shown))) = (&go.main, self.main_name_version())
                && m.version != shown
            {
                add("pegate:go:module:recorded-version", Some(&m.version));
            }
            if let Some(sum) = go.main.as_ref().map(|m| m.sum.as_str()) {
                add("pegate:go:module:sum", Some(sum).filter(|s| !s.is_empty()));
            }
            for s in &go.settings {
                props.push((format!("pegate:go:build:{}", s.key), s.value.clone()));
            }
        }
        props
    }
}

/// The version a `(devel)` main module was stamped with at link time, as syft reads it from the
/// `-ldflags` build setting: the first `-X …​.version=1.6.25` (also `Version`, `gitVersion`,
/// `buildVersion`, `GitBuildVersion`, …), else the first `-X …​.tag=`; a `v` is put in front
/// when missing (`v1.6.25`). The version is syft's pattern `v?\d+.\d+.\d+[-\w]*` (`.`: any
/// character).
fn ldflags_version(go: &BuildInfo) -> Option<String> {
    let flags = go.setting("-ldflags")?;
    let keys: [&[&str]; 2] = [
        &[
            "version",
            "Version",
            "buildversion",
            "buildVersion",
            "Buildversion",
            "BuildVersion",
            "gitversion",
            "gitVersion",
            "Gitversion",
            "GitVersion",
            "gitbuildversion",
            "gitbuildVersion",
            "gitBuildversion",
            "gitBuildVersion",
            "Gitbuildversion",
            "GitbuildVersion",
            "GitBuildversion",
            "GitBuildVersion",
        ],
        &["tag", "Tag"],
    ];
    keys.iter().find_map(|keys| {
        flags.match_indices('.').find_map(|(at, _)| {
            let rest = flags.get(at.saturating_add(1)..)?;
            keys.iter().find_map(|k| {
                let value = rest.strip_prefix(k)?.strip_prefix('=')?;
                let len = semver_like(value.as_bytes())?;
                let v = value.get(..len)?;
                Some(if v.starts_with('v') {
                    v.to_owned()
                } else {
                    format!("v{v}")
                })
            })
        })
    })
}

/// The length of the match of `v?\d+.\d+.\d+[-\w]*` (`.` any character) at the start of `s`,
/// with a regular expression's preferences (greedy, leftmost-first).
fn semver_like(s: &[u8]) -> Option<usize> {
    fn digits(s: &[u8], at: usize) -> usize {
        s.get(at..)
            .map_or(0, |t| t.iter().take_while(|b| b.is_ascii_digit()).count())
    }
    // After the third number: greedy `[-\w]*`.
    let tail = |at: usize| {
        at.saturating_add(s.get(at..).map_or(0, |t| {
            t.iter()
                .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
                .count()
        }))
    };
    // `\d+ . ` then the rest, trying the longest run of digits first.
    fn number_then(s: &[u8], at: usize, next: &dyn Fn(usize) -> Option<usize>) -> Option<usize> {
        let run = digits(s, at);
        (1..=run).rev().find_map(|n| {
            let after = at.checked_add(n)?;
            // `.`: any one character but a newline (a UTF-8 lead byte counts for it here).
            s.get(after).filter(|b| **b != b'\n')?;
            next(after.checked_add(1)?)
        })
    }
    let start = usize::from(s.first() == Some(&b'v'));
    let third = |at: usize| {
        let run = digits(s, at);
        (run > 0).then(|| tail(at.saturating_add(run)))
    };
    let second = |at: usize| number_then(s, at, &third);
    number_then(s, start, &second)
}

/// The version of a `(devel)` main module as Go's module pseudo-versions write it, from the
/// VCS settings `go build` records (`vcs.revision`, `vcs.time`, `vcs.modified`):
/// `v0.0.0-<yyyymmddhhmmss>-<first 12 of the revision>`, with `+dirty` for a modified checkout.
/// This is syft's rule (its go-module-binary cataloger, "main module version from build
/// settings"); `None` without both the revision and the time.
fn vcs_pseudo_version(go: &BuildInfo) -> Option<String> {
    let revision = go.setting("vcs.revision").filter(|r| !r.is_empty())?;
    let time = go.setting("vcs.time")?;
    // `2026-07-07T03:00:41Z` (RFC 3339, UTC, as Go writes it): its 14 digits.
    let stamp: String = time.chars().take(19).filter(char::is_ascii_digit).collect();
    if stamp.len() != 14 {
        return None;
    }
    let short: String = revision.chars().take(12).collect();
    let dirty = if go.setting("vcs.modified") == Some("true") {
        "+dirty"
    } else {
        ""
    };
    Some(format!("v0.0.0-{stamp}-{short}{dirty}"))
}

/// A package URL for a Go module: `pkg:golang/github.com/x/y@v1.2.3`. A main module built
/// outside version control keeps Go's `(devel)` as its version, as syft writes it
/// (`@%28devel%29`, the same purl percent-decoded).
fn purl(path: &str, version: Option<&str>) -> String {
    let mut s = String::from("pkg:golang/");
    encode(&mut s, path, b"/");
    if let Some(v) = version.filter(|v| !v.is_empty()) {
        s.push('@');
        encode(&mut s, v, b"");
    }
    s
}

/// Percent-encodes all but unreserved characters (and `keep`).
fn encode(out: &mut String, text: &str, keep: &[u8]) {
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
}

/// The hex SHA-256 inside a Go `h1:` checksum (base64), if it is one.
pub fn h1_to_hex(sum: &str) -> Option<String> {
    let b64 = sum.strip_prefix("h1:")?;
    let bytes = base64_decode(b64)?;
    (bytes.len() == 32).then(|| {
        bytes.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    })
}

/// Standard base64 with padding, as Go's `h1:` sums use it.
// The accumulator never holds more than 13 bits and lengths are a string's: no overflow.
#[allow(clippy::arithmetic_side_effects)]
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let trimmed = text.trim_end_matches('=');
    if !text.len().is_multiple_of(4) || text.len() - trimmed.len() > 2 {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len() / 4 * 3 + 2);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in trimmed.bytes() {
        acc = (acc << 6) | value(c)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// `2026-12-01T00:00:00Z` from Unix seconds (proleptic Gregorian, UTC).
// Every intermediate is at most a few hundred times `unix / 86400`: no overflow for any i64.
#[allow(clippy::arithmetic_side_effects)]
pub fn rfc3339(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Unix seconds from `2026-12-01`, `2026-12-01T10:20:30Z` or a plain number of seconds.
// Years are limited to 0..=9999 and the other fields to their ranges: no overflow.
#[allow(clippy::arithmetic_side_effects)]
pub fn parse_time(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let (date, time) = match text.split_once(['T', ' ']) {
        Some((d, t)) => (d, Some(t.trim_end_matches('Z'))),
        None => (text, None),
    };
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some()
        || !(0..=9999).contains(&y)
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&day)
    {
        return None;
    }
    let mut secs = 0i64;
    if let Some(t) = time {
        let mut p = t.split(':').map(|p| p.parse::<i64>().ok());
        let (h, mi, s) = (
            p.next()??,
            p.next().unwrap_or(Some(0))?,
            p.next().unwrap_or(Some(0))?,
        );
        if p.next().is_some() || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        secs = h * 3600 + mi * 60 + s;
    }
    // Howard Hinnant's days_from_civil.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    Some((era * 146_097 + doe - 719_468) * 86_400 + secs)
}

/// The Go standard library as a component, the way syft, grype, OSV-Scanner and
/// Dependency-Track name it so that Go's own CVEs match: name `stdlib`, version as the build
/// info records it (`go1.27.3`), package URL `pkg:golang/stdlib@1.27.3`. `None` for a file
/// without build info or with a Go version that is not `go` + a version (a `devel` toolchain).
fn stdlib(subject: &Subject) -> Option<(String, String)> {
    let recorded = subject.go.as_ref()?.go_version.as_str();
    // `go1.24.1 X:boringcrypto`: the experiments after the space are not part of the version.
    let version = recorded.split_whitespace().next()?;
    let bare = version.strip_prefix("go")?;
    if !bare.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let mut purl = String::from("pkg:golang/stdlib@");
    encode(&mut purl, bare, b"");
    Some((version.to_owned(), purl))
}

/// The module whose code is linked: the replacement when there is one.
fn linked(m: &Module) -> &Module {
    m.replace.as_deref().unwrap_or(m)
}

fn deps(subject: &Subject) -> &[Module] {
    subject
        .go
        .as_ref()
        .map(|g| g.deps.as_slice())
        .unwrap_or(&[])
}

/// pegate's UUID namespace for SBOM serial numbers: the RFC 4122 version 5 UUID of the URL
/// `https://example.invalid/pegate/sbom` in the URL namespace.
const SBOM_NAMESPACE: [u8; 16] = [
    0x42, 0x3e, 0x90, 0x95, 0x73, 0x5c, 0x50, 0x04, 0xa2, 0x39, 0x44, 0xfb, 0xae, 0x97, 0x16, 0xbc,
];

/// An RFC 9562 version 5 UUID (SHA-1, name-based) of `name` in [`SBOM_NAMESPACE`].
fn uuid_v5(name: &[u8]) -> String {
    use sha1::Digest as _;
    let mut h = sha1::Sha1::new();
    h.update(SBOM_NAMESPACE);
    h.update(name);
    let digest = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(digest.get(..16).unwrap_or(&[0; 16]));
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x50;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        hex.get(0..8).unwrap_or_default(),
        hex.get(8..12).unwrap_or_default(),
        hex.get(12..16).unwrap_or_default(),
        hex.get(16..20).unwrap_or_default(),
        hex.get(20..32).unwrap_or_default()
    )
}

/// Sets `key` on a JSON object (a no-op on anything else, which the callers never pass).
fn set(object: &mut Value, key: &str, value: Value) {
    if let Some(fields) = object.as_object_mut() {
        fields.insert(key.to_owned(), value);
    }
}

fn properties(props: Vec<(String, String)>) -> Value {
    Value::Array(
        props
            .into_iter()
            .map(|(name, value)| json!({"name": name, "value": value}))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn times_round_trip_and_match_known_dates() {
        for (text, unix, shown) in [
            ("1970-01-01", 0, "1970-01-01T00:00:00Z"),
            ("2026-12-01", 1_796_083_200, "2026-12-01T00:00:00Z"),
            ("2000-02-29T23:59:59Z", 951_868_799, "2000-02-29T23:59:59Z"),
            ("1700000000", 1_700_000_000, "2023-11-14T22:13:20Z"),
        ] {
            assert_eq!(parse_time(text), Some(unix), "{text}");
            assert_eq!(rfc3339(unix), shown, "{text}");
        }
        for bad in ["", "2026-13-01", "2026-12", "yesterday", "2026-12-01T25:00"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn h1_sums_decode_to_hex_sha256() {
        // Checked against Python's base64.b64decode.
        assert_eq!(
            h1_to_hex("h1:kunALQeHf1/185U1i0GOB/fy1IPRDDpuoOOqRReG57U=").as_deref(),
            Some("92e9c02d07877f5ff5f395358b418e07f7f2d483d10c3a6ea0e3aa451786e7b5")
        );
        for bad in ["", "h1:", "h2:abc=", "h1:not base64!", "h1:YWJj"] {
            assert_eq!(h1_to_hex(bad), None, "{bad}");
        }
    }

    #[test]
    fn ldflags_versions_as_syft_reads_them() {
        let info = |flags: &str| BuildInfo {
            settings: vec![pegate_gobin::buildinfo::Setting {
                key: "-ldflags".into(),
                value: flags.into(),
            }],
            ..serde_json::from_value(serde_json::json!({
                "go_version": "go1.27.3", "path": "x", "main": null, "deps": [], "settings": [],
                "build_id": null, "format": "pe", "ptr_size": 8, "offset": 0
            }))
            .unwrap()
        };
        for (flags, want) in [
            (
                "-s -w -X github.com/rhysd/actionlint.version=1.6.25 -X \"a.b=c d\"",
                Some("v1.6.25"),
            ),
            ("-X main.Version=v2.0.1-rc.1", Some("v2.0.1-rc")),
            ("-X main.gitVersion=10.20.30_x", Some("v10.20.30_x")),
            ("-X main.tag=1.2.3 -X main.version=9", Some("v1.2.3")),
            ("-X main.version=abc -X main.version=3.4.5", Some("v3.4.5")),
            ("-X main.commit=1.2.3", None),
            ("-X main.version=1.2", None),
        ] {
            assert_eq!(ldflags_version(&info(flags)).as_deref(), want, "{flags}");
        }
    }

    #[test]
    fn uuid_v5_matches_python() {
        // ns = uuid.uuid5(uuid.NAMESPACE_URL, "https://example.invalid/pegate/sbom")
        // python3 -c "import uuid; print(uuid.uuid5(ns, 'abc'))"
        assert_eq!(uuid_v5(b"abc"), "68d3fd12-ce7e-558a-b383-5b2e89f6299a");
    }

    #[test]
    fn purls_encode_what_a_purl_must() {
        assert_eq!(
            purl("github.com/a/b", Some("v0.0.0+incompatible")),
            "pkg:golang/github.com/a/b@v0.0.0%2Bincompatible"
        );
        assert_eq!(
            purl("example.com/hello", Some("(devel)")),
            "pkg:golang/example.com/hello@%28devel%29"
        );
    }
}
