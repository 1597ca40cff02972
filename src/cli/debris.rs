//! Temporary entries that runs no longer alive left in an output directory (a `.cell-*`
//! staging directory of a killed build, an unfinished `.pegate-tmp-*` file): removed before a
//! command writes there, with a line saying so.

use std::path::Path;

/// Removes the dead runs' temporary entries in `dir` and says which.
pub(crate) fn remove_stale(dir: &Path) -> anyhow::Result<()> {
    let removed = pegate::fs::remove_stale(dir)?;
    if !removed.is_empty() {
        let names: Vec<String> = removed
            .iter()
            .filter_map(|p| p.file_name())
            .map(|n| super::output::text(&n.to_string_lossy()).into_owned())
            .collect();
        eprintln!(
            "pegate: removed {} temporary {} left by runs no longer alive in {}: {}",
            removed.len(),
            if removed.len() == 1 {
                "entry"
            } else {
                "entries"
            },
            super::output::shown(dir),
            names.join(", ")
        );
    }
    Ok(())
}
