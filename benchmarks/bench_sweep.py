"""Figures for sweeps of very many agents in one process.

- ``sweep.agentscope_1m``: AgentScope's scale benchmark. 1,000,000 agents (100,000 with
  ``--quick``), each an actor of one ``ActorSystem``, get one prompt each (a tell), make one
  call through a real ``Scheduler`` to a dummy model that answers after 1 s, and tell the
  answer to one collector actor, which sums them (AgentScope's moderator averages them).
  Figure: wall seconds from the first spawn to the collector's last answer, spawning
  included; the ideal is the model's 1 s. AgentScope reports 40 s for its 1,000,000 agents
  on four 64-core machines. Printed beside it: the seconds spent spawning
  (``sweep.agentscope_spawn_s``) and the process's peak RSS (``sweep.agentscope_rss_gb``).

Each run is a fresh process that does nothing else, and two choices of that application
are measured against the defaults, each in a run of its own (``context.sweep.default_*``):

- the collector is a gather point, so its mailbox holds every answer: with the default
  bound (1,000) most agents wait for room, each holding a worker task, to no purpose;
- the garbage collector's young generation is collected every 100,000 allocations instead
  of every 700: with a million agents and their calls in flight, the default costs about
  as much CPU again, spent rescanning the same live objects.

``context.sweep.cpu_s`` is the CPU time of the measured span: wall well above CPU means
the machine was busy with something else.

- ``sweep.overhead_ratio``: 1,000 runs (100 with ``--quick``) of the shipped ``three-labs``
  scenario on ``offline?latency=0.02`` through the real command line (``converse sweep``, in
  a fresh process: logs, transcripts, judge, ``summary.csv``, report), at the default
  ``--concurrency`` (32): wall time over the critical path of the slowest run (its dependent
  model calls: every statement in turn order, then the judge, x the latency) x
  ceil(runs / concurrency). Process start-up is inside the wall time, from bytecode as an
  installed converse starts (pip compiles a package as it installs it): the checkout's
  modules are compiled first, which a machine with ``PYTHONDONTWRITEBYTECODE`` set would
  otherwise do again in every process (about 0.17 s of each start here). Beside it,
  ``context.sweep.workers2_overhead_ratio``: the same sweep with ``--workers 2`` (its runs in
  two worker processes, each starting its own Python).
"""

from __future__ import annotations

import compileall
import gc
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import anyio
import msgspec

from actors import Actor, ActorRef, ActorSystem
from converse import CompletionRequest, CompletionResponse, Limits, Scheduler
from converse.events import ChatMessage, Usage
from converse.models._model import estimate_prompt_tokens

ENDPOINT = "dummy"
TENANT = "agentscope"
ANSWER = 7  # what the dummy model says; the collector checks the average
GC_YOUNG = 100_000  # allocations between young collections in the measuring process (default 700)


class DummyModel:
    """A ``Model`` that answers every request with the same short text after ``latency`` s."""

    spec = "dummy"

    def __init__(self, latency: float = 1.0) -> None:
        self.latency = latency
        self.response = CompletionResponse(
            text=str(ANSWER), usage=Usage(prompt_tokens=12, completion_tokens=1), model="dummy"
        )

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        await anyio.sleep(self.latency)
        return self.response


class _Prompt(msgspec.Struct, frozen=True, gc=False):
    text: str


class _Answer(msgspec.Struct, frozen=True, gc=False):
    agent: int
    value: int


class _Room:
    """What every agent shares: the model, the scheduler and the collector's ref."""

    __slots__ = ("collector", "model", "scheduler")

    def __init__(self, model: DummyModel, scheduler: Scheduler, collector: ActorRef) -> None:
        self.model, self.scheduler, self.collector = model, scheduler, collector


class _Agent(Actor):
    def __init__(self, index: int, room: _Room) -> None:
        self.index, self.room = index, room

    async def receive(self, message: _Prompt) -> None:
        room = self.room
        request = CompletionRequest(messages=[ChatMessage(role="user", content=message.text)], max_tokens=4)
        estimate = estimate_prompt_tokens(request.messages) + request.max_tokens
        response = await room.scheduler.call(
            ENDPOINT,
            TENANT,
            estimate,
            partial(room.model.complete, request),
            tokens_used=CompletionResponse.tokens_used,
        )
        await room.collector.tell(_Answer(self.index, int(response.text)))


class _Tally:
    """The collector's sums, read by the benchmark once the last answer is in."""

    __slots__ = ("answers", "cpu", "done", "finished", "seen", "total")

    def __init__(self, expected: int) -> None:
        self.seen = bytearray(expected)  # one flag per agent: each must answer exactly once
        self.answers = self.total = 0
        self.finished = self.cpu = 0.0
        self.done = anyio.Event()


class _Collector(Actor):
    """The moderator: sums the answers and notes when the last one arrived."""

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally

    async def receive(self, answer: _Answer) -> None:
        tally = self.tally
        tally.seen[answer.agent] = 1
        tally.answers += 1
        tally.total += answer.value
        if tally.answers == len(tally.seen):
            tally.finished, tally.cpu = time.perf_counter(), time.process_time()
            tally.done.set()


