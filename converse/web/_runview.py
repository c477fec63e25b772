"""A run's page as a stream of items, made from its events as they are read.

The page is built by a small script that only places items (``_items``: each item has a kind
``k``, an ``id`` and, for what goes inside something else, the ``in`` id of its container).
Every decision about what goes where is made here, once, and the same code serves a finished log
and one still being written: ``RunView.feed`` takes the next events and returns the items
they add; ``RunView.updates`` returns the items that summarise the run so far (status,
tokens per agent, whose turn it is), to be sent after each batch. A population run's census
after each period is an item of its own (``_population``).

Where things go: each period of the public conversation is a section; a public statement
is a card in its period; a council's debate opens in the section of its period (or, for a
member's advisers, inside the debate the member speaks in) while it runs, and the owner's
next line in that conversation *claims* it, so the page folds it under that line: the rule is
``converse.transcript``'s ``Folds``, which the Markdown transcript follows too.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from ..judge._judge import is_judge_failure
from ..log._events import (
    ConversationEnded,
    ConversationStarted,
    CriticChoice,
    Event,
    Judged,
    Ledger,
    LLMAttempt,
    LLMCall,
    PeriodStarted,
    PopulationState,
    RunError,
    RunFinished,
    RunStarted,
    TaskSpecified,
    TurnGranted,
    Utterance,
)
from ..transcript._folding import Folds, debate_label
from ..transcript._text import error_where, score_text
from ..transcript._title import covered_periods, run_title
from ._items import (
    Attempt,
    Call,
    Critic,
    Debate,
    DebateEnd,
    ErrorItem,
    Head,
    Line,
    PageItem,
    Period,
    ScoreShown,
    Statement,
    Status,
    Task,
    Turn,
    Usage,
    UsageRow,
    Verdict,
)
from ._population import census
from ._reading import CallSeen

__all__ = ["RunView"]


class RunView:
    """Turns a run's events, in log order, into the items of its page."""

    def __init__(self) -> None:
        self.finished: RunFinished | None = None
        self.periods: set[str] = set()
        self.period = ""  # the public conversation's current period
        self.head: tuple[RunStarted, Head] | None = None  # the page's header, retitled when the run ends
        self.begun: list[str] = []  # the periods the public conversation's clock began
        self.spoken: set[str] = set()  # the periods with a public statement
        self.open: dict[tuple[str, ...], str] = {}  # open debate ids by conversation path
        self.folds: Folds[str] = Folds()  # ended debates' ids, until a line claims them
        # each speaker's calls since its last line: (call number, purpose)
        self.calls_since: dict[tuple[str, tuple[str, ...]], list[tuple[int, str]]] = {}
        self.cut: set[int] = set()  # the calls whose answer was cut off at max_tokens
        self.names: dict[str, str] = {}  # how a speaker is shown, when not by its name (role-plays)
        self.choices: dict[str, Critic] = {}  # a critic's choice, until the proposer's line
        self.usage: dict[str, list[float]] = {}  # agent -> calls, prompt, completion, cost, estimated
        self.models: dict[str, dict[str, None]] = {}  # agent -> the models it spoke with, in order
        self.priced = False
        self.calls = 0
        self.tokens = [0, 0]
        self.turns = 0
        self.turn: Turn | None = None
        self._dirty = True
        self._turn_dirty = False

    def feed(self, events: Iterable[Event]) -> list[PageItem]:
        """The items ``events`` add to the page."""
        out: list[PageItem] = []
        for event in events:
            # type() is, not isinstance: events are exact classes, and this loop is the hot path.
            if type(event) is Utterance:
                out += self._utterance(event)
            elif type(event) is CallSeen or type(event) is LLMCall:
                out.append(self._call(event))
            elif type(event) is TurnGranted:
                self._granted(event)
            elif type(event) is ConversationStarted:
                out += self._opened(event)
            elif type(event) is ConversationEnded:
                out += self._ended(event)
            elif type(event) is PeriodStarted:
                out += self._period_started(event)
            else:
                out += self._rare(event)
        return out

    def updates(self) -> list[PageItem]:
        """The summary items that changed since the last call."""
        out: list[PageItem] = []
        if self._dirty:
            out.append(self._status())
            out.append(self._usage())
            self._dirty = False
        if self._turn_dirty:
            out.append(self.turn or Turn(id="turn", actor=None))
            self._turn_dirty = False
        return out

    # --- the common events -------------------------------------------------------------

    def _utterance(self, event: Utterance) -> list[PageItem]:
        path = tuple(event.conversation)
        actor = event.actor
        out: list[PageItem] = []
        claims = self.folds.claim(actor, path)
        calls = self.calls_since.pop((actor, path), None)
        call = calls[-1][0] if calls else None  # the call that made the line (after any notes it took)
        name = self.names.get(actor, actor)
        self.turns += 1
        self._dirty = True
        if len(path) == 1:
            out += self._ensure_period(event.period)
            self.spoken.add(event.period)
            critic = self.choices.pop(actor, None)
            if critic is not None and calls:
                candidates = [number for number, purpose in calls if purpose == "candidate"]
                if len(candidates) >= critic.choice:  # candidates are recorded in option order
                    call = candidates[critic.choice - 1]
            out.append(
                Statement(
                    id=f"u:{event.seq}",
                    parent=_period_id(event.period),
                    actor=actor,
                    name=name,
                    text=event.text,
                    seq=event.seq,
                    period=event.period,
                    call=call,
                    claims=claims,
                    critic=critic,
                    truncated=call in self.cut,
                )
            )
        else:
            parent = self.open.get(path) or self._orphan(path, out)
            out.append(
                Line(
                    id=f"u:{event.seq}",
                    parent=parent,
                    actor=actor,
                    name=name,
                    text=event.text,
                    seq=event.seq,
                    period=event.period,
                    call=call,
                    claims=claims,
                    truncated=call in self.cut,
                )
            )
        return out

    def _call(self, event: LLMCall | CallSeen) -> Call:
        path = tuple(event.conversation)
        self.calls_since.setdefault((event.actor, path), []).append((event.call, event.purpose))
        if event.finish_reason == "length":
            self.cut.add(event.call)
        usage = event.usage
        self.calls += 1
        self.tokens[0] += usage.prompt_tokens
        self.tokens[1] += usage.completion_tokens
        if not self.priced:
            self.models.setdefault(event.actor, {})[event.model] = None
            spent = self.usage.setdefault(event.actor, [0, 0, 0, 0.0, 0])
            spent[0] += 1
            spent[1] += usage.prompt_tokens
            spent[2] += usage.completion_tokens
            if usage.estimated:
                spent[4] += usage.total_tokens
        self._dirty = True
        return Call(
            id=f"c:{event.call}",
            call=event.call,
            seq=event.seq,
            t=event.t,
            actor=event.actor,
            purpose=event.purpose,
            conversation=" / ".join(path),
            model=event.model,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            latency=event.latency,
            attempt=event.attempt,
        )

    def _granted(self, event: TurnGranted) -> None:
        conversation = " / ".join(event.conversation)
        self.turn = Turn(id="turn", actor=event.actor, period=event.period, conversation=conversation)
        self._turn_dirty = True

    def _opened(self, event: ConversationStarted) -> list[PageItem]:
        path = tuple(event.conversation)
        if len(path) < 2:
            return []
        out: list[PageItem] = []
        debate_id = f"d:{event.seq}"
        if len(path) == 2:
            period = event.period or self.period
            out += self._ensure_period(period)
            container = _period_id(period)
        else:
            container = self.open.get(path[:-1]) or self._orphan(path[:-1], out)
        self.open[path] = debate_id
        out.append(
            Debate(
                id=debate_id,
                parent=container,
                owner=path[-1],
                label=debate_label(path),
                members=list(event.members),
                period=event.period,
                depth=len(path) - 1,
            )
        )
        return out

    def _ended(self, event: ConversationEnded) -> list[PageItem]:
        path = tuple(event.conversation)
        debate_id = self.open.pop(path, None)
        if debate_id is None:
            if len(path) == 1:
                self.turn = None
                self._turn_dirty = True
            return []
        self.folds.close(path, debate_id)
        return [DebateEnd(id=debate_id, reason=event.reason, turns=event.turns)]

    def _period_started(self, event: PeriodStarted) -> list[PageItem]:
        if len(event.conversation) != 1:
            return []
        self.period = event.period
        self.begun.append(event.period)
        self._dirty = True
        return self._ensure_period(event.period)

    def _ensure_period(self, period: str) -> list[PageItem]:
        if period in self.periods:
            return []
        self.periods.add(period)
        return [Period(id=_period_id(period), label=period, index=len(self.periods))]

    def _orphan(self, path: tuple[str, ...], out: list[PageItem]) -> str:
        """A container for lines of a conversation whose start is not in the log."""
        debate_id = f"d:{'/'.join(path)}"
        self.open[path] = debate_id
        out += self._ensure_period(self.period or "?")
        out.append(
            Debate(
                id=debate_id,
                parent=_period_id(self.period or "?"),
                owner=path[-1],
                label=" / ".join(path[1:]),
                members=[],
                period=self.period,
                depth=len(path) - 1,
            )
        )
        return debate_id

    # --- the rare events ---------------------------------------------------------------

    def _rare(self, event: Event) -> list[PageItem]:
        match event:
            case RunStarted():
                head = self._head(event)
                self.head = (event, head)
                return [head]
            case LLMAttempt():
                return [_attempt(event)]
            case CriticChoice():
                self.choices[event.proposer] = Critic(
                    critic=event.critic,
                    options=list(event.options),
                    choice=event.choice,
                    by=event.by,
                    explanation=event.explanation,
                )
            case TaskSpecified():
                self.names = {
                    "assistant": f"{event.assistant_role} (AI assistant)",
                    "user": f"{event.user_role} (AI user)",
                }
                return [
                    Task(
                        id=f"task:{event.seq}",
                        assistant_role=event.assistant_role,
                        user_role=event.user_role,
                        original=event.original,
                        specified=event.specified,
                        planned=event.planned,
                    )
                ]
            case PopulationState():
                return [census(event)]
            case Judged():
                scores = [
                    ScoreShown(name=s.name, subject=s.subject, value=s.value, scale=s.scale, text=score_text(s))
                    for s in event.scores
                ]
                return [Verdict(id=f"j:{event.seq}", judge=event.judge, summary=event.summary, scores=scores)]
            case RunError():
                return [
                    ErrorItem(
                        id=f"e:{event.seq}",
                        seq=event.seq,
                        error_type=event.error_type,
                        message=event.message,
                        where=error_where(event),
                        fatal=event.fatal,
                        judge=is_judge_failure(event),
                    )
                ]
            case Ledger():
                self.priced = True
                self.usage = {
                    e.agent: [e.calls, e.prompt_tokens, e.completion_tokens, e.cost_usd, e.estimated_tokens]
                    for e in event.entries
                    if e.agent != "total"
                }
                self.models = {e.agent: dict.fromkeys(e.model.split(", ")) for e in event.entries if e.model}
                self._dirty = True
            case RunFinished():
                self.finished = event
                self.turn = None
                self._turn_dirty = self._dirty = True
                return self._retitled(event)
        return []

    def _retitled(self, finished: RunFinished) -> list[PageItem]:
        """The header again, if the run's title must now say the span it ran (it ended early)."""
        if self.head is None:
            return []
        started, head = self.head
        title = run_title(started, covered_periods(finished.status, self.begun, self.spoken))
        return [] if title == head.title else [msgspec.structs.replace(head, title=title)]

    def _head(self, event: RunStarted) -> Head:
        scenario = event.scenario
        agents = [a for a in scenario.get("agents") or [] if isinstance(a, dict)]
        return Head(
            id="head",
            run=event.run,
            title=run_title(event),
            description=str(scenario.get("description") or ""),
            scenario=event.scenario_name,
            model=event.model,
            seed=event.seed,
            started_at=event.started_at,
            overrides=list(event.overrides),
            engine_version=event.engine_version,
            organisations=[str(a.get("name", "")) for a in agents],
            councils=[str(a.get("name", "")) for a in agents if a.get("council")],
            roleplay=isinstance(scenario.get("roleplay"), dict),
        )

    def _status(self) -> Status:
        done = self.finished
        if done is not None:
            return Status(
                id="status",
                status=done.status,
                reason=done.reason,
                periods=done.periods,
                turns=done.turns,
                llm_calls=done.llm_calls,
                prompt_tokens=done.prompt_tokens,
                completion_tokens=done.completion_tokens,
                cost_usd=done.cost_usd,
            )
        return Status(
            id="status",
            status="running",
            reason="",
            periods=len(self.periods),
            turns=self.turns,
            llm_calls=self.calls,
            prompt_tokens=self.tokens[0],
            completion_tokens=self.tokens[1],
            cost_usd=sum(u[3] for u in self.usage.values()),
        )

    def _usage(self) -> Usage:
        rows = [
            UsageRow(
                agent=agent, calls=int(u[0]), prompt_tokens=int(u[1]), completion_tokens=int(u[2]), cost_usd=u[3],
                estimated_tokens=int(u[4]), model=", ".join(self.models.get(agent, ())),
            )
            for agent, u in sorted(self.usage.items())
        ]
        return Usage(id="usage", rows=rows, priced=self.priced)


def _period_id(period: str) -> str:
    return f"p:{period}"


def _attempt(event: LLMAttempt) -> Attempt:
    return Attempt(
        id=f"a:{event.seq}",
        seq=event.seq,
        t=event.t,
        actor=event.actor,
        conversation=" / ".join(event.conversation),
        attempt=event.attempt,
        error_type=event.error_type,
        error=event.error,
        status=event.status,
        next_delay=event.next_delay,
    )
