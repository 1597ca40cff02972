"""The bindings against the CLI: the same JSON, the same messages, per-file errors as values."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any, Dict, List

import pytest

import pegate
from conftest import FIXTURES, ROOT, cli, cli_jsonl

GO_SIGNED = FIXTURES / "authenticode" / "amd64-signed.exe"
GO_UNSIGNED = FIXTURES / "authenticode" / "amd64-unsigned.exe"
NOT_PE = FIXTURES / "pe" / "err" / "text.txt"
TRUNCATED = FIXTURES / "pe" / "err" / "truncated-in-coff-header.exe"
MISSING = FIXTURES / "pe" / "no-such-file.exe"


def without_clock(value: Any) -> Any:
    """The value with each trust verdict's `at` (the time the chain was judged: now) removed,
    the one thing two runs legitimately differ in."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if not (k == "at" and "trusted" in value)}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def strs(paths: List[Path]) -> List[str]:
    return [str(p) for p in paths]


@pytest.mark.parametrize(
    "flags, kwargs",
    [
        ([], {}),
        (["--full"], {"full": True}),
        (["--no-signature"], {"signature": False}),
        (["--sha256", "--checksum"], {"sha256": True, "checksum": True}),
        (["--imports"], {"imports": True}),
        (["--full", "--imports", "--no-signature"], {"full": True, "imports": True, "signature": False}),
        (["--full", "--trust", str(FIXTURES / "authenticode" / "ca.pem")],
         {"full": True, "trust": FIXTURES / "authenticode" / "ca.pem"}),
    ],
)
def test_inspect_many_prints_what_the_cli_prints(fixtures: List[Path], flags, kwargs) -> None:
    """Every fixture, unreadable ones included, gives the object the CLI's JSON line holds, in
    the CLI's order (the named files' order)."""
    paths = strs(fixtures)
    ours = without_clock(pegate.inspect_many(paths, **kwargs))
    theirs = without_clock(cli_jsonl(*flags, *paths))
    assert len(ours) == len(theirs) == len(paths)
    for o, t in zip(ours, theirs):
        assert o == t
        # Same keys in the same order, too: the same serialisation.
        assert list(o) == list(t)
    assert [o["path"] for o in ours] == paths
    assert any(o["error"] is not None and o["machine"] is None for o in ours)


def test_inspect_is_the_cli_line_byte_for_byte() -> None:
    """Dumped compactly, the object is the CLI's line itself."""
    for path in [GO_SIGNED, GO_UNSIGNED, FIXTURES / "pe" / "ok" / "tiny-arm64x.dll"]:
        line = cli("inspect", "--format", "jsonl", str(path)).stdout.rstrip("\n")
        ours = json.dumps(pegate.inspect(str(path)), separators=(",", ":"), ensure_ascii=False)
        assert ours == line


def test_imports_are_the_cli_imports() -> None:
    """`imports=True` is `--imports`: the object gains the import and delay-import tables, the
    CLI's line byte for byte, from a path or from bytes; without it there is no `imports` key."""
    dynamic = FIXTURES / "imports" / "threads-dynamic.exe"
    for path in sorted((FIXTURES / "imports").iterdir()) + [GO_UNSIGNED]:
        if path.suffix not in (".exe", ".dll"):
            continue
        line = cli("inspect", "--format", "jsonl", "--imports", str(path)).stdout.rstrip("\n")
        ours = pegate.inspect(str(path), imports=True)
        assert json.dumps(ours, separators=(",", ":"), ensure_ascii=False) == line
        assert pegate.inspect(path.read_bytes(), name=str(path), imports=True) == ours
        assert "imports" in ours and "imports" not in pegate.inspect(str(path))
    dlls = [d["name"].lower() for d in pegate.inspect(str(dynamic), imports=True)["imports"]["dlls"]]
    assert "libwinpthread-1.dll" in dlls and "kernel32.dll" in dlls


def test_corpus_matches_the_cli(corpus: List[Path]) -> None:
    paths = strs(corpus)
    assert pegate.inspect_many(paths) == cli_jsonl(*paths)


def test_bytes_inspect_as_the_file(fixtures: List[Path]) -> None:
    """bytes (and bytearray) give the report of the file on disk, named by `name`."""
    for path in fixtures:
        data = path.read_bytes()
        try:
            on_disk: Dict[str, Any] = pegate.inspect(path, full=True, sha256=True)
        except pegate.PeError as e:
            with pytest.raises(type(e)) as raised:
                pegate.inspect(data, name=str(path))
            assert str(raised.value) == str(e)
            continue
        assert pegate.inspect(data, name=str(path), full=True, sha256=True) == on_disk
        assert pegate.inspect(bytearray(data), name=path, full=True, sha256=True) == on_disk
    assert pegate.inspect(GO_UNSIGNED.read_bytes())["path"] == "<bytes>"


