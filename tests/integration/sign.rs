//! `pegate sign` from the command line: a signature every verifier accepts, and every bad
//! input of issue 24 (item 5) refused with exit 2, a message naming the file and the cause,
//! the input byte-identical afterwards (by SHA-256) and no temporary file left beside it.

use std::path::{Path, PathBuf};

use super::{pegate, root, transcript};

#[path = "../../crates/pegate-sign/tests/support/mod.rs"]
mod support;

use support::{Kind, Pki, Usage};

fn unsigned(dir: &Path) -> PathBuf {
    let f = dir.join("app.exe");
    std::fs::copy(root().join("fixtures/authenticode/amd64-unsigned.exe"), &f).unwrap();
    f
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn sign_in_place_then_append_and_verify() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("cli", Kind::Rsa(2048), Usage::CodeSigning);
    let dir = tempfile::tempdir().unwrap();
    let file = unsigned(dir.path());
    let out = pegate()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--cert")
        .arg(pki.ca_pem())
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.starts_with("signed ") && stdout.contains("Sha256 image hash"),
        "{stdout}"
    );
    assert_eq!(listing(dir.path()), ["app.exe"], "no temporary file left");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(
            mode & 0o111,
            0o111,
            "the executable bits survive the replacement"
        );
    }
    support::pegate_ok(&file, &pki.ca_pem());
    let out = pegate()
        .args(["sign", "--append", "--digest", "sha512"])
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let r = support::pegate_ok(&file, &pki.ca_pem());
    assert_eq!(r.signatures.len(), 2);
    if support::linux_oracles() {
        support::osslsigncode_ok(&file, &pki.ca_pem(), None);
    }
}

/// A PKCS#12 file with its chain and an encrypted PKCS#8 PEM key, passwords from a file and
/// from PEGATE_SIGN_PASSWORD.
#[test]
fn pkcs12_and_encrypted_keys_with_passwords() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("p12", Kind::P256, Usage::CodeSigning);
    let k = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&key).unwrap()).unwrap();
    let c = openssl::x509::X509::from_pem(&std::fs::read(&cert).unwrap()).unwrap();
    let mut ca = openssl::stack::Stack::new().unwrap();
    ca.push(pki.ca.clone()).unwrap();
    let p12 = openssl::pkcs12::Pkcs12::builder()
        .name("signer")
        .pkey(&k)
        .cert(&c)
        .ca(ca)
        .build2("p12 secret")
        .unwrap();
    let p12_path = pki.path("signer.p12");
    std::fs::write(&p12_path, p12.to_der().unwrap()).unwrap();
    let enc = k
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"pem secret")
        .unwrap();
    let enc_path = pki.path("enc.key");
    std::fs::write(&enc_path, enc).unwrap();
    let pw = pki.path("pw.txt");
    std::fs::write(&pw, "p12 secret\n").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let file = unsigned(dir.path());
    let signed = dir.path().join("p12.exe");
    let out = pegate()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&p12_path)
        .arg("--password-file")
        .arg(&pw)
        .arg("--output")
        .arg(&signed)
        .env_remove("PEGATE_SIGN_PASSWORD")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let r = support::pegate_ok(&signed, &pki.ca_pem());
    assert_eq!(
        r.signatures[0].certificates.len(),
        2,
        "the PKCS#12's CA is embedded"
    );

    let signed2 = dir.path().join("enc.exe");
    let out = pegate()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&enc_path)
        .arg("--cert")
        .arg(&cert)
        .arg("--output")
        .arg(&signed2)
        .env("PEGATE_SIGN_PASSWORD", "pem secret")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    support::pegate_ok(&signed2, &pki.ca_pem());
    if support::linux_oracles() {
        support::osslsigncode_ok(&signed, &pki.ca_pem(), None);
        support::osslsigncode_ok(&signed2, &pki.ca_pem(), None);
    }
}

