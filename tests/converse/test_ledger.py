"""The token and cost ledger of a run, and the budget that ends a run cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest

import converse
from converse.events import Ledger, LLMCall, RunFinished
from converse.testing import events_of, run_and_read


async def test_the_ledger_books_every_call_per_agent_at_the_scenario_price(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read(
        "three-labs-councils",
        out=tmp_path,
        overrides=["clock.end=2024", "prices.offline={input = 2.5, output = 10.0}"],
    )
    (ledger,) = events_of(events, Ledger)
    calls = events_of(events, LLMCall)
    rows = {row.agent: row for row in ledger.entries}
    total = rows.pop("total")
    assert total.calls == len(calls) == result.llm_calls
    assert total.prompt_tokens == sum(c.usage.prompt_tokens for c in calls) == result.prompt_tokens
    for agent, row in rows.items():
        mine = [c for c in calls if c.actor == agent]
        assert row.calls == len(mine)
        assert row.completion_tokens == sum(c.usage.completion_tokens for c in mine)
    expected = (total.prompt_tokens * 2.5 + total.completion_tokens * 10.0) / 1e6
    assert result.cost_usd == pytest.approx(expected, abs=1e-6)
    assert ledger.price_input == 2.5
    assert events.index(ledger) == len(events) - 2  # just before run_finished


@pytest.mark.parametrize("budget", ["budget.tokens=20000", "budget.usd=0.02"])
async def test_a_budget_ends_the_run_cleanly(budget: str, tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read(
        "three-labs-councils", out=tmp_path, overrides=[budget, "prices.offline={input = 1.0, output = 1.0}"]
    )
    assert result.status == "budget_exhausted"
    assert "budget reached" in result.reason
    assert isinstance(events[-1], RunFinished)
    assert events[-1].status == "budget_exhausted"
    assert [e.seq for e in events] == list(range(len(events)))
    assert result.periods < 8  # it stopped early
    transcript = result.transcript.read_text(encoding="utf-8")
    assert "budget_exhausted" in transcript


def test_a_bad_budget_or_price_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(converse.ScenarioError, match=r"\$\.budget\.tokens: must be positive"):
        converse.load_scenario("three-labs", ["budget.tokens=0"])
    with pytest.raises(converse.ScenarioError, match=r"\$\.prices\.offline: prices must not be negative"):
        converse.load_scenario("three-labs", ["prices.offline={input = -1.0}"])
