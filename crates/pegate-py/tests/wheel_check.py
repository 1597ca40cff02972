#!/usr/bin/env python3
"""The built wheel in a clean venv (issue 28's "Done when"), run by .ci/run, not by pytest:

    python3 wheel_check.py VENV_PYTHON PEGATE_CLI FILE...

VENV_PYTHON is a venv made without --system-site-packages into which only the wheel was
installed (``pip install --no-index``: it pulls nothing). For each FILE this runs, in that venv,
exactly ``python -c "import pegate; print(pegate.inspect(FILE))"`` and compares what it prints
(a Python dict's repr, read back with ``ast.literal_eval``) with the object ``pegate inspect
--format json FILE`` prints, key order included; then checks that the module came from the venv
(not this source tree) and that the venv holds nothing else (pefile, for one, is not there).
Exit 0 when all agree, 1 with the differences otherwise.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from typing import Any, List


def run(args: List[str]) -> str:
    result = subprocess.run(args, capture_output=True, text=True, encoding="utf-8", cwd="/")
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(args)}: exit {result.returncode}\n{result.stderr}")
    return result.stdout


def main(argv: List[str]) -> int:
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    # Absolute: the venv runs from / so that this source tree cannot be what it imports.
    python, cli = os.path.abspath(argv[0]), os.path.abspath(argv[1])
    files = [os.path.abspath(f) for f in argv[2:]]
    problems = []
    for path in files:
        printed = run([python, "-c", "import pegate; print(pegate.inspect(%r))" % path])
        ours: Any = ast.literal_eval(printed.strip())
        (theirs,) = json.loads(run([cli, "inspect", "--format", "json", path]))
        if ours != theirs or list(ours) != list(theirs):
            problems.append(f"{path}:\n  python: {ours}\n  cli:    {theirs}")
    where = run([python, "-c", "import pegate, sys; print(pegate.__file__); print(sys.prefix)"])
    module, prefix = where.split()
    if not module.startswith(prefix) or "site-packages" not in module:
        problems.append(f"pegate was imported from {module}, not from the venv at {prefix}")
    others = run([python, "-c", "import importlib.util as u; print([m for m in ('pefile', 'pyspark', 'pytest') if u.find_spec(m)])"])
    if others.strip() != "[]":
        problems.append(f"the venv is not clean: it also has {others.strip()}")
    for p in problems:
        print(p, file=sys.stderr)
    print(f"wheel in a clean venv: {len(files)} files, {'OK' if not problems else 'FAILED'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
