//! `cargo xtask verify --test`: `fixtures/wintests`' Windows-only tests for every toolchain and
//! reference target, with `pegate test`'s library (`pegate::go::gotest`), run where this host can
//! (under Wine on Linux, in the prefix of `cargo xtask wine-prefix`). Without the deliberate
//! failure's tag: every test must pass (or be skipped), every target this host cannot run says why.

use std::path::Path;

use anyhow::Context;
use pegate::go::gotest::{self, TestReport, TestSpec, render};
use pegate::go::toolchain::Toolchain;

/// Runs the fixture's tests with each toolchain; prints each table; returns the reports.
pub(crate) fn run(
    toolchains: &[Toolchain],
    cache: &Path,
    out: &Path,
) -> anyhow::Result<Vec<TestReport>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let source = root.join("fixtures").join("wintests");
    let mut reports = Vec::new();
    for tc in toolchains {
        let mut spec = TestSpec::new(&source, out.join("tests").join(&tc.version), cache);
        spec.env.push(("WINEDEBUG".to_owned(), "-all".to_owned()));
        if spec.host.wine64.is_some() || spec.host.wine32.is_some() {
            let prefix =
                crate::wine::ensure_prefix(&root).context("prepare the Wine prefix for --test")?;
            spec.env
                .push(("WINEPREFIX".to_owned(), prefix.display().to_string()));
        }
        // The profile the fixture compares os.UserHomeDir with (it must survive Wine's registry).
        for name in ["USERPROFILE", "PEGATE_WINTESTS_HOME"] {
            spec.env
                .push((name.to_owned(), r"C:\users\pegate-verify".to_owned()));
        }
        eprintln!("testing {} with {}", source.display(), tc.version);
        let report = gotest::test(tc, &spec, &|p| {
            eprintln!(
                "  {} {} {} ({} ms)",
                p.status.word(),
                p.package,
                p.target,
                p.elapsed_ms
            )
        })
        .with_context(|| format!("test {}", source.display()))?;
        print!("{}", render::table(&report));
        reports.push(report);
    }
    Ok(reports)
}
