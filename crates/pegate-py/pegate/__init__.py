"""pegate from Python: inspect PE files, verify Authenticode, read Go build info, gate artifacts
against a policy and write SBOMs, with the Rust library under the CLI.

Every function returns what the CLI prints as JSON, as Python objects (same schema, same field
names: ``schema/inspect.schema.json``, also :func:`schema`).

>>> import pegate
>>> report = pegate.inspect("dist/hello.exe")            # doctest: +SKIP
>>> report["machine"], report["signature"]["status"]      # doctest: +SKIP
('AMD64', 'unsigned')

``pegate.spark`` scans a fleet of files on Apache Spark (``pip install pegate[spark]``).
"""

from ._pegate import (
    MalformedPeError,
    NotPeError,
    PeError,
    PegateError,
    PeIoError,
    PolicyError,
    TrustError,
    __version__,
    buildinfo,
    gate,
    inspect,
    inspect_many,
    sbom,
    schema,
    verify,
)

__all__ = [
    "MalformedPeError",
    "NotPeError",
    "PeError",
    "PeIoError",
    "PegateError",
    "PolicyError",
    "TrustError",
    "__version__",
    "buildinfo",
    "gate",
    "inspect",
    "inspect_many",
    "sbom",
    "schema",
    "verify",
]
