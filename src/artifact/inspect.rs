//! Filling an [`ArtifactReport`]: the [`Options`] that say how much to read, and the inspection
//! of a file on disk ([`inspect`], [`inspect_all`]) or of bytes in memory ([`inspect_bytes`]),
//! held to give the same report.

use std::path::{Path, PathBuf};

use pegate_authenticode::{SignatureReport, TrustStore, VerifyOptions};
use pegate_gobin::buildinfo::BuildInfo;
use pegate_gobin::crosscheck;
use pegate_pe::PeSummary;
use rayon::prelude::*;

use super::{ArtifactReport, FailureKind, Inspection};

/// What to inspect beyond the headers. By default only what the report's verdicts need: the
/// signature verdict (which reads a signed file in full, and an unsigned one not at all) and
/// the Go build info.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Skip the signature check (and its one pass over each signed file).
    pub skip_signature: bool,
    /// Skip the Go build info.
    pub skip_go: bool,
    /// Roots the signature chains are judged against.
    pub trust: Option<TrustStore>,
    /// Compute the SHA-256 of every file ([`Inspection::sha256`]), which reads it in full.
    pub sha256: bool,
    /// Compute the PE checksum of every file (`checksum.computed`), which reads it in full; a
    /// signed file's is computed anyway, in the read its signature check makes.
    pub checksum: bool,
    /// Leave long section names (`/4`: Go's DWARF sections) unresolved instead of reading the
    /// COFF string table at the end of the file: for output without section names (the
    /// default `pegate inspect` object). The policy facts then carry the `/N` names.
    pub skip_section_names: bool,
    /// Read the import and delay-import tables (`imports`), which reads the whole file.
    pub imports: bool,
    /// Search for Go build info only where Go's linkers put it
    /// ([`pegate_gobin::buildinfo::Search::Bounded`]) instead of the whole data section: for the
    /// default `pegate inspect` object, which then reads a few KiB of an image that is not Go.
    pub bounded_go_search: bool,
}

impl Options {
    /// Skip the signature check, or not.
    pub fn with_skip_signature(mut self, yes: bool) -> Self {
        self.skip_signature = yes;
        self
    }

    /// Skip the Go build info, or not.
    pub fn with_skip_go(mut self, yes: bool) -> Self {
        self.skip_go = yes;
        self
    }

    /// Judge signature chains against these roots.
    pub fn with_trust(mut self, trust: Option<TrustStore>) -> Self {
        self.trust = trust;
        self
    }

    /// Compute every file's SHA-256, or not.
    pub fn with_sha256(mut self, yes: bool) -> Self {
        self.sha256 = yes;
        self
    }

    /// Compute every file's PE checksum, or only signed files'.
    pub fn with_checksum(mut self, yes: bool) -> Self {
        self.checksum = yes;
        self
    }

    /// Leave long section names unresolved (no read of the string table), or not.
    pub fn with_skip_section_names(mut self, yes: bool) -> Self {
        self.skip_section_names = yes;
        self
    }

    /// Read the import tables, or not.
    pub fn with_imports(mut self, yes: bool) -> Self {
        self.imports = yes;
        self
    }

    /// Search for Go build info only where Go's linkers put it, or in the whole data section.
    pub fn with_bounded_go_search(mut self, yes: bool) -> Self {
        self.bounded_go_search = yes;
        self
    }
}

/// Inspects one file: headers first; then, when asked, the signature (one pass over a signed
/// file), the Go build info (the `.data` section only), and the whole-file hash and checksum.
pub fn inspect(path: &Path, opts: &Options) -> ArtifactReport {
    // One open and one header parse for the summary, the signature and the build info.
    let verify = verify_options(opts);
    // Stamped before the open and after the last read: a file written meanwhile (a build still
    // running, a copy in progress) is reported as changed, never judged on bytes of two versions.
    let before = std::fs::metadata(path).ok().map(|m| Stamp::of(&m));
    let (summary, signature, go, after) = match pegate_pe::inspect_path_with(
        path,
        &pegate_pe::InspectOptions::default()
            .with_raw_long_names(opts.skip_section_names)
            .with_imports(opts.imports),
        |file, view, summary| {
            let signature = read_signature(file, view, opts, &verify);
            let go = read_go(file, view, opts);
            let after = file.metadata().ok().map(|m| Stamp::of(&m));
            (summary, signature, go, after)
        },
    ) {
        Ok(s) => s,
        Err(e) => return ArtifactReport::failed(path, failure_kind(&e), e.to_string()),
    };
    if let (Some(before), Some(after)) = (before, after)
        && before != after
    {
        return ArtifactReport::failed(
            path,
            FailureKind::Io,
            format!(
                "{}: changed while it was read ({}); inspect it again once it is written",
                path.display(),
                before.change(&after)
            ),
        );
    }
    inspected(path, summary, signature, go)
}

