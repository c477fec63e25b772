"""``ActorRef``: the only handle on an actor that anything else holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import anyio

from ._cell import RUNNING
from ._envelope import Ask
from ._exceptions import AskTimeoutError, MailboxFullError
from ._statistics import MailboxStatistics
from .lowlevel import checkpoint

if TYPE_CHECKING:
    from ._cell import Cell


class _SystemDefault:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<system default>"


SYSTEM_DEFAULT: Final = _SystemDefault()


class ActorRef:
    """A handle on an actor: send it messages, ask it questions, stop it.

    Refs compare equal when they point at the same actor and are safe to keep after the
    actor died: every call then fails with ``ActorDeadError``.
    """

    __slots__ = ("_cell",)

    _cell: Cell

    @property
    def name(self) -> str:
        """The actor's name."""
        return self._cell.name

    @property
    def is_alive(self) -> bool:
        """True while the actor accepts messages."""
        return self._cell.state == RUNNING

    async def tell(self, message: object) -> None:
        """Send ``message`` without waiting for it to be handled.

        Waits while the mailbox is full (backpressure; nothing is dropped).

        Raises:
            ActorDeadError: the actor is stopped or has failed.
        """
        cell = self._cell
        if not cell.try_put(message):
            await cell.put(message)

    def tell_nowait(self, message: object) -> None:
        """Send ``message`` if the mailbox has room.

        Raises:
            MailboxFullError: the mailbox is full; the message was not sent.
            ActorDeadError: the actor is stopped or has failed.
        """
        cell = self._cell
        if not cell.try_put(message):
            raise MailboxFullError(cell.name, cell.capacity)

    async def ask(
        self,
        message: object,
        *,
        timeout: float | _SystemDefault | None = SYSTEM_DEFAULT,  # noqa: ASYNC109 - part of the ask contract
    ) -> Any:
        """Send ``message`` and wait for the handler's return value.

        An exception raised by the handler is raised here, with a note naming the actor.

        Args:
            message: the request.
            timeout: seconds to wait for the reply; None waits for as long as it takes; by
                default the system's ``ask_timeout``.

        Raises:
            AskTimeoutError: no reply within ``timeout``.
            ActorDeadError: the actor was dead, or died before replying.
        """
        cell = self._cell
        request = Ask(message)
        if not cell.try_put(request):
            await cell.put(request)
        await checkpoint()  # let a quick handler answer before paying for an event
        if not request.done:
            request.event = event = cell.system.event_cls()
            if timeout is SYSTEM_DEFAULT:
                timeout = cell.system.ask_timeout
            if timeout is None:
                await event.wait()
            else:
                assert isinstance(timeout, (int, float))
                with anyio.move_on_after(timeout):
                    await event.wait()
                if not request.done:
                    raise AskTimeoutError(cell.name, timeout)
        if request.error is not None:
            raise request.error
        return request.value

    async def stop(self, *, drain: bool = True) -> None:
        """Stop the actor and wait until its ``on_stop`` has run.

        Args:
            drain: handle the messages already queued first (default); with False they are
                dropped and pending asks fail with ``ActorDeadError``.
        """
        cell = self._cell
        if cell.request_stop(drain=drain):
            await cell.terminate("stopped", drain=drain)
        else:
            await cell.wait_stopped()

    async def wait_stopped(self) -> None:
        """Wait until the actor has stopped, for whatever reason."""
        await self._cell.wait_stopped()

    def statistics(self) -> MailboxStatistics:
        """A snapshot of the mailbox: depth, capacity, waiting senders, state."""
        return self._cell.statistics()

    def __repr__(self) -> str:
        return f"<ActorRef {self.name!r} {self._cell.statistics().state}>"
