//! The certificate table walker and the PKCS#7 wrapper: arbitrary bytes as a certificate
//! table behind a valid PE header, and as a whole file. Nothing may panic or crash.
#![no_main]

#[path = "checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::authenticode(data));
