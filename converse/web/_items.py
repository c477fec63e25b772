"""The items of a run's page: one msgspec Struct per kind, as one tagged union, and the one
encoder that sends them.

This union is the contract between the server and the page, defined here only: ``RunView``
makes these items, ``encode`` turns them into the JSON that ``/api/stream`` and ``/api/run``
send, ``static/items.js`` restates them as JSDoc types for the page's type check (a test
holds the two to the same fields and types), and ``static/run.js`` places them. Every item
has its kind ``k`` (the tag) and an ``id``; what goes inside something else names its
container's id in ``in`` (``parent`` here: ``in`` is a Python keyword).

A kind the page does not know is ignored there, so a kind can be added here first.
"""

from __future__ import annotations

from typing import Any

import msgspec

__all__ = [
    "Attempt",
    "Call",
    "Census",
    "Critic",
    "Debate",
    "DebateEnd",
    "ErrorItem",
    "Head",
    "Item",
    "LabShown",
    "Line",
    "PageItem",
    "Period",
    "ScoreShown",
    "Statement",
    "Status",
    "Task",
    "Turn",
    "Unread",
    "Usage",
    "UsageRow",
    "Verdict",
    "encode",
]


class Item(msgspec.Struct, kw_only=True, tag_field="k", gc=False):
    """Fields every item has: ``id``, unique on the page (an item sent again with the same
    ``id``, like ``status``, replaces what the page shows for it)."""

    id: str


class Head(Item, tag="head", kw_only=True, gc=False):
    """The run's title and what it ran: the page's header."""

    run: str
    title: str
    description: str
    scenario: str
    model: str
    seed: int
    started_at: str
    overrides: list[str]
    engine_version: str
    organisations: list[str]
    councils: list[str]
    roleplay: bool


class Status(Item, tag="status", kw_only=True, gc=False):
    """How the run stands: ``running`` with its counts so far, or how it finished."""

    status: str
    reason: str
    periods: int
    turns: int
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float


class Turn(Item, tag="turn", kw_only=True, gc=False):
    """Whose turn it is (``actor`` None: nobody's, the run is between turns or over)."""

    actor: str | None
    period: str = ""
    conversation: str = ""  # its path, " / "-joined


class Period(Item, tag="period", kw_only=True, gc=False):
    """A period of the public conversation: a section of the page (``index`` from 1)."""

    label: str
    index: int


class Critic(msgspec.Struct, kw_only=True, gc=False):
    """A critic's choice among a proposer's candidate messages (1-based ``choice``)."""

    critic: str
    options: list[str]
    choice: int
    by: str
    explanation: str


class Statement(Item, tag="statement", kw_only=True, gc=False):
    """A line of the public conversation, in its period's section (``in``).

    ``claims`` are the ids of the debates that fold under it (``converse.transcript``'s
    ``Folds`` decides which); ``call`` the model call that made it (None when not logged);
    ``truncated``: the server cut that call's answer off at ``max_tokens``.
    """

    parent: str = msgspec.field(name="in")
    actor: str
    name: str  # how the speaker is shown (a role-play's roles), else the actor
    text: str
    seq: int
    period: str
    call: int | None
    claims: list[str]
    critic: Critic | None = None
    truncated: bool = False


class Line(Item, tag="line", kw_only=True, gc=False):
    """A line of a debate, inside the debate (``in``); ``claims`` and ``truncated`` as for a statement."""

    parent: str = msgspec.field(name="in")
    actor: str
    name: str
    text: str
    seq: int
    period: str
    call: int | None
    claims: list[str]
    truncated: bool = False


class Debate(Item, tag="debate", kw_only=True, gc=False):
    """A council's debate (``depth`` 1) or a member's advisers (deeper), opened inside its
    period's section or its parent debate (``in``) while it runs; a line claims it later."""

    parent: str = msgspec.field(name="in")
    owner: str
    label: str
    members: list[str]
    period: str | None
    depth: int


