//! pegate against independent tools on a few hundred real PE files nobody on this project
//! wrote: the corpus `cargo xtask corpus` fetches (`fixtures/corpus.toml`) into
//! `target/pegate-corpus/` or `$PEGATE_CORPUS`.
//!
//! | oracle | fields |
//! |---|---|
//! | pefile, LIEF (`tests/oracle/pe_oracle.py`, one Python process) | parse, format, machine, subsystem, dll, section count, raw section names, stored and computed checksum, guard flags, ARM64X/ARM64EC, overlay |
//! | `llvm-readobj --file-headers --sections --coff-load-config` | parse, format, machine, subsystem, dll, section count, resolved section names, guard flags, ARM64X/ARM64EC |
//! | `osslsigncode verify` | signature: unsigned, signed (every digest matches), digest-mismatch, unreadable |
//! | `sbverify --cert ANCHOR` (EFI files, per trust anchor) | trusted, not-trusted, unsigned |
//!
//! Every deliberate difference is listed with its reason in
//! `fixtures/differential-exceptions.toml`; any other difference fails the test with file,
//! oracle, field and both values, and so does an exception that no longer matches anything.
//! A missing corpus fails too: the test never passes on no files. On Windows (Wine in CI) the
//! comparison is skipped with that reason printed: the oracles are Linux tools here.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use pegate::authenticode::{Status, TrustStore, VerifyOptions};
use rayon::prelude::*;
use serde_json::Value;

use crate::root;

/// Fewer files than this and the comparison proves little (the fetcher refuses fewer too).
const MIN_FILES: usize = 200;

/// One file's facts as one tool sees them: field -> normalised value. `parse` is `ok` or
/// `refused`; when either side refused, only `parse` is compared.
type Facts = BTreeMap<String, String>;

/// What one tool said about one file: its facts, and its error message when it refused.
#[derive(Debug, Default, Clone)]
struct Reading {
    facts: Facts,
    error: Option<String>,
}

impl Reading {
    fn refused(error: impl Into<String>) -> Reading {
        let mut facts = Facts::new();
        facts.insert("parse".into(), "refused".into());
        Reading {
            facts,
            error: Some(error.into()),
        }
    }

    fn ok() -> Reading {
        let mut facts = Facts::new();
        facts.insert("parse".into(), "ok".into());
        Reading { facts, error: None }
    }

    fn set(&mut self, field: &str, value: impl Into<String>) {
        self.facts.insert(field.into(), value.into());
    }
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("PEGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/pegate-corpus"))
}

/// The corpus: (path relative to the corpus directory, absolute path), and the trust anchors.
pub(crate) fn corpus() -> (Vec<(String, PathBuf)>, Vec<PathBuf>) {
    let dir = corpus_dir();
    let index = dir.join("index.json");
    let text = std::fs::read_to_string(&index).unwrap_or_else(|e| {
        panic!(
            "the differential corpus is missing ({}: {e}): run `cargo xtask corpus` first (.ci/run does)",
            index.display()
        )
    });
    let index: Value = serde_json::from_str(&text).unwrap();
    let files: Vec<(String, PathBuf)> = index["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let rel = f["path"].as_str().unwrap().to_owned();
            let abs = dir.join(&rel);
            assert!(
                abs.is_file(),
                "{} is in the index but not on disk: rerun `cargo xtask corpus`",
                abs.display()
            );
            (rel, abs)
        })
        .collect();
    assert!(
        files.len() >= MIN_FILES,
        "the corpus has {} files, fewer than {MIN_FILES}: rerun `cargo xtask corpus`",
        files.len()
    );
    let anchors = index["anchors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| dir.join(a.as_str().unwrap()))
        .collect();
    (files, anchors)
}

fn hex16(v: u64) -> String {
    format!("{v:#06x}")
}

fn hex32(v: u64) -> String {
    format!("{v:#010x}")
}

fn format_name(magic: u64) -> String {
    match magic {
        0x10b => "PE32".into(),
        0x20b => "PE32+".into(),
        other => format!("magic {other:#x}"),
    }
}