/// How the signature check reads: the hash and checksum asked for, and the trust to judge
/// chains against.
fn verify_options(opts: &Options) -> VerifyOptions {
    let verify = VerifyOptions::default()
        .with_file_sha256(opts.sha256)
        .with_checksum(opts.checksum);
    match &opts.trust {
        Some(t) => verify.with_trust(t.clone()),
        None => verify,
    }
}

/// The whole-file read of an open file, if any is asked for: the signature check, or without
/// it the hash and checksum asked for, which then take a read of their own.
fn read_signature(
    file: &std::fs::File,
    view: &pegate_pe::PeView<'_>,
    opts: &Options,
    verify: &VerifyOptions,
) -> Option<std::io::Result<Digested>> {
    if opts.skip_signature {
        (opts.sha256 || opts.checksum)
            .then(|| pegate_authenticode::file_digests(file, view, verify).map(Digested::Only))
    } else {
        Some(pegate_authenticode::verify_file(file, view, verify).map(Digested::Verified))
    }
}

/// The Go build info of an open file unless skipped, searched for as the options say.
fn read_go(
    file: &std::fs::File,
    view: &pegate_pe::PeView<'_>,
    opts: &Options,
) -> Option<pegate_gobin::error::Result<Option<BuildInfo>>> {
    let search = if opts.bounded_go_search {
        pegate_gobin::buildinfo::Search::Bounded
    } else {
        pegate_gobin::buildinfo::Search::Exact
    };
    (!opts.skip_go).then(|| pegate_gobin::buildinfo::read_file_with(file, view, search))
}

/// How a file that could not be inspected failed: it could not be read, it is no PE file, or
/// its headers are broken.
fn failure_kind(e: &pegate_pe::Error) -> FailureKind {
    if e.is_io() {
        FailureKind::Io
    } else if e.is_not_pe() {
        FailureKind::NotPe
    } else {
        FailureKind::Malformed
    }
}

/// The report of a file read through one open: the signature's hash and checksum go into the
/// inspection, the build info is cross-checked against the headers, and a signature or build
/// info that could not be read is the inspection's error while the rest still stands.
fn inspected(
    path: &Path,
    mut summary: PeSummary,
    signature: Option<std::io::Result<Digested>>,
    go: Option<pegate_gobin::error::Result<Option<BuildInfo>>>,
) -> ArtifactReport {
    let mut errors: Vec<String> = Vec::new();
    let (signature, sha256, checksum) = match signature {
        Some(Ok(Digested::Verified(report))) => {
            let (sha, sum) = (report.file_sha256.clone(), report.checksum);
            (Some(report), sha, sum)
        }
        Some(Ok(Digested::Only(d))) => (None, d.sha256, d.checksum),
        Some(Err(e)) => {
            errors.push(format!("signature: {}: {e}", path.display()));
            (None, None, None)
        }
        None => (None, None, None),
    };
    let go = match go {
        Some(Ok(info)) => info,
        Some(Err(e)) => {
            errors.push(format!("go build info: {e}"));
            None
        }
        None => None,
    };
    let crosscheck = go
        .as_ref()
        .map(|info| crosscheck::check(&summary, info))
        .unwrap_or_default();
    if let Some(sum) = checksum {
        summary.set_computed_checksum(sum);
    }
    ArtifactReport {
        path: path.to_path_buf(),
        result: Ok(Inspection {
            description: pegate_pe::describe(&summary),
            pe: summary,
            sha256,
            signature,
            go,
            crosscheck,
            error: (!errors.is_empty()).then(|| errors.join("; ")),
        }),
    }
}