class DebateEnd(Item, tag="debate_end", kw_only=True, gc=False):
    """The debate ``id`` ended, and why."""

    reason: str
    turns: int


class Task(Item, tag="task", kw_only=True, gc=False):
    """A role-play's task, as given and as specified (and planned)."""

    assistant_role: str
    user_role: str
    original: str
    specified: str
    planned: str | None


class ScoreShown(msgspec.Struct, kw_only=True, gc=False):
    """One of a verdict's scores; ``text`` is how it reads (``converse.transcript``'s
    ``score_text``, as the transcript writes it)."""

    name: str
    subject: str | None
    value: float | None
    scale: str
    text: str


class Verdict(Item, tag="verdict", kw_only=True, gc=False):
    """A judge's summary and scores."""

    judge: str
    summary: str
    scores: list[ScoreShown]


class LabShown(msgspec.Struct, kw_only=True, gc=False):
    """One lab in a period of a population run: ``working`` and ``papers`` by area, in the
    order of its census's ``areas``; ``safety`` the share of those who worked this period
    who worked on safety (None: nobody worked)."""

    lab: str
    researchers: int  # on staff at the period's end
    working: list[int]
    papers: list[int]
    joined: int
    left: int
    safety: float | None


class Census(Item, tag="census", kw_only=True, gc=False):
    """A population run's researchers after one period (``index`` as logged): each lab,
    all the labs' ``papers`` by area, how many researchers moved, and the meetings held
    inside labs and at a conference."""

    period: str
    index: int
    areas: list[str]
    labs: list[LabShown]
    papers: list[int]
    moves: int
    meetings: int
    conference: int


class UsageRow(msgspec.Struct, kw_only=True, gc=False):
    """What one agent spent."""

    agent: str
    calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    estimated_tokens: int = 0  # of its tokens, those the server did not report (our estimate)
    model: str = ""  # the model(s) it spoke with ("a, b" for several; "human": a person)


class Usage(Item, tag="usage", kw_only=True, gc=False):
    """Tokens (and, once the ledger is in, cost: ``priced``) by agent."""

    rows: list[UsageRow]
    priced: bool


class Call(Item, tag="call", kw_only=True, gc=False):
    """A model call, without its prompt and answer (``/api/call`` has them)."""

    call: int
    seq: int
    t: float
    actor: str
    purpose: str
    conversation: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency: float
    attempt: int


class Attempt(Item, tag="attempt", kw_only=True, gc=False):
    """A model call's attempt that failed."""

    seq: int
    t: float
    actor: str
    conversation: str
    attempt: int
    error_type: str
    error: str
    status: int | None
    next_delay: float | None


class ErrorItem(Item, tag="error", kw_only=True, gc=False):
    """A run's error, and where it happened (an actor, a conversation, or ""); ``judge``:
    the judge's failure to give a verdict (the run has no scores)."""

    seq: int
    error_type: str
    message: str
    where: str
    fatal: bool
    judge: bool = False


class Unread(Item, tag="unread", kw_only=True, gc=False):
    """A line of the log that was not read (and costs only itself): ``at`` the byte it
    starts at, ``length`` its bytes; ``too_long``: longer than the viewer reads (``length``
    is then what had been seen of it: it may be longer), else not an event the viewer knows
    (damaged, or from a newer version)."""

    at: int
    length: int
    too_long: bool


PageItem = (
    Head
    | Status
    | Turn
    | Period
    | Statement
    | Line
    | Debate
    | DebateEnd
    | Task
    | Verdict
    | Census
    | Usage
    | Call
    | Attempt
    | ErrorItem
    | Unread
)
"""Every kind of item the page places."""

_encoder = msgspec.json.Encoder()


def encode(value: Any) -> bytes:
    """JSON of items (or of anything holding them): the one encoder of what the page reads."""
    return _encoder.encode(value)
