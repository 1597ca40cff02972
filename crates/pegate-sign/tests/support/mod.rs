//! Shared by the signing tests: a throwaway PKI made with the openssl crate (root CA,
//! code-signing leaves, a TSA), and the oracles every signature is held to: osslsigncode,
//! Python's signify, sbverify and pegate's own verifier.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    dead_code,
    unreachable_pub
)]

use std::path::{Path, PathBuf};
use std::process::Command;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{HasPublic, PKey, PKeyRef, Private, Public};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};

/// The fixtures of pegate-authenticode (unsigned Go binaries, the signed shim).
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/authenticode")
}

/// Kinds of test keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Rsa(u32),
    P256,
    P384,
}

pub fn key(kind: Kind) -> PKey<Private> {
    match kind {
        Kind::Rsa(bits) => PKey::from_rsa(Rsa::generate(bits).unwrap()).unwrap(),
        Kind::P256 | Kind::P384 => {
            let nid = if kind == Kind::P256 {
                Nid::X9_62_PRIME256V1
            } else {
                Nid::SECP384R1
            };
            let group = EcGroup::from_curve_name(nid).unwrap();
            PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap()
        }
    }
}

/// What a leaf certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    CodeSigning,
    /// A TLS server certificate: no code-signing EKU.
    ServerAuth,
    TimeStamping,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A certificate for `key`, issued by `issuer` (self-signed when `None`), valid from
/// `from` to `to` (Unix seconds).
pub fn cert(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    usage: Option<Usage>,
    from: i64,
    to: i64,
) -> X509 {
    let signing_key = issuer.map_or(key, |(_, k)| k);
    build(
        cn,
        key,
        signing_key,
        issuer.map(|(c, _)| c),
        usage,
        from,
        to,
    )
}

/// A certificate for a public key alone (a key that lives on a token), issued by the CA.
pub fn cert_for_public(pki: &Pki, cn: &str, public: &PKeyRef<Public>, usage: Usage) -> X509 {
    let t = now();
    build(
        cn,
        public,
        &pki.ca_key,
        Some(&pki.ca),
        Some(usage),
        t - 86_400,
        t + 3650 * 86_400,
    )
}

fn build<T: HasPublic>(
    cn: &str,
    key: &PKeyRef<T>,
    signing_key: &PKeyRef<Private>,
    issuer_cert: Option<&X509>,
    usage: Option<Usage>,
    from: i64,
    to: i64,
) -> X509 {
    let issuer = issuer_cert.map(|c| (c, ()));
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", cn).unwrap();
    name.append_entry_by_text("O", "pegate-sign tests").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    let mut serial = BigNum::new().unwrap();
    serial
        .rand(64, openssl::bn::MsbOption::MAYBE_ZERO, false)
        .unwrap();
    b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
        .unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(issuer.map_or(name.as_ref(), |(c, _)| c.subject_name()))
        .unwrap();
    b.set_pubkey(key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(from).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(to).unwrap()).unwrap();
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
        .unwrap();
    b.append_extension(ski).unwrap();
    match usage {
        None => {
            b.append_extension(BasicConstraints::new().critical().ca().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .unwrap(),
            )
            .unwrap();
        }
        Some(u) => {
            b.append_extension(BasicConstraints::new().build().unwrap())
                .unwrap();
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .build()
                    .unwrap(),
            )
            .unwrap();
            let eku = match u {
                Usage::CodeSigning => ExtendedKeyUsage::new().code_signing().build(),
                Usage::ServerAuth => ExtendedKeyUsage::new().server_auth().build(),
                Usage::TimeStamping => ExtendedKeyUsage::new().critical().time_stamping().build(),
            };
            b.append_extension(eku.unwrap()).unwrap();
            let aki = AuthorityKeyIdentifier::new()
                .keyid(true)
                .build(&b.x509v3_context(issuer.map(|(c, _)| &**c), None))
                .unwrap();
            b.append_extension(aki).unwrap();
        }
    }
    b.sign(signing_key, MessageDigest::sha256()).unwrap();
    b.build()
}

