"""Which council debate folds under which line: the one rule, for the transcript and the viewer.

A sub-conversation is owned by the last name of its path: ``("top", "OpenAI")`` is OpenAI's
council debate, ``("top", "OpenAI", "OpenAI CEO")`` the CEO's advisers. Once it has ended it
waits for its owner's next line in the conversation it was held for (its path without the
owner: the public conversation for a council, the council for a member's advisers). That line
*claims* it, with any other debate of the owner's waiting for the same conversation, in the
order they ended; the Markdown transcript folds them inside the line, and so does the page.
"""

from __future__ import annotations

from collections.abc import KeysView, Sequence
from typing import Generic, TypeVar

__all__ = ["Folds", "debate_label"]

T = TypeVar("T")


def debate_label(path: Sequence[str]) -> str:
    """How a sub-conversation is titled: ``OpenAI council debate``, ``OpenAI CEO advisers``."""
    owner = path[-1]
    return f"{owner} council debate" if len(path) == 2 else f"{owner} advisers"


class Folds(Generic[T]):
    """Ended debates (each one a ``T``: rendered blocks, or the page's id of it) waiting for
    the line that claims them."""

    __slots__ = ("_waiting",)

    def __init__(self) -> None:
        # by owner: the path of the conversation the owner speaks in, and the debate
        self._waiting: dict[str, list[tuple[tuple[str, ...], T]]] = {}

    @property
    def owners(self) -> KeysView[str]:
        """Who has a debate waiting (a live view): a line of anyone else claims none."""
        return self._waiting.keys()

    def close(self, path: Sequence[str], debate: T) -> None:
        """The debate held in the conversation ``path`` has ended: it waits for its owner."""
        self._waiting.setdefault(path[-1], []).append((tuple(path[:-1]), debate))

    def claim(self, actor: str, path: Sequence[str]) -> list[T]:
        """The debates that fold under ``actor``'s line in the conversation ``path`` (often
        none), in the order they ended; they wait no more."""
        entries = self._waiting.get(actor)
        if not entries:
            return []
        path = tuple(path)
        if len(entries) == 1 and entries[0][0] == path:  # the common case: one debate, this line's
            del self._waiting[actor]
            return [entries[0][1]]
        mine = [debate for parent, debate in entries if parent == path]
        rest = [(parent, debate) for parent, debate in entries if parent != path]
        if rest:
            self._waiting[actor] = rest
        else:
            del self._waiting[actor]
        return mine
