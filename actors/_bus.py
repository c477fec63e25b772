"""``EventBus``: topic publish/subscribe between actors (and plain tasks).

Delivery goes through each subscriber's bounded mailbox, so a slow subscriber slows its
publishers down instead of losing events or growing memory without limit. Every subscriber
sees a topic's messages in the order they were published: concurrent publishers queue up
behind a full mailbox first come, first served.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._cell import RUNNING, STOPPED
from ._exceptions import ActorDeadError, MailboxFullError
from ._statistics import BusStatistics

if TYPE_CHECKING:
    from ._ref import ActorRef


class _Sink(Protocol):
    state: int

    @property
    def capacity(self) -> int: ...

    @property
    def name(self) -> str: ...

    def try_put(self, item: object) -> bool: ...

    async def put(self, item: object) -> None: ...

    def has_room(self) -> bool: ...


class _StreamSink:
    """A memory object stream standing in for a subscriber that is not an actor."""

    __slots__ = ("name", "send", "state")

    def __init__(self, name: str, send: MemoryObjectSendStream[object]) -> None:
        self.name = name
        self.send = send
        self.state = RUNNING

    def try_put(self, item: object) -> bool:
        try:
            self.send.send_nowait(item)
        except anyio.WouldBlock:
            return False
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.state = STOPPED
            raise ActorDeadError(self.name, "stopped") from None
        return True

    async def put(self, item: object) -> None:
        try:
            await self.send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            self.state = STOPPED
            raise ActorDeadError(self.name, "stopped") from None

    @property
    def capacity(self) -> int:
        size = self.send.statistics().max_buffer_size
        return int(size) if size != float("inf") else -1

    def has_room(self) -> bool:
        stats = self.send.statistics()
        if stats.open_receive_streams == 0:
            self.state = STOPPED
            return True  # a closed subscription: the delivery will drop it
        return stats.current_buffer_used < stats.max_buffer_size or stats.tasks_waiting_receive > 0


class EventBus:
    """Topic-based publish/subscribe. Get the system's bus as ``system.bus``."""

    def __init__(self) -> None:
        self._topics: dict[str, tuple[_Sink, ...]] = {}
        self._published = 0
        self._delivered = 0
        self._waiting = 0
        self._blocked: dict[str, deque[anyio.Event]] = {}  # topics with a publish waiting

    def subscribe(self, topic: str, ref: ActorRef) -> None:
        """Deliver every message published on ``topic`` to ``ref``'s mailbox (once per ref)."""
        self._add(topic, ref._cell)

    def unsubscribe(self, topic: str, ref: ActorRef) -> bool:
        """Stop delivering ``topic`` to ``ref``; False if it was not subscribed."""
        return self._remove(topic, ref._cell)

    @asynccontextmanager
    async def subscription(
        self, topic: str, *, max_buffer_size: int = 100
    ) -> AsyncIterator[MemoryObjectReceiveStream[object]]:
        """Subscribe a plain task: yields a bounded receive stream of the topic's messages.

        ```python
        async with bus.subscription("progress") as events:
            async for event in events: ...
        ```
        """
        send, receive = anyio.create_memory_object_stream[object](max_buffer_size)
        sink = _StreamSink(f"subscription:{topic}", send)
        self._add(topic, sink)
        try:
            with receive:
                yield receive
        finally:
            self._remove(topic, sink)
            send.close()

    def subscribers(self, topic: str) -> int:
        """How many live subscribers ``topic`` has."""
        return sum(1 for sink in self._topics.get(topic, ()) if sink.state == RUNNING)

    async def publish(self, topic: str, message: object, *, sender: ActorRef | None = None) -> int:
        """Deliver ``message`` to every subscriber of ``topic``; returns how many got it.

        Waits while a subscriber's mailbox is full, and while an earlier publish on the
        same topic is still waiting: every subscriber sees a topic's messages in the order
        ``publish`` was called. Dead subscribers are dropped silently.

        Args:
            topic: the topic.
            message: the message.
            sender: a subscriber that should not get its own message back.
        """
        self._published += 1
        if topic in self._blocked:
            await self._wait_turn(topic)
        skip = sender._cell if sender is not None else None
        delivered = 0
        dead = False
        try:
            for sink in self._topics.get(topic, ()):
                if sink.state:
                    dead = True
                    continue
                if sink is skip:
                    continue
                try:
                    if not sink.try_put(message):
                        await self._put_blocking(topic, sink, message)
                except ActorDeadError:
                    dead = True
                    continue
                delivered += 1
        finally:
            self._delivered += delivered
            if dead:
                self._prune(topic)
            if self._blocked:
                self._next_turn(topic)
        return delivered

    async def _put_blocking(self, topic: str, sink: _Sink, message: object) -> None:
        # Later publishes on this topic queue up behind us until we are done.
        self._blocked.setdefault(topic, deque())
        self._waiting += 1
        try:
            await sink.put(message)
        finally:
            self._waiting -= 1

    async def _wait_turn(self, topic: str) -> None:
        turn = anyio.Event()
        self._blocked[topic].append(turn)
        self._waiting += 1
        try:
            await turn.wait()
        except BaseException:
            if turn in self._blocked.get(topic, ()):
                self._blocked[topic].remove(turn)
            elif turn.is_set():
                self._next_turn(topic)  # we were handed the turn: pass it on
            raise
        finally:
            self._waiting -= 1

    def _next_turn(self, topic: str) -> None:
        queue = self._blocked.get(topic)
        if queue is None:
            return
        if queue:
            queue.popleft().set()
        else:
            del self._blocked[topic]

    def publish_nowait(self, topic: str, message: object) -> int:
        """Deliver ``message`` now to every subscriber, or to none.

        Raises:
            MailboxFullError: some subscriber's mailbox is full, or an earlier publish on
                the topic is still waiting; nothing was delivered.
        """
        self._published += 1
        sinks = self._topics.get(topic)
        if not sinks:
            return 0
        live = [sink for sink in sinks if sink.state == RUNNING]
        for sink in live:
            if topic in self._blocked or not sink.has_room():
                raise MailboxFullError(sink.name, sink.capacity)
        delivered = 0
        for sink in live:
            try:
                sink.try_put(message)
            except ActorDeadError:
                continue
            delivered += 1
        self._delivered += delivered
        if delivered != len(sinks):
            self._prune(topic)
        return delivered

    def statistics(self) -> BusStatistics:
        """Counts of topics, subscriptions, messages and blocked publishers."""
        return BusStatistics(
            topics=len(self._topics),
            subscriptions=sum(len(sinks) for sinks in self._topics.values()),
            published=self._published,
            delivered=self._delivered,
            waiting_publishers=self._waiting,
        )

    # Subscriber tuples are replaced, never mutated, so a publish in progress keeps
    # iterating the snapshot it started with.

    def _add(self, topic: str, sink: _Sink) -> None:
        sinks = self._topics.get(topic, ())
        if sink not in sinks:
            self._topics[topic] = (*sinks, sink)

    def _remove(self, topic: str, sink: _Sink) -> bool:
        sinks = self._topics.get(topic, ())
        if sink not in sinks:
            return False
        rest = tuple(s for s in sinks if s is not sink)
        if rest:
            self._topics[topic] = rest
        else:
            del self._topics[topic]
        return True

    def _prune(self, topic: str) -> None:
        live = tuple(s for s in self._topics.get(topic, ()) if s.state == RUNNING)
        if live:
            self._topics[topic] = live
        else:
            self._topics.pop(topic, None)
