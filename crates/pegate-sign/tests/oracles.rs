//! Every signature pegate-sign makes, held to verifiers no one here wrote: osslsigncode (the
//! test CA as `-CAfile`), Python's signify (the CA as its only trusted store), sbverify for the
//! EFI image, and pegate's own verifier. Keys and certificates are made in each test.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

mod support;

use std::path::{Path, PathBuf};

use pegate_sign::{Algorithm, Existing, FileSigner, SignOptions, sign_path};
use support::{Kind, Pki, Usage};

fn signer(pki: &Pki, name: &str, kind: Kind) -> FileSigner {
    let (cert, key) = pki.leaf(name, kind, Usage::CodeSigning);
    FileSigner::open(&key, &[cert, pki.ca_pem()], None).unwrap()
}

fn copy(fixture: &str, to: &Path) -> PathBuf {
    let dst = to.join(fixture);
    std::fs::copy(support::fixtures().join(fixture), &dst).unwrap();
    dst
}

/// RSA (2048, 3072, 4096) and ECDSA (P-256, P-384) keys, SHA-256/384/512, PE32+ (amd64,
/// arm64) and PE32 (386) Go binaries: each signed file verifies with osslsigncode, signify and
/// pegate.
#[test]
fn rsa_and_ecdsa_signatures_of_pe32_and_pe32plus_verify() {
    let pki = Pki::new();
    let out = tempfile::tempdir().unwrap();
    let mut cases: Vec<(&str, Kind, Algorithm)> = Vec::new();
    for kind in [Kind::Rsa(2048), Kind::P256, Kind::P384] {
        for alg in [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512] {
            cases.push(("amd64-unsigned.exe", kind, alg));
        }
    }
    cases.push(("amd64-unsigned.exe", Kind::Rsa(3072), Algorithm::Sha256));
    cases.push(("amd64-unsigned.exe", Kind::Rsa(4096), Algorithm::Sha256));
    cases.push(("386-unsigned.exe", Kind::Rsa(2048), Algorithm::Sha256));
    cases.push(("386-unsigned.exe", Kind::P256, Algorithm::Sha384));
    cases.push(("arm64-unsigned.exe", Kind::Rsa(2048), Algorithm::Sha512));
    let mut signed = Vec::new();
    for (i, (fixture, kind, alg)) in cases.iter().enumerate() {
        let s = signer(&pki, &format!("leaf{i}"), *kind);
        let output = out.path().join(format!("{i}-{kind:?}-{alg:?}-{fixture}"));
        let input = support::fixtures().join(fixture);
        let before = support::sha256(&input);
        let outcome = sign_path(
            &input,
            Some(&output),
            &s,
            &SignOptions::default().with_digest(*alg),
        )
        .unwrap();
        assert!(outcome.warnings.is_empty(), "{:?}", outcome.warnings);
        assert_eq!(
            support::sha256(&input),
            before,
            "--output leaves the input alone"
        );
        let r = support::pegate_ok(&output, &pki.ca_pem());
        assert_eq!(r.signatures.len(), 1);
        assert_eq!(
            r.signatures[0].computed_digest.as_deref(),
            Some(outcome.image_digest.as_str())
        );
        // The PE checksum written is the one computed over the output.
        let bytes = std::fs::read(&output).unwrap();
        let view = pegate_pe::PeView::parse(&bytes).unwrap();
        assert_eq!(
            view.stored_checksum(),
            pegate_pe::pe_checksum(&bytes, view.checksum_field_offset())
        );
        signed.push(output);
    }
    if support::linux_oracles() {
        for f in &signed {
            support::osslsigncode_ok(f, &pki.ca_pem(), None);
        }
        let files: Vec<&Path> = signed.iter().map(PathBuf::as_path).collect();
        support::signify_ok(&files, &pki.ca_pem());
    }
}

/// A file with an overlay whose length is not a multiple of 8: the overlay is hashed, zero
/// padding aligns the table, and every verifier agrees.
#[test]
fn a_file_with_an_unaligned_overlay() {
    let pki = Pki::new();
    let s = signer(&pki, "leaf", Kind::Rsa(2048));
    let out = tempfile::tempdir().unwrap();
    let file = copy("amd64-unsigned.exe", out.path());
    let mut bytes = std::fs::read(&file).unwrap();
    let original_len = bytes.len();
    bytes.extend_from_slice(b"overlay data!"); // 13 bytes
    std::fs::write(&file, &bytes).unwrap();
    sign_path(&file, None, &s, &SignOptions::default()).unwrap();
    let signed = std::fs::read(&file).unwrap();
    let view = pegate_pe::PeView::parse(&signed).unwrap();
    let sd = view.security_directory().unwrap();
    assert_eq!(sd.offset as usize, (original_len + 13).next_multiple_of(8));
    assert_eq!(&signed[original_len..original_len + 13], b"overlay data!");
    assert_eq!(sd.offset as usize + sd.size as usize, signed.len());
    assert_eq!(sd.size % 8, 0);
    support::pegate_ok(&file, &pki.ca_pem());
    if support::linux_oracles() {
        support::osslsigncode_ok(&file, &pki.ca_pem(), None);
        support::signify_ok(&[&file], &pki.ca_pem());
    }
}

