//! The `pegate` command line.

fn main() {
    println!("pegate {}", env!("CARGO_PKG_VERSION"));
}
