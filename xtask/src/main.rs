//! `cargo xtask`: pegate's developer tasks.

fn main() -> anyhow::Result<()> {
    Ok(())
}
