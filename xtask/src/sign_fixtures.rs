//! `cargo xtask sign-fixtures`: regenerates `fixtures/authenticode/` (needs `openssl` and
//! `osslsigncode`; the tests that read the fixtures need neither).
//!
//! It makes a test root CA, a leaf with the codeSigning EKU, a self-signed leaf and a TSA
//! certificate; builds a tiny Go program for windows amd64, arm64 and 386 with the pinned Go
//! pegate provisions; signs them with osslsigncode (with an RFC 3161 timestamp from
//! osslsigncode's built-in test TSA a minute after the certificates were made), nests a second signature, and derives the
//! broken variants (one byte tampered in `.text`, a truncated table, a bad revision).

#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use pegate::facts::GoArch;

/// The time of the test timestamps: a minute after the certificates are made (they are valid
/// from the moment `openssl` creates them, and a chain is judged at the timestamp's time).
fn tsa_time() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (now + 60).to_string()
}

fn exec(cmd: &mut Command) -> anyhow::Result<()> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("run {shown}"))?;
    if !out.status.success() {
        bail!(
            "{shown} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

fn openssl(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    exec(Command::new("openssl").current_dir(dir).args(args))
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    std::fs::write(dir.join(name), text).with_context(|| format!("write {name}"))
}

/// How long the test certificates are valid, in days: twenty years, so the committed fixtures
/// do not expire under the tests that read them.
const DAYS: &str = "7300";

/// Root CA, code-signing leaf, self-signed leaf and TSA, as PEM files in `dir`.
pub(crate) fn make_pki(dir: &Path) -> anyhow::Result<()> {
    write_extensions(dir)?;
    make_root_ca(dir)?;
    for (name, cn, ext) in [
        ("leaf", "pegate test code signing", "leaf"),
        ("tsa", "pegate test TSA", "tsa"),
    ] {
        make_ca_signed(dir, name, cn, ext)?;
    }
    make_self_signed(dir)?;
    write_tsa_chain(dir)
}

/// `ext.cnf`: the X.509 extensions of each kind of certificate (`ca`, `leaf` with the
/// codeSigning EKU, `tsa` with the critical timeStamping EKU), named by the `openssl` calls.
fn write_extensions(dir: &Path) -> anyhow::Result<()> {
    write(
        dir,
        "ext.cnf",
        "[ca]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n\
         [leaf]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=codeSigning\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n\
         [tsa]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=critical,timeStamping\n\
         subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
}

/// The self-signed root CA: `ca.key` and `ca.pem`, which the other certificates chain to.
fn make_root_ca(dir: &Path) -> anyhow::Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            DAYS,
            "-subj",
            "/CN=pegate test root CA/O=pegate",
            "-extensions",
            "ca",
            "-config",
            "ext.cnf",
        ],
    )
}

/// A certificate the root CA issues: a key and request `<name>.key` / `<name>.csr`, then
/// `<name>.pem` signed by the CA with the `ext` section of `ext.cnf`.
fn make_ca_signed(dir: &Path, name: &str, cn: &str, ext: &str) -> anyhow::Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            &format!("/CN={cn}/O=pegate"),
        ],
    )?;
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}.csr"),
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            &format!("{name}.pem"),
            "-days",
            DAYS,
            "-extfile",
            "ext.cnf",
            "-extensions",
            ext,
        ],
    )
}

/// A self-signed code-signing certificate, `self.key` and `self.pem`: a signature no trust
/// anchor vouches for.
fn make_self_signed(dir: &Path) -> anyhow::Result<()> {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "self.key",
            "-out",
            "self.pem",
            "-days",
            DAYS,
            "-subj",
            "/CN=pegate self-signed/O=pegate",
            "-addext",
            "extendedKeyUsage=codeSigning",
        ],
    )
}

/// `tsa-chain.pem`: the TSA signs with its certificate followed by the CA (osslsigncode wants
/// the chain).
fn write_tsa_chain(dir: &Path) -> anyhow::Result<()> {
    let chain = std::fs::read_to_string(dir.join("tsa.pem"))?
        + &std::fs::read_to_string(dir.join("ca.pem"))?;
    write(dir, "tsa-chain.pem", &chain)?;
    Ok(())
}

fn sign(
    dir: &Path,
    cert: &str,
    key: &str,
    hash: &str,
    input: &Path,
    output: &Path,
    nest: bool,
) -> anyhow::Result<()> {
    let mut cmd = Command::new("osslsigncode");
    cmd.current_dir(dir).arg("sign");
    if nest {
        cmd.arg("-nest");
    }
    cmd.args([
        "-certs",
        cert,
        "-key",
        key,
        "-h",
        hash,
        "-n",
        "pegate fixture",
    ])
    .args([
        "-TSA-certs",
        "tsa-chain.pem",
        "-TSA-key",
        "tsa.key",
        "-TSA-time",
        &tsa_time(),
    ])
    .arg("-in")
    .arg(input)
    .arg("-out")
    .arg(output);
    exec(&mut cmd)
}

