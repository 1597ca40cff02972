//! `pegate sbom`: a CycloneDX or SPDX SBOM per binary, from its Go build info and PE facts.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use pegate::artifact::{self, ArtifactReport};
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
  pegate gate --policy pegate.toml --sbom sbom/ dist/   (gate and document in one step)

The main module is the component; every dependency is listed with its version, its h1: checksum
(as SHA-256) and its replacement; the Go version, build settings, the file's SHA-256, machine,
subsystem and signature status are recorded on the main component. The creation time is
--created, else SOURCE_DATE_EPOCH, else now. Exit 2 when a file could not be read.")]
pub(crate) struct Args {
    /// Go binaries (PE files).
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// SBOM format.
    #[arg(long, value_enum, default_value = "cyclonedx")]
    format: Format,
    /// Write `<file name>.cdx.json` / `.spdx.json` per file into DIR (required for several files).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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

/// Writes one SBOM per readable report into `dir`; returns the paths written.
pub(crate) fn write_all(
    reports: &[&ArtifactReport],
    dir: &Path,
    format: sbom::Format,
    created: i64,
) -> anyhow::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("create the SBOM directory {}", dir.display()))?;
    let mut written = Vec::new();
    for report in reports.iter().filter(|r| r.result.is_ok()) {
        let subject = Subject::from_report(report);
        let path = dir.join(format!("{}.{}", subject.file_name, format.extension()));
        let text = document(&subject, format, created);
        std::fs::write(&path, text).with_context(|| format!("write {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
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
    if args.out.is_none() && args.files.len() > 1 {
        anyhow::bail!(
            "{} files given: pass --out DIR for one SBOM each",
            args.files.len()
        );
    }
    // The SBOM names the artifact by its SHA-256, which reads each file in full.
    let opts = artifact::Options::default().with_sha256(true);
    let reports: Vec<ArtifactReport> = args
        .files
        .par_iter()
        .map(|f| artifact::inspect(f, &opts))
        .collect();
    let mut code = EXIT_OK;
    for r in &reports {
        let Ok(i) = &r.result else {
            eprintln!(
                "pegate: {}: {}",
                r.path.display(),
                r.error().unwrap_or_default()
            );
            code = EXIT_ERROR;
            continue;
        };
        if i.go.is_none() {
            eprintln!(
                "pegate: {}: no Go build info; the SBOM lists the file only",
                r.path.display()
            );
        }
    }
    match &args.out {
        Some(dir) => {
            let refs: Vec<&ArtifactReport> = reports.iter().collect();
            for path in write_all(&refs, dir, format, created)? {
                eprintln!("pegate: wrote {}", path.display());
            }
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
