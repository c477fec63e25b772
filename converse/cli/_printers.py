"""What ``converse run`` and ``resume`` print on stderr while a run goes."""

from __future__ import annotations

import shutil
from typing import TextIO

from ..log._events import ConversationEnded, Event, Ledger, PeriodStarted, RunFinished, Utterance


class RunPrinter:
    """A few readable lines on stderr while a run goes: periods and who said what."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.width = max(40, min(120, shutil.get_terminal_size((100, 20)).columns))
        self.debate_lines: dict[str, int] = {}  # council lines since each organisation last spoke
        self.estimated = 0  # the run's estimated tokens, from its ledger

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
            self.estimated = event.entries[-1].estimated_tokens if event.entries else 0
            column = f" {'estimated':>11}" if self.estimated else ""  # only when the server sent no usage
            self._write(f"{'agent':32} {'calls':>6} {'prompt tok':>11} {'output tok':>11} {'cost $':>9}{column}")
            for row in event.entries:
                estimated = f" {row.estimated_tokens:>11,}" if self.estimated else ""
                self._write(
                    f"{row.agent[:32]:32} {row.calls:>6} {row.prompt_tokens:>11,} "
                    f"{row.completion_tokens:>11,} {row.cost_usd:>9.4f}{estimated}"
                )
        elif isinstance(event, RunFinished):
            cost = f", ${event.cost_usd:.4f}" if event.cost_usd else ""
            estimated = f" ({self.estimated:,} estimated)" if self.estimated else ""
            self._write(
                f"{event.status}: {event.periods} periods, {event.turns} statements, "
                f"{event.llm_calls} model calls, {event.prompt_tokens + event.completion_tokens:,} "
                f"tokens{estimated}{cost}"
            )

    def _fit(self, line: str) -> str:
        return line if len(line) <= self.width else line[: self.width - 1] + "…"

    def _write(self, line: str) -> None:
        print(line, file=self.stream, flush=True)
