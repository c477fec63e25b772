"""Every statement of a run as a row, for pandas or a spreadsheet: who said what, where, when,
with which model and how many tokens; and the rows of a sweep, with each run's dials and seed.

A row is made for every ``utterance`` of the log, public and inside councils (for a role-play,
the AI user's and AI assistant's messages). Its columns (``STATEMENT_COLUMNS``):

- ``run``: the run's id (a sweep's run directory is named for it).
- ``period``: the period it was said in (``2027``, ``H1 2031``, ``round 3``).
- ``organisation``: the top-level agent it belongs to: the speaker of a public statement, the
  organisation whose council (or council member's advisers) it was said in; for a role-play, the
  speaker's role.
- ``conversation``: the conversation's path joined with `` / `` (``top``, ``top / OpenAI``,
  ``top / OpenAI / OpenAI CEO``), as the viewer names it.
- ``speaker``: the agent that said it; for a role-play, its role (``Stock Trader``).
- ``model``: the model that made it: the ``model`` of the speaker's model call that the line
  came from (its last call in the conversation since its last line, or the candidate the critic
  chose), as the viewer's ``prompt`` button finds it; None (an empty cell) when no call made it.
- ``text``: what was said, exactly as logged.
- ``prompt_tokens``, ``completion_tokens``: that call's usage; None when no call made it.
- ``seq``: the utterance's ``seq`` in its log, to find it there.

A sweep's rows add, after ``run``, a column per grid key (named as ``summary.csv`` names it; a key
that is also a statement column, such as ``model``, becomes ``dial:model``) and ``seed``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..log._events import AnyEvent, LLMCall, RunStarted, Utterance
from ..log._log import gc_paused
from ..transcript._camel import roleplay_log
from ._source import SweepRun

__all__ = ["STATEMENT_COLUMNS", "dial_columns", "statement_rows", "sweep_statement_rows"]

STATEMENT_COLUMNS = (
    "run",
    "period",
    "organisation",
    "conversation",
    "speaker",
    "model",
    "text",
    "prompt_tokens",
    "completion_tokens",
    "seq",
)
"""The columns of a run's statement rows, in order."""

PATH_SEPARATOR = " / "


def statement_rows(events: Sequence[AnyEvent]) -> list[dict[str, Any]]:
    """A row per statement of a run (see the module's docstring), in log order.

    Raises:
        ValueError: ``events`` does not start with ``run_started``.
    """
    if not events or type(events[0]) is not RunStarted:
        raise ValueError("statement_rows needs a run's events, starting with run_started")
    # The viewer's page decides which call made each line (a critic's choice, notes taken
    # first): one rule for the page and the rows. converse.web is opt-in: imported when used.
    from ..web._items import Line, Statement
    from ..web._runview import RunView

    roles: dict[str, str] = {}
    messages: set[int] | None = None
    if isinstance(events[0].scenario.get("roleplay"), dict):
        chat = roleplay_log(events)
        roles = {actor: chat.role_name(actor) for actor in ("user", "assistant")}
        messages = {message.seq for message in chat.messages}
    view = RunView()
    calls: dict[int, LLMCall] = {}
    rows: list[dict[str, Any]] = []
    with gc_paused():
        for event in events:
            if type(event) is LLMCall:
                calls[event.call] = event
            items = view.feed((event,))
            if type(event) is not Utterance or (messages is not None and event.seq not in messages):
                continue
            call = None
            for item in items:
                if isinstance(item, Statement | Line) and item.seq == event.seq and item.call is not None:
                    call = calls.get(item.call)
            path = tuple(event.conversation)
            speaker = roles.get(event.actor, event.actor)
            rows.append(
                {
                    "run": event.run,
                    "period": event.period,
                    "organisation": path[1] if len(path) > 1 else speaker,
                    "conversation": PATH_SEPARATOR.join(path),
                    "speaker": speaker,
                    "model": call.model if call is not None else None,
                    "text": event.text,
                    "prompt_tokens": call.usage.prompt_tokens if call is not None else None,
                    "completion_tokens": call.usage.completion_tokens if call is not None else None,
                    "seq": event.seq,
                }
            )
    return rows


def dial_columns(dial_names: Sequence[str]) -> list[str]:
    """The column of each grid key in a sweep's rows: its name, or ``dial:NAME`` when a
    statement column (or ``seed``) has that name already."""
    taken = {*STATEMENT_COLUMNS, "seed"}
    return [f"dial:{name}" if name in taken else name for name in dial_names]


def sweep_statement_rows(runs: Iterable[SweepRun], dial_names: Sequence[str]) -> list[dict[str, Any]]:
    """The statement rows of every run of a sweep that has a log, in the sweep's order, each
    with the run's dials and seed after ``run`` (the seed as its log records it)."""
    columns = dial_columns(dial_names)
    rows: list[dict[str, Any]] = []
    for run in runs:
        if run.log is None:
            continue
        started = run.log.events[0]
        seed = started.seed if type(started) is RunStarted else run.seed
        extra = {column: run.dials.get(name) for column, name in zip(columns, dial_names, strict=True)}
        extra["seed"] = seed
        rows += ({"run": row.pop("run"), **extra, **row} for row in statement_rows(run.log.events))
    return rows
