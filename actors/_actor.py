"""The ``Actor`` base class and the ``@handler`` decorator for typed handlers."""

from __future__ import annotations

import types
import typing
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from ._exceptions import UnhandledMessageError

if TYPE_CHECKING:
    from ._cell import Cell
    from ._ref import ActorRef
    from ._supervision import SupervisionPolicy
    from ._system import ActorSystem

Handler = Callable[[Any, Any], Awaitable[Any]]
HandlerT = TypeVar("HandlerT", bound=Callable[..., Awaitable[Any]])
ActorT = TypeVar("ActorT", bound="Actor")

_HANDLER_MARK = "__actor_handler__"


def handler(fn: HandlerT) -> HandlerT:
    """Mark an ``async def`` method as the handler for the type its message is annotated with.

    ```python
    class Counter(Actor):
        @handler
        async def add(self, msg: Add) -> int: ...
    ```

    The annotation is resolved the first time a message reaches the actor, so forward
    references work. A message goes to the handler of its own type or, failing that, of its
    nearest base class; with no match it is an ``UnhandledMessageError``.
    """
    setattr(fn, _HANDLER_MARK, True)
    return fn


class Actor:
    """Base class for actors.

    An actor handles one message at a time, in the order they reached its mailbox, and
    nothing outside it touches its state. Subclass it and either decorate ``async`` methods
    with ``@handler`` (dispatch on the message type) or override ``receive`` for one entry
    point. Override the hooks as needed; each runs inside the actor, never concurrently
    with a handler. What a class overrides (``receive``, ``on_idle``) is looked up once, when
    the class is made: override them in its body, not by setting them on it later.
    """

    _handler_table: ClassVar[dict[type, Handler] | None] = None
    _actor_cell: Cell
    # What a class overrides, looked up once when the class is made, not for every message.
    _receives: ClassVar[bool] = False  # its own ``receive``, for every message
    _idles: ClassVar[bool] = False  # its own ``on_idle``

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._receives = cls.receive is not Actor.receive
        cls._idles = cls.on_idle is not Actor.on_idle

    async def on_start(self) -> None:
        """Called once before the first message; the ref is handed out only after it."""

    async def on_stop(self) -> None:
        """Called once when the actor stops (also before a restart replaces it)."""

    async def on_idle(self) -> None:
        """Called each time the mailbox has just been emptied (to flush a batch, say)."""

    async def on_failure(self, error: Exception, message: object) -> None:
        """Called when handling a told message raised, before the supervision policy acts."""

    async def receive(self, message: Any) -> Any:
        """Handle one message. The default dispatches to ``@handler`` methods by type."""
        fn = type(self).handler_for(type(message))
        if fn is None:
            raise UnhandledMessageError(self.actor_name, type(message).__qualname__)
        return await fn(self, message)

    # -- context available inside the actor -------------------------------------------

    @property
    def ref(self) -> ActorRef:
        """This actor's own ref, to hand to others or to tell itself."""
        return self._actor_cell.ref

    @property
    def actor_name(self) -> str:
        """This actor's name in its system (given at spawn, or made up from its class)."""
        return self._actor_cell.name

    @property
    def system(self) -> ActorSystem:
        """The system this actor runs in."""
        return self._actor_cell.system

    async def spawn(
        self,
        factory: Callable[[], ActorT],
        *,
        name: str | None = None,
        mailbox_size: int | None = None,
        supervision: SupervisionPolicy | None = None,
    ) -> ActorRef:
        """Spawn a child: it is stopped before this actor stops, and escalates to it."""
        return await self._actor_cell.system.spawn(
            factory,
            name=name,
            mailbox_size=mailbox_size,
            supervision=supervision,
            parent=self._actor_cell,
        )

    # -- typed dispatch ------------------------------------------------------------------

    @classmethod
    def handler_for(cls, message_type: type) -> Handler | None:
        """The ``@handler`` method for ``message_type``, or None if no handler accepts it."""
        table = cls.__dict__.get("_handler_table")
        if table is None:
            table = cls._build_handler_table()
            cls._handler_table = table
        fn = table.get(message_type)
        if fn is None:
            for base in message_type.__mro__[1:]:
                fn = table.get(base)
                if fn is not None:
                    table[message_type] = fn
                    break
        return fn

    @classmethod
    def _build_handler_table(cls) -> dict[type, Handler]:
        table: dict[type, Handler] = {}
        # Walk from the most basic class down so subclasses override their parents.
        for klass in reversed(cls.__mro__):
            for attr, fn in vars(klass).items():
                if not getattr(fn, _HANDLER_MARK, False):
                    continue
                hints = typing.get_type_hints(fn)
                params = fn.__code__.co_varnames[1 : fn.__code__.co_argcount]
                if not params or params[0] not in hints:
                    raise TypeError(
                        f"handler {cls.__qualname__}.{attr} needs an annotated message parameter"
                    )
                message_type = hints[params[0]]
                union = typing.get_origin(message_type) in (typing.Union, types.UnionType)
                for each in typing.get_args(message_type) if union else (message_type,):
                    table[each] = fn
        return table
