"""The event log on disk: JSON Lines, one event per line, written in batches and read back checked.

A log is UTF-8 JSON Lines. Line 1 is ``run_started``; ``seq`` counts 0, 1, 2, ... with no
gaps; every event carries the run id of the first; an ``llm_call``'s ``shared`` prefix names an
earlier call of the log whose prompt has at least that many messages; no line is longer than
``MAX_LINE``. A crash can leave at most one torn last line (no trailing newline, not
decodable): readers skip it with a ``TornTailWarning``. Any other problem is a ``LogError``
naming the file and the 1-based line.

Readers open the file once and read only a regular file: a FIFO (which would wait for a writer)
or a device (``/dev/zero`` never ends) is refused before a byte is read. Reading is linear in
the file's size, however long its lines.

The writer keeps credentials out of the log (``converse.log._secrets``): the base URL and
overrides of ``run_started``, and the text of errors, are scrubbed of URLs' credentials and of
every secret the process was given.
"""

from __future__ import annotations

import gc
import os
import stat
import sys
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator
from contextlib import contextmanager
from itertools import compress, islice, repeat
from operator import attrgetter, countOf, eq, is_
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, cast

import msgspec

from .._exceptions import LogError, TornTailWarning
from ._events import AnyEvent, Event, LLMAttempt, LLMCall, RunError, RunFinished, RunStarted
from ._secrets import Secrets, known

__all__ = ["MAX_LINE", "LogWriter", "iter_events", "read_events", "read_for_append"]

MAX_LINE = 64 << 20
"""The longest line a reader takes, in bytes (64 MiB, its newline not counted): a longer one is
refused, naming it. The longest prompt a model takes is a few MiB of JSON."""

_encoder = msgspec.json.Encoder()
_encode_lines = _encoder.encode_lines
_SLICE = 256
"""How many events ``write_all`` stamps and encodes at a time: few enough that they are still in
the CPU cache when they are encoded, and that the buffer stays near ``flush_bytes``."""
_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)
_BLOCK = 1 << 18  # 256 KiB: a block's events are still in the CPU cache when they are checked
_NEWLINE = ord("\n")
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
        """Stamp ``event`` (``seq``, ``t``) and append it to the log (``write_all`` of one).

        An event that cannot be encoded raises (``TypeError``) and leaves no trace: the next
        event gets its ``seq``.
        """
        self.write_all([event])

    def write_all(self, events: list[Event]) -> None:
        """Stamp ``events`` (``seq``, ``t``) and append them to the log, in order.

        A slice of events at a time is stamped, then encoded in one call: no Python work per
        event but the stamping. The clock is read once per call: the events are written
        together, at one time. An event that cannot be encoded raises (``TypeError``) and
        leaves no trace: the events before it are written, and the next event written gets
        its ``seq`` (the events after it may be stamped, but are not written).
        """
        # Microseconds, rounded half up (t >= 0); round(t, 6) costs four times as much.
        t = int(self._clock() * 1e6 + 0.5) / 1e6
        for start in range(0, len(events), _SLICE):
            batch = events[start : start + _SLICE]
            first = seq = self._seq
            try:
                for seq, event in enumerate(batch, first):
                    event.seq = seq
                    if type(event) in _SCRUBBED:
                        _scrub(event)
                    event.t = t
            except BaseException:
                self._append_each(batch[: seq - first])
                raise
            try:
                lines = _encode_lines(batch)
            except Exception:
                self._append_each(batch)  # raises at the event that cannot be encoded
                continue
            self._buf += lines
            self._seq += len(batch)
            # close() sets _flush_bytes to -1, so a write after close reaches flush() and fails
            # there without costing every write a check.
            if len(self._buf) > self._flush_bytes:
                self.flush()

    def _append_each(self, stamped: list[Event]) -> None:
        """Append ``stamped`` events one at a time, up to one that cannot be encoded, which raises
        and leaves no trace (the next event written gets its ``seq``)."""
        for event in stamped:
            self._buf += _encode_lines((event,))
            self._seq += 1
            if len(self._buf) > self._flush_bytes:
                self.flush()

    def flush(self, *, fsync: bool = False) -> None:
        """Hand the buffered lines to the OS; with ``fsync``, also wait until they are on disk."""
        buf = self._buf
        if self._closed:
            buf.clear()
            raise ValueError(f"{self.path}: the log writer is closed")
        done = 0
        try:
            if buf:
                done = self._file.write(buf) or 0  # a regular file takes it all in one write
            if done < len(buf):  # a short write: the rest, from where it stopped
                with memoryview(buf) as view:
                    while done < len(view):
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
    with _open(name) as file:
        events = _read(name, file)
    if not events:
        raise LogError(name, 0, "empty log")
    return events


