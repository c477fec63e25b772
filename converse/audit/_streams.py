"""The ``recalled`` rule: what a memory stream gave each prompt, checked against the log.

For an agent with a memory stream (``memory.policy = "stream"``), the log holds every record
it added (``remembered``), the embeddings of each (``embedded``), and each choice of records
for a prompt with their scores (``recalled``). From those the stream is rebuilt, agent by
agent, and each choice made again:

- the records chosen, and their scores, are the ones the scenario's weights, decay, ``k``
  and the recorded budget give (to six decimals, as the log rounds them);
- a record added is the text that was embedded for it, in the agent's own stream (numbered
  from 0, with no gaps), and a reflection cites only records made before it;
- the agent's next turn shows exactly the chosen records, and no record that is not its
  own: another agent's memory never reaches its prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .._exceptions import ConverseError
from ..engine._stream import MemoryStream, Retrieval
from ..engine._stream_memory import memories, record_line, record_tokens, retrieval_of
from ..log._events import (
    AnyEvent,
    ChatMessage,
    Embedded,
    LLMCall,
    Recalled,
    Remembered,
    RunStarted,
    prompts_of,
)
from ..models._model import text_vector
from ..scenario._clock import period_label
from ..scenario._load import scenario_from_dict
from ..scenario._models import every_agent
from ..scenario._population import briefing_actor, briefing_memory, population_labs
from ..scenario._scenario import Clock, Memory, Scenario

__all__ = ["RULE", "stream_violations"]

RULE = "recalled"
TURNS = frozenset({"statement", "line", "research"})


class _Agent:
    """One agent's stream as the log rebuilds it."""

    def __init__(self, how: Retrieval) -> None:
        self.how = how
        self.stream: MemoryStream | None = None
        self.batch: list[tuple[str, np.ndarray]] = []  # the texts and vectors of the records embedded last
        self.next = 0  # the next text of the batch a record takes
        self.query: np.ndarray | None = None  # the last turn's query
        self.recalled: Recalled | None = None  # waiting for the agent's next turn


def stream_violations(
    events: Sequence[AnyEvent], started: RunStarted | None
) -> list[tuple[int, str, str]]:
    """Every breach of the ``recalled`` rule, as (seq, actor, what is wrong)."""
    scenario = _scenario(started)
    if scenario is None:
        return []
    tables = _memories(scenario)
    agents: dict[str, _Agent] = {}
    found: list[tuple[int, str, str]] = []
    prompts: dict[int, list[ChatMessage]] | None = None
    for event in events:
        if isinstance(event, Embedded):
            agent = _agent(agents, tables, event.actor)
            batch = [(text, text_vector(v)) for text, v in zip(event.texts, event.vectors, strict=False)]
            if event.purpose == "memory":  # the records of the turn, then its query
                agent.query = batch[-1][1] if batch else None
                agent.batch, agent.next = batch[:-1], 0
            elif event.purpose in ("reflection", "digest"):  # a reflection's insights; records taken in between turns
                agent.batch, agent.next = batch, 0
            # "questions": a reflection's look at the stream, which changes nothing in it
        elif isinstance(event, Recalled):
            agent = _agent(agents, tables, event.actor)
            found += _recall(agent, event)
            agent.recalled = event
        elif isinstance(event, Remembered):
            agent = _agent(agents, tables, event.actor)
            found += _remember(agent, event)
        elif isinstance(event, LLMCall) and event.purpose in TURNS and event.actor in agents:
            agent = agents[event.actor]
            if agent.recalled is None:
                continue
            if prompts is None:
                prompts = prompts_of(events)
            found += _shown(agent, event, prompts[event.call], scenario.clock)
            agent.recalled = None
    return found


def _scenario(started: RunStarted | None) -> Scenario | None:
    if started is None:
        return None
    try:
        return scenario_from_dict(started.scenario, "run_started")
    except ConverseError:  # a scenario this version does not read: nothing to check against
        return None


