//! The certificate table walker and the PKCS#7 wrapper: arbitrary bytes as a certificate
//! table behind a valid PE header, and as a whole file. Nothing may panic or crash.
#![no_main]

use std::sync::OnceLock;

fn base() -> &'static [u8] {
    static BASE: OnceLock<Vec<u8>> = OnceLock::new();
    BASE.get_or_init(|| {
        std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/pe/ok/tiny-amd64-certtable.exe"))
            .expect("fixture")
    })
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pegate_authenticode::table::walk(data, 0);
    // The fixture's certificate table starts at 0x800: replace it with the input.
    let mut file = base()[..0x800].to_vec();
    file.extend_from_slice(data);
    let dir = 0x40 + 4 + 20 + 112 + 8 * 4;
    file[dir + 4..dir + 8].copy_from_slice(&(data.len() as u32).to_le_bytes());
    let _ = pegate_authenticode::verify_bytes(&file, &Default::default());
    let _ = pegate_authenticode::verify_bytes(data, &Default::default());
});