/// The file a case signs.
enum Input {
    /// The amd64 Go binary, unsigned.
    Unsigned,
    /// A fixture, by its path from the root.
    Fixture(&'static str),
    /// The amd64 Go binary cut in half.
    Truncated,
}

impl Input {
    fn make(&self, dir: &Path) -> PathBuf {
        match self {
            Input::Unsigned => unsigned(dir),
            Input::Fixture(rel) => {
                let to = dir.join(Path::new(rel).file_name().unwrap());
                std::fs::copy(root().join(rel), &to).unwrap();
                to
            }
            Input::Truncated => {
                let to = dir.join("truncated.exe");
                let b =
                    std::fs::read(root().join("fixtures/authenticode/amd64-unsigned.exe")).unwrap();
                std::fs::write(&to, &b[..b.len() / 2]).unwrap();
                to
            }
        }
    }
}

/// One bad input: how to make it, and what the message must say.
struct Case {
    name: &'static str,
    /// The file to sign, made in the directory.
    file: Input,
    /// Arguments after `sign FILE`.
    args: Vec<std::ffi::OsString>,
    /// Environment to set.
    env: Vec<(&'static str, String)>,
    /// Words the error must contain besides the file name.
    says: &'static [&'static str],
}

#[test]
fn bad_inputs_exit_2_and_change_nothing() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("good", Kind::Rsa(2048), Usage::CodeSigning);
    let (other_cert, _) = pki.leaf("other", Kind::Rsa(2048), Usage::CodeSigning);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (old_cert, old_key) = pki.leaf_valid(
        "expired",
        Kind::P256,
        Usage::CodeSigning,
        now - 10 * 86_400,
        now - 86_400,
    );
    let (new_cert, new_key) = pki.leaf_valid(
        "future",
        Kind::P256,
        Usage::CodeSigning,
        now + 86_400,
        now + 10 * 86_400,
    );
    let (tls_cert, tls_key) = pki.leaf("tls", Kind::Rsa(2048), Usage::ServerAuth);
    // An encrypted key and a wrong password.
    let k = openssl::pkey::PKey::private_key_from_pem(&std::fs::read(&key).unwrap()).unwrap();
    let enc_key = pki.path("enc.key");
    std::fs::write(
        &enc_key,
        k.private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"right")
            .unwrap(),
    )
    .unwrap();
    let wrong_pw = pki.path("wrong.txt");
    std::fs::write(&wrong_pw, "wrong\n").unwrap();
    // A TSA that is down (a port nobody listens on) and one that never answers.
    let down = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let slow = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let slow_port = slow.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in slow.incoming() {
            held.push(s); // accepted, never answered
        }
    });

    let os = |s: &str| std::ffi::OsString::from(s);
    let key_cert = |k: &Path, c: &Path| vec![os("--key"), k.into(), os("--cert"), c.into()];
    let good = key_cert(&key, &cert);
    let with = |mut base: Vec<std::ffi::OsString>, more: &[&str]| {
        base.extend(more.iter().map(|s| os(s)));
        base
    };
    let mut cases = vec![
        Case {
            name: "wrong password",
            file: Input::Unsigned,
            args: {
                let mut a = key_cert(&enc_key, &cert);
                a.push(os("--password-file"));
                a.push(wrong_pw.clone().into());
                a
            },
            env: vec![],
            says: &["enc.key", "wrong password"],
        },
        Case {
            name: "encrypted key, no password",
            file: Input::Unsigned,
            args: key_cert(&enc_key, &cert),
            env: vec![],
            says: &["enc.key", "--password-file or PEGATE_SIGN_PASSWORD"],
        },
        Case {
            name: "key does not match the certificate",
            file: Input::Unsigned,
            args: key_cert(&key, &other_cert),
            env: vec![],
            says: &["does not match", "other.pem"],
        },
        Case {
            name: "expired certificate",
            file: Input::Unsigned,
            args: key_cert(&old_key, &old_cert),
            env: vec![],
            says: &["expired"],
        },
        Case {
            name: "not yet valid certificate",
            file: Input::Unsigned,
            args: key_cert(&new_key, &new_cert),
            env: vec![],
            says: &["not valid before"],
        },
        Case {
            name: "no code-signing EKU with --strict",
            file: Input::Unsigned,
            args: with(key_cert(&tls_key, &tls_cert), &["--strict"]),
            env: vec![],
            says: &["no code-signing extended key usage"],
        },
        Case {
            name: "TSA down",
            file: Input::Unsigned,
            args: with(
                good.clone(),
                &["--timestamp", &format!("http://127.0.0.1:{down}/")],
            ),
            env: vec![],
            says: &["app.exe", "no timestamp", "cannot connect"],
        },
        Case {
            name: "TSA too slow",
            file: Input::Unsigned,
            args: with(
                good.clone(),
                &[
                    "--timestamp",
                    &format!("http://127.0.0.1:{slow_port}/"),
                    "--timestamp-timeout",
                    "1",
                ],
            ),
            env: vec![],
            says: &["app.exe", "no answer within 1 s"],
        },
        Case {
            name: "not a PE file",
            file: Input::Fixture("fixtures/pe/err/text.txt"),
            args: good.clone(),
            env: vec![],
            says: &["text.txt", "not a PE file"],
        },
        Case {
            name: "truncated PE",
            file: Input::Truncated,
            args: good.clone(),
            env: vec![],
            says: &["truncated.exe", "truncated"],
        },
        Case {
            name: "security directory outside the file",
            file: Input::Fixture("fixtures/pe/loader/cert-table-outside-file.exe"),
            args: good.clone(),
            env: vec![],
            says: &["cert-table-outside-file.exe", "outside the file"],
        },
        Case {
            name: "already signed",
            file: Input::Fixture("fixtures/authenticode/amd64-signed.exe"),
            args: good.clone(),
            env: vec![],
            says: &[
                "amd64-signed.exe",
                "already signed",
                "--append",
                "--replace",
            ],
        },
        Case {
            name: "bad SOURCE_DATE_EPOCH",
            file: Input::Unsigned,
            args: good.clone(),
            env: vec![("SOURCE_DATE_EPOCH", "yesterday".to_owned())],
            says: &["SOURCE_DATE_EPOCH"],
        },
    ];
    if cfg!(unix) {
        // Root may write where a mode bit forbids it; sysfs refuses new files even to root.
        cases.push(Case {
            name: "read-only directory",
            file: Input::Unsigned,
            args: with(good.clone(), &["--output", "/sys/pegate-signed.exe"]),
            env: vec![],
            says: &["/sys/pegate-signed.exe", "cannot write"],
        });
    } else {
        eprintln!(
            "read-only directory case skipped on Windows: no directory refuses an administrator's files there"
        );
    }
    for case in cases {
        let dir = tempfile::tempdir().unwrap();
        let file = case.file.make(dir.path());
        let before = support::sha256(&file);
        let listed = listing(dir.path());
        let mut cmd = pegate();
        cmd.arg("sign")
            .arg(&file)
            .args(&case.args)
            .env_remove("PEGATE_SIGN_PASSWORD");
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        let text = transcript(&out);
        assert_eq!(out.status.code(), Some(2), "{}: {text}", case.name);
        let stderr = String::from_utf8_lossy(&out.stderr);
        eprintln!("{}: {}", case.name, stderr.trim());
        let name = file.file_name().unwrap().to_string_lossy();
        assert!(
            stderr.contains(&*name),
            "{}: names the file: {stderr}",
            case.name
        );
        for word in case.says {
            assert!(
                stderr.contains(word),
                "{}: says {word:?}: {stderr}",
                case.name
            );
        }
        assert!(
            !stderr.contains("PRIVATE KEY"),
            "{}: key material printed",
            case.name
        );
        assert_eq!(
            support::sha256(&file),
            before,
            "{}: input changed",
            case.name
        );
        assert_eq!(
            listing(dir.path()),
            listed,
            "{}: files left behind",
            case.name
        );
    }
}

