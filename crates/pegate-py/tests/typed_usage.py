"""Checked by mypy (test_types.py), never run: how a typed caller uses pegate. A stub that
drifts from these calls fails the check."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pegate
import pegate.spark


def summarise(paths: List[Path]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for report in pegate.inspect_many(paths, threads=2, signature=False):
        machine: Optional[str] = report["machine"]
        counts[machine or "?"] = counts.get(machine or "?", 0) + 1
    return counts


def one(path: str, data: bytes) -> List[Any]:
    try:
        full: Dict[str, Any] = pegate.inspect(path, full=True, sha256=True, trust=Path("ca.pem"))
    except pegate.PeIoError as e:
        return [str(e)]
    except pegate.PeError:
        return []
    brief = pegate.inspect(data, name="upload.exe", buildinfo=False, imports=True)
    info = pegate.buildinfo(data)
    verdict: str = pegate.verify(path, sha256=True)["status"]
    report = pegate.gate([path], "pegate.toml", now="2026-12-01")
    boms = pegate.sbom([path], "spdx", created="0")
    columns = pegate.spark.column_types()
    return [full, brief, info, verdict, report, boms, columns, pegate.schema(), pegate.__version__]


def wrong(path: str) -> None:
    pegate.inspect(path, signatures=True)  # type: ignore[call-arg]
    pegate.sbom([path], "xml")  # type: ignore[arg-type]
    pegate.inspect_many(path, threads="2")  # type: ignore[arg-type]
