"""Messages the engine's actors send each other (never written to the log as such).

They are frozen msgspec Structs outside the cyclic garbage collector's care (``gc=False``):
a run makes several per model call, none can be part of a reference cycle, and keeping
them out of the collector's young generation matters once a thousand runs share a process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

import anyio
import msgspec

from actors import ActorRef

Path = tuple[str, ...]
T = TypeVar("T")


class Said(msgspec.Struct, frozen=True, gc=False):
    """Published on a conversation's topic by the token holder: its utterance, which the
    moderator records and hands on to the others with their next turn."""

    conversation: Path
    speaker: str
    token: int
    period: str
    text: str


class TurnToken(msgspec.Struct, frozen=True, gc=False):
    """Published on the holder's turn topic: ``holder`` may speak now, nobody else.

    It carries what the others said in the conversation since the holder's last turn
    (``since``), and, with a member's first token of a council session, the session's
    opening (the public record it was convened with): one message per turn instead of
    one per utterance to every member.
    """

    conversation: Path
    holder: str
    token: int
    turn: int
    period: str
    period_index: int
    since: tuple[Said, ...] = ()
    opening: str | None = None


class Begin(msgspec.Struct, frozen=True, gc=False):
    """Tells the top moderator to start the conversation."""


@dataclass(slots=True)
class Pending(Generic[T]):
    """A result one actor waits for while another actor produces it (no blocking ask): a
    council's debate, the researchers a lab lets go."""

    done: anyio.Event = field(default_factory=anyio.Event)
    value: T | None = None
    error: BaseException | None = None

    def resolve(self, value: T) -> None:
        self.value = value
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self.error = error
        self.done.set()

    async def wait(self) -> T:
        await self.done.wait()
        if self.error is not None:
            raise self.error
        assert self.value is not None
        return self.value


class Convene(msgspec.Struct, frozen=True, gc=False):
    """Asks a council's moderator to run one debate for ``period`` and resolve ``result``."""

    period: str
    period_index: int
    public_record: str
    result: Pending[list[tuple[str, str]]]


class Deliberate(msgspec.Struct, frozen=True, gc=False):
    """Tells an agent with a council to debate now, before the period's statements, with
    what the others said since it last heard (``since``)."""

    period: str
    period_index: int
    reply_to: ActorRef
    since: tuple[Said, ...] = ()


class Deliberated(msgspec.Struct, frozen=True, gc=False):
    """An agent tells the top moderator that its council has debated this period."""

    speaker: str
