"""Types of the extension module; ``pegate`` re-exports everything here."""

import os
from typing import Any, Dict, List, Literal, Optional, Sequence, Union

__version__: str

StrPath = Union[str, "os.PathLike[str]"]
Source = Union[StrPath, bytes, bytearray]
JsonObject = Dict[str, Any]

class PegateError(Exception):
    """The base of every error pegate raises."""

class PeError(PegateError):
    """A file could not be inspected: unreadable, not a PE file, or too damaged to summarise."""

class PeIoError(PeError):
    """The file could not be read (missing, vanished, permission denied)."""

class NotPeError(PeError):
    """The bytes are not a PE file at all (no MZ or PE signature)."""

class MalformedPeError(PeError):
    """A PE file too damaged to summarise."""

class PolicyError(PegateError):
    """The policy, or the checksums file it names, could not be read."""

class TrustError(PegateError):
    """The trust bundle (PEM) could not be loaded."""

def inspect(
    source: Source,
    *,
    signature: bool = True,
    buildinfo: bool = True,
    imports: bool = False,
    full: bool = False,
    sha256: bool = False,
    checksum: bool = False,
    trust: Optional[StrPath] = None,
    name: Optional[StrPath] = None,
) -> JsonObject:
    """The object ``pegate inspect --format jsonl`` prints for one file (``full``: ``--full``'s;
    ``imports``: ``--imports``', with the import and delay-import tables, reading the file in full).

    ``source`` is a path or the file's bytes (``name`` then is the report's ``path``). Raises a
    :class:`PeError` subclass when the file cannot be inspected at all.
    """

def inspect_many(
    paths: Sequence[StrPath],
    *,
    threads: Optional[int] = None,
    signature: bool = True,
    buildinfo: bool = True,
    imports: bool = False,
    full: bool = False,
    sha256: bool = False,
    checksum: bool = False,
    trust: Optional[StrPath] = None,
) -> List[JsonObject]:
    """One object per path, in input order, inspected in parallel with the GIL released; a
    file that cannot be inspected is its object with ``error`` set, not an exception."""

def verify(
    source: Source, *, trust: Optional[StrPath] = None, sha256: bool = False
) -> JsonObject:
    """The Authenticode verdict and every signature (``pegate inspect --full``'s ``signature``)."""

def buildinfo(source: Source) -> Optional[JsonObject]:
    """The Go build info (``pegate inspect --full``'s ``go``), None when not a Go binary."""

def gate(
    paths: Sequence[StrPath], policy: StrPath, *, now: Optional[str] = None
) -> JsonObject:
    """The report ``pegate gate --format json --policy POLICY PATHS`` prints."""

def sbom(
    paths: Sequence[StrPath],
    format: Literal["cyclonedx", "spdx"] = "cyclonedx",
    *,
    created: Optional[str] = None,
) -> List[JsonObject]:
    """One SBOM document per file, as ``pegate sbom --format FORMAT`` writes them."""

def schema() -> JsonObject:
    """The JSON Schema of ``pegate inspect``'s output."""

def _scan_columns(
    sources: Sequence[Source],
    pointers: Sequence[str],
    counted: Sequence[bool],
    *,
    names: Optional[Sequence[StrPath]] = None,
) -> List[List[Any]]:
    """For ``pegate.spark``, not part of the API: the scan's columns for one batch of files."""
