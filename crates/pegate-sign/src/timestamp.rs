//! RFC 3161 timestamps over HTTP: a `TimeStampReq` for the hash of the signature value, POSTed
//! as `application/timestamp-query` to each URL in turn until one answers with a granted
//! `TimeStampResp` whose token stamps that hash.
//!
//! The HTTP client is a minimal blocking HTTP/1.1 one over `std::net` (`http://` only, one
//! request per connection, `Content-Length`, chunked or close-delimited bodies), with a timeout
//! on connecting, on each read and write, and on the whole exchange. A TSA that is down, slow,
//! refuses or answers something else is one failure; the next URL is tried, and the error lists
//! every URL's failure when none answers.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::Algorithm;
use crate::der::{self, tag};
use crate::pkcs7;

/// Every TSA failed; one reason per URL, in the order tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no timestamp: {}", .failures.iter().map(|(u, r)| format!("{u}: {r}")).collect::<Vec<_>>().join("; "))]
#[non_exhaustive]
pub struct Error {
    /// (URL, why it failed).
    pub failures: Vec<(String, String)>,
}

/// The largest response read (a token with a chain is a few KiB).
const MAX_RESPONSE: usize = 1 << 20;

/// Asks each of `urls` in turn for a token over `hash(alg, signature)`; returns the first valid
/// token (a `ContentInfo`).
pub(crate) fn fetch(
    urls: &[String],
    alg: Algorithm,
    signature: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>, Error> {
    let imprint = pkcs7::hash(alg, signature).map_err(|e| Error {
        failures: vec![(String::new(), e.to_string())],
    })?;
    let mut nonce = [0u8; 8];
    openssl::rand::rand_bytes(&mut nonce).map_err(|e| Error {
        failures: vec![(String::new(), e.to_string())],
    })?;
    // A positive INTEGER: clear the top bit.
    if let Some(b) = nonce.first_mut() {
        *b &= 0x7f;
    }
    let nonce = u64::from_be_bytes(nonce);
    let request = der::seq(&[
        &der::uint(1),
        &der::seq(&[&pkcs7::digest_algorithm(alg), &der::octets(&imprint)]),
        &der::uint(nonce),
        &[tag::BOOLEAN, 1, 0xff],
    ]);
    let mut failures = Vec::new();
    for url in urls {
        match post(url, &request, timeout).and_then(|body| token(&body, &imprint, nonce)) {
            Ok(token) => return Ok(token),
            Err(reason) => failures.push((url.clone(), reason)),
        }
    }
    Err(Error { failures })
}

/// The token of a `TimeStampResp`, checked: status granted (0) or granted with mods (1), a
/// `SignedData` whose `TSTInfo` stamps `imprint` and echoes `nonce`.
fn token(body: &[u8], imprint: &[u8], nonce: u64) -> Result<Vec<u8>, String> {
    let bad = |what: &str| format!("the answer is not an RFC 3161 TimeStampResp ({what})");
    let (resp, _) = der::read(body).ok_or_else(|| bad("not DER"))?;
    let parts = der::children(resp.content).ok_or_else(|| bad("TimeStampResp"))?;
    let status = parts.first().ok_or_else(|| bad("status"))?;
    let status_parts = der::children(status.content).ok_or_else(|| bad("PKIStatusInfo"))?;
    let code = status_parts
        .first()
        .filter(|t| t.tag == tag::INTEGER)
        .ok_or_else(|| bad("PKIStatus"))?;
    if !matches!(code.content, [0] | [1]) {
        return Err(format!(
            "the TSA refused the request (PKIStatus {})",
            code.content
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        ));
    }
    let token = parts.get(1).ok_or_else(|| bad("no timeStampToken"))?;
    // ContentInfo { signedData, [0] SignedData { v, algs, encap { id-ct-TSTInfo, [0] OCTET
    // STRING TSTInfo } ... } }
    let ci = der::children(token.content).ok_or_else(|| bad("token"))?;
    let sd = ci
        .get(1)
        .and_then(|t| der::children(t.content))
        .and_then(|v| v.first().copied())
        .ok_or_else(|| bad("token content"))?;
    let sd_parts = der::children(sd.content).ok_or_else(|| bad("SignedData"))?;
    let tst = sd_parts
        .get(2)
        .and_then(|t| der::children(t.content))
        .and_then(|v| v.get(1).copied())
        .and_then(|t| der::children(t.content))
        .and_then(|v| v.first().copied())
        .filter(|t| t.tag == tag::OCTET_STRING)
        .and_then(|t| der::read(t.content))
        .map(|(t, _)| t)
        .ok_or_else(|| bad("TSTInfo"))?;
    let tst_parts = der::children(tst.content).ok_or_else(|| bad("TSTInfo"))?;
    let stamped = tst_parts
        .get(2)
        .and_then(|t| der::children(t.content))
        .and_then(|v| v.get(1).copied())
        .ok_or_else(|| bad("messageImprint"))?;
    if stamped.content != imprint {
        return Err("the token stamps another hash than the signature's".to_owned());
    }
    let want_nonce = der::uint(nonce);
    if !tst_parts
        .iter()
        .skip(5)
        .any(|t| t.tag == tag::INTEGER && t.whole == want_nonce.as_slice())
    {
        return Err("the token does not echo the request's nonce".to_owned());
    }
    Ok(token.whole.to_vec())
}

/// POSTs `body` to an `http://` URL and returns the response body of a 200 answer.
fn post(url: &str, body: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// TSA URLs are supported (RFC 3161 tokens are signed; TLS adds nothing to their integrity)".to_owned())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            rest.get(i..).unwrap_or("/"),
        ),
        None => (rest, "/"),
    };
    let hostport = if authority.contains(':') && !authority.ends_with(']') {
        authority.to_owned()
    } else {
        format!("{authority}:80")
    };
    let deadline = Instant::now()
        .checked_add(timeout)
        .ok_or_else(|| "timeout too large".to_owned())?;
    let addrs = hostport
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {authority}: {e}"))?;
    let mut last = format!("{authority} has no address");
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last = format!("cannot connect to {addr}: {e}"),
        }
    }
    let mut stream = stream.ok_or(last)?;
    let io = |e: std::io::Error| {
        if matches!(
            e.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ) {
            format!("no answer within {} s", timeout.as_secs_f32())
        } else {
            e.to_string()
        }
    };
    stream.set_read_timeout(Some(timeout)).map_err(io)?;
    stream.set_write_timeout(Some(timeout)).map_err(io)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/timestamp-query\r\nAccept: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: pegate\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).map_err(io)?;
    stream.write_all(body).map_err(io)?;
    stream.flush().map_err(io)?;
    let mut response = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        if Instant::now() > deadline {
            return Err(format!("no full answer within {} s", timeout.as_secs_f32()));
        }
        let n = stream.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        response.extend_from_slice(buf.get(..n).unwrap_or_default());
        if response.len() > MAX_RESPONSE {
            return Err(format!("an answer longer than {MAX_RESPONSE} bytes"));
        }
        if let Some(body) = complete_body(&response)? {
            return Ok(body);
        }
    }
    complete_body(&response)?
        .ok_or_else(|| "the connection closed before the answer was complete".to_owned())
        .or_else(|e| close_delimited(&response).ok_or(e))
}

