"""Fleet scans on Apache Spark: one typed row per file, inspected by pegate on the executors.

>>> from pyspark.sql import SparkSession                      # doctest: +SKIP
>>> import pegate.spark
>>> spark = SparkSession.builder.master("local[*]").getOrCreate()   # doctest: +SKIP
>>> df = pegate.spark.scan(spark, "/data/artifacts/**/*.exe")      # doctest: +SKIP
>>> df.groupBy("machine", "signature_status").count().show()        # doctest: +SKIP

The files are read with Spark's ``binaryFile`` source (any file system Spark reads), or, with
``source="paths"``, opened by pegate on the executors from a list of paths they can all reach
(a shared mount: no file bytes go through Spark). Each partition is inspected in one
``mapInArrow`` call, Arrow record batches in and out.

The table's columns are :data:`COLUMNS`: each names the field of ``pegate inspect --full``'s
JSON object it is read from, and its type is read from pegate's JSON schema
(``pegate.schema()``, ``schema/inspect.schema.json``), so the two cannot drift apart.
"""

from __future__ import annotations

import functools

from typing import TYPE_CHECKING, Any, Dict, Iterator, List, NamedTuple, Optional, Sequence, Set, Tuple, Union

import pegate

if TYPE_CHECKING:  # pragma: no cover
    import pyarrow
    from pyspark.sql import DataFrame, SparkSession


class Column(NamedTuple):
    """One column of the scan: its name, the JSON pointer (RFC 6901) of the field of
    ``pegate inspect --full``'s object it is read from, and whether it counts that array's
    items rather than taking the value."""

    name: str
    pointer: str
    counted: bool = False


#: The scan's columns, in order. ``size`` is the file's length as Spark or the file system
#: reports it, for every file, PE or not; the rest comes from pegate.
COLUMNS: Tuple[Column, ...] = (
    Column("path", "/path"),
    Column("size", "/file_size"),
    Column("sha256", "/sha256"),
    Column("format", "/format"),
    Column("machine", "/machine"),
    Column("subsystem", "/subsystem"),
    Column("characteristics", "/characteristics/flags"),
    Column("dll_characteristics", "/dll_characteristics/flags"),
    Column("timestamp", "/timestamp"),
    Column("signature_status", "/signature/status"),
    Column("signer", "/signature/signatures/0/signer_chain/0/subject"),
    Column("signing_time", "/signature/signatures/0/timestamps/0/time"),
    Column("go_version", "/go/go_version"),
    Column("go_path", "/go/path"),
    Column("main_module", "/go/main/path"),
    Column("main_version", "/go/main/version"),
    Column("dependency_count", "/go/deps", counted=True),
    Column("error", "/error"),
)

#: JSON schema types to Spark SQL (DDL) types.
_DDL = {"string": "string", "integer": "bigint", "boolean": "boolean"}


def _resolve(schema: Dict[str, Any], node: Dict[str, Any]) -> Dict[str, Any]:
    """Follows ``$ref`` and drops the ``null`` of a nullable ``anyOf``."""
    while True:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            node = {**schema["$defs"][name], **{k: v for k, v in node.items() if k != "$ref"}}
            continue
        alternatives = node.get("anyOf")
        if alternatives and any(a.get("type") == "null" for a in alternatives):
            rest = [a for a in alternatives if a.get("type") != "null"]
            if len(rest) == 1:
                node = rest[0]
                continue
        return node


def _json_types(schema: Dict[str, Any], node: Dict[str, Any]) -> Set[str]:
    """The non-null JSON types a schema node allows (its alternatives' when it has none)."""
    kind = node.get("type")
    if kind is not None:
        return {kind} if isinstance(kind, str) else set(kind)
    out: Set[str] = set()
    for alternative in node.get("oneOf", []) + node.get("anyOf", []):
        out |= _json_types(schema, _resolve(schema, alternative))
    return out


def _json_type(schema: Dict[str, Any], node: Dict[str, Any]) -> str:
    """The one non-null JSON type of a schema node."""
    kinds = _json_types(schema, node) - {"null"}
    if len(kinds) != 1:
        raise ValueError(f"no single JSON type in {node}")
    return kinds.pop()


def _node_at(schema: Dict[str, Any], pointer: str) -> Dict[str, Any]:
    """The schema of the field at ``pointer`` in a ``Record`` (``--full``'s object)."""
    node = _resolve(schema, schema["$defs"]["Record"])
    for part in pointer.strip("/").split("/"):
        if part.isdigit():
            node = _resolve(schema, node["items"])
        else:
            node = _resolve(schema, node["properties"][part])
    return node


def column_types(schema: Optional[Dict[str, Any]] = None) -> List[Tuple[str, str]]:
    """``(name, Spark SQL type)`` of every column, read from pegate's JSON schema."""
    schema = schema or pegate.schema()
    out = []
    for col in COLUMNS:
        node = _node_at(schema, col.pointer)
        kind = _json_type(schema, node)
        if col.counted:
            if kind != "array":
                raise ValueError(f"{col.name}: {col.pointer} is not an array")
            ddl = "bigint"
        elif kind == "array":
            ddl = f"array<{_DDL[_json_type(schema, _resolve(schema, node['items']))]}>"
        else:
            ddl = _DDL[kind]
        out.append((col.name, ddl))
    return out


