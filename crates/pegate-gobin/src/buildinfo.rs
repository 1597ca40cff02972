//! Go build info read from PE bytes, without running Go.
//!
//! Follows `debug/buildinfo`: the blob is in the first section whose characteristics, ignoring
//! `IMAGE_SCN_ALIGN_32BYTES`, are exactly `CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE`
//! (`.data`); it starts on a 16-byte boundary with the 14-byte magic `"\xff Go buildinf:"`,
//! then pointer size and flags. Go ≥ 1.18 (flag bit 1) stores the version and module info
//! inline as uvarint-prefixed strings; older Go stores the virtual addresses of two Go string
//! headers. The module info is framed by 16-byte sentinels. Every length read is checked against
//! the bytes that exist; nothing is allocated from an untrusted length.
//!
//! ```no_run
//! let info = pegate_gobin::buildinfo::read_path("hello.exe".as_ref()).unwrap().expect("a Go binary");
//! assert_eq!(info.setting("GOOS"), Some("windows"));
//! println!("{} {}", info.go_version, info.path);
//! ```

use std::borrow::Cow;
use std::fs::File;
use std::path::Path;
use std::sync::LazyLock;

use object::LittleEndian as LE;
use pegate_pe::PeView;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Malformation, Result};

/// The magic that starts the build-info blob.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
const HEADER_SIZE: usize = 32;
const ALIGN: usize = 16;
const BUILD_ID_PREFIX: &[u8] = b"\xff Go build ID: \"";
/// Data sections larger than this are not searched in full (Go puts the blob first).
const MAX_SEARCH: usize = 64 << 20;
/// A version or module-info string longer than this is not believed.
const MAX_STRING: u64 = 16 << 20;

/// A module as recorded in the build info.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Version (`(devel)` for the main module of a local build).
    pub version: String,
    /// go.sum hash, if recorded.
    pub sum: String,
    /// The module this one was replaced by (`=>` line).
    pub replace: Option<Box<Module>>,
}

/// One `build` setting (`-ldflags`, `GOARCH`, `CGO_ENABLED`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct Setting {
    /// The key.
    pub key: String,
    /// The value, unquoted.
    pub value: String,
}

/// What Go recorded about how a binary was built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct BuildInfo {
    /// `go1.27.3`.
    pub go_version: String,
    /// The main package path.
    pub path: String,
    /// The main module.
    pub main: Option<Module>,
    /// Dependencies.
    pub deps: Vec<Module>,
    /// Build settings, in recorded order.
    pub settings: Vec<Setting>,
    /// The Go build ID string from the start of `.text`, when found.
    pub build_id: Option<String>,
    /// `inline` (Go ≥ 1.18) or `pointer` (older).
    pub format: String,
    /// Pointer size recorded in the header (4 or 8).
    pub ptr_size: u8,
    /// File offset of the blob.
    pub offset: u64,
}

impl BuildInfo {
    /// The value of build setting `key`.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|s| s.key == key)
            .map(|s| s.value.as_str())
    }
}

/// How the decoder reaches the bytes of the file: the data section, the strings the pointer
/// format points at, the build ID.
trait Source {
    /// Up to `len` bytes at file offset `offset` (fewer at end of file); `Ok(None)` when the
    /// offset is past the end of bytes in memory. A failed read of a file is an error, never
    /// mistaken for a file without build info.
    fn read(&mut self, offset: u64, len: usize) -> Result<Option<Vec<u8>>>;
}

impl Source for &[u8] {
    fn read(&mut self, offset: u64, len: usize) -> Result<Option<Vec<u8>>> {
        let Ok(start) = usize::try_from(offset) else {
            return Ok(None);
        };
        let end = start.saturating_add(len).min(self.len());
        Ok(self.get(start..end).map(<[u8]>::to_vec))
    }
}

/// An open file and the bytes of it already read (the header prefix): ranges inside those are
/// copied from memory (a small file's data section, say), the rest read from the file.
struct FileSource<'f> {
    file: &'f File,
    head: &'f [u8],
}

