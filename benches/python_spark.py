#!/usr/bin/env python3
"""The Spark scan against the CLI and against pefile in the same Spark job, on the same files in
one run (issue 28): files/s and MB/s of each, ratios printed. Not a test.

    PEGATE_BENCH_ROUNDS=3 python3 benches/python_spark.py      # in a venv with pegate installed

- ``pegate inspect --format jsonl --full --sha256`` over the files (the work the scan does per
  file: the full object, whose columns it keeps, and the SHA-256) (``$PEGATE_BIN``, else the release
  build under $CARGO_TARGET_DIR or target/), the one-machine baseline;
- ``pegate.spark.scan`` on ``local[*]``, ``binaryFile`` source and ``paths`` source, the rows
  counted (every row computed: ``count()`` of a ``mapInArrow`` output runs the function);
- the same ``binaryFile`` job with pefile (``fast_load=True``) plus hashlib's SHA-256 in the
  ``mapInArrow`` function instead of pegate: what a team running pefile on Spark runs today.

The files: as benches/python_inspect.py (the corpus, hard-linked up to PEGATE_BENCH_FILES).
Spark's start-up is not timed (one warm-up job first).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent))
from python_inspect import ROOT, ROUNDS, corpus  # noqa: E402

import pegate.spark  # noqa: E402


def pefile_batches(batches: Iterator["object"]) -> Iterator["object"]:
    import hashlib

    import pefile
    import pyarrow as pa

    for batch in batches:
        paths = batch.column("path").to_pylist()  # type: ignore[attr-defined]
        contents = batch.column("content")  # type: ignore[attr-defined]
        machines, sha = [], []
        for i in range(len(paths)):
            data = contents[i].as_py()
            sha.append(hashlib.sha256(data).hexdigest())
            try:
                pe = pefile.PE(data=data, fast_load=True)
                machines.append(pe.FILE_HEADER.Machine)
            except pefile.PEFormatError:
                machines.append(None)
        yield pa.RecordBatch.from_pydict({"path": paths, "machine": machines, "sha256": sha})


def main() -> int:
    from pyspark.sql import SparkSession

    # The workers run this interpreter (the venv with pegate), not the first python3 on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    files = corpus()
    listing = sorted({p.parent for p in files})
    size = sum(p.stat().st_size for p in files)
    n = len(files)
    binary = os.environ.get("PEGATE_BIN") or str(
        Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "release" / "pegate"
    )
    print(f"{n} files, {size / 1e6:.0f} MB, {ROUNDS} rounds, {os.cpu_count()} cores")

    def rate(label: str, seconds: float) -> None:
        print(f"{label:<46} {seconds:7.2f} s  {n / seconds:8.0f} files/s  {size / seconds / 1e6:7.1f} MB/s")

    def timed(fn) -> float:  # type: ignore[no-untyped-def]
        times = []
        for _ in range(ROUNDS):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    paths = [str(p) for p in files]
    if not Path(binary).is_file():
        raise SystemExit(f"no pegate CLI at {binary}: `cargo build --release --bin pegate` or set PEGATE_BIN")
    spark = (SparkSession.builder.master("local[*]").appName("pegate-bench")
             .config("spark.ui.enabled", "false").config("spark.driver.memory", "4g")
             # List the 1,000 named files on the driver: above this threshold (default 32 paths)
             # Spark lists them with a job of one task per path, which took 20 s of a 21 s scan.
             .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000000")
             .config("spark.ui.showConsoleProgress", "false")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        parts = spark.sparkContext.defaultParallelism
        pegate.spark.scan(spark, paths[:50], source="paths").count()  # warm-up
        scan_bin = timed(lambda: pegate.spark.scan(spark, paths, partitions=parts).count())
        scan_paths = timed(lambda: pegate.spark.scan(spark, paths, source="paths", partitions=parts).count())
        udf = timed(lambda: spark.read.format("binaryFile").load(paths).repartition(parts)
                    .mapInArrow(pefile_batches, "path string, machine bigint, sha256 string").count())
    finally:
        spark.stop()
    rate("pegate.spark.scan, binaryFile, local[*]", scan_bin)
    rate("pegate.spark.scan, paths, local[*]", scan_paths)
    rate("pefile + sha256 in mapInArrow, local[*]", udf)
    cli = timed(lambda: subprocess.run([binary, "inspect", "--format", "jsonl", "--full", "--sha256", *paths],
                                       stdout=subprocess.DEVNULL, check=False))
    rate(f"pegate inspect --format jsonl --full --sha256 ({binary})", cli)
    print(f"  Spark binaryFile / CLI: {scan_bin / cli:.1f}x the time; paths: {scan_paths / cli:.1f}x")
    print(f"  pefile job / pegate job (binaryFile): {udf / scan_bin:.2f}x; (paths): {udf / scan_paths:.2f}x")
    cores = os.cpu_count() or 1
    for label, seconds in [("CLI", cli), ("Spark binaryFile", scan_bin), ("Spark paths", scan_paths),
                           ("Spark pefile", udf)]:
        per_core = n / seconds / cores
        print(f"  {label:<17} {per_core:7.0f} files/s per core: 10 million files = "
              f"{1e7 / per_core / 3600:6.1f} core-hours")
    return 0


if __name__ == "__main__":
    sys.exit(main())
