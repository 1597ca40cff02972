//! `pegate sign`: Authenticode-sign PE files and EFI images with a key file or PKCS#12.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use pegate::sign::{self, Algorithm, Existing, FileSigner, Password, SignOptions};
use rayon::prelude::*;

use super::{EXIT_ERROR, EXIT_OK, output};

/// The digests on the command line (and in a `[sign]` table).
#[derive(Debug, Clone, Copy, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
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
    /// Seconds each TSA has to answer [default: 30].
    #[arg(long, value_name = "SECS")]
    timestamp_timeout: Option<u64>,
    /// Digest of the image hash and the signature [default: sha256].
    #[arg(long, value_enum)]
    digest: Option<Digest>,
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
    /// Authenticode-sign each artifact as soon as it is built, before checksums.txt is written
    /// (with --key, --cert, ... as `pegate sign` takes them, or the [sign] table of --config),
    /// and write checksums.authenticode.txt (image hashes).
    #[arg(long)]
    sign: bool,
    #[command(flatten)]
    key: KeyArgs,
}

/// The `[sign]` table of `pegate build --config FILE`: `pegate build --sign`'s key options,
/// each under the name of its flag. Flags win over it; relative paths are relative to FILE.
/// A password is never in it (`password-file` or `PEGATE_SIGN_PASSWORD`).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct SignConfig {
    key: Option<String>,
    #[serde(default, deserialize_with = "one_or_many")]
    cert: Vec<String>,
    password_file: Option<String>,
    /// Present only to be refused with a message that says what to use instead.
    password: Option<toml::Value>,
    #[serde(default, deserialize_with = "one_or_many")]
    timestamp: Vec<String>,
    timestamp_timeout: Option<u64>,
    digest: Option<Digest>,
    strict: Option<bool>,
    description: Option<String>,
}

/// A string or an array of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged, expecting = "a string or an array of strings")]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match serde::Deserialize::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The key options once flags and the `[sign]` table are merged.
#[derive(Debug, Clone)]
struct KeySettings {
    key: PathBuf,
    cert: Vec<PathBuf>,
    password_file: Option<PathBuf>,
    timestamp: Vec<String>,
    timestamp_timeout: u64,
    digest: Digest,
    strict: bool,
    description: Option<String>,
}

impl KeyArgs {
    /// The flags over `config` (the `[sign]` table of the file `from`), checked; `None` when
    /// no key is given anywhere.
    fn settings(
        &self,
        config: Option<(&SignConfig, &Path)>,
    ) -> anyhow::Result<Option<KeySettings>> {
        let empty = SignConfig::default();
        let (file, from) = match config {
            Some((c, p)) => (c, Some(p)),
            None => (&empty, None),
        };
        let bad = |key: &str, why: String| match from {
            Some(p) => anyhow::anyhow!("{} [sign] {key}: {why}", p.display()),
            None => anyhow::anyhow!("[sign] {key}: {why}"),
        };
        check_config(file, &bad)?;
        // Relative paths in the file are relative to the file.
        let base = from.and_then(Path::parent).unwrap_or(Path::new(""));
        let path = |key: &str, value: &str| -> anyhow::Result<PathBuf> {
            if value.trim().is_empty() {
                return Err(bad(key, "empty".to_owned()));
            }
            Ok(base.join(value))
        };
        let key = match (&self.key, &file.key) {
            (Some(k), _) => k.clone(),
            // A pkcs11: URI is no path.
            (None, Some(k)) if sign::is_uri(Path::new(k)) => PathBuf::from(k),
            (None, Some(k)) => path("key", k)?,
            (None, None) => return Ok(None),
        };
        let cert = if self.cert.is_empty() {
            file.cert
                .iter()
                .map(|c| path("cert", c))
                .collect::<anyhow::Result<_>>()?
        } else {
            self.cert.clone()
        };
        let password_file = match (&self.password_file, &file.password_file) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(p)) => Some(path("password-file", p)?),
            (None, None) => None,
        };
        let timeout = self
            .timestamp_timeout
            .or(file.timestamp_timeout)
            .unwrap_or(30);
        if timeout == 0 {
            anyhow::bail!("--timestamp-timeout 0: must be at least 1 second");
        }
        Ok(Some(KeySettings {
            key,
            cert,
            password_file,
            timestamp: if self.timestamp.is_empty() {
                file.timestamp.clone()
            } else {
                self.timestamp.clone()
            },
            timestamp_timeout: timeout,
            digest: self.digest.or(file.digest).unwrap_or(Digest::Sha256),
            strict: self.strict || file.strict.unwrap_or(false),
            description: self
                .description
                .clone()
                .or_else(|| file.description.clone()),
        }))
    }
}

