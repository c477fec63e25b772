"""The role-play's moderator: rounds of user instruction then assistant solution, and
CAMEL's termination rules, each with its reason name.

The rules are checked as each message is heard, in CAMEL's order, so a chat ends as soon
as a rule fires and nobody is asked for a message that would not be kept:

- the user gives no instruction ``user_no_instruct`` rounds in a row:
  ``user_no_instruct_threshold``;
- the assistant gives an instruction (a role flip) ``assistant_instruct`` times:
  ``assistant_instruct_threshold``;
- ``repeat_messages`` messages in a row are only thanks, goodbyes or "as a language model"
  (CAMEL's repeat-word check, which never fired; this one does): ``repeat_word_threshold``;
- the user says the end token: the token itself (``<CAMEL_TASK_DONE>``), on a line of its own
  or closing the message (``ends_on_token``); a message that only mentions it, as a model
  restating its instructions does, goes on;
- ``max_messages`` messages have been said: ``max_num_messages``;
- an agent's prompt would reach its context limit: ``RoleType.USER: max_tokens_exceeded``
  (or ``ASSISTANT``).
"""

from __future__ import annotations

import re

from ..engine._context import RunContext
from ..engine._moderator import Moderator
from ..engine._protocol import Begin, Said
from ..log._events import ConversationEnded, ConversationStarted
from ..scenario._roleplay import RolePlay
from ._agents import ROLE_TYPE, OutOfContext

INSTRUCTION = "Instruction:"

# Why a chat ended, by rule (CAMEL's names); a chat that ends on its end token has the token.
NO_INSTRUCTION = "user_no_instruct_threshold"
ROLE_FLIP = "assistant_instruct_threshold"
COURTESIES = "repeat_word_threshold"
TOO_LONG = "max_num_messages"
RULE_REASONS = frozenset({NO_INSTRUCTION, ROLE_FLIP, COURTESIES, TOO_LONG})
CONTEXT_FULL = "max_tokens_exceeded"  # after the role: ``RoleType.USER: max_tokens_exceeded``

# What a message of an endless thank-you/goodbye exchange is made of.
_PLEASANTRY = re.compile(r"\b(thank|thanks|bye|goodbye|good bye|farewell|welcome|pleasure|language model)\b", re.I)
_COURTESY_WORDS = ("thank", "bye", "farewell", "welcome", "pleasure", "language model")  # a quick first look
_MARKERS = re.compile(r"^\s*solution:\s*|\s*next request\.?\s*$", re.I)
_PLEASANTRY_WORDS = 40


# What may stand around the token where it ends a message: emphasis, quotes, a full stop.
_AROUND_TOKEN = " \t*_`'\".!"


def ends_on_token(text: str, token: str) -> bool:
    """Whether a user's message ends the chat on ``token``: the token on a line of its own, or
    closing the message (``Good work. <CAMEL_TASK_DONE>``), markdown emphasis, quotes and a
    full stop around it allowed.

    CAMEL ends a chat on the token anywhere in the message; but a model that restates its
    instructions ("I will answer <CAMEL_TASK_DONE> once the task is complete") has not said
    the task is done, and ending its chat there would save it as a finished task.
    """
    if token not in text:
        return False
    if any(line.strip(_AROUND_TOKEN) == token for line in text.splitlines()):
        return True
    return text.rstrip(_AROUND_TOKEN).endswith(token)


def is_pleasantry(text: str) -> bool:
    """Whether a message is only courtesy: thanks, goodbyes, "you're welcome", "as a
    language model", short and with no instruction in it."""
    if INSTRUCTION in text:
        return False
    low = text.lower()
    if not any(word in low for word in _COURTESY_WORDS) or not _PLEASANTRY.search(low):
        return False
    return len(_MARKERS.sub("", text).split()) <= _PLEASANTRY_WORDS


class RolePlayModerator(Moderator):
    """Hands the turn to the user, then the assistant, round after round, until a rule ends it."""

    def __init__(self, ctx: RunContext) -> None:
        super().__init__(ctx, ("top",), ["user", "assistant"], "round-robin", [])
        play = ctx.scenario.roleplay
        assert play is not None
        self.play: RolePlay = play
        self.round = 0
        self.messages = 0
        self.no_instruct = 0  # user rounds in a row without an instruction
        self.flips = 0  # assistant messages with an instruction
        self.courtesies = 0  # pleasantries in a row

    async def receive(self, message: object) -> None:
        if isinstance(message, Said):
            await self._on_said(message)
        elif isinstance(message, OutOfContext):
            if not self.ended and message.token in self.outstanding:
                await self._end(f"RoleType.{ROLE_TYPE[message.speaker]}: {CONTEXT_FULL}")  # type: ignore[index]
        elif isinstance(message, Begin):
            await self.ctx.emit(
                ConversationStarted(run=self.ctx.run, conversation=self.path, members=tuple(self.members))
            )
            await self._next_round()

    async def _next_round(self) -> None:
        self.round += 1
        self.period = f"round {self.round}"
        self.period_index = self.round - 1
        self.ctx.periods += 1
        await self._grant("user")

    async def _on_said(self, said: Said) -> None:
        if self.ended or not await self._heard(said):
            return
        self.messages += 1
        self.ctx.turns += 1
        reason = self._rule(said)
        if reason is not None:
            await self._end(reason)
        elif said.speaker == "user":
            await self._grant("assistant")
        else:
            await self._next_round()

    def _rule(self, said: Said) -> str | None:
        """The reason this message ends the chat, if it does."""
        play, text = self.play, said.text
        self.courtesies = self.courtesies + 1 if is_pleasantry(text) else 0
        if said.speaker == "user":
            self.no_instruct = 0 if INSTRUCTION in text else self.no_instruct + 1
            if self.no_instruct >= play.user_no_instruct:
                return NO_INSTRUCTION
        elif INSTRUCTION in text:
            self.flips += 1
            if self.flips >= play.assistant_instruct:
                return ROLE_FLIP
        if play.repeat_messages and self.courtesies >= play.repeat_messages:
            return COURTESIES
        if said.speaker == "user" and ends_on_token(text, play.end_token):
            return play.end_token
        if self.messages >= play.max_messages:
            return TOO_LONG
        return None

    async def _end(self, reason: str) -> None:
        self.ended = True
        ctx = self.ctx
        await ctx.emit(
            ConversationEnded(run=ctx.run, conversation=self.path, reason=reason, turns=self.messages,
                              period=self.period or None)
        )
        ctx.finish("completed", reason)