/// What tells one version of a file from the next: its size, its modification time and (Unix)
/// its inode and change time, which every write moves (to the file system clock's tick).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64),
    #[cfg(unix)]
    changed: (i64, i64),
}

impl Stamp {
    fn of(m: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        use std::os::unix::fs::MetadataExt as _;
        Stamp {
            len: m.len(),
            modified: m.modified().ok(),
            #[cfg(unix)]
            inode: (m.dev(), m.ino()),
            #[cfg(unix)]
            changed: (m.ctime(), m.ctime_nsec()),
        }
    }

    /// How `later` differs from this stamp, in words.
    fn change(&self, later: &Stamp) -> String {
        if self.len != later.len {
            format!("{} bytes, then {} bytes", self.len, later.len)
        } else {
            #[cfg(unix)]
            if self.inode != later.inode {
                return "replaced by another file".to_owned();
            }
            "rewritten".to_owned()
        }
    }
}

/// Inspects a file held in memory, as [`inspect`] inspects one on disk, with `name` as the
/// report's path: for bytes that never were a file (an upload, an archive member, a Spark row).
/// Everything the file-based inspection reads is in `data`, so nothing is read beyond it.
pub fn inspect_bytes(name: &Path, data: &[u8], opts: &Options) -> ArtifactReport {
    let view = match pegate_pe::PeView::parse(data) {
        Ok(v) => v,
        Err(e) => {
            let kind = if e.is_not_pe() {
                FailureKind::NotPe
            } else {
                FailureKind::Malformed
            };
            return ArtifactReport::failed(name, kind, e.to_string());
        }
    };
    let verify = verify_options(opts);
    let mut summary = pegate_pe::summarize_with(
        &view,
        pegate_pe::Extra {
            raw_long_names: opts.skip_section_names,
            ..pegate_pe::Extra::default()
        },
    );
    // The view holds the whole file: the import tables are in it.
    if opts.imports {
        summary.read_imports(&view);
    }
    // The signature check gives the hash and checksum asked for; without it they take a pass
    // of their own (the same one, its verdict dropped).
    let report = (!opts.skip_signature || opts.sha256 || opts.checksum)
        .then(|| pegate_authenticode::verify_bytes(data, &verify));
    let (sha256, checksum) = report
        .as_ref()
        .map(|r| (r.file_sha256.clone(), r.checksum))
        .unwrap_or_default();
    // Without the verdict, only what was asked for: the check computes a signed file's
    // checksum anyway.
    let checksum = checksum.filter(|_| !opts.skip_signature || opts.checksum);
    let signature = report.filter(|_| !opts.skip_signature);
    let (go, error) = if opts.skip_go {
        (None, None)
    } else {
        match pegate_gobin::buildinfo::read(&view) {
            Ok(info) => (info, None),
            Err(e) => (None, Some(format!("go build info: {e}"))),
        }
    };
    let crosscheck = go
        .as_ref()
        .map(|info| crosscheck::check(&summary, info))
        .unwrap_or_default();
    // The summary of a whole file in memory computes its checksum; keep it only where the
    // file-based inspection has one, so the two reports agree: when asked for or verified, and
    // for a file no longer than the header read of `pegate_pe::with_headers` (4 KiB), which
    // then has the whole file in view.
    if checksum.is_some() || data.len() > 4096 {
        summary.computed_checksum = checksum;
    }
    ArtifactReport {
        path: name.to_path_buf(),
        result: Ok(Inspection {
            description: pegate_pe::describe(&summary),
            pe: summary,
            sha256,
            signature,
            go,
            crosscheck,
            error,
        }),
    }
}

/// What the whole-file read of one artifact gave: a signature report (with the hash and
/// checksum it computed), or only the hash and checksum.
enum Digested {
    Verified(SignatureReport),
    Only(pegate_authenticode::FileDigests),
}

/// Inspects many files in parallel (rayon), results in input order.
pub fn inspect_all(paths: &[PathBuf], opts: &Options) -> Vec<ArtifactReport> {
    paths.par_iter().map(|p| inspect(p, opts)).collect()
}