/// Without --strict a certificate lacking the code-signing EKU is a warning, not an error.
#[test]
fn no_code_signing_eku_warns() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("tls", Kind::Rsa(2048), Usage::ServerAuth);
    let dir = tempfile::tempdir().unwrap();
    let file = unsigned(dir.path());
    let out = pegate()
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("pegate: warning: signer certificate CN=pegate-sign test tls"),
        "{}",
        transcript(&out)
    );
}

/// A full disk: the file size limit (`ulimit -f`, with SIGXFSZ ignored so the write fails
/// with EFBIG instead of killing pegate) stops the write; the input and its directory are as
/// they were.
#[cfg(unix)]
#[test]
fn a_full_disk_changes_nothing() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("disk", Kind::Rsa(2048), Usage::CodeSigning);
    let dir = tempfile::tempdir().unwrap();
    let file = unsigned(dir.path());
    let before = support::sha256(&file);
    let out = std::process::Command::new("sh")
        .args(["-c", "trap '' XFSZ; ulimit -f 200; exec \"$@\"", "sh"])
        .arg(env!("CARGO_BIN_EXE_pegate"))
        .arg("sign")
        .arg(&file)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("app.exe") && stderr.contains("cannot write"),
        "{stderr}"
    );
    assert_eq!(support::sha256(&file), before);
    assert_eq!(listing(dir.path()), ["app.exe"]);
}

