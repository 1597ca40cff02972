//! Benchmark pe_summary (in progress).
fn main() {}