def test_errors_are_exceptions_with_the_cli_message() -> None:
    """The exception's message is the `error` the CLI prints for the file; a missing file (which
    the CLI reports on stderr, not as a line) gives inspect_many's `error`."""
    for path, kind in [(NOT_PE, pegate.NotPeError), (TRUNCATED, pegate.MalformedPeError), (MISSING, pegate.PeIoError)]:
        if path.exists():
            (line,) = cli_jsonl(str(path))
        else:
            (line,) = pegate.inspect_many([str(path)])
            assert str(path) in line["error"] and "No such file" in line["error"]
        with pytest.raises(kind) as raised:
            pegate.inspect(str(path))
        assert str(raised.value) == line["error"]
        assert isinstance(raised.value, pegate.PeError)
        assert isinstance(raised.value, pegate.PegateError)
    with pytest.raises(TypeError, match="expected a path .* or bytes, got int"):
        pegate.inspect(42)  # type: ignore[arg-type]


def test_inspect_many_errors_are_values_in_input_order(fixtures: List[Path]) -> None:
    paths = [str(MISSING), str(GO_SIGNED), str(NOT_PE), str(GO_UNSIGNED)] * 3
    one = pegate.inspect_many(paths, threads=1)
    two = pegate.inspect_many(paths, threads=2)
    assert one == two
    assert [r["path"] for r in one] == paths
    assert [r["error"] is None for r in one] == [False, True, False, True] * 3
    assert one[1]["signature"]["status"] == "signed-untrusted"
    with pytest.raises(ValueError, match="threads must be at least 1"):
        pegate.inspect_many(paths, threads=0)
    assert pegate.inspect_many([]) == []


@pytest.mark.parametrize("call", ["inspect", "inspect_many"])
def test_the_gil_is_released_while_files_are_read(tmp_path: Path, call: str) -> None:
    """pegate opens a FIFO, which blocks until a writer opens it; the writer is this thread,
    which can run only if the inspecting thread released the GIL (else both wait forever)."""
    fifo = tmp_path / "pipe.exe"
    os.mkfifo(fifo)
    result: List[Any] = []

    def inspect() -> None:
        try:
            result.append(getattr(pegate, call)(str(fifo) if call == "inspect" else [str(fifo)]))
        except pegate.PeError as e:
            result.append(e)

    worker = threading.Thread(target=inspect, daemon=True)
    worker.start()
    # Blocks until pegate has opened the FIFO for reading. Whether pegate reads the bytes
    # before it gives up on a file of unknown length does not matter: the open returned.
    with open(fifo, "wb", buffering=0) as writer:
        try:
            writer.write(b"not a PE file")
        except BrokenPipeError:
            pass
    worker.join(timeout=60)
    assert not worker.is_alive() and len(result) == 1
    outcome = result[0]
    message = str(outcome) if call == "inspect" else outcome[0]["error"]
    assert "pipe.exe" in message or "not a PE" in message


def test_verify_is_the_full_signature_report() -> None:
    ca = FIXTURES / "authenticode" / "ca.pem"
    for path in [GO_SIGNED, GO_UNSIGNED]:
        full = without_clock(pegate.inspect(str(path), full=True, trust=str(ca)))
        assert without_clock(pegate.verify(str(path), trust=ca)) == full["signature"]
        assert without_clock(pegate.verify(path.read_bytes(), trust=ca)) == full["signature"]
    assert pegate.verify(str(GO_SIGNED), trust=ca)["status"] == "signed-valid"
    with pytest.raises(pegate.PeIoError, match="no-such-file.exe"):
        pegate.verify(str(MISSING))
    with pytest.raises(pegate.NotPeError, match="not a PE file"):
        pegate.verify(str(NOT_PE))
    assert pegate.verify(NOT_PE.read_bytes())["status"] == "error"


def test_trust_bundle_errors_name_the_file() -> None:
    bad = FIXTURES / "pe" / "err" / "text.txt"
    cli_error = cli("inspect", "--trust", str(bad), str(GO_SIGNED), check_codes=(2,)).stderr
    with pytest.raises(pegate.TrustError) as raised:
        pegate.inspect(str(GO_SIGNED), trust=str(bad))
    assert cli_error.strip() == f"pegate: error: {raised.value}"
    assert isinstance(raised.value, pegate.PegateError)