impl Source for FileSource<'_> {
    fn read(&mut self, offset: u64, len: usize) -> Result<Option<Vec<u8>>> {
        let in_head = usize::try_from(offset)
            .ok()
            .and_then(|start| self.head.get(start..start.checked_add(len)?));
        if let Some(bytes) = in_head {
            return Ok(Some(bytes.to_vec()));
        }
        pegate_pe::read_range(self.file, offset, len)
            .map(Some)
            .map_err(|source| Error::Read { offset, source })
    }
}

const DATA_FLAGS: u32 = 0xC000_0040; // CNT_INITIALIZED_DATA | MEM_READ | MEM_WRITE
const ALIGN_32BYTES: u32 = 0x0060_0000;

/// The (file offset, size) of the section debug/buildinfo searches.
fn data_section(view: &PeView<'_>) -> Option<(u64, usize)> {
    view.sections().iter().find_map(|s| {
        let flags = s.characteristics.get(LE).0 & !ALIGN_32BYTES;
        let (va, raw, size) = (
            s.virtual_address.get(LE),
            s.pointer_to_raw_data.get(LE),
            s.size_of_raw_data.get(LE),
        );
        (flags == DATA_FLAGS && va != 0 && size != 0)
            .then(|| (u64::from(raw), (size as usize).min(MAX_SEARCH)))
    })
}

fn text_section(view: &PeView<'_>) -> Option<u64> {
    view.sections()
        .iter()
        .find(|s| s.characteristics.get(LE).0 & 0x20 != 0)
        .map(|s| u64::from(s.pointer_to_raw_data.get(LE)))
}

/// How far the search for the build-info blob goes into an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Search {
    /// Every 16-byte aligned offset of the data section (up to 64 MiB), as `go version -m`
    /// (`debug/buildinfo`) searches it.
    #[default]
    Exact,
    /// The first 4 KiB of the data section, and the rest of it only when Go's build-ID note
    /// (`"\xff Go build ID: \""`) is in the first 4 KiB of the first code section: an image
    /// with neither is reported as not Go without reading its data section whole.
    ///
    /// It loses nothing Go's linkers write: the internal linker puts the blob first in `.data`
    /// (`sym.SBUILDINFO` is the first writable data kind) and the build ID first in `.text`;
    /// an externally linked (cgo) binary may have the C runtime's data before the blob, and
    /// keeps the build ID that `go build` always passes to the linker near the start of
    /// `.text`. Only a binary that is both externally linked with more than 4 KiB of C data
    /// ahead of the blob and linked with an empty `-buildid=` (or whose C code starts `.text`
    /// with more than 4 KiB) would be missed; none of the real files of the differential
    /// corpus is one (`go_build_info_agrees_with_go_version_m_on_the_corpus`).
    Bounded,
}

/// Reads the build info of a PE file in memory; `Ok(None)` when it is not a Go binary, an error
/// when it holds a malformed blob.
pub fn read(view: &PeView<'_>) -> Result<Option<BuildInfo>> {
    read_with(view, Search::Exact)
}

/// [`read`], searching as `search` says.
pub fn read_with(view: &PeView<'_>, search: Search) -> Result<Option<BuildInfo>> {
    decode(view, &mut view.data(), search)
}

/// Reads the build info of a file, reading only its headers and the data section.
pub fn read_path(path: &Path) -> Result<Option<BuildInfo>> {
    pegate_pe::with_headers(path, read_file).unwrap_or_else(|e| match e {
        pegate_pe::Error::Io { path, source } => Err(Error::Io { path, source }),
        source => Err(Error::Pe {
            path: path.to_path_buf(),
            source,
        }),
    })
}

/// Reads the build info of an open file whose headers are already in `view` (so a caller that
/// has parsed them, as `pegate inspect` has, opens and reads the headers only once). A read that
/// fails is [`Error::Read`], not `Ok(None)`.
pub fn read_file(file: &File, view: &PeView<'_>) -> Result<Option<BuildInfo>> {
    read_file_with(file, view, Search::Exact)
}

