//! pegate-pe: a zero-copy, bounds-checked view over PE bytes ([`PeView`]) and the owned summary
//! built from it ([`PeSummary`]).
//!
//! The view validates only the headers and reads everything else lazily; the summary is built
//! once, at the edge, for printing, snapshots and policy. No input panics, loops, or allocates
//! memory sized by an untrusted field. This crate knows nothing of Go and does no I/O beyond
//! reading the byte ranges of a file it is asked to inspect.
//!
//! ```
//! let data = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/pe/ok/tiny-amd64-console.exe")).unwrap();
//! let view = pegate_pe::PeView::parse(&data).unwrap();
//! let summary = pegate_pe::summarize(&view);
//! assert_eq!(summary.headers.machine, pegate_pe::Machine::AMD64);
//! assert_eq!(summary.headers.subsystem.to_string(), "WINDOWS_CUI");
//! assert!(summary.headers.dll_characteristics.contains(pegate_pe::DllCharacteristics::DYNAMIC_BASE));
//! ```

mod checksum;
pub mod debug;
mod describe;
mod error;
pub mod fields;
mod file;
mod headers;
pub mod imports;
mod inspect;
mod problem;
mod summary;
mod text;
mod view;

pub use checksum::{Checksum, pe_checksum};
pub use describe::describe;
pub use error::Error;
pub use file::{read_full_at, read_range, with_headers};
pub use headers::PeHeaders;
pub use inspect::{InspectOptions, inspect_headers, inspect_path, inspect_path_with};
#[cfg(feature = "batch")]
pub use inspect::{inspect_headers_paths, inspect_paths};
/// The flag sets, from pegate-facts, also reachable as `pegate_pe::flags` (`pegate_pe::flags::Dll`).
pub use pegate_facts::flags;
pub use pegate_facts::{
    Characteristics, DllCharacteristics, Flags, GuardFlags, Machine, SectionCharacteristics,
    Subsystem,
};
pub use problem::Problem;
pub use summary::{
    ChecksumSummary, Directory, Extra, Overlay, PeSummary, Section, SecurityDirectorySummary,
    load_config_range, machine_name, string_table_range, subsystem_name, summarize,
    summarize_headers, summarize_with,
};
pub use text::{SectionName, Version};
pub use view::{
    DIRECTORY_LOAD_CONFIG, DIRECTORY_SECURITY, DataDirectory, PeView, SecurityDirectory,
};

/// A deterministic xorshift32 stream for the unit tests' generated inputs.
#[cfg(test)]
pub(crate) fn xorshift(mut x: u32) -> impl FnMut() -> u32 {
    move || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    }
}