def test_buildinfo_is_the_full_go_object() -> None:
    full = pegate.inspect(str(GO_UNSIGNED), full=True)
    info = pegate.buildinfo(str(GO_UNSIGNED))
    assert info is not None and info == full["go"]
    assert info["go_version"].startswith("go1.")
    assert pegate.buildinfo(GO_UNSIGNED.read_bytes()) == info
    assert pegate.buildinfo(str(FIXTURES / "pe" / "ok" / "tiny-amd64-console.exe")) is None
    with pytest.raises(pegate.NotPeError):
        pegate.buildinfo(str(NOT_PE))


POLICY = """
[[artifact]]
glob = "**/*amd64*"
machine = "AMD64"
signature = "required"
"""


def test_gate_is_the_cli_json_report(tmp_path: Path) -> None:
    policy = tmp_path / "pegate.toml"
    policy.write_text(POLICY)
    paths = [str(GO_SIGNED), str(GO_UNSIGNED), str(FIXTURES / "authenticode")]
    ours = pegate.gate(paths, policy, now="2026-12-01")
    result = cli("gate", "--format", "json", "--now", "2026-12-01", "--policy", str(policy), *paths)
    assert result.returncode == 1
    assert ours == json.loads(result.stdout)
    assert any(r["outcome"] == "fail" for r in ours["results"])


def test_gate_reads_the_import_tables_its_policy_judges(tmp_path: Path) -> None:
    # The default release policy's imports.system-only rule needs the import tables read; the
    # binding and the CLI share that step (pegate::gate), so a dynamically linked MinGW program
    # fails it in both, naming the DLL.
    policy = tmp_path / "pegate.toml"
    policy.write_text(cli("gate", "--print-default-policy").stdout)
    paths = [str(FIXTURES / "imports" / "threads-dynamic.exe"), str(FIXTURES / "imports" / "threads-static.exe")]
    ours = pegate.gate(paths, policy, now="2026-12-01")
    result = cli("gate", "--format", "json", "--now", "2026-12-01", "--policy", str(policy), *paths)
    assert result.returncode == 1
    assert ours == json.loads(result.stdout)
    failed = [r for r in ours["results"] if r["outcome"] == "fail"]
    assert [r["rule"] for r in failed] == ["imports.system-only"]
    assert "libwinpthread-1.dll" in failed[0]["message"]


def test_policy_errors_carry_the_cli_message(tmp_path: Path) -> None:
    policy = tmp_path / "bad.toml"
    policy.write_text("[[artifact]]\nglob = 3\n")
    stderr = cli("gate", "--policy", str(policy), str(GO_SIGNED), check_codes=(2,)).stderr
    with pytest.raises(pegate.PolicyError) as raised:
        pegate.gate([str(GO_SIGNED)], policy)
    assert stderr.strip() == f"pegate: error: {raised.value}"
    with pytest.raises(pegate.PolicyError, match="read the policy"):
        pegate.gate([str(GO_SIGNED)], tmp_path / "missing.toml")
    good = tmp_path / "good.toml"
    good.write_text(POLICY)
    with pytest.raises(ValueError, match="bad time `soon`"):
        pegate.gate([str(GO_SIGNED)], good, now="soon")


@pytest.mark.parametrize("fmt", ["cyclonedx", "spdx"])
def test_sbom_is_the_cli_document(fmt: str) -> None:
    out = cli("sbom", "--format", fmt, "--created", "2026-12-01", str(GO_UNSIGNED)).stdout
    (doc,) = pegate.sbom([str(GO_UNSIGNED)], fmt, created="2026-12-01")  # type: ignore[arg-type]
    assert doc == json.loads(out)
    with pytest.raises(ValueError, match="unknown SBOM format `xml`"):
        pegate.sbom([str(GO_UNSIGNED)], "xml")  # type: ignore[arg-type]
    with pytest.raises(pegate.NotPeError):
        pegate.sbom([str(NOT_PE)])


def test_schema_is_the_committed_schema() -> None:
    committed = json.loads((ROOT / "schema" / "inspect.schema.json").read_text())
    assert pegate.schema() == committed


def test_version_and_types_ship() -> None:
    package = Path(pegate.__file__).parent
    assert (package / "py.typed").is_file() and (package / "_pegate.pyi").is_file()
    assert pegate.__version__ == cli("--version").stdout.split()[-1]
    assert os.fspath(package).endswith("pegate")
