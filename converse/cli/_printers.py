"""What ``converse run`` and ``resume`` print on stderr while a run goes, and what a resumed
run took from its log."""

from __future__ import annotations

import shutil
from typing import TextIO

from ..engine._run import RunResult
from ..log._events import ConversationEnded, Event, Ledger, PeriodStarted, RunFinished, Utterance


def resumed_line(result: RunResult) -> str:
    """How much of a resumed run its log answered, and where the model took over:
    ``resumed: 41 answers from the log; live from call 42``."""
    answers = f"{result.replayed:,} answer{'' if result.replayed == 1 else 's'} from the log"
    if result.live_from is None:
        return f"resumed: {answers}; no model was asked"
    return f"resumed: {answers}; live from call {result.live_from}"


class RunPrinter:
    """A few readable lines on stderr while a run goes: periods and who said what."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.width = max(40, min(120, shutil.get_terminal_size((100, 20)).columns))
        self.debate_lines: dict[str, int] = {}  # council lines since each organisation last spoke
        self.estimated = 0  # the run's estimated tokens, from its ledger
        self.cached = 0  # its calls answered from the cache
        self.cost = ""  # its cost as the summary line says it: ", $0.0123", ", unpriced", or nothing (free)

    def __call__(self, event: Event) -> None:
        if isinstance(event, PeriodStarted):
            self._write(f"── {event.period} ──")
        elif isinstance(event, Utterance):
            if len(event.conversation) > 1:
                owner = event.conversation[1]
                self.debate_lines[owner] = self.debate_lines.get(owner, 0) + 1
                return
            head = " ".join(event.text.split())
            lines = self.debate_lines.pop(event.actor, 0)
            debate = f" (after {lines} lines of council debate)" if lines else ""
            self._write(self._fit(f"  {event.actor}{debate}: {head}"))
        elif isinstance(event, ConversationEnded) and len(event.conversation) == 1:
            self._write(f"── conversation ended: {event.reason} ──")
        elif isinstance(event, Ledger):
            self._ledger(event)
        elif isinstance(event, RunFinished):
            estimated = f" ({self.estimated:,} estimated)" if self.estimated else ""
            cached = f" ({self.cached:,} from the cache)" if self.cached else ""
            self._write(
                f"{event.status}: {event.periods} periods, {event.turns} statements, "
                f"{event.llm_calls} model calls{cached}, {event.prompt_tokens + event.completion_tokens:,} "
                f"tokens{estimated}{self.cost.format(event.cost_usd)}"
            )

    def _ledger(self, event: Ledger) -> None:
        """The ledger's table: a row per agent and the total; a cost column "unpriced" for a model
        whose price is not known (never $0 as if it were free)."""
        total = event.entries[-1] if event.entries else None
        self.estimated = total.estimated_tokens if total is not None else 0
        self.cached = total.cached_calls if total is not None else 0
        priced, free = event.price_input is not None, not event.price_input and not event.price_output
        self.cost = ", unpriced" if not priced else "" if free else ", ${:.4f}"
        columns = [("estimated", "estimated_tokens")] if self.estimated else []  # no usage from the server
        columns += [("cached", "cached_calls")] if self.cached else []
        extra = "".join(f" {name:>11}" for name, _ in columns)
        self._write(f"{'agent':32} {'calls':>6} {'prompt tok':>11} {'output tok':>11} {'cost $':>9}{extra}")
        for row in event.entries:
            cost = f"{row.cost_usd:>9.4f}" if priced else f"{'unpriced':>9}"
            cells = "".join(f" {getattr(row, field):>11,}" for _, field in columns)
            self._write(
                f"{row.agent[:32]:32} {row.calls:>6} {row.prompt_tokens:>11,} {row.completion_tokens:>11,} {cost}{cells}"
            )

    def _fit(self, line: str) -> str:
        return line if len(line) <= self.width else line[: self.width - 1] + "…"

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
