"""Figures for the scheduler in front of every model call.

- ``sched.budget_use``: 100 simulations at once (``three-labs``, 20 statements each: 2,000
  calls; 500 with ``--quick``) through the real openai SDK against the loopback test
  server, which enforces its own requests- and tokens-per-window budget and answers 429
  beyond it. The scheduler is told the same budget. Figure: achieved calls per second over
  the budget's calls per second. Printed beside it: how many 429s the server sent, and how
  many calls failed (must be none).
- ``sched.overhead_us``: scheduler CPU per call with no limit hit: 100,000 calls of a
  trivial coroutine through ``Scheduler.call`` against the same calls made directly,
  interleaved, median of the per-round differences.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import anyio

from actors import ActorSystem
from converse import Limits, RunResult, Scheduler, run_scenario
from converse.models._openai import OpenAIModel
from converse.models.offline._testserver import ModelServer

WINDOW = 2.0  # seconds: the budget's window, shortened from a minute to keep the run short


async def _budget_run(sims: int, calls_each: int, per_window: int, tokens_per_window: int) -> dict[str, float]:
    scheduler = Scheduler(
        default=Limits(rpm=per_window, tpm=tokens_per_window, window=WINDOW, timeout=None, max_concurrency=64)
    )
    results: list[RunResult] = []
    with ModelServer(api_key="bench", rpm=per_window, tpm=tokens_per_window, window=WINDOW) as server:
        model = OpenAIModel("offline-chat", spec="openai:offline-chat", base_url=server.base_url, api_key="bench")
        overrides = ["clock.end=2040", f"termination.max_turns={calls_each}"]
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            async with ActorSystem(name="bench") as system, anyio.create_task_group() as tg:
                for seed in range(sims):

                    async def one(seed: int = seed) -> None:
                        results.append(
                            await run_scenario(
                                "three-labs", model=model, seed=seed, out=Path(tmp), overrides=overrides,
                                system=system, scheduler=scheduler,
                            )
                        )

                    tg.start_soon(one)
            elapsed = time.perf_counter() - start
        await model.aclose()
        stats = server.stats()
    calls = sum(r.llm_calls for r in results)
    failed = sum(r.status != "completed" for r in results)
    rate = per_window / WINDOW
    return {
        "sched.budget_use": calls / elapsed / rate,
        "context.sched.calls": calls,
        "context.sched.server_429s": stats.rate_limited_budget + stats.rate_limited_injected,
        "context.sched.failed_runs": failed,
        "context.sched.budget_calls_per_s": rate,
    }


async def _overhead(n: int, rounds: int) -> float:
    scheduler = Scheduler(default=Limits(timeout=None, max_concurrency=1 << 30))

    async def trivial() -> int:
        return 1

    differences = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            await trivial()
        direct = time.process_time() - start
        start = time.process_time()
        for _ in range(n):
            await scheduler.call("bench", "t", 1, trivial)
        scheduled = time.process_time() - start
        differences.append((scheduled - direct) / n * 1e6)
    return statistics.median(differences)


def run(quick: bool) -> dict[str, float]:
    sims, calls_each = 100, (5 if quick else 20)
    figures = anyio.run(_budget_run, sims, calls_each, 120, 400_000)
    figures["sched.overhead_us"] = anyio.run(_overhead, 20_000 if quick else 100_000, 5)
    return figures
