#!/usr/bin/env python3
"""pefile's and LIEF's reading of PE files, as JSON, for pegate's differential test.

Usage: pe_oracle.py LIST_FILE > facts.json
       pe_oracle.py --imports LIST_FILE > imports.json
LIST_FILE holds one path per line. The output maps each path to
{"pefile": {...}, "lief": {...}}, each either the facts below or {"error": "..."}; with
--imports, to {"pefile": [{"dll", "by_name", "by_ordinal", "delay"}, ...]} (or {"error": ...}).
Facts are the tools' own answers, unnormalised but for turning enums into integers:
the Rust side (tests/integration/differential.rs) decides how to compare them.

One process for all files: starting Python and importing LIEF costs more than parsing a file.
"""

import json
import sys

import lief
import pefile

LOAD_CONFIG = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_LOAD_CONFIG"]
IMPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"]
DELAY_IMPORT = pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"]
MACHINE_AMD64 = 0x8664
MACHINE_ARM64 = 0xAA64
DLL = 0x2000


def hybrid(machine, chpe):
    # The same rule as pegate's and llvm-readobj's: a CHPE metadata pointer in the load config
    # of an AMD64 image is ARM64EC, of an ARM64 image ARM64X.
    if not chpe:
        return None
    return {MACHINE_AMD64: "ARM64EC", MACHINE_ARM64: "ARM64X"}.get(machine)


def with_pefile(path):
    pe = pefile.PE(path, fast_load=True)
    try:
        pe.parse_data_directories(directories=[LOAD_CONFIG])
        machine = pe.FILE_HEADER.Machine
        lc = getattr(pe, "DIRECTORY_ENTRY_LOAD_CONFIG", None)
        lc = lc.struct if lc is not None else None
        overlay = pe.get_overlay_data_start_offset()
        size = len(pe.__data__)
        return {
            "magic": pe.OPTIONAL_HEADER.Magic,
            "machine": machine,
            "subsystem": pe.OPTIONAL_HEADER.Subsystem,
            "dll": bool(pe.FILE_HEADER.Characteristics & DLL),
            "section_count": len(pe.sections),
            "section_names": [s.Name.rstrip(b"\0").decode("latin-1") for s in pe.sections],
            "checksum_stored": pe.OPTIONAL_HEADER.CheckSum,
            "checksum_computed": pe.generate_checksum(),
            "guard_flags": getattr(lc, "GuardFlags", None) if lc is not None else None,
            "hybrid": hybrid(machine, getattr(lc, "CHPEMetadataPointer", 0) if lc is not None else 0),
            "overlay": None if overlay is None else [overlay, size - overlay],
        }
    finally:
        pe.close()


def with_lief(path):
    b = lief.PE.parse(path)
    if b is None:
        raise ValueError("lief.PE.parse returned None")
    lc = b.load_configuration
    guard = getattr(lc, "guard_flags", None) if lc is not None else None
    overlay_size = len(b.overlay)
    return {
        "magic": 0x20B if b.optional_header.magic == lief.PE.PE_TYPE.PE32_PLUS else 0x10B,
        "machine": int(b.header.machine.value),
        "subsystem": int(b.optional_header.subsystem.value),
        "dll": bool(int(b.header.characteristics) & DLL),
        "section_count": len(b.sections),
        "section_names": [s.name for s in b.sections],
        "checksum_stored": b.optional_header.checksum,
        "checksum_computed": b.compute_checksum(),
        "guard_flags": None if guard is None else int(guard),
        "hybrid": "ARM64X" if b.is_arm64x else "ARM64EC" if b.is_arm64ec else None,
        "overlay": [b.overlay_offset, overlay_size] if overlay_size else None,
    }


def imports_with_pefile(path):
    pe = pefile.PE(path, fast_load=True)
    try:
        pe.parse_data_directories(directories=[IMPORT, DELAY_IMPORT])
        out = []
        for delay, attr in ((False, "DIRECTORY_ENTRY_IMPORT"), (True, "DIRECTORY_ENTRY_DELAY_IMPORT")):
            for entry in getattr(pe, attr, []):
                out.append({
                    "dll": (entry.dll or b"").decode("latin-1"),
                    "by_name": sum(1 for i in entry.imports if i.import_by_ordinal is False),
                    "by_ordinal": sum(1 for i in entry.imports if i.import_by_ordinal is True),
                    "delay": delay,
                })
        return out
    finally:
        pe.close()


def main():
    lief.logging.disable()
    if sys.argv[1] == "--imports":
        with open(sys.argv[2], encoding="utf-8") as f:
            paths = [line.rstrip("\n") for line in f if line.strip()]
        out = {}
        for path in paths:
            try:
                out[path] = {"pefile": imports_with_pefile(path)}
            except Exception as e:
                out[path] = {"pefile": {"error": f"{type(e).__name__}: {e}"}}
        json.dump(out, sys.stdout)
        return
    with open(sys.argv[1], encoding="utf-8") as f:
        paths = [line.rstrip("\n") for line in f if line.strip()]
    out = {}
    for path in paths:
        facts = {}
        for name, reader in (("pefile", with_pefile), ("lief", with_lief)):
            try:
                facts[name] = reader(path)
            except Exception as e:  # the oracle's refusal is a fact to compare too
                facts[name] = {"error": f"{type(e).__name__}: {e}"}
        out[path] = facts
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