/// `--append` nests a second signature (SHA-1 then SHA-256, the classic dual signing; then a
/// third, ECDSA SHA-384 from another signer); every verifier sees all of them valid.
#[test]
fn nested_signatures() {
    let pki = Pki::new();
    let rsa = signer(&pki, "rsa", Kind::Rsa(2048));
    let ec = signer(&pki, "ec", Kind::P384);
    let out = tempfile::tempdir().unwrap();
    let file = copy("amd64-unsigned.exe", out.path());
    sign_path(
        &file,
        None,
        &rsa,
        &SignOptions::default().with_digest(Algorithm::Sha1),
    )
    .unwrap();
    let append = SignOptions::default().with_existing(Existing::Append);
    sign_path(
        &file,
        None,
        &rsa,
        &append.clone().with_digest(Algorithm::Sha256),
    )
    .unwrap();
    let r = support::pegate_ok(&file, &pki.ca_pem());
    assert_eq!(r.signatures.len(), 2);
    sign_path(&file, None, &ec, &append.with_digest(Algorithm::Sha384)).unwrap();
    let r = support::pegate_ok(&file, &pki.ca_pem());
    let algs: Vec<_> = r
        .signatures
        .iter()
        .map(|s| (s.nested, s.digest_algorithm.as_ref().unwrap().to_string()))
        .collect();
    assert_eq!(
        algs,
        [
            (false, "sha1".to_owned()),
            (true, "sha256".to_owned()),
            (true, "sha384".to_owned())
        ]
    );
    assert_eq!(
        r.entries.len(),
        1,
        "nested signatures live in the one entry"
    );
    if support::linux_oracles() {
        let text = support::osslsigncode_ok(&file, &pki.ca_pem(), None);
        assert!(text.contains("Number of verified signatures: 3"), "{text}");
        let text = support::signify_ok(&[&file], &pki.ca_pem());
        assert!(
            text.contains(" 3 None"),
            "signify sees 3 signatures: {text}"
        );
    }
}

/// `--replace` drops osslsigncode's signature (with its timestamp and nested signature) and
/// leaves only pegate's.
#[test]
fn replace_drops_the_old_signatures() {
    let pki = Pki::new();
    let s = signer(&pki, "leaf", Kind::P256);
    let out = tempfile::tempdir().unwrap();
    let file = copy("amd64-nested.exe", out.path());
    let err = sign_path(&file, None, &s, &SignOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("--append") && msg.contains("--replace") && msg.contains("amd64-nested.exe"),
        "{msg}"
    );
    let replace = SignOptions::default().with_existing(Existing::Replace);
    sign_path(&file, None, &s, &replace).unwrap();
    let r = support::pegate_ok(&file, &pki.ca_pem());
    assert_eq!(r.signatures.len(), 1);
    assert!(
        r.signatures[0].signer_chain[0]
            .subject
            .contains("pegate-sign test leaf")
    );
    if support::linux_oracles() {
        let text = support::osslsigncode_ok(&file, &pki.ca_pem(), None);
        assert!(text.contains("Number of verified signatures: 1"), "{text}");
        support::signify_ok(&[&file], &pki.ca_pem());
    }
}

/// An EFI image (Debian's signed shim, re-signed with `--replace`): sbverify with the test
/// CA as the UEFI db accepts it, and so do osslsigncode and pegate.
#[test]
fn an_efi_image() {
    let pki = Pki::new();
    let s = signer(&pki, "uefi", Kind::Rsa(2048));
    let out = tempfile::tempdir().unwrap();
    let file = copy("shimx64.efi.signed", out.path());
    sign_path(
        &file,
        None,
        &s,
        &SignOptions::default().with_existing(Existing::Replace),
    )
    .unwrap();
    support::pegate_ok(&file, &pki.ca_pem());
    if support::linux_oracles() {
        support::sbverify_ok(&file, &pki.ca_pem());
        support::osslsigncode_ok(&file, &pki.ca_pem(), None);
    }
}

