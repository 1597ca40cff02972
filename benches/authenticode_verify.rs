//! Benchmark authenticode_verify (in progress).
fn main() {}
