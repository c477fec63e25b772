"""The workload both peers of ``bench_peers`` run: one debate simulation's prompts, filled
with the values converse fills them with, and the chat memory every agent keeps (converse's
``everything`` policy). The sequential original (``bench_peers``) and autogen-core
(``bench_peers_autogen``) say the same texts through them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from converse import CompletionRequest, Hints
from converse.councils._agent import EMPTY_RECORD, NO_NEW, SPEAKS_FIRST  # the same texts as the engine
from converse.events import ChatMessage
from converse.scenario._clock import period_label, periods
from converse.scenario._scenario import Prompts, Scenario
from converse.scenario._templates import fill


@dataclass(frozen=True, slots=True)
class Org:
    name: str
    system: str
    members: tuple[tuple[str, str], ...]  # (name, system prompt)


@dataclass(frozen=True, slots=True)
class Workload:
    """What one debate simulation says and who says it: a converse scenario's agents and
    prompt templates, filled with the values converse fills them with."""

    orgs: tuple[Org, ...]
    periods: tuple[str, ...]
    rounds: int
    prompts: Prompts
    opening: str
    values: Mapping[str, object]

    @classmethod
    def of(cls, scenario: Scenario) -> Workload:
        values, names = dict(scenario.dials), [a.name for a in scenario.agents]
        labels = periods(scenario.clock) or []
        orgs = []
        for agent in scenario.agents:
            assert agent.council is not None
            system = fill(scenario.prompts.system, {
                **values, "name": agent.name, "description": agent.description, "organisations": ", ".join(names),
                "others": ", ".join(n for n in names if n != agent.name), "unit": scenario.clock.step,
                "first_period": period_label(scenario.clock, 0), "last_period": labels[-1]})
            member_names = [m.name for m in agent.council.members]
            members = tuple(
                (m.name, fill(scenario.prompts.member_system, {
                    **values, "name": m.name, "persona": m.persona or m.description, "organisation": agent.name,
                    "organisation_description": agent.description,
                    "colleagues": ", ".join(n for n in member_names if n != m.name)}))
                for m in agent.council.members
            )
            orgs.append(Org(agent.name, system, members))
        rounds = {a.council.rounds for a in scenario.agents if a.council}
        assert len(rounds) == 1
        return cls(tuple(orgs), tuple(labels), rounds.pop(), scenario.prompts, scenario.conversation.opening, values)

    def member_prompt(self, org: str, name: str, period: str, unheard: list[str], record: str | None) -> str:
        """A member's turn: what was said since its last one, after the session's opening
        (the public record) on its first turn in a session."""
        user = fill(self.prompts.member_turn, {**self.values, "name": name, "organisation": org, "period": period,
                                               "debate": "\n".join(unheard) or SPEAKS_FIRST})
        if record is None:
            return user
        opening = fill(self.prompts.council_opening, {**self.values, "organisation": org, "period": period,
                                                      "public_record": record})
        return f"{opening}\n\n{user}"

    def statement_prompt(self, name: str, period: str, unheard: list[str], debate: list[str], first: bool) -> str:
        """An organisation's report: the statements since its last one and its council's debate."""
        statements = "\n\n".join(unheard) or NO_NEW
        if first and self.opening:
            statements = f"{self.opening}\n\n{statements}" if unheard else self.opening
        return fill(self.prompts.statement, {**self.values, "name": name, "period": period,
                                             "statements": statements, "debate": "\n".join(debate)})

    def public_record(self, heard: list[tuple[str, str, str]], index: int) -> str:
        """What a council is shown: the statements of this period and the last."""
        keep = {self.periods[i] for i in (index - 1, index) if i >= 0}
        kept = [f"{s} ({p}): {t}" for s, p, t in heard if p in keep]
        return "\n\n".join(kept) if kept else EMPTY_RECORD


class Memory:
    """An agent's private chat history (converse's ``everything`` policy): its system prompt,
    then each turn's new message and its answer."""

    __slots__ = ("history", "system")

    def __init__(self, system: str) -> None:
        self.system = ChatMessage(role="system", content=system)
        self.history: list[ChatMessage] = []

    def request(self, user: str, hints: Hints) -> CompletionRequest:
        message = ChatMessage(role="user", content=user)
        request = CompletionRequest(messages=[self.system, *self.history, message], hints=hints)
        self.history.append(message)
        return request

    def answered(self, text: str) -> str:
        self.history.append(ChatMessage(role="assistant", content=text))
        return text.strip()


def strip_speaker(text: str, name: str) -> str:
    prefix = f"{name}:"
    return text[len(prefix) :].lstrip() if text.startswith(prefix) else text