fn go_build(workdir: &Path, goarch: GoArch) -> anyhow::Result<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cache = root.join("target").join("pegate-go");
    let tc = pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .context("provision the pinned Go")?;
    let src = workdir.join("src");
    std::fs::create_dir_all(&src)?;
    std::fs::write(src.join("main.go"), "package main\n\nfunc main() {}\n")?;
    std::fs::write(src.join("go.mod"), "module example.com/tiny\n\ngo 1.21\n")?;
    let out = workdir.join(format!("tiny-{goarch}.exe"));
    exec(
        tc.windows_build(goarch, &cache.join("gocache"))
            .current_dir(&src)
            .args(["-ldflags=-s -w", "-o"])
            .arg(&out)
            .arg("."),
    )?;
    Ok(out)
}

/// The file offset and size of the certificate table (security directory).
fn cert_table(bytes: &[u8]) -> anyhow::Result<(usize, usize)> {
    let view = pegate::pe::PeView::parse(bytes)?;
    let dir = view.security_directory().context("no certificate table")?;
    Ok((dir.offset as usize, dir.size as usize))
}

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out_dir = root.join("fixtures").join("authenticode");
    remove_executables(&out_dir)?;
    let work = std::env::temp_dir().join(format!("pegate-sign-{}", std::process::id()));
    std::fs::create_dir_all(&work)?;
    make_pki(&work)?;
    for pem in ["ca.pem", "self.pem", "leaf.pem", "tsa.pem"] {
        std::fs::copy(work.join(pem), out_dir.join(pem))?;
    }
    sign_reference_arches(&work, &out_dir)?;
    sign_amd64_variants(&work, &out_dir)?;
    write_broken_variants(&out_dir)?;
    std::fs::remove_dir_all(&work).ok();
    println!("wrote fixtures to {}", out_dir.display());
    Ok(())
}

/// Creates `out_dir` and removes the executables in it: osslsigncode refuses to overwrite its
/// output.
fn remove_executables(out_dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out_dir)?;
    for entry in std::fs::read_dir(out_dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "exe") {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

/// For each reference GOARCH, the tiny program as `<arch>-unsigned.exe` and signed with the
/// CA-issued leaf and SHA-256 as `<arch>-signed.exe`.
fn sign_reference_arches(work: &Path, out_dir: &Path) -> anyhow::Result<()> {
    let out = |name: &str| out_dir.join(name);
    for arch in pegate::go::matrix::REFERENCE_GOARCHES {
        let exe = go_build(work, arch)?;
        std::fs::copy(&exe, out(&format!("{arch}-unsigned.exe")))?;
        sign(
            work,
            "leaf.pem",
            "leaf.key",
            "sha256",
            &exe,
            &out(&format!("{arch}-signed.exe")),
            false,
        )?;
    }
    Ok(())
}

/// The other valid signatures of the amd64 program: self-signed, SHA-384, and nested.
fn sign_amd64_variants(work: &Path, out_dir: &Path) -> anyhow::Result<()> {
    let out = |name: &str| out_dir.join(name);
    let amd64 = out("amd64-unsigned.exe");
    sign(
        work,
        "self.pem",
        "self.key",
        "sha256",
        &amd64,
        &out("amd64-selfsigned.exe"),
        false,
    )?;
    sign(
        work,
        "leaf.pem",
        "leaf.key",
        "sha384",
        &amd64,
        &out("amd64-sha384.exe"),
        false,
    )?;
    // Nested: a SHA-1 signature with a SHA-256 signature nested in it (the classic dual signing).
    sign(
        work,
        "leaf.pem",
        "leaf.key",
        "sha1",
        &amd64,
        &work.join("sha1.exe"),
        false,
    )?;
    sign(
        work,
        "leaf.pem",
        "leaf.key",
        "sha256",
        &work.join("sha1.exe"),
        &out("amd64-nested.exe"),
        true,
    )
}

/// The broken variants of `amd64-signed.exe`, each damaged in one way a verifier must catch.
fn write_broken_variants(out_dir: &Path) -> anyhow::Result<()> {
    let out = |name: &str| out_dir.join(name);
    let signed = std::fs::read(out("amd64-signed.exe"))?;
    let (table, size) = cert_table(&signed)?;
    // Tampered: one byte inside .text (file offset 0x1000 is well inside it for Go binaries).
    let mut tampered = signed.clone();
    tampered[0x1000] ^= 0x01;
    std::fs::write(out("amd64-tampered.exe"), &tampered)?;
    // Truncated: the file ends in the middle of the certificate table.
    std::fs::write(
        out("amd64-truncated-table.exe"),
        &signed[..table + size / 2],
    )?;
    // Bad revision: WIN_CERTIFICATE.wRevision 0x0300.
    let mut revision = signed.clone();
    revision[table + 4..table + 6].copy_from_slice(&0x0300u16.to_le_bytes());
    std::fs::write(out("amd64-bad-revision.exe"), &revision)?;
    // Garbage PKCS#7: the DER replaced by noise of the same length.
    let mut garbage = signed;
    for (i, b) in garbage[table + 8..table + size].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(out("amd64-garbage-pkcs7.exe"), &garbage)?;
    Ok(())
}
