"""Figures for the simulation engine and its event log.

- ``engine.debate_ratio``: the shipped council scenario stretched to the benchmark workload
  (3 organisations, councils of 4 x 3 rounds, 10 periods) on ``offline?latency=0.02``, log
  on disk: wall time over the critical path (dependent model calls on the longest chain x
  latency). The sequential baseline (every call one after another, as the original ran)
  is printed beside it.
- ``engine.concurrent_ratio``, ``engine.cpu_us_per_call``: N such simulations at once in one
  process (1,000; 100 with ``--quick``), one log each: wall over the critical path, and
  process CPU time per model call. Beside them, the raw anyio floor of the same workload
  (each model call a bare ``anyio.sleep`` with the same dependencies, no engine at all), and
  ``context.engine.unwaited_cpu_us_per_call``: the same simulations with a model that answers
  at once (``offline``): the engine's work a call when no simulation waits for its model (what
  the waits add is the difference).
- ``log.write_ev_per_s``, ``log.replay_ev_per_s``: recorder throughput (events through a
  run's journal onto disk, as a run emits them: a batch at a time, by the recorder actor or
  by the emitter that finds the journal full) and log -> Markdown
  throughput as ``converse replay`` renders a log (each block rendered as it is read),
  1,000,000 events (200,000 with ``--quick``). Beside it, ``context.log.replay_held_ev_per_s``:
  the same transcript from every event read first (``read_events``).

The simulations and their floor run on the event loop the command line runs them on
(``actors.run``: asyncio, its timers ending when due rather than up to a millisecond later).
"""

from __future__ import annotations

import copy
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

import anyio

import actors
from actors import ActorSystem
from converse import RunResult, read_events, render_markdown, run_scenario
from converse.engine._recorder import Journal, Recorder
from converse.events import Utterance
from converse.log import iter_events
from converse.scenario._load import scenario_data, scenario_from_dict
from converse.scenario._scenario import Scenario

LATENCY = 0.02
ROOT = Path(__file__).resolve().parent.parent
EXTRA_MEMBER = {
    "name": "{org} Chief Scientist",
    "persona": "A research lead who cares about what the evidence says and little else.",
}


def debate_workload(periods: int = 10, members: int = 4, rounds: int = 3) -> Scenario:
    """The benchmark workload, built from the shipped council scenario."""
    raw = copy.deepcopy(scenario_data(ROOT / "scenarios" / "three-labs-councils.toml"))
    raw["clock"]["end"] = raw["clock"]["start"] + periods - 1
    for agent in raw["agents"]:
        council = agent["council"]
        council["rounds"] = rounds
        while len(council["members"]) < members:
            extra = {k: v.format(org=agent["name"]) for k, v in EXTRA_MEMBER.items()}
            extra["name"] += f" {len(council['members'])}"
            council["members"].append(extra)
        del council["members"][members:]
    return scenario_from_dict(raw, "benchmark workload")


def critical_path_calls(scenario: Scenario) -> int:
    """Dependent model calls on the longest chain: per period, the longest council
    debate (its calls are sequential), then every statement in turn order; and at the
    end the judge's call, which needs the whole record."""
    assert scenario.clock.end is not None
    periods = scenario.clock.end - scenario.clock.start + 1
    debate = max(
        (len(a.council.members) * a.council.rounds for a in scenario.agents if a.council), default=0
    )
    return periods * (debate + len(scenario.agents)) + 1


def total_calls(scenario: Scenario) -> int:
    assert scenario.clock.end is not None
    periods = scenario.clock.end - scenario.clock.start + 1
    per_period = sum(1 + (len(a.council.members) * a.council.rounds if a.council else 0) for a in scenario.agents)
    return periods * per_period + 1  # the judge


async def _many(
    scenario: Scenario, n: int, out: Path, latency: float | None = None
) -> tuple[float, float, list[RunResult]]:
    """``n`` simulations at once, each call taking ``latency`` seconds (``LATENCY`` if None):
    wall time, process CPU time, and the runs' results."""
    results: list[RunResult] = []
    model = f"offline?latency={LATENCY if latency is None else latency}"
    async with ActorSystem(name="bench") as system:
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        async with anyio.create_task_group() as tg:
            for seed in range(n):
                async def one(seed: int = seed) -> None:
                    results.append(await run_scenario(scenario, model=model, seed=seed, out=out, system=system))
                tg.start_soon(one)
        wall, cpu = time.perf_counter() - start_wall, time.process_time() - start_cpu
    return wall, cpu, results