def _memories(scenario: Scenario) -> tuple[dict[str, Memory], Memory]:
    """Each agent's memory settings, by name (its own table, else the scenario's), and those of
    anyone else whose memory the log holds: a population's researchers (each lab's memory of
    its researchers' work has a table of its own)."""
    tables = {agent.name: agent.memory or scenario.memory for agent in every_agent(scenario.agents)}
    population = scenario.population
    if population is None:
        return tables, scenario.memory
    for lab in population_labs(scenario):
        tables[briefing_actor(lab)] = briefing_memory(population)
    return tables, population.memory


def _agent(agents: dict[str, _Agent], tables: tuple[dict[str, Memory], Memory], name: str) -> _Agent:
    agent = agents.get(name)
    if agent is None:
        named, others = tables
        agent = agents[name] = _Agent(retrieval_of(named.get(name, others).stream))
    return agent


def _recall(agent: _Agent, event: Recalled) -> list[tuple[int, str, str]]:
    """The choice made again from the rebuilt stream, against the recorded one."""
    query = agent.query
    if query is None:
        return [(event.seq, event.actor, "a recall with no embedding of its query before it")]
    if agent.stream is None:
        agent.stream = MemoryStream(len(query))
    held = len(agent.stream)
    if event.of != held:
        return [(event.seq, event.actor, f"recalled from {event.of} records; the agent had remembered {held}")]
    chosen = agent.stream.retrieve(query, period=event.period, how=agent.how, budget=event.budget, exclude=event.fresh)
    again = [(r.record.id, round(r.score, 6)) for r in chosen]
    recorded = [(r.id, r.score) for r in event.records]
    if [i for i, _ in again] != [i for i, _ in recorded]:
        return [(event.seq, event.actor, f"recalled records {[i for i, _ in recorded]}; the scores choose {[i for i, _ in again]}")]
    off = [i for (i, mine), (_, theirs) in zip(again, recorded, strict=True) if abs(mine - theirs) > 2e-6]
    if off:
        return [(event.seq, event.actor, f"the recorded scores of records {off} are not what the stream gives them")]
    return []


def _remember(agent: _Agent, event: Remembered) -> list[tuple[int, str, str]]:
    """Add the record with the embedding its text was given; it must be the batch's next text."""
    if agent.next >= len(agent.batch):
        return [(event.seq, event.actor, f"record {event.id} was never embedded")]
    text, vector = agent.batch[agent.next]
    agent.next += 1
    if text != event.text:
        return [(event.seq, event.actor, f"record {event.id} is not the text embedded for it")]
    if agent.stream is None:
        agent.stream = MemoryStream(len(vector))
    if event.id != len(agent.stream):
        return [(event.seq, event.actor, f"record {event.id} should be record {len(agent.stream)} of the stream")]
    try:
        agent.stream.add(
            event.kind,  # type: ignore[arg-type]
            event.text, period=event.period, importance=event.importance, embedding=vector,
            cites=event.cites, tokens=record_tokens(event.text),
        )
    except ValueError as exc:
        return [(event.seq, event.actor, f"record {event.id}: {exc}")]
    return []


def _shown(agent: _Agent, call: LLMCall, messages: list[ChatMessage], clock: Clock) -> list[tuple[int, str, str]]:
    """The turn's prompt starts with exactly the recalled records, in order: no other record
    of the agent's, and none of anyone else's."""
    recalled = agent.recalled
    assert recalled is not None
    shown = messages[-1].content if messages else ""
    records = agent.stream.records if agent.stream is not None else []
    lines = []
    for recall in recalled.records:
        if recall.id >= len(records):
            return [(call.seq, call.actor, f"shows record {recall.id}, which it never remembered")]
        record = records[recall.id]
        lines.append(record_line(record, period_label(clock, record.period)))
    if shown.startswith(memories(lines)):
        return []
    missing = next((r.id for r, line in zip(recalled.records, lines, strict=True) if line not in shown), None)
    if missing is not None:
        return [(call.seq, call.actor, f"does not show record {missing}, which it recalled")]
    return [(call.seq, call.actor, "shows memories besides the records it recalled")]
