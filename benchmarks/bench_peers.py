"""Converse beside its peers: autogen-core (``bench_peers_autogen``) and the original loop.

- ``peer.autogen_rt_ratio``: ask round trips/s, ``ActorRef.ask`` to an echo actor over
  autogen-core's ``send_message`` to an echo ``RoutedAgent`` (each reply awaited before the
  next); the raw anyio ping-pong floor of ``bench_actors`` is printed beside them.
- ``context.peer.fanout_ratio``: deliveries/s of one topic to 1,000 subscribers,
  ``system.bus.publish`` over autogen-core's ``publish_message`` (and the raw floor).
- ``context.peer.{autogen,converse}_bytes_per_agent``: RSS growth per idle agent, each side
  in a fresh process (autogen's agents instantiated by one message each).
- ``peer.autogen_200sims_ratio``: 200 debate simulations (``bench_engine.debate_workload``:
  3 organisations, councils of 4 x 3 rounds, 10 periods, 20 ms fake calls) at once:
  autogen-core's wall time over converse's (``run_scenario``, every event logged to disk).
- ``peer.sequential_ratio``: one simulation: the original Converse's loop (every call one
  after another) over converse's wall time.
- the scaling plot ``figures/scaling.png``: wall time against simulations at once (1, 10,
  100, 1,000; 1,000 skipped with ``--quick``) for both engines and the critical path.

Sides alternate within a round (A B A B ...); a ratio is the median of the per-round ratios.
The autogen side counts its fake calls and measures its critical path: both must equal
``total_calls`` and ``critical_path_calls`` of the workload, or the benchmark fails.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

import anyio

import actors
from benchmarks import bench_actors, bench_engine
from benchmarks._peer_workload import Memory, Workload, strip_speaker
from benchmarks.bench_engine import critical_path_calls, total_calls
from converse import Hints, OfflineModel
from converse.scenario._scenario import Scenario

ROOT = Path(__file__).resolve().parent.parent
FIGURE = ROOT / "benchmarks" / "figures" / "scaling.png"  # the full run's; --quick draws its own beside it
QUICK_FIGURE = ROOT / "benchmarks" / "figures" / "scaling-quick.png"


# -- the sequential original ------------------------------------------------------------------------


async def sequential(w: Workload, seed: int, latency: float) -> int:
    """The original Converse: one call at a time, in its order (each period, every council's
    debate in turn, then every statement), memories as plain lists. Returns the calls made."""
    model, calls = OfflineModel(seed=seed), 0

    async def call(memory: Memory, user: str, hints: Hints) -> str:
        nonlocal calls
        calls += 1
        text = model.answer(memory.request(user, hints))
        await anyio.sleep(latency)
        return memory.answered(text)

    orgs = [Memory(o.system) for o in w.orgs]
    members = [[Memory(system) for _, system in o.members] for o in w.orgs]
    heard: list[list[tuple[str, str, str]]] = [[] for _ in w.orgs]  # every statement, per org
    unheard: list[list[str]] = [[] for _ in w.orgs]  # statements since the org's last one
    member_unheard: list[list[list[str]]] = [[[] for _ in o.members] for o in w.orgs]  # since its last turn
    debates: list[list[str]] = [[] for _ in w.orgs]
    for index, period in enumerate(w.periods):
        for i, org in enumerate(w.orgs):
            record, lines, backlog = w.public_record(heard[i], index), debates[i], member_unheard[i]
            lines.clear()
            for round_ in range(w.rounds):
                for j, (name, _) in enumerate(org.members):
                    user = w.member_prompt(org.name, name, period, backlog[j], record if round_ == 0 else None)
                    hints = Hints(kind="line", speaker=name, organisation=org.name, period=period)
                    text = strip_speaker(await call(members[i][j], user, hints), name)
                    backlog[j] = []
                    for k, other in enumerate(backlog):
                        if k != j:
                            other.append(f"{name}: {text}")
                    lines.append(f"{name}: {text}")
        for i, org in enumerate(w.orgs):
            user = w.statement_prompt(org.name, period, unheard[i], debates[i], index == 0)
            hints = Hints(kind="statement", speaker=org.name, organisation=org.name, period=period)
            text = await call(orgs[i], user, hints)
            unheard[i] = []
            for k in range(len(w.orgs)):
                heard[k].append((org.name, period, text))
                if k != i:
                    unheard[k].append(f"{org.name} ({period}): {text}")
    record = "\n\n".join(f"{s} ({p}): {t}" for s, p, t in heard[0])
    await call(Memory("You judge a simulated public record."), "The whole public record:\n\n" + record,
               Hints(kind="other", speaker="judge"))
    return calls


# -- one measurement each ---------------------------------------------------------------------------


def sequential_wall(scenario: Scenario, latency: float) -> float:
    """Wall time of the sequential original for one simulation (seed 0); fails unless it
    made the workload's calls."""
    began = time.perf_counter()
    calls = actors.run(sequential, Workload.of(scenario), 0, latency)
    wall = time.perf_counter() - began
    assert calls == total_calls(scenario), (calls, total_calls(scenario))
    return wall


