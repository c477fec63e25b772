"""The critic in the loop: it chooses one of an agent's candidate messages.

CAMEL's critic sees a menu of the options, answers with its choice first and then its
reasons; the first number in its answer is the choice. An invalid answer is asked again
(``retries`` times), then a seeded random option is taken, so a critic that never answers
sensibly costs a bounded number of calls and the run goes on (the ``CriticChoice`` event
says ``fallback``). The critic is a model, or a person at the terminal: a person's answers
are recorded like a model's, so a resumed or replayed run does not ask again.
"""

from __future__ import annotations

import random
import re
import sys
from collections.abc import Callable

import anyio
import msgspec

from actors import Actor

from ..engine._calling import Answer, PromptChain, call_and_record, from_log, request_for
from ..engine._context import RunContext
from ..log._events import ChatMessage, CriticChoice, Usage
from ..models._model import CompletionRequest, CompletionResponse, Hints, Model, estimate_prompt_tokens
from . import _prompts

WINDOW = 6  # messages of earlier menus and answers the critic keeps (CAMEL's window)
_NUMBER = re.compile(r"\d+")


class Proposals(msgspec.Struct, frozen=True, gc=False):
    """Asked of the critic: choose one of ``options`` (returns its 1-based number)."""

    proposer: str
    role_name: str
    role_type: str
    options: list[str]


def parse_choice(text: str, count: int) -> int | None:
    """The choice in a critic's answer: its first number, if it names an option."""
    found = _NUMBER.search(text)
    if found is None:
        return None
    value = int(found.group())
    return value if 1 <= value <= count else None


class HumanCritic:
    """A person choosing at the terminal: shows the menu, reads a line.

    Args:
        read: reads one line (``input`` by default); end of input counts as no choice.
        write: shows text (``print`` to stderr by default).
    """

    spec = "human"

    def __init__(self, read: Callable[[str], str] = input, write: Callable[[str], None] | None = None) -> None:
        self.read = read
        self.write = write or (lambda text: print(text, file=sys.stderr, flush=True))

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.write(request.messages[-1].content)
        try:
            line = await anyio.to_thread.run_sync(self.read, "> ", abandon_on_cancel=True)
        except EOFError:
            line = ""  # no one there: an invalid choice, and in the end the fallback
        return CompletionResponse(text=line.strip(), usage=Usage(), model=self.spec)


class CriticActor(Actor):
    """Chooses among candidates; its memory is a window of its last menus and answers.

    Args:
        ctx: the run.
        task: the task as the agents are told it.
        model: the critic's model (a ``HumanCritic`` for a person); None: the run's.
    """

    def __init__(self, ctx: RunContext, task: str, model: Model | HumanCritic | None) -> None:
        play = ctx.scenario.roleplay
        assert play is not None
        self.ctx = ctx
        self.settings = play.critic
        self.name = play.critic.name
        self.model = model
        self.human = isinstance(model, HumanCritic)
        self.system_message = ChatMessage(role="system", content=_prompts.critic_prompt(play, task))
        self.memory: list[ChatMessage] = []
        self.chain = PromptChain()
        self.rng = random.Random(f"{ctx.seed}:critic")

    async def receive(self, message: object) -> int:
        assert isinstance(message, Proposals)
        count = len(message.options)
        menu = ChatMessage(role="user", content=_prompts.menu(message.role_name, message.role_type, message.options))
        asked = [menu]
        choice: int | None = None
        answer = ""
        for _ in range(self.settings.retries + 1):
            answer = await self._ask([self.system_message, *self.memory, *asked], message.proposer)
            choice = parse_choice(answer, count)
            if choice is not None:
                break
            retry = f"{_prompts.INVALID}\n{menu.content}"
            asked += [ChatMessage(role="assistant", content=answer), ChatMessage(role="user", content=retry)]
        by = "human" if self.human else "critic"
        explanation = answer
        if choice is None:
            choice, by = self.rng.randrange(count) + 1, "fallback"
            tries = self.settings.retries + 1
            explanation = f"no valid choice in {tries} answer{'s' if tries > 1 else ''}; option {choice} taken at random"
        await self.ctx.emit(
            CriticChoice(
                run=self.ctx.run,
                conversation=("top",),
                proposer=message.proposer,
                critic=self.name,
                options=message.options,
                choice=choice,
                by=by,  # type: ignore[arg-type]
                explanation=explanation,
            )
        )
        self.memory = [*self.memory, menu, ChatMessage(role="assistant", content=answer)][-WINDOW:]
        return choice

    async def _ask(self, messages: list[ChatMessage], proposer: str) -> str:
        ctx = self.ctx
        settings = ctx.scenario.model
        request = request_for(settings, messages, Hints(kind="critic", speaker=self.name, organisation=proposer))
        answered = None
        if self.human:  # not a model: no scheduler, no timeout; recorded all the same
            assert isinstance(self.model, HumanCritic)
            answered = Answer(from_log(ctx, request) or await self.model.complete(request))
        response = await call_and_record(
            ctx, request, conversation=("top", "critic"), actor=self.name, purpose="critic",
            estimate=estimate_prompt_tokens(messages) + settings.max_tokens, chain=self.chain,
            answered=answered, model=None if self.human else self.model,
        )
        return response.text.strip()
