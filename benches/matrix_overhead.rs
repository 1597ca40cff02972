//! Benchmark matrix_overhead (in progress).
fn main() {}
