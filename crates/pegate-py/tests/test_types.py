"""The stubs are checked with mypy (strict) together with a typed caller of the API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pegate


def test_mypy_accepts_the_stubs_and_a_typed_caller() -> None:
    here = Path(__file__).parent
    package = Path(pegate.__file__).parent
    result = subprocess.run(
        [
            sys.executable, "-m", "mypy", "--config-file", str(here.parent / "pyproject.toml"),
            "--strict", "--no-incremental", "--warn-unused-ignores",
            "--python-version", "3.10",
            str(here / "typed_usage.py"),
            str(package),
        ],
        capture_output=True,
        text=True,
        cwd=here,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