/// A test PKI in a temporary directory: `ca.pem`, and per leaf `<name>.pem` + `<name>.key`.
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: X509,
    pub ca_key: PKey<Private>,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ca_key = key(Kind::Rsa(2048));
        let t = now();
        let ca = cert(
            "pegate-sign test root CA",
            &ca_key,
            None,
            None,
            t - 86_400,
            t + 3650 * 86_400,
        );
        std::fs::write(dir.path().join("ca.pem"), ca.to_pem().unwrap()).unwrap();
        Pki { dir, ca, ca_key }
    }

    pub fn ca_pem(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf `name` of `kind`, issued by the CA, valid from a day ago for ten years; writes
    /// `<name>.pem` and `<name>.key` (PKCS#8 PEM) and returns their paths.
    pub fn leaf(&self, name: &str, kind: Kind, usage: Usage) -> (PathBuf, PathBuf) {
        let t = now();
        self.leaf_valid(name, kind, usage, t - 86_400, t + 3650 * 86_400)
    }

    pub fn leaf_valid(
        &self,
        name: &str,
        kind: Kind,
        usage: Usage,
        from: i64,
        to: i64,
    ) -> (PathBuf, PathBuf) {
        let k = key(kind);
        let c = cert(
            &format!("pegate-sign test {name}"),
            &k,
            Some((&self.ca, &self.ca_key)),
            Some(usage),
            from,
            to,
        );
        let cert_path = self.path(&format!("{name}.pem"));
        let key_path = self.path(&format!("{name}.key"));
        std::fs::write(&cert_path, c.to_pem().unwrap()).unwrap();
        std::fs::write(&key_path, k.private_key_to_pem_pkcs8().unwrap()).unwrap();
        (cert_path, key_path)
    }
}

