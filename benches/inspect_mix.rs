//! `pegate inspect --format jsonl` over a real *mix* of PE files: the whole registry corpus
//! `.ci/setup` fetches (`cargo xtask corpus`: Debian EFI and kernel images, DLLs and `.pyd`s
//! from PyPI wheels, npm's Windows binaries including Go-built ones, test files of public PE
//! parsers; `$PEGATE_CORPUS`, else `target/pegate-corpus`), cycled into 10,000 hard links, warm
//! cache, in one run, printing ratios:
//!
//! - `--no-signature` (headers, load config, Go build info) against its floor, a hand-written
//!   reader that lists the directory and reads a 4 KiB head of every file on all cores, and
//!   against `llvm-readobj --file-headers` (all files in one process) and `file --brief`;
//! - the default run (signature verdicts) against its floor: the same head reads plus one
//!   SHA-256 pass over the bytes of every signed file (a file with a certificate table).
//!
//! `PEGATE_BENCH_ROUNDS` sets the rounds of the ratio measurements (default 5; medians, and the
//! fastest round of each). Without the corpus it says how to fetch it and measures nothing.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::hint::black_box;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;
use rayon::prelude::*;
use sha2::Digest as _;

const FILES: usize = 10_000;

/// One file of the batch and whether it carries a certificate table.
struct Entry {
    path: PathBuf,
    signed: bool,
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("PEGATE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pegate-corpus"))
}

/// The corpus files `index.json` lists, in its order.
fn corpus_files(dir: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(dir.join("index.json")).ok()?;
    let index: serde_json::Value = serde_json::from_str(&text).ok()?;
    let files = index["files"]
        .as_array()?
        .iter()
        .filter_map(|f| f["path"].as_str().map(|p| dir.join(p)))
        .collect();
    Some(files)
}

/// Whether the file has a certificate table (the security directory): what any tool that
/// checks signatures must read whole.
fn has_certificate_table(path: &Path) -> bool {
    pegate_pe::with_headers(path, |_, view| view.security_directory().is_some()).unwrap_or(false)
}

/// 10,000 hard links cycling through the corpus files, in a new directory under `target/`
/// (copies of the sources first, when the corpus is on another filesystem).
fn batch(sources: &[PathBuf]) -> (tempfile::TempDir, Vec<Entry>) {
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    std::fs::create_dir_all(&target).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("inspect-mix-corpus-")
        .tempdir_in(&target)
        .unwrap();
    let copies = dir.path().join("sources");
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let signed: Vec<bool> = sources.iter().map(|s| has_certificate_table(s)).collect();
    let mut linked_from: Vec<PathBuf> = sources.to_vec();
    let entries = (0..FILES)
        .map(|i| {
            let k = i % sources.len();
            let ext = sources[k]
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("bin");
            let path = files.join(format!("f{i:05}.{ext}"));
            if std::fs::hard_link(&linked_from[k], &path).is_err() {
                // Another filesystem: link to a copy in the batch directory instead.
                std::fs::create_dir_all(&copies).unwrap();
                let copy = copies.join(format!("s{k:04}.{ext}"));
                if !copy.exists() {
                    std::fs::copy(&sources[k], &copy).unwrap();
                }
                linked_from[k] = copy;
                std::fs::hard_link(&linked_from[k], &path).unwrap();
            }
            Entry {
                path,
                signed: signed[k],
            }
        })
        .collect();
    (dir, entries)
}

