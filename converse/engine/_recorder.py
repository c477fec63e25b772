"""The recorder: one actor per run that appends the run's events to its log, in order."""

from __future__ import annotations

import os
import weakref
from asyncio import AbstractEventLoop, TimerHandle, _get_running_loop
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol

import anyio
import msgspec

from actors import Actor, ActorDeadError, ActorRef

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

    Emitting an event appends it here: no message per event. A model call must be in the
    log before anyone acts on its answer (write-ahead): its emitter writes what the journal
    holds itself (``committed``), with the recorder's writer, in one write to the OS, and
    goes on without a task switch. Other events wait for the next batch, and the recorder is
    woken by one message to take every event the journal holds then, so a batch costs one
    delivery and one write however many actors emitted into it. It is woken:

    - when ``WAKE_AT`` events have gathered;
    - when events have waited through a whole look of the run's clock (``nudge``, every
      ``NUDGE_EVERY`` seconds), so a quiet run's log is never more than two looks behind.
      On asyncio one timer does this for every run of the event loop (``_LoopNudges``), and
      writes what waits itself. A busy run is left alone: what it emits is written by its
      next model call's emitter before a look finds it old, and a look that wrote it first
      would cost a write, a batch and a visit to the run's log and transcript of its own.

    Bounded: once the recorder has started, it holds ``limit`` events (the recorder's mailbox
    size) at most; an emitter that finds it full writes them itself, so a recorder that is
    behind holds nothing up, and a slow disk holds the run back (every write is made while
    its emitter waits) instead of letting memory fill. Once the recorder has stopped, events
    are dropped, as the bus drops them for a dead subscriber.
    """

    WAKE_AT = 64
    # Not a divisor of 0.1 s: anyio's wait_all_tasks_blocked looks every 0.1 s, and would find
    # a nudger in step with it always just woken.
    NUDGE_EVERY = 0.09

    __slots__ = (
        "__weakref__", "closed", "events", "failed", "limit", "looked", "nudges", "recorder", "taken", "wake_at",
        "woken", "write",
    )

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.limit = self.wake_at = self.WAKE_AT  # until the recorder says how much it holds
        self.recorder: ActorRef | None = None
        self.write: Callable[[list[Event]], None] | None = None  # the recorder's, once it started
        self.woken = False  # a wake-up is on its way to the recorder
        self.taken = 0  # batches taken so far
        self.looked = -1  # ``taken`` when the last look found events waiting (-1: it found none)
        self.closed = False
        self.failed: LogWriteError | None = None  # why the recorder could not write
        self.nudges: _LoopNudges | None = None  # the event loop's timer that writes what waits

    def bind(self, recorder: ActorRef, limit: int, write: Callable[[list[Event]], None]) -> None:
        """The recorder has started: it holds ``limit`` events at most, and writes a batch
        with ``write``. On asyncio, the event loop's timer writes what waits from now on."""
        self.recorder, self.limit, self.wake_at = recorder, limit, min(limit, self.WAKE_AT)
        self.write = write
        loop = _get_running_loop()
        if loop is not None:
            self.nudges = _LoopNudges.of(loop)
            self.nudges.add(self)
        self.nudge()

    def put(self, event: Event) -> None:
        """Append ``event`` (or drop it: the recorder has stopped, or cannot write). A full
        journal (the recorder is behind) is written first, in the caller's task, as a model
        call's emitter writes it."""
        if self.closed:
            return
        events = self.events
        if len(events) >= self.limit and self.write is not None:
            self.write_waiting()
            if self.closed:
                return  # the write failed: the next model call's emitter fails with it
            events = self.events
        events.append(event)
        if len(events) >= self.wake_at and not self.woken:
            self._wake()

    def committed(self) -> None:
        """Hand every event appended so far to the OS, now, in the caller's task: the recorder
        writes a batch synchronously, so it is never in the middle of one when another task
        runs, and the caller needs no wake-up of the recorder, no task switch and no event to
        wait on (they cost more than a write of its own to the OS).

        Raises:
            LogWriteError: the log cannot be written (a full disk, say): the run cannot keep
                the write-ahead rule, so whoever asked fails with it, and the journal drops
                what comes after.
        """
        self.write_waiting()
        failed = self.failed
        if failed is not None:
            raise LogWriteError(failed.file, failed.problem)

    def nudge(self) -> None:
        """Wake the recorder if events wait for it."""
        if self.events and not self.woken:
            self._wake()

    def waited(self) -> bool:
        """A look of the run's clock: whether what waits has waited since the last look (no
        batch was taken between the two, and events waited at both). Called once a look."""
        if not self.events:
            self.looked = -1
            return False
        if self.looked == self.taken:
            return True
        self.looked = self.taken
        return False

    def write_waiting(self) -> None:
        """Write what waits, now, with the recorder's writer (nothing before the recorder has
        started). A log that cannot be written closes the journal; the recorder keeps why
        (``failed``), and the next model call's emitter fails with it (``committed``)."""
        write = self.write
        if self.events and not self.closed and write is not None:
            try:
                write(self.take())
            except Exception:
                if self.failed is None:  # not the log's: a bug, raised as it is
                    raise
                self.close()

    def take(self) -> list[Event]:
        """Everything appended since the last take (the recorder's wake-up, if one is on its
        way, finds the journal empty or holding newer events: ``woken`` stays set until the
        recorder has it, so no second wake-up is sent meanwhile)."""
        events, self.events = self.events, []
        self.taken += 1
        return events

    def close(self) -> None:
        """The recorder has stopped, or cannot write: drop what comes."""
        self.closed = True
        self.take()
        if self.nudges is not None:
            self.nudges.remove(self)
            self.nudges = None

    def _wake(self) -> None:
        recorder = self.recorder
        if recorder is None:
            return  # not started yet: it looks when it starts
        self.woken = True
        try:
            recorder.tell_nowait(WAKE)  # never full: one wake-up at a time is on its way
        except ActorDeadError:
            self.close()


