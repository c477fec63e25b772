"""What a scenario file holds: the msgspec Structs a TOML file is decoded into, each unknown key
an error naming the file and the key path (``three-labs.toml: $.agents[2].council.rounds:
Expected int``). Loading is ``converse.scenario._load``'s."""

from __future__ import annotations

from typing import Any, Literal

from ._model_choice import ModelSpecOrChoice
from ._roleplay import RolePlay
from ._strict import Strict

TurnPolicy = Literal["round-robin", "random", "simultaneous", "scripted"]
PublicContext = Literal["none", "last-period", "all", "summary"]
MemoryPolicy = Literal["everything", "window", "summary", "stream"]
OnTruncated = Literal["keep", "retry", "fail"]
# How a structured answer (the judge's verdict) is asked for: the JSON Schema as the server's
# constrained decoding takes it, or in the prompt only ("prompt"); "auto" picks by server.
StructuredOutput = Literal["auto", "json_schema", "json_object", "prompt"]
Step = Literal["year", "half-year", "round"]
DialValue = str | int | float | bool
# A request parameter: any JSON value (TOML's dates and times are refused by the checks).
ParamValue = str | int | float | bool | list[Any] | dict[str, Any]
AgentKind = Literal["lab", "government", "organisation", "person"]
Area = Literal["capabilities", "safety", "policy"]  # what a population's researcher works on
Seniority = Literal["junior", "senior", "lead"]


_Strict = Strict


class Clock(_Strict, frozen=True, kw_only=True):
    """The simulated calendar: periods from ``start`` to ``end`` (inclusive) by ``step``."""

    start: int = 2023
    step: Step = "year"
    end: int | None = None


class Termination(_Strict, frozen=True, kw_only=True):
    """When the public conversation ends (whichever comes first)."""

    max_turns: int | None = None
    end_token: str | None = None


class ModelSettings(_Strict, frozen=True, kw_only=True):
    """Which model answers, and its sampling parameters.

    ``context_window`` is the model's window in tokens (prompt and answer together); by
    default the known window of an ``openai:`` model's name, else unknown (no limit).
    ``params`` go into every request's body as they are, whatever the server takes:
    ``top_k``, ``min_p``, ``repeat_penalty``, tables such as ``logit_bias`` or
    ``response_format``, arrays such as ``stop``.

    ``on_truncated`` is what to do with an answer the server cut off at ``max_tokens``
    (``finish_reason`` "length"): ``keep`` it, marked in the log, transcript and audit (the
    default: a statement cut short is still the model's statement, and failing a long run,
    or paying for every cut answer twice, for it is worse); ``retry`` once with
    ``max_tokens`` doubled; ``fail`` the run, naming the agent.

    ``structured`` is how a structured answer (the judge's verdict) is asked for. The JSON
    Schema is always in the prompt; it also goes to the server's constrained decoding, in
    the server's dialect: ``json_schema`` (OpenAI, vLLM, llama.cpp's server, Ollama:
    ``response_format`` of type ``json_schema``), ``json_object`` (llama-cpp-python's server:
    type ``json_object`` with a ``schema``); or ``prompt`` (the prompt only, with repair turns
    for an answer that does not validate).
    ``auto`` (the default) picks by server. A server that refuses a dialect gets the next
    one, down to ``prompt``; the log records which way each structured call took.

    ``timeout`` is how many seconds one attempt at a call may take before it is abandoned
    and retried; an ``openai:NAME?timeout=S`` spec says the same and wins. 120 if unset.

    ``rpm``, ``tpm`` and ``calls`` are budgets of the model's server endpoint (requests and
    tokens per minute, calls in flight), kept by the scheduler for every run of the process
    that uses the endpoint; unset: the scheduler's own (``--rpm``, ``--tpm``, ``--calls``).
    An agent, a council or a member can have a model of its own (``agents[i].model``),
    which takes these settings unless it says otherwise.
    """

    spec: str = "offline"
    base_url: str | None = None
    temperature: float = 1.0
    max_tokens: int = 600
    on_truncated: OnTruncated = "keep"
    structured: StructuredOutput = "auto"
    timeout: float | None = None
    context_window: int | None = None
    params: dict[str, ParamValue] = {}
    rpm: float | None = None
    tpm: float | None = None
    calls: int | None = None


class Weights(_Strict, frozen=True, kw_only=True):
    """How much each part of a memory's score counts when a prompt's memories are chosen."""

    recency: float = 1.0
    importance: float = 1.0
    relevance: float = 1.0


class Ratings(_Strict, frozen=True, kw_only=True):
    """The importance (1-10) of each kind of memory, when the scenario rates them by rule: what
    the agent heard (``observation``), what it said (``statement``), and a meeting it took part
    in (``meeting``: its council's debate before its statement)."""

    observation: int = 3
    statement: int = 5
    meeting: int = 6


