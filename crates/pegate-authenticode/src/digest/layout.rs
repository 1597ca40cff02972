//! Which bytes each method hashes: Windows' section order and the linear stream, both without
//! the `CheckSum` field and the security directory entry.
//!
//! Pure arithmetic over the headers, apart from the passes that read and hash the bytes.

use std::ops::Range;

use object::LittleEndian as LE;
use pegate_pe::PeView;

/// The byte ranges each method hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    pub(crate) windows: Vec<Range<u64>>,
    pub(crate) linear: Vec<Range<u64>>,
}

fn push(ranges: &mut Vec<Range<u64>>, r: Range<u64>) {
    if r.start >= r.end {
        return;
    }
    if let Some(last) = ranges.last_mut()
        && last.end == r.start
    {
        last.end = r.end;
        return;
    }
    ranges.push(r);
}

/// The ranges to hash for a file of `len` bytes whose certificate table starts at `table_start`
/// (`len` when there is none).
pub(crate) fn layout(view: &PeView<'_>, len: u64, table_start: u64) -> Layout {
    let end = table_start.min(len);
    let cks = view.checksum_field_offset() as u64;
    let mut excluded: Vec<Range<u64>> = Vec::with_capacity(2);
    excluded.push(cks..cks.saturating_add(4));
    if let Some(sd) = view.security_entry_offset() {
        excluded.push(sd as u64..(sd as u64).saturating_add(8));
    }
    excluded.sort_by_key(|r| r.start);
    // Everything from `from` to `to`, minus the excluded fields.
    let minus = |from: u64, to: u64, out: &mut Vec<Range<u64>>| {
        let mut at = from;
        for x in &excluded {
            if x.end <= at || x.start >= to {
                continue;
            }
            push(out, at..x.start.max(at));
            at = x.end.max(at);
        }
        push(out, at..to);
    };
    let mut linear = Vec::new();
    minus(0, end, &mut linear);

    let mut windows = Vec::new();
    let headers = u64::from(view.size_of_headers()).min(end);
    minus(0, headers, &mut windows);
    let mut sections: Vec<(u64, u64)> = view
        .sections()
        .iter()
        .map(|s| {
            (
                u64::from(s.pointer_to_raw_data.get(LE)),
                u64::from(s.size_of_raw_data.get(LE)),
            )
        })
        .filter(|&(_, size)| size != 0)
        .collect();
    sections.sort_unstable();
    let mut last_end = headers;
    for (start, size) in sections {
        let stop = start.saturating_add(size).min(end);
        // The spec hashes each section whole; a section overlapping the headers or a previous
        // section is hashed from where the stream already is (bytes are never hashed twice).
        let from = start.max(last_end);
        push(&mut windows, from..stop);
        last_end = last_end.max(stop);
    }
    push(&mut windows, last_end..end);
    Layout { windows, linear }
}
