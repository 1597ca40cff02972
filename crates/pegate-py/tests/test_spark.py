"""The Spark scan on ``local[2]``: one row per file, the verdicts `pegate inspect` gives, the
schema read from pegate's JSON schema, and the shell entry point writing Parquet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import pegate
import pegate.spark
from conftest import FIXTURES, cli_jsonl

from pyspark.sql import SparkSession


@pytest.fixture(scope="module")
def spark() -> Iterator[SparkSession]:
    # The workers must run this interpreter (the venv pegate is installed in), not `python3`.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("pegate-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.memory", "2g")
        # binaryFile rows carry whole files: small Arrow batches bound the workers' memory.
        .config("spark.sql.execution.arrow.maxRecordsPerBatch", "64")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def local(path: str) -> str:
    """binaryFile's `file:/x` URI as the path the CLI was given."""
    return path[len("file:"):] if path.startswith("file:") else path


def test_columns_come_from_the_json_schema() -> None:
    types = dict(pegate.spark.column_types())
    assert [c.name for c in pegate.spark.COLUMNS] == list(types)
    assert types["path"] == "string" and types["size"] == "bigint"
    assert types["characteristics"] == "array<string>"
    assert types["dependency_count"] == "bigint" and types["signing_time"] == "bigint"
    # A pointer to a field the schema does not have fails, not a silent null column.
    with pytest.raises(KeyError):
        pegate.spark._node_at(pegate.schema(), "/go/no_such_field")


def check_against_cli(rows: List[Dict[str, Any]], files: List[Path]) -> None:
    assert len(rows) == len(files)
    by_path = {local(r["path"]): r for r in rows}
    assert sorted(by_path) == sorted(str(f) for f in files)
    cli = {line["path"]: line for line in cli_jsonl("--sha256", *[str(f) for f in files])}
    for path, row in by_path.items():
        line = cli[path]
        status = line["signature"]["status"] if line["signature"] else None
        assert row["signature_status"] == status, path
        assert row["machine"] == line.get("machine"), path
        assert row["sha256"] == line["sha256"], path
        assert row["size"] == os.path.getsize(path), path
        go = line["go"]
        assert row["go_version"] == (go["go_version"] if go else None), path
        assert (row["error"] is None) == (line["error"] is None), path


@pytest.mark.parametrize("source", ["binaryFile", "paths"])
def test_scan_fixtures(spark: SparkSession, source: str) -> None:
    files = sorted(p.resolve() for d in ["authenticode", "pe/ok", "pe/err", "gate"] for p in (FIXTURES / d).iterdir() if p.is_file())
    inputs = [str(FIXTURES.resolve() / d) for d in ["authenticode", "pe/ok", "pe/err", "gate"]]
    if source == "binaryFile":
        # Spark's file listing leaves out empty files (fixtures/pe/err/empty.bin): binaryFile
        # never sees them; the paths source hands pegate every file.
        files = [f for f in files if f.stat().st_size > 0]
    frame = pegate.spark.scan(spark, inputs, source=source, partitions=2)
    assert frame.schema.simpleString() == f"struct<{','.join(f'{n}:{t}' for n, t in pegate.spark.column_types())}>"
    rows = [r.asDict() for r in frame.collect()]
    check_against_cli(rows, files)
    signed = [r for r in rows if r["signature_status"] == "signed-untrusted"]
    assert signed and all(r["signer"] and r["signing_time"] for r in signed if "no-timestamp" not in r["path"])
    go = [r for r in rows if r["go_version"]]
    assert go and all(r["dependency_count"] is not None for r in go)


def test_scan_corpus(spark: SparkSession, corpus: List[Path]) -> None:
    files = sorted(p.resolve() for p in corpus)
    root = os.path.commonpath([str(f) for f in files])
    # Spark's file listing hides empty files and names (of files or directories) starting with
    # `_` or `.` (`_speedups.pyd`): binaryFile never sees those.
    files = [
        f for f in files
        if f.stat().st_size > 0
        and not any(part.startswith(("_", ".")) for part in f.relative_to(root).parts)
    ]
    frame = pegate.spark.scan(spark, root)
    rows = [r.asDict() for r in frame.collect()]
    # The corpus directory holds index.json and the anchors too: compare the PE files only.
    rows = [r for r in rows if Path(local(r["path"])) in set(files)]
    check_against_cli(rows, files)


def test_shell_entry_point_writes_parquet(tmp_path: Path) -> None:
    out = tmp_path / "scan.parquet"
    result = subprocess.run(
        [sys.executable, "-m", "pegate.spark", "scan", str(FIXTURES / "authenticode"), "--out", str(out), "--master", "local[2]"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    import pyarrow.parquet as pq

    table = pq.read_table(out)
    files = [p for p in (FIXTURES / "authenticode").iterdir() if p.is_file()]
    assert table.num_rows == len(files)
    assert table.schema.names == [c.name for c in pegate.spark.COLUMNS]
    assert f"{len(files)} files inspected" in result.stderr
