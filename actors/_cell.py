"""An actor's cell: its bounded mailbox, its lifecycle and the loop that feeds it messages.

A cell holds no task of its own. While its mailbox is empty it is plain data; when a message
arrives it is put on the dispatcher's ready queue, and a worker task runs ``Cell.run``,
which handles a batch of messages one at a time and then lets go of the worker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio

from ._actor import Actor
from ._envelope import STOP, Ask, _ChildFailure, _Stop
from ._exceptions import ActorDeadError, ChildFailedError, DeathReason, UnhandledMessageError
from ._statistics import MailboxStatistics
from ._supervision import Restart, SupervisionPolicy, decide, report
from .log import get_logger

if TYPE_CHECKING:
    from ._ref import ActorRef
    from ._system import ActorSystem

log = get_logger("actors")

RUNNING = 0  # accepts and handles messages
DRAINING = 1  # stop requested: refuses new messages, handles those already queued
STOPPING = 2  # children and on_stop running
STOPPED = 3  # dead
STATE_NAMES = ("running", "draining", "stopping", "stopped")

BATCH = 64  # messages handled per activation before the cell goes to the back of the queue
_ENVELOPES = frozenset((Ask, _Stop, _ChildFailure))  # what the runtime, not the actor, acts on


class Cell:
    """Runtime state of one actor. Private: users hold an ``ActorRef``."""

    __slots__ = (
        "_name",
        "actor",
        "capacity",
        "children",
        "dead_reason",
        "factory",
        "instance_stopped",
        "interruption",
        "items",
        "parent",
        "policy",
        "processed",
        "ref",
        "restart_times",
        "running",
        "scheduled",
        "state",
        "stopped_event",
        "system",
        "waiters",
    )

    def __init__(
        self,
        system: ActorSystem,
        factory: Callable[[], Actor],
        actor: Actor,
        name: str | None,
        capacity: int,
        policy: SupervisionPolicy,
        parent: Cell | None,
        ref: ActorRef,
    ) -> None:
        self.system = system
        self.factory = factory
        self.actor = actor
        self._name = name
        self.capacity = capacity
        self.policy = policy
        self.parent = parent
        self.ref = ref
        # The mailbox exists while it holds something: an idle actor keeps no queue (most of
        # an idle actor's memory, and one object fewer for the garbage collector to scan).
        self.items: deque[object] | None = None
        self.waiters: deque[list[Any]] | None = None
        self.children: set[Cell] | None = None
        self.restart_times: deque[float] | None = None
        self.stopped_event: anyio.Event | None = None
        self.dead_reason: DeathReason = "stopped"
        self.state = RUNNING
        self.scheduled = False
        self.processed = 0
        self.running: anyio.CancelScope | None = None  # the worker's scope while a handler runs
        self.interruption: BaseException | None = None  # why the running handler was cancelled
        self.instance_stopped = False  # on_stop already ran for this instance (mid-restart)

    @property
    def name(self) -> str:
        if self._name is None:
            self._name = f"{type(self.actor).__name__}-{id(self):x}"
        return self._name

    # -- the mailbox --------------------------------------------------------------------

    def try_put(self, item: object) -> bool:
        """Queue ``item`` if there is room; False if the sender has to wait."""
        if self.state:
            raise ActorDeadError(self.name, self.dead_reason)
        if self.waiters:
            return False
        items = self.items
        if items is None:
            items = self.items = deque()
        elif len(items) >= self.capacity:
            return False
        items.append(item)
        if not self.scheduled:
            self.scheduled = True
            self.system.dispatcher.schedule(self)
        return True

    def _mailbox(self) -> deque[object]:
        """The mailbox, made if the actor had none."""
        items = self.items
        if items is None:
            items = self.items = deque()
        return items

    def has_room(self) -> bool:
        return not self.waiters and (self.items is None or len(self.items) < self.capacity)

    async def put(self, item: object) -> None:
        """Queue ``item``, waiting for room; waiting senders are served first come, first served."""
        if self.try_put(item):
            return
        if self.waiters is None:
            self.waiters = deque()
        if not self.waiters and self.running is None:
            # The first sender to wait, and the cell is queued, not running: bring it forward.
            self.system.dispatcher.expedite(self)
        waiter: list[Any] = [item, self.system.event_cls(), None]
        self.waiters.append(waiter)
        try:
            await waiter[1].wait()
        except BaseException:
            # Still waiting: withdraw. Already handed over: the message was delivered.
            if waiter in self.waiters:
                self.waiters.remove(waiter)
            raise
        if waiter[2] is not None:
            raise waiter[2]

    def _hand_over(self) -> None:
        """Move the longest-waiting sender's message into the mailbox (keeps send order)."""
        waiters = self.waiters
        if waiters:
            item, event, _ = waiters.popleft()
            self._mailbox().append(item)
            event.set()

    def statistics(self) -> MailboxStatistics:
        return MailboxStatistics(
            actor=self.name,
            depth=len(self.items or ()),
            capacity=self.capacity,
            waiting_senders=len(self.waiters or ()),
            processed=self.processed,
            state=STATE_NAMES[self.state],
            restarts=len(self.restart_times or ()),
        )

    # -- handling messages ---------------------------------------------------------------

    async def run(self, scope: anyio.CancelScope) -> None:
        """Handle up to ``BATCH`` messages; called by a dispatcher worker inside ``scope``.

        ``interrupt`` cancels ``scope`` to abandon the handler in progress (a stop without
        draining, or a child's escalated failure that must be handled first).
        """
        items = self.items  # the dispatcher runs a cell only while messages wait in it
        assert items is not None
        budget = BATCH
        self.running = scope
        ask: Ask | None = None
        try:
            while items and self.state <= DRAINING and budget:
                budget -= 1
                item = items.popleft()
                if self.waiters:
                    self._hand_over()
                kind = type(item)
                if kind not in _ENVELOPES:  # a told message: the common case, tried first
                    try:
                        actor = self.actor
                        if actor._receives:
                            await actor.receive(item)
                        else:
                            await self._dispatch(type(actor), actor, item)
                    except Exception as exc:
                        if self.interruption is not None:
                            # Told to abandon the message (a stop without draining, or a child's
                            # failure to see to first), it failed on its way out before it saw
                            # the cancellation (telling an actor already stopped, say): a sign of
                            # the stop, not a failure of its own. The stop is handled next.
                            self.interruption = None
                            break
                        await self._crashed(exc, item)
                    self.processed += 1
                elif kind is Ask:
                    request: Ask = item  # type: ignore[assignment]
                    ask = request
                    try:
                        request.value = await self._handle(request.message)
                    except Exception as exc:
                        exc.add_note(f"raised by actor {self.name!r} handling an ask")
                        request.error = exc
                    self.processed += 1
                    request.resolve()
                    ask = None
                elif kind is _Stop:
                    await self.terminate("stopped")
                    return
                else:  # a child's failure
                    failure: _ChildFailure = item  # type: ignore[assignment]
                    await self._crashed(ChildFailedError(failure.child, failure.cause), item)
            if not items and self.actor._idles and self.state <= DRAINING:
                await self._hook(self.actor.on_idle)
        except BaseException:
            if ask is not None and not ask.done:
                ask.error = self.interruption or ActorDeadError(self.name, "stopped")
                ask.resolve()
            raise
        finally:
            self.running = None
        if items and self.state <= DRAINING:
            if self.waiters:
                self.system.dispatcher.expedite(self)  # senders wait for room: go again first
            else:
                self.system.dispatcher.schedule(self)  # stay scheduled, go to the back
        else:
            self.scheduled = False
            if not items:
                self.items = None  # idle again: let the queue go

    def interrupt(self, reason: BaseException) -> None:
        """Cancel the handler in progress, if any (the mailbox is left as it is)."""
        if self.running is not None:
            self.interruption = reason
            self.running.cancel()

    def interrupted(self) -> None:
        """Called by the worker after ``run`` was cancelled: carry on with the mailbox."""
        self.interruption = None
        if self.items and self.state <= DRAINING:
            self.system.dispatcher.schedule(self)
        else:
            self.scheduled = False

    def _handle(self, message: object) -> Any:
        actor = self.actor
        if actor._receives:
            return actor.receive(message)
        return self._dispatch(type(actor), actor, message)

    def _dispatch(self, cls: type[Actor], actor: Actor, message: object) -> Any:
        """The handler ``cls`` declares for ``message``'s type, called."""
        fn = cls.handler_for(type(message))
        if fn is None:
            raise UnhandledMessageError(self.name, type(message).__qualname__)
        return fn(actor, message)

    # -- failure and supervision -----------------------------------------------------------

    async def _crashed(self, error: Exception, message: object) -> None:
        await self._hook(self.actor.on_failure, error, message)
        policy = self.policy
        decision, attempt = decide(policy, self._count_restart)
        self.system.report_failure(report(self.name, error, type(message).__qualname__, decision), error)
        if decision == "restarted":
            assert isinstance(policy, Restart)
            await self._restart(policy, attempt)
        elif decision == "stopped":
            await self.terminate("failed")
        elif decision == "escalated":
            await self.terminate("failed")
            parent = self.parent
            # A parent that is stopping anyway takes nothing more: the failure was reported.
            if parent is not None and parent.state <= DRAINING:
                # Out of band: to the front of the parent's mailbox, and whatever the parent
                # is doing (likely waiting on this child) is abandoned.
                failure = ChildFailedError(self.name, error)
                parent._mailbox().appendleft(_ChildFailure(self.name, error))
                if not parent.scheduled:
                    parent.scheduled = True
                    self.system.dispatcher.schedule(parent)
                else:
                    parent.interrupt(failure)
            elif parent is None:
                self.system.escalate(self.name, error)

    def _count_restart(self, policy: Restart) -> int:
        now = anyio.current_time()
        times = self.restart_times
        if times is None:
            times = self.restart_times = deque()
        while times and now - times[0] > policy.within:
            times.popleft()
        times.append(now)
        return len(times)

    async def _restart(self, policy: Restart, attempt: int) -> None:
        await self.stop_children(drain=False)
        self.instance_stopped = True  # a stop cutting the restart short must not stop it twice
        await self._hook(self.actor.on_stop)
        await anyio.sleep(policy.delay(attempt))
        try:
            fresh = self.factory()
            fresh._actor_cell = self
            await fresh.on_start()
        except Exception as exc:
            self.system.report_failure(report(self.name, exc, "restart", "stopped"), exc)
            self.dead_reason = "failed"
            await self.finish()
            return
        self.actor = fresh
        self.instance_stopped = False

    async def _hook(self, hook: Callable[..., Any], *args: object) -> None:
        """Run a lifecycle hook; an error in it is reported, never raised into the runtime."""
        try:
            await hook(*args)
        except Exception as exc:
            log.error(
                "actor hook failed",
                actor=self.name,
                hook=getattr(hook, "__name__", "hook"),
                error=f"{type(exc).__name__}: {exc}",
            )
            self.system.hook_errors += 1

    # -- stopping ----------------------------------------------------------------------------

    def request_stop(self, *, drain: bool) -> bool:
        """Queue a stop behind the pending messages (or drop them); True if inline stop is safe."""
        if self.state != RUNNING:
            return False
        if not drain:
            self.fail_pending()
        if not self.scheduled and not self.items:
            return True
        self.state = DRAINING
        self._mailbox().append(STOP)
        if not drain:
            self.interrupt(ActorDeadError(self.name, "stopped"))
        return False

    async def wait_stopped(self) -> None:
        if self.state == STOPPED:
            return
        if self.stopped_event is None:
            self.stopped_event = self.system.event_cls()
        await self.stopped_event.wait()

    async def terminate(self, reason: DeathReason, *, drain: bool = True) -> None:
        """Stop children, run ``on_stop``, fail what is left in the mailbox.

        Children of an actor that failed, or that is stopped without draining, are stopped
        without draining either: their handlers in progress are cancelled.
        """
        if self.state >= STOPPING:
            return
        self.dead_reason = reason
        self.state = STOPPING
        await self.stop_children(drain=drain and reason == "stopped")
        if type(self.actor).on_stop is not Actor.on_stop and not self.instance_stopped:
            self.instance_stopped = True
            await self._hook(self.actor.on_stop)
        await self.finish()

    async def finish(self) -> None:
        self.state = STOPPED
        self.scheduled = True  # never schedule a dead cell again
        self.fail_pending()
        self.system.forget(self)
        if self.parent is not None and self.parent.children is not None:
            self.parent.children.discard(self)
        if self.stopped_event is not None:
            self.stopped_event.set()

    async def stop_children(self, *, drain: bool = True) -> None:
        # Ask every child to stop before waiting for any, so none goes on working (and
        # talking to siblings already gone) while the others stop.
        children, self.children = list(self.children or ()), None
        idle = [child for child in children if child.request_stop(drain=drain)]
        for child in idle:
            await child.terminate("stopped", drain=drain)
        for child in children:
            await child.wait_stopped()

    def fail_pending(self) -> None:
        reason = self.dead_reason
        items = self.items
        while items:
            item = items.popleft()
            if type(item) is Ask:
                item.error = ActorDeadError(self.name, reason)
                item.resolve()
            elif item is not STOP:
                self.system.dead_letters += 1
        waiters = self.waiters
        while waiters:
            waiter = waiters.popleft()
            waiter[2] = ActorDeadError(self.name, reason)
            waiter[1].set()
