"""A population of researchers: what a population run and its memory streams cost.

- ``population.1k_ratio``: ``research-population`` with five labs of 200 researchers (1,000
  in all), ten periods, on ``offline?latency=0.02``: wall time over the critical path of
  dependent calls, read from the run's own log (``critical_path``).
- ``population.10k_s``: the same five labs with 2,000 researchers each (10,000), ten periods,
  offline with no latency, in one process: wall seconds; and ``population.rss_kb``: the peak
  RSS each researcher adds, in KB (the run's peak RSS, ``VmHWM``, less that of a run of 20 a
  lab, over the researchers it adds), memory streams included.
- ``population.retrieval_us``: one retrieval (the top 10 within a 600-token budget, by
  recency, importance and relevance) from a stream of 1,000 records with the offline
  model's embeddings: microseconds per query, the best of five batches of 500 queries,
  each query a different text's embedding.

Context figures: the same over 100 and 10,000 records (how retrieval grows with a stream),
and what embedding one record's text costs the offline model.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from converse.engine._stream import MemoryStream, Retrieval
from converse.models.offline._embed import DIMS, embed

HOW = Retrieval(k=10)
BUDGET = 600
QUERIES = 500

_SUBJECTS = ("the lab", "our team", "a rival lab", "the regulator", "the safety team", "the board")
_VERBS = ("published", "found", "shipped", "delayed", "audited", "reproduced", "questioned", "funded")
_THINGS = (
    "an interpretability result", "a jailbreak of the new model", "a scaling law for agents",
    "a compute reporting rule", "an evaluation of deceptive behaviour", "a red-team exercise",
    "a paper on reward hacking", "a hiring freeze", "a model with twice the context",
    "a plan to open the weights", "an incident report", "a benchmark of autonomous replication",
)


def _text(r: random.Random) -> str:
    return f"{r.choice(_SUBJECTS)} {r.choice(_VERBS)} {r.choice(_THINGS)} in {r.choice(_THINGS)}"


def _stream(size: int, r: random.Random) -> MemoryStream:
    stream = MemoryStream(DIMS)
    for i in range(size):
        text = _text(r)
        stream.add(
            "observation", text, period=i * 20 // size, importance=r.randint(1, 10), embedding=embed(text),
            tokens=len(text) // 4 + 4,
        )
    return stream


def retrieval_us(size: int, queries: int = QUERIES, batches: int = 5) -> float:
    """Microseconds per retrieval from a stream of ``size`` records (the best batch)."""
    r = random.Random(size)
    stream = _stream(size, r)
    asked = [embed(_text(r)) for _ in range(queries)]
    best = float("inf")
    for _ in range(batches):
        start = time.perf_counter()
        for q in asked:
            stream.retrieve(q, period=20, how=HOW, budget=BUDGET)
        best = min(best, (time.perf_counter() - start) / queries)
    return best * 1e6


def embed_us(texts: int = 2000) -> float:
    r = random.Random(0)
    made = [_text(r) + f" ({i})" for i in range(texts)]  # new words: no cache hit for every one
    start = time.perf_counter()
    for text in made:
        embed(text)
    return (time.perf_counter() - start) / texts * 1e6


# Two labs beside the scenario's three, each with a council as theirs have.
FIVE_LABS = """
extends = "research-population"
name = "five-labs-population"

[judge]
enabled = false
""" + "".join(
    f"""
[[add_agents]]
name = "{lab}"
kind = "lab"
description = "{about}"

[add_agents.council]
rounds = 2
"""
    + "".join(f"""
