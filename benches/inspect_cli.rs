//! `pegate inspect --format jsonl` over 10,000 PE files (warm cache) against `file` over the
//! same list and `llvm-readobj-14 --file-headers` given all files in one process; prints ratios.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use criterion::Criterion;

#[path = "support/corpus.rs"]
mod corpus;

/// 10,000 PE files: sparse copies of the committed fixtures (Go binaries, MSVC DLLs).
fn corpus() -> (tempfile::TempDir, Vec<PathBuf>) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sources: Vec<(String, Vec<u8>)> = [
        "fixtures/authenticode/amd64-unsigned.exe",
        "fixtures/authenticode/arm64-signed.exe",
        "fixtures/authenticode/386-unsigned.exe",
        "fixtures/pe/ok/markupsafe-3.0.2-speedups-win_amd64.pyd",
        "fixtures/pe/ok/markupsafe-3.0.4-speedups-win_arm64.pyd",
        "fixtures/pe/ok/tiny-amd64-cfg.exe",
    ]
    .iter()
    .map(|f| (f.to_string(), std::fs::read(root.join(f)).unwrap()))
    .collect();
    corpus::build(&sources, 10_000)
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

fn main() {
    let (dir, paths) = corpus();
    let pegate = env!("CARGO_BIN_EXE_pegate");
    let run_pegate = || {
        let mut c = Command::new(pegate);
        // Headers, build info and cross-checks; the signature check reads whole files, which
        // neither peer does, so it is off here for a like-for-like comparison.
        c.args(["inspect", "--format", "jsonl", "--no-signature"])
            .arg(dir.path());
        time(c)
    };
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(5))
        .configure_from_args();
    c.bench_function("pegate inspect --format jsonl, 10,000 files", |b| {
        b.iter(run_pegate)
    });
    c.final_summary();

    let mut t: Vec<Duration> = (0..5).map(|_| run_pegate()).collect();
    t.sort();
    let t_pegate = t[2];
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
    println!("\n== 10,000 PE files ==");
    println!("pegate inspect --format jsonl:        {t_pegate:>10.2?}");
    println!(
        "file (one process, all files):        {t_file:>10.2?}  pegate is {:.1}x faster (target: at least 50x)",
        t_file.as_secs_f64() / t_pegate.as_secs_f64()
    );
    println!(
        "llvm-readobj-14 --file-headers:       {t_readobj:>10.2?}  pegate is {:.1}x faster (target: at least 3x)",
        t_readobj.as_secs_f64() / t_pegate.as_secs_f64()
    );
}