/// A key made on a SoftHSM token (RSA 2048 and ECDSA P-256, generated by the token through
/// OpenSC's pkcs11-tool, sensitive and never extractable) signs through a `pkcs11:` URI; the
/// signature verifies with osslsigncode, signify and pegate; a wrong PIN is exit 2 with the
/// PIN kept out of the message. The token lives in a temporary SOFTHSM2_CONF.
#[cfg(unix)]
#[test]
fn a_key_on_a_softhsm_token() {
    const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
    let pki = Pki::new();
    let hsm = tempfile::tempdir().unwrap();
    std::fs::create_dir(hsm.path().join("tokens")).unwrap();
    let conf = hsm.path().join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            hsm.path().join("tokens").display()
        ),
    )
    .unwrap();
    let tool = |args: &[&str]| {
        let mut cmd = std::process::Command::new(args[0]);
        cmd.args(&args[1..]).env("SOFTHSM2_CONF", &conf);
        let (ok, text) = support::run(&mut cmd);
        assert!(ok, "{text}");
        text
    };
    tool(&[
        "softhsm2-util",
        "--init-token",
        "--free",
        "--label",
        "pegate",
        "--pin",
        "1234",
        "--so-pin",
        "5678",
    ]);
    let p11 = ["pkcs11-tool", "--module", MODULE, "--token-label", "pegate"];
    let dir = tempfile::tempdir().unwrap();
    for (id, label, key_type) in [("01", "rsa", "rsa:2048"), ("02", "ec", "EC:prime256v1")] {
        tool(
            &[
                &p11[..],
                &[
                    "--login",
                    "--pin",
                    "1234",
                    "--keypairgen",
                    "--key-type",
                    key_type,
                    "--label",
                    label,
                    "--id",
                    id,
                ],
            ]
            .concat(),
        );
        let public = hsm.path().join(format!("{label}.der"));
        let public_s = public.to_str().unwrap();
        tool(
            &[
                &p11[..],
                &[
                    "--read-object",
                    "--type",
                    "pubkey",
                    "--id",
                    id,
                    "-o",
                    public_s,
                ],
            ]
            .concat(),
        );
        let listing = tool(
            &[
                &p11[..],
                &[
                    "--login",
                    "--pin",
                    "1234",
                    "--list-objects",
                    "--type",
                    "privkey",
                ],
            ]
            .concat(),
        );
        assert!(
            listing.contains("never extractable"),
            "the key stays on the token: {listing}"
        );
        let public =
            openssl::pkey::PKey::public_key_from_der(&std::fs::read(&public).unwrap()).unwrap();
        let cert = support::cert_for_public(
            &pki,
            &format!("pegate-sign test hsm {label}"),
            &public,
            Usage::CodeSigning,
        );
        let cert_path = pki.path(&format!("hsm-{label}.pem"));
        std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();

        let file = dir.path().join(format!("{label}.exe"));
        std::fs::copy(
            root().join("fixtures/authenticode/amd64-unsigned.exe"),
            &file,
        )
        .unwrap();
        let uri = format!("pkcs11:token=pegate;object={label}?module-path={MODULE}");
        let pin = hsm.path().join("pin.txt");
        std::fs::write(&pin, "1234\n").unwrap();
        let out = pegate()
            .arg("sign")
            .arg(&file)
            .arg("--key")
            .arg(&uri)
            .arg("--password-file")
            .arg(&pin)
            .arg("--cert")
            .arg(&cert_path)
            .arg("--cert")
            .arg(pki.ca_pem())
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
        support::pegate_ok(&file, &pki.ca_pem());
        support::osslsigncode_ok(&file, &pki.ca_pem(), None);
        support::signify_ok(&[&file], &pki.ca_pem());

        // A wrong PIN in the URI: exit 2, the PIN not echoed, the file unchanged.
        let before = support::sha256(&file);
        let out = pegate()
            .args(["sign", "--replace"])
            .arg(&file)
            .arg("--key")
            .arg(format!("{uri}&pin-value=9999"))
            .arg("--cert")
            .arg(&cert_path)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", transcript(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("login failed") && stderr.contains(&format!("{label}.exe")),
            "{stderr}"
        );
        assert!(
            !stderr.contains("9999") && stderr.contains("pin-value=***"),
            "{stderr}"
        );
        assert_eq!(support::sha256(&file), before);
    }
}

