"""Memory policies on a long run: do prompts stop growing?

- ``memory.prompt_growth``: the shipped long scenario (``five-orgs-long``: five organisations
  with councils of three, two rounds, 50 half-years, ``memory.policy = "window"``,
  ``model.context_window = 8192``) on the offline model with no latency: the median
  ``usage.prompt_tokens`` of the agents' turn calls (purposes ``statement`` and ``line``)
  in the last 10 periods, over the median in periods 5-15 (0-based, inclusive). A call
  belongs to the period the public conversation's last ``PeriodStarted`` before it names
  (events are read in ``seq`` order; councils meet after their period has started).
  Under ``window`` the prompts reach the window's budget early and stay there, so the
  ratio is about 1.

Context figures: the same scenario with every turn kept (``memory.policy = "everything"``,
``model.context_window = 1000000``, so that it runs at all), whose ratio is the growth the
policy removes; the medians and the largest prompt of both runs; how many turn and summary
calls each made; whether the run kept every call within the 8,192-token window (prompt
plus ``max_tokens``), by how many tokens the largest call passed it, and from which period
an 8k model would have refused the ``everything`` run (turn calls only); the largest
briefing a council with ``public_context = "summary"`` was sent and how many briefings
passed the window (the briefing holds the whole public record, whatever the memory
policy); and each run's wall time.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import actors
from converse import read_events, run_scenario
from converse.events import AnyEvent, LLMCall, PeriodStarted
from converse.models._limits import Limits
from converse.models._scheduler import Scheduler
from converse.scenario._load import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "five-orgs-long.toml"
WINDOW = 8192  # the shipped scenario's model.context_window
EVERYTHING = ('memory.policy="everything"', "model.context_window=1000000")
TURNS = frozenset({"statement", "line"})  # the agents' own turns (not their notes or briefings)
EARLY = range(5, 16)  # periods 5-15, 0-based
LATE = 10  # the last this many periods


class Measured:
    """What one run's log says about its prompts."""

    def __init__(self, events: Iterable[AnyEvent], answer_tokens: int) -> None:
        self.by_period: dict[int, list[int]] = {}  # turn calls' prompt tokens per period index
        self.summary_calls = 0
        self.briefings: list[int] = []  # prompt tokens of each briefing (public_context = "summary")
        self.periods = 0
        period = -1
        for event in events:
            if type(event) is PeriodStarted and event.conversation == ("top",):
                period = event.index
                self.periods = max(self.periods, period + 1)
            elif type(event) is LLMCall:
                if event.purpose in TURNS:
                    self.by_period.setdefault(period, []).append(event.usage.prompt_tokens)
                else:
                    self.summary_calls += 1
                    if event.purpose == "briefing":
                        self.briefings.append(event.usage.prompt_tokens)
        self.answer_tokens = answer_tokens

    def median(self, periods: range) -> float:
        """The median prompt tokens of the turn calls in ``periods``."""
        return statistics.median(t for p in periods for t in self.by_period.get(p, ()))

    @property
    def early(self) -> float:
        return self.median(EARLY)

    @property
    def late(self) -> float:
        return self.median(range(self.periods - LATE, self.periods))

    @property
    def calls(self) -> int:
        return sum(map(len, self.by_period.values()))

    @property
    def largest(self) -> int:
        return max(t for tokens in self.by_period.values() for t in tokens)

    def first_period_over(self, window: int) -> int:
        """The first period with a turn call whose prompt and answer pass ``window`` (-1: none)."""
        return next((p for p in sorted(self.by_period)
                     if max(self.by_period[p]) + self.answer_tokens > window), -1)


async def _runs(out: Path) -> dict[str, tuple[Measured, float]]:
    scheduler = Scheduler({"offline": Limits(max_concurrency=1 << 30, timeout=None)}, default=Limits(timeout=None))
    measured: dict[str, tuple[Measured, float]] = {}
    for name, overrides in (("window", ()), ("everything", EVERYTHING)):
        answer_tokens = load_scenario(SCENARIO, list(overrides)).model.max_tokens
        started = time.perf_counter()
        result = await run_scenario(SCENARIO, model="offline", seed=0, out=out, overrides=overrides,
                                    scheduler=scheduler, run_id=f"memory-{name}")
        wall = time.perf_counter() - started
        if result.status != "completed":
            raise RuntimeError(f"the {name} run ended {result.status}: {result.reason}")
        measured[name] = (Measured(read_events(result.events), answer_tokens), wall)
    return measured


def run(quick: bool) -> dict[str, float]:
    """Measure every memory figure (the same workload quick or not: it takes about 2 s)."""
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        runs = actors.run(_runs, Path(tmp))
    window, window_s = runs["window"]
    everything, everything_s = runs["everything"]
    figures = {
        "memory.prompt_growth": window.late / window.early,
        "context.memory.prompt_growth_everything": everything.late / everything.early,
        "context.memory.periods": window.periods,
        "context.memory.turn_calls": window.calls,
        "context.memory.summary_calls_window": window.summary_calls,
        "context.memory.summary_calls_everything": everything.summary_calls,
    }
    for name, measured, wall in (("window", window, window_s), ("everything", everything, everything_s)):
        largest_call = measured.largest + measured.answer_tokens
        figures |= {
            f"context.memory.early_median_tokens_{name}": measured.early,
            f"context.memory.late_median_tokens_{name}": measured.late,
            f"context.memory.max_prompt_tokens_{name}": measured.largest,
            f"context.memory.within_8k_{name}": float(largest_call <= WINDOW),
            f"context.memory.over_8k_by_tokens_{name}": max(largest_call - WINDOW, 0),
            f"context.memory.first_period_over_8k_{name}": measured.first_period_over(WINDOW),
            f"context.memory.briefing_max_prompt_tokens_{name}": max(measured.briefings, default=0),
            f"context.memory.briefings_over_8k_{name}": sum(
                t + measured.answer_tokens > WINDOW for t in measured.briefings),
            f"context.memory.run_s_{name}": wall,
        }
    return figures


if __name__ == "__main__":
    for figure, value in run(quick=False).items():
        print(f"{figure:55} {value:,.3f}")
