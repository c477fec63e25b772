"""``run_many``: many simulations in one actor system and one scheduler, results as they finish."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from actors import ActorSystem
from converse import Job, Limits, Scheduler, read_events, run_many
from converse.events import LLMCall, RunFinished

SHORT = ("clock.end=2024",)


def logs(directory: Path) -> list[Path]:
    return sorted(directory.glob("*/events.jsonl"))


async def test_results_arrive_as_runs_finish_and_match_single_runs(backend: str, tmp_path: Path) -> None:
    # Seed 0 is slow, the others fast: the fast ones are reported first.
    jobs = [
        Job(scenario="three-labs", seed=0, overrides=SHORT, model="offline?latency=0.05"),
        *(Job(scenario="three-labs", seed=s, overrides=SHORT, model="offline") for s in (1, 2, 3)),
    ]
    order: list[int] = []
    async with run_many(jobs, concurrency=4, out=tmp_path) as finished:
        async for item in finished:
            assert item.error is None
            assert item.result is not None
            assert item.result.status == "completed"
            order.append(item.job.seed)
    assert sorted(order) == [0, 1, 2, 3]
    assert order[-1] == 0
    assert len(logs(tmp_path)) == 4


async def test_concurrency_bounds_runs_in_progress(backend: str, tmp_path: Path) -> None:
    running = peak = 0

    def observe(job: Job, event: object) -> None:
        nonlocal running, peak
        if type(event).__name__ == "RunStarted":
            running += 1
            peak = max(peak, running)
        elif isinstance(event, RunFinished):
            running -= 1

    jobs = (Job(scenario="three-labs", seed=s, overrides=SHORT, model="offline?latency=0.01") for s in range(9))
    async with run_many(jobs, concurrency=3, out=tmp_path, observer=observe) as finished:
        seen = [item async for item in finished]
    assert len(seen) == 9
    assert peak == 3


async def test_one_bad_job_does_not_stop_the_others(backend: str, tmp_path: Path) -> None:
    jobs = [
        Job(scenario="three-labs", seed=1, overrides=SHORT),
        Job(scenario="no-such-scenario", seed=2),
        Job(scenario="three-labs", seed=3, overrides=("clock.step=fortnight",)),
    ]
    async with run_many(jobs, out=tmp_path) as finished:
        items = {item.job.seed: item async for item in finished}
    assert items[1].result is not None
    assert items[1].result.status == "completed"
    assert items[2].result is None
    assert "no such scenario file" in (items[2].error or "")
    assert "$.clock.step" in (items[3].error or "")


async def test_leaving_early_cancels_the_rest_and_their_logs_say_so(backend: str, tmp_path: Path) -> None:
    jobs = [Job(scenario="three-labs", seed=s, model="offline?latency=0.02") for s in range(4)]
    jobs[0] = Job(scenario="three-labs", seed=0, overrides=("clock.end=2023",))
    async with run_many(jobs, concurrency=4, out=tmp_path) as finished:
        async for first in finished:
            assert first.job.seed == 0
            break
    statuses = sorted(read_events(p)[-1].status for p in logs(tmp_path))  # type: ignore[union-attr]
    assert statuses == ["cancelled", "cancelled", "cancelled", "completed"]


async def test_runs_share_the_callers_system_and_scheduler(backend: str, tmp_path: Path) -> None:
    scheduler = Scheduler({"offline": Limits(max_concurrency=2, timeout=None)})
    calls = peak = 0

    def observe(job: Job, event: object) -> None:
        nonlocal calls
        calls += isinstance(event, LLMCall)

    async def watch() -> None:
        nonlocal peak
        while True:
            stats = scheduler.statistics().endpoints.get("offline")
            peak = max(peak, stats.in_flight if stats else 0)
            await anyio.sleep(0.002)

    async with anyio.create_task_group() as tg:
        system = await tg.start(ActorSystem(name="host").serve)
        tg.start_soon(watch)
        jobs = [Job(scenario="three-labs", seed=s, overrides=SHORT, model="offline?latency=0.01") for s in range(3)]
        async with run_many(jobs, out=tmp_path, system=system, scheduler=scheduler, observer=observe) as finished:
            results = [item.result async for item in finished]
        await system.aclose()
        tg.cancel_scope.cancel()
    assert peak == 2
    assert calls == sum(r.llm_calls for r in results if r is not None)
    assert scheduler.statistics().endpoints["offline"].succeeded == calls


async def test_concurrency_below_one_is_refused(backend: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        async with run_many([], concurrency=0, out=tmp_path):
            pass


async def test_an_async_source_is_asked_for_a_job_only_when_a_run_can_start(backend: str, tmp_path: Path) -> None:
    """A source that deals jobs to several consumers (a sweep's worker processes) must not
    hand one a job it cannot start yet: the next is asked for once a slot is free."""
    ended = 0
    asked: list[int] = []  # the runs that had ended when each job was asked for

    class Source:
        def __init__(self) -> None:
            self.given = 0

        def __aiter__(self) -> Source:
            return self

        async def __anext__(self) -> Job:
            if self.given == 4:
                raise StopAsyncIteration
            asked.append(ended)
            self.given += 1
            await anyio.sleep(0.001)  # a source may wait for its next job
            return Job(scenario="three-labs", seed=self.given, overrides=SHORT, model="offline?latency=0.01")

    def observe(job: Job, event: object) -> None:
        nonlocal ended
        ended += isinstance(event, RunFinished)

    seeds = []
    async with run_many(Source(), concurrency=2, out=tmp_path, observer=observe) as finished:
        async for item in finished:
            assert item.result is not None
            assert item.result.status == "completed"
            seeds.append(item.job.seed)
    assert sorted(seeds) == [1, 2, 3, 4]
    assert asked[:2] == [0, 0]  # two slots: two jobs at once
    assert asked[2] >= 1  # the third once a run had ended
    assert asked[3] >= 2
