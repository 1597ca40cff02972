//! pegate's overhead on a warm build cache: the 2x3 matrix (windows/{amd64,arm64} ×
//! {console,gui,stripped}) built through `pegate::go::matrix::build` versus the very same `go build`
//! commands spawned by hand with the same parallelism, timed in the same run; target ≤ 1.1x.
//! Then the per-artifact cost of inspecting headers and build info (target < 5 ms).
//!
//! Run with `cargo bench --bench matrix_overhead`. Go comes from pegate's own provisioning.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pegate::facts::GoArch;
use pegate::go::matrix::{self, MatrixSpec, Target};
use pegate::go::toolchain::{self, Toolchain};
use rayon::prelude::*;

const ROUNDS: usize = 5;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec(out: &Path, jobs: usize) -> MatrixSpec {
    let root = workspace();
    let mut spec = MatrixSpec::reference(
        root.join("fixtures").join("hello"),
        out,
        root.join("target").join("pegate-go"),
    );
    spec.targets = vec![
        Target::windows(GoArch::Amd64),
        Target::windows(GoArch::Arm64),
    ];
    spec.jobs = Some(jobs);
    spec
}

fn through_pegate(tc: &Toolchain, jobs: usize) -> Duration {
    let out = tempfile::tempdir().unwrap();
    let spec = spec(out.path(), jobs);
    let start = Instant::now();
    let report = matrix::build(tc, &spec, &|_| {}).unwrap();
    let elapsed = start.elapsed();
    assert!(
        report.all_ok(),
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    assert_eq!(report.cells.len(), 6);
    elapsed
}

fn by_hand(tc: &Toolchain, jobs: usize) -> Duration {
    let out = tempfile::tempdir().unwrap();
    let spec = spec(out.path(), jobs);
    let cells = spec.cells(tc);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .unwrap();
    let start = Instant::now();
    pool.install(|| {
        cells.par_iter().for_each(|cell| {
            let output = out.path().join(format!("{}.exe", cell.name()));
            // The toolchain's own hermetic environment, so both ways run identical commands.
            let status = tc
                .command()
                .args(spec.go_args(cell, &output))
                .envs(spec.go_env(cell))
                .current_dir(&spec.source_dir)
                .status()
                .unwrap();
            assert!(status.success(), "{cell}");
        });
    });
    start.elapsed()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let cache = workspace().join("target").join("pegate-go");
    let tc = toolchain::provision(toolchain::DEFAULT_GO_VERSION, &cache).unwrap();
    let jobs = std::thread::available_parallelism().map_or(2, |n| n.get());
    println!(
        "matrix_overhead: {} 2x3 matrix, {jobs} parallel builds, {ROUNDS} rounds each",
        tc.version
    );

    // Warm the build cache with both ways once.
    through_pegate(&tc, jobs);
    by_hand(&tc, jobs);

    let (mut pegate, mut hand) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        // Interleaved, so that load from other processes hits both alike.
        pegate.push(through_pegate(&tc, jobs));
        hand.push(by_hand(&tc, jobs));
    }
    let (p, h) = (median(pegate), median(hand));
    println!(
        "matrix_overhead: pegate {:.1} ms, by hand {:.1} ms, ratio {:.3}x (target <= 1.1x)",
        p.as_secs_f64() * 1e3,
        h.as_secs_f64() * 1e3,
        p.as_secs_f64() / h.as_secs_f64()
    );

    inspection_cost(&tc, jobs);
}

/// Mean wall time of `f` over `iters` calls.
fn mean(iters: u32, mut f: impl FnMut()) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        f();
    }
    start.elapsed() / iters
}

/// Per-artifact cost of inspecting what the matrix built, against goblin parsing the same file.
fn inspection_cost(tc: &Toolchain, jobs: usize) {
    let out = tempfile::tempdir().unwrap();
    let report = matrix::build(tc, &spec(out.path(), jobs), &|_| {}).unwrap();
    let paths: Vec<PathBuf> = report.artifacts().map(|a| a.path.clone()).collect();
    let n = u32::try_from(paths.len()).unwrap();
    const ITERS: u32 = 200;
    let opts = pegate::pe::InspectOptions::default();
    let headers = mean(ITERS, || {
        for path in &paths {
            std::hint::black_box(pegate::pe::inspect_path(path, &opts).unwrap());
        }
    }) / n;
    let with_go = mean(ITERS, || {
        for path in &paths {
            let summary = pegate::pe::inspect_path(path, &opts).unwrap();
            let info = pegate::go::buildinfo::read_path(path).unwrap().unwrap();
            std::hint::black_box(pegate::go::crosscheck::check(&summary, &info));
        }
    }) / n;
    let whole = mean(ITERS / 4, || {
        for path in &paths {
            let data = std::fs::read(path).unwrap();
            let view = pegate::pe::PeView::parse(&data).unwrap();
            std::hint::black_box(pegate::pe::summarize(&view));
        }
    }) / n;
    let goblin = mean(ITERS / 4, || {
        for path in &paths {
            let data = std::fs::read(path).unwrap();
            std::hint::black_box(goblin::pe::PE::parse(&data).unwrap().sections.len());
        }
    }) / n;
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    println!(
        "inspection per artifact ({n} artifacts): pegate inspect_path (headers) {:.1} us, \
         + build info read_path + cross-checks {:.1} us (target < 5000 us); \
         for scale: pegate read+summarize (whole file) {:.1} us, goblin read+parse {:.1} us",
        us(headers),
        us(with_go),
        us(whole),
        us(goblin)
    );
}
