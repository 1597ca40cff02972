//! pegate's import tables against pefile (`tests/oracle/pe_oracle.py --imports`) and
//! `llvm-readobj --coff-imports` on every file of the differential corpus (see
//! `differential.rs`).
//!
//! | field | what |
//! |---|---|
//! | `parse` | `ok` or `refused` (only this is compared when either side refused) |
//! | `imports` | the DLLs of the import table, in table order, as written |
//! | `imports.delay` | the DLLs of the delay-import table |
//! | `imports.counts` | each DLL (`delay:` before a delay-loaded one) with the functions it imports by name and by ordinal, `name=3/1` |
//!
//! Each accepted difference is an `[[exception]]` of `fixtures/differential-exceptions.toml`
//! whose `field` starts with `imports`, with the reason (the loader's behaviour) pegate's answer
//! is right; an unlisted difference, or an exception that matches none, fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rayon::prelude::*;
use serde_json::Value;

use crate::differential::{Matcher, corpus, exceptions, is_imports_exception};
use crate::root;

/// One DLL as a tool reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Dll {
    name: String,
    by_name: u64,
    by_ordinal: u64,
    delay: bool,
}

/// A tool's reading of one file: the DLLs, or why it refused the file.
type Reading = Result<Vec<Dll>, String>;

/// The compared fields of a reading.
fn fields(r: &Reading) -> BTreeMap<&'static str, String> {
    let mut f = BTreeMap::new();
    match r {
        Err(_) => {
            f.insert("parse", "refused".to_owned());
        }
        Ok(dlls) => {
            f.insert("parse", "ok".to_owned());
            let names = |delay: bool| {
                dlls.iter()
                    .filter(|d| d.delay == delay)
                    .map(|d| d.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            f.insert("imports", names(false));
            f.insert("imports.delay", names(true));
            f.insert(
                "imports.counts",
                dlls.iter()
                    .map(|d| {
                        format!(
                            "{}{}={}/{}",
                            if d.delay { "delay:" } else { "" },
                            d.name,
                            d.by_name,
                            d.by_ordinal
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    f
}

fn pegate_reading(path: &Path) -> (Reading, Vec<String>) {
    let opts = pegate::pe::InspectOptions::default().with_imports(true);
    match pegate::pe::inspect_path(path, &opts) {
        Err(e) => (Err(e.to_string()), Vec::new()),
        Ok(s) => {
            let imports = s.imports.unwrap_or_default();
            let dlls = imports
                .dlls
                .iter()
                .map(|d| Dll {
                    name: d.name.clone(),
                    by_name: d.by_name.into(),
                    by_ordinal: d.by_ordinal.into(),
                    delay: d.delay,
                })
                .collect();
            (
                Ok(dlls),
                imports.errors.iter().map(ToString::to_string).collect(),
            )
        }
    }
}

fn pefile_readings(files: &[(String, PathBuf)]) -> Vec<Reading> {
    let list = tempfile::NamedTempFile::new().unwrap();
    let paths: Vec<String> = files
        .iter()
        .map(|(_, p)| p.to_string_lossy().into_owned())
        .collect();
    std::fs::write(list.path(), paths.join("\n")).unwrap();
    let out = Command::new("python3")
        .arg(root().join("tests/oracle/pe_oracle.py"))
        .arg("--imports")
        .arg(list.path())
        .output()
        .expect("python3 runs the pefile oracle");
    assert!(
        out.status.success(),
        "tests/oracle/pe_oracle.py --imports failed (needs `pip install pefile lief`, as .ci/setup does):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let all: Value = serde_json::from_slice(&out.stdout).unwrap();
    paths
        .iter()
        .map(|p| {
            let v = &all[p.as_str()]["pefile"];
            if let Some(e) = v.get("error") {
                return Err(e.as_str().unwrap_or_default().to_owned());
            }
            Ok(v.as_array()
                .unwrap()
                .iter()
                .map(|d| Dll {
                    name: d["dll"].as_str().unwrap().to_owned(),
                    by_name: d["by_name"].as_u64().unwrap(),
                    by_ordinal: d["by_ordinal"].as_u64().unwrap(),
                    delay: d["delay"].as_bool().unwrap(),
                })
                .collect())
        })
        .collect()
}

/// `llvm-readobj --coff-imports`'s block for one file: `Import {` and `DelayImport {` at the
/// top level, each with `Name:` and one `Symbol: NAME (HINT)` per function, `Symbol:  (ORDINAL)`
/// (no name) for one imported by ordinal.
fn llvm_reading(block: &str) -> Reading {
    let mut dlls: Vec<Dll> = Vec::new();
    for line in block.lines() {
        let delay = match line {
            "Import {" => Some(false),
            "DelayImport {" => Some(true),
            _ => None,
        };
        if let Some(delay) = delay {
            dlls.push(Dll {
                name: String::new(),
                by_name: 0,
                by_ordinal: 0,
                delay,
            });
            continue;
        }
        let Some(dll) = dlls.last_mut() else { continue };
        if let Some(name) = line.strip_prefix("  Name: ") {
            dll.name = name.to_owned();
        } else if let Some(sym) = line.trim_start().strip_prefix("Symbol: ") {
            if sym.starts_with(' ') || sym.starts_with('(') {
                dll.by_ordinal += 1;
            } else {
                dll.by_name += 1;
            }
        }
    }
    Ok(dlls)
}

fn llvm_readings(files: &[(String, PathBuf)]) -> Vec<Reading> {
    files
        .par_chunks(64)
        .flat_map_iter(|chunk| {
            let out = Command::new("llvm-readobj")
                .arg("--coff-imports")
                .args(chunk.iter().map(|(_, p)| p))
                .output()
                .expect("llvm-readobj (Debian's llvm) reads the corpus");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            let mut blocks: BTreeMap<String, String> = BTreeMap::new();
            for block in stdout.split("\nFile: ").skip(1) {
                let (name, rest) = block.split_once('\n').unwrap_or((block, ""));
                blocks.insert(name.trim().to_owned(), rest.to_owned());
            }
            chunk
                .iter()
                .map(|(_, path)| {
                    let p = path.to_string_lossy();
                    match blocks.get(p.as_ref()) {
                        Some(block) => llvm_reading(block),
                        None => Err(stderr
                            .lines()
                            .filter(|l| l.contains(p.as_ref()))
                            .collect::<Vec<_>>()
                            .join("; ")),
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    files: usize,
    dlls_agree: usize,
    counts_agree: usize,
    excepted: usize,
    differing: usize,
}

#[test]
fn import_tables_agree_with_pefile_and_llvm_readobj_on_the_corpus() {
    if cfg!(windows) {
        eprintln!(
            "skipped on Windows: the oracles (python3 with pefile, llvm-readobj) and the corpus fetcher are Linux tools here"
        );
        return;
    }
    let (files, _) = corpus();
    let exceptions: Vec<Matcher> = exceptions()
        .into_iter()
        .filter(is_imports_exception)
        .collect();
    let pefile = std::thread::spawn({
        let files = files.clone();
        move || pefile_readings(&files)
    });
    let ours: Vec<(Reading, Vec<String>)> =
        files.par_iter().map(|(_, p)| pegate_reading(p)).collect();
    let llvm = llvm_readings(&files);
    let pefile = pefile.join().unwrap();

    let mut used = vec![0usize; exceptions.len()];
    let mut failures = Vec::new();
    let mut tallies: BTreeMap<&str, Tally> = BTreeMap::new();
    let (mut with_imports, mut with_delay, mut with_ordinals) = (0, 0, 0);
    let with_problems = ours.iter().filter(|(_, p)| !p.is_empty()).count();
    for (mine, _) in &ours {
        if let Ok(dlls) = mine {
            with_imports += usize::from(dlls.iter().any(|d| !d.delay));
            with_delay += usize::from(dlls.iter().any(|d| d.delay));
            with_ordinals += usize::from(dlls.iter().any(|d| d.by_ordinal > 0));
        }
    }
    for (oracle, readings) in [("pefile", &pefile), ("llvm-readobj", &llvm)] {
        let tally = tallies.entry(oracle).or_default();
        for (((rel, _), (mine, problems)), theirs) in files.iter().zip(&ours).zip(readings) {
            tally.files += 1;
            let (a, b) = (fields(mine), fields(theirs));
            let keys: Vec<&str> = if a["parse"] != b["parse"] || a["parse"] != "ok" {
                vec!["parse"]
            } else {
                b.keys().copied().collect()
            };
            let mut agree = (true, true);
            for key in keys {
                let (x, y) = (&a[key], &b[key]);
                if x == y {
                    continue;
                }
                if key == "imports.counts" {
                    agree.1 = false;
                } else {
                    agree = (false, false);
                }
                let hit = exceptions.iter().position(|m| {
                    (m.entry.oracle == "*" || m.entry.oracle == oracle)
                        && m.field.is_match(key)
                        && m.file.is_match(rel)
                        && m.ours.is_match(x)
                        && m.theirs.is_match(y)
                });
                match hit {
                    Some(i) => {
                        used[i] += 1;
                        tally.excepted += 1;
                    }
                    None => {
                        tally.differing += 1;
                        let mut line =
                            format!("{rel}: {oracle} {key}:\n    pegate {x:?}\n    {oracle} {y:?}");
                        if !problems.is_empty() {
                            line.push_str(&format!("\n    pegate: {}", problems.join("; ")));
                        }
                        for (who, r) in [("pegate", mine), (oracle, theirs)] {
                            if let Err(e) = r {
                                line.push_str(&format!("\n    {who}: {e}"));
                            }
                        }
                        failures.push(line);
                    }
                }
            }
            tally.dlls_agree += usize::from(agree.0);
            tally.counts_agree += usize::from(agree.1);
        }
    }
    println!(
        "import tables: {} files, {with_imports} with an import table, {with_delay} with delay imports, {with_ordinals} importing by ordinal, {with_problems} with a table pegate reports damaged",
        files.len()
    );
    for (oracle, t) in &tallies {
        println!(
            "  {oracle:13} DLL lists agree on {} of {} files, DLLs with by-name/by-ordinal counts on {}; {} differences excepted, {} unexpected",
            t.dlls_agree, t.files, t.counts_agree, t.excepted, t.differing
        );
    }
    for (m, n) in exceptions.iter().zip(&used) {
        println!("  {n:4} differences: {}: {}", m.label, m.entry.reason);
    }
    // No vacuous pass: the corpus has what the comparison is about.
    assert!(
        with_imports > 100 && with_delay > 0 && with_ordinals > 0,
        "the corpus lacks import tables of some kind: {with_imports} / {with_delay} / {with_ordinals}"
    );
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
fn llvm_readobj_imports_are_read_as_meant() {
    // An excerpt of llvm-readobj 14's output, cut to the lines that count.
    let block = "Format: COFF-x86-64\nImport {\n  Name: KERNEL32.dll\n  ImportLookupTableRVA: 0x8050\n  Symbol: GetLastError (630)\n  Symbol: Sleep (1410)\n}\nImport {\n  Name: WS2_32.dll\n  Symbol:  (23)\n  Symbol: socket (0)\n}\nDelayImport {\n  Name: bcrypt.dll\n  Attributes: 0x1\n  Import {\n    Symbol: BCryptGenRandom (0)\n    Address: 0x1800\n  }\n}\n";
    let r = llvm_reading(block);
    let f = fields(&r);
    assert_eq!(f["imports"], "KERNEL32.dll WS2_32.dll");
    assert_eq!(f["imports.delay"], "bcrypt.dll");
    assert_eq!(
        f["imports.counts"],
        "KERNEL32.dll=2/0 WS2_32.dll=1/1 delay:bcrypt.dll=1/0"
    );
}
