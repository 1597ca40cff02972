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
        .windows_build(pegate::facts::GoArch::Amd64, &cache.join("gocache"))
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
    // The floor: read the file, one SHA-256 pass, one RSA-3072 signature, write the file (and
    // fsync it, as pegate does: its output replaces the input atomically and durably).
    let floor_with = |input: &Path, fsync: bool| {
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
        if fsync {
            f.sync_all().unwrap();
        }
    };
    let floor = |input: &Path| floor_with(input, true);
    // osslsigncode does not fsync its output: its own floor does not either.
    let floor_no_fsync = |input: &Path| floor_with(input, false);

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
    g.bench_function("floor without fsync", |b| b.iter(|| floor_no_fsync(&small)));
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
    let load = || {
        std::fs::read_to_string("/proc/loadavg")
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|_| "unknown".to_owned())
    };
    for (file, rounds) in [(&small, rounds), (&big, rounds.div_ceil(4).max(3))] {
        // Interleaved rounds, so that load from elsewhere on the machine hits all four alike.
        let load_before = load();
        let mut samples: [Vec<Duration>; 4] = Default::default();
        for _ in 0..rounds {
            let fs: [&dyn Fn(&Path); 4] = [&floor, &floor_no_fsync, &pegate_sign, &osslsigncode];
            for (f, t) in fs.iter().zip(samples.iter_mut()) {
                let s = Instant::now();
                f(file);
                t.push(s.elapsed());
            }
        }
        let fastest: [Duration; 4] =
            std::array::from_fn(|i| samples[i].iter().copied().min().unwrap());
        let [t_floor, t_floor_nf, t_pegate, t_ossl] = samples.map(|mut v| {
            v.sort();
            v[v.len() / 2]
        });
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "\n== sign {} ({} bytes), {rounds} interleaved rounds; load average {load_before} before, {} after ==",
            file.display(),
            std::fs::metadata(file).unwrap().len(),
            load()
        );
        println!(
            "floor:                  {t_floor:>10.2?}  (read + SHA-256 + RSA-3072 + write + fsync); fastest {:.2?}",
            fastest[0]
        );
        println!(
            "floor without fsync:    {t_floor_nf:>10.2?}  (what osslsigncode does); fastest {:.2?}",
            fastest[1]
        );
        println!(
            "pegate sign_path:       {t_pegate:>10.2?}  {:.2}x the floor (target: at most 1.3x); fastest rounds {:.2}x",
            ratio(t_pegate, t_floor),
            ratio(fastest[2], fastest[0])
        );
        println!(
            "osslsigncode sign:      {t_ossl:>10.2?}  pegate is {:.2}x faster (target: at least 5x); fastest rounds {:.2}x",
            ratio(t_ossl, t_pegate),
            ratio(fastest[3], fastest[2])
        );
        println!(
            "osslsigncode vs floors: {:.2}x the floor without fsync (fastest {:.2}x), {:.2}x the floor with fsync (fastest {:.2}x): the most any signer that fsyncs can be faster than it",
            ratio(t_ossl, t_floor_nf),
            ratio(fastest[3], fastest[1]),
            ratio(t_ossl, t_floor),
            ratio(fastest[3], fastest[0])
        );
    }
}