@functools.lru_cache(maxsize=1)
def _column_types() -> Tuple[Tuple[str, str], ...]:
    """:func:`column_types` of this pegate, once per process (driver and each executor)."""
    return tuple(column_types())


def ddl_schema() -> str:
    """The scan's schema as a Spark DDL string (``path string, size bigint, ...``)."""
    return ", ".join(f"`{name}` {ddl}" for name, ddl in _column_types())


def _arrow_schema(types: Sequence[Tuple[str, str]]) -> "pyarrow.Schema":
    import pyarrow as pa

    scalar = {"string": pa.string(), "bigint": pa.int64(), "boolean": pa.bool_()}

    def arrow(ddl: str) -> "pyarrow.DataType":
        if ddl.startswith("array<"):
            return pa.list_(scalar[ddl[len("array<") : -1]])
        return scalar[ddl]

    return pa.schema([pa.field(name, arrow(ddl)) for name, ddl in types])


def _columns(sources: List[Any], sizes: List[Optional[int]], names: Optional[List[str]] = None) -> Dict[str, List[Any]]:
    """The table's columns for one batch: pegate inspects the files in parallel (``pegate
    inspect --full --sha256``) and hands back only the fields of :data:`COLUMNS`, with each
    file's length as ``size``."""
    from pegate import _pegate

    values = _pegate._scan_columns(
        sources, [c.pointer for c in COLUMNS], [c.counted for c in COLUMNS], names=names
    )
    out = {c.name: column for c, column in zip(COLUMNS, values)}
    out["size"] = sizes
    return out


def _inspect_contents(batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    """``mapInArrow`` over ``binaryFile`` rows (path, modificationTime, length, content)."""
    import pyarrow as pa

    schema = _arrow_schema(_column_types())
    for batch in batches:
        paths = batch.column("path").to_pylist()
        contents = batch.column("content").to_pylist()
        lengths = batch.column("length").to_pylist()
        yield pa.RecordBatch.from_pydict(_columns(contents, lengths, names=paths), schema=schema)


def _inspect_paths(batches: Iterator["pyarrow.RecordBatch"]) -> Iterator["pyarrow.RecordBatch"]:
    """``mapInArrow`` over rows of paths the executor opens itself."""
    import os

    import pyarrow as pa

    schema = _arrow_schema(_column_types())
    for batch in batches:
        paths = batch.column("path").to_pylist()
        sizes: List[Optional[int]] = []
        for p in paths:
            try:
                sizes.append(os.stat(p).st_size)
            except OSError:
                sizes.append(None)
        yield pa.RecordBatch.from_pydict(_columns(paths, sizes), schema=schema)


def scan(
    spark: "SparkSession",
    paths_or_glob: Union[str, Sequence[str]],
    *,
    source: str = "binaryFile",
    recursive: bool = True,
    partitions: Optional[int] = None,
) -> "DataFrame":
    """Inspects every file under ``paths_or_glob`` (a path, a glob, or a list of them) and
    returns one row per file with the columns of :data:`COLUMNS`.

    ``source="binaryFile"`` reads the files through Spark (any file system it reads; Spark's
    listing leaves out empty files and names starting with ``_`` or ``.``);
    ``source="paths"`` hands the executors the paths (files, or directories walked here, on
    the driver) and they open the files themselves. ``partitions``: how many tasks (default:
    Spark's default parallelism for paths, Spark's file splitting for ``binaryFile``).
    """
    inputs = [paths_or_glob] if isinstance(paths_or_glob, str) else list(paths_or_glob)
    if source == "binaryFile":
        reader = spark.read.format("binaryFile")
        if recursive:
            reader = reader.option("recursiveFileLookup", "true")
        files = reader.load(inputs)
        if partitions:
            files = files.repartition(partitions)
        return files.mapInArrow(_inspect_contents, ddl_schema())
    if source == "paths":
        paths = _expand(inputs, recursive)
        n = partitions or spark.sparkContext.defaultParallelism
        frame = spark.createDataFrame([(p,) for p in paths], "path string")
        return frame.repartition(max(1, min(n, len(paths) or 1))).mapInArrow(_inspect_paths, ddl_schema())
    raise ValueError(f'unknown source "{source}": expected "binaryFile" or "paths"')


def _expand(inputs: Sequence[str], recursive: bool) -> List[str]:
    """Files as given, globs expanded, directories walked (sorted)."""
    import glob
    import os

    out: List[str] = []
    for item in inputs:
        matches = sorted(glob.glob(item, recursive=True)) if glob.has_magic(item) else [item]
        for m in matches:
            if os.path.isdir(m):
                for root, dirs, files in os.walk(m):
                    dirs.sort()
                    out.extend(os.path.join(root, f) for f in sorted(files))
                    if not recursive:
                        break
            else:
                out.append(m)
    return out