fn overlay(offset: u64, size: u64) -> String {
    format!("{offset:#x}+{size:#x}")
}

fn is_efi(subsystem: u16) -> bool {
    (10..=13).contains(&subsystem)
}

/// The anchor's name as a field: `trust:ms-uefi-2011`.
fn trust_field(anchor: &Path) -> String {
    format!(
        "trust:{}",
        anchor.file_stem().unwrap_or_default().to_string_lossy()
    )
}

/// pegate's reading of one file, through the library as a user calls it.
fn pegate_reading(path: &Path, anchors: &[PathBuf]) -> Reading {
    let opts = pegate::pe::InspectOptions::default().with_checksum(true);
    let inspected = pegate::pe::inspect_path_with(path, &opts, |_, view, summary| {
        let raw: Vec<String> = view
            .sections()
            .iter()
            .map(|s| {
                let end = s.name.iter().position(|&b| b == 0).unwrap_or(8);
                String::from_utf8_lossy(&s.name[..end]).into_owned()
            })
            .collect();
        (summary, raw)
    });
    let (s, raw_names) = match inspected {
        Ok(x) => x,
        Err(e) => return Reading::refused(e.to_string()),
    };
    let mut r = Reading::ok();
    r.set("format", s.headers.format());
    r.set("machine", hex16(s.headers.machine.0.into()));
    r.set("subsystem", hex16(s.headers.subsystem.0.into()));
    r.set(
        "dll",
        s.headers
            .characteristics
            .contains(pegate::facts::Characteristics::DLL)
            .to_string(),
    );
    r.set("section_count", s.sections.len().to_string());
    r.set("section_names_raw", raw_names.join(" "));
    r.set(
        "section_names",
        s.sections
            .iter()
            .map(|x| x.name.as_str())
            .collect::<Vec<_>>()
            .join(" "),
    );
    r.set("checksum_stored", hex32(s.headers.checksum.into()));
    r.set(
        "checksum_computed",
        s.computed_checksum
            .map_or("none".into(), |c| hex32(c.into())),
    );
    r.set(
        "guard_flags",
        s.guard_flags
            .map_or("none".into(), |g| format!("{:#x}", g.raw)),
    );
    r.set("hybrid", s.hybrid.map_or("none".into(), |h| h.to_string()));
    r.set(
        "overlay",
        s.overlay
            .as_ref()
            .map_or("none".into(), |o| overlay(o.offset, o.size)),
    );
    r.set("signature", pegate_signature(path));
    if is_efi(s.headers.subsystem.0) {
        for anchor in anchors {
            let trust = TrustStore::from_pem_file(anchor).unwrap();
            let verdict = match pegate::authenticode::verify_path(
                path,
                &VerifyOptions::default().with_trust(trust),
            ) {
                Ok(rep) => match rep.status {
                    Status::SignedValid => "trusted",
                    Status::Unsigned => "unsigned",
                    _ => "not-trusted",
                },
                Err(_) => "not-trusted",
            };
            r.set(&trust_field(anchor), verdict);
        }
    }
    r
}

/// pegate's signature verdict in osslsigncode's terms (no trust bundle on either side).
fn pegate_signature(path: &Path) -> String {
    match pegate::authenticode::verify_path(path, &VerifyOptions::default()) {
        Ok(rep) => match rep.status {
            Status::Unsigned => "unsigned".into(),
            Status::Error => "unreadable".into(),
            Status::SignedInvalid if rep.signatures.iter().any(|s| !s.digest_matches) => {
                "digest-mismatch".into()
            }
            Status::SignedInvalid => "invalid".into(),
            _ => "signed".into(),
        },
        Err(e) => format!("error: {e}"),
    }
}

