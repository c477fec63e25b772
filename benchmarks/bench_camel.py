"""Role-play dataset generation at scale (``converse camel generate``'s engine).

- ``camel.society_ratio``: CAMEL's AI Society recipe at reduced scale: 10 assistant roles x
  10 user roles x 2 tasks per pair (asked of the model, one call per pair, as CAMEL did) =
  200 chats of up to 40 messages each, every call on ``offline?latency=0.02``, all 200 chats
  at once. Wall time of the whole generation (task lists, chats, every file of the
  dataset) divided by its critical path: one task-list call, then the longest chat's
  dependent calls (its task specifier and every message), each 20 ms. CAMEL ran one chat
  per process, one call at a time.
  The generation runs on the event loop ``converse camel generate`` runs it on (``actors.run``).

Beside it, ``context.camel.workers2_society_ratio``: the same generation with ``workers=2`` (the
chats in two processes, the second a worker process starting its own Python).

Context figures: the chats' termination mix and length (the offline model plays both
roles, so chats end the way CAMEL's did, mostly on the task-done token), and the CPU spent
per chat and per model call.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections import Counter
from pathlib import Path

import msgspec

import actors

LATENCY = 0.02
# From the lists in CAMEL's paper (Appendix E): the first ten of each.
ASSISTANTS = ["Accountant", "Actor", "Administrator", "Analyst", "Architect", "Artist", "Athlete", "Author",
              "Baker", "Biologist"]
USERS = ["Accountant", "Actor", "Artist", "Athlete", "Blogger", "Chef", "Coach", "Consultant", "Designer",
         "Developer"]


def society(assistants: int = 10, users: int = 10, tasks: int = 2, concurrency: int = 200,
            where: str | None = None, workers: int = 1) -> dict[str, float]:
    """Generate the reduced AI Society dataset in a directory under ``where`` (in ``workers``
    processes); return the ratio and its context (the CPU: this process's, with its workers')."""
    from converse.camel._generate import generate
    from converse.camel._recipe import recipe_from_files
    from converse.camel._stats import DatasetStats

    with tempfile.TemporaryDirectory(dir=where) as tmp:
        base = Path(tmp)
        (base / "assistants.txt").write_text("\n".join(ASSISTANTS[:assistants]) + "\n", encoding="utf-8")
        (base / "users.txt").write_text("\n".join(USERS[:users]) + "\n", encoding="utf-8")
        recipe = recipe_from_files(
            "camel-trading-bot", assistant_roles=base / "assistants.txt", user_roles=base / "users.txt",
            tasks=tasks, model=f"offline?latency={LATENCY}",
        )
        cpu0, started = _cpu(), time.perf_counter()
        outcome = actors.run(lambda: generate(recipe, base / "data", concurrency=concurrency, workers=workers))
        wall, cpu = time.perf_counter() - started, _cpu() - cpu0
        stats: DatasetStats = outcome.stats
        longest = 0
        for log in (base / "data" / "runs").glob("*/events.jsonl"):
            finished = msgspec.json.decode(log.read_bytes().splitlines()[-1])
            longest = max(longest, finished["llm_calls"])
        reasons = Counter(stats.reasons)
    chats = outcome.chats
    ideal = (1 + longest) * LATENCY  # the pair's task list, then the longest chat's calls in a row
    calls = stats.llm_calls + assistants * users
    figures = {
        "camel.society_ratio": wall / ideal,
        "context.camel.critical_path_s": ideal,
        "context.camel.chats": chats,
        "context.camel.completed": outcome.completed,
        "context.camel.mean_messages": stats.messages.mean,
        "context.camel.longest_chat_calls": longest,
        "context.camel.cpu_ms_per_chat": 1000 * cpu / chats,
        "context.camel.cpu_us_per_call": 1e6 * cpu / calls,
        # Every call one after another, as one process running one chat at a time would.
        "context.camel.sequential_s": calls * LATENCY,
        "context.camel.speedup_over_sequential": calls * LATENCY / wall,
    }
    for reason, count in reasons.items():
        key = reason.replace("<", "").replace(">", "").replace(": ", "_").replace(".", "_")
        figures[f"context.camel.share.{key}"] = count / max(outcome.completed, 1)
    return figures


def _cpu() -> float:
    """CPU seconds of this process, its threads included (the recorder's fsyncs), and of its
    worker processes that have ended."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def run(quick: bool) -> dict[str, float]:
    """Measure every camel figure (the same workload quick or not: it takes seconds).

    The dataset goes to memory (``/dev/shm``) where the machine has it, so the figure is the
    engine's and not the disk's: on this shared VM a run's ``fsync`` and file creation cost
    from 0.4 to 1.4 s of kernel time from one run to the next. The same workload on the
    temporary directory's disk is reported beside it.
    """
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    figures = society(where=memory)
    on_disk = society()
    split = society(where=memory, workers=2)
    figures["context.camel.society_ratio_on_disk"] = on_disk["camel.society_ratio"]
    figures["context.camel.workers2_society_ratio"] = split["camel.society_ratio"]
    figures["context.camel.workers2_cpu_ms_per_chat"] = split["context.camel.cpu_ms_per_chat"]
    return figures


if __name__ == "__main__":
    for name, value in society().items():
        print(f"{name:45} {value:.3f}")
