//! `cargo xtask pe-fixtures`: writes the hand-made PE files under `fixtures/pe/{ok,err,loader}`.
//!
//! Each file exercises one header shape (PE32/PE32+, machine, subsystem, DLL, EFI, load config
//! with guard flags or CHPE metadata, COFF long names, certificate table, overlay, odd length) or
//! one way of being broken. The output is deterministic, so rerunning changes nothing.

#![allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]

use std::path::Path;

use anyhow::Context;

const FILE_ALIGN: usize = 0x200;
const SECTION_ALIGN: u32 = 0x1000;

#[derive(Clone)]
struct Sec {
    name: &'static str,
    characteristics: u32,
    data: Vec<u8>,
}

#[derive(Clone)]
struct Spec {
    machine: u16,
    pe32_plus: bool,
    subsystem: u16,
    characteristics: u16,
    dll: u16,
    sections: Vec<Sec>,
    /// (guard flags, CHPE metadata pointer) placed in .rdata and wired to directory 10.
    load_config: Option<(u32, u64)>,
    /// Load config directory pointing at an RVA no section maps.
    bad_load_config: bool,
    /// Raw WIN_CERTIFICATE table appended at the end; `cert_size_override` lies about its size.
    cert: Option<Vec<u8>>,
    cert_size_override: Option<u32>,
    /// Bytes appended after the sections (before the certificate table).
    overlay: usize,
    /// Set the stored checksum to the computed one.
    checksum: bool,
    /// `SizeOfOptionalHeader` when not the full header's: the section table moves with it.
    size_of_optional: Option<usize>,
    /// The LOAD_CONFIG directory's size when not the structure's (MSVC x86 writes 0x40).
    lc_dir_size: Option<u32>,
}

const TEXT: u32 = 0x6000_0020;
const RDATA: u32 = 0x4000_0040;
const DATA: u32 = 0xC000_0040;
const DISCARDABLE: u32 = 0x4210_0040;

fn base(machine: u16, pe32_plus: bool, subsystem: u16) -> Spec {
    Spec {
        machine,
        pe32_plus,
        subsystem,
        characteristics: if pe32_plus { 0x0022 } else { 0x0102 },
        dll: if pe32_plus { 0x8160 } else { 0x8140 },
        sections: vec![
            Sec {
                name: ".text",
                characteristics: TEXT,
                data: vec![0xc3; 0x40],
            },
            Sec {
                name: ".rdata",
                characteristics: RDATA,
                data: b"pegate test fixture\0".to_vec(),
            },
            Sec {
                name: ".data",
                characteristics: DATA,
                data: vec![0; 0x20],
            },
        ],
        load_config: None,
        bad_load_config: false,
        cert: None,
        cert_size_override: None,
        overlay: 0,
        checksum: false,
        size_of_optional: None,
        lc_dir_size: None,
    }
}

fn align(n: usize, a: usize) -> usize {
    n.div_ceil(a) * a
}

