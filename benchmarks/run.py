"""Run every benchmark and print its figures as a table (and, with --json, write them).

    python benchmarks/run.py [--quick] [--only actors,engine,log] [--json FILE]

Every figure is a ratio or a rate measured in this one run, beside its baseline (the raw
anyio floor, the critical path, a sequential run), never a bare absolute time judged
against a fixed number. ``--quick`` shrinks the workloads to finish in a few minutes on a
2-core machine; the full run is what benchmarks/README.md reports.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import (
    bench_actors,
    bench_camel,
    bench_engine,
    bench_memory,
    bench_peers,
    bench_population,
    bench_sched,
    bench_sweep,
    bench_view,
)

# figure -> (comparison, target, what it measures)
TARGETS: dict[str, tuple[str, float, str]] = {
    "actors.ask_rt_ratio": (">=", 0.8, "ask round trips/s over the raw anyio ping-pong floor"),
    "actors.fanout_ratio": (">=", 0.8, "bus deliveries/s to 1,000 subscribers over the raw floor"),
    "actors.idle_bytes": ("<=", 1500, "RSS bytes per idle actor (1,000,000 actors; 100,000 quick)"),
    "actors.spawn_per_s": (">=", 200_000, "actors spawned per second"),
    "engine.debate_ratio": ("<=", 1.05, "one council simulation: wall time over the critical path"),
    "engine.concurrent_ratio": ("<=", 1.3, "1,000 simulations at once (100 quick): wall over critical path"),
    "engine.cpu_us_per_call": ("<=", 60, "CPU microseconds per model call with 1,000 simulations (100 quick)"),
    "log.write_ev_per_s": (">=", 600_000, "events/s through the recorder actor onto disk"),
    "log.replay_ev_per_s": (">=", 600_000, "events/s from log file to Markdown transcript"),
    "sched.budget_use": (">=", 0.95, "100 simulations against a budgeted server: throughput over the budget"),
    "sched.overhead_us": ("<=", 10, "scheduler CPU microseconds per call with no limit hit"),
    "sweep.overhead_ratio": ("<=", 1.2, "1,000 runs (100 quick) through converse sweep: wall over the critical-path bound"),
    "camel.society_ratio": ("<=", 1.2, "200 role-play chats (10 x 10 roles x 2 tasks) at once: wall over the longest chat's critical path"),
    "sweep.agentscope_1m": ("<=", 60, "1,000,000 agents (100,000 quick), one 1 s dummy call each, one process: wall seconds"),
    "memory.prompt_growth": ("<=", 1.3, "long scenario, window memory: median prompt tokens of the last 10 periods over periods 5-15"),
    "peer.autogen_rt_ratio": (">=", 20, "ask round trips/s: converse actors over autogen-core's send_message, same echo, interleaved"),
    "peer.autogen_200sims_ratio": (">=", 6, "200 debate simulations at once: autogen-core's wall over converse's"),
    "peer.sequential_ratio": (">=", 1, "one debate simulation: the original's one-call-at-a-time loop's wall over converse's"),
    "view.stream_ratio": ("<=", 3, "the long run's whole page through /api/stream over HTTP, over read_events of its log"),
    "view.live_lag_ratio": ("<=", 1, "an appended event's median time to a stream client, over the viewer's poll interval"),
    "population.1k_ratio": ("<=", 1.5, "1,000 researchers in 5 labs, 10 periods, offline?latency=0.02: wall over the critical path"),
    "population.10k_s": ("<=", 300, "10,000 researchers in 5 labs, 10 periods, offline, one process: wall seconds"),
    "population.rss_kb": ("<=", 50, "peak RSS each of those 10,000 researchers adds, memory streams included: KB"),
    "population.retrieval_us": ("<=", 200, "top 10 of a 1,000-record memory stream by recency, importance and relevance: µs per query"),
}

SUITES: dict[str, Callable[[bool], dict[str, float]]] = {
    "actors": bench_actors.run,
    "engine": bench_engine.engine_figures,
    "log": bench_engine.log_figures,
    "sched": bench_sched.run,
    "sweep": bench_sweep.run,
    "camel": bench_camel.run,
    "memory": bench_memory.run,
    "peers": bench_peers.run,  # needs the [bench] extra (autogen-core, matplotlib)
    "view": bench_view.run,
    "population": bench_population.run,
}


def met(figure: str, value: float) -> bool | None:
    if figure not in TARGETS:
        return None
    op, target, _ = TARGETS[figure]
    return value >= target if op == ">=" else value <= target


def fmt(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller workloads (a few minutes on 2 cores)")
    parser.add_argument("--only", default=",".join(SUITES), help="comma-separated suites: " + ", ".join(SUITES))
    parser.add_argument("--json", type=Path, help="also write {figure: value} and the targets here")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # run one suite, print its figures as JSON
    args = parser.parse_args(argv)
    # Only warnings and errors from the library: the table is what this prints.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.child:
        print(json.dumps(SUITES[args.child](args.quick)))
        return 0
    figures: dict[str, float] = {}
    started = time.perf_counter()
    for name in args.only.split(","):
        if name not in SUITES:
            parser.error(f"unknown suite {name!r}; choose from {', '.join(SUITES)}")
        print(f"running {name} ...", file=sys.stderr, flush=True)
        # Each suite in a fresh process: a thousand simulations leave a heap behind that
        # would slow whatever is measured after them.
        child = [sys.executable, __file__, "--child", name, *(["--quick"] if args.quick else [])]
        done = subprocess.run(child, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return done.returncode
        figures.update(json.loads(done.stdout.strip().splitlines()[-1]))
    elapsed = time.perf_counter() - started
    print(f"{'figure':34} {'value':>14}  {'target':>12}  met")
    for figure, value in figures.items():
        if figure in TARGETS:
            op, target, _ = TARGETS[figure]
            print(f"{figure:34} {fmt(value):>14}  {op + ' ' + fmt(target):>12}  {'yes' if met(figure, value) else 'NO'}")
    print()
    for figure, value in figures.items():
        if figure not in TARGETS:
            print(f"{figure:34} {fmt(value):>14}")
    print(f"\n{'quick' if args.quick else 'full'} run, {elapsed:.0f} s, {platform.python_implementation()} "
          f"{platform.python_version()} on {platform.machine()}")
    if args.json:
        document = {
            **figures,
            "_targets": {f: {"op": op, "target": t, "met": met(f, figures[f]), "what": what}
                         for f, (op, t, what) in TARGETS.items() if f in figures},
            "_run": {"quick": args.quick, "seconds": round(elapsed, 1), "python": platform.python_version()},
        }
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
