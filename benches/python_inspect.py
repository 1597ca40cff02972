#!/usr/bin/env python3
"""pegate from Python against the Python tools, on the same 1,000+ corpus files in one run,
ratios printed (issue 28). Not a test: no timing is asserted.

    PEGATE_BENCH_ROUNDS=5 python3 benches/python_inspect.py      # in a venv with pegate installed

- headers: ``pegate.inspect_many(signature=False, buildinfo=False)`` (all cores, and one thread)
  against ``pefile.PE(fast_load=True)`` and ``lief.PE.parse`` (headers-only parser config, and
  the default) file by file in one thread, which is how they are used;
- signatures: ``pegate.inspect_many`` (default: verdicts) over the signed files against
  signify's ``AuthenticodeFile.explain_verify(multi_verify_mode="all")`` on each;
- the binding's per-call cost: ``pegate.inspect(path)`` and ``pegate.inspect(bytes)`` one file
  at a time, against the same call timed inside Rust (``pegate._pegate._rust_inspect_ns`` and
  ``_rust_inspect_bytes_ns``: the inspection alone, and with the brief object written as JSON),
  rounds interleaved, so the difference is what Python adds per call (argument conversion, the
  GIL released and taken back, the report turned into a dict).

The files: the differential corpus (``$PEGATE_CORPUS``, else target/pegate-corpus), hard-linked
under target/ until there are at least ``PEGATE_BENCH_FILES`` (default 1,000) distinct paths.
Medians of ``PEGATE_BENCH_ROUNDS`` rounds (default 5), warm page cache.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, List, Optional, Sequence

import pegate
from pegate import _pegate

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = int(os.environ.get("PEGATE_BENCH_ROUNDS", "5"))
FILES = int(os.environ.get("PEGATE_BENCH_FILES", "1000"))
# Which parts to run (comma-separated): headers, signatures, overhead.
SECTIONS = set(os.environ.get("PEGATE_BENCH_SECTIONS", "headers,signatures,overhead").split(","))


def corpus() -> List[Path]:
    base = Path(os.environ.get("PEGATE_CORPUS") or ROOT / "target" / "pegate-corpus")
    index = json.loads((base / "index.json").read_text())
    files = [base / f["path"] for f in index["files"]]
    if len(files) >= FILES:
        return files
    # Hard links: distinct paths, real complete files, no copies.
    links = ROOT / "target" / "python-bench-corpus"
    links.mkdir(parents=True, exist_ok=True)
    out = list(files)
    i = 0
    while len(out) < FILES:
        src = files[i % len(files)]
        dst = links / f"{i:05}-{src.name}"
        if not dst.exists():
            os.link(src, dst)
        out.append(dst)
        i += 1
    return out


def median_time(fn: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def loop(fn: Callable[[str], object], paths: Sequence[str]) -> Callable[[], None]:
    def run() -> None:
        for p in paths:
            try:
                fn(p)
            except Exception:  # noqa: BLE001 - a peer that rejects a file still spent the time
                pass

    return run


def main() -> int:
    import lief
    import pefile

    lief.logging.disable()
    files = corpus()
    paths = [str(p) for p in files]
    size = sum(p.stat().st_size for p in files)
    print(f"{len(paths)} files, {size / 1e6:.0f} MB, {ROUNDS} rounds, {os.cpu_count()} cores, "
          f"pegate {pegate.__version__}, pefile {pefile.__version__}, LIEF {lief.__version__}")
    for p in paths:  # warm the page cache
        Path(p).read_bytes()

    def per_file(label: str, seconds: float) -> str:
        return f"{label:<44} {seconds * 1e3:9.1f} ms  {seconds / len(paths) * 1e6:8.1f} us/file"

    # Headers.
    if "headers" in SECTIONS:
        headers(paths, per_file, lief, pefile)
    if "signatures" in SECTIONS:
        signatures(paths)
    if "overhead" in SECTIONS:
        overheads(paths)
    return 0


def headers(paths: List[str], per_file: Callable[[str, float], str], lief: object, pefile: object) -> None:
    ours_all = median_time(lambda: pegate.inspect_many(paths, signature=False, buildinfo=False))
    ours_one = median_time(lambda: pegate.inspect_many(paths, signature=False, buildinfo=False, threads=1))
    pefile_fast = median_time(loop(lambda p: pefile.PE(p, fast_load=True).close(), paths))
    config = lief.PE.ParserConfig()
    for attr in ("parse_signature", "parse_exports", "parse_imports", "parse_rsrc", "parse_reloc"):
        if hasattr(config, attr):
            setattr(config, attr, False)
    lief_headers = median_time(loop(lambda p: lief.PE.parse(p, config), paths))
    lief_default = median_time(loop(lambda p: lief.PE.parse(p), paths))
    print("\nheaders")
    print(per_file("pegate.inspect_many, all cores", ours_all))
    print(per_file("pegate.inspect_many, threads=1", ours_one))
    print(per_file("pefile.PE(fast_load=True)", pefile_fast))
    print(per_file("lief.PE.parse, headers-only config", lief_headers))
    print(per_file("lief.PE.parse, default", lief_default))
    print(f"  pefile / pegate: {pefile_fast / ours_all:.1f}x (all cores), {pefile_fast / ours_one:.1f}x (one thread)")
    print(f"  LIEF headers-only / pegate: {lief_headers / ours_all:.1f}x (all cores), {lief_headers / ours_one:.1f}x (one thread)")
    print(f"  LIEF default / pegate: {lief_default / ours_all:.1f}x (all cores), {lief_default / ours_one:.1f}x (one thread)")



def load_signify() -> object:
    """signify's ``AuthenticodeFile``, importable on OpenSSL 3.0.10 and later.

    signify 0.9.3 imports oscrypto 1.3.0, whose libcrypto version pattern reads one digit per
    part (``\\d\\.\\d\\.\\d``) and so fails with "Error detecting the version of libcrypto" on
    OpenSSL 3.0.10 and later; that one pattern is widened (``\\d+``) while oscrypto loads, as
    the signing tests do (crates/pegate-sign/tests/support/mod.rs), and nothing else changes.
    """
    import re

    search = re.search

    def wide(pattern, string, *args, **kwargs):  # type: ignore[no-untyped-def]
        if pattern == "\\b(\\d\\.\\d\\.\\d[a-z]*)\\b":
            pattern = "\\b(\\d+\\.\\d+\\.\\d+[a-z]*)\\b"
        return search(pattern, string, *args, **kwargs)

    re.search = wide  # type: ignore[assignment]
    try:
        import oscrypto.asymmetric  # noqa: F401
    finally:
        re.search = search
    from signify.authenticode import AuthenticodeFile

    return AuthenticodeFile


def signatures(paths: List[str]) -> None:
    briefs = pegate.inspect_many(paths, buildinfo=False)
    signed = [r["path"] for r in briefs if r["signature"] and r["signature"]["status"] != "unsigned"]
    try:
        authenticode_file = load_signify()
    except Exception as e:  # noqa: BLE001 - say why the peer is missing, and go on
        print(f"\nsignatures: signify does not load here ({type(e).__name__}: {e}); skipped")
        return
    if signed:

        def signify_verify(p: str) -> None:
            # Every signature of the file (pegate's verdict covers them all), against
            # signify's own trust store; a verdict, not an exception, for a file it rejects.
            with open(p, "rb") as f:
                authenticode_file.from_stream(f).explain_verify(multi_verify_mode="all")

        ours_sig = median_time(lambda: pegate.inspect_many(signed, buildinfo=False))
        ours_sig_one = median_time(lambda: pegate.inspect_many(signed, buildinfo=False, threads=1))
        theirs_sig = median_time(loop(signify_verify, signed))
        n = len(signed)
        print(f"\nsignatures ({n} signed files)")
        print(f"{'pegate.inspect_many, all cores':<44} {ours_sig * 1e3:9.1f} ms  {ours_sig / n * 1e6:8.1f} us/file")
        print(f"{'pegate.inspect_many, threads=1':<44} {ours_sig_one * 1e3:9.1f} ms  {ours_sig_one / n * 1e6:8.1f} us/file")
        print(f"{'signify explain_verify(all)':<44} {theirs_sig * 1e3:9.1f} ms  {theirs_sig / n * 1e6:8.1f} us/file")
        print(f"  signify / pegate: {theirs_sig / ours_sig:.1f}x (all cores), {theirs_sig / ours_sig_one:.1f}x (one thread)")


def overheads(paths: List[str]) -> None:
    # Per-call overhead of the binding, one thread, headers only: the same call timed from
    # Python and inside Rust, rounds interleaved (a loaded machine hits both alike).
    def overhead(label: str, python_call: Callable[[], None], rust_ns: Callable[[bool], float], n: int,
                 convert_ns: Optional[Callable[[], float]] = None) -> None:
        py_us, rust_us, rust_json_us = [], [], []
        for _ in range(max(ROUNDS, 7)):
            start = time.perf_counter()
            python_call()
            py_us.append((time.perf_counter() - start) / n * 1e6)
            rust_us.append(rust_ns(False) / 1e3)
            rust_json_us.append(rust_ns(True) / 1e3)
        py, rust, rust_json = (statistics.median(x) for x in (py_us, rust_us, rust_json_us))
        print(f"\nper call, one thread, headers only: {label}")
        print(f"{'from Python':<44} {py:8.2f} us")
        print(f"{'the same call in Rust':<44} {rust:8.2f} us")
        print(f"{'the same call + brief object to JSON in Rust':<44} {rust_json:8.2f} us")
        print(f"  binding overhead: {py - rust:.2f} us over the Rust call, "
              f"{py - rust_json:.2f} us over the call + JSON (medians of {len(py_us)} interleaved rounds)")
        if convert_ns is not None:
            convert = statistics.median(convert_ns() / 1e3 for _ in range(max(ROUNDS, 7)))
            print(f"  of which turning the brief object into Python objects (pythonize): {convert:.2f} us")

    sample = paths[: min(len(paths), 500)]
    overhead(f"pegate.inspect(path), {len(sample)} files",
             loop(lambda p: pegate.inspect(p, signature=False, buildinfo=False), sample),
             lambda ser: _pegate._rust_inspect_ns(sample, ser), len(sample),
             lambda: _pegate._rust_convert_ns(sample))
    # In memory, small files (the whole-file work of inspect_bytes is then small, so the
    # difference is not lost in it).
    small = sorted({Path(p).read_bytes() for p in paths if Path(p).stat().st_size <= 65536}, key=len)
    if small:
        def bytes_call() -> None:
            for data in small:
                pegate.inspect(data, signature=False, buildinfo=False)

        overhead(f"pegate.inspect(bytes), {len(small)} distinct files <= 64 KiB "
                 f"(median {statistics.median(len(d) for d in small) / 1024:.0f} KiB)",
                 bytes_call, lambda ser: _pegate._rust_inspect_bytes_ns(small, ser), len(small))


if __name__ == "__main__":
    sys.exit(main())
