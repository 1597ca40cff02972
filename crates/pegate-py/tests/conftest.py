"""Shared fixtures of the Python suite: the repository, the `pegate` CLI it is compared with, the
fixtures and the differential corpus (`cargo xtask corpus`)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Sequence

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
IN_CI = os.environ.get("CI", "") not in ("", "0", "false")


def fixture_files() -> List[Path]:
    """Every committed PE fixture, good and bad (sorted)."""
    dirs = ["pe/ok", "pe/err", "authenticode", "gate"]
    return sorted(p for d in dirs for p in (FIXTURES / d).iterdir() if p.is_file())


def corpus_dir() -> Path:
    return Path(os.environ.get("PEGATE_CORPUS") or ROOT / "target" / "pegate-corpus")


def corpus_files() -> List[Path]:
    """The differential corpus's files, as its index lists them; fails in CI when it is missing
    (`.ci/setup` fetches it), skips elsewhere."""
    index = corpus_dir() / "index.json"
    if not index.is_file():
        message = f"no corpus at {index.parent}: run `cargo xtask corpus` (or set PEGATE_CORPUS)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    files = json.loads(index.read_text())["files"]
    return [corpus_dir() / f["path"] for f in files]


def pegate_bin() -> Path:
    """The CLI the bindings are compared with: $PEGATE_BIN, else the debug build."""
    explicit = os.environ.get("PEGATE_BIN")
    if explicit:
        return Path(explicit)
    target = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    path = target / "debug" / ("pegate.exe" if os.name == "nt" else "pegate")
    if not path.is_file():
        pytest.fail(f"no pegate CLI at {path}: `cargo build --bin pegate` or set PEGATE_BIN")
    return path


def cli(*args: str, check_codes: Sequence[int] = (0, 1)) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(pegate_bin()), *args], capture_output=True, text=True, encoding="utf-8"
    )
    assert result.returncode in check_codes, (args, result.returncode, result.stderr)
    return result


def cli_jsonl(*args: str) -> List[Dict[str, Any]]:
    """`pegate inspect --format jsonl ARGS`, one object per line."""
    out = cli("inspect", "--format", "jsonl", *args).stdout
    return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="session")
def fixtures() -> List[Path]:
    return fixture_files()


@pytest.fixture(scope="session")
def corpus() -> List[Path]:
    return corpus_files()