/// pefile's and LIEF's readings, from one run of the Python oracle over every file.
fn python_readings(files: &[(String, PathBuf)]) -> BTreeMap<&'static str, Vec<Reading>> {
    let list = tempfile::NamedTempFile::new().unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|(_, p)| p.to_string_lossy().into_owned())
        .collect();
    std::fs::write(list.path(), paths.join("\n")).unwrap();
    let out = Command::new("python3")
        .arg(root().join("tests/oracle/pe_oracle.py"))
        .arg(list.path())
        .output()
        .expect("python3 runs the pefile/LIEF oracle");
    assert!(
        out.status.success(),
        "tests/oracle/pe_oracle.py failed (needs `pip install pefile lief`, as .ci/run does):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut readings = BTreeMap::new();
    for tool in ["pefile", "lief"] {
        let v = paths
            .iter()
            .map(|p| python_reading(&all[p.as_str()][tool]))
            .collect();
        readings.insert(tool, v);
    }
    readings
}

fn python_reading(v: &Value) -> Reading {
    if let Some(e) = v.get("error") {
        return Reading::refused(e.as_str().unwrap_or_default());
    }
    let int = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("{k} in {v}"));
    let mut r = Reading::ok();
    r.set("format", format_name(int("magic")));
    r.set("machine", hex16(int("machine")));
    r.set("subsystem", hex16(int("subsystem")));
    r.set("dll", v["dll"].as_bool().unwrap().to_string());
    r.set("section_count", int("section_count").to_string());
    let names: Vec<&str> = v["section_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    r.set("section_names_raw", names.join(" "));
    r.set("checksum_stored", hex32(int("checksum_stored")));
    r.set("checksum_computed", hex32(int("checksum_computed")));
    r.set(
        "guard_flags",
        v["guard_flags"]
            .as_u64()
            .map_or("none".into(), |g| format!("{g:#x}")),
    );
    r.set("hybrid", v["hybrid"].as_str().unwrap_or("none"));
    r.set(
        "overlay",
        match v["overlay"].as_array() {
            Some(o) => overlay(o[0].as_u64().unwrap(), o[1].as_u64().unwrap()),
            None => "none".into(),
        },
    );
    r
}

