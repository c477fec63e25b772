"""Cost you can see (issue 18): a scenario's ``[prices]`` win; OpenAI's models on OpenAI's API
are priced from the shipped, dated table; anything else is unpriced (never "$0.00"); answers
from the cache are counted but not paid for, in the ledger, the cost and the budget."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import cli_env, run_cli
from converse.events import Ledger, LLMCall, RunFinished
from converse.models._openai import OPENAI_URL
from converse.models._prices import price_of, shipped_prices
from converse.runner import estimate_run
from converse.scenario._scenario import Price
from converse.testing import ModelServer, ScriptedModel, events_of, run_and_read

KEY = "test-key-prices"
SHORT = ["clock.end=2024", "judge.enabled=false"]


def test_the_shipped_table_is_dated_and_prices_openais_models_by_name() -> None:
    table = shipped_prices()
    assert table.date >= "2026-01-01"
    mini = price_of({}, "openai:gpt-4o-mini", OPENAI_URL)
    assert mini is not None
    assert (mini.price.input, mini.price.output) == (0.15, 0.60)
    assert mini.source == f"OpenAI list prices of {table.date}"
    snapshot = price_of({}, "openai:gpt-4o-2024-08-06?stream=1", OPENAI_URL)  # a dated snapshot
    assert snapshot is not None
    assert snapshot.price == table.models["gpt-4o"]
    assert price_of({}, "openai:gpt-4o-mini-2024-07-18", OPENAI_URL).price == mini.price  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("spec", "base_url"),
    [
        ("openai:gpt-4o-mini", "http://127.0.0.1:8000/v1"),  # a local server's model costs what the hardware does
        ("openai:gpt-4o-mini", None),  # a model whose server is not known
        ("openai:llama3.1:8b", OPENAI_URL),
        ("openai:gpt-4o-mega", OPENAI_URL),  # not a name the table has, nor a snapshot of one
        ("openai:gpt-4o-audio-preview", OPENAI_URL),  # another model, at another price
        ("scripted", None),  # a model of your own
    ],
)
def test_what_the_table_does_not_know_is_unpriced(spec: str, base_url: str | None) -> None:
    assert price_of({}, spec, base_url) is None


def test_a_scenarios_price_wins_over_the_table() -> None:
    mine = Price(input=1.0, output=2.0)
    for key in ("gpt-4o-mini", "openai:gpt-4o-mini"):
        priced = price_of({key: mine}, "openai:gpt-4o-mini", OPENAI_URL)
        assert priced is not None
        assert (priced.price, priced.source) == (mine, "scenario")


class OnOpenAI(ScriptedModel):
    """The offline model's answers, as if from OpenAI's API (priced by the table)."""

    base_url = OPENAI_URL

    @property
    def spec(self) -> str:
        return "openai:gpt-4o-mini"


async def test_a_run_on_an_openai_model_is_priced_from_the_table(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read("three-labs", model=OnOpenAI({}), out=tmp_path, overrides=SHORT)
    (ledger,) = events_of(events, Ledger)
    assert ledger.price_source == f"OpenAI list prices of {shipped_prices().date}"
    assert (ledger.price_input, ledger.price_output) == (0.15, 0.60)
    expected = (result.prompt_tokens * 0.15 + result.completion_tokens * 0.60) / 1e6
    assert result.cost_usd == pytest.approx(expected, abs=1e-6)  # to the micro-dollar, as recorded
    assert result.cost_usd > 0


async def test_an_unpriced_run_says_so_in_its_ledger_and_the_offline_model_is_free(
    tmp_path: Path, backend: str
) -> None:
    _, events = await run_and_read("three-labs", model=ScriptedModel({}), out=tmp_path / "a", overrides=SHORT)
    (ledger,) = events_of(events, Ledger)
    assert ledger.price_source is msgspec.UNSET
    assert ledger.price_input is None
    _, events = await run_and_read("three-labs", out=tmp_path / "b", overrides=SHORT)
    (ledger,) = events_of(events, Ledger)
    assert ledger.price_source == "the offline model: free"
    assert (ledger.price_input, ledger.price_output) == (0, 0)


async def test_answers_from_the_cache_are_counted_but_not_paid_for(tmp_path: Path, backend: str) -> None:
    priced = [*SHORT, 'prices.offline={input = 2.0, output = 8.0}']
    cache = tmp_path / "cache"
    first = await converse.run_scenario("three-labs", out=tmp_path / "a", overrides=priced, cache=cache)
    # The second run is all from the cache: under a token budget the first run alone would
    # exhaust, it completes, and costs nothing.
    budget = [*priced, f"budget.tokens={first.prompt_tokens // 2}"]
    second = await converse.run_scenario("three-labs", out=tmp_path / "b", overrides=budget, cache=cache)
    assert first.cost_usd > 0
    assert second.status == "completed", second.reason
    assert second.cost_usd == 0
    assert (second.llm_calls, second.prompt_tokens) == (first.llm_calls, first.prompt_tokens)
    events = converse.read_events(second.events)
    assert all(c.cached is True for c in events_of(events, LLMCall))
    (ledger,) = events_of(events, Ledger)
    total = ledger.entries[-1]
    assert (total.agent, total.calls, total.cached_calls, total.cost_usd) == ("total", first.llm_calls, first.llm_calls, 0)
    assert events_of(events, RunFinished)[0].cost_usd == 0
    first_calls = events_of(converse.read_events(first.events), LLMCall)
    assert all(c.cached is msgspec.UNSET for c in first_calls)


# -- --estimate: a dry run on the offline model -------------------------------------------------


async def test_an_estimate_asks_the_real_model_nothing_and_counts_the_calls_a_run_makes(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    priced = ["clock.end=2025", 'prices={"offline-chat" = {input = 2.0, output = 8.0}}']
    with ModelServer(api_key=KEY) as server:
        estimate = await estimate_run(
            "three-labs-councils", model="openai:offline-chat", overrides=priced, base_url=server.base_url
        )
        assert server.stats().requests == 0  # a dry run: the real model is asked nothing
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read("three-labs-councils", model=model, out=tmp_path, overrides=priced)
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "completed"
    assert estimate.calls == result.llm_calls == len(events_of(events, LLMCall))
    assert estimate.price_source == "scenario"
    assert estimate.cost_usd is not None
    assert estimate.most_cost_usd is not None
    assert 0 < estimate.cost_usd < estimate.most_cost_usd
    assert estimate.most_completion_tokens == sum(c.params["max_tokens"] for c in events_of(events, LLMCall))
    assert estimate.times(3).calls == 3 * estimate.calls


async def test_an_unpriced_estimate_says_unpriced_not_zero(backend: str) -> None:
    estimate = await estimate_run("three-labs", model="openai:llama3.1:8b", overrides=SHORT, base_url="http://127.0.0.1:9/v1")
    assert estimate.cost_usd is None
    assert estimate.calls > 0
    assert "unpriced" in estimate.lines()[1]
    assert "$0" not in " ".join(estimate.lines())


# -- on the command line ---------------------------------------------------------------------------


def test_an_unpriced_run_says_unpriced_and_a_cached_one_says_so(tmp_path: Path) -> None:
    env = cli_env(without="OPENAI_")
    with ModelServer(api_key="EMPTY") as server:  # a local server's model: no price known
        args = ["run", "three-labs", "--model", "openai:offline-chat", "--base-url", server.base_url,
                "--set", "clock.end=2024", "--cache", str(tmp_path / "cache")]
        first = run_cli(*args, cwd=tmp_path, env=env)
        second = run_cli(*args, cwd=tmp_path, env=env)
        asked = server.stats().requests
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    for done in (first, second):
        total = next(line for line in done.stderr.splitlines() if line.startswith("total "))
        assert "unpriced" in total
        assert "0.0000" not in done.stderr  # never as if it were free
        summary = next(line for line in done.stderr.splitlines() if line.startswith("completed: "))
        assert summary.endswith(", unpriced")
    calls = asked  # the first run asked the server every call; the second, none
    assert f"{calls} model calls ({calls} from the cache)" in second.stderr
    assert "from the cache" not in first.stderr


def test_estimate_prints_what_a_run_or_sweep_takes_and_runs_nothing(tmp_path: Path) -> None:
    env = cli_env(without="OPENAI_")
    with ModelServer(api_key="EMPTY") as server:
        common = ["--model", "openai:offline-chat", "--base-url", server.base_url,
                  "--set", 'prices={"offline-chat" = {input = 2.0, output = 8.0}}']
        run = run_cli("run", "three-labs", *common, "--estimate", "--out", "runs", cwd=tmp_path, env=env)
        sweep = run_cli("sweep", "three-labs", *common, "--grid", "regulation=none,strict", "--repeats", "3",
                        "--out", "sweep", "--estimate", cwd=tmp_path, env=env)
        asked = server.stats().requests
    assert run.returncode == sweep.returncode == 0, run.stderr + sweep.stderr
    assert asked == 0
    assert not (tmp_path / "runs").exists()
    assert not (tmp_path / "sweep").exists()
    one, many = run.stdout.splitlines(), sweep.stdout.splitlines()
    assert one[0].startswith("estimate for 1 run on openai:offline-chat: ")
    assert many[0].startswith("estimate for 6 runs on openai:offline-chat: ")
    assert one[1].startswith("cost: $")
    assert "prices: scenario" in one[1]


def test_camel_generate_asks_before_many_chats_on_a_model_that_may_cost(tmp_path: Path) -> None:
    env = cli_env(without="OPENAI_")
    with ModelServer(api_key="EMPTY") as server:
        common = ["--model", "openai:offline-chat", "--base-url", server.base_url]
        refused = run_cli("camel", "generate", "--out", "data", *common, cwd=tmp_path, env=env, stdin="")
        estimated = run_cli("camel", "generate", "--out", "data", *common, "--estimate", cwd=tmp_path, env=env)
        asked = server.stats().requests
    assert refused.returncode == 2
    (line,) = refused.stderr.splitlines()
    assert line.startswith("converse: error: 25,000 chats on openai:offline-chat, cost: unpriced")
    assert line.endswith("add --yes to start them, or --estimate to see what they take")
    assert not (tmp_path / "data").exists()
    assert estimated.returncode == 0, estimated.stderr
    assert estimated.stdout.startswith("estimate for 25,000 chats on openai:offline-chat: ")
    assert asked == 0
    # The offline model costs nothing: a small dataset on it starts without a question.
    small = run_cli("camel", "generate", "--out", "free", "--num-assistant-roles", "2", "--num-user-roles", "2",
                    "--tasks-per-pair", "1", "-q", cwd=tmp_path, env=env, stdin="")
    assert small.returncode == 0, small.stderr


async def test_an_estimate_counts_a_memory_streams_embeddings_at_the_embedders_price(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    streams = [
        "clock.end=2025", 'memory.policy="stream"', 'memory.stream.embedder="openai:offline-embed"',
        'prices={"offline-chat" = {input = 2.0, output = 8.0}, "offline-embed" = {input = 1.0, output = 0.0}}',
    ]
    with ModelServer(api_key=KEY) as server:
        estimate = await estimate_run(
            "three-labs-councils", model="openai:offline-chat", overrides=streams, base_url=server.base_url
        )
        assert server.stats().requests == 0  # neither the model nor the embedder is asked anything
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            # The embedder, named without a server, is asked at the run's (--base-url).
            result = await converse.run_scenario(
                "three-labs-councils", model=model, out=tmp_path, overrides=streams, base_url=server.base_url
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "completed"
    events = converse.read_events(result.events)
    embedded = events_of(events, converse.events.Embedded)
    assert embedded
    assert estimate.calls == result.llm_calls == len(events_of(events, LLMCall)) + len(embedded)
    assert estimate.model == "openai:offline-chat, openai:offline-embed"
    assert estimate.prompt_tokens > sum(c.usage.prompt_tokens for c in events_of(events, LLMCall))
    calls_only = sum(
        (c.usage.prompt_tokens * 2.0 + c.usage.completion_tokens * 8.0) / 1e6 for c in events_of(events, LLMCall)
    )
    embeddings = sum(e.usage.prompt_tokens * 1.0 / 1e6 for e in embedded)
    assert estimate.cost_usd == pytest.approx(calls_only + embeddings, rel=0.2)  # the dry run's answers differ
