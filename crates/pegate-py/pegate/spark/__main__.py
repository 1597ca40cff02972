"""``python -m pegate.spark scan INPUT... --out OUT.parquet``: a fleet scan from the shell.

Runs on a local Spark (``local[*]``) by default, on a cluster with ``--master``; writes the scan
(:data:`pegate.spark.COLUMNS`) as Parquet and prints how many files it inspected.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

from . import scan


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pegate.spark",
        description="Inspect PE files with pegate on Apache Spark and write one row per file.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("scan", help="scan files, directories or globs into a Parquet table")
    run.add_argument("inputs", nargs="+", metavar="INPUT", help="files, directories or globs")
    run.add_argument("--out", required=True, help="the Parquet output (a directory, as Spark writes it)")
    run.add_argument("--master", default="local[*]", help="Spark master URL (default: local[*])")
    run.add_argument(
        "--source",
        choices=["binaryFile", "paths"],
        default="binaryFile",
        help="read the files through Spark (default), or hand the executors paths they open",
    )
    run.add_argument("--partitions", type=int, default=None, help="number of tasks")
    run.add_argument("--mode", default="errorifexists", help="Spark save mode (overwrite, append, ...)")
    args = parser.parse_args(argv)

    import os

    from pyspark.sql import SparkSession

    if args.master.startswith("local"):
        # Local workers run this interpreter, the one pegate is installed in.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    spark = SparkSession.builder.master(args.master).appName("pegate scan").getOrCreate()
    try:
        started = time.monotonic()
        frame = scan(spark, args.inputs, source=args.source, partitions=args.partitions)
        frame.write.mode(args.mode).parquet(args.out)
        count = spark.read.parquet(args.out).count()
        elapsed = time.monotonic() - started
        print(f"pegate: {count} files inspected into {args.out} in {elapsed:.1f} s", file=sys.stderr)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