/// The build configuration's `[sign]` values that are wrong whatever the command line says:
/// a password in the file, a timestamp URL that is not `http://`, a zero timeout. `bad` makes
/// the error naming the file and key.
fn check_config(
    file: &SignConfig,
    bad: &dyn Fn(&str, String) -> anyhow::Error,
) -> anyhow::Result<()> {
    if file.password.is_some() {
        return Err(bad(
            "password",
            "a password is never read from the build configuration; name a file holding it \
             with password-file = \"...\" (or --password-file), or set PEGATE_SIGN_PASSWORD"
                .to_owned(),
        ));
    }
    for url in &file.timestamp {
        if !url.starts_with("http://") {
            return Err(bad(
                "timestamp",
                format!(
                    "{url:?} is not an http:// URL (RFC 3161 tokens are signed; pegate's TSA client speaks http:// only)"
                ),
            ));
        }
    }
    if file.timestamp_timeout == Some(0) {
        return Err(bad(
            "timestamp-timeout",
            "must be at least 1 second".to_owned(),
        ));
    }
    Ok(())
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
    let names: Vec<String> = args.files.iter().map(|f| f.display().to_string()).collect();
    let label = format!("sign {}", names.join(", "));
    let settings = args
        .key
        .settings(None)?
        .ok_or_else(|| anyhow::anyhow!("--key is required"))?;
    let (signer, opts) = open(&settings, &label, existing)?;
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
                // A closed stdout must not stop the files still to sign (nor panic, as
                // `println!` would): the line is a report, the signed file is the product.
                let _closed = output::print(&format!(
                    "signed {} ({:?} image hash {})\n",
                    output::shown(&outcome.output),
                    opts.digest,
                    outcome.image_digest
                ));
            }
            Err(e) => {
                eprintln!("pegate: error: {e}");
                code = EXIT_ERROR;
            }
        }
    }
    Ok(code)
}

