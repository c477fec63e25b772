"""One writer per directory: a run, a sweep or a dataset is written by one process at a time.

The writer holds an advisory lock (``fcntl.flock``) on ``.lock`` in the directory for as long
as it writes. The kernel lets go of it when the process ends, however it ends (``kill -9``
included), so a lock is never stale and nothing has to clean one up. While held, the file
says who holds it (``pid=4242 host=box since=2026-05-01T09:00:00+00:00``), so that a second
writer is refused with a name; it is emptied on release, and removed only with its directory:
removing it alone would let two writers each lock a file of that name.

POSIX only: ``fcntl`` does not exist on Windows, and importing converse fails there, saying so.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ._exceptions import DirectoryInUse

try:
    import fcntl
except ModuleNotFoundError:  # Windows
    raise ImportError(
        "converse runs on POSIX systems (Linux, macOS, WSL) only: it locks run directories with fcntl"
    ) from None

__all__ = ["LOCK_FILE", "writer_lock"]

LOCK_FILE = ".lock"

# A holder that has just taken the lock, or is just letting go of it, leaves the file empty
# for a moment: look again (and try again) a few times before naming no one.
_LOOKS = (0.001, 0.004, 0.016, 0.064, 0.25)


@contextmanager
def writer_lock(directory: Path, what: str) -> Iterator[None]:
    """Be ``directory``'s one writer within the ``with`` (``what``: ``run``, ``sweep`` or
    ``dataset``, for the message of whoever is refused).

    It never waits for a holder: a second writer is refused at once. Two ``with`` blocks of
    one process refuse each other too (each opens the file anew).

    Raises:
        DirectoryInUse: another writer holds the lock; it names its pid, host and start.
        OSError: the lock file cannot be made (a missing or read-only directory), or ``.lock``
            is a link, a hard link or not a file.
    """
    fd = _take(directory, what)
    try:
        yield
    finally:
        try:
            os.ftruncate(fd, 0)  # held by no one: a reader finds no name
        finally:
            os.close(fd)  # lets go of the lock


def _take(directory: Path, what: str) -> int:
    path = directory / LOCK_FILE
    # A directory from elsewhere may hold a ``.lock`` that is a link to a file of yours, or a
    # FIFO: the lock is written to, so it must be a plain file of its own.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode) or status.st_nlink != 1:
            raise OSError(f"{path}: not a plain file of its own, so it cannot be the lock file; remove it")
        for wait in (*_LOOKS, None):
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                if holder is not None or wait is None:
                    raise DirectoryInUse(directory, what, *(holder or (None, None, None))) from None
                time.sleep(wait)  # at most a third of a second, and only while the holder is unnamed
                continue
            since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            line = f"pid={os.getpid()} host={socket.gethostname()} since={since}\n".encode()
            os.pwrite(fd, line, 0)
            os.ftruncate(fd, len(line))  # after the write: a reader never finds the file empty here
            return fd
        raise AssertionError("unreachable")  # the last look raises
    except BaseException:
        os.close(fd)
        raise


def _holder(fd: int) -> tuple[int, str, str] | None:
    """The pid, host and start the lock file names; None if it names no one (yet)."""
    text = os.pread(fd, 1024, 0).decode("utf-8", "replace")
    fields = dict(part.partition("=")[::2] for part in text.partition("\n")[0].split())
    try:
        return int(fields["pid"]), fields["host"], fields["since"]
    except (KeyError, ValueError):
        return None
