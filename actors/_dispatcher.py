"""The dispatcher: an elastic pool of worker tasks that run actors with messages waiting.

An idle actor owns no task (a task parked on a stream costs kilobytes; an idle cell costs
a few hundred bytes). When a message reaches an idle actor its cell joins the ready queue
and one worker is brought in: an idle one if any, a new one otherwise. A worker that picks
up a cell while more are waiting brings in one more helper, so a burst of actors whose
handlers block (on a model call, say) fans out to as many workers as it needs in a few
scheduling rounds, while a burst of quick handlers is served by a few workers without a
task switch per message. Idle workers beyond ``max_idle`` exit.

The queue is first come, first served, with one exception: an actor with senders blocked
on its full mailbox goes to the front. Each of those senders holds a worker, and behind a
long queue (a million agents waiting for their first turn, say) a busy moderator would
get one batch per pass over the whole queue while the senders pile up on it.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import anyio
import anyio.abc

from .lowlevel import checkpoint

if TYPE_CHECKING:
    from ._cell import Cell

YIELD_EVERY = 64  # cells run by one worker before it yields to the event loop


class Dispatcher:
    """Runs ready cells on worker tasks of one task group."""

    __slots__ = ("closing", "event_cls", "idle", "max_idle", "ready", "task_group", "waking", "workers")

    def __init__(
        self, task_group: anyio.abc.TaskGroup, event_cls: type[anyio.Event], max_idle: int
    ) -> None:
        self.task_group = task_group
        self.event_cls = event_cls
        self.max_idle = max_idle
        self.ready: deque[Cell] = deque()
        self.idle: list[anyio.Event] = []
        self.waking = 0  # workers woken or spawned that have not picked up a cell yet
        self.workers = 0
        self.closing = False

    def schedule(self, cell: Cell) -> None:
        """Put ``cell`` on the ready queue and make sure a worker is coming for it."""
        self.ready.append(cell)
        if not self.waking:
            self._recruit()

    def expedite(self, cell: Cell) -> None:
        """Put ``cell`` at the front of the ready queue: senders are blocked on its mailbox.

        If it is queued further back already, that entry is skipped when it comes up.
        """
        self.ready.appendleft(cell)
        if not self.waking:
            self._recruit()

    def _recruit(self) -> None:
        self.waking += 1
        if self.idle:
            self.idle.pop().set()  # the most recently idle worker: warmest
        else:
            self.workers += 1
            self.task_group.start_soon(self._work, name="actors-worker")

    async def _work(self) -> None:
        try:
            more = True
            while more:  # each round is one cancel scope; an interrupted cell ends a round
                more = await self._work_in_scope()
        finally:
            self.workers -= 1

    async def _work_in_scope(self) -> bool:
        """Run ready cells inside one cancel scope; True to go on with a fresh scope.

        A cell's ``interrupt`` cancels this scope while the cell runs. The scope then
        absorbs the cancellation, the cell is told, and the worker starts a new scope.
        """
        ready = self.ready
        cell: Cell | None = None
        with anyio.CancelScope() as scope:
            while True:
                self.waking -= 1
                ran = 0
                while ready:
                    cell = ready.popleft()
                    if cell.running is not None or not cell.items:
                        cell = None  # queued twice by ``expedite``, already run from the front
                        continue
                    if ready and self.waking < 2:
                        self._recruit()  # a backlog: bring in help in case this cell blocks
                    await cell.run(scope)
                    cell = None
                    if scope.cancel_called:
                        # Cancelled just as the cell finished: the next await would raise.
                        self.waking += 1
                        return True
                    ran += 1
                    if ran >= YIELD_EVERY:
                        ran = 0
                        await checkpoint()
                if self.closing:
                    return False
                # Spin once before parking: in a request/reply exchange the next message
                # usually arrives while we yield, and no event has to be created or set.
                self.waking += 1
                await checkpoint()
                if ready:
                    continue
                self.waking -= 1
                if self.closing or len(self.idle) >= self.max_idle:
                    return False
                wake = self.event_cls()
                self.idle.append(wake)
                await wake.wait()
        # Only an interrupted cell gets here (the loop above never ends otherwise).
        self.waking += 1
        if cell is not None:
            cell.interrupted()
        return True

    def close(self) -> None:
        """Let every idle worker exit; busy ones exit when the ready queue is empty."""
        self.closing = True
        idle, self.idle = self.idle, []
        self.waking += len(idle)
        for wake in idle:
            wake.set()
