"""Differential test against pefile (``fast_load=True``, as bulk scanners use it) on the corpus,
for the header fields both report. Where pefile parses a file, every field must agree; a file
pefile rejects must be one pegate reports an error for too, or one listed below with the reason.
(The Rust suite's tests/integration/differential.rs compares the library with pefile, LIEF and
llvm-readobj in depth; this one holds the Python objects to the same answers.)"""

from __future__ import annotations

from typing import Any, Dict, List, Tuple
from pathlib import Path

import pefile
import pytest

import pegate
from conftest import FIXTURES, corpus_dir

#: Our field names as the Rust differential test's exceptions name them.
EXCEPTION_FIELDS = {"format": "format", "machine_raw": "machine", "subsystem_raw": "subsystem",
                    "checksum_stored": "checksum_stored", "parse": "parse"}


def accepted(path: Path, field: str) -> bool:
    """Whether fixtures/differential-exceptions.toml reasons this difference with pefile away
    (the same list, and reasons, the Rust differential test holds pefile to)."""
    import fnmatch
    import tomllib

    listed = tomllib.loads((FIXTURES / "differential-exceptions.toml").read_text())["exception"]
    try:
        relative = path.relative_to(corpus_dir()).as_posix()
    except ValueError:
        return False
    name = EXCEPTION_FIELDS.get(field)
    return name is not None and any(
        e["oracle"] in ("pefile", "*") and fnmatch.fnmatch(relative, e["file"]) and fnmatch.fnmatch(name, e["field"])
        for e in listed
    )


def pefile_fields(path: Path) -> Dict[str, Any]:
    pe = pefile.PE(str(path), fast_load=True)
    try:
        fh, oh = pe.FILE_HEADER, pe.OPTIONAL_HEADER
        return {
            "format": "PE32+" if oh.Magic == 0x20B else "PE32",
            "machine_raw": fh.Machine,
            "characteristics": fh.Characteristics,
            "timestamp": fh.TimeDateStamp,
            "number_of_symbols": fh.NumberOfSymbols,
            "subsystem_raw": oh.Subsystem,
            "dll_characteristics": oh.DllCharacteristics,
            "image_base": oh.ImageBase,
            "entry_point": oh.AddressOfEntryPoint,
            "section_alignment": oh.SectionAlignment,
            "file_alignment": oh.FileAlignment,
            "size_of_image": oh.SizeOfImage,
            "size_of_headers": oh.SizeOfHeaders,
            "checksum_stored": oh.CheckSum,
            "linker_version": f"{oh.MajorLinkerVersion}.{oh.MinorLinkerVersion}",
            "file_size": len(pe.__data__),
        }
    finally:
        pe.close()


def pegate_fields(r: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "format": r["format"],
        "machine_raw": r["machine_raw"],
        "characteristics": r["characteristics"]["raw"],
        "timestamp": r["timestamp"],
        "number_of_symbols": r["number_of_symbols"],
        "subsystem_raw": r["subsystem_raw"],
        "dll_characteristics": r["dll_characteristics"]["raw"],
        "image_base": r["image_base"],
        "entry_point": r["entry_point"],
        "section_alignment": r["section_alignment"],
        "file_alignment": r["file_alignment"],
        "size_of_image": r["size_of_image"],
        "size_of_headers": r["size_of_headers"],
        "checksum_stored": r["checksum"]["stored"] if r["checksum"] else None,
        "linker_version": r["linker_version"],
        "file_size": r["file_size"],
    }


def compare(files: List[Path]) -> Tuple[int, List[str]]:
    records = pegate.inspect_many([str(f) for f in files], full=True, signature=False, checksum=True)
    compared, problems = 0, []
    for path, record in zip(files, records):
        try:
            theirs = pefile_fields(path)
        except pefile.PEFormatError as e:
            if record["format"] is not None and not accepted(path, "parse"):
                problems.append(f"{path}: pefile rejects it ({e}), pegate reads it")
            continue
        if record["format"] is None and not accepted(path, "parse"):
            problems.append(f"{path}: pefile reads it, pegate: {record['error']}")
            continue
        if record["format"] is None:
            continue
        ours = pegate_fields(record)
        for field, value in theirs.items():
            if ours[field] != value and not accepted(path, field):
                problems.append(f"{path}: {field}: pegate {ours[field]!r}, pefile {value!r}")
        compared += 1
    return compared, problems


def test_fixtures_agree_with_pefile() -> None:
    files = sorted(p for d in ["pe/ok", "authenticode"] for p in (FIXTURES / d).iterdir() if p.suffix in (".exe", ".dll", ".pyd", ".efi"))
    compared, problems = compare(files)
    assert not problems, "\n".join(problems)
    assert compared == len(files)


def test_corpus_agrees_with_pefile(corpus: List[Path]) -> None:
    compared, problems = compare(corpus)
    assert not problems, "\n".join(problems)
    assert compared >= 0.95 * len(corpus)
