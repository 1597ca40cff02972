//! What `pegate gate` does between reading a policy and evaluating it, for every caller (the CLI
//! and the Python binding): the inspection a policy needs, the facts it judges (paths as shown,
//! the pre-signing hashes `checksum.match` links a signed file by), and the evaluation context.
//!
//! ```no_run
//! use pegate::policy::Policy;
//! let policy = Policy::default_release()?;
//! let opts = pegate::gate::inspect_options(&policy, pegate::artifact::Options::default(), false);
//! let report = pegate::artifact::inspect("dist/hello.exe".as_ref(), &opts);
//! let facts = vec![pegate::gate::facts(&report, None)];
//! let verdict = policy.evaluate_with(&facts, None, &pegate::gate::context(0));
//! println!("{}", pegate::policy::render::json(&verdict));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use crate::artifact::{ArtifactReport, Options};
use crate::policy::{self, ArtifactFacts, ChecksumList, Policy};

/// Resolves a path written in the policy (`trust`, `checksums`) relative to the policy file.
pub fn beside(policy: &Path, path: &str) -> PathBuf {
    let p = Path::new(path);
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        policy.parent().unwrap_or(Path::new(".")).join(p)
    }
}

/// `opts` with what `policy` needs read: the file SHA-256 for its checksums rule (or when the
/// caller writes SBOMs), the import tables for its `imports.*` rules.
pub fn inspect_options(policy: &Policy, opts: Options, sbom: bool) -> Options {
    opts.with_sha256(policy.file.checksums.is_some() || sbom)
        .with_imports(policy.needs_imports())
}

/// The facts `report` gives the policy: its path as shown (relative to the current directory
/// when below it, which the policy's globs match against) and, when `checksums` lists it with
/// another SHA-256, the hashes that link a signed file to a checksum taken before signing.
pub fn facts(report: &ArtifactReport, checksums: Option<&ChecksumList>) -> ArtifactFacts {
    let mut facts = report.facts();
    facts.path = display_path(&report.path);
    if let Some(list) = checksums {
        presigning(list, &report.path, &mut facts);
    }
    facts
}

/// The evaluation context at gate time `now` (Unix seconds), with Go's release table.
pub fn context(now: i64) -> policy::Context {
    policy::Context::new()
        .with_now(now)
        .with_go_releases(crate::go::toolchain::GO_RELEASES.iter().copied())
}

/// Shows paths relative to the current directory when they are below it (SARIF URIs, tables).
/// Both sides are canonical: on Windows that gives both the `\\?\` prefix, so an absolute
/// `C:\ws\dist\a.exe` run from `C:\ws` still shows (and annotates) as `dist\a.exe`.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir()
        .ok()
        .map(|cwd| std::fs::canonicalize(&cwd).unwrap_or(cwd));
    let abs = std::fs::canonicalize(path).ok();
    match (cwd, abs) {
        (Some(cwd), Some(abs)) => abs
            .strip_prefix(&cwd)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| path.display().to_string()),
        _ => path.display().to_string(),
    }
}

/// `checksum.match` for a signed file whose SHA-256 is not its line: the hashes that link it to
/// a checksum taken before signing (its image hash, its rebuilt unsigned SHA-256). Read only on
/// a mismatch; a file they cannot be read from keeps the plain mismatch.
fn presigning(list: &ChecksumList, path: &Path, facts: &mut ArtifactFacts) {
    let (Some(want), Some(got)) = (list.lookup(&facts.path), facts.sha256.as_deref()) else {
        return;
    };
    if want.eq_ignore_ascii_case(got) {
        return;
    }
    if let Ok(Some(h)) = crate::release::presigning_hashes(path) {
        facts.image_sha256 = Some(h.image_sha256);
        facts.unsigned_sha256 = h.unsigned_sha256;
    }
}
