//! Benchmark inspect_cli (in progress).
fn main() {}
