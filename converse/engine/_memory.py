"""An agent's memory of its earlier turns, and how much of it goes into each prompt.

Every policy keeps the system prompt and the current turn's message (which states the
period and holds everything said since the agent's last turn):

- ``everything`` sends every earlier turn, as the original Converse did; prompts grow
  with each turn until the model's window is full;
- ``window`` sends the most recent turns that fit in the prompt's budget;
- ``summary`` does the same, and folds the turns it drops into running notes that the
  model writes (recorded calls like any other, so replay and resume cover them).

Tokens are counted offline (``prompt_tokens``: about four characters a token over the whole
prompt, plus each message's framing, as the built-in offline model counts them) and the count
is corrected by the prompt tokens the server reports for each call. When the budget is
reached, turns are dropped down to ``LOW_WATER`` of it, not one by one: the prompt then keeps
the same beginning for several turns, which the log (and a server's prompt cache) shares
between calls.
"""

from __future__ import annotations

from .._exceptions import ContextWindowExceeded
from ..log._events import ChatMessage, Usage
from ..models._model import Prompt, prompt_tokens
from ..scenario._memory_prompts import NOTES_MESSAGE
from ..scenario._scenario import Memory

__all__ = ["LOW_WATER", "AgentMemory", "prompt_budget"]

LOW_WATER = 0.6


def prompt_budget(policy: Memory, window: int | None, answer: int) -> int | None:
    """The tokens a prompt may take: ``policy.tokens``, and no more than the model's window
    less ``answer`` (its ``max_tokens``); None when neither limits it."""
    limits = [x for x in (policy.tokens, window - answer if window is not None else None) if x is not None]
    return min(limits) if limits else None


class AgentMemory:
    """One agent's history and the policy that decides what of it each prompt holds.

    Args:
        agent: the agent's name (for errors).
        policy: the agent's ``Memory`` settings.
        window: the model's context window (None: unknown, no limit).
        answer: tokens kept free for the answer (``max_tokens``).
        system: the agent's system message.
    """

    def __init__(self, agent: str, policy: Memory, window: int | None, answer: int, system: ChatMessage) -> None:
        self.agent = agent
        self.policy = policy
        self.answer = answer
        self.limit = prompt_budget(policy, window, answer)
        self.system = system
        self.history: list[ChatMessage] = []
        self.start = 0  # the first history message prompts still hold (always a turn's own)
        self.lengths: list[int] = []  # characters of each history message
        self.held_chars = 0  # characters of history[start:]
        self.notes = ""
        self.notes_message: ChatMessage | None = None
        self.scale = 1.0  # the server's count over our estimate, from the last call
        self.needed = 0  # the tokens of the last prompt made, as the server would count them
        self.estimated = 0  # and as we estimated them

    def _tokens(self, estimate: int) -> int:
        return int(estimate * self.scale + 0.5)

    def _fixed(self, user: ChatMessage) -> tuple[int, int]:
        """The characters and messages every prompt holds besides its history."""
        chars = len(self.system.content) + len(user.content)
        if self.notes_message is None:
            return chars, 2
        return chars + len(self.notes_message.content), 3

    def to_forget(self, user: ChatMessage) -> list[tuple[str, str]]:
        """The turns (what the agent was told, what it said) the next prompt will not hold:
        under the ``summary`` policy, fold them into the notes first (``remember_notes``)."""
        end = self._new_start(user)
        return [(self.history[i].content, self.history[i + 1].content) for i in range(self.start, end, 2)]

    def _new_start(self, user: ChatMessage) -> int:
        """Where the history held by the next prompt would start."""
        if self.policy.policy == "everything" or self.limit is None:
            return self.start
        chars, messages = self._fixed(user)
        start, held, count = self.start, self.held_chars, len(self.history)
        if self._tokens(prompt_tokens(chars + held, messages + count - start)) <= self.limit:  # as ``prompt`` counts it
            return start
        floor = self._tokens(prompt_tokens(chars, messages))
        target = floor + max(self.limit - floor, 0) * LOW_WATER
        while start < count and self._tokens(prompt_tokens(chars + held, messages + count - start)) > target:
            held -= self.lengths[start] + self.lengths[start + 1]
            start += 2
        return start

    def remember_notes(self, notes: str, upto: int) -> None:
        """The notes now cover the history before ``upto`` (a ``to_forget`` count of turns)."""
        self._drop(self.start + 2 * upto)
        self.notes = notes.strip()
        self.notes_message = ChatMessage(role="user", content=NOTES_MESSAGE.format(notes=self.notes))

    def _drop(self, start: int) -> None:
        self.held_chars -= sum(self.lengths[self.start : start])
        self.start = start

    def prompt(self, user: ChatMessage) -> list[ChatMessage]:
        """The messages of the next call, ``user`` last.

        Raises:
            ContextWindowExceeded: it cannot fit the model's window.
        """
        start = self._new_start(user)
        if start != self.start:
            self._drop(start)
        chars, messages = self._fixed(user)
        chars += self.held_chars
        self.estimated = prompt_tokens(chars, messages + len(self.history) - self.start)
        self.needed = needed = self._tokens(self.estimated)
        if self.limit is not None and needed > self.limit:
            raise ContextWindowExceeded(self.agent, needed, self.limit, self.answer, self.policy.policy)
        # Made in one pass over the history (a display of a slice would copy it three times).
        prompt = Prompt((self.system,) if self.notes_message is None else (self.system, self.notes_message), chars)
        prompt += self.history if not self.start else self.history[self.start :]
        prompt.append(user)
        return prompt

    def remember(self, user: ChatMessage, answer: ChatMessage, usage: Usage) -> None:
        """The prompt last made was sent: keep its turn, and learn from the server's count
        (not from our own estimate, when the server sent none)."""
        if usage.prompt_tokens > 0 and self.estimated > 0 and not usage.estimated:
            self.scale = min(max(usage.prompt_tokens / self.estimated, 0.5), 3.0)
        asked, said = len(user.content), len(answer.content)
        self.history += (user, answer)
        self.lengths += (asked, said)
        self.held_chars += asked + said
