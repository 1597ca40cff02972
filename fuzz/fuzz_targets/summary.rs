//! The file-reading paths against the in-memory ones on the same bytes: `inspect_path` (a 4 KiB
//! header prefix, then positioned reads of the load config, string table and, for the checksum,
//! the whole file) must give exactly the summary `summarize` gives over the whole file in
//! memory, `inspect_headers` the same headers, and both the same error when the bytes are not a
//! PE file. Nothing may panic or crash.
#![no_main]

#[path = "checks.rs"]
#[allow(dead_code)]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::summary(data));