def read_for_append(path: str | os.PathLike[str]) -> list[AnyEvent]:
    """The events of a log that a writer goes on appending to, checked as ``read_events`` checks
    them (but an empty list for a log with no event), with the log made ready for it: a torn last
    line (no newline, not an event) cut off, a whole last line without its newline given one.

    Nothing else is changed: a log with any other problem raises, as it was.

    Raises:
        LogError: the file is not a readable log, or a line (named) is not a valid event.
    Warns:
        TornTailWarning: the last line was torn by a crash and is cut off.
    """
    name = os.fspath(path)
    with _open(name, writable=True) as file:
        events = _read(name, file, empty=True)
        try:
            end = file.seek(0, os.SEEK_END)
            start = _last_line_start(file, end)
            if start == end:
                return events
            file.seek(start)
            tail = file.read()
            try:
                _decoder.decode(tail)
            except (msgspec.DecodeError, UnicodeDecodeError):
                file.truncate(start)
            else:
                file.write(b"\n")
            file.flush()
            os.fsync(file.fileno())
        except OSError as exc:
            raise LogError(name, 0, f"cannot write: {exc.strerror or exc}") from None
    return events


def _last_line_start(file: BinaryIO, end: int) -> int:
    """The offset just after the last newline before ``end`` (0 if there is none)."""
    position = end
    while position > 0:
        step = min(_BLOCK, position)
        position -= step
        file.seek(position)
        found = file.read(step).rfind(b"\n")
        if found >= 0:
            return position + found + 1
    return 0


def _read(name: str, file: BinaryIO, *, empty: bool = False) -> list[AnyEvent]:
    """The checked events of the log ``file`` (named ``name``), read from its start."""
    events: list[AnyEvent] = []
    with gc_paused():
        for batch in _blocks(name, file, empty=empty):
            events += batch
            # What the block made is collected while it is still in the CPU cache, which
            # untracks its events' paths (tuples of strings): left for the collection that
            # follows the pause, they cost a cold walk over every event's path.
            gc.collect(0)
    return events


def _blocks(name: str, file: BinaryIO, *, empty: bool = False) -> Iterator[list[AnyEvent]]:
    """The checked events of the log ``file`` (named ``name``), read from its start a block of
    lines at a time: a list of events for each block, in order.

    A block's lines are decoded in one call and checked together, each check one pass in C,
    while its bytes and events are still in the CPU cache. A block with any problem is read
    again line by line, to yield its good events and name the line that is wrong (the log is
    read again from its start for that, so that every check sees the lines before it). A
    reader that drops each block once it is used holds one block's events at a time.

    Raises:
        LogError: the file cannot be read, or a line (named) is not a valid event.
    Warns:
        TornTailWarning: the last line was torn by a crash and was skipped.
    """
    read = _Read()
    try:
        try:
            tail = yield from _good_blocks(file, read)
        except (msgspec.DecodeError, UnicodeDecodeError):
            tail = None
        if tail is None:  # some line is wrong: read again line by line to name it
            file.seek(0)
            for event in islice(_checked(name, _lines(name, file), empty=empty), read.done, None):
                yield [event]
        elif tail:  # the last line has no newline: torn by a crash, or the writer's last
            run = None if read.first is None else read.first.run
            yield list(_checked(name, [tail], first_line=read.done + 1, seq=read.done, run=run, prompts=read.prompts, empty=empty))
        elif not read.done and not empty:
            raise LogError(name, 0, "empty log")
    except OSError as exc:
        raise LogError(name, 0, f"cannot read: {exc.strerror or exc}") from None


class _Read:
    """How far ``_good_blocks`` got: the events it yielded (one a line), the first of them, and
    the prompt length of each call among them."""

    __slots__ = ("done", "first", "prompts")

    def __init__(self) -> None:
        self.done = 0
        self.first: AnyEvent | None = None
        self.prompts: dict[int, int] = {}


