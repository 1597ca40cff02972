//! The one error type of pegate-pe.

use std::path::PathBuf;

/// Why a PE view could not be built, or a file could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `MZ` at offset 0: not a PE file at all.
    #[error("not a PE file: no MZ signature at offset 0")]
    NoDosSignature,
    /// `e_lfanew` points at something other than `PE\0\0`.
    #[error("not a PE file: no PE signature at offset {offset:#x} (e_lfanew)")]
    NoPeSignature {
        /// Where the signature was expected.
        offset: u64,
    },
    /// The bytes end before a header structure does.
    #[error("truncated {what}: needs bytes {offset:#x}..{end:#x}, the file has {len:#x}")]
    Truncated {
        /// Which structure (`DOS header`, `section table`, ...).
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Where it ends.
        end: u64,
        /// How many bytes there are.
        len: u64,
    },
    /// The optional header magic is neither PE32 (0x10b) nor PE32+ (0x20b).
    #[error("unknown optional header magic {magic:#06x} at offset {offset:#x}")]
    BadOptionalMagic {
        /// The magic found.
        magic: u16,
        /// Its file offset.
        offset: u64,
    },
    /// The headers need bytes beyond those read from a longer file: read up to `end` and parse
    /// again ([`crate::with_headers`] does).
    #[error("{what} needs bytes {offset:#x}..{end:#x}, beyond the first {read:#x} bytes read")]
    BeyondRead {
        /// Which structure (`section table`, ...).
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Where it ends.
        end: u64,
        /// How many bytes were read.
        read: u64,
    },
    /// The headers reach further into the file than pegate reads for headers.
    #[error(
        "{what} needs bytes {offset:#x}..{end:#x}, past the {cap:#x} bytes pegate reads for headers (the file has {len:#x})"
    )]
    HeadersTooLong {
        /// Which structure.
        what: &'static str,
        /// Where it starts.
        offset: u64,
        /// Where it ends.
        end: u64,
        /// The cap on header bytes read.
        cap: u64,
        /// The file's length.
        len: u64,
    },
    /// Reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether this is an I/O failure (missing, vanished, unreadable file) rather than bad bytes.
    pub fn is_io(&self) -> bool {
        matches!(self, Error::Io { .. })
    }

    /// Whether the bytes are not a PE file at all (as opposed to a damaged one).
    pub fn is_not_pe(&self) -> bool {
        matches!(self, Error::NoDosSignature | Error::NoPeSignature { .. })
    }
}
