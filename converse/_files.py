"""Files that appear whole or not at all: every file converse writes in one go goes through here."""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

__all__ = ["write_atomic"]

_names = itertools.count()  # with the process id, a temporary name no other writer uses
_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``path`` through a temporary file beside it, so a reader finds it whole or not there.

    The temporary file has a name of its own in the same directory (the process id and a count):
    ``os.replace`` is then atomic, and two writers of one path (tasks, threads or processes) never
    share a temporary file. The file is made as ``open`` makes one (its mode from the umask).
    Text is written as UTF-8, line endings as given. The directory is made if it is missing.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, temporary = _create(path)
    try:
        with memoryview(data) as view:
            done = 0
            while done < len(view):  # a regular file takes it all in one write, but for a signal
                done += os.write(fd, view[done:])
        os.close(fd)
        fd = -1
        os.replace(temporary, path)
    except BaseException:
        if fd != -1:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _create(path: Path) -> tuple[int, str]:
    """A new temporary file beside ``path``, open for writing, and its name; the directory is
    made if it is missing. A name a crashed process left behind (its id since reused) is passed
    over for the next."""
    directory = os.fspath(path.parent)
    prefix = os.path.join(directory, f".{path.name}-{os.getpid()}-")
    made = False
    while True:
        temporary = f"{prefix}{next(_names)}.tmp"
        try:
            return os.open(temporary, _FLAGS, 0o666), temporary
        except FileExistsError:
            continue
        except FileNotFoundError:
            if made or os.path.isdir(directory):
                raise
            os.makedirs(directory, exist_ok=True)
            made = True
