"""The recorder: one actor per run that appends the run's events to its log, in order."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import anyio
import msgspec

from actors import Actor, ActorDeadError, ActorRef
from actors.lowlevel import checkpoint

from .._exceptions import LogWriteError
from ..log._events import Event
from ..log._log import LogWriter


class Renderer(Protocol):
    """What builds a transcript as events come (``converse.transcript.MarkdownRenderer``)."""

    def feed(self, events: Iterable[Any]) -> None: ...

    def text(self) -> str: ...


class Transcript:
    """A fresh run's transcript, built from its events as its recorder writes them: the
    renderer ``make`` returns for the first event (the run-started one) is fed every batch the
    recorder writes, in log order, so the transcript needs no second reading of the log.

    Args:
        make: a renderer for the run that starts with this event.
    """

    def __init__(self, make: Callable[[Any], Renderer]) -> None:
        self.make = make
        self.renderer: Renderer | None = None

    def take(self, events: list[Event]) -> None:
        """The next events written to the log (a batch of the journal's)."""
        if events:
            if self.renderer is None:
                self.renderer = self.make(events[0])
            self.renderer.feed(events)

    def text(self) -> str | None:
        """The transcript of every event written (the recorder takes each one it writes, and
        only those); None if none was."""
        return self.renderer.text() if self.renderer is not None else None


class _Wake(msgspec.Struct, frozen=True, gc=False):
    """To the recorder: its journal holds events."""


WAKE = _Wake()


class Journal:
    """A run's events on their way to its recorder.

    Emitting an event appends it here: no message per event. The recorder is woken by one
    message, and then takes every event the journal holds, so a batch costs one delivery
    and one write to the OS however many actors emitted into it. It is woken:

    - for a model call, which must be in the log before anyone acts on its answer
      (write-ahead): its emitter waits until the batch it is in has been handed to the OS,
      and that one write serves every call that became ready in the same tick (group
      commit);
    - when ``WAKE_AT`` events have gathered;
    - when the run's clock says events have waited long enough (``nudge``, every
      ``NUDGE_EVERY`` seconds), so a quiet run's log is never more than a moment behind.

    Bounded: while ``limit`` events (the recorder's mailbox size) wait for the recorder,
    emitters wait for room, so a stalled disk holds the run back instead of filling memory.
    Once the recorder has stopped, events are dropped, as the bus drops them for a dead
    subscriber.
    """

    WAKE_AT = 64
    # Not a divisor of 0.1 s: anyio's wait_all_tasks_blocked looks every 0.1 s, and would find
    # a nudger in step with it always just woken.
    NUDGE_EVERY = 0.09

    __slots__ = ("closed", "events", "failed", "limit", "recorder", "room", "taken", "wake_at", "woken", "written")

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.limit = self.wake_at = self.WAKE_AT  # until the recorder says how much it holds
        self.recorder: ActorRef | None = None
        self.woken = False  # a wake-up is on its way to the recorder
        self.written: anyio.Event | None = None  # set when the pending batch is on the OS
        self.room: anyio.Event | None = None  # set when the recorder takes a batch
        self.closed = False
        self.taken = 0  # batches taken (each written as it is taken)
        self.failed: LogWriteError | None = None  # why the recorder could not write

    def bind(self, recorder: ActorRef, limit: int) -> None:
        """The recorder has started: it holds ``limit`` events at most."""
        self.recorder, self.limit, self.wake_at = recorder, limit, min(limit, self.WAKE_AT)
        self.nudge()

    def put(self, event: Event) -> bool:
        """Append ``event`` if there is room (or drop it: the recorder has stopped); False
        if the emitter has to wait (``put_waiting``)."""
        if self.closed:
            return True
        events = self.events
        if len(events) >= self.limit:
            return False
        events.append(event)
        if len(events) >= self.wake_at and not self.woken:
            self._wake()
        return True

    async def put_waiting(self, event: Event) -> None:
        """Append ``event`` once there is room."""
        while not self.put(event):
            self.nudge()
            if self.room is None:
                self.room = anyio.Event()
            await self.room.wait()

    async def committed(self) -> None:
        """Wait until every event appended so far is handed to the OS.

        Raises:
            LogWriteError: the recorder could not write the log (a full disk, say): the run
                cannot keep the write-ahead rule, so whoever waits fails with it.
        """
        if not self.closed and self.events:  # else taken, so written: the recorder does both at once
            if not self.woken:
                self._wake()
            taken = self.taken
            await checkpoint()  # the recorder usually writes meanwhile: no event to make and set
            if self.taken == taken and not self.closed:
                written = self.written
                if written is None:
                    written = self.written = anyio.Event()
                await written.wait()
        failed = self.failed
        if failed is not None:
            raise LogWriteError(failed.file, failed.problem)

    def nudge(self) -> None:
        """Wake the recorder if events wait for it."""
        if self.events and not self.woken:
            self._wake()

    def take(self) -> tuple[list[Event], anyio.Event | None]:
        """Everything appended since the last take, and the event to set once it is written."""
        events, self.events = self.events, []
        self.taken += 1
        written, self.written = self.written, None
        self.woken = False
        room, self.room = self.room, None
        if room is not None:
            room.set()
        return events, written

    def close(self) -> None:
        """The recorder has stopped: drop what comes, and let nobody wait for it."""
        self.closed = True
        _, written = self.take()
        if written is not None:
            written.set()

    def _wake(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return  # not started yet: it looks when it starts
        self.woken = True
        try:
            recorder.tell_nowait(WAKE)  # never full: one wake-up at a time is on its way
        except ActorDeadError:
            self.close()


class Recorder(Actor):
    """Stamps each event with ``seq`` and ``t`` and appends it to ``events.jsonl``.

    Events come through the run's ``journal``, a batch at a time; each batch is encoded and
    handed to the OS in one write (a model call's emitter waits for that).

    A resumed run re-creates the events its log already holds; ``skip`` counts those
    (each as ``identity`` gives it), and the recorder drops them instead of writing them
    twice. A fresh run's ``transcript`` is fed every event written.
    """

    def __init__(
        self, path: Path, clock: Callable[[], float], journal: Journal, next_seq: int = 0,
        skip: Counter[bytes] | None = None, transcript: Transcript | None = None,
    ) -> None:
        self.path = path
        self.clock = clock
        self.journal = journal
        self.next_seq = next_seq
        self.skip = skip
        self.writer: LogWriter | None = None
        self.transcript = transcript  # a fresh run's, fed every event written

    async def on_start(self) -> None:
        self.writer = LogWriter(self.path, next_seq=self.next_seq, clock=self.clock)
        self.journal.bind(self.ref, self.ref.statistics().capacity)

    async def receive(self, message: object) -> None:
        if message is WAKE:
            self._write(*self.journal.take())

    def _write(self, events: list[Event], written: anyio.Event | None) -> None:
        writer = self.writer
        assert writer is not None
        try:
            if self.skip:
                events = [event for event in events if not self._recorded(event)]
            writer.write_all(events)
            if self.transcript is not None:
                self.transcript.take(events)
            writer.flush()
        except Exception as exc:
            # The model calls waiting for this write fail with it (the recorder stops).
            self.journal.failed = LogWriteError(str(self.path), f"{type(exc).__name__}: {exc}")
            raise
        finally:
            if written is not None:  # also after a failure: nobody waits for a dead recorder
                written.set()

    def _recorded(self, event: Event) -> bool:
        """Whether the log being resumed holds ``event`` already (each one counted once)."""
        skip = self.skip
        assert skip is not None
        key = identity(event)
        left = skip.get(key, 0)
        if not left:
            return False
        if left == 1:
            del skip[key]  # an empty Counter turns the check off
        else:
            skip[key] = left - 1
        return True

    async def on_stop(self) -> None:
        # The run is over: what its journal still holds is written, then its log goes to
        # disk (fsync, in a worker thread so that other runs go on meanwhile) before anyone
        # is told it finished.
        journal = self.journal
        if self.writer is not None:
            writer = self.writer
            try:
                self._write(*journal.take())
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(os.fsync, writer.fileno())
            finally:
                journal.close()
                writer.close()
        else:
            journal.close()


def identity(event: Event) -> bytes:
    """An event's content without its stamp (``seq``, ``t``): equal for a re-created event."""
    if event.seq == -1:
        return msgspec.json.encode(event)
    return msgspec.json.encode(msgspec.structs.replace(event, seq=-1, t=0.0))