async def _floor(scenario: Scenario, n: int) -> tuple[float, float]:
    """The raw anyio floor of the same workload: every model call a bare ``anyio.sleep``,
    with the same dependencies (councils side by side, then statements in turn, then
    the judge)."""
    assert scenario.clock.end is not None
    periods = scenario.clock.end - scenario.clock.start + 1
    debates = [len(a.council.members) * a.council.rounds for a in scenario.agents if a.council]

    async def chain(calls: int) -> None:
        for _ in range(calls):
            await anyio.sleep(LATENCY)

    async def simulation() -> None:
        for _ in range(periods):
            async with anyio.create_task_group() as tg:
                for calls in debates:
                    tg.start_soon(chain, calls)
            await chain(len(scenario.agents))
        await chain(1)  # the judge

    start_wall, start_cpu = time.perf_counter(), time.process_time()
    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(simulation)
    return time.perf_counter() - start_wall, time.process_time() - start_cpu


def engine_figures(quick: bool) -> dict[str, float]:
    scenario = debate_workload()
    critical = critical_path_calls(scenario) * LATENCY
    with tempfile.TemporaryDirectory() as tmp:
        wall, _, results = actors.run(_many, scenario, 1, Path(tmp) / "one")
        assert results[0].status == "completed"
        assert results[0].llm_calls == total_calls(scenario)
        sims = 100 if quick else 1000
        many_wall, many_cpu, many = actors.run(_many, scenario, sims, Path(tmp) / "many")
        assert all(r.status == "completed" for r in many)
        calls = sum(r.llm_calls for r in many)
        # The same simulations with a model that answers at once: what the engine's work costs
        # when no simulation waits for its model.
        _, unwaited_cpu, unwaited = actors.run(_many, scenario, sims, Path(tmp) / "unwaited", 0.0)
        assert all(r.status == "completed" for r in unwaited)
    sequential = total_calls(scenario) * LATENCY
    floor_wall, floor_cpu = actors.run(_floor, scenario, sims)
    return {
        "engine.debate_ratio": wall / critical,
        "engine.concurrent_ratio": many_wall / critical,
        "engine.cpu_us_per_call": many_cpu / calls * 1e6,
        "context.engine.unwaited_cpu_us_per_call": unwaited_cpu / sum(r.llm_calls for r in unwaited) * 1e6,
        "context.engine.critical_path_s": critical,
        "context.engine.sequential_baseline_s": sequential,
        "context.engine.one_run_wall_s": wall,
        "context.engine.speedup_over_sequential": sequential / wall,
        "context.engine.concurrent_sims": sims,
        "context.engine.concurrent_wall_s": many_wall,
        "context.engine.floor_concurrent_ratio": floor_wall / critical,
        "context.engine.floor_cpu_us_per_call": floor_cpu / (sims * total_calls(scenario)) * 1e6,
    }


def _sample_events(n: int) -> list[Utterance]:
    periods = [str(2023 + i) for i in range(10)]
    speakers = ["OpenAI", "Google DeepMind", "Anthropic"]
    return [
        Utterance(
            run="bench",
            conversation=["top"] if i % 4 == 0 else ["top", speakers[i % 3]],
            actor=speakers[i % 3] if i % 4 == 0 else f"{speakers[i % 3]} CEO",
            period=periods[(i * 10) // n],
            turn=i,
            text=f"Statement number {i}: we shipped a model and had an incident, AGI by {2030 + i % 9}.",
        )
        for i in range(n)
    ]


async def _record(path: Path, events: list[Utterance]) -> float:
    async with ActorSystem(name="bench") as system:
        clock = time.perf_counter
        journal = Journal()
        recorder = await system.spawn(partial(Recorder, path, clock, journal))
        start = time.perf_counter()
        for event in events:  # as RunContext.emit hands them over
            journal.put(event)
        await recorder.stop()
        return time.perf_counter() - start


def log_figures(quick: bool) -> dict[str, float]:
    n = 200_000 if quick else 1_000_000
    events = _sample_events(n)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.jsonl"
        from converse.events import RunStarted

        header = RunStarted(run="bench", scenario_name="bench", source="bench", scenario={}, seed=0, model="offline", engine_version="bench")
        events_with_header: list[Any] = [header, *events]
        write_s = anyio.run(_record, path, events_with_header)
        # As `converse replay` renders a log: each block of events rendered as it is read.
        start = time.perf_counter()
        text = render_markdown(iter_events(path))
        replay_s = time.perf_counter() - start
        # The same transcript from every event read first (read_events), as a program does
        # that keeps them.
        start = time.perf_counter()
        held = render_markdown(read_events(path))
        held_s = time.perf_counter() - start
        assert len(text) > n
        assert held == text
    return {
        "log.write_ev_per_s": (n + 1) / write_s,
        "log.replay_ev_per_s": (n + 1) / replay_s,
        "context.log.replay_held_ev_per_s": (n + 1) / held_s,
    }


def run(quick: bool) -> dict[str, float]:
    return {**engine_figures(quick), **log_figures(quick)}
