//! `pegate sign`: Authenticode-sign PE files and EFI images with a key file or PKCS#12.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use pegate::go::matrix::MatrixReport;
use pegate::sign::{self, Algorithm, Existing, FileSigner, Password, SignOptions};
use rayon::prelude::*;

use super::{EXIT_ERROR, EXIT_OK};

/// The digests on the command line.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub(crate) enum Digest {
    Sha1,
    Sha256,
    Sha384,
    Sha512,
}

impl From<Digest> for Algorithm {
    fn from(d: Digest) -> Algorithm {
        match d {
            Digest::Sha1 => Algorithm::Sha1,
            Digest::Sha256 => Algorithm::Sha256,
            Digest::Sha384 => Algorithm::Sha384,
            Digest::Sha512 => Algorithm::Sha512,
        }
    }
}

#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  pegate sign --key key.pem --cert chain.pem dist/*.exe
  pegate sign --key signer.p12 --password-file pw.txt --timestamp http://tsa.example/ app.exe
  pegate sign --key key.pem --cert chain.pem --digest sha256 --append app.exe   (dual signing)
  pegate sign --key 'pkcs11:token=ci;object=signer?module-path=/usr/lib/softhsm/libsofthsm2.so' \
      --password-file pin.txt --cert chain.pem app.exe            (key on a token; PIN as password)

Each FILE is replaced atomically (a temporary file beside it, fsync, rename) unless --output is
given. The password of an encrypted key or PKCS#12 file comes from --password-file or the
PEGATE_SIGN_PASSWORD environment variable, never from the command line. With SOURCE_DATE_EPOCH
set, it is the signing time: the same input, key and chain give the same bytes (RSA; ECDSA
signatures are randomised). Exit 2 when any file could not be signed; that file is unchanged.")]
pub(crate) struct Args {
    /// PE files (exe, dll, sys, efi) to sign.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    key: KeyArgs,
    /// Add the signature nested in the existing one (dual signing).
    #[arg(long, conflicts_with = "replace")]
    append: bool,
    /// Drop the existing signatures.
    #[arg(long)]
    replace: bool,
    /// Write the signed file here instead of replacing FILE (one FILE only).
    #[arg(long, value_name = "OUT")]
    output: Option<PathBuf>,
}

/// The key and how to sign with it: `pegate sign`'s options, and `pegate build --sign`'s.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyArgs {
    /// Private key: PEM or DER (PKCS#8, PKCS#1, SEC1), a PKCS#12 file (.p12/.pfx), or a
    /// pkcs11: URI (RFC 7512) of a key on a hardware token.
    #[arg(long, value_name = "KEY")]
    key: Option<PathBuf>,
    /// The signer certificate and its chain, PEM or DER; repeatable. Default: the PKCS#12's chain.
    #[arg(long, value_name = "CERT")]
    cert: Vec<PathBuf>,
    /// A file whose first line is the key's password (else PEGATE_SIGN_PASSWORD).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// An RFC 3161 TSA (http://); repeatable, tried in order until one answers.
    #[arg(long, value_name = "URL")]
    timestamp: Vec<String>,
    /// Seconds each TSA has to answer.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    timestamp_timeout: u64,
    /// Digest of the image hash and the signature.
    #[arg(long, value_enum, default_value = "sha256")]
    digest: Digest,
    /// Refuse a certificate without the code-signing EKU (default: warn).
    #[arg(long)]
    strict: bool,
    /// The program description Windows shows when asking to run it (signtool's /d).
    #[arg(long, value_name = "TEXT")]
    description: Option<String>,
}

/// `pegate build --sign`: sign every artifact before the checksums are written.
#[derive(Debug, clap::Args)]
pub(crate) struct BuildSign {
    /// Authenticode-sign each artifact before checksums.txt is written (with --key, --cert, ...
    /// as `pegate sign` takes them), and write checksums.authenticode.txt (image hashes).
    #[arg(long, requires = "key")]
    sign: bool,
    #[command(flatten)]
    key: KeyArgs,
}

