"""A directory that belongs to one batch of runs (a sweep, a dataset): a manifest file says
which, and a second command with the same manifest continues it; one whose manifest grows the
batch (more seeds, more roles) may be let in by its caller; anything else is refused."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import msgspec

from .._exceptions import ConverseError
from .._files import write_atomic

M = TypeVar("M", bound=msgspec.Struct)


def claim_directory(
    out: Path,
    name: str,
    manifest: M,
    *,
    error: Callable[[str, str], ConverseError],
    what: str,
    describe: Callable[[M], str],
    grows: bool = False,
) -> M | None:
    """Make ``out`` the directory of ``manifest`` (written to ``out/name``), or check that it
    already is. Two manifests that differ only in their ``scenario`` (a file may move) match.

    Nothing is written to a directory that already holds a manifest: with ``grows``, one that
    differs is returned for the caller to judge (it may be a smaller batch ``manifest`` grows),
    who records ``manifest`` with ``record_manifest`` once it holds the directory's lock.

    Returns:
        The manifest ``out`` holds when it differs from ``manifest`` (only with ``grows``); None
        when ``out`` is ``manifest``'s directory.

    Raises:
        ``error(where, problem)``: ``out`` holds another ``what`` (without ``grows``), or files
        that are not one's.
    """
    path = out / name
    if path.exists():
        held = _read(path, type(manifest), error=error, what=what)
        if _same(held, manifest):
            return None
        if grows:
            return held
        raise error(f"--out {out}", f"holds another {what} ({describe(held)}); choose another --out")
    if out.exists() and not out.is_dir():
        raise error(f"--out {out}", "is a file, not a directory")
    if out.exists() and any(p.name != ".DS_Store" for p in out.iterdir()):
        raise error(f"--out {out}", f"is not empty and holds no {name}; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    _write(path, manifest)
    return None


def record_manifest(
    out: Path, name: str, manifest: M, held: M, *, error: Callable[[str, str], ConverseError], what: str
) -> None:
    """Write ``manifest`` over ``held``, the manifest ``claim_directory`` found in ``out``: by
    the directory's one writer, after it has judged that ``manifest`` grows ``held``.

    Raises:
        ``error(where, problem)``: the file no longer holds ``held`` (another command changed it
            since): nothing is written.
    """
    path = out / name
    if not _same(_read(path, type(manifest), error=error, what=what), held):
        raise error(f"--out {out}", f"its {name} changed while this command started; run it again")
    _write(path, manifest)


def _read(path: Path, kind: type[M], *, error: Callable[[str, str], ConverseError], what: str) -> M:
    try:
        return msgspec.json.decode(path.read_bytes(), type=kind)
    except (msgspec.DecodeError, OSError) as exc:
        raise error(str(path), f"not a {what} manifest ({exc}); choose another --out") from None


def _write(path: Path, manifest: msgspec.Struct) -> None:
    write_atomic(path, msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def _same(held: M, manifest: M) -> bool:
    return bool(msgspec.to_builtins(_identity(held)) == msgspec.to_builtins(_identity(manifest)))


def _identity(manifest: M) -> M:
    """What must match for a directory to continue a batch (the scenario's file may move)."""
    return msgspec.structs.replace(manifest, scenario="")
