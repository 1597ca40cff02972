//! `pegate inspect`: what each PE file is, as a table, a JSON array or JSON lines.

use std::io::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use pegate::artifact::{self, ArtifactReport, FailureKind, Options};
use pegate::facts::DllCharacteristics;
use rayon::prelude::*;

use super::walk::{self, Input};
use super::{EXIT_ERROR, EXIT_FINDINGS, EXIT_OK, output};

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    Table,
    Json,
    Jsonl,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate inspect hello.exe
  pegate inspect --format json dist/ | jq '.[] | {path, machine, signature: .signature.status}'
  pegate inspect --format jsonl --trust ca.pem dist/
  pegate inspect --format jsonl --sha256 dist/
  pegate inspect --format jsonl --full hello.exe      every field: sections, certificates, Go deps
  pegate inspect --format json --imports dist/        which DLLs each file needs

By default only what the verdicts need is read: the headers, the Go build info, and signed
files in full for their signature (which also gives their checksum). --sha256, --checksum and
--imports read every file in full.

Directories are walked recursively; files in them that are not PE are skipped quietly, files
named on the command line are always reported. Exit 1 when a named file is not a readable PE,
2 when nothing could be read.")]
pub(crate) struct Args {
    /// Files and directories to inspect.
    #[arg(required = true, value_name = "PATH|DIR")]
    paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// PEM CA bundle to judge signature chains against.
    #[arg(long, value_name = "CA.pem")]
    trust: Option<PathBuf>,
    /// Headers only: skip the signature check (which reads each signed file in full).
    #[arg(long)]
    no_signature: bool,
    /// Also compute each file's SHA-256 (reads every file in full).
    #[arg(long)]
    sha256: bool,
    /// Also compute each file's PE checksum (reads every file in full; signed files' is
    /// computed anyway by the signature check).
    #[arg(long)]
    checksum: bool,
    /// JSON: every field (sections, data directories, versions, the whole signature report with
    /// its certificates, the Go dependencies and settings), not the summary object.
    #[arg(long)]
    full: bool,
    /// JSON: also each file's imported DLLs (`imports`: import and delay-import tables, with
    /// the functions imported by name and by ordinal); reads every file in full.
    #[arg(long)]
    imports: bool,
}

/// Inspection options with the chains judged against `--trust`, when given.
pub(crate) fn options(trust: Option<&PathBuf>) -> anyhow::Result<Options> {
    let store = match trust {
        Some(ca) => Some(
            pegate::authenticode::TrustStore::from_pem_file(ca)
                .with_context(|| format!("load the trust bundle {}", ca.display()))?,
        ),
        None => None,
    };
    Ok(Options::default().with_trust(store))
}

/// Files per chunk of `--format jsonl`: the output streams a chunk at a time.
const CHUNK: usize = 1024;

/// Files rendered into one buffer: one allocation, and one free on the writing thread, per
/// this many lines rather than per line (frees across threads contend for the allocator's lock).
const BLOCK: usize = 16;

/// The JSON lines of a few consecutive files, newlines included, with how many were shown and
/// how many of those failed.
#[derive(Default)]
struct Lines {
    json: Vec<u8>,
    shown: usize,
    failed: usize,
}

impl Lines {
    /// Inspects `inputs` in order and renders the lines of those shown: the brief object, or the
    /// full one.
    fn render(inputs: &[Input], opts: &Options, full: bool) -> serde_json::Result<Lines> {
        let mut lines = Lines {
            json: Vec::with_capacity(inputs.len().saturating_mul(if full { 4096 } else { 1280 })),
            ..Lines::default()
        };
        for input in inputs {
            let report = artifact::inspect(&input.path, opts);
            if !shown(input, &report) {
                continue;
            }
            if full {
                serde_json::to_writer(&mut lines.json, &report.record())?;
            } else {
                serde_json::to_writer(&mut lines.json, &report.brief())?;
            }
            lines.json.push(b'\n');
            lines.shown = lines.shown.saturating_add(1);
            lines.failed = lines
                .failed
                .saturating_add(usize::from(report.result.is_err()));
        }
        Ok(lines)
    }
}

