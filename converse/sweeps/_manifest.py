"""A directory that belongs to one batch of runs (a sweep, a dataset): a manifest file says
which, and a second command with the same manifest continues it; anything else is refused."""

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
) -> None:
    """Make ``out`` the directory of ``manifest`` (written to ``out/name``), or check that it
    already is. Two manifests that differ only in their ``scenario`` (a file may move) match.

    Raises:
        ``error(where, problem)``: ``out`` holds another ``what``, or files that are not one's.
    """
    path = out / name
    if path.exists():
        try:
            held = msgspec.json.decode(path.read_bytes(), type=type(manifest))
        except (msgspec.DecodeError, OSError) as exc:
            raise error(str(path), f"not a {what} manifest ({exc}); choose another --out") from None
        if msgspec.to_builtins(_identity(held)) != msgspec.to_builtins(_identity(manifest)):
            raise error(f"--out {out}", f"holds another {what} ({describe(held)}); choose another --out")
        return
    if out.exists() and not out.is_dir():
        raise error(f"--out {out}", "is a file, not a directory")
    if out.exists() and any(p.name != ".DS_Store" for p in out.iterdir()):
        raise error(f"--out {out}", f"is not empty and holds no {name}; choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(path, msgspec.json.format(msgspec.json.encode(manifest), indent=2) + b"\n")


def _identity(manifest: M) -> M:
    """What must match for a directory to continue a batch (the scenario's file may move)."""
    return msgspec.structs.replace(manifest, scenario="")