/// llvm-readobj's readings, in batches of files per process.
fn llvm_readings(files: &[(String, PathBuf)]) -> Vec<Reading> {
    let mut readings = Vec::with_capacity(files.len());
    for chunk in files.chunks(64) {
        let out = Command::new("llvm-readobj")
            .args(["--file-headers", "--sections", "--coff-load-config"])
            .args(chunk.iter().map(|(_, p)| p))
            .output()
            .expect("llvm-readobj (Debian's llvm) reads the corpus");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let mut blocks: BTreeMap<&str, &str> = BTreeMap::new();
        for block in stdout.split("\nFile: ").skip(1) {
            let (name, rest) = block.split_once('\n').unwrap_or((block, ""));
            blocks.insert(name.trim(), rest);
        }
        for (_, path) in chunk {
            let p = path.to_string_lossy();
            readings.push(match blocks.get(p.as_ref()) {
                Some(block) => llvm_reading(block),
                None => Reading::refused(
                    stderr
                        .lines()
                        .filter(|l| l.contains(p.as_ref()))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            });
        }
    }
    readings
}

/// The `0x…` in parentheses at the end of `Machine: IMAGE_FILE_MACHINE_AMD64 (0x8664)`, or
/// the value itself when it is `0x…`.
fn llvm_number(value: &str) -> Option<u64> {
    let v = value.trim();
    let v = v
        .rsplit_once('(')
        .map_or(v, |(_, x)| x.trim_end_matches(')'));
    u64::from_str_radix(v.trim().strip_prefix("0x")?, 16)
        .ok()
        .or_else(|| v.trim().parse().ok())
}

fn llvm_reading(block: &str) -> Reading {
    let first = |key: &str| {
        block.lines().find_map(|l| {
            l.trim_start()
                .strip_prefix(key)
                .and_then(|rest| rest.strip_prefix(": "))
        })
    };
    let mut r = Reading::ok();
    // The optional header's Magic, not the DOS header's (`Magic: MZ`).
    let magic = block.lines().find_map(|l| {
        let m = l.trim_start().strip_prefix("Magic: 0x")?;
        u64::from_str_radix(m.trim(), 16).ok()
    });
    let Some(magic) = magic else {
        return Reading::refused(format!("no optional header Magic in: {block:.200}"));
    };
    r.set("format", format_name(magic));
    let machine = first("Machine").and_then(llvm_number).unwrap_or(u64::MAX);
    r.set("machine", hex16(machine));
    r.set(
        "subsystem",
        hex16(first("Subsystem").and_then(llvm_number).unwrap_or(u64::MAX)),
    );
    r.set("dll", block.contains("IMAGE_FILE_DLL (").to_string());
    r.set(
        "section_count",
        first("SectionCount").unwrap_or("?").trim().to_owned(),
    );
    let names: Vec<&str> = block
        .lines()
        .filter_map(|l| l.strip_prefix("    Name: "))
        .map(|n| n.rsplit_once(" (").map_or(n, |(name, _)| name))
        .collect();
    r.set("section_names", names.join(" "));
    r.set(
        "guard_flags",
        first("GuardFlags")
            .and_then(llvm_number)
            .map_or("none".into(), |g| format!("{g:#x}")),
    );
    let chpe = first("CHPEMetadataPointer")
        .and_then(llvm_number)
        .unwrap_or(0);
    let hybrid = match (chpe != 0, machine) {
        (true, 0x8664) => "ARM64EC",
        (true, 0xaa64) => "ARM64X",
        _ => "none",
    };
    r.set("hybrid", hybrid);
    r
}

/// `osslsigncode verify` (no CA file: trust is not compared, only presence and digests).
fn osslsigncode_reading(path: &Path) -> Reading {
    let out = Command::new("osslsigncode")
        .arg("verify")
        .arg("-in")
        .arg(path)
        .output()
        .expect("osslsigncode (Debian package) is needed: apt-get install osslsigncode");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let verdict = osslsigncode_verdict(&text);
    let mut r = Reading::ok();
    r.set("signature", verdict);
    if verdict == "unreadable" {
        r.error = Some(
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .take(3)
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    r
}

/// osslsigncode's output reduced to: unsigned, digest-mismatch, signed, unreadable.
fn osslsigncode_verdict(text: &str) -> &'static str {
    let value = |l: &str, key: &str| {
        l.strip_prefix(key)
            .map(|v| v.trim_start_matches([' ', ':']).trim().to_owned())
    };
    let current: Vec<String> = text
        .lines()
        .filter_map(|l| value(l, "Current message digest"))
        .collect();
    let calculated: Vec<String> = text
        .lines()
        .filter_map(|l| value(l, "Calculated message digest"))
        .collect();
    if text.contains("No signature found") {
        "unsigned"
    } else if text.contains("MISMATCH") || current != calculated {
        "digest-mismatch"
    } else if !calculated.is_empty() {
        "signed"
    } else {
        "unreadable"
    }
}

/// `sbverify --cert ANCHOR` for each anchor (EFI files only).
fn sbverify_reading(path: &Path, anchors: &[PathBuf]) -> Reading {
    let mut r = Reading::ok();
    for anchor in anchors {
        let out = Command::new("sbverify")
            .arg("--cert")
            .arg(anchor)
            .arg(path)
            .output()
            .expect("sbverify (Debian's sbsigntool) is needed: apt-get install sbsigntool");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        let verdict = if text.contains("No signature table present") {
            "unsigned"
        } else if out.status.success() {
            "trusted"
        } else {
            "not-trusted"
        };
        r.set(&trust_field(anchor), verdict);
    }
    r
}

/// One entry of the exceptions file.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Exception {
    /// Glob over the corpus-relative path (`files/debian-libwine-*/**`).
    pub(crate) file: String,
    /// `pefile`, `lief`, `llvm-readobj`, `osslsigncode`, `sbverify`, or `*`.
    pub(crate) oracle: String,
    /// Glob over the field name (`overlay`, `trust:ms-uefi-20*`, `*`; `imports*` fields belong
    /// to the import-table comparison, `differential_imports.rs`).
    pub(crate) field: String,
    /// Glob over pegate's value (default `*`).
    ours: Option<String>,
    /// Glob over the oracle's value (default `*`).
    theirs: Option<String>,
    /// Why the difference is right.
    pub(crate) reason: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ExceptionsFile {
    #[serde(default)]
    exception: Vec<Exception>,
}

pub(crate) struct Matcher {
    pub(crate) file: globset::GlobMatcher,
    pub(crate) field: globset::GlobMatcher,
    pub(crate) ours: globset::GlobMatcher,
    pub(crate) theirs: globset::GlobMatcher,
    pub(crate) entry: Exception,
    pub(crate) label: String,
}

fn glob(pattern: &str) -> globset::GlobMatcher {
    globset::GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .unwrap_or_else(|e| panic!("bad glob {pattern:?} in the exceptions file: {e}"))
        .compile_matcher()
}

/// Whether an exception is about the import tables, which `differential_imports.rs` compares.
pub(crate) fn is_imports_exception(m: &Matcher) -> bool {
    m.entry.field.starts_with("imports")
}

pub(crate) fn exceptions() -> Vec<Matcher> {
    let path = root().join("fixtures/differential-exceptions.toml");
    let file: ExceptionsFile = toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file.exception
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            assert!(!entry.reason.trim().is_empty(), "{entry:?} needs a reason");
            Matcher {
                file: glob(&entry.file),
                field: glob(&entry.field),
                ours: glob(entry.ours.as_deref().unwrap_or("*")),
                theirs: glob(entry.theirs.as_deref().unwrap_or("*")),
                label: format!(
                    "[[exception]] #{} ({} / {} / {})",
                    i + 1,
                    entry.file,
                    entry.oracle,
                    entry.field
                ),
                entry,
            }
        })
        .collect()
}