/// With a fixed signing time (SOURCE_DATE_EPOCH in the CLI) and an RSA key, the same input,
/// key and chain give the same bytes; another time gives other bytes.
#[test]
fn a_fixed_signing_time_gives_identical_bytes() {
    let pki = Pki::new();
    let s = signer(&pki, "leaf", Kind::Rsa(2048));
    let out = tempfile::tempdir().unwrap();
    let input = support::fixtures().join("386-unsigned.exe");
    let at = |t: i64, name: &str| {
        let o = out.path().join(name);
        sign_path(
            &input,
            Some(&o),
            &s,
            &SignOptions::default().with_signing_time(Some(t)),
        )
        .unwrap();
        std::fs::read(o).unwrap()
    };
    let a = at(1_700_000_000, "a.exe");
    let b = at(1_700_000_000, "b.exe");
    let c = at(1_700_000_001, "c.exe");
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_eq!(a.len(), c.len());
}

/// `--timestamp`: a TSA that answers garbage and one that fails are passed over, the local
/// TSA's token lands in the Microsoft RFC 3161 attribute, and osslsigncode (with the TSA's
/// root as `-TSA-CAfile`), signify and pegate accept the timestamp. The TSA runs `openssl ts`,
/// so this is a Linux test.
#[test]
fn rfc3161_timestamps_from_a_local_tsa() {
    if !support::linux_oracles() {
        return;
    }
    let pki = Pki::new();
    let good = support::tsa(&pki, support::Tsa::Good);
    let garbage = support::tsa(&pki, support::Tsa::Garbage);
    let fails = support::tsa(&pki, support::Tsa::Fails);
    let out = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (i, (kind, alg)) in [
        (Kind::Rsa(2048), Algorithm::Sha256),
        (Kind::P256, Algorithm::Sha384),
        (Kind::Rsa(3072), Algorithm::Sha512),
    ]
    .into_iter()
    .enumerate()
    {
        let s = signer(&pki, &format!("leaf{i}"), kind);
        let file = out.path().join(format!("{i}.exe"));
        let opts = SignOptions::default().with_digest(alg).with_timestamp(
            vec![garbage.clone(), fails.clone(), good.clone()],
            std::time::Duration::from_secs(20),
        );
        sign_path(
            &support::fixtures().join("amd64-unsigned.exe"),
            Some(&file),
            &s,
            &opts,
        )
        .unwrap();
        let r = support::pegate_ok(&file, &pki.ca_pem());
        let ts = &r.signatures[0].timestamps;
        assert_eq!(ts.len(), 1, "{ts:?}");
        assert!(ts[0].valid, "{ts:?}");
        support::osslsigncode_ok(&file, &pki.ca_pem(), Some(&pki.ca_pem()));
        files.push(file);
    }
    // A nested signature carries its own timestamp.
    let s = signer(&pki, "nest", Kind::Rsa(2048));
    let opts = SignOptions::default()
        .with_existing(Existing::Append)
        .with_timestamp(vec![good.clone()], std::time::Duration::from_secs(20));
    sign_path(&files[0], None, &s, &opts).unwrap();
    let r = support::pegate_ok(&files[0], &pki.ca_pem());
    assert_eq!(r.signatures.len(), 2);
    assert!(
        r.signatures
            .iter()
            .all(|s| s.timestamps.len() == 1 && s.timestamps[0].valid)
    );
    support::osslsigncode_ok(&files[0], &pki.ca_pem(), Some(&pki.ca_pem()));
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    support::signify_ok(&refs, &pki.ca_pem());
}

/// When every TSA fails (one answers garbage, one HTTP 500), signing is an error that lists
/// each one, and nothing is written. No `openssl ts` is needed: this runs in the Windows suite.
#[test]
fn every_tsa_failing_is_an_error_naming_each() {
    let pki = Pki::new();
    let garbage = support::tsa(&pki, support::Tsa::Garbage);
    let fails = support::tsa(&pki, support::Tsa::Fails);
    let out = tempfile::tempdir().unwrap();
    let s = signer(&pki, "leaf", Kind::Rsa(2048));
    let target = out.path().join("none.exe");
    let opts = SignOptions::default().with_timestamp(
        vec![garbage.clone(), fails.clone()],
        std::time::Duration::from_secs(20),
    );
    let err = sign_path(
        &support::fixtures().join("amd64-unsigned.exe"),
        Some(&target),
        &s,
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(&format!(
            "{garbage}: the answer is not an RFC 3161 TimeStampResp"
        )),
        "{err}"
    );
    assert!(err.contains(&format!("{fails}: HTTP 500")), "{err}");
    assert!(!target.exists());
}

