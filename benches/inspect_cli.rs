//! `pegate inspect --format jsonl` over 10,000 real PE files (hard links to the committed
//! fixtures: Go binaries signed and unsigned, MSVC DLLs, hand-made headers; about a quarter
//! signed, as in a release directory; warm cache), in one run, printing ratios:
//!
//! - the default run (signature verdicts) against its floor: a hand-written reader that reads a
//!   4 KiB head of every file and hashes every signed file's bytes once with SHA-256, on all
//!   cores (the least any tool that checks the signed files' digests must do);
//! - `--no-signature` (headers, load config, Go build info) against `file` over the same list
//!   and `llvm-readobj-14 --file-headers` given all files in one process.
//!
//! `PEGATE_BENCH_ROUNDS` sets the rounds of the ratio measurements (default 5; medians, and
//! the fastest round of each).
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
/// Signed files per hundred: the corpus had 2,329 of 10,000.
const SIGNED_PER_HUNDRED: usize = 23;

/// One file of the corpus and whether it carries a signature.
struct Entry {
    path: PathBuf,
    signed: bool,
}

/// 10,000 hard links to real files. The sources are copied once into the corpus directory
/// (under `target/`, so links never cross a filesystem), then linked: seconds, not the 12 GB
/// of real copies, and every tool reads real, complete files.
fn corpus() -> (tempfile::TempDir, Vec<Entry>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let signed = [
        "fixtures/authenticode/amd64-signed.exe",
        "fixtures/authenticode/arm64-signed.exe",
        "fixtures/authenticode/386-signed.exe",
    ];
    let unsigned = [
        "fixtures/authenticode/amd64-unsigned.exe",
        "fixtures/authenticode/arm64-unsigned.exe",
        "fixtures/authenticode/386-unsigned.exe",
        "fixtures/pe/ok/markupsafe-3.0.2-speedups-win_amd64.pyd",
        "fixtures/pe/ok/markupsafe-3.0.2-speedups-win32.pyd",
        "fixtures/pe/ok/markupsafe-3.0.4-speedups-win_arm64.pyd",
        "fixtures/pe/ok/tiny-amd64-cfg.exe",
        "fixtures/pe/ok/tiny-arm64-gui.exe",
    ];
    let target = root.join("target");
    std::fs::create_dir_all(&target).unwrap();
    let dir = tempfile::Builder::new()
        .prefix("inspect-cli-corpus-")
        .tempdir_in(&target)
        .unwrap();
    let sources = dir.path().join("sources");
    std::fs::create_dir(&sources).unwrap();
    let copy = |f: &&str| {
        let to = sources.join(Path::new(f).file_name().unwrap());
        std::fs::copy(root.join(f), &to).unwrap();
        to
    };
    let signed: Vec<PathBuf> = signed.iter().map(copy).collect();
    let unsigned: Vec<PathBuf> = unsigned.iter().map(copy).collect();
    let files = dir.path().join("files");
    std::fs::create_dir(&files).unwrap();
    let entries = (0..FILES)
        .map(|i| {
            let is_signed = i % 100 < SIGNED_PER_HUNDRED;
            let from = if is_signed {
                &signed[i % signed.len()]
            } else {
                &unsigned[i % unsigned.len()]
            };
            let ext = from.extension().unwrap().to_str().unwrap();
            let path = files.join(format!("f{i:05}.{ext}"));
            std::fs::hard_link(from, &path).unwrap();
            Entry {
                path,
                signed: is_signed,
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
/// read, on all cores, in this process (no process start, no parsing, no output): what the
/// kernel alone charges for the files a header tool must at least open.
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

fn main() {
    let made = Instant::now();
    let (dir, entries) = corpus();
    let made = made.elapsed();
    let files = dir.path().join("files");
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
    // The default output must say what the floor assumes: the signed files are signed.
    let out = Command::new(pegate)
        .args(["inspect", "--format", "jsonl"])
        .arg(&files)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), FILES);
    assert_eq!(
        text.lines()
            .filter(|l| !l.contains("\"status\":\"unsigned\""))
            .count(),
        signed
    );

    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    c.bench_function("pegate inspect --format jsonl, 10,000 files", |b| {
        b.iter(|| inspect(&[]))
    });
    c.bench_function(
        "pegate inspect --format jsonl --no-signature, 10,000 files",
        |b| b.iter(|| inspect(&["--no-signature"])),
    );
    c.bench_function("floor: 4 KiB heads + SHA-256 of the signed files", |b| {
        b.iter(|| floor(&entries))
    });
    c.final_summary();

    // Interleaved rounds, so that load from elsewhere on the machine hits each alike.
    let rounds = std::env::var("PEGATE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    let (mut t_default, mut t_floor, mut t_headers) = (Vec::new(), Vec::new(), Vec::new());
    let mut t_header_floor = Vec::new();
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
    let t_header_floor = median(t_header_floor);
    let fastest = |v: &[Duration]| v.iter().copied().min().unwrap();
    let (f_default, f_floor, f_headers) =
        (fastest(&t_default), fastest(&t_floor), fastest(&t_headers));
    let (t_default, t_floor, t_headers) = (median(t_default), median(t_floor), median(t_headers));
    let t_file = {
        let mut c = Command::new("file");
        c.arg("--brief").args(&paths);
        time(c)
    };
    let t_readobj = {
        let mut c = Command::new("llvm-readobj-14");
        c.arg("--file-headers").args(&paths);
        time(c)
    };
    println!(
        "\n== {FILES} PE files, {signed} signed ({:.2} GB), hard links made in {made:.2?} ==",
        signed_bytes as f64 / 1e9
    );
    println!(
        "floor (4 KiB heads + SHA-256 of signed files): {t_floor:>10.2?}  on {} threads",
        rayon::current_num_threads()
    );
    println!(
        "pegate inspect --format jsonl (default):       {t_default:>10.2?}  {:.2}x the floor (target: at most 1.25x)",
        t_default.as_secs_f64() / t_floor.as_secs_f64()
    );
    println!(
        "pegate inspect --format jsonl --no-signature:  {t_headers:>10.2?}  {:.2}x its floor (list + open + 4 KiB read of every file, in-process: {t_header_floor:.2?})",
        t_headers.as_secs_f64() / t_header_floor.as_secs_f64()
    );
    println!(
        "fastest rounds: floor {f_floor:.2?}, default {f_default:.2?} = {:.2}x the floor, --no-signature {f_headers:.2?}",
        f_default.as_secs_f64() / f_floor.as_secs_f64()
    );
    println!(
        "file (one process, all files):                 {t_file:>10.2?}  pegate --no-signature is {:.1}x faster (target: at least 150x; the header floor alone is {:.1}x)",
        t_file.as_secs_f64() / t_headers.as_secs_f64(),
        t_file.as_secs_f64() / t_header_floor.as_secs_f64()
    );
    println!(
        "llvm-readobj-14 --file-headers:                {t_readobj:>10.2?}  pegate --no-signature is {:.1}x faster (target: at least 7x)",
        t_readobj.as_secs_f64() / t_headers.as_secs_f64()
    );
}
