"""Reading a log for the viewer: whole lines only, in bounded steps; a line too long or not
an event is passed over and reported (``Skipped``), and costs only itself; for the page,
model calls without their prompts and answers.

A log may be written while it is read, torn at its end, or made by someone hostile: one line
of 200 MB, or no newline at all. ``Lines`` reads it a chunk at a time and never holds an
unfinished line between steps (it is read again, whole, once its end arrives), and passes
over a line longer than ``LINE_LIMIT`` without keeping it, so reading any log takes at most
about ``LINE_LIMIT`` bytes of memory for its lines at any moment, and reads each byte once or
twice.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

import msgspec

from ..log._events import EVENT_TYPES, AnyEvent, Event, LLMCall, Usage
from ..log._log import gc_paused

__all__ = [
    "LINE_LIMIT",
    "CallSeen",
    "Lines",
    "Skipped",
    "ViewEvent",
    "decode_lines",
    "event_decoder",
    "read_batches",
    "view_decoder",
]

LINE_LIMIT = 16 << 20  # the longest line read; a model call's line is rarely over 1 MB
_CHUNK = 4 << 20  # bytes read at a time

event_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


class CallSeen(Event, tag="llm_call", kw_only=True, gc=False):
    """What the page shows of a model call: an ``LLMCall`` without its prompt, parameters
    and answer (most of a log's bytes), which are fetched one call at a time on demand.
    Decoding a log into these instead takes about 40% less time."""

    call: int
    conversation: tuple[str, ...]
    actor: str
    purpose: str
    model: str
    usage: Usage
    latency: float
    attempt: int = 1
    finish_reason: str | None = None


# Every kind of event, with CallSeen for LLMCall: a kind added to the log is read here too.
ViewEvent: Any = functools.reduce(operator.or_, (CallSeen if t is LLMCall else t for t in EVENT_TYPES))

view_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ViewEvent)


class Skipped(NamedTuple):
    """A line of a log that was not read: the byte it starts at, its length in bytes (for a
    line too long, what had been seen of it when it passed the limit: it may go on), and
    whether it was too long (else it was not an event this viewer reads)."""

    at: int
    length: int
    too_long: bool


class Lines:
    """The whole lines of a log that may still be growing, read one bounded step at a time.

    ``offset`` is where the first line not yet read starts, ``scanned`` how far the file has
    been looked at (past ``offset`` while a line's end has not been found). The caller takes
    ``steps`` (or one ``step`` at a time while ``scanned`` is short of the file's size), and
    tells ``cut_to`` when the file is shorter than it was.
    """

    __slots__ = ("chunk", "limit", "offset", "passing", "scanned")

    def __init__(self, *, limit: int = LINE_LIMIT, chunk: int = _CHUNK) -> None:
        self.limit = limit
        self.chunk = chunk
        self.offset = 0
        self.scanned = 0
        self.passing = False  # inside a line too long, looking for its end

    def cut_to(self, size: int) -> bool:
        """Take in that the file was cut to ``size`` bytes; False if that cut what was
        already read (the caller starts over), True if only an unfinished line went."""
        if size >= self.scanned:
            return True
        if size < self.offset:
            return False
        self.scanned, self.passing = self.offset, False
        return True

    def steps(self, fd: int, size: int) -> Iterator[tuple[bytes, int, list[Skipped]]]:
        """``step`` after ``step`` until the first ``size`` bytes have been looked at (or
        the file turns out to be shorter: it was cut meanwhile)."""
        while self.scanned < size:
            scanned = self.scanned
            yield self.step(fd, size)
            if self.scanned == scanned:  # nothing read: the file ends before ``size``
                return

    def step(self, fd: int, size: int) -> tuple[bytes, int, list[Skipped]]:
        """Read on from where the last step stopped, in the first ``size`` bytes of ``fd``:
        returns the whole lines found (possibly none), the offset they start at, and the
        line that this step found too long (if any)."""
        start = self.offset
        if self.scanned == start:  # at a line's start: as many whole lines as a chunk holds
            data = os.pread(fd, min(self.chunk, size - start), start)
            cut = data.rfind(b"\n") + 1
            if cut:
                self.offset = self.scanned = start + cut
                return (data if cut == len(data) else data[:cut]), start, []
            self.scanned = start + len(data)
            return b"", start, self._too_long()
        # Inside a line whose end has not been seen: look for it, keeping nothing.
        data = os.pread(fd, min(self.chunk, size - self.scanned), self.scanned)
        newline = data.find(b"\n")
        if newline < 0:
            self.scanned += len(data)
            return b"", start, self._too_long()
        end = self.scanned + newline + 1
        self.offset = self.scanned = end
        if self.passing:  # reported when it passed the limit
            self.passing = False
            return b"", end, []
        if end - start > self.limit:  # it ends in the chunk that takes it past the limit
            return b"", end, [Skipped(start, end - start, too_long=True)]
        return os.pread(fd, end - start, start), start, []

    def _too_long(self) -> list[Skipped]:
        if self.passing or self.scanned - self.offset <= self.limit:
            return []
        self.passing = True
        return [Skipped(self.offset, self.scanned - self.offset, too_long=True)]


def decode(data: bytes, start: int, decoder: msgspec.json.Decoder[Any]) -> tuple[list[Any], list[Skipped]]:
    """The events of ``data``, whole lines that start at byte ``start`` of their log, and the
    lines that do not decode (each skipped on its own: the rest are read)."""
    with gc_paused():
        with contextlib.suppress(msgspec.DecodeError):
            return decoder.decode_lines(data), []  # one call for the lot: the common case
        out: list[Any] = []
        bad: list[Skipped] = []
        at = start
        for line in data.split(b"\n"):
            if line.strip():
                try:
                    out.append(decoder.decode(line))
                except msgspec.DecodeError:
                    bad.append(Skipped(at, len(line) + 1, too_long=False))
            at += len(line) + 1
        return out, bad


def decode_lines(data: bytes, decoder: msgspec.json.Decoder[Any] = event_decoder) -> list[Any]:
    """The events of the whole lines of ``data`` (an unfinished last line is left out); a
    line that does not decode is skipped. ``decoder`` decodes each line (by default into
    an ``AnyEvent``; ``view_decoder`` leaves out what a page does not show)."""
    end = data.rfind(b"\n") + 1
    return decode(data[:end], 0, decoder)[0]


def read_batches(fd: int, decoder: msgspec.json.Decoder[Any]) -> Iterator[tuple[list[Any], list[Skipped]]]:
    """The events of the log open at ``fd``, as far as it went when this started (its torn
    last line left out), a step at a time, each with the lines it skipped."""
    for data, start, skipped in Lines().steps(fd, os.fstat(fd).st_size):
        if data:
            events, bad = decode(data, start, decoder)
            skipped += bad
        else:
            events = []
        if events or skipped:
            yield events, skipped
