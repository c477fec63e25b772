"""A model per agent: each lab of a run speaks with a model of its own, on a server of its own,
through the real openai SDK; each model is its own scheduler endpoint with its own budgets,
and the ledger, the transcript and replay say who spoke with which model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, one_error_line, run_cli
from converse import Limits, Scheduler
from converse.events import Ledger, LLMCall, RunStarted, Utterance
from converse.testing import ModelServer, events_of

KEY = "sk-test-per-agent"
SHORT = ["clock.end=2024"]


def _toml(value: object) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_toml(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def _choice(spec: str, server: ModelServer, **more: object) -> str:
    """``agents[i].model`` as an inline TOML table."""
    extra = "".join(f", {k}={_toml(v)}" for k, v in more.items())
    return f'{{spec="{spec}", base_url="{server.base_url}"{extra}}}'


def _scheduler() -> Scheduler:
    """A scheduler of the test's own (the budgets a run offers stay in it)."""
    return Scheduler(default=Limits(timeout=None, backoff=0.01, max_backoff=0.05))


@SDK_LEAVES_GENERATORS
async def test_three_labs_on_three_models(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(models=["alpha"], api_key=api_key, rpm=500) as a, ModelServer(
        models=["beta"], api_key=api_key, rpm=200, seed=7
    ) as b:
        scheduler = _scheduler()
        overrides = [
            *SHORT,
            f"agents[0].model={_choice('openai:alpha', a, rpm=500, calls=4, temperature=0.3)}",
            f"agents[1].model={_choice('openai:beta', b, rpm=200, calls=2)}",
        ]
        result = await converse.run_scenario(
            "three-labs", out=tmp_path / "runs", overrides=overrides, scheduler=scheduler
        )
        to_a, to_b = a.requests, b.requests
        refused = a.stats().rate_limited_budget + b.stats().rate_limited_budget
    assert result.status == "completed", result.reason
    events = converse.read_events(result.events)
    calls = events_of(events, LLMCall)
    by_actor = {actor: [c.model for c in calls if c.actor == actor] for actor in ("OpenAI", "Google DeepMind", "Anthropic")}
    assert by_actor == {
        "OpenAI": ["openai:alpha"] * 2,
        "Google DeepMind": ["openai:beta"] * 2,
        "Anthropic": ["offline"] * 2,
    }
    # Each server was asked for its own lab's statements only, with that lab's own parameters.
    assert len(to_a) == 2
    assert {r["model"] for r in to_a} == {"alpha"}
    assert {r["temperature"] for r in to_a} == {0.3}
    assert len(to_b) == 2
    assert {r["model"] for r in to_b} == {"beta"}
    assert {r["temperature"] for r in to_b} == {1.0}  # the run's, which beta's table does not change
    assert all("You speak for OpenAI" in r["messages"][0]["content"] for r in to_a)
    assert all("You speak for Google DeepMind" in r["messages"][0]["content"] for r in to_b)
    assert refused == 0
    # Each model is its own endpoint, with the budgets its table gave.
    limits, _ = scheduler.limits
    endpoint_a = next(e for e in limits if e.endswith("|alpha"))
    endpoint_b = next(e for e in limits if e.endswith("|beta"))
    assert (limits[endpoint_a].rpm, limits[endpoint_a].max_concurrency) == (500, 4)
    assert (limits[endpoint_b].rpm, limits[endpoint_b].max_concurrency) == (200, 2)
    assert scheduler.statistics().endpoints[endpoint_a].succeeded == 2

    # The ledger: per agent with its model, and per model with its price.
    (ledger,) = events_of(events, Ledger)
    rows = {e.agent: e.model for e in ledger.entries}
    assert rows["OpenAI"] == "openai:alpha"
    assert rows["Google DeepMind"] == "openai:beta"
    assert rows["Anthropic"] == "offline"
    assert rows["judge"] == "offline"
    assert isinstance(ledger.models, list)
    spend = {m.model: m for m in ledger.models}
    assert {m: s.calls for m, s in spend.items()} == {"openai:alpha": 2, "openai:beta": 2, "offline": 3}
    served_a = sum(c.usage.prompt_tokens + c.usage.completion_tokens for c in calls if c.model == "openai:alpha")
    assert spend["openai:alpha"].prompt_tokens + spend["openai:alpha"].completion_tokens == served_a
    assert spend["offline"].price_source == "the offline model: free"
    assert spend["openai:alpha"].price_source == ""  # a model on an unknown server is unpriced

    # The transcript's header says who spoke with which model.
    header = result.transcript.read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "- **Models:** " in header
    models_line = next(line for line in header.splitlines() if line.startswith("- **Models:**"))
    assert "openai:alpha: OpenAI" in models_line
    assert "openai:beta: Google DeepMind" in models_line
    assert "offline: Anthropic" in models_line

    # Rendering the log again gives the same transcript, byte for byte; re-executing it
    # without any server gives the same run, said for said and model for model.
    rendered = run_cli("replay", str(result.directory), cwd=tmp_path)
    assert rendered.returncode == 0, rendered.stderr
    assert rendered.stdout.encode() == result.transcript.read_bytes()
    again = await converse.run_scenario(
        "three-labs", out=tmp_path / "again", overrides=overrides, replay_from=result.events, scheduler=_scheduler()
    )
    assert again.status == "completed", again.reason
    replayed = converse.read_events(again.events)
    strip = lambda c: (c.call, c.actor, c.model, c.response, c.messages, c.usage)  # noqa: E731
    assert [strip(c) for c in events_of(replayed, LLMCall)] == [strip(c) for c in calls]
    assert again.transcript.read_text().split("\n## ", 1)[1] == result.transcript.read_text().split("\n## ", 1)[1]


@SDK_LEAVES_GENERATORS
async def test_a_resumed_run_asks_each_lab_s_own_model_for_the_rest(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(models=["alpha"], api_key=api_key) as a:
        overrides = ["clock.end=2025", f"agents[0].model={_choice('openai:alpha', a)}"]
        first = await converse.run_scenario(
            "three-labs", out=tmp_path, overrides=overrides, scheduler=_scheduler(), run_id="cut"
        )
        assert first.status == "completed"
        # Cut the log after the first period's statements, as a crash would.
        log = first.events
        lines = log.read_bytes().splitlines(keepends=True)
        said = [i for i, line in enumerate(lines) if b'"type":"utterance"' in line]
        log.write_bytes(b"".join(lines[: said[2] + 1]))
        (first.directory / "transcript.md").unlink()
        asked_before = len(a.requests)
        resumed = await converse.resume_run(first.directory, scheduler=_scheduler())
        asked = len(a.requests) - asked_before
    assert resumed.status == "completed", resumed.reason
    calls = events_of(converse.read_events(resumed.events), LLMCall)
    openai = [c for c in calls if c.actor == "OpenAI"]
    assert [c.model for c in openai] == ["openai:alpha"] * 3
    assert asked == 2  # the two statements the cut log did not hold; the first came from the log
    assert {c.model for c in calls if c.actor != "OpenAI"} == {"offline"}


@SDK_LEAVES_GENERATORS
async def test_the_cache_answers_every_model_of_a_run(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(models=["alpha"], api_key=api_key) as a:
        overrides = [*SHORT, f"agents[0].model={_choice('openai:alpha', a)}"]
        for out in ("one", "two"):
            result = await converse.run_scenario(
                "three-labs", out=tmp_path / out, overrides=overrides, cache=tmp_path / "cache", scheduler=_scheduler()
            )
            assert result.status == "completed"
        asked = len(a.requests)
    assert asked == 2  # the second run's two statements by OpenAI came from the cache
    calls = events_of(converse.read_events(result.events), LLMCall)
    assert all(c.cached is True for c in calls if c.actor == "OpenAI")


def test_a_council_and_its_members_take_their_own_models(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs-councils", "--set", "clock.end=2023", "-q", "--out", "runs",
        "--set", 'agents[0].model="offline?latency=0"',
        "--set", 'agents[1].council.model="offline?latency=0.001"',
        "--set", 'agents[1].council.members[0].model={spec="offline", temperature=0.5}',
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    events = converse.read_events(tmp_path / done.stdout.strip() / "events.jsonl")
    started = events[0]
    assert isinstance(started, RunStarted)
    members = started.scenario["agents"][1]["council"]["members"]
    calls = events_of(events, LLMCall)
    model_of = {c.actor: c.model for c in calls if c.purpose in ("statement", "line")}
    assert model_of["OpenAI"] == "offline?latency=0"
    assert model_of["OpenAI CEO"] == "offline?latency=0"  # members take their organisation's
    assert model_of["Google DeepMind"] == "offline"  # the council's model is its members'
    assert model_of[members[1]["name"]] == "offline?latency=0.001"
    assert model_of[members[0]["name"]] == "offline"
    first_member = [c for c in calls if c.actor == members[0]["name"]]
    assert {c.params["temperature"] for c in first_member} == {0.5}
    assert len(events_of(events, Utterance)) > 3


def test_a_grid_over_an_agent_s_model_is_one_command(tmp_path: Path) -> None:
    done = run_cli(
        "sweep", "three-labs", "--set", "clock.end=2023", "--grid", "agents[1].model=offline,offline?latency=0",
        "--out", "sw", "-q", cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    runs = sorted(p for p in (tmp_path / "sw").iterdir() if (p / "events.jsonl").is_file())
    assert len(runs) == 2
    seen = set()
    for run in runs:
        calls = events_of(converse.read_events(run / "events.jsonl"), LLMCall)
        seen |= {c.model for c in calls if c.actor == "Google DeepMind"}
    assert seen == {"offline", "offline?latency=0"}


@pytest.mark.parametrize(
    ("setting", "where"),
    [
        ('agents[1].model="bogus:x"', "$.agents[1].model"),
        ('agents[0].model={spec="offline", max_tokens=0}', "$.agents[0].model.max_tokens"),
        ('agents[0].model={spec="offline", rpm=-1}', "$.agents[0].model.rpm"),
        ('agents[0].model={spec="offline", params={model="x"}}', "$.agents[0].model.params.model"),
        ('agents[0].model={base_url="http://x"}', "$.agents[0].model"),
    ],
)
def test_a_bad_model_for_an_agent_is_one_line_naming_its_key(setting: str, where: str, tmp_path: Path) -> None:
    done = run_cli("run", "three-labs", "--set", setting, cwd=tmp_path)
    assert done.returncode == 2
    line = one_error_line(done)
    assert where in line, line
    assert not (tmp_path / "runs").exists()


@SDK_LEAVES_GENERATORS
async def test_the_judge_takes_a_table_with_a_server_of_its_own(api_key: str, tmp_path: Path, backend: str) -> None:
    with ModelServer(models=["judge-model"], api_key=api_key) as server:
        overrides = [*SHORT, f"judge.model={_choice('openai:judge-model', server, params={'top_k': 5})}"]
        result = await converse.run_scenario("three-labs", out=tmp_path, overrides=overrides, scheduler=_scheduler())
        sent = server.requests
    assert result.status == "completed"
    assert result.judge_error is None
    assert len(sent) == 1
    assert sent[0]["model"] == "judge-model"
    assert sent[0]["top_k"] == 5
    (ledger,) = events_of(converse.read_events(result.events), Ledger)
    assert isinstance(ledger.models, list)
    assert {m.model: m.calls for m in ledger.models} == {"offline": 6, "openai:judge-model": 1}


def test_an_estimate_prices_each_agent_at_its_own_model(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs", "--estimate", "--set", "clock.end=2024", "--set", 'agents[0].model="openai:gpt-4o"',
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    first, cost = done.stdout.splitlines()
    assert first.startswith("estimate for 1 run on offline, openai:gpt-4o: 7 calls")
    assert "OpenAI list prices" in cost
    assert "the offline model: free" in cost
    assert not cost.startswith("cost: $0.0000")
    assert not (tmp_path / "runs").exists()


def test_an_agent_s_prompts_are_held_to_its_own_model_s_window(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs", "-q", "--out", "runs", "--set", "memory.policy=window",
        "--set", 'agents[0].model={spec="offline", context_window=2000}', cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    run = tmp_path / done.stdout.strip()
    calls = events_of(converse.read_events(run / "events.jsonl"), LLMCall)
    biggest = {a: max(c.usage.prompt_tokens for c in calls if c.actor == a) for a in ("OpenAI", "Anthropic")}
    assert biggest["OpenAI"] + 600 <= 2000  # its window less room for the answer
    assert biggest["Anthropic"] > 2000  # the run's model has no known window: its prompts grow
    audited = run_cli("audit", str(run), cwd=tmp_path)
    assert audited.returncode == 0, audited.stdout
    # The audit holds each agent to its own model's window: a smaller one is a violation.
    lines = (run / "events.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    started = json.loads(lines[0])
    started["scenario"]["agents"][0]["model"]["context_window"] = 1200
    smaller = tmp_path / "smaller.jsonl"
    smaller.write_text(json.dumps(started) + "\n" + "".join(lines[1:]), encoding="utf-8")
    audited = run_cli("audit", str(smaller), cwd=tmp_path)
    assert audited.returncode == 1
    broken = [line for line in audited.stdout.splitlines() if "window" in line and "the window of 1,200" in line]
    assert broken, audited.stdout
    assert all("OpenAI" in line for line in broken), audited.stdout


def test_a_model_a_log_answers_for_keeps_the_window_its_settings_name() -> None:
    """Re-executing a log, every seat is answered by the log; an agent's prompts must still be
    held to the window of the model its settings name, as they were when the log was made."""
    from converse.engine._replay import ReplayOnlyModel
    from converse.engine._seats import Seat, Seats, settings_key
    from converse.scenario import ModelSettings

    replayed = ReplayOnlyModel("runs/x/events.jsonl")
    run = Seat(replayed, ModelSettings(), "replay", None)
    own = ModelSettings(spec="openai:gpt-4o")
    seats = Seats.open(run, {settings_key(own): (own, replayed)}, Scheduler())
    assert seats.of(own).window == converse.models.context_window(own) == 128_000
