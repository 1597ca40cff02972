//! The wrapper around `authenticode-parser` (OpenSSL underneath): PKCS#7 DER in, pegate's own
//! types out. This module holds the crate's only `unsafe`: the library's one-time init.

use std::sync::OnceLock;

use authenticode_parser::{
    AuthenticodeVerify, Certificate, CounterSignatureVerify, InitializationToken,
};

use pegate_facts::{DigestAlgorithm, Recorded};

use crate::{CertificateInfo, SignatureProblem, Timestamp};

fn token() -> &'static InitializationToken {
    static TOKEN: OnceLock<InitializationToken> = OnceLock::new();
    TOKEN.get_or_init(|| {
        // Safety: initialization must not race other OpenSSL calls. The OnceLock makes every
        // caller of this crate wait for it, and pegate calls OpenSSL through this crate only
        // after the token exists (trust checks run after parsing).
        #[allow(unsafe_code)]
        unsafe {
            InitializationToken::new()
        }
    })
}

/// What authenticode-parser read from one signature (outer or nested).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) digest_algorithm: Option<Recorded<DigestAlgorithm>>,
    pub(crate) signed_digest: Option<Vec<u8>>,
    /// `None` when the PKCS#7 signature itself verifies; else why not.
    pub(crate) integrity_error: Option<SignatureProblem>,
    pub(crate) program_name: Option<String>,
    pub(crate) signer_chain: Vec<CertificateInfo>,
    pub(crate) certificates: Vec<CertificateInfo>,
    pub(crate) timestamps: Vec<Timestamp>,
}

fn text(b: Option<&[u8]>) -> Option<String> {
    b.map(|b| String::from_utf8_lossy(b).into_owned())
}

/// authenticode-parser's digest name (OpenSSL's long name), lowercase.
fn digest_name(b: Option<&[u8]>) -> Option<Recorded<DigestAlgorithm>> {
    text(b).map(|a| Recorded::read(&a.to_ascii_lowercase()))
}

fn cert(c: &Certificate<'_>) -> CertificateInfo {
    CertificateInfo {
        subject: text(c.subject()).unwrap_or_default(),
        issuer: text(c.issuer()).unwrap_or_default(),
        serial: text(c.serial()).unwrap_or_default(),
        not_before: c.not_before(),
        not_after: c.not_after(),
        sha256: c.sha256().map(hex::encode).unwrap_or_default(),
    }
}

/// The parser's verdict as a problem; `None` when the signature is valid.
fn integrity_problem(v: AuthenticodeVerify) -> Option<SignatureProblem> {
    Some(match v {
        AuthenticodeVerify::Valid => return None,
        AuthenticodeVerify::CantParse => SignatureProblem::CantParse,
        AuthenticodeVerify::NoSignerCert => SignatureProblem::NoSignerCert,
        AuthenticodeVerify::DigestMissing => SignatureProblem::DigestMissing,
        AuthenticodeVerify::InternalError => SignatureProblem::InternalError,
        AuthenticodeVerify::NoSignerInfo => SignatureProblem::NoSignerInfo,
        AuthenticodeVerify::WrongPkcs7Type => SignatureProblem::WrongPkcs7Type,
        AuthenticodeVerify::BadContent => SignatureProblem::BadContent,
        AuthenticodeVerify::Invalid => SignatureProblem::Invalid,
        AuthenticodeVerify::WrongFileDigest => SignatureProblem::WrongFileDigest,
        AuthenticodeVerify::UnknownAlgorithm => SignatureProblem::UnknownAlgorithm,
    })
}

/// Parses one PKCS#7 SignedData (nested signatures come back after it, in order);
/// `None` when the bytes are not PKCS#7 at all.
pub(crate) fn parse(der: &[u8]) -> Option<Vec<Parsed>> {
    let array = authenticode_parser::parse(token(), der);
    // The C library leaves OpenSSL's errors in this thread's queue; drained here, so the
    // `openssl` crate's next failure on this thread (the trust check) reports its own errors.
    drop(openssl::error::ErrorStack::get());
    let array = array?;
    let out = array
        .signatures()
        .iter()
        .map(|sig| {
            let integrity_error = match sig.verify_flags() {
                Some(v) => integrity_problem(v),
                None => Some(SignatureProblem::UnknownState),
            };
            let signer = sig.signer();
            Parsed {
                digest_algorithm: digest_name(sig.digest_alg()),
                signed_digest: sig.digest().map(<[u8]>::to_vec),
                integrity_error,
                program_name: signer.as_ref().and_then(|s| text(s.program_name())),
                signer_chain: signer
                    .as_ref()
                    .map(|s| s.certificate_chain().iter().map(cert).collect())
                    .unwrap_or_default(),
                certificates: sig.certs().iter().map(cert).collect(),
                timestamps: sig
                    .countersigs()
                    .iter()
                    .map(|c| Timestamp {
                        time: c.sign_time(),
                        digest_algorithm: digest_name(c.digest_alg()),
                        valid: c.verify_flags() == Some(CounterSignatureVerify::Valid),
                        signer_chain: c.certificate_chain().iter().map(cert).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    Some(out)
}

/// authenticode-parser's summary of one certificate (DER): the parser is given a SignedData
/// that carries only this certificate, and its certificate list is read back. The fast path
/// (`fast/cert.rs`) summarises each certificate this way once, so its summaries are the parser's.
pub(crate) fn certificate_info(der: &[u8]) -> Option<CertificateInfo> {
    use crate::der::oid::{DATA, SIGNED_DATA};
    use crate::der::tlv::encode as tlv;
    let signed = [
        tlv(0x02, &[1]),
        tlv(0x31, &[]),
        tlv(0x30, &tlv(0x06, DATA)),
        tlv(0xa0, der),
        tlv(0x31, &[]),
    ]
    .concat();
    let content_info = tlv(
        0x30,
        &[tlv(0x06, SIGNED_DATA), tlv(0xa0, &tlv(0x30, &signed))].concat(),
    );
    let array = authenticode_parser::parse(token(), &content_info);
    drop(openssl::error::ErrorStack::get());
    match array?.signatures() {
        [sig] => match sig.certs() {
            [c] => Some(cert(c)),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(all(test, feature = "vendored-openssl", target_os = "linux"))]
mod tests {
    #![allow(clippy::unwrap_used)]

    /// With the vendored OpenSSL, authenticode-parser's C code must link the same static
    /// libcrypto as the `openssl` crate (its `-lcrypto` finds openssl-src's static library
    /// first), not pull the system's libcrypto.so in beside it: two copies would each keep their
    /// own global state, and the parser would run on the slower system version.
    #[test]
    fn one_libcrypto_and_it_is_the_vendored_one() {
        // Run the parser once, so that its code and its OpenSSL calls are linked and loaded.
        std::hint::black_box(super::parse(&[0x30, 0x03, 0x02, 0x01, 0x00]));
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(
            !maps.lines().any(|l| l.contains("libcrypto.so")),
            "a shared libcrypto is mapped:\n{maps}"
        );
        assert!(
            openssl::version::number() >= 0x3000_0000,
            "{}",
            openssl::version::version()
        );
    }
}
