//! Signing a Go binary (about 2.5 MB) and a ~100 MB file: pegate's `sign_path` against
//! `osslsigncode sign` (a process, as users run it) and against the floor, the least any signer
//! must do: read the file, one SHA-256 pass, one RSA-3072 signature, write the file. Same keys,
//! same run, interleaved rounds; prints medians, fastest rounds and ratios.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    missing_docs
)]

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::Criterion;
use sha2::Digest as _;

/// hello (console, with DWARF), about 2.5 MB, built with the pinned Go.
fn hello(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = root.join("target").join("pegate-go");
    let tc = pegate::go::toolchain::provision(pegate::go::toolchain::DEFAULT_GO_VERSION, &cache)
        .unwrap();
    let exe = dir.join("hello.exe");
    let out = tc
        .windows_build("amd64", &cache.join("gocache"))
        .current_dir(root.join("fixtures/hello"))
        .arg("-o")
        .arg(&exe)
        .arg(".")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// A throwaway RSA-3072 key and self-signed code-signing certificate, as PEM files.
fn keys(
    dir: &Path,
) -> (
    PathBuf,
    PathBuf,
    openssl::pkey::PKey<openssl::pkey::Private>,
) {
    use openssl::x509::extension::ExtendedKeyUsage;
    let key = openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(3072).unwrap()).unwrap();
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_text("CN", "pegate sign bench")
        .unwrap();
    let name = name.build();
    let mut b = openssl::x509::X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&openssl::asn1::Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&openssl::asn1::Asn1Time::days_from_now(30).unwrap())
        .unwrap();
    b.append_extension(ExtendedKeyUsage::new().code_signing().build().unwrap())
        .unwrap();
    b.sign(&key, openssl::hash::MessageDigest::sha256())
        .unwrap();
    let cert = b.build();
    let (k, c) = (dir.join("k.pem"), dir.join("c.pem"));
    std::fs::write(&k, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    (k, c, key)
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let small = hello(dir.path());
    // ~100 MB: hello with a 98 MB overlay of non-repeating bytes (an installer-like payload).
    let big = dir.path().join("big.exe");
    {
        let mut data = std::fs::read(&small).unwrap();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        data.extend((0..98u64 << 20).map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        }));
        std::fs::write(&big, data).unwrap();
    }
    let (key_path, cert_path, key) = keys(dir.path());
    let signer =
        pegate::sign::FileSigner::open(&key_path, std::slice::from_ref(&cert_path), None).unwrap();
    let opts = pegate::sign::SignOptions::default();
    let out = dir.path().join("out.exe");

    let pegate_sign = |input: &Path| {
        std::fs::remove_file(&out).ok();
        black_box(pegate::sign::sign_path(input, Some(&out), &signer, &opts).unwrap());
    };
    let osslsigncode = |input: &Path| {
        std::fs::remove_file(&out).ok(); // it refuses to overwrite
        let o = std::process::Command::new("osslsigncode")
            .args(["sign", "-h", "sha256", "-certs"])
            .arg(&cert_path)
            .arg("-key")
            .arg(&key_path)
            .arg("-in")
            .arg(input)
            .arg("-out")
            .arg(&out)
            .output()
            .expect("osslsigncode is needed for this benchmark");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    let floor = |input: &Path| {
        std::fs::remove_file(&out).ok();
        let data = std::fs::read(input).unwrap();
        let digest = sha2::Sha256::digest(&data);
        let mut s =
            openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).unwrap();
        s.update(&digest).unwrap();
        let sig = s.sign_to_vec().unwrap();
        let mut f = std::fs::File::create(&out).unwrap();
        std::io::Write::write_all(&mut f, &data).unwrap();
        std::io::Write::write_all(&mut f, &sig).unwrap();
        f.sync_all().unwrap();
    };

    let mut c = Criterion::default()
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    let mut g = c.benchmark_group(format!(
        "sign a {:.1} MB Go binary",
        std::fs::metadata(&small).unwrap().len() as f64 / 1e6
    ));
    g.bench_function("floor (read + SHA-256 + RSA-3072 + write + fsync)", |b| {
        b.iter(|| floor(&small))
    });
    g.bench_function("pegate sign_path", |b| b.iter(|| pegate_sign(&small)));
    g.bench_function("osslsigncode sign (process)", |b| {
        b.iter(|| osslsigncode(&small))
    });
    g.finish();
    c.final_summary();

    let rounds: usize = std::env::var("PEGATE_BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21);
    for (file, rounds) in [(&small, rounds), (&big, rounds.div_ceil(4).max(3))] {
        // Interleaved rounds, so that load from elsewhere on the machine hits all three alike.
        let mut samples: [Vec<Duration>; 3] = Default::default();
        for _ in 0..rounds {
            let fs: [&dyn Fn(&Path); 3] = [&floor, &pegate_sign, &osslsigncode];
            for (f, t) in fs.iter().zip(samples.iter_mut()) {
                let s = Instant::now();
                f(file);
                t.push(s.elapsed());
            }
        }
        let fastest: [Duration; 3] =
            std::array::from_fn(|i| samples[i].iter().copied().min().unwrap());
        let [t_floor, t_pegate, t_ossl] = samples.map(|mut v| {
            v.sort();
            v[v.len() / 2]
        });
        println!(
            "\n== sign {} ({} bytes), {rounds} interleaved rounds ==",
            file.display(),
            std::fs::metadata(file).unwrap().len()
        );
        println!(
            "floor:               {t_floor:>10.2?}  (read + SHA-256 + RSA-3072 + write + fsync)"
        );
        println!(
            "pegate sign_path:    {t_pegate:>10.2?}  {:.2}x the floor (target: at most 1.3x); fastest rounds {:.2}x",
            t_pegate.as_secs_f64() / t_floor.as_secs_f64(),
            fastest[1].as_secs_f64() / fastest[0].as_secs_f64()
        );
        println!(
            "osslsigncode sign:   {t_ossl:>10.2?}  pegate is {:.1}x faster (target: at least 5x); fastest rounds {:.1}x",
            t_ossl.as_secs_f64() / t_pegate.as_secs_f64(),
            fastest[2].as_secs_f64() / fastest[1].as_secs_f64()
        );
    }
}
