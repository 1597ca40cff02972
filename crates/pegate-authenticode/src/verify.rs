//! The steps behind the entry points: where the certificate table is, its signatures parsed
//! (fast path first) and judged against the trust store, the digests computed beside the parse
//! and compared, and the verdict.
//!
//! Kept apart from the crate root so that it holds the API (options, report types, entry
//! points) and this module the logic they share.

use pegate_pe::PeView;

use crate::{
    DigestAlgorithm, EntryProblem, Problem, Recorded, SignatureInfo, SignatureReport, Status,
    TrustError, TrustVerdict, VerifyOptions, der, digest, fast, pkcs7, table, trust,
};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// The signatures of a certificate table, parsed; digests not yet compared.
struct Parsed {
    signatures: Vec<(SignatureInfo, Option<Vec<u8>>)>,
    entries: Vec<table::Entry>,
    errors: Vec<Problem>,
}

fn parse_table(table: &[u8], base: u64, opts: &VerifyOptions) -> Parsed {
    let trust = opts.trust.as_ref();
    let (entries, mut errors) = table::walk(table, base);
    let mut signatures = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if entry.cert_type != table::PKCS_SIGNED_DATA {
            continue;
        }
        let data = table.get(entry.data.clone()).unwrap_or_default();
        let Some(der) = der::first_element(data) else {
            errors.push(Problem::entry(entry.offset, EntryProblem::NotDer));
            continue;
        };
        if let Err(e) = der::precheck(der) {
            errors.push(Problem::entry(entry.offset, e.into()));
            continue;
        }
        let Some(parsed) = fast::parse(der).or_else(|| pkcs7::parse(der)) else {
            errors.push(Problem::entry(entry.offset, EntryProblem::NotPkcs7));
            continue;
        };
        // authenticode-parser lists the outer signature, then the nested ones in order.
        let mut ders = vec![der];
        ders.extend(der::nested_signatures(der));
        for (k, p) in parsed.into_iter().enumerate() {
            let at = p
                .timestamps
                .iter()
                .find(|t| t.valid)
                .map(|t| t.time)
                .or(opts.at)
                .unwrap_or_else(now);
            let trust = trust.map(|store| TrustVerdict {
                at,
                result: match ders.get(k) {
                    Some(d) => trust::verify(store, d, at),
                    None => Err(TrustError::NestedNotLocated),
                },
            });
            signatures.push((
                SignatureInfo {
                    entry: i,
                    nested: k > 0,
                    digest_algorithm: p.digest_algorithm,
                    signed_digest: p.signed_digest.as_deref().map(hex::encode),
                    computed_digest: None,
                    digest_matches: false,
                    linear_digest_matches: None,
                    program_name: p.program_name,
                    signer_chain: p.signer_chain,
                    certificates: p.certificates,
                    timestamps: p.timestamps,
                    trust,
                    error: p.integrity_error,
                },
                p.signed_digest,
            ));
        }
    }
    Parsed {
        signatures,
        entries,
        errors,
    }
}

/// A signature's digest algorithm when it names one pegate computes the image hash with.
fn image_algorithm(name: Option<&Recorded<DigestAlgorithm>>) -> Option<DigestAlgorithm> {
    name.and_then(Recorded::known)
        .copied()
        .filter(|a| a.image_hash())
}

fn verdict(report: &SignatureReport, had_table: bool) -> Status {
    if !had_table {
        return Status::Unsigned;
    }
    if report.signatures.is_empty() || !report.errors.is_empty() {
        return Status::Error;
    }
    let unreadable = report.signatures.iter().any(|s| {
        s.signed_digest.is_none() || image_algorithm(s.digest_algorithm.as_ref()).is_none()
    });
    if unreadable {
        return Status::Error;
    }
    if report
        .signatures
        .iter()
        .any(|s| !s.digest_matches || s.error.is_some())
    {
        return Status::SignedInvalid;
    }
    if report
        .signatures
        .iter()
        .any(|s| s.trust.as_ref().is_some_and(TrustVerdict::trusted))
    {
        Status::SignedValid
    } else {
        Status::SignedUntrusted
    }
}

/// Where the certificate table is: (file offset, bytes present in the file, problems).
///
/// A table that starts at or past the end of the file is no signature: Windows, osslsigncode
/// ("No signature found") and signify ("does not contain a certificate table") ignore such a
/// directory, so the verdict is `unsigned` with the problem kept in the report's errors, where
/// a gate rule may still flag it. A table that starts inside the file and is cut short is a
/// signature that was meant, and stays an `error`.
pub(crate) fn table_bounds(view: &PeView<'_>, len: u64) -> Option<TableBounds> {
    let sd = view.security_directory()?;
    let start = u64::from(sd.offset);
    let end = start.saturating_add(u64::from(sd.size));
    let mut errors = Vec::new();
    let outside = start >= len;
    if outside {
        errors.push(Problem::TableOutsideFile {
            start,
            end,
            file_len: len,
        });
    } else if end > len {
        errors.push(Problem::TableTruncated {
            start,
            end,
            file_len: len,
        });
    }
    let mut present = end.min(len).saturating_sub(start);
    if present > MAX_TABLE {
        errors.push(Problem::TableCapped {
            start,
            end,
            read: MAX_TABLE,
        });
        present = MAX_TABLE;
    }
    Some(TableBounds {
        start,
        present,
        errors,
        outside,
    })
}

/// The most certificate table bytes read (64 MiB): real tables are a few KiB to a few hundred
/// KiB; past the cap the report says so.
const MAX_TABLE: u64 = 64 << 20;

/// The certificate table's place, as [`table_bounds`] finds it.
pub(crate) struct TableBounds {
    /// File offset.
    pub(crate) start: u64,
    /// Bytes of it in the file.
    pub(crate) present: u64,
    /// Problems with its place.
    errors: Vec<Problem>,
    /// Whether it lies wholly outside the file (no signature).
    pub(crate) outside: bool,
}