/// Agreement counts of one oracle.
#[derive(Debug, Default)]
struct Tally {
    files: usize,
    files_agreeing: usize,
    fields: usize,
    excepted: usize,
    differing: usize,
}

#[test]
fn pegate_agrees_with_the_oracles_on_the_corpus() {
    if cfg!(windows) {
        eprintln!(
            "skipped on Windows: the oracles (python3 with pefile and LIEF, llvm-readobj, osslsigncode, sbverify) and the corpus fetcher are Linux tools here (Debian packages)"
        );
        return;
    }
    let (files, anchors) = corpus();
    let exceptions: Vec<Matcher> = exceptions()
        .into_iter()
        .filter(|m| !is_imports_exception(m))
        .collect();

    // The Python oracle is the slowest; it runs on one core while the rest share the other.
    let python = std::thread::spawn({
        let files = files.clone();
        move || python_readings(&files)
    });
    let ours: Vec<Reading> = files
        .par_iter()
        .map(|(_, p)| pegate_reading(p, &anchors))
        .collect();
    let llvm = llvm_readings(&files);
    let ossl: Vec<Reading> = files
        .par_iter()
        .map(|(_, p)| osslsigncode_reading(p))
        .collect();
    let sb: Vec<Option<Reading>> = files
        .par_iter()
        .zip(&ours)
        .map(|((_, p), o)| {
            let efi = o
                .facts
                .get("subsystem")
                .and_then(|s| u16::from_str_radix(s.trim_start_matches("0x"), 16).ok())
                .is_some_and(is_efi);
            efi.then(|| sbverify_reading(p, &anchors))
        })
        .collect();
    let mut python = python.join().unwrap();

    let mut python_tool = |tool| -> Vec<Option<Reading>> {
        python.remove(tool).unwrap().into_iter().map(Some).collect()
    };
    let oracles: Vec<(&str, Vec<Option<Reading>>)> = vec![
        ("pefile", python_tool("pefile")),
        ("lief", python_tool("lief")),
        ("llvm-readobj", llvm.into_iter().map(Some).collect()),
        ("osslsigncode", ossl.into_iter().map(Some).collect()),
        ("sbverify", sb),
    ];

    let mut used = vec![0usize; exceptions.len()];
    let mut failures = Vec::new();
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    for (oracle, readings) in &oracles {
        let tally = tallies.entry(oracle).or_default();
        for (((rel, _), mine), theirs) in files.iter().zip(&ours).zip(readings.iter()) {
            let Some(theirs) = theirs else { continue };
            tally.files += 1;
            let parse_differs = mine.facts["parse"] != theirs.facts["parse"];
            let both_ok = mine.facts["parse"] == "ok" && theirs.facts["parse"] == "ok";
            let fields: Vec<&String> = if parse_differs || !both_ok {
                vec![theirs.facts.keys().find(|k| *k == "parse").unwrap()]
            } else {
                theirs.facts.keys().collect()
            };
            let mut file_agrees = true;
            for field in fields {
                tally.fields += 1;
                let a = mine
                    .facts
                    .get(field)
                    .map_or("(not reported)", String::as_str);
                let b = &theirs.facts[field];
                if a == b {
                    continue;
                }
                file_agrees = false;
                let hit = exceptions.iter().position(|m| {
                    (m.entry.oracle == "*" || m.entry.oracle == *oracle)
                        && m.field.is_match(field)
                        && m.file.is_match(rel)
                        && m.ours.is_match(a)
                        && m.theirs.is_match(b)
                });
                match hit {
                    Some(i) => {
                        used[i] += 1;
                        tally.excepted += 1;
                    }
                    None => {
                        tally.differing += 1;
                        let mut line =
                            format!("{rel}: {oracle} {field}: pegate {a:?}, {oracle} {b:?}");
                        for (who, e) in [("pegate", &mine.error), (*oracle, &theirs.error)] {
                            if let Some(e) = e {
                                line.push_str(&format!("\n    {who}: {e}"));
                            }
                        }
                        failures.push(line);
                    }
                }
            }
            if file_agrees {
                tally.files_agreeing += 1;
            }
        }
    }

    // No vacuous pass: every kind of file the comparison is about is in the corpus, and every
    // oracle read nearly all of it.
    let count = |field: &str, value: &str| {
        ours.iter()
            .filter(|r| r.facts.get(field).is_some_and(|v| v == value))
            .count()
    };
    let composition = [
        ("PE32", count("format", "PE32")),
        ("PE32+", count("format", "PE32+")),
        ("I386", count("machine", "0x014c")),
        ("AMD64", count("machine", "0x8664")),
        ("ARM64", count("machine", "0xaa64")),
        ("ARM64X", count("hybrid", "ARM64X")),
        ("ARM64EC", count("hybrid", "ARM64EC")),
        ("DLL", count("dll", "true")),
        ("signed", count("signature", "signed")),
        ("EFI", tallies["sbverify"].files),
    ];
    println!(
        "differential corpus: {} files; {composition:?}",
        files.len()
    );
    for (what, n) in composition {
        assert!(
            n > 0,
            "the corpus has no {what} file: add one to fixtures/corpus.toml"
        );
    }
    for (oracle, readings) in &oracles {
        let read = readings
            .iter()
            .flatten()
            .filter(|r| r.facts.get("parse").is_some_and(|p| p == "ok"))
            .count();
        let expected = readings.iter().flatten().count();
        assert!(
            read * 10 >= expected * 9,
            "{oracle} read only {read} of {expected} files: is it installed and working?"
        );
    }
    for (oracle, t) in &tallies {
        println!(
            "  {oracle:13} {:4} of {:4} files agree on every field; fields: {} compared, {} differ as excepted, {} differ unexpectedly",
            t.files_agreeing, t.files, t.fields, t.excepted, t.differing
        );
    }
    for (m, n) in exceptions.iter().zip(&used) {
        println!("  {n:4} differences: {}: {}", m.label, m.entry.reason);
    }
    let stale: Vec<&str> = exceptions
        .iter()
        .zip(&used)
        .filter(|(_, n)| **n == 0)
        .map(|(m, _)| m.label.as_str())
        .collect();
    assert!(
        failures.is_empty() && stale.is_empty(),
        "{} unexpected differences (fix pegate, or list them with a reason in fixtures/differential-exceptions.toml):\n{}\n\n{} exceptions match nothing any more (remove them):\n{}",
        failures.len(),
        failures.join("\n"),
        stale.len(),
        stale.join("\n")
    );
}