/// Splits a response into (status code, headers, body bytes so far).
fn split(response: &[u8]) -> Option<(u16, &str, &[u8])> {
    let end = response.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(response.get(..end)?).ok()?;
    let body = response.get(end.checked_add(4)?..)?;
    let status = head
        .lines()
        .next()?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some((status, head, body))
}

fn header<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The body once it is complete by its `Content-Length` or chunked framing; `Ok(None)` while
/// more is to come; `Err` for a non-200 status.
fn complete_body(response: &[u8]) -> Result<Option<Vec<u8>>, String> {
    let Some((status, head, body)) = split(response) else {
        return Ok(None);
    };
    if status != 200 {
        return Err(format!(
            "HTTP {status} ({})",
            head.lines().next().unwrap_or_default()
        ));
    }
    if let Some(len) = header(head, "content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| format!("bad Content-Length {len:?}"))?;
        return Ok(body.get(..len).map(<[u8]>::to_vec));
    }
    if header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Ok(dechunk(body));
    }
    Ok(None)
}

/// A close-delimited body (no length, no chunking), once the connection has closed.
fn close_delimited(response: &[u8]) -> Option<Vec<u8>> {
    let (status, head, body) = split(response)?;
    (status == 200
        && header(head, "content-length").is_none()
        && header(head, "transfer-encoding").is_none())
    .then(|| body.to_vec())
}

/// A chunked body, when its last chunk has arrived.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(body.get(..line_end)?).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        let data_start = line_end.checked_add(2)?;
        if size == 0 {
            return Some(out);
        }
        let data_end = data_start.checked_add(size)?;
        out.extend_from_slice(body.get(data_start..data_end)?);
        body = body.get(data_end.checked_add(2)?..)?;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_complete_by_length_or_chunks() {
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc";
        assert_eq!(complete_body(r).unwrap(), Some(b"abc".to_vec()));
        let r = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabc";
        assert_eq!(complete_body(r).unwrap(), None);
        let r =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n1\r\nc\r\n0\r\n\r\n";
        assert_eq!(complete_body(r).unwrap(), Some(b"abc".to_vec()));
        let r = b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(
            complete_body(r).unwrap_err(),
            "HTTP 500 (HTTP/1.1 500 Internal Server Error)"
        );
        let r = b"HTTP/1.0 200 OK\r\n\r\nabc";
        assert_eq!(close_delimited(r), Some(b"abc".to_vec()));
    }

    #[test]
    fn garbage_is_not_a_token() {
        assert!(
            token(b"garbage", &[0; 32], 1)
                .unwrap_err()
                .contains("not DER")
        );
        // A refusal: TimeStampResp { PKIStatusInfo { rejection (2) } }.
        let refused = der::seq(&[&der::seq(&[&der::uint(2)])]);
        assert_eq!(
            token(&refused, &[0; 32], 1).unwrap_err(),
            "the TSA refused the request (PKIStatus 02)"
        );
    }
}