def _good_blocks(file: BinaryIO, read: _Read) -> Generator[list[AnyEvent], None, bytes | None]:
    """Yield the events of each block of the log ``file`` while every line is a good event;
    return the unfinished last line (``b""``: there is none), or None at the first block with
    a line that is not (or a line longer than ``MAX_LINE``). Raises msgspec's decoding errors."""
    count = _newline_counter(os.fstat(file.fileno()).st_size)
    carry = bytearray()  # the start of a line that goes on in the next block; grown in place
    while block := file.read(_BLOCK):
        end = block.rfind(b"\n") + 1
        if not end:
            carry += block  # a line longer than a block
            if len(carry) > MAX_LINE:
                return None
            continue
        start = 0
        batch: list[AnyEvent] = []
        if carry:
            start = block.find(b"\n") + 1
            carry += block[:start]
            if len(carry) > MAX_LINE + 1:
                return None
            batch = _decoder.decode_lines(carry)
        with memoryview(block) as view:
            batch += _decoder.decode_lines(view[start:end])
        if len(batch) != count(block, start, end) + (start > 0):
            return None  # decode_lines skips blank lines, and reads each value of a line
        if read.first is None:
            read.first = batch[0]
        if not _good(batch, read.first, read.done, read.prompts):
            return None
        yield batch
        read.done += len(batch)
        carry = bytearray(block[end:])
    return bytes(carry) if len(carry) <= MAX_LINE else None


# A log this large has its newlines counted by numpy even if nothing else loaded it: numpy counts
# a block's in a fifth of the time ``bytes.count`` takes (25 against 123 µs for 256 KiB), which
# pays for its import (about 0.13 s) from about 340 MB of log on.
_NUMPY_FROM = 256 << 20


def _newline_counter(size: int) -> Callable[[bytes, int, int], int]:
    """How to count the newlines of ``block[start:end]`` in a log of ``size`` bytes: by numpy
    if it is loaded already (by a run with memory streams, say) or the log is large enough to
    pay for loading it, else by ``bytes.count`` (a run's log of a few megabytes would wait for
    numpy's import longer than for all of its counting). Both count the same."""
    if size < _NUMPY_FROM and not _numpy_loaded():
        return _count_newlines
    import numpy as np

    def by_numpy(block: bytes, start: int, end: int) -> int:
        return int(np.count_nonzero(np.frombuffer(block, np.uint8, end - start, start) == _NEWLINE))

    return by_numpy


def _numpy_loaded() -> bool:
    return "numpy" in sys.modules


def _count_newlines(block: bytes, start: int, end: int) -> int:
    return block.count(b"\n", start, end)


def _good(batch: list[AnyEvent], first: AnyEvent, seq: int, prompts: dict[int, int]) -> bool:
    """Whether ``batch``, the events of the next lines of a log whose first event is ``first``
    and whose ``seq`` lines before them were good, are good (see the module's rules); records
    the prompt length of each call. Each check is one pass in C over the batch."""
    lines = len(batch)
    if type(first) is not RunStarted:
        return False
    if not all(map(eq, map(_seqs, batch), range(seq, seq + lines))):
        return False
    if countOf(map(_runs, batch), first.run) != lines:
        return False
    if LLMCall not in set(map(type, batch)):  # most blocks hold no call (types hash by identity)
        return True
    calls = cast("Iterator[LLMCall]", compress(batch, map(is_, map(type, batch), repeat(LLMCall))))
    return all(_prompt_problem(call, prompts) is None for call in calls)