class _LoopNudges:
    """The journals of the runs on one asyncio event loop, which one timer looks at every
    ``Journal.NUDGE_EVERY`` seconds while any run goes on, writing the events that have waited
    since its last look (``Journal.waited``). A sleeping task per run
    (a timer, anyio's ``sleep``, a task switch and a wake-up of the recorder each time) woke
    0.45 times per model call at 400 runs at once, and more the longer the runs took; a
    timer's callback costs a loop's turn, and a journal with nothing waiting costs a look."""

    __slots__ = ("journals", "loop", "timer")

    def __init__(self, loop: AbstractEventLoop) -> None:
        self.loop = loop
        self.journals: weakref.WeakSet[Journal] = weakref.WeakSet()  # a run torn down unclosed drops out
        self.timer: TimerHandle | None = None

    @classmethod
    def of(cls, loop: AbstractEventLoop) -> _LoopNudges:
        nudges = _NUDGES.get(loop)
        if nudges is None:
            nudges = _NUDGES[loop] = cls(loop)
        return nudges

    def add(self, journal: Journal) -> None:
        self.journals.add(journal)
        if self.timer is None:
            self.timer = self.loop.call_later(Journal.NUDGE_EVERY, self._tick)

    def remove(self, journal: Journal) -> None:
        self.journals.discard(journal)

    def _tick(self) -> None:
        self.timer = None
        for journal in list(self.journals):
            if journal.waited():
                journal.write_waiting()
        if self.journals:
            self.timer = self.loop.call_later(Journal.NUDGE_EVERY, self._tick)


_NUDGES: weakref.WeakKeyDictionary[AbstractEventLoop, _LoopNudges] = weakref.WeakKeyDictionary()


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
        self.journal.bind(self.ref, self.ref.statistics().capacity, self._write)

    async def receive(self, message: object) -> None:
        if message is WAKE:
            journal = self.journal
            journal.woken = False
            self._write(journal.take())

    def _write(self, events: list[Event]) -> None:
        """Write a batch and hand it to the OS: on a wake-up, or in the task of a model call's
        emitter (``Journal.committed``). Synchronous, so batches never interleave."""
        writer = self.writer
        assert writer is not None
        if not events:
            return  # the wake-up came after a model call's emitter wrote them
        try:
            if self.skip:
                events = [event for event in events if not self._recorded(event)]
            writer.write_all(events)
            if self.transcript is not None:
                self.transcript.take(events)
            writer.flush()
        except Exception as exc:
            # The model call whose emitter wrote, or the next one, fails with it.
            self.journal.failed = LogWriteError(str(self.path), f"{type(exc).__name__}: {exc}")
            raise

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
                if journal.failed is not None:
                    return  # the log could not be written: the run failed saying so
                self._write(journal.take())
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
