"""Files that appear whole or not at all: every file converse writes in one go goes through here."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` through a temporary file beside it, so a reader finds it whole or not there.

    The temporary file has a unique name in the same directory: ``os.replace`` is then atomic,
    and two writers of one path (tasks or processes) never share a temporary file. Text is
    written as UTF-8, line endings as given. The directory is made if it is missing.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide the file from everyone else
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