def iter_events(path: str | os.PathLike[str]) -> Iterator[AnyEvent]:
    """The events of a log one by one, checked as ``read_events`` checks them.

    The file is read line by line, so memory stays flat however long the log is; a problem
    is raised when the reader reaches it.
    """
    name = os.fspath(path)
    with _open(name) as file:
        for batch in _blocks(name, file):
            yield from batch


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while events are made or walked in bulk.

    Events hold GC-tracked containers (conversation paths, prompts). While a million of them
    pile up, the collector walks the growing heap again and again, which doubles the time to
    read and render a log. Events hold no reference cycles, so pausing loses nothing; reference
    counting still frees everything as usual. (The reader still collects the youngest
    generation once per block, while it is small and in the CPU cache: see ``_read_bulk``.)
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _open(name: str, *, writable: bool = False) -> BinaryIO:
    """The log ``name`` opened for reading (and writing); anything but a regular file is refused
    before a byte is read (opening a FIFO does not wait for a writer: it is opened without
    blocking)."""
    try:
        fd = os.open(name, (os.O_RDWR if writable else os.O_RDONLY) | _NONBLOCK | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise LogError(name, 0, "no such file") from None
    except IsADirectoryError:
        raise LogError(name, 0, "is a directory, not a log file") from None
    except OSError as exc:
        raise LogError(name, 0, f"cannot read: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise LogError(name, 0, f"is {_kind(mode)}, not a log file")
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "r+b" if writable else "rb")
    except BaseException:
        os.close(fd)
        raise


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def _kind(mode: int) -> str:
    """What a file that is not a regular one is, as a user calls it."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _lines(name: str, file: BinaryIO) -> Iterator[bytes]:
    """The lines of ``file``, each with its newline (but perhaps the last); a line longer than
    ``MAX_LINE`` is refused once that much of it is read."""
    number = 0
    while line := file.readline(MAX_LINE + 1):
        number += 1
        if len(line) > MAX_LINE and not line.endswith(b"\n"):
            raise LogError(name, number, f"a line longer than {MAX_LINE >> 20} MiB: not an event")
        yield line


def _checked(
    name: str,
    lines: Iterable[bytes],
    *,
    first_line: int = 1,
    seq: int = 0,
    run: str | None = None,
    prompts: dict[int, int] | None = None,
    empty: bool = False,
) -> Iterator[AnyEvent]:
    """Decode and check ``lines`` (each ending in a newline but perhaps the last); ``prompts``
    holds the prompt length of each call of the lines before them. ``empty``: no event is
    not an error."""
    prompts = {} if prompts is None else prompts
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
        if type(event) is LLMCall and (problem := _prompt_problem(event, prompts)) is not None:
            raise LogError(name, number, problem)
        seq += 1
        yield event
    if run is None and not empty:
        raise LogError(name, 0, "empty log")


def _prompt_problem(call: LLMCall, prompts: dict[int, int]) -> str | None:
    """What is wrong with ``call``'s shared prefix (None: nothing), given the prompt length of
    every earlier call; records ``call``'s."""
    shared = call.shared
    if shared is None:
        prompts[call.call] = len(call.messages)
        return None
    earlier = prompts.get(shared.call)
    if earlier is None:
        return f"call {call.call} shares the prompt of call {shared.call}, which no earlier line holds"
    if not 0 <= shared.count <= earlier:
        return f"call {call.call} shares {shared.count} messages of call {shared.call}, whose prompt has {earlier}"
    prompts[call.call] = shared.count + len(call.messages)
    return None


_SCRUBBED = frozenset({RunStarted, LLMAttempt, RunError, RunFinished})
_URL_KEY = b'"base_url":"'
_JSON = msgspec.json.Encoder()


def _scrub_urls(value: Any, secrets: Secrets) -> Any:
    """``value`` (a scenario as data) with every ``base_url`` string scrubbed; what has none is
    returned as it is."""
    if isinstance(value, dict):
        changed = {}
        for key, item in value.items():
            new = secrets.scrub_all(item) if key == "base_url" and isinstance(item, str) else _scrub_urls(item, secrets)
            if new is not item:
                changed[key] = new
        return {**value, **changed} if changed else value
    if isinstance(value, list):
        items = [_scrub_urls(item, secrets) for item in value]
        return items if any(new is not old for new, old in zip(items, value, strict=True)) else value
    return value


def _scrub(event: Event) -> None:
    """Scrub ``event``'s base URL, overrides or error text of credentials (``_SCRUBBED``)."""
    secrets = known()
    if type(event) is RunStarted:
        # Every server address the scenario names: the run's, and those of the models its
        # agents, councils, judge or role-play sides have of their own. Most scenarios name
        # none: their JSON, made in C, has no string under a "base_url" key (a string's own
        # quotes are escaped in it), and the walk in Python is skipped.
        try:
            named = _URL_KEY in _JSON.encode(event.scenario)
        except (TypeError, ValueError):  # the writer says what cannot be encoded
            named = True
        if named:
            event.scenario = _scrub_urls(event.scenario, secrets)
        event.overrides = [secrets.scrub_all(override) for override in event.overrides]
    elif type(event) is LLMAttempt:
        event.error = secrets.scrub_all(event.error)
    elif type(event) is RunError:
        event.message = secrets.scrub_all(event.message)
    elif type(event) is RunFinished:
        event.reason = secrets.scrub_all(event.reason)


def _problem(line: bytes, exc: Exception) -> str:
    if not line.strip():
        return "blank line"
    text = str(exc).replace("`", "")
    if isinstance(exc, msgspec.ValidationError):
        kind = text.removeprefix("Invalid value ").removesuffix(" - at $.type")
        if kind != text and kind.startswith("'"):
            return f"unknown event type {kind} (a log written by a newer converse?)"
        return f"not an event: {text}"
    # msgspec before 0.23 raises UnicodeDecodeError for a string that is not UTF-8; 0.23 and
    # later raise a DecodeError saying so. Both name the same problem.
    if isinstance(exc, UnicodeDecodeError) or "Invalid UTF-8" in text:
        return "not UTF-8 text"
    return f"not JSON: {text.removeprefix('JSON is malformed: ')}"
