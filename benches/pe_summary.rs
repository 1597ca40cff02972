//! Placeholder until the PE summary benchmark lands.
fn main() {}