async def _agentscope(n: int, latency: float, gather: bool) -> dict[str, float]:
    # As the engine's default scheduler does for the offline model: no limit, no timeout.
    scheduler = Scheduler({ENDPOINT: Limits(max_concurrency=1 << 30, timeout=None)})
    model = DummyModel(latency)
    tally = _Tally(n)
    async with ActorSystem(name="agentscope") as system:
        collector = await system.spawn(partial(_Collector, tally), mailbox_size=n if gather else None)
        room = _Room(model, scheduler, collector)
        start, cpu = time.perf_counter(), time.process_time()
        agents = [await system.spawn(partial(_Agent, i, room)) for i in range(n)]
        spawned = time.perf_counter()
        prompt = _Prompt("Guess a number between 0 and 100; answer with the number only.")
        for agent in agents:
            await agent.tell(prompt)
        await tally.done.wait()
    answered = sum(tally.seen)
    if answered != n or tally.answers != n or tally.total != ANSWER * n:
        raise RuntimeError(f"{tally.answers} answers from {answered} of {n} agents, summing to {tally.total}")
    calls = scheduler.statistics().endpoints[ENDPOINT].succeeded
    return {
        "sweep.agentscope_1m": tally.finished - start,
        "sweep.agentscope_spawn_s": spawned - start,
        "sweep.agentscope_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "context.sweep.cpu_s": tally.cpu - cpu,
        "context.sweep.agents": n,
        "context.sweep.agents_answered": answered,
        "context.sweep.model_calls": calls,
        "context.sweep.mean_answer": tally.total / n,
        "context.sweep.ideal_s": latency,
    }


def agentscope(n: int, latency: float = 1.0, *, gather: bool = True) -> dict[str, float]:
    """Run AgentScope's benchmark in this process: ``n`` agents, a model ``latency`` s slow.

    ``gather``: the collector's mailbox holds all ``n`` answers (else the system's default).
    """
    return anyio.run(_agentscope, n, latency, gather, backend="asyncio")


def agentscope_child(n: int, gc_young: int | None, gather: bool) -> None:
    """Entry point of the fresh process a run is measured in (peak RSS is per process).

    ``gc_young``: allocations between young collections; None keeps the interpreter's default.
    """
    if gc_young is not None:
        gc.set_threshold(gc_young, *gc.get_threshold()[1:])
    print(msgspec.json.encode(agentscope(n, gather=gather)).decode())


def _measure(n: int, gc_young: int | None, gather: bool) -> dict[str, float]:
    code = f"from benchmarks.bench_sweep import agentscope_child; agentscope_child({n}, {gc_young}, {gather})"
    out = subprocess.run(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    figures: dict[str, float] = msgspec.json.decode(out.stdout.strip().splitlines()[-1])
    return figures


SWEEP_LATENCY = 0.02
SWEEP_CONCURRENCY = 32


def overhead(runs: int, concurrency: int = SWEEP_CONCURRENCY, workers: int = 1) -> dict[str, float]:
    """``converse sweep`` of ``runs`` runs (``--workers``: in that many processes): wall over
    the critical-path bound, and CPU per run (of every process)."""
    from converse import load_scenario

    scenario = load_scenario("three-labs")
    assert scenario.clock.end is not None
    # Statements are sequential (round robin, no councils), then the judge's one call.
    calls = (scenario.clock.end - scenario.clock.start + 1) * len(scenario.agents) + 1
    root = Path(__file__).resolve().parent.parent
    for package in ("actors", "converse"):  # as installing it would (see the module's docstring)
        compileall.compile_dir(root / package, quiet=1)
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "converse",
            "sweep",
            "three-labs",
            "--model",
            f"offline?latency={SWEEP_LATENCY}",
            "--repeats",
            str(runs),
            "--concurrency",
            str(concurrency),
            "--workers",
            str(workers),
            "--out",
            str(Path(tmp) / "sweep"),
            "-q",
        ]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=root, env={**os.environ, "PYTHONPATH": str(root)}
        )
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"converse sweep failed: {done.stderr.strip()}")
    ideal = calls * SWEEP_LATENCY * math.ceil(runs / concurrency)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {
        "sweep.overhead_ratio": wall / ideal,
        "context.sweep.overhead_ideal_s": ideal,
        "context.sweep.overhead_cpu_ms_per_run": 1000 * cpu / runs,
    }


def run(quick: bool) -> dict[str, float]:
    """Measure every sweep figure; returns ``{figure: value}`` plus context figures."""
    runs = 100 if quick else 1000
    sweep = overhead(runs)
    split = overhead(runs, workers=2)
    n = 100_000 if quick else 1_000_000
    figures = _measure(n, GC_YOUNG, gather=True)
    mailbox = _measure(n, GC_YOUNG, gather=False)  # the collector's mailbox at the system default
    collector = _measure(n, None, gather=True)  # the interpreter's garbage collector settings
    return (
        sweep
        | {
            "context.sweep.workers2_overhead_ratio": split["sweep.overhead_ratio"],
            "context.sweep.workers2_cpu_ms_per_run": split["context.sweep.overhead_cpu_ms_per_run"],
        }
        | figures
        | {
            "context.sweep.default_mailbox_s": mailbox["sweep.agentscope_1m"],
            "context.sweep.default_mailbox_cpu_s": mailbox["context.sweep.cpu_s"],
            "context.sweep.default_gc_s": collector["sweep.agentscope_1m"],
            "context.sweep.default_gc_cpu_s": collector["context.sweep.cpu_s"],
        }
    )
