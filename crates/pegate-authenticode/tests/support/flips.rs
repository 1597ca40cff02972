//! Deterministic damage to a signed file, shared by `verdicts.rs` and `schema.rs` (each includes
//! this file with `#[path]`), so both judge the same damaged copies.

/// `count` copies of `signed`, each with one byte of the certificate table's PKCS#7 (the table
/// at `start`, `size` bytes, past its 8-byte WIN_CERTIFICATE header) flipped, chosen by one
/// xorshift32 stream: (offset, bytes).
pub(crate) fn byte_flips(
    signed: &[u8],
    start: usize,
    size: usize,
    count: usize,
) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
    let mut x: u32 = 0x9e37_79b9;
    (0..count).map(move |_| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        let mut b = signed.to_vec();
        let at = start + 8 + (x as usize % (size - 8));
        b[at] ^= (x >> 24) as u8 | 1;
        (at, b)
    })
}
