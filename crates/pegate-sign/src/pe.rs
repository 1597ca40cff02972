//! Where the signature goes in a PE file, and the bytes around it.
//!
//! The certificate table must be the last thing in the file and start on an 8-byte boundary
//! (PE format, "The Attribute Certificate Table"); each `WIN_CERTIFICATE` is 8-byte aligned,
//! its `dwLength` counting the header, the PKCS#7 and the zero padding after it (as signtool
//! and osslsigncode write it). The security directory entry holds the table's *file offset*
//! and size. Bytes added to align the table lie before it and are part of the image hash, so
//! they are hashed as zeros before they exist. The PE checksum is recomputed over the output.

use object::LittleEndian as LE;
use pegate_authenticode::table;
use pegate_pe::PeView;

use crate::Error;

/// What an input holds before signing.
#[derive(Debug)]
pub(crate) struct Layout<'a> {
    /// Bytes of the input kept: everything before the old certificate table, or all of it.
    pub(crate) keep: usize,
    /// Zero bytes after them, so that the table starts 8-aligned.
    pub(crate) pad: usize,
    /// The outer signature (the PKCS#7 of the first entry) of a signed input.
    pub(crate) signature: Option<&'a [u8]>,
    /// Offset of the security directory entry; the checksum field's.
    pub(crate) security_entry: usize,
    pub(crate) checksum_field: usize,
}

/// Finds the certificate table of `data` (a whole file) and what signing keeps of it.
pub(crate) fn layout<'a>(
    path: &std::path::Path,
    data: &'a [u8],
    view: &PeView<'_>,
) -> Result<Layout<'a>, Error> {
    let bad = |reason: String| Error::BadInput {
        path: path.to_path_buf(),
        reason,
    };
    let len = data.len();
    let security_entry = view.security_entry_offset().ok_or_else(|| {
        bad("the optional header has no security directory entry (NumberOfRvaAndSizes < 5)".into())
    })?;
    let checksum_field = view.checksum_field_offset();
    check_extent(view, len, security_entry, checksum_field).map_err(bad)?;
    let end_of_sections = view.end_of_sections();
    let Some(sd) = view.security_directory() else {
        return Ok(Layout {
            keep: len,
            pad: pad8(len),
            signature: None,
            security_entry,
            checksum_field,
        });
    };
    let start = sd.offset as usize;
    let end = start.saturating_add(sd.size as usize);
    if start >= len || end > len {
        return Err(bad(format!(
            "the security directory points at {start:#x}..{end:#x}, outside the file ({len:#x} bytes)"
        )));
    }
    if end != len {
        return Err(bad(format!(
            "the certificate table {start:#x}..{end:#x} is not at the end of the file ({len:#x} bytes)"
        )));
    }
    if (start as u64) < end_of_sections.max(u64::from(view.size_of_headers())) {
        return Err(bad(format!(
            "the certificate table at {start:#x} overlaps the headers or section data"
        )));
    }
    let table_bytes = data.get(start..end).unwrap_or_default();
    let signature = outer_pkcs7(table_bytes, start)
        .map_err(|why| bad(format!("the certificate table is damaged: {why}")))?;
    Ok(Layout {
        keep: start,
        pad: pad8(start),
        signature: Some(signature),
        security_entry,
        checksum_field,
    })
}

/// Whether the file holds what its headers declare: the fields signing patches (the security
/// directory entry, the checksum) and every section's raw data, unrounded (a file shorter than
/// that was cut).
fn check_extent(
    view: &PeView<'_>,
    len: usize,
    security_entry: usize,
    checksum_field: usize,
) -> Result<(), String> {
    let headers_end = security_entry
        .saturating_add(8)
        .max(checksum_field.saturating_add(4));
    if headers_end > len {
        return Err(format!(
            "the file ends at {len:#x}, inside its headers (they run to {headers_end:#x})"
        ));
    }
    let declared_end = view
        .sections()
        .iter()
        .filter(|s| s.size_of_raw_data.get(LE) != 0)
        .map(|s| {
            u64::from(s.pointer_to_raw_data.get(LE))
                .saturating_add(u64::from(s.size_of_raw_data.get(LE)))
        })
        .fold(u64::from(view.size_of_headers()), u64::max);
    if declared_end > len as u64 {
        return Err(format!(
            "truncated: the headers and sections declare data up to {declared_end:#x}, the file ends at {len:#x}"
        ));
    }
    Ok(())
}

/// The DER of the first PKCS#7 entry of the certificate table at file offset `start`, or why
/// there is none (the table walk's first problem).
fn outer_pkcs7(table_bytes: &[u8], start: usize) -> Result<&[u8], String> {
    let (entries, problems) = table::walk(table_bytes, start as u64);
    entries
        .iter()
        .find(|e| e.cert_type == table::PKCS_SIGNED_DATA)
        .and_then(|e| {
            let off = usize::try_from(e.offset)
                .ok()?
                .checked_sub(start)?
                .checked_add(8)?;
            let body =
                table_bytes.get(off..off.checked_add((e.length as usize).checked_sub(8)?)?)?;
            crate::der::read(body).map(|(t, _)| t.whole)
        })
        .ok_or_else(|| {
            problems
                .first()
                .map(ToString::to_string)
                .unwrap_or_else(|| "no PKCS#7 entry".to_owned())
        })
}

fn pad8(n: usize) -> usize {
    n.wrapping_neg() & 7
}

/// The `WIN_CERTIFICATE` entry for one PKCS#7: header, DER, zeros to 8 bytes.
pub(crate) fn entry(der: &[u8]) -> Result<Vec<u8>, Error> {
    let pad = pad8(der.len());
    let total = der.len().saturating_add(8).saturating_add(pad);
    let length = u32::try_from(total).map_err(|_| Error::TooLarge)?;
    let mut out = Vec::with_capacity(total);
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&0x0200u16.to_le_bytes()); // WIN_CERT_REVISION_2_0
    out.extend_from_slice(&table::PKCS_SIGNED_DATA.to_le_bytes());
    out.extend_from_slice(der);
    out.resize(total, 0);
    Ok(out)
}
