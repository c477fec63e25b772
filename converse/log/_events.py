"""The event log's vocabulary: one msgspec Struct per kind of event, as one tagged union.

Every event has ``type`` (the tag), ``seq`` (0, 1, 2, ... within one log, no gaps), ``t``
(seconds since the run started) and ``run`` (the run id). ``seq`` and ``t`` are stamped by
the run's recorder as it accepts the event, so the log is in ``seq`` order by construction;
nothing changes an event after that.

A conversation is named by its path: ``["top"]`` for the public conversation,
``["top", "OpenAI"]`` for OpenAI's council, ``["top", "OpenAI", "OpenAI CEO"]`` for the CEO's
advisers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

import msgspec

SCHEMA_VERSION = 1

RunStatus = Literal["completed", "failed", "cancelled", "budget_exhausted"]


class ChatMessage(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One message of a chat request, as sent to the model."""

    role: Literal["system", "user", "assistant"]
    content: str


class Usage(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """Token usage of one model call.

    ``estimated``: the server sent no usage, so the counts are converse's own estimate (the
    one the memory uses). Budgets and rate limits count them all the same. Written only when
    true, so a log from before it reads back unchanged.
    """

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Event(msgspec.Struct, kw_only=True, tag_field="type", gc=False):
    """Fields every event has. ``seq`` and ``t`` are set by the recorder."""

    run: str
    seq: int = -1
    t: float = 0.0


class RunStarted(Event, tag="run_started", kw_only=True):
    """The first event: everything needed to run the same simulation again."""

    scenario_name: str
    source: str
    scenario: dict[str, Any]
    seed: int
    model: str
    engine_version: str
    schema_version: int = SCHEMA_VERSION
    overrides: list[str] = []
    started_at: str = ""
    # The model's context window the run held its prompts to, and where it came from:
    # "scenario" (model.context_window), "known" (the model's name) or "server" (asked at
    # the start). Unset (not in the JSON) when it is unknown, so older logs read unchanged.
    context_window: int | msgspec.UnsetType = msgspec.UNSET
    window_source: str | msgspec.UnsetType = msgspec.UNSET
    # The agents a person at the terminal plays (``--human``); unset when none.
    humans: list[str] | msgspec.UnsetType = msgspec.UNSET


class ConversationStarted(Event, tag="conversation_started", kw_only=True):
    """A conversation opened: the public one, or a council's private debate for one period."""

    conversation: tuple[str, ...]
    members: tuple[str, ...]
    period: str | None = None
    owner: str | None = None


class PeriodStarted(Event, tag="period_started", kw_only=True):
    """The clock moved to a new period (a year, a half-year or a round)."""

    conversation: tuple[str, ...]
    period: str
    index: int


class TurnGranted(Event, tag="turn_granted", kw_only=True):
    """The moderator handed the turn token to ``actor``; only the holder may speak."""

    conversation: tuple[str, ...]
    actor: str
    period: str
    turn: int
    token: int


class Utterance(Event, tag="utterance", kw_only=True):
    """What an agent said on its turn, heard by every member of the conversation."""

    conversation: tuple[str, ...]
    actor: str
    period: str
    turn: int
    text: str


class SharedPrefix(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The first ``count`` messages of a prompt are those sent with call number ``call``."""

    call: int
    count: int


class LLMCall(Event, tag="llm_call", kw_only=True):
    """One model call: the exact messages, parameters, answer, usage and latency.

    An agent's prompts grow by a few messages a turn, so a call records only the messages
    that follow what it shares with an earlier call of the run (``shared``); the full
    prompt is that call's first ``shared.count`` messages followed by ``messages``
    (``converse.prompts_of`` rebuilds them). The log stays linear in the run's length
    instead of quadratic, and still holds every byte that was sent.
    """

    call: int
    conversation: tuple[str, ...]
    actor: str
    purpose: str
    model: str
    messages: list[ChatMessage]
    params: dict[str, Any]
    response: str
    usage: Usage
    latency: float
    shared: SharedPrefix | None = None
    attempt: int = 1
    # Why the answer ended, as the server said ("stop"; "length": cut off at max_tokens).
    # Unset (not in the JSON) when the model does not say, so older logs read and stay identical.
    finish_reason: str | msgspec.UnsetType = msgspec.UNSET
    # For a structured answer (the judge's), how its JSON Schema was sent: "json_schema",
    # or "json_object" (the server's constrained decoding), or "prompt" (the prompt only).
    structured: str | msgspec.UnsetType = msgspec.UNSET
    # True for an answer served from the cache (paid for by an earlier run, not by this one).
    cached: bool | msgspec.UnsetType = msgspec.UNSET

    @property
    def truncated(self) -> bool:
        """The answer was cut off at ``max_tokens``."""
        return self.finish_reason == "length"


class LLMAttempt(Event, tag="llm_attempt", kw_only=True):
    """A model call's attempt that failed; the scheduler retries it or gives up (``next_delay`` None)."""

    conversation: tuple[str, ...]
    actor: str
    attempt: int
    error_type: str
    error: str
    status: int | None = None
    retry_after: float | None = None
    next_delay: float | None = None
    queued: float = 0.0
    latency: float = 0.0
    # The tokens it was charged for, when an answer came and was not kept (empty, or cut off and
    # asked again): in the run's ledger and budget. Unset otherwise, so older logs stay identical.
    usage: Usage | msgspec.UnsetType = msgspec.UNSET
    # The spec of the model asked (unset in older logs: the run's model).
    model: str | msgspec.UnsetType = msgspec.UNSET


class Embedded(Event, tag="embedded", kw_only=True):
    """One embedding call: the texts an agent's memory stream embedded, and their embeddings.

    ``vectors`` holds each text's embedding as the base64 of its little-endian float32
    numbers (a quarter of the size of the numbers written out), so replay and resume embed
    nothing: the log answers. ``purpose`` is ``memory`` (the records made since the agent's
    last turn, and the turn's query last).
    """

    conversation: tuple[str, ...]
    actor: str
    purpose: str
    model: str
    texts: list[str]
    vectors: list[str]
    usage: Usage
    latency: float
    attempt: int = 1


class Remembered(Event, tag="remembered", kw_only=True):
    """A record added to an agent's memory stream: its place in the stream (``id``), what
    kind of thing it is (``observation``, ``statement``, ``reflection``), what it says, the
    index of the period it happened in, its importance (1-10) and, for a reflection, the
    records it drew on (``cites``)."""

    conversation: tuple[str, ...]
    actor: str
    id: int
    kind: str
    text: str
    period: int
    importance: int
    cites: list[int] = []
    # Who gave the importance: the agent's model ("model", in the recorded call before this
    # record), the scenario's rule for the record's kind ("rule"; also when the model's answer
    # gave this record no rating), or, for a reflection, the records it cites ("cited": the
    # importance of the most important of them).
    rated: str = "rule"


class Recall(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A record a prompt holds, and the scores that chose it (each part scaled to 0-1 over the
    stream before its weight; ``score`` is the weighted sum)."""

    id: int
    recency: float
    importance: float
    relevance: float
    score: float


class Recalled(Event, tag="recalled", kw_only=True):
    """The records an agent's memory stream gave its next prompt (the agent's next
    ``llm_call``), in the order the prompt shows them, out of ``of`` records, for the turn
    of the period with index ``period``; ``budget`` is the tokens they could take (None: no
    limit but the stream's ``k``)."""

    conversation: tuple[str, ...]
    actor: str
    period: int
    of: int
    records: list[Recall]
    budget: int | None = None
    # The records made for this turn from what its message holds already (what was heard and
    # said since the agent's last turn), left out of the search and of its scaling.
    fresh: list[int] = []


AREAS = ("capabilities", "safety", "policy")  # what a researcher of a population works on


class LabCensus(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One lab's researchers in a period of a population run.

    ``researchers`` is its staff at the period's end (after the moves); ``working`` counts
    who worked on each area (``AREAS``) this period and ``papers`` the papers published in
    each, by the lab's staff of the period (a researcher who left counts for the lab it
    worked at); ``joined`` and ``left`` count the moves.
    """

    lab: str
    researchers: int
    working: dict[str, int]
    papers: dict[str, int]
    joined: int = 0
    left: int = 0


class Move(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A researcher who took another lab's offer (``area`` is its field)."""

    researcher: str
    area: str
    origin: str
    destination: str


class PopulationState(Event, tag="population_state", kw_only=True):
    """The population of researchers after the period labelled ``period`` (index ``index``):
    each lab's census, who moved, and how many meetings were held inside labs and across
    them (at a conference; 0 in a period without one). ``unclear`` counts the answers that
    named no area to work on (each counted in its researcher's own field)."""

    period: str
    index: int
    labs: list[LabCensus]
    moves: list[Move] = []
    meetings: int = 0
    conference: int = 0
    unclear: int = 0


class ConversationEnded(Event, tag="conversation_ended", kw_only=True):
    """A conversation closed, and why (``max_turns``, ``end_period``, ``end_token``, ...)."""

    conversation: tuple[str, ...]
    reason: str
    turns: int
    period: str | None = None


class Score(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One judged score; ``subject`` names the organisation for a per-organisation score."""

    name: str
    value: float | None
    subject: str | None = None
    scale: str = "1-10"


class Judged(Event, tag="judged", kw_only=True):
    """A judge's verdict on the run: a summary and scores."""

    judge: str
    summary: str
    scores: list[Score]


class TaskSpecified(Event, tag="task_specified", kw_only=True):
    """A role-play's task, as given and as the task specifier (and planner) made it.

    ``specified`` is the task both agents are told: the original one when no specifier
    runs. ``planned`` is the planner's list of subtasks, when one runs (the agents are told
    it after the task).
    """

    assistant_role: str
    user_role: str
    original: str
    specified: str
    planned: str | None = None


class CriticChoice(Event, tag="critic_choice", kw_only=True):
    """A critic chose one of an agent's candidate messages (1-based ``choice``).

    ``by`` is ``critic`` (a model), ``human`` (at the terminal) or ``fallback`` (no valid
    choice after every retry: a seeded random pick, as CAMEL did).
    """

    conversation: tuple[str, ...]
    proposer: str
    critic: str
    options: list[str]
    choice: int
    by: Literal["critic", "human", "fallback"]
    explanation: str = ""


class RunError(Event, tag="error", kw_only=True):
    """Something went wrong; ``fatal`` errors end the run."""

    error_type: str
    message: str
    conversation: tuple[str, ...] | None = None
    actor: str | None = None
    fatal: bool = False


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """What one agent (or ``total``) spent."""

    agent: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    estimated_tokens: int = 0  # of its tokens, how many were estimated (the server sent no usage)
    cached_calls: int = 0  # of its calls, how many the cache answered (counted, not paid for)
    model: str = ""  # the model(s) the agent spoke with, by spec ("a, b" for several); "" for the total


class ModelSpend(msgspec.Struct, frozen=True, kw_only=True, gc=False, omit_defaults=True):
    """What one model (by spec) was asked and cost, at its own price; ``price_source`` is
    empty (and the prices None) when the model has no known price."""

    model: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    estimated_tokens: int = 0
    cached_calls: int = 0
    price_input: float | None = None
    price_output: float | None = None
    price_source: str = ""


class Ledger(Event, tag="ledger", kw_only=True):
    """The run's tokens and cost per agent, recorded just before it finishes."""

    model: str
    price_input: float | None = None
    price_output: float | None = None
    entries: list[LedgerEntry]
    # Where the price came from: "scenario" (its [prices]) or the shipped table ("OpenAI list
    # prices of 2026-03-21"); unset when the model has no known price (the run is unpriced).
    price_source: str | msgspec.UnsetType = msgspec.UNSET
    # Per model called, each at its own price (agents can speak with models of their own).
    # Unset in older logs.
    models: list[ModelSpend] | msgspec.UnsetType = msgspec.UNSET


class RunFinished(Event, tag="run_finished", kw_only=True):
    """The last event of a finished run."""

    status: RunStatus
    reason: str
    periods: int
    turns: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float = 0.0


AnyEvent = (
    RunStarted
    | ConversationStarted
    | PeriodStarted
    | TurnGranted
    | Utterance
    | LLMCall
    | LLMAttempt
    | Embedded
    | Remembered
    | Recalled
    | PopulationState
    | ConversationEnded
    | TaskSpecified
    | CriticChoice
    | Judged
    | Ledger
    | RunError
    | RunFinished
)

EVENT_TYPES: tuple[type[Event], ...] = (
    RunStarted,
    ConversationStarted,
    PeriodStarted,
    TurnGranted,
    Utterance,
    LLMCall,
    LLMAttempt,
    Embedded,
    Remembered,
    Recalled,
    PopulationState,
    ConversationEnded,
    TaskSpecified,
    CriticChoice,
    Judged,
    Ledger,
    RunError,
    RunFinished,
)


def prompts_of(events: Iterable[Event]) -> dict[int, list[ChatMessage]]:
    """The full prompt of every model call in ``events``, by call number.

    Raises:
        ValueError: a call shares a prefix with a call that is not in ``events``.
    """
    prompts: dict[int, list[ChatMessage]] = {}
    for event in events:
        if type(event) is LLMCall:
            shared = event.shared
            if shared is None:
                prompts[event.call] = event.messages
                continue
            earlier = prompts.get(shared.call)
            if earlier is None or len(earlier) < shared.count:
                raise ValueError(f"call {event.call} shares {shared.count} messages of unknown call {shared.call}")
            prompts[event.call] = [*earlier[: shared.count], *event.messages]
    return prompts