def converse_wall(scenario: Scenario, sims: int, out: Path) -> float:
    """``sims`` simulations at once through ``run_scenario`` (``bench_engine._many``, its
    ``LATENCY``), logs under ``out`` (removed afterwards)."""
    try:
        wall, _, results = actors.run(bench_engine._many, scenario, sims, out)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert len(results) == sims
    assert all(r.status == "completed" for r in results)
    assert all(r.llm_calls == total_calls(scenario) for r in results)
    return wall


def autogen_wall(scenario: Scenario, sims: int, latency: float) -> float:
    """``sims`` simulations at once on one autogen-core runtime; fails unless each made the
    workload's calls along its critical path."""
    from benchmarks import bench_peers_autogen

    with asyncio.Runner(loop_factory=actors.new_event_loop) as runner:  # the loop converse runs on
        wall, calls, depths = runner.run(bench_peers_autogen.debate(Workload.of(scenario), sims, latency))
    assert calls == [total_calls(scenario)] * sims, calls
    assert depths == [critical_path_calls(scenario)] * sims, depths
    return wall


def wall_child(side: str, sims: int) -> None:
    """Entry point of a fresh process that runs ``sims`` benchmark simulations on one side."""
    scenario = bench_engine.debate_workload()
    if side == "converse":
        with tempfile.TemporaryDirectory() as tmp:
            print(converse_wall(scenario, sims, Path(tmp) / "runs"))
    else:
        print(autogen_wall(scenario, sims, bench_engine.LATENCY))


def _child(code: str) -> list[float]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return [float(x) for x in done.stdout.split()]