/// The signer and options `key` describes; `label` starts its errors (`sign a.exe, b.exe`).
fn open(
    key: &KeySettings,
    label: &str,
    existing: Existing,
) -> anyhow::Result<(Box<dyn sign::Signer>, SignOptions)> {
    // The key is read once for every file: its errors name them all. pegate-sign's errors name
    // their file and carry their cause in the message, so they are printed as they are (the
    // anyhow chain would repeat the cause).
    let what = |e: sign::Error| anyhow::anyhow!("{label}: {e}");
    let key_path = key.key.as_path();
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

/// `pegate build --sign`'s signer, opened before anything is built: a key, password or
/// certificate that cannot sign (wrong password, expired, no code-signing EKU with --strict)
/// stops the build before it starts.
pub(crate) struct BuildSigning {
    signer: Box<dyn sign::Signer>,
    opts: SignOptions,
}

impl BuildSigning {
    /// The signer `--sign` asks for (`None` without it), from the flags over `config`'s `[sign]`
    /// table (`config` holds the table and the file it came from).
    pub(crate) fn open(
        args: &BuildSign,
        config: Option<(&SignConfig, &Path)>,
    ) -> anyhow::Result<Option<BuildSigning>> {
        if !args.sign {
            return Ok(None);
        }
        let settings = args.key.settings(config)?.ok_or_else(|| {
            anyhow::anyhow!(
                "--sign needs a key: --key KEY, or key = \"...\" in the [sign] table of --config FILE"
            )
        })?;
        let (signer, opts) = open(&settings, "build --sign", Existing::Refuse)?;
        let leaf = signer
            .certificates()
            .first()
            .ok_or_else(|| anyhow::anyhow!("build --sign: the signer has no certificate"))?;
        sign::check_certificate(leaf, now(), opts.strict)
            .map_err(|e| anyhow::anyhow!("build --sign: {e}"))?;
        Ok(Some(BuildSigning { signer, opts }))
    }

    /// The hook that signs each cell as it finishes (see [`pegate::release::CellSigner`]).
    pub(crate) fn cell_signer(&self) -> pegate::release::CellSigner<'_> {
        pegate::release::CellSigner::new(self.signer.as_ref(), &self.opts)
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .unwrap_or(0)
}

/// Prints what signing the matrix said, once it is built.
pub(crate) fn report_signing(done: &pegate::release::MatrixSigning) {
    for w in &done.warnings {
        eprintln!("pegate: warning: {w}");
    }
    eprintln!("pegate: signed {} artifacts", done.signed.len());
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: BuildSign,
    }

    fn flags(args: &[&str]) -> BuildSign {
        Cli::try_parse_from(std::iter::once("build").chain(args.iter().copied()))
            .unwrap()
            .args
    }

    fn table(text: &str) -> SignConfig {
        toml::from_str(text).unwrap()
    }

    fn file() -> PathBuf {
        Path::new("conf").join("pegate-build.toml")
    }

    #[test]
    fn the_sign_table_fills_what_the_flags_leave_out_and_its_paths_are_the_files() {
        let config = table(
            r#"
            key = "keys/signer.pem"
            cert = ["certs/leaf.pem", "certs/ca.pem"]
            password-file = "pw.txt"
            timestamp = "http://127.0.0.1:9/tsa"
            timestamp-timeout = 7
            digest = "sha384"
            strict = true
            description = "Hello"
            "#,
        );
        let conf = Path::new("conf");
        let s = flags(&["--sign"])
            .key
            .settings(Some((&config, &file())))
            .unwrap()
            .unwrap();
        assert_eq!(s.key, conf.join("keys/signer.pem"));
        assert_eq!(
            s.cert,
            [conf.join("certs/leaf.pem"), conf.join("certs/ca.pem")]
        );
        assert_eq!(s.password_file, Some(conf.join("pw.txt")));
        assert_eq!(s.timestamp, ["http://127.0.0.1:9/tsa"]);
        assert_eq!(s.timestamp_timeout, 7);
        assert!(matches!(s.digest, Digest::Sha384));
        assert!(s.strict);
        assert_eq!(s.description.as_deref(), Some("Hello"));

        // Every flag wins over its key; a list given on the command line replaces the file's.
        let s = flags(&[
            "--sign",
            "--key",
            "k.p12",
            "--cert",
            "c.pem",
            "--password-file",
            "other.txt",
            "--timestamp",
            "http://127.0.0.1:8/",
            "--timestamp-timeout",
            "3",
            "--digest",
            "sha512",
            "--description",
            "Flag",
        ])
        .key
        .settings(Some((&config, &file())))
        .unwrap()
        .unwrap();
        assert_eq!(s.key, Path::new("k.p12"));
        assert_eq!(s.cert, [PathBuf::from("c.pem")]);
        assert_eq!(s.password_file, Some(PathBuf::from("other.txt")));
        assert_eq!(s.timestamp, ["http://127.0.0.1:8/"]);
        assert_eq!(s.timestamp_timeout, 3);
        assert!(matches!(s.digest, Digest::Sha512));
        assert_eq!(s.description.as_deref(), Some("Flag"));

        // The defaults, with neither; a pkcs11: URI is not made a path.
        let uri = "pkcs11:token=ci;object=signer";
        let s = flags(&["--sign"])
            .key
            .settings(Some((&table(&format!("key = {uri:?}")), &file())))
            .unwrap()
            .unwrap();
        assert_eq!(s.key, Path::new(uri));
        assert!(s.cert.is_empty() && s.timestamp.is_empty() && !s.strict);
        assert_eq!(s.timestamp_timeout, 30);
        assert!(matches!(s.digest, Digest::Sha256));
        // No key anywhere.
        assert!(
            flags(&["--sign"])
                .key
                .settings(Some((&table("digest = \"sha256\""), &file())))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn bad_sign_tables_are_refused_naming_the_file_and_the_key() {
        let shown = file().display().to_string();
        for (text, key, why) in [
            (
                "key = \"k.pem\"\npassword = \"hunter2\"",
                "password",
                "password-file",
            ),
            ("key = \"\"", "key", "empty"),
            ("key = \"k.pem\"\ncert = [\"\"]", "cert", "empty"),
            (
                "key = \"k.pem\"\ntimestamp = [\"https://tsa.example/\"]",
                "timestamp",
                "http://",
            ),
            (
                "key = \"k.pem\"\ntimestamp-timeout = 0",
                "timestamp-timeout",
                "at least 1 second",
            ),
        ] {
            let e = flags(&["--sign"])
                .key
                .settings(Some((&table(text), &file())))
                .unwrap_err()
                .to_string();
            assert!(
                e.starts_with(&format!("{shown} [sign] {key}: ")) && e.contains(why),
                "{text}: {e}"
            );
            assert!(!e.contains("hunter2"), "{e}");
        }
        // What serde refuses: the key and the value, with toml's line and column.
        for (text, words) in [
            ("digest = \"md5\"", ["md5", "sha256"]),
            ("strict = \"yes\"", ["strict", "bool"]),
            ("keys = \"k.pem\"", ["keys", "password-file"]),
            ("cert = 3", ["cert", "a string or an array of strings"]),
        ] {
            let e = toml::from_str::<SignConfig>(text).unwrap_err().to_string();
            for w in words {
                assert!(e.contains(w), "{text}: {e}");
            }
        }
    }
}
