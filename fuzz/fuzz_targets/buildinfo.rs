//! The Go build-info reader on arbitrary bytes placed where it looks: the input is the raw data
//! of both the `.text` section (build ID) and the `.data` section (the blob, inline or pointer
//! format) of a fixed, well-formed PE32+ header, so every execution reaches the decoder rather
//! than dying in the PE parse. The same file is also read from disk (`read_path`, which reads
//! chunk by chunk): both must agree. Nothing may panic or crash.
#![no_main]

#[path = "checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::buildinfo(data));