/// [`read_file`], searching as `search` says: [`Search::Bounded`] reads at most 4 KiB of the
/// data section and 4 KiB of the code section of an image that is not a Go program.
pub fn read_file_with(file: &File, view: &PeView<'_>, search: Search) -> Result<Option<BuildInfo>> {
    decode(
        view,
        &mut FileSource {
            file,
            head: view.data(),
        },
        search,
    )
}

/// The first search chunk: the linker puts the blob at the start of the data section, and its
/// inline strings (version, module info) are a few hundred bytes to a few KiB. Longer module
/// info takes one more read of exactly its length (see `decode`), cheaper than copying 16 KiB
/// from every Go binary: a batch of `--no-signature` spent a tenth of its time copying bytes.
const FIRST_CHUNK: usize = 4 << 10;
/// Later chunks, when the blob is further in (as debug/buildinfo searches).
const CHUNK: usize = 1 << 20;

/// Finds the 16-byte aligned magic in `[offset, offset + size)`, reading chunk by chunk rather
/// than the whole section; returns the blob's file offset and the bytes from it to its chunk's end.
fn find_blob(
    view: &PeView<'_>,
    src: &mut dyn Source,
    offset: u64,
    size: usize,
    search: Search,
) -> Result<Option<(u64, Vec<u8>)>> {
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(MAGIC));
    let finder = &*FINDER;
    let mut pos = 0usize;
    let mut want = FIRST_CHUNK;
    while pos < size {
        let len = want.min(size.saturating_sub(pos));
        let Some(data) = src.read(offset.saturating_add(pos as u64), len)? else {
            return Ok(None);
        };
        // `pos` stays a multiple of ALIGN, so an aligned magic never straddles two chunks.
        if let Some(at) = finder.find_iter(&data).find(|&i| i % ALIGN == 0) {
            // Usually at the chunk's start: then the chunk is the blob, no copy.
            let blob = if at == 0 {
                data
            } else {
                data.get(at..).unwrap_or_default().to_vec()
            };
            return Ok(Some((
                offset.saturating_add(pos.saturating_add(at) as u64),
                blob,
            )));
        }
        if data.len() < len {
            return Ok(None);
        }
        // Past the first chunk only for a Go program (see `Search::Bounded`).
        if pos == 0 && search == Search::Bounded && len < size && build_id(view, src)?.is_none() {
            return Ok(None);
        }
        pos = pos.saturating_add(len);
        want = CHUNK;
    }
    Ok(None)
}

