"""``ActorSystem``: owns the worker tasks, the actors and the bus of one program or run."""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Literal, TypeVar

import anyio
import anyio.abc

from ._actor import Actor
from ._bus import EventBus
from ._cell import RUNNING, STOPPING, Cell
from ._dispatcher import Dispatcher
from ._exceptions import (
    ActorDeadError,
    EscalatedFailureError,
    MailboxFullError,
    SystemNotRunningError,
)
from ._ref import ActorRef
from ._statistics import SystemStatistics
from ._supervision import FAILURES, ActorFailed, Restart, SupervisionPolicy
from .log import get_logger

log = get_logger("actors")

ActorT = TypeVar("ActorT", bound=Actor)
ShutdownMode = Literal["drain", "cancel"]


class ActorSystem:
    """A running set of actors, embeddable in any anyio program (asyncio or trio).

    ```python
    async with ActorSystem() as system:
        counter = await system.spawn(Counter)
        await counter.tell(Add(1))
        print(await counter.ask(Get()))
    ```

    Leaving the block stops every actor (``on_stop`` runs for each) and every worker task.
    With ``shutdown="drain"`` (the default) actors first handle what is already in their
    mailboxes; with ``"cancel"``, or when the block raises, handlers in progress are
    cancelled and queued messages are dropped (pending asks fail with ``ActorDeadError``).

    Args:
        name: a label for errors and logs.
        mailbox_size: the default mailbox bound.
        ask_timeout: the default ``ask`` timeout in seconds (None: no limit).
        supervision: the default policy for actors that crash on a told message.
        shutdown: ``"drain"`` or ``"cancel"``, as above.
        max_idle_workers: worker tasks kept parked for the next burst of work.
    """

    def __init__(
        self,
        *,
        name: str = "actors",
        mailbox_size: int = 1000,
        ask_timeout: float | None = None,
        supervision: SupervisionPolicy | None = None,
        shutdown: ShutdownMode = "drain",
        max_idle_workers: int = 1024,
    ) -> None:
        if mailbox_size < 1:
            raise ValueError(f"mailbox_size must be at least 1, not {mailbox_size}")
        self.name = name
        self.mailbox_size = mailbox_size
        self.ask_timeout = ask_timeout
        self.supervision: SupervisionPolicy = supervision or Restart()
        self.shutdown_mode: ShutdownMode = shutdown
        self.max_idle_workers = max_idle_workers
        self.bus = EventBus()
        self.event_cls: type[anyio.Event]
        self.dispatcher: Dispatcher
        self.dead_letters = 0
        self.hook_errors = 0
        self._failures = 0
        self._running = False
        self._cells: set[Cell] = set()
        self._names: dict[str, Cell] = {}
        self._escalated: tuple[str, BaseException] | None = None
        self._task_group: anyio.abc.TaskGroup | None = None
        self._workers_scope: anyio.CancelScope | None = None
        self._closed: anyio.Event
        self._workers_done: anyio.Event
        self._serve_done: anyio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> ActorSystem:
        if self._task_group is not None:
            raise RuntimeError(f"actor system {self.name!r} can only be entered once")
        self.event_cls = type(anyio.Event())
        self._closed = self.event_cls()
        self._workers_done = self.event_cls()
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        try:
            await self._task_group.start(self._host_workers)
        except BaseException as exc:
            await self._task_group.__aexit__(type(exc), exc, exc.__traceback__)
            raise
        self._running = True
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        assert self._task_group is not None
        mode = self.shutdown_mode if exc_type is None and self._escalated is None else "cancel"
        try:
            with anyio.CancelScope(shield=True):
                await self._shutdown(mode)
        finally:
            try:
                suppressed = await self._task_group.__aexit__(exc_type, exc, tb)
            except BaseExceptionGroup as group:
                # The block's own exception comes back wrapped in a group: unwrap it, so
                # callers catch what they raised (the workers never raise).
                if exc is not None and group.exceptions == (exc,):
                    raise exc from None
                raise
        if self._escalated is not None:
            actor, cause = self._escalated
            raise EscalatedFailureError(actor, cause)
        return suppressed

    async def serve(self, *, task_status: anyio.abc.TaskStatus[ActorSystem] = anyio.TASK_STATUS_IGNORED) -> None:
        """Run the system as a task of your own task group until ``aclose()``.

        ```python
        async with anyio.create_task_group() as tg:
            system = await tg.start(ActorSystem().serve)
            ...
            await system.aclose()
        ```
        """
        async with self:
            self._serve_done = self.event_cls()
            task_status.started(self)
            await self._serve_done.wait()

    async def aclose(self) -> None:
        """Shut down a system started with ``serve`` and wait until every actor stopped."""
        if self._serve_done is None:
            raise RuntimeError("aclose() is for systems started with serve(); leave the async with block instead")
        self._serve_done.set()
        await self._workers_done.wait()

    async def _host_workers(self, *, task_status: anyio.abc.TaskStatus[None]) -> None:
        try:
            # Shielded: a cancellation from outside reaches the block's body, and the
            # shutdown that follows decides the workers' fate. Were they cancelled first,
            # code cleaning up after the body (stopping actors, say) would find no worker
            # left to run the actors it waits for.
            with anyio.CancelScope(shield=True):
                async with anyio.create_task_group() as workers:
                    self._workers_scope = workers.cancel_scope
                    self.dispatcher = Dispatcher(workers, self.event_cls, self.max_idle_workers)
                    task_status.started()
                    await self._closed.wait()
                    self.dispatcher.close()
        finally:
            self._workers_done.set()

    async def _shutdown(self, mode: ShutdownMode) -> None:
        self._running = False
        if mode == "cancel":
            assert self._workers_scope is not None
            self._workers_scope.cancel()
            await self._workers_done.wait()
            for cell in list(self._cells):
                cell.scheduled = False  # no worker is running it any more
                cell.fail_pending()
                if cell.state == STOPPING:  # its on_stop was cancelled half-way
                    await cell.finish()
                else:
                    cell.state = RUNNING  # a stop queued behind messages: stop it now
        waiting = []
        for cell in [c for c in self._cells if c.parent is None]:
            if cell.request_stop(drain=True):
                await cell.terminate("stopped")
            else:
                waiting.append(cell)
        for cell in waiting:
            await cell.wait_stopped()
        self._closed.set()
        await self._workers_done.wait()

    def escalate(self, actor: str, error: BaseException) -> None:
        """A top-level actor escalated: abort the system (raised from ``__aexit__``)."""
        if self._escalated is None:
            self._escalated = (actor, error)
            assert self._task_group is not None
            self._task_group.cancel_scope.cancel()

    # -- actors ----------------------------------------------------------------------------

    async def spawn(
        self,
        factory: Callable[[], ActorT],
        *,
        name: str | None = None,
        mailbox_size: int | None = None,
        supervision: SupervisionPolicy | None = None,
        parent: Cell | None = None,
    ) -> ActorRef:
        """Create an actor with ``factory`` (a class or any callable), run its ``on_start``.

        The factory is called again to build a fresh instance when a ``Restart`` policy
        replaces a crashed one; use ``functools.partial`` to pass arguments.

        Raises:
            SystemNotRunningError: the system is not running.
            ValueError: ``name`` is taken, or ``mailbox_size`` is below 1.
            Exception: whatever ``on_start`` raised (the actor is then not spawned).
        """
        if not self._running:
            raise SystemNotRunningError(self.name, "spawn an actor")
        if parent is not None and parent.state != RUNNING:
            raise ActorDeadError(parent.name, parent.dead_reason)
        if mailbox_size is not None and mailbox_size < 1:
            raise ValueError(f"mailbox_size must be at least 1, not {mailbox_size}")
        actor = factory()
        if not isinstance(actor, Actor):
            raise TypeError(f"{factory!r} made a {type(actor).__qualname__}, not an Actor")
        ref = ActorRef.__new__(ActorRef)
        cell = Cell(
            self,
            factory,
            actor,
            name,
            mailbox_size or self.mailbox_size,
            supervision or self.supervision,
            parent,
            ref,
        )
        ref._cell = cell
        actor._actor_cell = cell
        if name is not None:
            if name in self._names:
                raise ValueError(f"an actor named {name!r} already exists in system {self.name!r}")
            self._names[name] = cell
        if type(actor).on_start is not Actor.on_start:
            try:
                await actor.on_start()
            except BaseException as exc:
                if name is not None:
                    del self._names[name]
                if cell.children:  # children it spawned before failing go with it
                    with anyio.CancelScope(shield=True):
                        await cell.stop_children(drain=False)
                if isinstance(exc, Exception):
                    exc.add_note(f"raised by actor {cell.name!r} in on_start; it was not spawned")
                raise
        self._cells.add(cell)
        if parent is not None:
            if parent.children is None:
                parent.children = set()
            parent.children.add(cell)
        return ref

    def lookup(self, name: str) -> ActorRef | None:
        """The ref of the live actor called ``name``, if there is one."""
        cell = self._names.get(name)
        return cell.ref if cell is not None else None

    def forget(self, cell: Cell) -> None:
        """Drop a dead cell from the registry (called by the cell itself)."""
        self._cells.discard(cell)
        if cell._name is not None and self._names.get(cell._name) is cell:
            del self._names[cell._name]

    def report_failure(self, record: ActorFailed, error: BaseException) -> None:
        """Log a crash and publish it on ``FAILURES``; never swallowed."""
        self._failures += 1
        log.error(
            "actor failed",
            actor=record.actor,
            error=f"{record.error_type}: {record.error}",
            message_type=record.message_type,
            decision=record.decision,
            exc_info=error,
        )
        try:
            self.bus.publish_nowait(FAILURES, record)
        except MailboxFullError as full:
            log.warning("failure report not delivered", subscriber=full.actor, actor=record.actor)

    def statistics(self) -> SystemStatistics:
        """Counts of actors, workers, queued work, dead letters and failures."""
        dispatcher = getattr(self, "dispatcher", None)
        return SystemStatistics(
            actors=len(self._cells),
            workers=dispatcher.workers if dispatcher else 0,
            idle_workers=len(dispatcher.idle) if dispatcher else 0,
            ready=len(dispatcher.ready) if dispatcher else 0,
            dead_letters=self.dead_letters,
            failures=self._failures,
            hook_errors=self.hook_errors,
        )

    @property
    def running(self) -> bool:
        """True between entering and leaving the system."""
        return self._running
