"""``benchmarks/bench_population.py``: the critical path a population run's ratio is taken
against, read from the run's log, and the ratio of a small run."""

from __future__ import annotations

from benchmarks import bench_population
from converse.events import Embedded, LLMCall, PeriodStarted, PopulationState, Usage


def _call(actor: str, conversation: tuple[str, ...], purpose: str) -> LLMCall:
    return LLMCall(
        run="r", call=0, conversation=conversation, actor=actor, purpose=purpose, model="offline", messages=[],
        params={}, response="", usage=Usage(), latency=0.0,
    )


def _embedded(actor: str, conversation: tuple[str, ...]) -> Embedded:
    return Embedded(
        run="r", conversation=conversation, actor=actor, purpose="memory", model="offline", texts=[], vectors=[],
        usage=Usage(), latency=0.0,
    )


def test_the_critical_path_is_each_periods_longest_chain_of_dependent_calls() -> None:
    lab = ("top", "Lab")
    research = ("top", "Lab", "research")

    def period(digest: int) -> list[object]:
        return [
            PeriodStarted(run="r", conversation=("top",), period="2025", index=0),
            # Two researchers' turns at once: an embedding and an answer each.
            _embedded("Ada", research), _call("Ada", research, "research"),
            _embedded("Bo", research), _call("Bo", research, "research"),
            _embedded("Lab research", lab),  # the lab's briefing, after them
            PopulationState(run="r", period="2025", index=0, labs=[]),
            # Two councils at once, of three lines and of two, then two statements in turn...
            *[_call(f"Lab member {i}", lab, "line") for i in range(3)],
            *[_call(f"Other member {i}", ("top", "Other"), "line") for i in range(2)],
            _call("Lab", ("top",), "statement"), _call("Other", ("top",), "statement"),
            # ...while Ada digests her period: an embedding, and perhaps a reflection's calls.
            *[_embedded("Ada", research) for _ in range(digest)],
        ]

    # 2 (a turn) + 1 (the briefing) + 5 (the longer council and the statements) a period...
    assert bench_population.critical_path([*period(1), *period(1)], 0.5) == 2 * 8 * 0.5
    # ...unless a digest with a reflection takes longer than the leaders do.
    assert bench_population.critical_path([*period(7), *period(1)], 0.5) == (10 + 8) * 0.5


def test_a_small_population_runs_in_more_than_its_critical_path() -> None:
    ratio, wall = bench_population.population_ratio(researchers=2, periods=2)
    assert ratio > 1.0
    assert wall > 0
