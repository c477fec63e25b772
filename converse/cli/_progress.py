"""The sweep's progress bar on stderr: runs done and failed, tokens and cost so far."""

from __future__ import annotations

import time
from typing import IO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..sweeps._summary_csv import SweepRow

__all__ = ["SweepBar"]


class SweepBar:
    """A rich progress bar for ``run_sweep`` (use as a context manager around the sweep).

    Token counts arrive with every model call; they are added up here and shown at the
    bar's own refresh rate, so a busy sweep does not redraw per call.
    """

    def __init__(self, file: IO[str], *, title: str, unit: str = "runs") -> None:
        self.console = Console(file=file, stderr=True)
        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn(
                unit + " · {task.fields[failed]} failed · {task.fields[tokens]} tokens · ${task.fields[cost]}"
            ),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=self.console,
            refresh_per_second=4,
        )
        self.title = title
        self.task: TaskID | None = None
        self.live_tokens = 0
        self.done_tokens = 0
        self.cost = 0.0
        self.failed = 0
        self.shown = 0.0

    def __enter__(self) -> SweepBar:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._show()
        self.bar.stop()

    def start(self, total: int, done: int, failed: int) -> None:
        """The plan: ``total`` runs, ``done`` of them finished earlier (``failed`` of those)."""
        self.failed = failed
        self.task = self.bar.add_task(
            self.title, total=total, completed=done, failed=failed, tokens="0", cost="0.00"
        )

    def finished(self, row: SweepRow) -> None:
        """A run ended (its tokens replace the live count's share)."""
        self.ended(row.status == "completed", row.prompt_tokens + row.completion_tokens, row.cost_usd)

    def ended(self, completed: bool, tokens: int, cost: float) -> None:
        """A run ended, completed or not, having spent ``tokens`` and ``cost``."""
        self.failed += not completed
        self.done_tokens += tokens
        self.cost += cost
        if self.task is not None:
            self.bar.advance(self.task)
        self._show()

    def tokens(self, count: int) -> None:
        """A model call of a run in progress spent ``count`` tokens."""
        self.live_tokens += count
        now = time.monotonic()
        if now - self.shown > 0.2:
            self._show()

    def _show(self) -> None:
        if self.task is None:
            return
        self.shown = time.monotonic()
        tokens = max(self.live_tokens, self.done_tokens)
        self.bar.update(self.task, failed=self.failed, tokens=f"{tokens:,}", cost=f"{self.cost:,.2f}")