/// The floor of the default run: every file opened and its first 4 KiB read, every signed
/// file then read to its end through one reused buffer and hashed once, on all cores.
fn floor(entries: &[Entry]) {
    entries.par_iter().for_each_init(
        || vec![0u8; 256 << 10],
        |buf, e| {
            let mut f = std::fs::File::open(&e.path).unwrap();
            let n = f.read(&mut buf[..4096]).unwrap();
            black_box(&buf[..n]);
            if e.signed {
                let mut h = sha2::Sha256::new();
                h.update(&buf[..n]);
                loop {
                    let n = f.read(buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                black_box(h.finalize());
            }
        },
    );
}

/// The floor of `--no-signature`: the directory listed, every file opened and its first 4 KiB
/// read, on all cores, in this process (no process start, no parsing, no output).
fn header_floor(files: &Path) {
    let paths: Vec<PathBuf> = std::fs::read_dir(files)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.par_iter().for_each_init(
        || vec![0u8; 4096],
        |buf, p| {
            let mut f = std::fs::File::open(p).unwrap();
            let n = f.read(buf).unwrap();
            black_box(&buf[..n]);
        },
    );
}

fn time(mut cmd: Command) -> Duration {
    let t = Instant::now();
    let status = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    let took = t.elapsed();
    assert!(status.code().is_some(), "{cmd:?} was killed");
    took
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// `llvm-readobj` as the `llvm` package installs it, else Debian 12's versioned name.
fn llvm_readobj() -> &'static str {
    let works = |name: &str| {
        Command::new(name)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works("llvm-readobj") {
        "llvm-readobj"
    } else {
        "llvm-readobj-14"
    }
}

fn main() {
    let dir = corpus_dir();
    let Some(sources) = corpus_files(&dir) else {
        eprintln!(
            "inspect_mix: no corpus at {} (run `cargo xtask corpus`, or set PEGATE_CORPUS); nothing measured",
            dir.display()
        );
        return;
    };
    let made = Instant::now();
    let (batch_dir, entries) = batch(&sources);
    let made = made.elapsed();
    let files = batch_dir.path().join("files");
    let paths: Vec<&Path> = entries.iter().map(|e| e.path.as_path()).collect();
    let signed = entries.iter().filter(|e| e.signed).count();
    let signed_bytes: u64 = entries
        .iter()
        .filter(|e| e.signed)
        .map(|e| std::fs::metadata(&e.path).unwrap().len())
        .sum();
    let pegate = env!("CARGO_BIN_EXE_pegate");
    let inspect = |extra: &[&str]| {
        let mut c = Command::new(pegate);
        c.args(["inspect", "--format", "jsonl"])
            .args(extra)
            .arg(&files);
        time(c)
    };
    // What pegate reports on the batch: every file a line (the corpus holds only PE files by
    // their signatures; a few are malformed and get a line with their error).
    let out = Command::new(pegate)
        .args(["inspect", "--format", "jsonl"])
        .arg(&files)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines = text.lines().count();
    let go = text
        .lines()
        .filter(|l| l.contains("\"go_version\""))
        .count();

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    c.bench_function("pegate inspect --format jsonl, 10,000 mixed files", |b| {
        b.iter(|| inspect(&[]))
    });
    c.bench_function(
        "pegate inspect --format jsonl --no-signature, 10,000 mixed files",
        |b| b.iter(|| inspect(&["--no-signature"])),
    );
    c.bench_function(
        "mix floor: 4 KiB heads + SHA-256 of the signed files",
        |b| b.iter(|| floor(&entries)),
    );
    c.bench_function("mix floor: 4 KiB heads", |b| {
        b.iter(|| header_floor(&files))
    });
    c.final_summary();

    // Interleaved rounds, so that load from elsewhere on the machine hits each alike.
    let rounds = std::env::var("PEGATE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut t_default, mut t_floor) = (Vec::new(), Vec::new());
    let (mut t_headers, mut t_header_floor) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        t_default.push(inspect(&[]));
        let t = Instant::now();
        floor(&entries);
        t_floor.push(t.elapsed());
        t_headers.push(inspect(&["--no-signature"]));
        let t = Instant::now();
        header_floor(&files);
        t_header_floor.push(t.elapsed());
    }
    let fastest = |v: &[Duration]| v.iter().copied().min().unwrap();
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    let (f_default, f_floor) = (fastest(&t_default), fastest(&t_floor));
    let (f_headers, f_header_floor) = (fastest(&t_headers), fastest(&t_header_floor));
    let (t_default, t_floor) = (median(t_default), median(t_floor));
    let (t_headers, t_header_floor) = (median(t_headers), median(t_header_floor));
    let t_file = {
        let mut c = Command::new("file");
        c.arg("--brief").args(&paths);
        time(c)
    };
    let readobj = llvm_readobj();
    let t_readobj = {
        let mut c = Command::new(readobj);
        c.arg("--file-headers").args(&paths);
        time(c)
    };
    println!(
        "\n== {FILES} links to the {} corpus files ({lines} JSON lines, {go} Go binaries), {signed} signed ({:.2} GB), made in {made:.2?}, {} threads ==",
        sources.len(),
        signed_bytes as f64 / 1e9,
        rayon::current_num_threads()
    );
    println!(
        "floor: 4 KiB heads:                            {t_header_floor:>10.2?}  (fastest {f_header_floor:.2?})"
    );
    println!(
        "pegate inspect --format jsonl --no-signature:  {t_headers:>10.2?}  {:.2}x the floor (target: at most 3x; fastest rounds {:.2}x)",
        ratio(t_headers, t_header_floor),
        ratio(f_headers, f_header_floor)
    );
    println!(
        "floor: heads + SHA-256 of the signed files:    {t_floor:>10.2?}  (fastest {f_floor:.2?})"
    );
    println!(
        "pegate inspect --format jsonl (default):       {t_default:>10.2?}  {:.2}x the floor (target: at most 1.25x; fastest rounds {:.2}x)",
        ratio(t_default, t_floor),
        ratio(f_default, f_floor)
    );
    println!(
        "{readobj} --file-headers (one process):   {t_readobj:>10.2?}  {:.2}x pegate --no-signature, {:.1}x the head floor",
        ratio(t_readobj, t_headers),
        ratio(t_readobj, t_header_floor)
    );
    println!(
        "file --brief (one process):                    {t_file:>10.2?}  {:.1}x pegate --no-signature, {:.1}x the head floor",
        ratio(t_file, t_headers),
        ratio(t_file, t_header_floor)
    );
}
