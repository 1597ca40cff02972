//! The PE view, the summary (with and without the whole-file checksum), the description and
//! the Go build-info reader on arbitrary bytes: nothing may panic, and the section and directory
//! tables of a view that parses are whole.
#![no_main]

#[path = "checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::pe_view(data));