fn put16(b: &mut [u8], at: usize, v: u16) {
    b[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(b: &mut [u8], at: usize, v: u64) {
    b[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// A WIN_CERTIFICATE with revision 2.0, type PKCS_SIGNED_DATA and `payload`, padded to 8.
fn win_certificate(payload: &[u8]) -> Vec<u8> {
    let len = 8 + payload.len();
    let mut v = Vec::with_capacity(align(len, 8));
    v.extend_from_slice(&(len as u32).to_le_bytes());
    v.extend_from_slice(&0x0200u16.to_le_bytes());
    v.extend_from_slice(&2u16.to_le_bytes());
    v.extend_from_slice(payload);
    v.resize(align(len, 8), 0);
    v
}

/// Where the optional header with 16 data directories ends.
fn oh_end(nt: usize, pe32_plus: bool) -> usize {
    nt + 24 + if pe32_plus { 240 } else { 224 }
}

fn build(spec: &Spec) -> Vec<u8> {
    let mut sections = spec.sections.clone();
    let (strtab, short_names) = string_table(&sections);
    let lc_size: usize = if spec.pe32_plus { 0x140 } else { 0xc0 };
    // Fixed up with the section VA below.
    let lc_rva = add_load_config(spec, &mut sections, lc_size);

    let opt_size: usize = spec
        .size_of_optional
        .unwrap_or(if spec.pe32_plus { 240 } else { 224 });
    let nt = 0x40usize;
    let sec_table = nt + 4 + 20 + opt_size;
    let headers = align(sec_table + 40 * sections.len(), FILE_ALIGN);
    let (layout, raw, size_of_image) = lay_out(&sections, headers);
    let strtab_at = if strtab.len() > 4 { raw } else { 0 };
    // The section table may overlap the optional header (SizeOfOptionalHeader below its
    // size); the headers still cover the whole optional header.
    let mut out = vec![0u8; raw.max(align(oh_end(nt, spec.pe32_plus), FILE_ALIGN))];
    if strtab_at != 0 {
        out.extend_from_slice(&strtab);
    }
    out.extend(std::iter::repeat_n(0xee, spec.overlay));

    let fh = file_header(&mut out, spec, nt, sections.len(), strtab_at, opt_size);
    let oh = fh + 20;
    let entry = layout.first().map(|l| l.0).unwrap_or(0);
    let dirs = optional_header(&mut out, oh, spec, entry, size_of_image, headers);
    let lc_dir = spec
        .load_config
        .map(|_| (lc_rva, spec.lc_dir_size.unwrap_or(lc_size as u32)));
    section_table(
        &mut out,
        &sections,
        &layout,
        &short_names,
        sec_table,
        dirs,
        lc_dir,
    );
    if spec.bad_load_config {
        put32(&mut out, dirs + 8 * 10, 0x7fff_0000);
        put32(&mut out, dirs + 8 * 10 + 4, 0x40);
    }
    if let Some(cert) = &spec.cert {
        append_certificate(&mut out, cert, spec.cert_size_override, dirs);
    }
    if spec.checksum {
        let sum = pegate::pe::pe_checksum(&out, oh + 64);
        put32(&mut out, oh + 64, sum);
    }
    out
}

/// Where the sections go when the headers take `headers` bytes: each section's
/// (VirtualAddress, PointerToRawData, SizeOfRawData), the file offset after the last one's
/// raw data, and SizeOfImage.
fn lay_out(sections: &[Sec], headers: usize) -> (Vec<(u32, usize, usize)>, usize, u32) {
    let mut raw = headers;
    let mut va = SECTION_ALIGN;
    let mut layout = Vec::new();
    for s in sections {
        let raw_size = align(s.data.len(), FILE_ALIGN);
        layout.push((va, raw, raw_size));
        raw += raw_size;
        va += align(s.data.len().max(1), SECTION_ALIGN as usize) as u32;
    }
    (layout, raw, va)
}

/// The DOS header, the `PE\0\0` signature at `nt` and the COFF file header after it, whose
/// offset it returns.
fn file_header(
    out: &mut [u8],
    spec: &Spec,
    nt: usize,
    sections: usize,
    strtab_at: usize,
    opt_size: usize,
) -> usize {
    // DOS header.
    out[0] = b'M';
    out[1] = b'Z';
    put16(out, 0x18, 0x40); // e_lfarlc: a "new" executable
    put32(out, 0x3c, nt as u32);
    out[nt..nt + 4].copy_from_slice(b"PE\0\0");
    let fh = nt + 4;
    put16(out, fh, spec.machine);
    put16(out, fh + 2, sections as u16);
    put32(out, fh + 8, strtab_at as u32); // PointerToSymbolTable, 0 symbols
    put16(out, fh + 16, opt_size as u16);
    put16(out, fh + 18, spec.characteristics);
    fh
}

/// The section headers at `sec_table` and each section's data at its raw offset. With a load
/// config (`lc_dir`: its RVA within `.rdata` and the directory's size) the LOAD_CONFIG
/// directory entry is written right after `.rdata`'s header and data, where its VA is known:
/// a section table that overlaps the optional header makes the order of these writes matter.
fn section_table(
    out: &mut [u8],
    sections: &[Sec],
    layout: &[(u32, usize, usize)],
    short_names: &[String],
    sec_table: usize,
    dirs: usize,
    lc_dir: Option<(u32, u32)>,
) {
    for (i, (s, (va, raw, raw_size))) in sections.iter().zip(layout).enumerate() {
        let h = sec_table + 40 * i;
        let name = short_names[i].as_bytes();
        out[h..h + name.len()].copy_from_slice(name);
        put32(out, h + 8, s.data.len() as u32);
        put32(out, h + 12, *va);
        put32(out, h + 16, *raw_size as u32);
        put32(out, h + 20, *raw as u32);
        put32(out, h + 36, s.characteristics);
        out[*raw..*raw + s.data.len()].copy_from_slice(&s.data);
        if let (".rdata", Some((lc_rva, lc_dir_size))) = (s.name, lc_dir) {
            put32(out, dirs + 8 * 10, va + lc_rva);
            put32(out, dirs + 8 * 10 + 4, lc_dir_size);
        }
    }
}

/// Appends the certificate table `cert` at the next 8-aligned offset and points the SECURITY
/// directory (whose offset is a file offset, not an RVA) at it, with `size_override` as its
/// size when the fixture lies about it.
fn append_certificate(out: &mut Vec<u8>, cert: &[u8], size_override: Option<u32>, dirs: usize) {
    let at = align(out.len(), 8);
    out.resize(at, 0);
    out.extend_from_slice(cert);
    put32(out, dirs + 8 * 4, at as u32);
    put32(
        out,
        dirs + 8 * 4 + 4,
        size_override.unwrap_or(cert.len() as u32),
    );
}

/// The COFF string table (its size first) and each section's header name: a name longer than
/// 8 bytes goes to the table and the header says "/N", its offset there.
fn string_table(sections: &[Sec]) -> (Vec<u8>, Vec<String>) {
    let mut strtab: Vec<u8> = vec![0; 4];
    let mut short_names = Vec::new();
    for s in sections {
        if s.name.len() > 8 {
            let off = strtab.len();
            strtab.extend_from_slice(s.name.as_bytes());
            strtab.push(0);
            short_names.push(format!("/{off}"));
        } else {
            short_names.push(s.name.to_owned());
        }
    }
    let strtab_len = strtab.len() as u32;
    put32(&mut strtab, 0, strtab_len);
    (strtab, short_names)
}

/// Appends the spec's load config (GuardFlags, CHPE pointer) to `.rdata`, 8-aligned, and
/// returns its offset in that section (0 without one).
fn add_load_config(spec: &Spec, sections: &mut [Sec], lc_size: usize) -> u32 {
    let Some((guard, chpe)) = spec.load_config else {
        return 0;
    };
    let rdata = sections
        .iter_mut()
        .find(|s| s.name == ".rdata")
        .expect(".rdata");
    let at = align(rdata.data.len(), 8);
    rdata.data.resize(at + lc_size, 0);
    let lc = &mut rdata.data[at..];
    put32(lc, 0, lc_size as u32);
    let (guard_at, chpe_at) = if spec.pe32_plus {
        (0x90, 0xc8)
    } else {
        (0x58, 0x78)
    };
    put32(lc, guard_at, guard);
    if spec.pe32_plus {
        put64(lc, chpe_at, chpe);
    } else {
        put32(lc, chpe_at, chpe as u32);
    }
    at as u32
}

/// Writes the optional header at `oh` (PE32 or PE32+, Go's linker version, 16 data
/// directories) and returns the offset of its data directories.
fn optional_header(
    out: &mut [u8],
    oh: usize,
    spec: &Spec,
    entry: u32,
    size_of_image: u32,
    headers: usize,
) -> usize {
    put16(out, oh, if spec.pe32_plus { 0x20b } else { 0x10b });
    out[oh + 2] = 3; // linker 3.0, like Go
    put32(out, oh + 16, entry);
    let dirs;
    if spec.pe32_plus {
        put64(out, oh + 24, 0x1_4000_0000);
        dirs = oh + 112;
        put32(out, oh + 108, 16);
    } else {
        put32(out, oh + 28, 0x40_0000);
        dirs = oh + 96;
        put32(out, oh + 92, 16);
    }
    put32(out, oh + 32, SECTION_ALIGN);
    put32(out, oh + 36, FILE_ALIGN as u32);
    put16(out, oh + 40, 6); // OS 6.1
    put16(out, oh + 42, 1);
    put16(out, oh + 44, 1); // image 1.0
    put16(out, oh + 48, 6); // subsystem 6.1
    put16(out, oh + 50, 1);
    put32(out, oh + 56, size_of_image);
    put32(out, oh + 60, headers as u32);
    put16(out, oh + 68, spec.subsystem);
    put16(out, oh + 70, spec.dll);
    dirs
}

fn ok_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let amd64 = || base(0x8664, true, 3);
    let mut v = vec![
        ("tiny-amd64-console.exe", build(&amd64())),
        ("tiny-arm64-gui.exe", build(&base(0xaa64, true, 2))),
        ("tiny-386-console.exe", build(&base(0x014c, false, 3))),
        ("tiny-armnt-console.exe", build(&base(0x01c4, false, 3))),
        ("tiny-unknown-machine.exe", build(&base(0x1234, true, 3))),
    ];
    let mut dll = base(0x8664, true, 2);
    dll.characteristics |= 0x2000;
    v.push(("tiny-amd64-dll.dll", build(&dll)));
    let mut efi = base(0x8664, true, 10);
    efi.dll = 0;
    v.push(("tiny-amd64-efi-app.efi", build(&efi)));
    let mut cfg = amd64();
    cfg.dll |= 0x4000; // GUARD_CF
    cfg.load_config = Some((0x0001_0500, 0)); // CF_INSTRUMENTED | CF_FUNCTION_TABLE_PRESENT | stride
    v.push(("tiny-amd64-cfg.exe", build(&cfg)));
    let mut go127 = amd64();
    go127.load_config = Some((0x800, 0)); // SECURITY_COOKIE_UNUSED, as Go 1.27 writes
    v.push(("tiny-amd64-loadconfig-go127.exe", build(&go127)));
    let mut x = base(0xaa64, true, 2);
    x.characteristics |= 0x2000;
    x.load_config = Some((0, 0x1_4000_3000));
    v.push(("tiny-arm64x.dll", build(&x)));
    let mut ec = base(0x8664, true, 2);
    ec.characteristics |= 0x2000;
    ec.load_config = Some((0, 0x1_4000_3000));
    v.push(("tiny-arm64ec.dll", build(&ec)));
    let mut lc32 = base(0x014c, false, 2);
    lc32.load_config = Some((0x0000_0100, 0));
    v.push(("tiny-386-loadconfig.exe", build(&lc32)));
    let mut long = amd64();
    long.sections.push(Sec {
        name: ".zdebug_info",
        characteristics: DISCARDABLE,
        data: vec![1; 16],
    });
    long.sections.push(Sec {
        name: ".debug_gdb_scripts",
        characteristics: DISCARDABLE,
        data: vec![2; 16],
    });
    v.push(("tiny-amd64-longnames.exe", build(&long)));
    // The same with the string table past the first 4 KiB, where a header-only read ends.
    let mut far = long.clone();
    far.sections[0].data = vec![0xc3; 0x2400];
    v.push(("tiny-amd64-longnames-far.exe", build(&far)));
    let mut signed = amd64();
    signed.cert = Some(win_certificate(&[
        0x30, 0x82, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef,
    ]));
    signed.checksum = true;
    v.push(("tiny-amd64-certtable.exe", build(&signed)));
    let mut overlay = amd64();
    overlay.overlay = 0x31; // odd length: the checksum's last byte counts alone
    overlay.checksum = true;
    v.push(("tiny-amd64-overlay-odd.exe", build(&overlay)));
    // Optional parts broken, headers fine: summarised with per-part errors.
    let mut past = amd64();
    past.cert = Some(win_certificate(b"short"));
    past.cert_size_override = Some(0x10_0000);
    v.push(("partial-cert-past-eof.exe", build(&past)));
    let mut badlc = amd64();
    badlc.bad_load_config = true;
    v.push(("partial-loadconfig-unmapped.exe", build(&badlc)));
    let mut badname = amd64();
    badname.sections[2].name = ".data";
    let mut bytes = build(&badname);
    // Rename .data to a long-name reference into a string table that does not exist.
    let sec2 = 0x40 + 4 + 20 + 240 + 80;
    bytes[sec2..sec2 + 8].copy_from_slice(b"/999999\0");
    put32(&mut bytes, 0x40 + 4 + 8, 0x00ff_0000);
    v.push(("partial-longname-past-eof.exe", bytes));
    v
}

fn err_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let good = build(&base(0x8664, true, 3));
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        ("empty.bin", Vec::new()),
        ("text.txt", b"not a PE file at all\n".to_vec()),
        ("mz-only.exe", good[..0x40].to_vec()),
        ("truncated-in-coff-header.exe", good[..0x50].to_vec()),
    ];
    let mut sig = good.clone();
    sig[0x40..0x44].copy_from_slice(b"NE\0\0");
    v.push(("bad-pe-signature.exe", sig));
    let mut huge = good.clone();
    put32(&mut huge, 0x3c, 0xffff_fff0);
    v.push(("lfanew-huge.exe", huge));
    let mut magic = good.clone();
    put16(&mut magic, 0x40 + 24, 0x0107);
    v.push(("rom-optional-magic.exe", magic));
    v
}

/// Files the Windows loader reads differently from what the PE specification says a linker
/// writes: each is summarised as the loader sees it, the oddity in `errors`.
fn loader_fixtures() -> Vec<(&'static str, Vec<u8>)> {
    let amd64 = || base(0x8664, true, 3);
    let good = build(&amd64());
    let mut v: Vec<(&'static str, Vec<u8>)> = vec![
        // Files that end inside their headers: the loader reads the rest as zeros.
        ("truncated-in-optional-header.exe", good[..0x80].to_vec()),
        ("truncated-in-section-table.exe", good[..0x1a0].to_vec()),
        ("short-pe32-97.exe", short_pe32_97()),
    ];
    // SizeOfOptionalHeader only locates the section table.
    let mut small = good.clone();
    put16(&mut small, 0x40 + 4 + 16, 0x10);
    v.push(("size-of-optional-header-too-small.exe", small));
    let mut zero = amd64();
    zero.sections.clear();
    zero.size_of_optional = Some(0);
    let mut zero = build(&zero);
    // No sections: the code is in the headers, at the entry point.
    put32(&mut zero, 0x40 + 24 + 16, 0x1f0);
    zero[0x1f0] = 0xc3;
    put32(&mut zero, 0x40 + 24 + 56, 0x1000); // SizeOfImage: the header page
    v.push(("optional-size-zero.exe", zero));
    let mut overlap = amd64();
    overlap.size_of_optional = Some(0x70 + 8 * 8);
    v.push(("optional-size-overlaps-directories.exe", build(&overlap)));
    // 65,535 section headers in a 2 KiB file: the loader reads zeros past its end.
    let mut many = good.clone();
    put16(&mut many, 0x40 + 4 + 2, 0xffff);
    v.push(("65535-sections.exe", many));
    // A section table longer than the first 4 KiB read: read as far as it goes.
    let mut long = amd64();
    for _ in 0..110 {
        long.sections.push(Sec {
            name: ".bss",
            characteristics: DATA,
            data: Vec::new(),
        });
    }
    v.push(("sections-past-first-read.exe", build(&long)));
    // MSVC x86: LOAD_CONFIG directory size 0x40, the structure's Size 0xC0, /guard:cf flags.
    let mut lc = base(0x014c, false, 3);
    lc.dll |= 0x4000; // GUARD_CF
    lc.load_config = Some((0x0001_0500, 0));
    lc.lc_dir_size = Some(0x40);
    v.push(("pe32-loadconfig-dirsize-0x40.exe", build(&lc)));
    v.push(("overlay-unaligned-raw-pointer.exe", unaligned_raw_pointer()));
    // A security directory that points past the end of the file: not a signature.
    let mut outside = build(&amd64());
    let dirs = 0x40 + 24 + 112;
    put32(&mut outside, dirs + 8 * 4, 0x0010_0000);
    put32(&mut outside, dirs + 8 * 4 + 4, 0x0800);
    v.push(("cert-table-outside-file.exe", outside));
    v
}

/// 97 bytes in the shape of Alexander Sotirov's TinyPE: `e_lfanew` 4, so the PE headers
/// overlap the DOS header and `SectionAlignment` (at 0x3c) doubles as `e_lfanew`; the file ends
/// inside the optional header with the low byte of `Subsystem` (GUI), and the one section
/// header overlaps the optional header and runs past the end of the file.
fn short_pe32_97() -> Vec<u8> {
    let mut b = vec![0u8; 97];
    b[0..2].copy_from_slice(b"MZ");
    b[4..8].copy_from_slice(b"PE\0\0");
    put16(&mut b, 8, 0x014c); // Machine
    put16(&mut b, 10, 1); // NumberOfSections
    b[12..15].copy_from_slice(&[0x6a, 0x2a, 0x58]); // push 42; pop eax
    b[15] = 0xc3; // ret: the entry point, in TimeDateStamp
    let oh = 28;
    put16(&mut b, 24, 0x2c); // SizeOfOptionalHeader: the section table at 0x48
    put16(&mut b, 26, 0x0103); // RELOCS_STRIPPED | EXECUTABLE_IMAGE | 32BIT_MACHINE
    put16(&mut b, oh, 0x10b);
    put32(&mut b, oh + 16, 12); // AddressOfEntryPoint
    put32(&mut b, oh + 28, 0x40_0000); // ImageBase
    put32(&mut b, oh + 32, 4); // SectionAlignment, also e_lfanew
    put32(&mut b, oh + 36, 4); // FileAlignment
    put16(&mut b, oh + 48, 4); // MajorSubsystemVersion
    put32(&mut b, oh + 56, 0x68); // SizeOfImage
    put32(&mut b, oh + 60, 0x64); // SizeOfHeaders
    b[oh + 68] = 2; // Subsystem WINDOWS_GUI, the file's last byte
    b
}

/// The last section's PointerToRawData (0x608) and SizeOfRawData (0x1e0) unaligned to the
/// 0x200 FileAlignment, then 448 bytes of overlay: the loader maps 0x600..0x800.
fn unaligned_raw_pointer() -> Vec<u8> {
    let mut spec = base(0x8664, true, 3);
    spec.overlay = 448;
    let mut b = build(&spec);
    let last = 0x40 + 24 + 240 + 40 * 2;
    put32(&mut b, last + 16, 0x1e0);
    put32(&mut b, last + 20, 0x608);
    b
}

pub(crate) fn run(_args: &[String]) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("fixtures")
        .join("pe");
    for (dir, files) in [
        ("ok", ok_fixtures()),
        ("err", err_fixtures()),
        ("loader", loader_fixtures()),
    ] {
        let dir = root.join(dir);
        std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
        for (name, bytes) in files {
            let path = dir.join(name);
            std::fs::write(&path, &bytes).with_context(|| format!("write {}", path.display()))?;
            println!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
    }
    Ok(())
}
