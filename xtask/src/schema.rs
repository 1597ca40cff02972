//! `cargo xtask schema`: writes `schema/inspect.schema.json` from pegate's types
//! (`pegate::artifact::schema`); `--check` only says whether the file is current.

use std::path::Path;

use anyhow::Context as _;

/// The published schema's path, relative to the workspace root.
const PATH: &str = "schema/inspect.schema.json";

/// The file's contents: the generated schema, pretty-printed, with a final newline.
fn text() -> anyhow::Result<String> {
    let mut text = serde_json::to_string_pretty(&pegate::artifact::schema())?;
    text.push('\n');
    Ok(text)
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let check = match args {
        [] => false,
        [flag] if flag == "--check" => true,
        _ => anyhow::bail!("usage: cargo xtask schema [--check]"),
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("xtask has no parent directory")?;
    let path = root.join(PATH);
    let want = text()?;
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    if have == want {
        eprintln!("{PATH} is current");
        return Ok(());
    }
    if check {
        anyhow::bail!("{PATH} is stale: run `cargo xtask schema` to regenerate it");
    }
    // Written beside the file and renamed over it, so a failed write leaves the old one whole.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, &want).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
    eprintln!("wrote {PATH}");
    Ok(())
}