/// Inspects `inputs` in order, [`CHUNK`] files at a time: `render` runs on the pool for each
/// block of up to [`BLOCK`] consecutive inputs (given with the index of its first input), and
/// `write` gets each chunk's rendered blocks, in input order, on the calling thread while the
/// next chunk is inspected. What is held at once is two chunks' renderings, whatever the number
/// of files.
pub(crate) fn pipeline<T: Send>(
    inputs: &[Input],
    render: impl Fn(usize, &[Input]) -> T + Sync,
    mut write: impl FnMut(Vec<T>) -> anyhow::Result<()> + Send,
) -> anyhow::Result<()> {
    let render = |first: usize, chunk: &[Input]| -> Vec<T> {
        chunk
            .par_chunks(BLOCK)
            .enumerate()
            .map(|(i, block)| render(first.saturating_add(i.saturating_mul(BLOCK)), block))
            .collect()
    };
    let mut pending = Vec::new();
    for (i, chunk) in inputs.chunks(CHUNK).enumerate() {
        let first = i.saturating_mul(CHUNK);
        let (written, next) = rayon::join(|| write(pending), || render(first, chunk));
        written?;
        pending = next;
    }
    write(pending)
}

/// Whether a result is shown: named files always; walked files only when they are PE files.
pub(crate) fn shown(input: &Input, report: &ArtifactReport) -> bool {
    input.explicit || report.failure().map(|f| f.kind) != Some(FailureKind::NotPe)
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    let opts = options(args.trust.as_ref())?
        .with_skip_signature(args.no_signature)
        .with_sha256(args.sha256)
        .with_checksum(args.checksum)
        .with_imports(args.imports)
        // Only `--full` shows sections: the other outputs need no string table read.
        .with_skip_section_names(!args.full)
        // The summary object finds Go build info where Go puts it; `--full` searches as
        // `go version -m` does.
        .with_bounded_go_search(!args.full);
    let (inputs, walk_errors) = walk::expand(&args.paths);
    for e in &walk_errors {
        eprintln!(
            "pegate: {}: {}",
            output::shown(&e.path),
            output::text(&e.message)
        );
    }
    // Block-buffered: stdout's own line buffering would make one write per JSON line. Not
    // locked: the JSON lines are written from a pool thread.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout());
    let (shown_count, failed) = match args.format {
        Format::Jsonl => write_jsonl(&mut out, &inputs, &opts, args.full)?,
        Format::Json => write_json(&mut out, &inputs, &opts, args.full)?,
        Format::Table => write_table(&mut out, &inputs, &opts)?,
    };
    let problems = walk_errors.len().saturating_add(failed);
    out.flush()?;
    if shown_count == 0 && problems == 0 {
        // Everything walked was skipped as not PE: say so rather than print nothing at all.
        eprintln!(
            "pegate: no PE files found ({} file{} skipped: not PE)",
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" }
        );
    }
    Ok(if shown_count == 0 && problems > 0 {
        EXIT_ERROR
    } else if problems > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    })
}

/// `--format jsonl`: one line per file, streamed in order, chunk by chunk, so a long walk prints
/// as it goes. Each line is rendered by the worker that inspected its file, and one chunk is
/// written while the next is inspected: the writing thread only copies bytes. Returns how many
/// files were shown and how many failed.
fn write_jsonl(
    out: &mut (impl std::io::Write + Send),
    inputs: &[Input],
    opts: &Options,
    full: bool,
) -> anyhow::Result<(usize, usize)> {
    let (mut shown, mut failed) = (0usize, 0usize);
    pipeline(
        inputs,
        |_, block| Lines::render(block, opts, full),
        |blocks| {
            for lines in blocks {
                let lines = lines?;
                shown = shown.saturating_add(lines.shown);
                failed = failed.saturating_add(lines.failed);
                out.write_all(&lines.json)?;
            }
            Ok(out.flush()?)
        },
    )?;
    Ok((shown, failed))
}

/// `--format json`: one array of every file's object (`--full`: the whole record). Returns how
/// many files were shown and how many failed.
fn write_json(
    out: &mut impl std::io::Write,
    inputs: &[Input],
    opts: &Options,
    full: bool,
) -> anyhow::Result<(usize, usize)> {
    let reports: Vec<_> = inputs
        .par_iter()
        .map(|i| (i, artifact::inspect(&i.path, opts)))
        .filter(|(i, r)| shown(i, r))
        .map(|(_, r)| r)
        .collect();
    let failed = reports.iter().filter(|r| r.result.is_err()).count();
    if full {
        let all: Vec<_> = reports.iter().map(ArtifactReport::record).collect();
        serde_json::to_writer_pretty(&mut *out, &all)?;
    } else {
        let all: Vec<_> = reports.iter().map(ArtifactReport::brief).collect();
        serde_json::to_writer_pretty(&mut *out, &all)?;
    }
    out.write_all(b"\n")?;
    Ok((reports.len(), failed))
}

