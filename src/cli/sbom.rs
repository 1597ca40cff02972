//! `pegate sbom`: a CycloneDX or SPDX SBOM per binary, from its Go build info and PE facts.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pegate::artifact::{self, ArtifactReport, FailureKind};
use pegate::sbom::{self, Subject};
use rayon::prelude::*;

use super::{EXIT_ERROR, EXIT_OK};

/// The SBOM formats on the command line.
#[derive(Debug, Clone, Copy, Default, clap::ValueEnum)]
pub(crate) enum Format {
    // CycloneDX 1.6 JSON. (Plain comments: doc comments would turn clap's help into the long form.)
    #[default]
    Cyclonedx,
    // SPDX 2.3 JSON.
    Spdx,
}

impl From<Format> for sbom::Format {
    fn from(f: Format) -> sbom::Format {
        match f {
            Format::Cyclonedx => sbom::Format::CycloneDx,
            Format::Spdx => sbom::Format::Spdx,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate sbom dist/hello.exe > hello.cdx.json
  pegate sbom --format spdx --out sbom/ dist/*.exe     (sbom/<file>.spdx.json each)
  pegate sbom --out sbom/ --name '{path}.{ext}' dist/   (sbom/windows_amd64_hello.exe.cdx.json)
  pegate gate --policy pegate.toml --sbom sbom/ dist/   (gate and document in one step)

The main module is the component; every dependency is listed with its version, its h1: checksum
(as SHA-256) and its replacement; the Go version, build settings, the file's SHA-256, machine,
subsystem and signature status are recorded on the main component. The creation time is
--created, else SOURCE_DATE_EPOCH, else now. With --out, each SBOM is written whole (a temporary
file renamed into place) and `wrote <sbom> (<input>)` printed; same-named files from different
folders get their relative path as name, never one SBOM for two files. Exit 2 when a file could
not be read or two files would get one name.")]
pub(crate) struct Args {
    /// Go binaries (PE files), or directories to search for them (files that are not PE are
    /// skipped there, as `inspect` and `gate` skip them).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// SBOM format.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    format: Format,
    /// Write one SBOM per file into DIR (required for several files): `<file name>.cdx.json` /
    /// `.spdx.json`, or the file's relative path made safe when file names repeat.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Name pattern for --out: {name}, {stem}, {path}, {digest}, {ext}; two inputs given one
    /// name are an error.
    #[arg(long, value_name = "PATTERN", requires = "out")]
    name: Option<String>,
    /// Creation time: `2026-12-01`, `2026-12-01T10:00:00Z` or Unix seconds.
    #[arg(long, value_name = "TIME")]
    created: Option<String>,
}

/// The time to record: `explicit`, else `SOURCE_DATE_EPOCH` (reproducible builds), else now.
pub(crate) fn time(explicit: Option<&str>) -> anyhow::Result<i64> {
    if let Some(t) = explicit {
        return sbom::parse_time(t).with_context(|| {
            format!("bad time `{t}`: expected 2026-12-01, 2026-12-01T10:00:00Z or Unix seconds")
        });
    }
    if let Some(epoch) = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .filter(|s| !s.is_empty())
    {
        return epoch
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{epoch}` is not Unix seconds"));
    }
    Ok(std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0))
}

/// Writes one SBOM per readable report into `dir`, each atomically, under a name unique for
/// the reports given (see [`super::names`]; `pattern` is the user's `--name`); prints and
/// returns the mapping from input to SBOM. Two inputs a pattern gives one name are an error
/// naming both, before anything is written.
pub(crate) fn write_all(
    reports: &[&ArtifactReport],
    dir: &Path,
    format: sbom::Format,
    created: i64,
    pattern: Option<&str>,
) -> anyhow::Result<Vec<(PathBuf, PathBuf)>> {
    let readable: Vec<&ArtifactReport> = reports
        .iter()
        .copied()
        .filter(|r| r.result.is_ok())
        .collect();
    let inputs: Vec<&Path> = readable.iter().map(|r| r.path.as_path()).collect();
    let names = super::names::assign(&inputs, format.extension(), pattern)?;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create the SBOM directory {}", dir.display()))?;
    super::debris::remove_stale(dir)?;
    let mut written = Vec::new();
    for (report, name) in readable.iter().zip(names) {
        let Some(name) = name else { continue };
        let path = dir.join(name);
        let subject = Subject::from_report(report);
        let text = document(&subject, format, created);
        pegate::fs::write(&path, text.as_bytes())?;
        eprintln!(
            "pegate: wrote {} ({})",
            super::output::shown(&path),
            super::output::shown(&report.path)
        );
        written.push((report.path.clone(), path));
    }
    Ok(written)
}

/// `gate --sbom`'s SBOMs, written while the files are judged and named once all are: a file's
/// SBOM is written whole to a staged file in the directory (a temporary name [`remove_stale`]
/// knows), and [`Staging::publish`] renames each to the name [`super::names`] gives it among the
/// readable inputs, the same names [`write_all`] gives.
///
/// [`remove_stale`]: pegate::fs::remove_stale
pub(crate) struct Staging {
    dir: PathBuf,
    format: sbom::Format,
    created: i64,
}

impl Staging {
    /// Creates `dir` and removes the debris of dead runs from it.
    pub(crate) fn new(dir: &Path, format: sbom::Format, created: i64) -> anyhow::Result<Staging> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("create the SBOM directory {}", dir.display()))?;
        super::debris::remove_stale(dir)?;
        Ok(Staging {
            dir: dir.to_path_buf(),
            format,
            created,
        })
    }

    /// Writes the SBOM of `report` (a readable one; input number `index`) to a staged file.
    pub(crate) fn stage(&self, report: &ArtifactReport, index: usize) -> anyhow::Result<PathBuf> {
        let staged = self.dir.join(format!(
            "{}sbom-{index}",
            pegate::fs::work_prefix(pegate::fs::TEMP_PREFIX.trim_end_matches('-'))
        ));
        let text = document(&Subject::from_report(report), self.format, self.created);
        pegate::fs::write(&staged, text.as_bytes()).map_err(|e| {
            anyhow::anyhow!(
                "write the SBOM of {} in {}: {}",
                report.path.display(),
                self.dir.display(),
                e.io_error()
            )
        })?;
        Ok(staged)
    }

    /// Names the staged SBOMs ((input, staged file) in input order), renames each into place
    /// and prints the mapping. Two inputs a `pattern` gives one name are an error naming both,
    /// and then nothing is renamed and the staged files are removed.
    pub(crate) fn publish(
        &self,
        staged: Vec<(PathBuf, PathBuf)>,
        pattern: Option<&str>,
    ) -> anyhow::Result<()> {
        let inputs: Vec<&Path> = staged.iter().map(|(input, _)| input.as_path()).collect();
        let names = match super::names::assign(&inputs, self.format.extension(), pattern) {
            Ok(names) => names,
            Err(e) => {
                self.discard(&staged);
                return Err(e.into());
            }
        };
        let mut left = staged.iter().zip(names);
        while let Some(((input, file), name)) = left.next() {
            let Some(name) = name else {
                // A repeated input, already written under its first occurrence's name.
                let _ = std::fs::remove_file(file);
                continue;
            };
            let path = self.dir.join(name);
            if let Err(e) = pegate::fs::publish(file, &path) {
                let rest: Vec<_> = left.map(|((i, f), _)| (i.clone(), f.clone())).collect();
                self.discard(&rest);
                let _ = std::fs::remove_file(file);
                return Err(e.into());
            }
            eprintln!(
                "pegate: wrote {} ({})",
                super::output::shown(&path),
                super::output::shown(input)
            );
        }
        Ok(())
    }

    /// Removes staged SBOMs that will not be published.
    pub(crate) fn discard(&self, staged: &[(PathBuf, PathBuf)]) {
        for (_, file) in staged {
            let _ = std::fs::remove_file(file);
        }
    }
}

fn document(subject: &Subject, format: sbom::Format, created: i64) -> String {
    let mut text =
        serde_json::to_string_pretty(&format.render(subject, created)).unwrap_or_default();
    text.push('\n');
    text
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    let created = time(args.created.as_deref())?;
    let format = sbom::Format::from(args.format);
    let (inputs, walk_errors) = super::walk::expand(&args.files);
    for e in &walk_errors {
        eprintln!(
            "pegate: {}: {}",
            super::output::shown(&e.path),
            super::output::text(&e.message)
        );
    }
    // Checked before any file is read in full, when the files were named one by one.
    if args.out.is_none() && inputs.len() > 1 && inputs.iter().all(|i| i.explicit) {
        anyhow::bail!(
            "{} files given: pass --out DIR for one SBOM each",
            inputs.len()
        );
    }
    // The SBOM names the artifact by its SHA-256, which reads each file in full.
    let opts = artifact::Options::default().with_sha256(true);
    let mut reports: Vec<ArtifactReport> = inputs
        .par_iter()
        .map(|i| artifact::inspect(&i.path, &opts))
        .collect();
    // Below a directory, only PE files count; a file named on the command line always does.
    let mut skipped = 0usize;
    let mut kept = inputs.iter();
    reports.retain(|r| {
        let explicit = kept.next().is_some_and(|i| i.explicit);
        let not_pe = r.failure().is_some_and(|f| f.kind == FailureKind::NotPe);
        let keep = explicit || !not_pe;
        skipped = skipped.saturating_add(usize::from(!keep));
        keep
    });
    if args.out.is_none() && reports.len() > 1 {
        anyhow::bail!(
            "{} PE files found: pass --out DIR for one SBOM each",
            reports.len()
        );
    }
    let mut code = if walk_errors.is_empty() {
        EXIT_OK
    } else {
        EXIT_ERROR
    };
    if reports.is_empty() && walk_errors.is_empty() {
        eprintln!("pegate: no PE files found ({skipped} skipped: not PE)");
        return Ok(EXIT_ERROR);
    }
    for r in &reports {
        if let Some(failure) = r.failure() {
            // An I/O failure's message names the file already (`<path>: <cause>`).
            let message = super::output::text(&failure.message);
            if failure.kind == FailureKind::Io {
                eprintln!("pegate: {message}");
            } else {
                eprintln!("pegate: {}: {message}", super::output::shown(&r.path));
            }
            code = EXIT_ERROR;
        } else if r.inspection().is_some_and(|i| i.go.is_none()) {
            eprintln!(
                "pegate: {}: no Go build info; the SBOM lists the file only",
                super::output::shown(&r.path)
            );
        }
    }
    match &args.out {
        Some(dir) => {
            let refs: Vec<&ArtifactReport> = reports.iter().collect();
            write_all(&refs, dir, format, created, args.name.as_deref())?;
        }
        None => {
            if let Some(r) = reports.iter().find(|r| r.result.is_ok()) {
                let mut out = std::io::stdout().lock();
                out.write_all(document(&Subject::from_report(r), format, created).as_bytes())?;
                out.flush()?;
            }
        }
    }
    Ok(code)
}
