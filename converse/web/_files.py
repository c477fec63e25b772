"""What the viewer may read: regular files under its root, and nothing else.

Every path a request names goes through ``inside``: relative, no ``..``, and still under the
root once symbolic links are resolved. Every file is opened through ``open_under``, which
resolves the file's path, checks that it is under the root and names a regular file, then
opens it again from the root one name at a time without following any link (``O_NOFOLLOW``
at every step, ``O_NONBLOCK`` so that nothing can make the open wait) and checks the opened
descriptor once more. A link swapped in between the check and the open makes the open fail
instead of leading out; a FIFO, a device or a socket is refused before a byte is read. What
is read from the descriptor is bounded by the size it had when it was opened (``file_size``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["EXHAUSTED", "OutsideRoot", "Unreadable", "file_size", "inside", "is_dir", "is_file", "open_regular", "open_under", "read_small"]

_DIRECTORY = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# Out of descriptors (or kernel memory): not the file's fault, and the caller says so.
EXHAUSTED = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})


class OutsideRoot(ValueError):
    """A requested path is not under the viewer's root."""


class Unreadable(FileNotFoundError):
    """A path under the root that the viewer does not read: missing, not a regular file (a
    FIFO, a device, a socket, a directory), a link out of the root or in a loop, or a name
    the system refuses (too long, not permitted)."""


def inside(root: Path, relative: str) -> Path:
    """``relative`` resolved under ``root`` (itself resolved).

    Raises:
        OutsideRoot: the path is absolute, has a ``..`` part, or leads (through a link)
            outside ``root``.
    """
    if "\x00" in relative or "\\" in relative or relative.startswith("/"):
        raise OutsideRoot(relative)
    parts = [p for p in relative.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise OutsideRoot(relative)
    path = Path(os.path.realpath(root.joinpath(*parts)))  # a loop or an overlong name stays unresolved
    if path != root and not path.is_relative_to(root):
        raise OutsideRoot(relative)
    return path


def is_dir(path: Path) -> bool:
    """Whether ``path`` is a directory (False for any path the system refuses to look at)."""
    try:
        return stat.S_ISDIR(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def is_file(path: Path) -> bool:
    """Whether ``path`` is a regular file, at a look (False for any path the system refuses
    to look at); only ``open_regular`` says whether it may be read."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def open_regular(root: Path, path: Path) -> int:
    """A descriptor of the regular file ``path`` under ``root`` (the caller closes it).

    Raises:
        OutsideRoot: ``path`` leads (through a link) outside ``root``.
        Unreadable: ``path`` is not a regular file the viewer can open.
        OSError: the process is out of file descriptors (``errno`` in ``EXHAUSTED``).
    """
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(root) or real == root:
        raise OutsideRoot(str(path))
    return _walk(root, real.relative_to(root).parts)


@contextmanager
def open_under(root: Path, path: Path) -> Iterator[int]:
    """``open_regular``, closed on leaving the block."""
    fd = open_regular(root, path)
    try:
        yield fd
    finally:
        os.close(fd)


def file_size(fd: int) -> int:
    """The size of the opened file ``fd`` now."""
    return os.fstat(fd).st_size


def read_small(root: Path, path: Path, limit: int) -> bytes | None:
    """The whole of the regular file ``path`` under ``root``, if it is at most ``limit``
    bytes (None if it is longer, or unreadable)."""
    try:
        with open_under(root, path) as fd:
            if file_size(fd) > limit:
                return None
            data = os.pread(fd, limit + 1, 0)
    except (OutsideRoot, OSError):
        return None
    return data if len(data) <= limit else None


def _walk(root: Path, parts: tuple[str, ...]) -> int:
    """Open ``parts`` under ``root`` name by name, following no link."""
    try:
        at = os.open(root, _DIRECTORY)
        try:
            for part in parts[:-1]:
                inner = os.open(part, _DIRECTORY, dir_fd=at)
                os.close(at)
                at = inner
            # Looked at before it is opened, so that no device is ever opened; and again
            # after, in case it was swapped meanwhile.
            if not stat.S_ISREG(os.stat(parts[-1], dir_fd=at, follow_symlinks=False).st_mode):
                raise Unreadable(errno.EINVAL, "not a regular file", parts[-1])
            fd = os.open(parts[-1], _FILE, dir_fd=at)
        finally:
            os.close(at)
    except OSError as exc:
        if exc.errno in EXHAUSTED or isinstance(exc, Unreadable):
            raise
        raise Unreadable(exc.errno, exc.strerror, "/".join(parts)) from None
    except ValueError:  # a name the system cannot take (a NUL byte)
        raise Unreadable(errno.EINVAL, "not a file name", "/".join(parts)) from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Unreadable(errno.EINVAL, "not a regular file", "/".join(parts))
    return fd
