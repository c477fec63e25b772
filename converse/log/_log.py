"""The event log on disk: JSON Lines, one event per line, written in batches and read back checked.

A log is UTF-8 JSON Lines. Line 1 is ``run_started``; ``seq`` counts 0, 1, 2, ... with no
gaps; every event carries the run id of the first. A crash can leave at most one torn last
line (no trailing newline, not decodable): readers skip it with a ``TornTailWarning``. Any
other problem is a ``LogError`` naming the file and the 1-based line.
"""

from __future__ import annotations

import gc
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from operator import attrgetter, countOf, eq
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import msgspec

from .._exceptions import LogError, TornTailWarning
from ._events import AnyEvent, Event, RunStarted

__all__ = ["LogWriter", "iter_events", "last_good_offset", "read_events"]

_encode_into = msgspec.json.Encoder().encode_into
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
_BLOCK = 1 << 20
_seqs = attrgetter("seq")
_runs = attrgetter("run")


class LogWriter:
    """Appends events to a log, stamping each with the next ``seq`` and the clock's ``t``.

    Lines collect in memory and go to the OS in one write once more than ``flush_bytes``
    are waiting, on ``flush()`` and on ``close()``. Only whole lines are ever written, so a
    crash leaves at most one torn line (when the OS write itself is cut short).

    Args:
        path: the log file; opened for appending, parent directories created.
        next_seq: the ``seq`` of the first event written (non-zero when resuming a log).
        clock: seconds since the run started.
        flush_bytes: buffer size that triggers a write to the OS.
    """

    __slots__ = ("_buf", "_clock", "_closed", "_file", "_flush_bytes", "_seq", "path")

    def __init__(
        self, path: Path, *, next_seq: int = 0, clock: Callable[[], float], flush_bytes: int = 1 << 16
    ) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - owned until close()
        self._buf = bytearray()
        self._seq = next_seq
        self._clock = clock
        self._flush_bytes = flush_bytes
        self._closed = False

    @property
    def next_seq(self) -> int:
        """The ``seq`` the next written event gets."""
        return self._seq

    def write(self, event: Event) -> None:
        """Stamp ``event`` (``seq``, ``t``) and append it to the log.

        An event that cannot be encoded raises (``TypeError``) and leaves no trace: the next
        event gets its ``seq``.
        """
        event.seq = self._seq
        # Microseconds, rounded half up (t >= 0); round(t, 6) costs four times as much.
        event.t = int(self._clock() * 1e6 + 0.5) / 1e6
        buf = self._buf
        size = len(buf)
        try:
            _encode_into(event, buf, -1)
        except BaseException:
            del buf[size:]  # the encoder leaves what it wrote before it failed
            raise
        buf.append(10)
        self._seq += 1
        # close() sets _flush_bytes to -1, so a write after close reaches flush() and fails there
        # without costing every write a check.
        if len(buf) > self._flush_bytes:
            self.flush()

    def flush(self, *, fsync: bool = False) -> None:
        """Hand the buffered lines to the OS; with ``fsync``, also wait until they are on disk."""
        buf = self._buf
        if self._closed:
            buf.clear()
            raise ValueError(f"{self.path}: the log writer is closed")
        done = 0
        try:
            with memoryview(buf) as view:
                while done < len(view):  # a regular file takes it all in one write
                    done += self._file.write(view[done:]) or 0
        finally:
            del buf[:done]  # after an error (disk full), a retry writes only the rest
        if fsync:
            os.fsync(self._file.fileno())

    def fileno(self) -> int:
        """The log file's descriptor (to ``os.fsync`` it from another thread)."""
        return self._file.fileno()

    def close(self) -> None:
        """Flush and close; closing twice is harmless."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self._closed = True
            self._flush_bytes = -1
            self._file.close()

    def __enter__(self) -> LogWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def read_events(path: str | os.PathLike[str]) -> list[AnyEvent]:
    """All events of a log, checked.

    Raises:
        LogError: the file is not a readable log, or a line (named) is not a valid event.
    Warns:
        TornTailWarning: the last line was torn by a crash and was skipped.
    """
    name = os.fspath(path)
    bulk = _read_bulk(name)
    if bulk is None:
        # Some line is wrong: read again line by line to name it.
        with _open(name) as file:
            return list(_checked(name, file))
    events, tail = bulk
    if tail:
        lines = len(events)
        run = events[0].run if events else None
        events.extend(_checked(name, [tail], first_line=lines + 1, seq=lines, run=run))
    if not events:
        raise LogError(name, 0, "empty log")
    return events


def _read_bulk(name: str) -> tuple[list[AnyEvent], bytes] | None:
    """The events of every complete line and the unfinished last line, if every complete line
    is a good event; None if any is not.

    Decodes a block of lines per call, a block at a time so that the bytes are still in the
    CPU cache when the decoder reads them.
    """
    events: list[AnyEvent] = []
    lines = 0
    carry = b""  # the start of a line that goes on in the next block
    try:
        with _open(name) as file, gc_paused():
            while block := file.read(_BLOCK):
                end = block.rfind(b"\n") + 1
                if not end:
                    carry += block  # a line longer than a block
                    continue
                start = 0
                if carry:
                    start = block.find(b"\n") + 1
                    events += _decoder.decode_lines(carry + block[:start])
                    lines += 1
                with memoryview(block) as view:
                    events += _decoder.decode_lines(view[start:end])
                lines += block.count(b"\n", start, end)
                carry = block[end:]
            if (
                len(events) != lines  # decode_lines skips blank lines
                or (events and type(events[0]) is not RunStarted)
                or not all(map(eq, map(_seqs, events), range(lines)))
                or (events and countOf(map(_runs, events), events[0].run) != lines)
            ):
                return None
    except (msgspec.DecodeError, UnicodeDecodeError):
        return None
    except OSError as exc:
        raise LogError(name, 0, f"cannot read: {exc.strerror or exc}") from None
    return events, carry


def iter_events(path: str | os.PathLike[str]) -> Iterator[AnyEvent]:
    """The events of a log one by one, checked as ``read_events`` checks them.

    The file is read line by line, so memory stays flat however long the log is; a problem
    is raised when the reader reaches it.
    """
    name = os.fspath(path)
    with _open(name) as file:
        yield from _checked(name, file)


def last_good_offset(path: str | os.PathLike[str]) -> int:
    """The byte offset just after the last complete, decodable line (0 if there is none).

    Truncating the file there removes a torn tail before a resumed run appends to it.
    """
    data = _read(os.fspath(path))
    end = data.rfind(b"\n")
    with memoryview(data) as view:
        while end >= 0:
            start = data.rfind(b"\n", 0, end) + 1
            try:
                _decoder.decode(view[start:end])
            except (msgspec.DecodeError, UnicodeDecodeError):
                end = start - 1
            else:
                return end + 1
    return 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while events are made or walked in bulk.

    Every event holds GC-tracked lists (its conversation path). While a million of them pile
    up, the collector walks the growing heap again and again, which doubles the time to read
    and render a log; and a log read, rendered and dropped within one pause is never walked at
    all. Events hold no reference cycles, so pausing loses nothing; reference counting still
    frees everything as usual.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _open(name: str) -> BinaryIO:
    try:
        return open(name, "rb")
    except FileNotFoundError:
        raise LogError(name, 0, "no such file") from None
    except IsADirectoryError:
        raise LogError(name, 0, "is a directory, not a log file") from None
    except OSError as exc:
        raise LogError(name, 0, f"cannot read: {exc.strerror or exc}") from None


def _read(name: str) -> bytes:
    with _open(name) as file:
        try:
            return file.read()
        except OSError as exc:
            raise LogError(name, 0, f"cannot read: {exc.strerror or exc}") from None


def _checked(
    name: str, lines: Iterable[bytes], *, first_line: int = 1, seq: int = 0, run: str | None = None
) -> Iterator[AnyEvent]:
    """Decode and check ``lines`` (each ending in a newline but perhaps the last)."""
    for number, line in enumerate(lines, first_line):
        try:
            event = _decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError) as exc:
            if not line.endswith(b"\n"):
                warnings.warn(TornTailWarning(name, number), stacklevel=3)
                break
            raise LogError(name, number, _problem(line, exc)) from None
        if run is None:
            if type(event) is not RunStarted:
                raise LogError(name, number, "the log does not start with run_started")
            run = event.run
        if event.seq != seq:
            after = f"follows {seq - 1}" if seq else "is the first (expected 0)"
            raise LogError(name, number, f"seq {event.seq} {after}")
        if event.run != run:
            raise LogError(name, number, f"run {event.run!r} in a log of run {run!r}")
        seq += 1
        yield event
    if run is None:
        raise LogError(name, 0, "empty log")


def _problem(line: bytes, exc: Exception) -> str:
    if not line.strip():
        return "blank line"
    text = str(exc).replace("`", "")
    if isinstance(exc, msgspec.ValidationError):
        return f"not an event: {text}"
    # msgspec before 0.23 raises UnicodeDecodeError for a string that is not UTF-8; 0.23 and
    # later raise a DecodeError saying so. Both name the same problem.
    if isinstance(exc, UnicodeDecodeError) or "Invalid UTF-8" in text:
        return "not UTF-8 text"
    return f"not JSON: {text.removeprefix('JSON is malformed: ')}"
