#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the fixtures, deterministically.

    python3 fuzz/make-corpus.py            # writes fuzz/corpus/<target>/ (git-ignored)

pe_view, summary: every file of fixtures/pe/ and fixtures/authenticode/*.exe, plus mutated
copies of the small ones (header fields the loader is lenient about, truncations, byte flips).
authenticode: the certificate tables of the signed fixtures (the target puts its input behind a
valid PE header), the tiny fixtures whole, and mutated copies.
buildinfo: the start of .text (Go build ID) and of .data (the build-info blob) of the Go
fixtures, as the target lays them out, and hand-made pointer-format (Go < 1.18) blobs.
"""
import hashlib
import random
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"
rng = random.Random(13)


def write(target, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def pe_layout(b):
    """(optional header offset, section table offset, [(name, va, vsize, raw_ptr, raw_size, flags)])."""
    lfanew = struct.unpack_from("<I", b, 0x3C)[0]
    nsects, = struct.unpack_from("<H", b, lfanew + 6)
    opt_size, = struct.unpack_from("<H", b, lfanew + 20)
    opt = lfanew + 24
    sect = opt + opt_size
    out = []
    for i in range(nsects):
        name, vsize, va, raw_size, raw_ptr = struct.unpack_from("<8sIIII", b, sect + 40 * i)
        flags, = struct.unpack_from("<I", b, sect + 40 * i + 36)
        out.append((name.rstrip(b"\0"), va, vsize, raw_ptr, raw_size, flags))
    return opt, sect, out


def security_dir(b, opt):
    magic, = struct.unpack_from("<H", b, opt)
    dirs = opt + (112 if magic == 0x20B else 96)
    return struct.unpack_from("<II", b, dirs + 8 * 4)


def mutations(b, n):
    """n byte-level mutants of b: flips in the headers, truncations, field overwrites."""
    out = []
    for _ in range(n):
        m = bytearray(b)
        kind = rng.randrange(4)
        if kind == 0:
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(min(len(m), 0x400))
                m[i] ^= 1 << rng.randrange(8)
        elif kind == 1:
            m = m[: rng.randrange(1, len(m))]
        elif kind == 2:
            i = rng.randrange(max(1, min(len(m), 0x400) - 4))
            m[i : i + 4] = rng.choice([b"\0\0\0\0", b"\xff\xff\xff\xff", b"\x00\x10\x00\x00"])
        else:
            i = rng.randrange(len(m))
            m[i:i] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
        out.append(bytes(m))
    return out


def loader_oddities(b):
    """The issue-13 shapes: SizeOfOptionalHeader 0 or short, file cut inside its headers."""
    lfanew = struct.unpack_from("<I", b, 0x3C)[0]
    out = []
    for size in (0, 0x10, 0x60):
        m = bytearray(b)
        struct.pack_into("<H", m, lfanew + 20, size)
        out.append(bytes(m))
    out.append(b[:97])
    out.append(b[: lfanew + 24 + 0x40])
    return out


pe_files = sorted(p for p in (ROOT / "fixtures" / "pe").rglob("*") if p.is_file())
go_exes = sorted((ROOT / "fixtures" / "authenticode").glob("*.exe"))

# pe_view and summary
for target in ("pe_view", "summary"):
    for p in pe_files + go_exes:
        write(target, p.read_bytes())
    for p in pe_files:
        b = p.read_bytes()
        if len(b) < 0x80 or b[:2] != b"MZ":
            continue
        for m in mutations(b, 4):
            write(target, m)
        try:
            for m in loader_oddities(b):
                write(target, m)
        except struct.error:
            pass

# authenticode
tables = []
for p in go_exes:
    b = p.read_bytes()
    opt, _, _ = pe_layout(b)
    off, size = security_dir(b, opt)
    if off and size:
        tables.append(b[off : off + size])
for t in tables:
    write("authenticode", t)
    for m in mutations(t, 2):
        write("authenticode", m)
for name in ("tiny-amd64-certtable.exe", "partial-cert-past-eof.exe"):
    b = (ROOT / "fixtures" / "pe" / "ok" / name).read_bytes()
    write("authenticode", b)
    write("authenticode", b[0x800:])
# A tiny PE carrying a real signature, whole (the target also verifies its input as a file).
tiny = (ROOT / "fixtures" / "pe" / "ok" / "tiny-amd64-certtable.exe").read_bytes()[:0x800]
if tables:
    whole = bytearray(tiny) + tables[0]
    dir_at = 0x40 + 4 + 20 + 112 + 8 * 4
    struct.pack_into("<II", whole, dir_at, 0x800, len(tables[0]))
    write("authenticode", bytes(whole))

# buildinfo: the target lays the input out as the raw data of both .text and .data.
for p in go_exes:
    if "unsigned" not in p.name:
        continue
    b = p.read_bytes()
    _, _, sects = pe_layout(b)
    text = next(s for s in sects if s[5] & 0x20)
    data = next(s for s in sects if s[5] & ~0x600000 == 0xC0000040)
    head = b[text[3] : text[3] + 0x100]
    end = head.find(b'"\n', 16)
    build_id = head[: (end + 2 + 15) // 16 * 16] if end > 0 else b""
    blob = b[data[3] : data[3] + 0x4000]
    at = blob.find(b"\xff Go buildinf:")
    if at < 0:
        continue
    write("buildinfo", build_id + blob[at : at + 0x1000])
    write("buildinfo", blob[at : at + 0x400])
    for m in mutations(build_id + blob[at : at + 0x400], 3):
        write("buildinfo", m)

IMAGE_BASE, DATA_RVA = 0x400000, 0x100000


def pointer_blob(ptr, big):
    """A Go < 1.18 blob: header with the VAs of two string headers, then headers and bytes."""
    fmt = (">" if big else "<") + ("Q" if ptr == 8 else "I")
    version, modinfo = b"go1.17.13", (
        b"0w\xaf\x0c\x92t\x08\x02A\xe1\xc1\x07\xe6\xd6\x18\xe6"
        b"path\texample.com/hello\nmod\texample.com/hello\t(devel)\t\n"
        b"build\tGOARCH=amd64\n\xf92C1\x86\x18 r\x00\x82B\x10A\x16\xd8\xf2"
    )
    va = lambda off: IMAGE_BASE + DATA_RVA + off
    hdr = bytearray(b"\xff Go buildinf:" + bytes([ptr, 1 if big else 0]) + bytes(16))
    strings_at = 32
    s1, s2 = strings_at, strings_at + 2 * ptr
    bytes_at = s2 + 2 * ptr
    struct.pack_into(fmt, hdr, 16, va(s1))
    struct.pack_into(fmt, hdr, 16 + ptr, va(s2))
    body = struct.pack(fmt, va(bytes_at)) + struct.pack(fmt, len(version))
    body += struct.pack(fmt, va(bytes_at + len(version))) + struct.pack(fmt, len(modinfo))
    return bytes(hdr) + body + version + modinfo


for ptr in (4, 8):
    for big in (False, True):
        write("buildinfo", pointer_blob(ptr, big))

for t in sorted(OUT.iterdir()):
    files = list(t.iterdir())
    print(f"{t.name}: {len(files)} seeds, {sum(f.stat().st_size for f in files)} bytes")