[[add_agents.council.members]]
name = "{lab} {role}"
persona = "{persona}"
""" for role, persona in members)
    for lab, about, members in (
        ("Meta AI", "Meta's AI lab, which releases its frontier models' weights and bets on open research.", (
            ("Chief Scientist", "A contrarian who thinks the risks are overblown and openness is the safeguard."),
            ("Head of Safety", "Runs the red team for open releases and worries about what cannot be recalled."),
            ("Head of Product", "Wants the models in every app by the end of the year."),
        )),
        ("xAI", "A young lab with enormous compute and a founder who promises maximally truth-seeking AI.", (
            ("Founder", "Impatient and provocative, convinced that speed is safety."),
            ("Head of Safety", "The one safety researcher the founder listens to, some of the time."),
            ("Head of Infrastructure", "Builds the largest training cluster in the world and wants it used."),
        )),
    )
)
LATENCY = 0.02


def critical_path(events: Sequence[object], latency: float) -> float:
    """The seconds of the longest chain of dependent calls in a population run's log.

    Each period: every researcher's turn, its embedding and then its answer (the researchers
    all at once), then each lab's embedding of their work; then, at once, the councils (each
    member's line after the last) followed by the labs' statements one after another, and each
    researcher's digest of its period (an embedding, and a reflection's four calls when it is
    time for one), which must end before its next turn.
    """
    from converse.events import Embedded, LLMCall, PeriodStarted, PopulationState

    total = 0
    turns: dict[str, int] = {}  # calls of each researcher's turn this period
    briefed = 0  # a lab's embedding of its researchers' work, after them
    councils: dict[tuple[str, ...], int] = {}
    digests: dict[str, int] = {}  # calls of each researcher's digest
    statements = 0
    researching = False

    def period_done() -> int:
        leaders = max(councils.values(), default=0) + statements
        return max(turns.values(), default=0) + briefed + max(leaders, max(digests.values(), default=0))

    for event in events:
        if isinstance(event, PeriodStarted) and len(event.conversation) == 1:
            total += period_done()
            turns, briefed, councils, digests, statements, researching = {}, 0, {}, {}, 0, True
        elif isinstance(event, PopulationState):
            researching = False
        elif isinstance(event, LLMCall | Embedded):
            researcher = event.conversation[-1:] == ("research",)
            if researching:
                if researcher:
                    turns[event.actor] = turns.get(event.actor, 0) + 1
                else:
                    briefed = 1
            elif researcher:
                digests[event.actor] = digests.get(event.actor, 0) + 1
            elif isinstance(event, LLMCall) and event.purpose == "statement":
                statements += 1
            elif isinstance(event, LLMCall):
                councils[event.conversation] = councils.get(event.conversation, 0) + 1
    return (total + period_done()) * latency


def population_ratio(researchers: int = 200, periods: int = 10) -> tuple[float, float]:
    """Five labs of ``researchers`` for ``periods`` periods at ``LATENCY``: wall over the
    critical path, and the run's wall seconds."""
    import actors
    import converse

    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "five.toml"
        scenario.write_text(FIVE_LABS, encoding="utf-8")

        async def main() -> tuple[float, Path]:
            start = time.perf_counter()
            result = await converse.run_scenario(
                scenario, model=f"offline?latency={LATENCY}", out=Path(tmp) / "runs",
                overrides=[f"population.researchers={researchers}", f"clock.end={2024 + periods}"],
            )
            assert result.status == "completed", result.reason
            return time.perf_counter() - start, result.events

        wall, events = actors.run(main)
        return wall / critical_path(converse.read_events(events), LATENCY), wall


# Its peak RSS is the kernel's high-water mark of its own memory (``VmHWM``): ``ru_maxrss``
# would carry over the peak of the process that started it, which execve keeps.
_CHILD = """
import json, sys, time
from pathlib import Path
import actors, converse
scenario, out, researchers = sys.argv[1], sys.argv[2], int(sys.argv[3])
async def main():
    start = time.perf_counter()
    result = await converse.run_scenario(scenario, out=out, overrides=[f"population.researchers={researchers}"])
    assert result.status == "completed", result.reason
    return time.perf_counter() - start
wall = actors.run(main)
status = open("/proc/self/status", encoding="ascii").read()
peak = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
print(json.dumps({"wall": wall, "rss_kb": peak}))
"""


def population_scale(per_lab: int = 2000, baseline: int = 20) -> tuple[float, float]:
    """Five labs of ``per_lab`` researchers for ten periods, offline with no latency, each run
    in a process of its own: wall seconds, and the peak RSS each researcher adds over a run
    of ``baseline`` a lab, in KB."""
    root = Path(__file__).resolve().parent.parent
    measured = {}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "five.toml"
        scenario.write_text(FIVE_LABS, encoding="utf-8")
        for n in (baseline, per_lab):
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(scenario), str(Path(tmp) / f"runs{n}"), str(n)],
                capture_output=True, text=True, check=True, cwd=root,
            )
            measured[n] = json.loads(done.stdout.strip().splitlines()[-1])
    added = (measured[per_lab]["rss_kb"] - measured[baseline]["rss_kb"]) / (5 * (per_lab - baseline))
    return measured[per_lab]["wall"], added


def run(quick: bool) -> dict[str, float]:
    figures: dict[str, float] = {}
    figures["population.1k_ratio"], figures["context.population.1k_wall_s"] = population_ratio()
    figures["population.10k_s"], figures["population.rss_kb"] = population_scale()
    figures["population.retrieval_us"] = retrieval_us(1000)
    figures["context.population.retrieval_us_100"] = retrieval_us(100)
    figures["context.population.retrieval_us_10k"] = retrieval_us(10_000, queries=50 if quick else 200)
    figures["context.population.embed_us"] = embed_us()
    return figures


if __name__ == "__main__":
    for figure, value in run(quick=True).items():
        print(f"{figure:45} {value:10.1f}")
