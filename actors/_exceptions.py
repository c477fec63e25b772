"""Every error the actor runtime raises.

Hierarchy::

    ActorError
    ├── ActorDeadError           the target actor is stopped or has failed for good
    ├── AskTimeoutError          an ``ask`` got no reply in time (also a ``TimeoutError``)
    ├── MailboxFullError         ``tell_nowait`` on a full mailbox (also ``anyio.WouldBlock``)
    ├── UnhandledMessageError    no handler accepts the message's type (also a ``TypeError``)
    ├── SystemNotRunningError    spawning or publishing outside a running ``ActorSystem``
    ├── ChildFailedError         a child escalated its failure to its parent
    └── EscalatedFailureError    a failure escalated past every actor: the system aborted

Messages are built from structured fields in ``__init__``, so callers (and tests) can
match on ``err.actor``, ``err.reason`` and friends instead of parsing prose. Every one
pickles with the arguments it was made with (``ActorError`` does it for all).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import anyio

DeathReason = Literal["stopped", "failed"]

_MADE_WITH = "_made_with"  # where an error keeps the arguments it was made with


class RebuildsFromArguments(BaseException):
    """Pickles (and copies) as a call of its class with the arguments it was made with.

    A base for exceptions that must cross a process boundary whole (an actor's failure, an
    error raised on a Ray worker): no subclass writes ``__reduce__``. Each subclass's own
    ``__init__`` is wrapped, when the class is made, to keep the arguments of the outermost
    call (a subclass's ``super().__init__(message)`` is not kept); ``__reduce__`` calls the
    class with them again and then restores every attribute, so ones set after construction
    (``add_note``) survive too. An instance whose class defines no ``__init__`` is rebuilt
    from ``args``, as any exception is.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _keeping_arguments(init)  # type: ignore[method-assign]

    def __reduce__(self) -> tuple[Any, ...]:
        made = self.__dict__.get(_MADE_WITH)
        args, kwargs = made if made is not None else (self.args, {})
        return (_rebuild, (type(self), args, kwargs), dict(self.__dict__))


def _keeping_arguments(init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: BaseException, *args: Any, **kwargs: Any) -> None:
        if _MADE_WITH not in self.__dict__:  # the outermost call: the one ``__reduce__`` repeats
            self.__dict__[_MADE_WITH] = (args, kwargs)
        init(self, *args, **kwargs)

    return __init__


def _rebuild(cls: type[BaseException], args: tuple[Any, ...], kwargs: dict[str, Any]) -> BaseException:
    return cls(*args, **kwargs)


class ActorError(RebuildsFromArguments, Exception):
    """Base class of every error raised by the actor runtime; each pickles with the arguments
    it was made with (``RebuildsFromArguments``)."""


class ActorDeadError(ActorError):
    """The target actor is no longer alive.

    ``reason`` says who ended it: ``"stopped"`` means someone stopped it on purpose (your
    code, or the system shutting down); ``"failed"`` means it crashed and its supervision
    policy did not keep it alive.
    """

    def __init__(self, actor: str, reason: DeathReason) -> None:
        self.actor = actor
        self.reason: DeathReason = reason
        verb = "was stopped" if reason == "stopped" else "has failed"
        super().__init__(f"actor {actor!r} {verb}; it accepts no more messages")


class AskTimeoutError(ActorError, TimeoutError):
    """``ask`` received no reply within ``timeout`` seconds.

    The message stays in the actor's mailbox and is still handled; only the reply is lost.
    """

    def __init__(self, actor: str, timeout: float) -> None:
        self.actor = actor
        self.timeout = timeout
        super().__init__(f"actor {actor!r} did not reply within {timeout:g} s")


class MailboxFullError(ActorError, anyio.WouldBlock):
    """``tell_nowait`` or ``publish_nowait`` found a full mailbox; nothing was delivered."""

    def __init__(self, actor: str, capacity: int) -> None:
        self.actor = actor
        self.capacity = capacity
        super().__init__(f"mailbox of actor {actor!r} is full ({capacity} messages)")


class UnhandledMessageError(ActorError, TypeError):
    """The actor has no handler for a message of this type."""

    def __init__(self, actor: str, message_type: str) -> None:
        self.actor = actor
        self.message_type = message_type
        super().__init__(f"actor {actor!r} has no handler for messages of type {message_type}")


class SystemNotRunningError(ActorError):
    """The ``ActorSystem`` is not running (not entered yet, or already shut down)."""

    def __init__(self, system: str, action: str) -> None:
        self.system = system
        self.action = action
        super().__init__(f"cannot {action}: actor system {system!r} is not running")


class ChildFailedError(ActorError):
    """A child actor failed and its policy escalated the failure to its parent."""

    def __init__(self, child: str, cause: BaseException) -> None:
        self.child = child
        self.cause = cause
        super().__init__(f"child actor {child!r} failed: {type(cause).__name__}: {cause}")
        self.__cause__ = cause


class EscalatedFailureError(ActorError):
    """A failure escalated past the top-level actor; the whole system was shut down."""

    def __init__(self, actor: str, cause: BaseException) -> None:
        self.actor = actor
        self.cause = cause
        super().__init__(
            f"actor {actor!r} escalated a failure and the system shut down: "
            f"{type(cause).__name__}: {cause}"
        )
        self.__cause__ = cause
