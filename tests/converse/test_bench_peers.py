"""The peer benchmarks (autogen-core, the sequential original) at a tiny scale, through the
same functions ``benchmarks/run.py --only peers`` runs."""

from __future__ import annotations

import asyncio
import math
import sys
from pathlib import Path

import anyio
import pytest

from _helpers import ROOT

pytest.importorskip("autogen_core")
pytest.importorskip("matplotlib")

# The benchmarks live beside the packages, not in them: import them from the repository root.
sys.path.insert(0, str(ROOT))

from benchmarks import bench_engine, bench_peers, bench_peers_autogen
from benchmarks._peer_workload import Workload
from benchmarks.bench_engine import critical_path_calls, total_calls
from converse import Scenario

LATENCY = 0.001


@pytest.fixture
def scenario() -> Scenario:
    return bench_engine.debate_workload(periods=2)


def test_both_peers_make_the_workloads_calls_along_its_critical_path(scenario: Scenario) -> None:
    w = Workload.of(scenario)
    calls = total_calls(scenario)
    assert calls == 2 * 3 * (1 + 4 * 3) + 1
    assert anyio.run(bench_peers.sequential, w, 0, LATENCY) == calls
    wall, made, depths = asyncio.run(bench_peers_autogen.debate(w, 3, LATENCY))
    assert made == [calls] * 3  # every simulation finished, each with every call
    assert depths == [critical_path_calls(scenario)] * 3
    assert wall >= critical_path_calls(scenario) * LATENCY


def test_debate_figures_and_plot(scenario: Scenario, tmp_path: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_engine, "LATENCY", LATENCY)  # converse's side runs bench_engine._many
    plot = tmp_path / "scaling.png"
    figures = bench_peers.debate_figures(scenario, (1, 2), big=3, rounds=1, big_rounds=1, plot=plot)
    for name in ("peer.sequential_ratio", "peer.autogen_200sims_ratio"):
        assert math.isfinite(figures[name])
        assert figures[name] > 0
    for side in ("converse", "autogen"):
        for n in (1, 2, 3):
            assert figures[f"context.peer.wall_{side}_{n}"] >= critical_path_calls(scenario) * LATENCY
    assert plot.read_bytes().startswith(b"\x89PNG")


# bench_actors' raw fan-out floor leaves its 1,000 receive streams to the garbage collector.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_runtime_figures() -> None:
    figures = bench_peers.runtime_figures(n=300, n_peer=300, messages=2, messages_peer=2, agents=2000,
                                          agents_peer=2000, rounds=1)
    for name in ("peer.autogen_rt_ratio", "context.peer.fanout_ratio", "context.peer.autogen_bytes_per_agent",
                 "context.peer.converse_bytes_per_agent", "context.peer.autogen_rt_per_s"):
        assert math.isfinite(figures[name])
        assert figures[name] > 0