/// The table's header.
const HEADER: [&str; 6] = ["PATH", "FORMAT", "SUBSYSTEM", "FLAGS", "SIGNATURE", "GO"];

/// One row of the table: its six cells, or the one line of an unreadable file (which gets a
/// line of its own so that its message does not widen the columns).
type Row = Result<[String; 6], String>;

/// The rows of a few consecutive files, as JSON lines, with the widths their cells need.
struct Rows {
    lines: Vec<u8>,
    widths: [usize; 6],
    shown: usize,
    failed: usize,
}

impl Rows {
    fn render(inputs: &[Input], opts: &Options) -> serde_json::Result<Rows> {
        let mut rows = Rows {
            lines: Vec::new(),
            widths: [0; 6],
            shown: 0,
            failed: 0,
        };
        for input in inputs {
            let report = artifact::inspect(&input.path, opts);
            if !shown(input, &report) {
                continue;
            }
            let row = row(&report);
            match &row {
                Ok(cells) => {
                    for (w, cell) in rows.widths.iter_mut().zip(cells) {
                        *w = (*w).max(cell.chars().count());
                    }
                }
                Err(_) => rows.failed = rows.failed.saturating_add(1),
            }
            serde_json::to_writer(&mut rows.lines, &row)?;
            rows.lines.push(b'\n');
            rows.shown = rows.shown.saturating_add(1);
        }
        Ok(rows)
    }
}

/// What the table shows of one report.
fn row(r: &ArtifactReport) -> Row {
    let i = match &r.result {
        Ok(i) => i,
        Err(f) => {
            let f = f.to_string();
            return Err(format!(
                "{}  error: {}",
                output::shown(&r.path),
                output::text(&f)
            ));
        }
    };
    let pe = &i.pe;
    let flags: Vec<&str> = [
        (DllCharacteristics::HIGH_ENTROPY_VA, "HEVA"),
        (DllCharacteristics::DYNAMIC_BASE, "ASLR"),
        (DllCharacteristics::NX_COMPAT, "NX"),
        (DllCharacteristics::GUARD_CF, "CFG"),
    ]
    .into_iter()
    .filter(|&(flag, _)| pe.headers.dll_characteristics.contains(flag))
    .map(|(_, short)| short)
    .collect();
    let hybrid = pe
        .hybrid
        .as_ref()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    Ok([
        output::shown(&r.path),
        format!("{} {}{hybrid}", pe.headers.format(), pe.headers.machine),
        pe.headers.subsystem.to_string(),
        if flags.is_empty() {
            "-".into()
        } else {
            flags.join(",")
        },
        i.signature
            .as_ref()
            .map_or("-", |s| s.status.as_str())
            .to_owned(),
        output::text(i.go.as_ref().map_or("-", |g| g.go_version.as_str())).into_owned(),
    ])
}

/// The table: every file inspected and its row spooled (the column widths need them all), then
/// the rows printed. Returns how many files were shown and how many of those failed.
fn write_table(
    out: &mut impl std::io::Write,
    inputs: &[Input],
    opts: &Options,
) -> anyhow::Result<(usize, usize)> {
    let mut spool = output::Spool::new();
    let mut widths = HEADER.map(str::len);
    let (mut shown, mut failed) = (0usize, 0usize);
    pipeline(
        inputs,
        |_, block| Rows::render(block, opts),
        |blocks| {
            for rows in blocks {
                let rows = rows?;
                for (w, r) in widths.iter_mut().zip(rows.widths) {
                    *w = (*w).max(r);
                }
                shown = shown.saturating_add(rows.shown);
                failed = failed.saturating_add(rows.failed);
                spool.write(&rows.lines)?;
            }
            Ok(())
        },
    )?;
    let spooled = spool.finish()?;
    let line = |cells: &[&str]| {
        let mut text = String::new();
        for (cell, w) in cells.iter().zip(widths) {
            text.push_str(&format!("{cell:<w$}  "));
        }
        text.trim_end().to_owned()
    };
    writeln!(out, "{}", line(&HEADER))?;
    spooled.each_line(&mut |json| {
        let row: Row = serde_json::from_str(json).map_err(std::io::Error::other)?;
        match row {
            Ok(cells) => writeln!(out, "{}", line(&cells.each_ref().map(String::as_str))),
            Err(text) => writeln!(out, "{text}"),
        }
    })?;
    Ok((shown, failed))
}