fn decode(view: &PeView<'_>, src: &mut dyn Source, search: Search) -> Result<Option<BuildInfo>> {
    let Some((offset, size)) = data_section(view) else {
        return Ok(None);
    };
    let Some((blob_offset, mut blob)) = find_blob(view, src, offset, size, search)? else {
        return Ok(None);
    };
    let bad = |problem: Malformation| Error::BuildInfo {
        offset: blob_offset,
        problem,
    };
    // Inline strings longer than what the chunk held: read the rest of them at once.
    let inline_end = |b: &[u8]| {
        let rest = b.get(HEADER_SIZE..)?;
        let (_, rest) = read_uvarint_string(rest)?;
        let (_, rest) = read_uvarint_string(rest)?;
        Some(b.len().saturating_sub(rest.len()))
    };
    let section_rest = (offset.saturating_add(size as u64)).saturating_sub(blob_offset);
    if blob.get(15).is_some_and(|f| f & 2 != 0)
        && inline_end(&blob).is_none()
        && (blob.len() as u64) < section_rest
    {
        let len = section_rest.min(MAX_STRING.saturating_mul(2).saturating_add(64)) as usize;
        if let Some(more) = src.read(blob_offset, len)? {
            blob = more;
        }
    }
    let blob = blob.as_slice();
    let header = blob
        .get(..HEADER_SIZE)
        .ok_or_else(|| bad(Malformation::HeaderCutShort))?;
    let ptr_size = header.get(14).copied().unwrap_or(0);
    let flags = header.get(15).copied().unwrap_or(0);
    let (go_version, modinfo, format) = if flags & 2 != 0 {
        let rest = blob.get(HEADER_SIZE..).unwrap_or_default();
        let (version, rest) =
            read_uvarint_string(rest).ok_or_else(|| bad(Malformation::BadVersionString))?;
        let (modinfo, _) =
            read_uvarint_string(rest).ok_or_else(|| bad(Malformation::BadModuleInfoString))?;
        (version.to_vec(), Cow::Borrowed(modinfo), "inline")
    } else {
        if ptr_size != 4 && ptr_size != 8 {
            return Err(bad(Malformation::PointerSize(ptr_size)));
        }
        let big = flags & 1 != 0;
        let p = usize::from(ptr_size);
        let ptr_at = |i: usize| {
            header
                .get(16usize.saturating_add(i.saturating_mul(p))..)
                .and_then(|b| b.get(..p))
                .map(|b| read_ptr(b, big))
        };
        let version_va = ptr_at(0).ok_or_else(|| bad(Malformation::HeaderCutShort))?;
        let mod_va = ptr_at(1).ok_or_else(|| bad(Malformation::HeaderCutShort))?;
        let version = read_go_string(view, src, version_va, p, big)?
            .ok_or_else(|| bad(Malformation::VersionOutsideFile))?;
        let modinfo = read_go_string(view, src, mod_va, p, big)?
            .ok_or_else(|| bad(Malformation::ModuleInfoOutsideFile))?;
        (version, Cow::Owned(modinfo), "pointer")
    };
    let go_version =
        String::from_utf8(go_version).map_err(|_| bad(Malformation::VersionNotUtf8))?;
    let modinfo = strip_sentinels(&modinfo);
    // `from_utf8` checks valid text (the usual case) faster than `from_utf8_lossy` does.
    let mut info = match std::str::from_utf8(modinfo) {
        Ok(text) => parse_modinfo(text),
        Err(_) => parse_modinfo(&String::from_utf8_lossy(modinfo)),
    };
    info.go_version = go_version;
    info.format = format.to_owned();
    info.ptr_size = ptr_size;
    info.offset = blob_offset;
    info.build_id = build_id(view, src)?;
    Ok(Some(info))
}

/// Go's build ID, searched for in the first 4 KiB of the first code section. The header bytes
/// in memory usually hold its start: an ID found whole in them is the one the full 4 KiB would
/// give (the first match and its closing quote lie in any longer read too). Only a miss in a
/// part of the window, with more of the file beyond it, reads the file.
fn build_id(view: &PeView<'_>, src: &mut dyn Source) -> Result<Option<String>> {
    let Some(off) = text_section(view) else {
        return Ok(None);
    };
    let text = usize::try_from(off)
        .ok()
        .and_then(|start| view.data().get(start..))
        .unwrap_or_default();
    let window = text.get(..BUILD_ID_SEARCH).unwrap_or(text);
    let whole = window.len() == BUILD_ID_SEARCH || view.is_whole_file();
    Ok(match find_build_id(window) {
        Some(id) => Some(id),
        None if whole => None,
        None => {
            // Without even the ID's prefix in the bytes in memory, the first match starts in
            // the prefix's last bytes or after them: read only from there to the window's end.
            let held = window.len();
            let skip = if memchr::memmem::find(window, BUILD_ID_PREFIX).is_some() {
                0
            } else {
                held.saturating_sub(BUILD_ID_PREFIX.len().saturating_sub(1))
            };
            src.read(
                off.saturating_add(skip as u64),
                BUILD_ID_SEARCH.saturating_sub(skip),
            )?
            .and_then(|text| find_build_id(&text))
        }
    })
}