#[test]
fn oracle_outputs_are_read_as_meant() {
    // Excerpts of real output (llvm-readobj 14, osslsigncode 2.9), cut to the lines that count.
    let block = "Format: COFF-ARM64\nDOSHeader {\n  Magic: MZ\n}\nImageFileHeader {\n  Machine: IMAGE_FILE_MACHINE_ARM64 (0xAA64)\n  SectionCount: 2\n  Characteristics [ (0x2022)\n    IMAGE_FILE_DLL (0x2000)\n  ]\n}\nImageOptionalHeader {\n  Magic: 0x20B\n  Subsystem: IMAGE_SUBSYSTEM_WINDOWS_GUI (0x2)\n}\nDOSHeader {\n  Magic: MZ\n}\nSections [\n  Section {\n    Name: .text (2E 74 65 78 74 00 00 00)\n  }\n  Section {\n    Name: .debug_info (2F 34 00 00 00 00 00 00)\n  }\n]\nLoadConfig [\n  GuardFlags: 0x10500\n  CHPEMetadataPointer: 0x180012345\n]\n";
    let r = llvm_reading(block);
    let want = [
        ("parse", "ok"),
        ("format", "PE32+"),
        ("machine", "0xaa64"),
        ("subsystem", "0x0002"),
        ("dll", "true"),
        ("section_count", "2"),
        ("section_names", ".text .debug_info"),
        ("guard_flags", "0x10500"),
        ("hybrid", "ARM64X"),
    ];
    for (field, value) in want {
        assert_eq!(r.facts[field], value, "{field}");
    }
    let no_load_config = llvm_reading(
        "ImageFileHeader {\n  Machine: IMAGE_FILE_MACHINE_I386 (0x14C)\n}\n  Magic: 0x10B\n",
    );
    assert_eq!(no_load_config.facts["guard_flags"], "none");
    assert_eq!(no_load_config.facts["dll"], "false");
    assert_eq!(
        llvm_reading("Format: COFF-x86-64\n").facts["parse"],
        "refused"
    );

    let digests = |current: &str, calculated: &str| {
        format!(
            "Signature Index: 0\nCurrent message digest    : {current} \nCalculated message digest : {calculated} \nSignature verification: failed\n"
        )
    };
    let cases = [
        ("No signature found\nFailed\n".to_owned(), "unsigned"),
        (digests("AB", "AB"), "signed"),
        (digests("AB", "CD") + "MISMATCH!!!\n", "digest-mismatch"),
        (
            digests("AB", "AB") + &digests("AB", "EF"),
            "digest-mismatch",
        ),
        (
            "Corrupted attribute certificate table\nFailed\n".to_owned(),
            "unreadable",
        ),
    ];
    for (text, verdict) in cases {
        assert_eq!(osslsigncode_verdict(&text), verdict, "{text}");
    }
}