/// Everything after the table bytes are in hand: parse the signatures, hash the file in one
/// read (through `read`), compare and decide.
pub(crate) fn verify_with(
    view: &PeView<'_>,
    len: u64,
    table: &[u8],
    bounds: Option<TableBounds>,
    opts: &VerifyOptions,
    mut read_at: impl FnMut(u64, &mut [u8]) -> std::io::Result<usize>,
) -> std::io::Result<SignatureReport> {
    let had_table = bounds.as_ref().is_some_and(|b| !b.outside);
    let (base, table_start, mut errors) = match bounds {
        Some(b) => (b.start, b.start.min(len), b.errors),
        None => (0, len, Vec::new()),
    };
    let layout = digest::layout(view, len, table_start);
    let methods_differ = layout.windows != layout.linear;
    // Guess SHA-256 for the image hash so it starts with the read; the PKCS#7 parse (and trust
    // check) runs beside it on the helper and says whether the guess was enough.
    let guess: &[DigestAlgorithm] = if had_table {
        &[DigestAlgorithm::Sha256]
    } else {
        &[]
    };
    let parse = || parse_table(table, base, opts);
    let extras = digest::Extras {
        file_sha256: opts.file_sha256,
        // A signed file is read in full anyway: its checksum costs little beside the hash.
        checksum: (had_table || opts.checksum).then(|| view.checksum_field_offset()),
    };
    let (mut parsed, mut digests) = if len <= digest::ALONE {
        digest::alone(layout, guess, extras, len, parse, &mut read_at)?
    } else {
        digest::pipelined(layout, guess, extras, parse, &mut read_at)?
    };
    let mut missing: Vec<DigestAlgorithm> = parsed
        .signatures
        .iter()
        .filter_map(|(s, _)| image_algorithm(s.digest_algorithm.as_ref()))
        .filter(|a| !guess.contains(a))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if !missing.is_empty() {
        // Rare (a SHA-1 or SHA-384 signature): the layout is recomputed rather than cloned
        // on every verification for this case.
        let layout = digest::layout(view, len, table_start);
        let extra = digest::image_pass(layout, &missing, &mut read_at)?;
        digests.windows.extend(extra.windows);
        if let (Some(l), Some(extra)) = (digests.linear.as_mut(), extra.linear) {
            l.extend(extra);
        }
    }
    errors.append(&mut parsed.errors);
    Ok(finish(
        parsed.signatures,
        parsed.entries,
        errors,
        digests,
        methods_differ,
        had_table,
    ))
}

/// The PKCS#7 signatures of a certificate table that reach the parsers: what `parse_table`
/// parses, without its problems (for the fast path's checks).
pub(crate) fn parseable_signatures(table: &[u8]) -> impl Iterator<Item = &[u8]> {
    let (entries, _) = table::walk(table, 0);
    entries
        .into_iter()
        .filter(|e| e.cert_type == table::PKCS_SIGNED_DATA)
        .filter_map(|e| der::first_element(table.get(e.data)?))
        .filter(|der| der::precheck(der).is_ok())
}

pub(crate) fn io_failure_report(e: std::io::Error) -> SignatureReport {
    SignatureReport {
        status: Status::Error,
        signatures: Vec::new(),
        entries: Vec::new(),
        file_sha256: None,
        checksum: None,
        methods_differ: false,
        errors: vec![Problem::Read {
            reason: e.to_string(),
        }],
    }
}

pub(crate) fn slice_reader(
    data: &[u8],
) -> impl FnMut(u64, &mut [u8]) -> std::io::Result<usize> + '_ {
    move |pos: u64, buf: &mut [u8]| {
        let rest = usize::try_from(pos)
            .ok()
            .and_then(|p| data.get(p..))
            .unwrap_or_default();
        let n = rest.len().min(buf.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(..n), rest.get(..n)) {
            dst.copy_from_slice(src);
        }
        Ok(n)
    }
}

fn finish(
    signatures: Vec<(SignatureInfo, Option<Vec<u8>>)>,
    entries: Vec<table::Entry>,
    mut errors: Vec<Problem>,
    digests: digest::Digests,
    methods_differ: bool,
    had_table: bool,
) -> SignatureReport {
    let signatures = signatures
        .into_iter()
        .map(|(mut s, signed)| {
            let alg = image_algorithm(s.digest_algorithm.as_ref());
            if alg.is_none() && s.error.is_none() {
                // The verdict is `error` either way; the report says why, not only that.
                errors.push(match &s.digest_algorithm {
                    Some(name) => Problem::UnsupportedDigest {
                        entry: s.entry,
                        algorithm: name.clone(),
                    },
                    None => Problem::NoDigestAlgorithm { entry: s.entry },
                });
            }
            let computed = alg
                .and_then(|a| digests.windows.iter().find(|(x, _)| *x == a))
                .map(|(_, d)| d);
            s.computed_digest = computed.map(hex::encode);
            s.digest_matches = matches!((computed, &signed), (Some(c), Some(sd)) if c == sd);
            s.linear_digest_matches = digests.linear.as_ref().map(|lin| {
                let l = alg
                    .and_then(|a| lin.iter().find(|(x, _)| *x == a))
                    .map(|(_, d)| d);
                matches!((l, &signed), (Some(c), Some(sd)) if c == sd)
            });
            s
        })
        .collect();
    let mut report = SignatureReport {
        status: Status::Unsigned,
        signatures,
        entries,
        file_sha256: digests.file_sha256.map(hex::encode),
        checksum: digests.checksum,
        methods_differ,
        errors,
    };
    report.status = verdict(&report, had_table);
    report
}