/// `pegate build --sign`: each artifact is signed before checksums.txt is written, so the sums
/// are the signed files'; checksums.authenticode.txt holds the image hash each signature covers.
#[test]
fn build_sign_signs_before_the_checksums() {
    if super::go_build_fails_here() {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.leaf("build", Kind::Rsa(2048), Usage::CodeSigning);
    let out = tempfile::tempdir().unwrap();
    let run = super::build_hello(out.path())
        .args([
            "--target",
            "windows/amd64",
            "--target",
            "windows/386",
            "--variant",
            "console",
        ])
        .arg("--sign")
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--cert")
        .arg(pki.ca_pem())
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", transcript(&run));
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    let images = std::fs::read_to_string(out.path().join("checksums.authenticode.txt")).unwrap();
    assert_eq!(sums.lines().count(), 2, "{sums}");
    assert_eq!(images.lines().count(), 2, "{images}");
    for line in sums.lines() {
        let (sum, name) = line.split_once("  ").unwrap();
        let file = out.path().join(name);
        assert_eq!(
            support::sha256(&file),
            sum,
            "checksums.txt lists the signed {name}"
        );
        let r = support::pegate_ok(&file, &pki.ca_pem());
        let image = images
            .lines()
            .find_map(|l| l.strip_suffix(&format!("  {name}")))
            .unwrap();
        assert_eq!(r.signatures[0].computed_digest.as_deref(), Some(image));
    }
}

/// `pegate build --sign` signs each cell as soon as it is built: a cell it cannot sign fails on
/// its own. Here the local TSA answers the first request and fails the next, so of two cells
/// one is signed and timestamped and the other fails, its line naming the file and the cause;
/// that unsigned file is removed and neither checksums file lists it, while the signed cell is
/// listed with its signed SHA-256. The TSA runs `openssl ts`, so this is a Linux test.
#[test]
fn build_sign_fails_only_the_cell_it_cannot_sign() {
    if super::go_build_fails_here() || !support::linux_oracles() {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.leaf("build", Kind::Rsa(2048), Usage::CodeSigning);
    let tsa = support::tsa(&pki, support::Tsa::GoodOnce);
    let out = tempfile::tempdir().unwrap();
    let run = super::build_hello(out.path())
        .args([
            "--target",
            "windows/amd64",
            "--target",
            "windows/386",
            "--variant",
            "console",
            "--sign",
            "--timestamp",
            &tsa,
            "--timestamp-timeout",
            "20",
        ])
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .arg("--cert")
        .arg(pki.ca_pem())
        .output()
        .unwrap();
    let shown = transcript(&run);
    assert_eq!(run.status.code(), Some(1), "a failed cell: {shown}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let fails: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert_eq!(fails.len(), 1, "{shown}");
    // `FAIL  <cell>: not signed: <file>: <cause>; the unsigned file was removed`
    let cell = fails[0]
        .strip_prefix("FAIL  ")
        .and_then(|l| l.split_once(':'))
        .unwrap()
        .0;
    let failed_exe = format!("hello-{cell}.exe");
    assert!(
        fails[0].contains("not signed") && fails[0].contains(&failed_exe),
        "names the file: {shown}"
    );
    assert!(fails[0].contains("500"), "names the TSA's answer: {shown}");
    assert!(
        fails[0].ends_with("the unsigned file was removed"),
        "{shown}"
    );
    assert!(!out.path().join(&failed_exe).exists(), "{shown}");
    let exes: Vec<String> = listing(out.path())
        .into_iter()
        .filter(|n| n.ends_with(".exe"))
        .collect();
    assert_eq!(exes.len(), 1, "only the signed artifact is left: {exes:?}");
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    let images = std::fs::read_to_string(out.path().join("checksums.authenticode.txt")).unwrap();
    let signed = out.path().join(&exes[0]);
    assert_eq!(
        sums,
        format!("{}  {}\n", support::sha256(&signed), exes[0]),
        "checksums.txt lists the signed file alone"
    );
    let r = support::pegate_ok(&signed, &pki.ca_pem());
    assert_eq!(
        images,
        format!(
            "{}  {}\n",
            r.signatures[0].computed_digest.as_deref().unwrap(),
            exes[0]
        )
    );
    support::osslsigncode_ok(&signed, &pki.ca_pem(), Some(&pki.ca_pem()));
}

/// `pegate build --sign --config FILE`: the `[sign]` table gives the key options, its relative
/// paths relative to FILE, and a flag wins over its key (`--digest sha384` over the file's
/// `digest = "sha256"`).
#[test]
fn build_sign_takes_its_key_from_the_sign_table() {
    if super::go_build_fails_here() {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.leaf("build", Kind::Rsa(2048), Usage::CodeSigning);
    let dir = key.parent().unwrap();
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    let config = dir.join("pegate-build.toml");
    std::fs::write(
        &config,
        format!(
            "[sign]\nkey = {:?}\ncert = [{:?}, {:?}]\ndigest = \"sha256\"\nstrict = true\n",
            name(&key),
            name(&cert),
            name(&pki.ca_pem())
        ),
    )
    .unwrap();
    let out = tempfile::tempdir().unwrap();
    let run = super::build_hello(out.path())
        .args(["--target", "windows/amd64", "--variant", "stripped"])
        .args(["--sign", "--digest", "sha384", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(0), "{}", transcript(&run));
    let sums = std::fs::read_to_string(out.path().join("checksums.txt")).unwrap();
    let (sum, exe) = sums.trim_end().split_once("  ").unwrap();
    let file = out.path().join(exe);
    assert_eq!(support::sha256(&file), sum);
    let r = support::pegate_ok(&file, &pki.ca_pem());
    assert_eq!(r.signatures.len(), 1);
    assert_eq!(
        r.signatures[0]
            .digest_algorithm
            .as_ref()
            .map(ToString::to_string)
            .as_deref(),
        Some("sha384")
    );
}

/// A `[sign]` table that cannot be used stops `pegate build --sign` before anything is built
/// (exit 2, no artifact), the message naming the file and the key; a password in it is refused
/// and never echoed. No Go runs, so this runs in the Windows suite too.
#[test]
fn a_bad_sign_table_stops_the_build_before_it_starts() {
    let pki = Pki::new();
    let (cert, key) = pki.leaf("build", Kind::Rsa(2048), Usage::CodeSigning);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("pegate-build.toml");
    let toml_path = |p: &Path| format!("{:?}", p.display().to_string());
    for (table, words) in [
        (
            format!("key = {}\npassword = \"hunter2\"", toml_path(&key)),
            vec!["[sign] password:", "password-file", "PEGATE_SIGN_PASSWORD"],
        ),
        (
            "digest = \"md5\"".to_owned(),
            vec!["not a build configuration", "md5", "sha256"],
        ),
        (
            format!(
                "key = {}\ncert = {}\ntimestamp = \"https://tsa.example/\"",
                toml_path(&key),
                toml_path(&cert)
            ),
            vec!["[sign] timestamp:", "http://"],
        ),
        (
            format!("cert = {}", toml_path(&cert)),
            vec!["--sign needs a key", "[sign]"],
        ),
        // A key file that is not there: named by its path, relative to the configuration.
        (
            "key = \"missing.pem\"".to_owned(),
            vec!["build --sign: ", "missing.pem"],
        ),
    ] {
        std::fs::write(&config, format!("[sign]\n{table}\n")).unwrap();
        let out = dir.path().join("dist");
        let run = super::build_hello(&out)
            .args(["--target", "windows/amd64", "--sign", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        let shown = transcript(&run);
        assert_eq!(run.status.code(), Some(2), "{table}: {shown}");
        let stderr = String::from_utf8_lossy(&run.stderr);
        if !words[0].starts_with("--sign") {
            assert!(
                stderr.contains(&config.display().to_string())
                    || stderr.contains(&dir.path().join("missing.pem").display().to_string()),
                "names the file: {shown}"
            );
        }
        for w in words {
            assert!(stderr.contains(w), "{table}: {w:?} in {shown}");
        }
        assert!(!stderr.contains("hunter2"), "{shown}");
        assert!(!out.exists(), "nothing was built: {shown}");
    }
}

fn sha256_hex(path: &Path) -> String {
    use sha2::Digest as _;
    hex_lower(&sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `checksum.match` links a signed file to a checksum taken before signing, and says how:
/// - `osslsigned.exe` is the fixture osslsigncode signed from `amd64-unsigned.exe` (an
///   independent signer: it set the PE checksum and appended the table), listed with the
///   unsigned file's plain SHA-256 — the GoReleaser mistake — and matched by rebuilding the
///   file as it was before signing;
/// - `pegate-signed.exe` was signed by `pegate sign`, listed with the image hash it printed
///   (what `checksums.authenticode.txt` holds), and matched by its image hash;
/// - `unsigned.exe` (an unsigned copy) still matches by its plain SHA-256;
/// - `tampered.exe` (the signed fixture with one byte of `.text` changed) matches nothing.
#[test]
fn gate_checksum_matches_signed_files_through_their_presigning_hashes() {
    let fixtures = root().join("fixtures/authenticode");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let pre = sha256_hex(&fixtures.join("amd64-unsigned.exe"));
    std::fs::copy(fixtures.join("amd64-signed.exe"), d.join("osslsigned.exe")).unwrap();
    std::fs::copy(fixtures.join("amd64-unsigned.exe"), d.join("unsigned.exe")).unwrap();
    std::fs::copy(fixtures.join("amd64-tampered.exe"), d.join("tampered.exe")).unwrap();
    let signed = d.join("pegate-signed.exe");
    let pki = Pki::new();
    let (cert, key) = pki.leaf("checksums", Kind::Rsa(2048), Usage::CodeSigning);
    let out = pegate()
        .arg("sign")
        .arg(fixtures.join("amd64-unsigned.exe"))
        .arg("--output")
        .arg(&signed)
        .arg("--key")
        .arg(&key)
        .arg("--cert")
        .arg(&cert)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", transcript(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let image = stdout
        .trim_end()
        .rsplit(' ')
        .next()
        .unwrap()
        .trim_end_matches(')')
        .to_owned();
    assert_eq!(image.len(), 64, "{stdout}");
    assert_ne!(
        image, pre,
        "the image hash is not the unsigned file's SHA-256"
    );

    std::fs::write(
        d.join("checksums.txt"),
        format!(
            "{pre}  osslsigned.exe\n{image}  pegate-signed.exe\n{pre}  unsigned.exe\n{pre}  tampered.exe\n"
        ),
    )
    .unwrap();
    std::fs::write(d.join("pegate.toml"), "checksums = \"checksums.txt\"\n").unwrap();
    let out = pegate()
        .arg("gate")
        .arg("--policy")
        .arg(d.join("pegate.toml"))
        .args(["--format", "json"])
        .arg(d.join("osslsigned.exe"))
        .arg(&signed)
        .arg(d.join("unsigned.exe"))
        .arg(d.join("tampered.exe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", transcript(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let checksum = |name: &str| {
        report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| {
                r["rule"] == "checksum.match" && r["artifact"].as_str().unwrap().ends_with(name)
            })
            .map(|r| {
                (
                    r["outcome"].as_str().unwrap().to_owned(),
                    r["message"].as_str().unwrap().to_owned(),
                )
            })
            .unwrap_or_else(|| panic!("no checksum.match for {name}: {report}"))
    };
    let (outcome, message) = checksum("osslsigned.exe");
    assert_eq!(outcome, "pass", "{message}");
    assert!(
        message.starts_with("matched via the image before signing"),
        "{message}"
    );
    let (outcome, message) = checksum("pegate-signed.exe");
    assert_eq!(outcome, "pass", "{message}");
    assert!(
        message.starts_with("matched via the Authenticode image hash"),
        "{message}"
    );
    let (outcome, message) = checksum("unsigned.exe");
    assert_eq!(
        (outcome.as_str(), message.as_str()),
        ("pass", "sha256 matches the checksums file")
    );
    let (outcome, message) = checksum("tampered.exe");
    assert_eq!(outcome, "fail", "{message}");
    assert!(
        message.starts_with("sha256 is ") && message.ends_with(&format!("says {pre}")),
        "{message}"
    );
}