class Stream(_Strict, frozen=True, kw_only=True):
    """A memory stream (``policy = "stream"``): what an agent hears and says becomes a record
    with an importance and an embedding, and each prompt holds the records that score highest
    for the turn by recency, importance and relevance (the generative-agents recipe).

    Attributes:
        embedder: the spec of the model that embeds the records and each turn's query
            (``openai:text-embedding-3-small``, say); empty: the run's model, which must embed
            (the offline model does).
        importance: ``rule``: each record is rated as ``ratings`` say for its kind;
            ``model``: the agent rates what it recorded since its last turn, in one recorded
            call (``ratings`` stand in for a rating the answer leaves out).
        ratings: the importance of each kind of record, by rule.
        weights: the weight of recency, importance and relevance in a record's score.
        decay: recency's factor per period since a record was last retrieved (0 to 1).
        k: the most records one prompt holds.
        reflect_at: the importance of what the agent recorded since it last reflected at
            which it reflects again (150, as in the paper); 0: it never does.
    """

    embedder: str = ""
    importance: Literal["rule", "model"] = "rule"
    ratings: Ratings = Ratings()
    weights: Weights = Weights()
    decay: float = 0.9
    k: int = 10
    reflect_at: int = 150


class Memory(_Strict, frozen=True, kw_only=True):
    """What an agent keeps of its earlier turns in each prompt.

    Attributes:
        policy: ``everything`` (every earlier turn, as the original did: prompts grow each
            turn); ``window`` (the most recent turns that fit in ``tokens``); ``summary``
            (the most recent turns that fit, and a running summary of the older ones,
            written by the model in recorded calls); ``stream`` (a memory stream: the records
            retrieved for the turn, ``stream`` says how). Every policy keeps the system prompt
            and the current turn's message, which holds the period and everything said
            since the agent's last turn.
        tokens: the prompt's budget; by default the model's context window less
            ``max_tokens`` (room for the answer).
        summary_words: the most words the running summary may have.
        stream: how a memory stream rates, embeds and retrieves its records.
    """

    policy: MemoryPolicy = "everything"
    tokens: int | None = None
    summary_words: int = 250
    stream: Stream = Stream()


class Price(_Strict, frozen=True, kw_only=True):
    """What a model costs, in US dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0


class Budget(_Strict, frozen=True, kw_only=True):
    """Limits on what one run may spend; reaching one ends the run as ``budget_exhausted``."""

    tokens: int | None = None
    usd: float | None = None


class Prompts(_Strict, frozen=True, kw_only=True):
    """Prompt templates with ``{placeholders}``; see ``TEMPLATE_FIELDS`` for each one's."""

    system: str = ""
    turn: str = ""
    statement: str = ""
    member_system: str = ""
    council_opening: str = ""
    member_turn: str = ""
    member_statement: str = ""


class Council(_Strict, frozen=True, kw_only=True):
    """A private debate an agent runs among its members before it speaks.

    ``when`` (a dial condition, see ``Agent``) makes the council optional: without it the
    agent speaks without deliberating. ``public_context`` is what the members are told of
    the world outside: ``none``, ``last-period`` (the public statements of this period and
    the last), ``all`` (every public statement) or ``summary`` (a summary of the whole
    public record, written for them by the model in a recorded call).

    ``model`` is the members' model (a spec or a table, as ``Agent.model``); by default
    the model of the agent the council advises. A member's own ``model`` wins.
    """

    members: list[Agent]
    rounds: int = 2
    turn_policy: TurnPolicy = "round-robin"
    order: list[str] = []
    public_context: PublicContext = "last-period"
    prompts: Prompts | None = None
    when: str | None = None
    model: ModelSpecOrChoice | None = None


class Agent(_Strict, frozen=True, kw_only=True):
    """An agent: an organisation at the top level, a person inside a council.

    ``kind`` says what an organisation is (the judge scores labs one by one). ``when`` is a
    condition on the dials that decides whether the agent takes part: ``china``, ``not
    china``, ``labs >= 4``, ``regulation == "strict"`` (operators ``== != < <= > >=``).
    ``memory`` overrides the scenario's ``[memory]`` for this agent (not its members).
    ``model`` is the agent's own model: a spec as ``--model`` takes it (``openai:gpt-4o``)
    or a table with the spec and the ``[model]`` settings it changes (see ``ModelChoice``);
    by default the run's. An organisation's council members take it too, unless the
    council or the member names another.
    """

    name: str
    description: str = ""
    persona: str = ""
    kind: AgentKind = "organisation"
    council: Council | None = None
    when: str | None = None
    memory: Memory | None = None
    model: ModelSpecOrChoice | None = None


class Persona(_Strict, frozen=True, kw_only=True):
    """A kind of researcher a population's labs are staffed with.

    Attributes:
        area: the field the researcher came from: ``capabilities``, ``safety`` or ``policy``
            (what it works on each period is its own choice).
        seniority: ``junior``, ``senior`` or ``lead``.
        share: its share of each lab's staff, relative to the other personas' shares.
        text: who the researcher is, in the researcher's system prompt (a template:
            ``{name}``, ``{lab}``, ``{area}``, ``{seniority}`` and the dials).
    """

    area: Area
    seniority: Seniority = "senior"
    share: float = 1.0
    text: str = ""