/// The same input, RSA key, chain, description and signing time give osslsigncode's bytes
/// exactly: a signature, a nested SHA-384 one and a second nested SHA-512 one. Choices made to
/// agree with it, each allowed by the Authenticode format: the SpcPeImageData flags
/// `includeResources` (BIT STRING 07 80), an ASCII description as the SpcString `ascii` choice,
/// the sequenceNumber attribute on nested signatures, the certificates in DER SET OF order,
/// `dwLength` counting the padding. Without a description pegate writes an empty SpcSpOpusInfo
/// (as signtool does) where osslsigncode writes none.
/// (ECDSA signatures are randomised, so only RSA can be compared.)
#[test]
fn byte_identical_to_osslsigncode_sign() {
    if !support::linux_oracles() {
        return;
    }
    let pki = Pki::new();
    let (cert, key) = pki.leaf("cmp", Kind::Rsa(2048), Usage::CodeSigning);
    let chain = pki.path("chain.pem");
    let pem = [
        std::fs::read(&cert).unwrap(),
        std::fs::read(pki.ca_pem()).unwrap(),
    ]
    .concat();
    std::fs::write(&chain, pem).unwrap();
    let s = FileSigner::open(&key, &[cert.clone(), pki.ca_pem()], None).unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut theirs = support::fixtures().join("amd64-unsigned.exe");
    let mut ours = theirs.clone();
    for (i, (alg, name, nest)) in [
        ("sha256", Algorithm::Sha256, false),
        ("sha384", Algorithm::Sha384, true),
        ("sha512", Algorithm::Sha512, true),
    ]
    .into_iter()
    .enumerate()
    {
        let o = out.path().join(format!("osslsigncode-{i}.exe"));
        let mut cmd = std::process::Command::new("osslsigncode");
        cmd.arg("sign");
        if nest {
            cmd.arg("-nest");
        }
        cmd.args([
            "-h",
            alg,
            "-time",
            "1700000000",
            "-n",
            "pegate test",
            "-certs",
        ])
        .arg(&chain)
        .arg("-key")
        .arg(&key)
        .arg("-in")
        .arg(&theirs)
        .arg("-out")
        .arg(&o);
        let (ok, text) = support::run(&mut cmd);
        assert!(ok, "{text}");
        let p = out.path().join(format!("pegate-{i}.exe"));
        let opts = SignOptions::default()
            .with_digest(name)
            .with_signing_time(Some(1_700_000_000))
            .with_description(Some("pegate test".to_owned()))
            .with_existing(if nest {
                Existing::Append
            } else {
                Existing::Refuse
            });
        sign_path(&ours, Some(&p), &s, &opts).unwrap();
        assert!(
            std::fs::read(&o).unwrap() == std::fs::read(&p).unwrap(),
            "step {i} ({alg}): pegate's bytes differ from osslsigncode's"
        );
        theirs = o;
        ours = p;
    }
    support::pegate_ok(&ours, &pki.ca_pem());
}

/// A DLL (made here with MinGW: a C file with one export) signed with RSA and, nested, ECDSA:
/// osslsigncode, signify and pegate accept both.
#[test]
fn a_dll() {
    if !support::linux_oracles() {
        return;
    }
    let pki = Pki::new();
    let out = tempfile::tempdir().unwrap();
    let src = out.path().join("lib.c");
    std::fs::write(
        &src,
        "__declspec(dllexport) int answer(void) { return 42; }\n",
    )
    .unwrap();
    let dll = out.path().join("answer.dll");
    let (ok, text) = support::run(
        std::process::Command::new("x86_64-w64-mingw32-gcc")
            .arg("-shared")
            .arg("-o")
            .arg(&dll)
            .arg(&src),
    );
    assert!(ok, "{text}");
    let summary = pegate_pe::inspect_path(&dll, &Default::default()).unwrap();
    assert!(
        pegate_pe::describe(&summary).contains("DLL"),
        "{}",
        pegate_pe::describe(&summary)
    );
    sign_path(
        &dll,
        None,
        &signer(&pki, "rsa", Kind::Rsa(2048)),
        &SignOptions::default(),
    )
    .unwrap();
    let append = SignOptions::default().with_existing(Existing::Append);
    sign_path(&dll, None, &signer(&pki, "ec", Kind::P256), &append).unwrap();
    let r = support::pegate_ok(&dll, &pki.ca_pem());
    assert_eq!(r.signatures.len(), 2);
    support::osslsigncode_ok(&dll, &pki.ca_pem(), None);
    support::signify_ok(&[&dll], &pki.ca_pem());
}