fn read_ptr(b: &[u8], big: bool) -> u64 {
    let mut v = [0u8; 8];
    if big {
        let pad = 8usize.saturating_sub(b.len());
        if let Some(dst) = v.get_mut(pad..) {
            dst.copy_from_slice(b);
        }
        u64::from_be_bytes(v)
    } else {
        if let Some(dst) = v.get_mut(..b.len()) {
            dst.copy_from_slice(b);
        }
        u64::from_le_bytes(v)
    }
}

/// Reads a Go string header (data pointer, length) at virtual address `va`, then its bytes;
/// `Ok(None)` when either lies outside the file.
fn read_go_string(
    view: &PeView<'_>,
    src: &mut dyn Source,
    va: u64,
    p: usize,
    big: bool,
) -> Result<Option<Vec<u8>>> {
    let to_offset = |va: u64| -> Option<u64> {
        let rva = u32::try_from(va.checked_sub(view.image_base())?).ok()?;
        view.rva_to_file_offset(rva).map(u64::from)
    };
    let Some(header_offset) = to_offset(va) else {
        return Ok(None);
    };
    let Some(header) = src.read(header_offset, p.saturating_mul(2))? else {
        return Ok(None);
    };
    let (Some(data_ptr), Some(len_bytes)) = (header.get(..p), header.get(p..p.saturating_mul(2)))
    else {
        return Ok(None);
    };
    let (data_va, len) = (read_ptr(data_ptr, big), read_ptr(len_bytes, big));
    if len > MAX_STRING {
        return Ok(None);
    }
    if len == 0 {
        return Ok(Some(Vec::new()));
    }
    let Some(data_offset) = to_offset(data_va) else {
        return Ok(None);
    };
    let bytes = src.read(data_offset, len as usize)?;
    Ok(bytes.filter(|b| b.len() as u64 == len))
}

/// A uvarint length then that many bytes; `None` if either runs past the end.
fn read_uvarint_string(b: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        len |= u64::from(byte & 0x7f).checked_shl(7u32.checked_mul(i as u32)?)?;
        if byte & 0x80 == 0 {
            let rest = b.get(i.checked_add(1)?..)?;
            let len = usize::try_from(len).ok()?;
            return Some((rest.get(..len)?, rest.get(len..)?));
        }
    }
    None
}

/// Removes the 16-byte sentinels cmd/go puts around module info (debug/buildinfo's rule).
fn strip_sentinels(m: &[u8]) -> &[u8] {
    let n = m.len();
    if n >= 33 && m.get(n.wrapping_sub(17)) == Some(&b'\n') {
        m.get(16..n.saturating_sub(16)).unwrap_or(m)
    } else {
        m
    }
}

/// How much of the start of `.text` is searched for the build ID.
const BUILD_ID_SEARCH: usize = 4096;

fn find_build_id(text: &[u8]) -> Option<String> {
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> =
        LazyLock::new(|| memchr::memmem::Finder::new(BUILD_ID_PREFIX));
    let at = FINDER.find(text)?;
    let rest = text.get(at.saturating_add(BUILD_ID_PREFIX.len())..)?;
    let end = memchr::memchr(b'"', rest)?;
    String::from_utf8(rest.get(..end)?.to_vec()).ok()
}

/// Undoes Go's `strconv.Quote` for the quoted keys and values of `build` lines.
fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return s.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some(c @ ('x' | 'u' | 'U')) => {
                let digits = match c {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = chars.by_ref().take(digits).collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(ch) => out.push(ch),
                    None => out.push('\u{fffd}'),
                }
            }
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn module(fields: &[&str]) -> Module {
    let get = |i: usize| fields.get(i).copied().unwrap_or_default().to_owned();
    Module {
        path: get(1),
        version: get(2),
        sum: get(3),
        replace: None,
    }
}

