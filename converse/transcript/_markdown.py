"""Markdown transcripts: a pure function of a run's events, in the Converse layout.

The layout: a title and a header list, the judge's summary and scores (when judged), one
section per period with the public statements in the order they were made, each statement's
council debate folded inside it in ``<details>`` (and a member's advisers' debate folded
inside the member's line, at any depth), and the run's errors at the end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from ..log._events import (
    AnyEvent,
    ConversationEnded,
    ConversationStarted,
    Embedded,
    Judged,
    LLMCall,
    PeriodStarted,
    PopulationState,
    Recalled,
    Remembered,
    RunError,
    RunFinished,
    RunStarted,
    TurnGranted,
    Utterance,
)
from ..log._log import gc_paused
from ..models._person import PERSON
from ._folding import Folds, debate_label
from ._population import research_blocks
from ._roleplay import render_roleplay_markdown
from ._text import TRUNCATED_MARK, error_line, md, prose, score_text
from ._title import clock_step, covered_periods, run_title, span_text

__all__ = ["MarkdownRenderer", "render_markdown"]

# The purposes of the calls that make what an agent says (not its notes or briefings).
_SPEAKING = frozenset({"statement", "line", "instruction", "solution", "candidate", "acknowledge"})

_CLOSE_DETAILS = re.compile(r"</(details\s*)>", re.IGNORECASE)


def render_markdown(events: Iterable[AnyEvent]) -> str:
    """The Markdown transcript of a run, from its events in log order.

    ``events`` is a list, or any iterable of them: ``render_markdown(iter_events(path))``
    renders a log as it reads it, holding one block of its events at a time (a role-play's
    are all held: its layout is made from them whole). The same events always give the same
    text, byte for byte: nothing but the events is read.

    Raises:
        ValueError: ``events`` does not start with ``run_started``.
    """
    if isinstance(events, Sequence):
        first = events[0] if events else None
        rest: Iterable[AnyEvent] = events
    else:
        rest = iter(events)
        first = next(rest, None)
    if not isinstance(first, RunStarted):
        raise ValueError("render_markdown needs a run's events, starting with run_started")
    if first.scenario.get("roleplay") is not None:  # a role-play has its own layout
        return render_roleplay_markdown(rest if isinstance(rest, Sequence) else [first, *rest])
    with gc_paused():
        renderer = MarkdownRenderer(first)
        renderer.feed(rest)  # a list's run_started is fed again: the renderer shows nothing of it
        return renderer.text()


# Events the transcript does not show, met often enough to be skipped first.
_UNSEEN = frozenset({TurnGranted, Embedded, Remembered, Recalled})


class MarkdownRenderer:
    """The transcript of a run (not a role-play) built as its events come, in log order:
    ``feed`` them (in any number of batches), then ``text()`` is what ``render_markdown``
    gives for the same events, byte for byte. The engine feeds a fresh run's events as its
    recorder writes them, so the transcript needs no second reading of the log; what it holds
    meanwhile is the transcript's blocks, not the events.
    """

    def __init__(self, started: RunStarted) -> None:
        self.started = started
        self.finished: RunFinished | None = None
        self.judged: list[Judged] = []
        self.errors: list[RunError] = []
        self.periods: dict[str, list[str]] = {}  # blocks of the public statements, by period in log order
        self.clock_periods: list[str] = []  # the periods the clock actually started
        self.opened: dict[tuple[str, ...], list[str]] = {}  # blocks of each open sub-conversation
        self.folds: Folds[list[str]] = Folds()  # ended debates' blocks (wrapped in <details>), until claimed
        self.cut: set[tuple[tuple[str, ...], str]] = set()  # (conversation, actor) whose last answer was cut off
        self.spoke: dict[str, dict[str, None]] = {}  # model -> the agents who spoke with it, in order
        self.research: dict[str, list[str]] = {}  # a population's research, by period

    def feed(self, events: Iterable[Any]) -> None:
        """Take the next events of the run, in log order."""
        periods, clock_periods, opened, folds = self.periods, self.clock_periods, self.opened, self.folds
        cut, spoke, judged, errors = self.cut, self.spoke, self.judged, self.errors
        owners = folds.owners  # live: checked in C before paying for a call to claim()
        # The blocks of the period of the last public line: the next one is most often in the
        # same period, and comparing two short strings costs less than hashing one.
        last_period: str | None = None
        last_blocks: list[str] = []
        # One pass renders each line as it comes: a debate is complete (and rendered) before its
        # owner speaks, so the owner's line takes the finished blocks along.
        for event in events:
            # type() is, not isinstance: events are exact classes, and this loop is the hot path.
            if type(event) is Utterance:
                path = event.conversation
                actor = event.actor
                text = event.text
                if "<" in text and "</" in text:  # finding one character is a memchr
                    text = _clean(text)
                if cut and (path, actor) in cut:
                    cut.discard((path, actor))
                    text += TRUNCATED_MARK
                # Most lines claim nothing: no debate waits, and a string's hash is not yet paid.
                debates = folds.claim(actor, path) if owners and actor in owners else None
                if len(path) == 1:
                    period = event.period
                    if period != last_period:
                        last_period, last_blocks = period, periods.setdefault(period, [])
                    blocks = last_blocks
                    if debates:
                        blocks.append(f"<details><summary><b>{actor} {period}</b></summary>\n\n{text}")
                        for debate in debates:
                            blocks += debate
                        blocks.append("</details>")
                    else:  # blocks are joined with a blank line: the same text as above, one block
                        blocks.append(f"<details><summary><b>{actor} {period}</b></summary>\n\n{text}\n\n</details>")
                else:
                    key = tuple(path)
                    said = opened.get(key)
                    if said is None:
                        said = opened[key] = []
                    said.append(f"**{actor}:** {text}")
                    if debates:
                        for debate in debates:
                            said += debate
            elif type(event) in _UNSEEN:
                continue  # the most common events after utterances (turns, memory streams'): they do not show
            elif type(event) is LLMCall:  # does not show, but marks the statement it made if it was cut off
                if event.purpose in _SPEAKING:
                    speakers = spoke.get(event.model)
                    if speakers is None:
                        speakers = spoke[event.model] = {}
                    speakers[event.actor] = None
                if event.finish_reason == "length":
                    cut.add((event.conversation, event.actor))
                elif cut:
                    cut.discard((event.conversation, event.actor))
            elif type(event) is ConversationStarted:
                if len(event.conversation) > 1:
                    opened[tuple(event.conversation)] = []
            elif type(event) is ConversationEnded:
                path = event.conversation
                lines = opened.pop(tuple(path), None)
                if lines is not None:
                    summary = f"<details><summary><b>{debate_label(path)}</b></summary>"
                    folds.close(path, [summary, *lines, "</details>"])
            elif type(event) is PeriodStarted:
                if len(event.conversation) == 1 and event.period not in periods:
                    periods[event.period] = []
                    clock_periods.append(event.period)
            elif type(event) is PopulationState:
                self.research[event.period] = research_blocks(event)
            elif type(event) is RunFinished:
                self.finished = event
            elif type(event) is Judged:
                judged.append(event)
            elif type(event) is RunError:
                errors.append(event)

    def text(self) -> str:
        """The transcript of the events fed so far."""
        finished, periods, clock_periods = self.finished, self.periods, self.clock_periods
        if finished is not None and finished.status != "completed":
            # A period a run stopped early had only begun is neither in its span nor an empty section.
            periods = {period: blocks for period, blocks in periods.items() if blocks}
            clock_periods = covered_periods(finished.status, clock_periods, periods)
        out = _header(self.started, finished, clock_periods, self.spoke)
        if self.judged:
            out.append("## Summary and scores")
            for verdict in self.judged:
                out += _verdict(verdict)
        out.append("## Conversation")
        research = self.research
        for period, blocks in periods.items():
            out.append(f"### {period}")
            if period in research:
                out += research[period]
            if blocks:
                out.append("**Statements**")
                out += blocks
        if self.errors:
            out.append("## Errors")
            out.append("\n".join(error_line(e) for e in self.errors))
        # The text ends in a newline: given to its last block, not added to the joined text, which
        # would copy the whole transcript once more (fresh memory, faulted in page by page).
        out[-1] += "\n"
        return "\n\n".join(out)


def _clean(text: str) -> str:
    # Model text is kept as written, except that it must not close our <details> blocks.
    return _CLOSE_DETAILS.sub(r"&lt;/\1&gt;", text)


def _header(
    started: RunStarted, finished: RunFinished | None, period_names: list[str], spoke: dict[str, dict[str, None]]
) -> list[str]:
    scenario: dict[str, Any] = started.scenario
    agents = [a for a in scenario.get("agents") or [] if isinstance(a, dict)]
    names = [str(a.get("name", "")) for a in agents]
    councils = [str(a.get("name", "")) for a in agents if a.get("council")]
    span = span_text(clock_step(started), period_names)
    status = f"{finished.status} ({finished.reason})" if finished is not None else "unfinished"
    debates = f"with council debates ({', '.join(councils)})" if councils else "none"
    bullets = [
        f"- **Scenario:** {started.scenario_name}",
        f"- **Organisations:** {', '.join(names) or 'none'}",
        *_population(scenario),
        f"- **Periods:** {span}",
        _models(started, spoke),
        f"- **Seed:** {started.seed}",
        f"- **Councils:** {debates}",
        f"- **Status:** {status}",
    ]
    title = run_title(started, None if finished is None else period_names)
    return [f"# {title}", "\n".join(bullets)]


def _population(scenario: dict[str, Any]) -> list[str]:
    """The header's line on a population's researchers, if the run has one."""
    population = scenario.get("population")
    if not isinstance(population, dict):
        return []
    return [f"- **Researchers:** {population.get('researchers', '?')} a lab at the start"]


def _models(started: RunStarted, spoke: dict[str, dict[str, None]]) -> str:
    """The run's model, or, when its agents spoke with several, who spoke with which."""
    if len(spoke) <= 1:
        return f"- **Model:** {started.model}"
    said = [f"{_model_name(model)}: {', '.join(map(md, agents))}" for model, agents in spoke.items()]
    return f"- **Models:** {'; '.join(said)}"


def _model_name(spec: str) -> str:
    return "a person at the terminal" if spec == PERSON else md(spec)


def _verdict(verdict: Judged) -> list[str]:
    """The summary, the run's scores as a list, the per-organisation scores as one table
    (a row per score, a column per organisation), and who judged."""
    blocks = [prose(verdict.summary) or "(no summary)"]
    whole = [s for s in verdict.scores if s.subject is None]
    if whole:
        blocks.append("\n".join(f"- **{md(s.name)}:** {score_text(s)}" for s in whole))
    apiece = [s for s in verdict.scores if s.subject is not None]
    if apiece:
        subjects = list(dict.fromkeys(s.subject for s in apiece if s.subject is not None))
        rows: dict[str, dict[str, str]] = {}
        for score in apiece:
            rows.setdefault(score.name, {})[score.subject or ""] = score_text(score)
        table = [f"| Score | {' | '.join(map(md, subjects))} |", "|---" * (len(subjects) + 1) + "|"]
        table += [f"| {md(name)} | {' | '.join(row.get(s, '—') for s in subjects)} |" for name, row in rows.items()]
        blocks.append("\n".join(table))
    blocks.append(f"*Judged by {md(verdict.judge)}.*")
    return blocks