pub(crate) fn run(args: Args) -> anyhow::Result<u8> {
    if args.output.is_some() && args.files.len() > 1 {
        anyhow::bail!("--output takes one FILE; {} were given", args.files.len());
    }
    let existing = if args.append {
        Existing::Append
    } else if args.replace {
        Existing::Replace
    } else {
        Existing::Refuse
    };
    let (signer, opts) = open(&args.key, &args.files, existing)?;
    let results: Vec<_> = args
        .files
        .par_iter()
        .map(|f| sign_one(f, args.output.as_deref(), signer.as_ref(), &opts))
        .collect();
    let mut code = EXIT_OK;
    let mut warned = false;
    for r in results {
        match r {
            Ok(outcome) => {
                if !warned {
                    for w in &outcome.warnings {
                        eprintln!("pegate: warning: {w}");
                    }
                    warned = true;
                }
                println!(
                    "signed {} ({:?} image hash {})",
                    outcome.output.display(),
                    opts.digest,
                    outcome.image_digest
                );
            }
            Err(e) => {
                eprintln!("pegate: error: {e}");
                code = EXIT_ERROR;
            }
        }
    }
    Ok(code)
}

/// The signer and options `key` describes, for signing `files`.
fn open(
    key: &KeyArgs,
    files: &[PathBuf],
    existing: Existing,
) -> anyhow::Result<(Box<dyn sign::Signer>, SignOptions)> {
    // The key is read once for every file: its errors name them all. pegate-sign's errors name
    // their file and carry their cause in the message, so they are printed as they are (the
    // anyhow chain would repeat the cause).
    let what = |e: sign::Error| {
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        anyhow::anyhow!("sign {}: {e}", names.join(", "))
    };
    let key_path = key
        .key
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("--key is required"))?;
    let password = match &key.password_file {
        Some(p) => Some(Password::from_file(p).map_err(what)?),
        None => Password::from_env(),
    };
    let signer: Box<dyn sign::Signer> = if sign::is_uri(key_path) {
        let uri = key_path.to_str().unwrap_or_default();
        Box::new(sign::Pkcs11Signer::open(uri, &key.cert, password.as_ref()).map_err(what)?)
    } else {
        Box::new(FileSigner::open(key_path, &key.cert, password.as_ref()).map_err(what)?)
    };
    drop(password);
    let opts = SignOptions::default()
        .with_digest(key.digest.into())
        .with_existing(existing)
        .with_timestamp(
            key.timestamp.clone(),
            Duration::from_secs(key.timestamp_timeout),
        )
        .with_signing_time(sign::source_date_epoch().map_err(what)?)
        .with_strict(key.strict)
        .with_description(key.description.clone());
    Ok((signer, opts))
}

fn sign_one(
    file: &Path,
    output: Option<&Path>,
    signer: &dyn sign::Signer,
    opts: &SignOptions,
) -> Result<sign::Outcome, String> {
    pegate::release::sign_file(file, output, signer, opts).map_err(|e| e.message)
}

/// With `--sign`: signs every artifact of `report` in place (in parallel), brings their SHA-256
/// and size up to date, and returns each one's Authenticode image hash (for
/// checksums.authenticode.txt), in the report's order.
pub(crate) fn sign_artifacts(
    args: &BuildSign,
    report: &mut MatrixReport,
) -> anyhow::Result<Option<Vec<pegate::release::SignedArtifact>>> {
    if !args.sign {
        return Ok(None);
    }
    let files: Vec<PathBuf> = report.artifacts().map(|a| a.path.clone()).collect();
    let (signer, opts) = open(&args.key, &files, Existing::Refuse)?;
    let done = pegate::release::sign_matrix(report, signer.as_ref(), &opts)?;
    for w in &done.warnings {
        eprintln!("pegate: warning: {w}");
    }
    eprintln!("pegate: signed {} artifacts", done.signed.len());
    Ok(Some(done.signed))
}

/// `<out>/checksums.authenticode.txt`: each signed artifact's Authenticode image hash (what its
/// signature covers, which signing does not change) in sha256sum's layout; returns its path.
pub(crate) fn write_image_hashes(
    hashes: &[pegate::release::SignedArtifact],
    out_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let path = out_dir.join("checksums.authenticode.txt");
    std::fs::write(&path, pegate::release::image_hash_lines(hashes))
        .with_context(|| format!("write {}", path.display()))?;
    Ok(path)
}