/// Parses the module-info text (`runtime/debug.ParseBuildInfo`'s format).
fn parse_modinfo(text: &str) -> BuildInfo {
    let mut info = BuildInfo {
        go_version: String::new(),
        path: String::new(),
        main: None,
        deps: Vec::new(),
        settings: Vec::new(),
        build_id: None,
        format: String::new(),
        ptr_size: 0,
        offset: 0,
    };
    // Which module the next `=>` line replaces: the main module or the last dep.
    let mut last_is_dep = false;
    for line in text.lines() {
        // The first four tab-separated fields (all a line uses), missing ones empty: no
        // allocation per line.
        let mut fields = [""; 4];
        for (slot, field) in fields.iter_mut().zip(line.split('\t')) {
            *slot = field;
        }
        match fields.first().copied() {
            Some("path") => info.path = fields.get(1).copied().unwrap_or_default().to_owned(),
            Some("mod") => {
                info.main = Some(module(&fields));
                last_is_dep = false;
            }
            Some("dep") => {
                info.deps.push(module(&fields));
                last_is_dep = true;
            }
            Some("=>") => {
                let replacement = Some(Box::new(module(&fields)));
                let target = if last_is_dep {
                    info.deps.last_mut()
                } else {
                    info.main.as_mut()
                };
                if let Some(m) = target {
                    m.replace = replacement;
                }
            }
            Some("build") => {
                let rest = line.get(6..).unwrap_or_default();
                let (key, value) = split_setting(rest);
                info.settings.push(Setting {
                    key: unquote(key),
                    value: unquote(value),
                });
            }
            _ => {}
        }
    }
    info
}

/// Splits `key=value` where the key may be a quoted string containing `=`.
fn split_setting(s: &str) -> (&str, &str) {
    if s.starts_with('"') {
        let mut escaped = false;
        for (i, c) in s.char_indices().skip(1) {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    let end = i.saturating_add(1);
                    let key = s.get(..end).unwrap_or(s);
                    let value = s
                        .get(end..)
                        .and_then(|r| r.strip_prefix('='))
                        .unwrap_or_default();
                    return (key, value);
                }
                _ => escaped = false,
            }
        }
    }
    s.split_once('=').unwrap_or((s, ""))
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )]
    use super::*;

    #[test]
    fn modinfo_lines() {
        let text = "path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\n\
                    dep\tgolang.org/x/sys\tv0.1.0\th1:abc=\n=>\t../sys\t\t\n\
                    build\t-ldflags=\"-s -w -X main.v=1\"\nbuild\tGOARCH=arm64\n\
                    build\t\"key=with=eq\"=\"v\\tq\"\n";
        let info = parse_modinfo(text);
        assert_eq!(info.path, "example.com/hello");
        assert_eq!(info.main.as_ref().unwrap().version, "(devel)");
        assert_eq!(info.deps[0].replace.as_ref().unwrap().path, "../sys");
        assert_eq!(info.setting("-ldflags"), Some("-s -w -X main.v=1"));
        assert_eq!(info.setting("GOARCH"), Some("arm64"));
        assert_eq!(info.setting("key=with=eq"), Some("v\tq"));
    }

    #[test]
    fn uvarint_strings_are_bounded() {
        assert_eq!(
            read_uvarint_string(&[3, b'a', b'b', b'c', 9]),
            Some((&b"abc"[..], &[9u8][..]))
        );
        assert_eq!(
            read_uvarint_string(&[0x80, 0x01]),
            None,
            "128 bytes promised, none there"
        );
        assert_eq!(
            read_uvarint_string(&[0xff; 12]),
            None,
            "varint longer than 10 bytes"
        );
        assert_eq!(read_uvarint_string(&[]), None);
    }

    #[test]
    fn sentinels_are_stripped_only_when_framed() {
        let mut framed = vec![b'S'; 16];
        framed.extend_from_slice(b"path\tx\n");
        framed.extend_from_slice(&[b'E'; 16]);
        assert_eq!(strip_sentinels(&framed), b"path\tx\n");
        assert_eq!(strip_sentinels(b"short"), b"short");
    }
}
