"""``converse sweep --backend ray``: the same results as the local backend, one rate limit for
every worker, Ctrl-C that stops the workers, and a one-line error without Ray.

The Ray tests share one local Ray instance of two CPUs (a few seconds to start), so a sweep
is spread over two worker processes.
"""

from __future__ import annotations

import itertools
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import msgspec
import pytest

from converse import Limits, Scheduler, cli, plan_sweep, run_sweep
from converse.events import RunFinished
from converse.sweeps import SweepRow
from converse.testing import Faults, ModelServer


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """A local Ray of two CPUs for the module (Ray itself is skipped if not installed)."""
    if os.environ.get("CONVERSE_REQUIRE_RAY"):  # CI: these tests must run, not skip
        import ray
    else:
        ray = pytest.importorskip("ray", reason="needs Ray: pip install 'converse-sim[ray]'")
    with pytest.MonkeyPatch.context() as env:
        env.delenv("RAY_ADDRESS", raising=False)  # a local instance, whatever the machine says
        env.setenv("RAY_USAGE_STATS_ENABLED", "0")  # and no usage report sent anywhere
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        try:
            yield
        finally:
            ray.shutdown()


def last_event(run: Path) -> RunFinished | None:
    lines = (run / "events.jsonl").read_bytes().splitlines()
    event = msgspec.json.decode(lines[-1]) if lines else {}
    return msgspec.convert(event, RunFinished) if event.get("type") == "run_finished" else None


@pytest.mark.ray
def test_a_ray_sweep_gives_what_the_local_backend_gives(
    ray_cluster: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sweep = ["sweep", "three-labs", "--grid", "regulation=none,strict", "--repeats", "2", "-q"]
    with monkeypatch.context() as local:
        local.setattr("converse.sweeps._sweep._local", None)  # not quietly run here instead
        code = cli.main([*sweep, "--backend", "ray", "--out", str(tmp_path / "ray")])
    assert code == 0, capsys.readouterr().err
    code = cli.main([*sweep, "--backend", "local", "--out", str(tmp_path / "local")])
    assert code == 0, capsys.readouterr().err

    summary = (tmp_path / "ray" / "summary.csv").read_text(encoding="utf-8")
    assert summary == (tmp_path / "local" / "summary.csv").read_text(encoding="utf-8")
    assert summary.count("completed") == 4
    runs = sorted(p.parent.name for p in (tmp_path / "local").glob("*/transcript.md"))
    assert len(runs) == 4
    for run in runs:
        ray_transcript = (tmp_path / "ray" / run / "transcript.md").read_bytes()
        assert ray_transcript == (tmp_path / "local" / run / "transcript.md").read_bytes(), run


RPM, WINDOW = 10, 2.0  # the server's budget; the sweep makes about 30 calls


@pytest.mark.ray
async def test_the_workers_share_one_rate_limit(ray_cluster: None, backend: str, tmp_path: Path) -> None:
    sweep, _, runs = plan_sweep(
        "three-labs",
        ["regulation=none,strict"],
        repeats=2,
        model="openai:offline-chat",
        overrides=["clock.end=2024"],
    )
    # Our window half as long again as the server's: a request reaches the server a moment
    # after its grant, and with two CPUs for everything (Ray's workers niced) that moment can
    # be long. Two workers each keeping the budget alone would still send it twice over.
    scheduler = Scheduler(Limits(rpm=RPM, window=WINDOW * 1.5, timeout=None))
    with ModelServer(api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY", rpm=RPM, window=WINDOW) as server:
        with anyio.fail_after(60):
            outcome = await run_sweep(
                sweep, runs, tmp_path / "out", backend="ray", scheduler=scheduler, base_url=server.base_url
            )
        stats = server.stats()
    assert (outcome.completed, outcome.unfinished) == (4, 0)
    assert stats.successes > 2 * RPM  # the budget held the sweep back, more than once
    assert stats.rate_limited_budget == 0, stats
    assert stats.requests == stats.successes


@pytest.mark.ray
async def test_a_budget_the_scenario_names_holds_across_the_workers(
    ray_cluster: None, backend: str, tmp_path: Path
) -> None:
    """``calls = 1`` in the scenario's ``[model]`` is one call in flight for the whole sweep,
    not one a worker: each answer comes a latency after the one before."""
    sweep, _, runs = plan_sweep(
        "three-labs", ["regulation=none,strict"], repeats=2, model="openai:offline-chat",
        overrides=["clock.end=2023", "model.calls=1"],
    )
    with ModelServer(api_key=os.environ.get("OPENAI_API_KEY") or "EMPTY", faults=Faults(latency=LATENCY)) as server:
        with anyio.fail_after(60):
            outcome = await run_sweep(sweep, runs, tmp_path / "out", backend="ray", base_url=server.base_url)
        stats = server.stats()
    assert (outcome.completed, outcome.unfinished) == (4, 0)
    answered = sorted(stats.answered_at)
    assert len(answered) == stats.successes > 8
    assert min(b - a for a, b in itertools.pairwise(answered)) >= LATENCY * 0.9


LATENCY = 0.05  # seconds the server takes to answer, in the test above


class CancelAfterFirst:
    """A progress display whose user presses Ctrl-C when the first run has finished."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope
        self.rows: list[SweepRow] = []

    def start(self, total: int, done: int, failed: int) -> None:
        """The plan is of no interest here."""

    def finished(self, row: SweepRow) -> None:
        self.rows.append(row)
        self.scope.cancel()

    def tokens(self, count: int) -> None:
        """Nor are the tokens."""


@pytest.mark.ray
@pytest.mark.asyncio
async def test_cancelling_a_ray_sweep_stops_its_workers_and_the_same_sweep_finishes_it(
    ray_cluster: None, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    # Two batches, each running two short runs and two long ones at once: when the first
    # short run ends (about 1 s), the long ones (about 5 s) are well under way, however
    # slowly a busy machine passes the cancellation on.
    sweep, _, runs = plan_sweep(
        "three-labs", ["clock.end=2024,2032"], repeats=4, model="offline?latency=0.15"
    )
    with anyio.fail_after(30):
        with anyio.CancelScope() as scope:
            progress = CancelAfterFirst(scope)
            await run_sweep(sweep, runs, out, backend="ray", concurrency=4, progress=progress)
        assert scope.cancelled_caught
    # Every run a worker had started is closed: none goes on running after the sweep returns.
    ends = {p.parent.name: last_event(p.parent) for p in out.glob("*/events.jsonl")}
    statuses = [e.status if e is not None else None for e in ends.values()]
    assert set(statuses) == {"completed", "cancelled"}, ends
    assert statuses.count("completed") >= len(progress.rows) >= 1

    with anyio.fail_after(30):
        outcome = await run_sweep(sweep, runs, out, backend="ray", concurrency=4)
    assert (outcome.completed, outcome.skipped) == (len(runs), statuses.count("completed"))


def test_without_ray_the_ray_backend_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # as if not installed
    code = cli.main(["sweep", "three-labs", "--backend", "ray", "--out", str(tmp_path / "out"), "-q"])
    assert code == 2
    assert (
        capsys.readouterr().err
        == "converse: error: --backend ray: needs Ray: pip install 'converse-sim[ray]'\n"
    )
