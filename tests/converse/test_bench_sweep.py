"""The AgentScope sweep benchmark at a tiny scale: every agent answers once, through the scheduler."""

from __future__ import annotations

import sys

from _helpers import ROOT

# The benchmarks live beside the packages, not in them: import them from the repository root.
sys.path.insert(0, str(ROOT))

from benchmarks import bench_sweep


def test_agentscope_every_agent_answers_once() -> None:
    latency = 0.05
    figures = bench_sweep.agentscope(200, latency=latency)
    assert figures["context.sweep.agents"] == 200
    assert figures["context.sweep.agents_answered"] == 200
    assert figures["context.sweep.model_calls"] == 200
    assert figures["context.sweep.mean_answer"] == bench_sweep.ANSWER
    assert figures["sweep.agentscope_1m"] >= latency
    assert figures["sweep.agentscope_spawn_s"] < figures["sweep.agentscope_1m"]