/// Runs a command; returns (success, stdout + stderr).
pub fn run(cmd: &mut Command) -> (bool, String) {
    let shown = format!("{cmd:?}");
    let out = cmd.output().unwrap_or_else(|e| panic!("run {shown}: {e}"));
    (
        out.status.success(),
        format!(
            "{shown}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// Whether the Linux oracles run here (they are Debian/PyPI tools; the Windows suite runs
/// pegate's own checks only).
pub fn linux_oracles() -> bool {
    if cfg!(windows) {
        eprintln!("osslsigncode, signify and sbverify are Linux tools here: skipped on Windows");
        false
    } else {
        true
    }
}

/// `osslsigncode verify` with the test CA (and TSA root) trusted must succeed.
#[track_caller]
pub fn osslsigncode_ok(file: &Path, ca: &Path, tsa_ca: Option<&Path>) -> String {
    let mut cmd = Command::new("osslsigncode");
    cmd.arg("verify")
        .arg("-in")
        .arg(file)
        .arg("-CAfile")
        .arg(ca);
    if let Some(t) = tsa_ca {
        cmd.arg("-TSA-CAfile").arg(t);
    }
    let (ok, out) = run(&mut cmd);
    assert!(ok, "osslsigncode rejects {}: {out}", file.display());
    assert!(out.contains("Signature verification: ok"), "{out}");
    if tsa_ca.is_some() {
        assert!(
            out.contains("Timestamp Server Signature verification: ok"),
            "{out}"
        );
        assert!(!out.contains("Timestamp is not available"), "{out}");
    }
    out
}

/// pegate's verifier with the test CA as trust: `signed-valid`, every signature's digest
/// matching; returns the report.
#[track_caller]
pub fn pegate_ok(file: &Path, ca: &Path) -> pegate_authenticode::SignatureReport {
    let opts = pegate_authenticode::VerifyOptions::default()
        .with_trust(pegate_authenticode::TrustStore::from_pem_file(ca).unwrap());
    let r = pegate_authenticode::verify_path(file, &opts).unwrap();
    assert_eq!(
        r.status,
        pegate_authenticode::Status::SignedValid,
        "{}: {r:#?}",
        file.display()
    );
    assert!(
        r.signatures
            .iter()
            .all(|s| s.digest_matches && s.error.is_none())
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    r
}

/// The Python that asks signify: every file given must verify with every signature
/// (`multi_verify_mode="all"`) against the CA bundle alone.
///
/// signify 0.9.3 imports oscrypto 1.3.0, whose libcrypto version pattern reads one digit per
/// part (`\d\.\d\.\d`) and so fails with "Error detecting the version of libcrypto" on OpenSSL
/// 3.0.10 and later; the script widens that one pattern (`\d+`) while oscrypto loads, and
/// changes nothing else.
const SIGNIFY: &str = r#"
import re, sys
_search = re.search
def _wide(pattern, string, *a, **k):
    if pattern == '\\b(\\d\\.\\d\\.\\d[a-z]*)\\b':
        pattern = '\\b(\\d+\\.\\d+\\.\\d+[a-z]*)\\b'
    return _search(pattern, string, *a, **k)
re.search = _wide
import oscrypto.asymmetric
re.search = _search
from signify.authenticode import AuthenticodeFile
from signify.x509 import Certificate, CertificateStore
with open(sys.argv[1], 'rb') as f:
    store = CertificateStore(Certificate.from_pems(f.read()), trusted=True)
failed = 0
for path in sys.argv[2:]:
    with open(path, 'rb') as f:
        pe = AuthenticodeFile.from_stream(f)
        result, error = pe.explain_verify(multi_verify_mode='all', trusted_certificate_store=store)
        count = len(list(pe.iter_embedded_signatures()))
        print(path, result, count, error)
        if error is not None:
            failed += 1
sys.exit(1 if failed else 0)
"#;

/// signify verifies every file; returns its output (one line per file with the count of
/// signatures it found).
#[track_caller]
pub fn signify_ok(files: &[&Path], ca: &Path) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg("-c").arg(SIGNIFY).arg(ca).args(files);
    let (ok, out) = run(&mut cmd);
    assert!(ok, "signify rejects: {out}");
    assert_eq!(
        out.matches("AuthenticodeVerificationResult.OK").count(),
        files.len(),
        "{out}"
    );
    out
}

/// sbverify --cert (the UEFI db check) must accept the image.
#[track_caller]
pub fn sbverify_ok(file: &Path, ca: &Path) {
    let (ok, out) = run(Command::new("sbverify").arg("--cert").arg(ca).arg(file));
    assert!(ok, "sbverify rejects {}: {out}", file.display());
}

/// SHA-256 of a file, hex.
pub fn sha256(path: &Path) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(std::fs::read(path).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How a test TSA answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tsa {
    /// An RFC 3161 reply from `openssl ts -reply`, signed by the test TSA certificate.
    Good,
    /// HTTP 200 with bytes that are no TimeStampResp.
    Garbage,
    /// HTTP 500.
    Fails,
    /// [`Tsa::Good`] for the first request, then [`Tsa::Fails`]: one file of a batch cannot be
    /// timestamped.
    GoodOnce,
}

/// A local RFC 3161 TSA on 127.0.0.1 (a thread answering HTTP POSTs with `openssl ts -reply`
/// and a TSA certificate issued by the test CA); returns its URL. It serves until the test
/// process ends.
pub fn tsa(pki: &Pki, mode: Tsa) -> String {
    use std::io::{Read, Write};
    let dir = pki.dir.path().to_path_buf();
    if !dir.join("tsa.pem").exists() {
        let (cert, key) = pki.leaf("tsa", Kind::Rsa(2048), Usage::TimeStamping);
        assert!(cert.ends_with("tsa.pem") && key.ends_with("tsa.key"));
        std::fs::write(dir.join("tsaserial"), "01\n").unwrap();
        std::fs::write(
            dir.join("tsa.cnf"),
            format!(
                "[tsa]\ndefault_tsa = tsa_config\n[tsa_config]\nserial = {}\ncrypto_device = builtin\n\
                 signer_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha1, sha256, sha384, sha512\n\
                 accuracy = secs:1\nordering = yes\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
                dir.join("tsaserial").display()
            ),
        )
        .unwrap();
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/tsa", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut s) = stream else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            let body = loop {
                let k = s.read(&mut buf).unwrap_or(0);
                if k == 0 {
                    break None;
                }
                req.extend_from_slice(&buf[..k]);
                if let Some(end) = req.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&req[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    if req.len() >= end + 4 + len {
                        break Some(req[end + 4..end + 4 + len].to_vec());
                    }
                }
            };
            let Some(body) = body else { continue };
            let mode = match mode {
                Tsa::GoodOnce if n == 0 => Tsa::Good,
                Tsa::GoodOnce => Tsa::Fails,
                other => other,
            };
            let (status, reply) = match mode {
                Tsa::Fails | Tsa::GoodOnce => ("500 Internal Server Error", b"no".to_vec()),
                Tsa::Garbage => ("200 OK", b"\x30\x03garbage".to_vec()),
                Tsa::Good => {
                    let q = dir.join(format!("q{n}-{}.tsq", std::process::id()));
                    let r = dir.join(format!("r{n}-{}.tsr", std::process::id()));
                    std::fs::write(&q, &body).unwrap();
                    let (ok, out) = run(Command::new("openssl")
                        .args(["ts", "-reply", "-config"])
                        .arg(dir.join("tsa.cnf"))
                        .arg("-queryfile")
                        .arg(&q)
                        .arg("-signer")
                        .arg(dir.join("tsa.pem"))
                        .arg("-inkey")
                        .arg(dir.join("tsa.key"))
                        .arg("-chain")
                        .arg(dir.join("ca.pem"))
                        .arg("-out")
                        .arg(&r));
                    assert!(ok, "{out}");
                    ("200 OK", std::fs::read(&r).unwrap())
                }
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                reply.len()
            );
            let _ = s.write_all(&reply);
        }
    });
    url
}