/// What `go version -m` says of one Go binary: (Go version, main package path, build settings).
type GoFacts = (String, String, BTreeMap<String, String>);

/// `go version -m FILE...`'s standard output: the Go binaries among the files, by path. Each has
/// a line `PATH: VERSION` and then tab-indented module-info lines; other files get an error on
/// standard error only.
fn go_version_m_output(text: &str) -> BTreeMap<PathBuf, GoFacts> {
    let mut found: BTreeMap<PathBuf, GoFacts> = BTreeMap::new();
    let mut current: Option<PathBuf> = None;
    for line in text.lines() {
        if let Some(info) = line.strip_prefix('\t') {
            let Some(facts) = current.as_ref().and_then(|p| found.get_mut(p)) else {
                continue;
            };
            match info.split_once('\t') {
                Some(("path", path)) => facts.1 = path.to_owned(),
                Some(("build", setting)) => {
                    let (k, v) = setting.split_once('=').unwrap_or((setting, ""));
                    // `go version -m` prints quoted values quoted; compare unquoted.
                    facts.2.insert(k.to_owned(), v.trim_matches('"').to_owned());
                }
                _ => {}
            }
        } else if let Some((path, version)) = line.rsplit_once(": ") {
            let path = PathBuf::from(path);
            found.insert(
                path.clone(),
                (version.to_owned(), String::new(), BTreeMap::new()),
            );
            current = Some(path);
        }
    }
    found
}