class PopulationPrompts(_Strict, frozen=True, kw_only=True):
    """The researchers' prompt templates (see ``TEMPLATE_FIELDS`` for each one's
    placeholders); empty: the built-in ones."""

    researcher_system: str = ""
    researcher_turn: str = ""
    briefing: str = ""


class Population(_Strict, frozen=True, kw_only=True):
    """The researchers of a scenario's labs (a population run; the generative-agents recipe
    at the scale of whole labs).

    Each period every researcher, an actor with a memory stream of its own, hears the news of
    the labs' statements of the period before, chooses what to work on and whether to publish
    (one recorded call) and, when another lab made it an offer, whether to move; then it
    meets ``meet`` colleagues of its own lab, and every ``conference_every`` periods one
    researcher of another lab at a conference. Each lab's leadership is briefed with the
    ``brief`` records of its researchers' work that score highest for the period.

    Attributes:
        researchers: researchers per lab at the start.
        labs: the agents that have researchers; empty: every agent of kind ``lab``.
        personas: the kinds of researcher, by share; empty: a built-in mix of the three areas
            at three levels of seniority.
        meet: colleagues each researcher meets per period inside its lab.
        conference_every: periods between conferences across labs (the first in the first
            period); 0: never.
        mobility: the chance per period that a researcher is made an offer by another lab
            (0 to 1); whether to take it is the researcher's choice.
        brief: the records of its researchers' work a lab's leadership is briefed with.
        stream: the researchers' memory streams (as ``[memory.stream]``).
        tokens: a researcher's prompt budget; by default the model's context window less
            ``max_tokens``.
        prompts: the researchers' prompt templates.
    """

    researchers: int = 20
    labs: list[str] = []
    personas: list[Persona] = []
    meet: int = 2
    conference_every: int = 2
    mobility: float = 0.05
    brief: int = 8
    stream: Stream = Stream(k=6)
    tokens: int | None = None
    prompts: PopulationPrompts = PopulationPrompts()

    @property
    def memory(self) -> Memory:
        """The researchers' memory settings."""
        return Memory(policy="stream", tokens=self.tokens, stream=self.stream)


class Metric(_Strict, frozen=True, kw_only=True):
    """One score the judge gives a run.

    Attributes:
        name: the score's name (a column of a sweep's ``summary.csv``).
        description: what the judge is asked to score.
        scale: ``1-10``, or ``year`` (a calendar year).
        subjects: ``run`` (one score), ``labs`` (one per lab) or ``organisations`` (one per
            top-level agent).
        optional: the judge may give no value (a lab that never announces AGI has no year).
    """

    name: str
    description: str
    scale: Literal["1-10", "year"] = "1-10"
    subjects: Literal["run", "labs", "organisations"] = "run"
    optional: bool = False


class Judge(_Strict, frozen=True, kw_only=True):
    """The verdict after a run: a summary and scores, recorded as a ``judged`` event.

    Attributes:
        enabled: judge completed runs.
        model: the judge's model: a spec, or a table with its spec and settings (its own
            ``base_url``, ``timeout``, ``params``, ``structured``, ``context_window``), as an
            agent's ``model``; by default the run's model.
        function: ``package.module:callable``, a Python judge used instead of a model: it
            gets the run's events and the scenario and returns a summary and scores.
        instructions: what the judge is told before the record; a built-in text by default.
        metrics: the scores asked for; by default the AI-lab metrics (capability and
            safety risk in all and per lab, government regulation, the year each lab
            announces AGI).
        max_tokens: the most tokens the judge's answer (the verdict) may have.
    """

    enabled: bool = True
    model: ModelSpecOrChoice | None = None
    function: str | None = None
    instructions: str = ""
    metrics: list[Metric] | None = None
    max_tokens: int = 1200


class Conversation(_Strict, frozen=True, kw_only=True):
    """How the public conversation runs."""

    turn_policy: TurnPolicy = "round-robin"
    order: list[str] = []
    deliberation: Literal["concurrent", "sequential"] = "concurrent"
    opening: str = ""


class Scenario(_Strict, frozen=True, kw_only=True):
    """A whole simulation, as written in a scenario file: ``agents`` in a public
    conversation, or a ``roleplay`` (CAMEL's AI user and AI assistant).

    A ``population`` staffs the labs with researchers (``Population``).

    ``dials`` holds each dial's value. A dial written as a table in the file (``regulation =
    { default = "light", choices = [...] }``) has its default here and its allowed values in
    ``dial_choices``, which the loader fills from those tables (it is not a key of the file).
    """

    name: str
    title: str = ""
    description: str = ""
    clock: Clock = Clock()
    conversation: Conversation = Conversation()
    termination: Termination = Termination()
    model: ModelSettings = ModelSettings()
    prompts: Prompts = Prompts()
    memory: Memory = Memory()
    dials: dict[str, DialValue] = {}
    dial_choices: dict[str, list[DialValue]] = {}
    prices: dict[str, Price] = {}
    budget: Budget = Budget()
    judge: Judge = Judge()
    agents: list[Agent] = []
    roleplay: RolePlay | None = None
    population: Population | None = None
