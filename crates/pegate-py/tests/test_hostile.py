"""No input crashes the interpreter: every fixture, the corpus, the fuzz targets' seed corpora
(fuzz/make-corpus.py) and the fuzz regressions go through every entry point, as paths and as
bytes, in a child interpreter whose exit status is checked (a crash would kill it, not raise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import FIXTURES, ROOT, corpus_dir

SWEEP = r"""
import sys
import pegate

ok = failed = 0
paths = [line for line in open(sys.argv[1], encoding="utf-8").read().splitlines() if line]
for path in paths:
    data = open(path, "rb").read()
    # A path and the bytes take different readers (positioned reads, one slice): both.
    for source, kwargs in ((path, {"full": True, "imports": True}),
                           (data, {"full": True, "imports": True, "sha256": True, "checksum": True})):
        try:
            pegate.inspect(source, **kwargs)
            ok += 1
        except pegate.PeError:
            failed += 1
    for call, source in ((pegate.verify, data), (pegate.buildinfo, path)):
        try:
            call(source)
        except pegate.PeError:
            pass
results = pegate.inspect_many(paths, full=True, imports=True, threads=2)
assert len(results) == len(paths)
print(len(paths), ok, failed)
"""


def sweep(files: List[Path], tmp_path: Path) -> None:
    listing = tmp_path / "files.txt"
    listing.write_text("\n".join(str(f) for f in files), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", SWEEP, str(listing)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-4000:]
    count, ok, failed = map(int, result.stdout.split())
    assert count == len(files) and ok + failed == 2 * len(files)


def test_fuzz_corpora_and_regressions(tmp_path: Path) -> None:
    seeds = tmp_path / "corpus"
    subprocess.run([sys.executable, str(ROOT / "fuzz" / "make-corpus.py"), str(seeds)], check=True, capture_output=True)
    files = sorted(p for p in seeds.rglob("*") if p.is_file())
    files += sorted(p for p in (FIXTURES / "fuzz-regressions").rglob("*") if p.is_file())
    # Every target's seeds: the PE views, the certificate tables behind no header, Go blobs.
    assert len(files) > 500
    sweep(files, tmp_path)


def test_fixtures_and_corpus(tmp_path: Path, corpus: List[Path]) -> None:
    files = sorted(p for p in FIXTURES.rglob("*") if p.is_file() and p.stat().st_size < 64 << 20)
    sweep(files + corpus, tmp_path)
