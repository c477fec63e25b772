"""What travels through a mailbox besides plain told messages: asks, stops, child failures."""

from __future__ import annotations

from typing import Any

import anyio


class Ask:
    """A request that expects a reply.

    The asker first yields once and checks ``done``: a quick handler has answered by then,
    and no event is needed. Only an asker that really has to wait creates ``event``.
    """

    __slots__ = ("done", "error", "event", "message", "value")

    def __init__(self, message: object) -> None:
        self.message = message
        self.done = False
        self.event: anyio.Event | None = None
        self.value: Any = None
        self.error: BaseException | None = None

    def resolve(self) -> None:
        self.done = True
        if self.event is not None:
            self.event.set()


class _Stop:
    __slots__ = ()


class _ChildFailure:
    __slots__ = ("cause", "child")

    def __init__(self, child: str, cause: BaseException) -> None:
        self.child = child
        self.cause = cause


STOP = _Stop()