/// pegate's build info of one file, as the facts `go version -m` prints, or why there is none.
fn pegate_go_facts(
    info: Result<Option<pegate::gobin::buildinfo::BuildInfo>, String>,
) -> Result<GoFacts, String> {
    let info = info?.ok_or_else(|| "not a Go binary".to_owned())?;
    let settings = info
        .settings
        .iter()
        .map(|s| (s.key.clone(), s.value.clone()))
        .collect();
    Ok((info.go_version, info.path, settings))
}

/// The build-info reader against `go version -m` (the pinned Go, provisioned by pegate) on every
/// corpus file, with both searches: the exact one `pegate inspect --full` and `pegate sbom` use
/// (every aligned offset of the data section, as Go searches) and the bounded one of the default
/// `pegate inspect` object (the first 4 KiB of the data section, the rest only when Go's build
/// ID starts the code section), each from the open file and from the bytes in memory. The same
/// files are Go binaries, with the same Go version, main package path and build settings; every
/// other file is not a Go binary for both.
#[test]
fn go_build_info_agrees_with_go_version_m_on_the_corpus() {
    use pegate::gobin::buildinfo::{self, Search};
    if cfg!(windows) {
        eprintln!(
            "skipped on Windows: the corpus fetcher is a Linux tool here (Debian packages), so there is no corpus"
        );
        return;
    }
    let (mut files, _) = corpus();
    // The corpus's Go-built files (esbuild) carry no build info (`go version -m`: "unrecognized
    // file format", no magic in them): the committed Go binaries (signed and unsigned, three
    // architectures) are compared beside it, so found Go binaries are compared too.
    let go_fixtures: Vec<(String, PathBuf)> =
        std::fs::read_dir(root().join("fixtures/authenticode"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "exe"))
            .map(|p| {
                (
                    format!(
                        "fixtures/authenticode/{}",
                        p.file_name().unwrap().to_string_lossy()
                    ),
                    p,
                )
            })
            .collect();
    let fixtures = go_fixtures.len();
    files.extend(go_fixtures);
    let cache = root().join("target").join("pegate-go");
    let tc = pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .unwrap();
    // One process for all files. Its exit status is 1 (most files are not Go binaries) and it
    // names only some of those on standard error: the Go binaries are what it prints.
    let out = tc
        .command()
        .args(["version", "-m"])
        .args(files.iter().map(|(_, p)| p))
        .output()
        .unwrap();
    let go = go_version_m_output(&String::from_utf8_lossy(&out.stdout));
    let mut failures = Vec::new();
    let mut agreeing = 0usize;
    for (rel, path) in &files {
        let failed_before = failures.len();
        let want = go.get(path);
        let bytes = std::fs::read(path).unwrap();
        for search in [Search::Exact, Search::Bounded] {
            let from_file = pegate::pe::with_headers(path, |file, view| {
                buildinfo::read_file_with(file, view, search).map_err(|e| e.to_string())
            })
            .unwrap_or_else(|e| Err(e.to_string()));
            let in_memory = match pegate::pe::PeView::parse(&bytes) {
                Ok(view) => buildinfo::read_with(&view, search).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            for (how, got) in [("file", from_file), ("memory", in_memory)] {
                let got = pegate_go_facts(got);
                let agree = match (want, &got) {
                    (Some(w), Ok(g)) => w == g,
                    (None, Err(_)) => true,
                    _ => false,
                };
                if !agree {
                    failures.push(format!(
                        "{rel} ({search:?}, {how}): go version -m {want:?}, pegate {got:?}"
                    ));
                }
            }
        }
        agreeing += usize::from(failures.len() == failed_before);
    }
    println!(
        "go version -m: {} of {} files (the corpus and {fixtures} committed fixtures) are Go binaries; pegate agrees in both searches on {agreeing}",
        go.len(),
        files.len(),
    );
    assert!(
        go.len() >= fixtures / 2,
        "go version -m found {} Go binaries among the {fixtures} committed Go fixtures and the corpus",
        go.len()
    );
    assert!(
        failures.is_empty(),
        "{} disagreements with go version -m:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