def _interleave(sides: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each side once per round, in turn: A B A B ..."""
    out: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, side in sides.items():
            out[name].append(side())
    return out


def _ratio(top: list[float], bottom: list[float]) -> float:
    """The median of the per-round ratios."""
    return statistics.median(a / b for a, b in zip(top, bottom, strict=True))


# -- the figures ----------------------------------------------------------------------------------


def runtime_figures(n: int, n_peer: int, messages: int, messages_peer: int, agents: int, agents_peer: int,
                    rounds: int) -> dict[str, float]:
    """Ask round trips, fan-out to 1,000 subscribers, memory per idle agent."""
    from benchmarks import bench_peers_autogen as ag

    med = statistics.median
    ask = _interleave({
        "floor": lambda: anyio.run(bench_actors._floor_ping_pong, n),
        "converse": lambda: anyio.run(bench_actors._actors_ask, n),
        "autogen": lambda: asyncio.run(ag.ask(n_peer)),
    }, rounds)
    subs = 1000
    fan = _interleave({
        "floor": lambda: anyio.run(bench_actors._floor_fanout, subs, messages),
        "converse": lambda: anyio.run(bench_actors._actors_fanout, subs, messages),
        "autogen": lambda: asyncio.run(ag.fanout(subs, messages_peer)),
    }, rounds)
    ours, _ = _child(f"from benchmarks.bench_actors import idle_child; idle_child({agents})")
    (theirs,) = _child(f"from benchmarks.bench_peers_autogen import idle_child; idle_child({agents_peer})")
    return {
        "peer.autogen_rt_ratio": _ratio(ask["converse"], ask["autogen"]),
        "context.peer.converse_rt_per_s": med(ask["converse"]),
        "context.peer.autogen_rt_per_s": med(ask["autogen"]),
        "context.peer.floor_rt_per_s": med(ask["floor"]),
        "context.peer.fanout_ratio": _ratio(fan["converse"], fan["autogen"]),
        "context.peer.converse_fanout_per_s": med(fan["converse"]),
        "context.peer.autogen_fanout_per_s": med(fan["autogen"]),
        "context.peer.floor_fanout_per_s": med(fan["floor"]),
        "context.peer.converse_bytes_per_agent": ours,
        "context.peer.autogen_bytes_per_agent": theirs,
    }


def debate_figures(scenario: Scenario, counts: Iterable[int], big: int, rounds: int, big_rounds: int,
                   plot: Path, fresh_from: int = 1000) -> dict[str, float]:
    """Wall time of ``counts`` simulations at once on each side; the sequential ratio at one
    simulation (``rounds`` interleaved rounds) and autogen's ratio at ``big`` (``big_rounds``);
    the plot written to ``plot``. Other counts run once; from ``fresh_from`` up, each side
    in a fresh process (a thousand simulations leave a heap behind)."""
    latency = bench_engine.LATENCY  # what bench_engine._many runs converse's model with
    walls: dict[str, dict[int, float]] = {"converse": {}, "autogen-core": {}}
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        out = iter(Path(tmp) / str(i) for i in range(1 << 30))

        def ours(n: int) -> float:
            return converse_wall(scenario, n, next(out))

        for n in sorted({*counts, big, 1}):
            if n >= fresh_from:
                (walls["converse"][n],) = _child(f"from benchmarks.bench_peers import wall_child; wall_child('converse', {n})")
                (walls["autogen-core"][n],) = _child(f"from benchmarks.bench_peers import wall_child; wall_child('autogen', {n})")
                continue
            sides: dict[str, Callable[[], float]] = {
                "converse": partial(ours, n),
                "autogen-core": partial(autogen_wall, scenario, n, latency),
            }
            if n == 1:
                sides["sequential"] = lambda: sequential_wall(scenario, latency)
            got = _interleave(sides, rounds if n == 1 else big_rounds if n == big else 1)
            for side in walls:
                walls[side][n] = statistics.median(got[side])
            if n == 1:
                figures["peer.sequential_ratio"] = _ratio(got["sequential"], got["converse"])
                figures["context.peer.wall_sequential_1"] = statistics.median(got["sequential"])
            if n == big:
                figures["peer.autogen_200sims_ratio"] = _ratio(got["autogen-core"], got["converse"])
    critical = critical_path_calls(scenario) * latency
    plot_scaling(walls, critical, scenario, latency, plot)
    figures["context.peer.critical_path_s"] = critical
    for side, name in (("converse", "converse"), ("autogen-core", "autogen")):
        figures.update({f"context.peer.wall_{name}_{n}": wall for n, wall in walls[side].items()})
    return figures


def plot_scaling(walls: dict[str, dict[int, float]], critical: float, scenario: Scenario, latency: float,
                 path: Path) -> Path:
    """Wall time against simulations at once, log-log, 900 x 540 px."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib import ticker

    w = Workload.of(scenario)
    fig, ax = plt.subplots(figsize=(9, 5.4), dpi=100)
    for (side, points), style, offset in zip(walls.items(), ("o-", "s-"), ((6, -14), (-10, 8)), strict=False):
        xs = sorted(points)
        ax.plot(xs, [points[x] for x in xs], style, label=side, linewidth=2, markersize=7)
        for x in xs:
            ax.annotate(f"{points[x]:.3g} s", (x, points[x]), textcoords="offset points", xytext=offset,
                        fontsize=9, ha="left" if offset[0] > 0 else "right")
    ax.axhline(critical, color="grey", linestyle="--", label=f"critical path ({critical:.2f} s)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    counts = sorted({x for points in walls.values() for x in points})
    ax.set_xticks(counts, [f"{x:,}" for x in counts], fontsize=11)
    ax.set_xlim(counts[0] / 1.8, counts[-1] * 1.8)
    ax.yaxis.set_major_locator(ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.yaxis.set_minor_formatter(ticker.NullFormatter())
    ax.set_xlabel("simulations at once (one process)", fontsize=12)
    ax.set_ylabel("wall time (s)", fontsize=12)
    ax.set_title(f"Debate workload: {len(w.orgs)} organisations, councils of {len(w.orgs[0].members)} x {w.rounds} "
                 f"rounds, {len(w.periods)} periods, {latency * 1000:.0f} ms a call\n"
                 f"wall time against simulations at once, {os.cpu_count()}-CPU machine", fontsize=12)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def run(quick: bool) -> dict[str, float]:
    """Every peer figure; returns ``{figure: value}`` with context figures.

    ``--quick`` keeps to about two minutes: 20,000 autogen agents for memory (100,000 full;
    its per-agent figure then carries more of the runtime's fixed cost), and the plot's
    points 1, 10 and 200 (the 200 measured for the ratio anyway) instead of 1, 10, 100,
    200 and 1,000: autogen-core alone takes about 35 s at 100 simulations and 65 s at 200.
    """
    figures = runtime_figures(
        n=20_000 if quick else 100_000, n_peer=5_000 if quick else 10_000,
        messages=20 if quick else 100, messages_peer=5 if quick else 20,
        agents=100_000, agents_peer=20_000 if quick else 100_000, rounds=3 if quick else 7,
    )
    counts = (1, 10) if quick else (1, 10, 100, 1000)
    figures |= debate_figures(bench_engine.debate_workload(), counts, big=200, rounds=1 if quick else 3,
                              big_rounds=1, plot=QUICK_FIGURE if quick else FIGURE)
    return figures
