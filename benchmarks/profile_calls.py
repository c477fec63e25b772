"""What a model call costs the engine, counted rather than timed.

    python benchmarks/profile_calls.py instructions [--sims 5,15]
    python benchmarks/profile_calls.py opcodes [--sims 3] [--top 25]

On a shared machine a timing moves by a fifth from one minute to the next, so a change of a
few percent cannot be seen in ``engine.cpu_us_per_call``. These two counts hardly move:

- ``instructions``: the engine's debate workload (``bench_engine``: councils, 20 ms a call)
  at two sizes, each in a process under ``valgrind --tool=callgrind``; the difference in
  instructions over the difference in model calls is what one call costs, with start-up and
  imports cancelled out. Two runs of one tree agree to about 0.2%. Needs valgrind.
- ``opcodes``: the same workload with every Python opcode counted (``sys.settrace``), per
  call, by file and by function: where the calls' Python goes.

Both run the tree this file is in; to compare commits, run each commit's copy (a ``git
worktree``).
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from types import CodeType, FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _workload(sims: int, *, traced: Any = None) -> int:
    """Run ``sims`` debate simulations at once (with ``traced`` as the trace function, if
    given: set once the imports are done and the scenario is read); the model calls they made."""
    import actors
    from benchmarks.bench_engine import _many, debate_workload

    scenario = debate_workload()
    with tempfile.TemporaryDirectory() as tmp:
        sys.settrace(traced)
        try:
            _, _, results = actors.run(_many, scenario, sims, Path(tmp) / "runs")
        finally:
            sys.settrace(None)
    return sum(r.llm_calls for r in results)


def instructions(sizes: tuple[int, int]) -> dict[str, float]:
    """Instructions per model call: the difference between two sizes of the workload."""
    counted = []
    for sims in sizes:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, __file__, "--run", str(sims)],
            capture_output=True, text=True, check=False,
        )
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"profile_calls.py: the run of {sims} simulations failed: {done.stderr.strip()[-500:]}")
        counted.append((int(found[1]), json.loads(done.stdout.strip().splitlines()[-1])["calls"]))
    (small, small_calls), (large, large_calls) = counted
    return {"instructions_per_call": (large - small) / (large_calls - small_calls), "calls": large_calls - small_calls}


def opcodes(sims: int) -> tuple[float, collections.Counter[CodeType]]:
    """Python opcodes per model call, and the count of each code object (after a first,
    uncounted run of one simulation)."""
    counts: collections.Counter[CodeType] = collections.Counter()

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        frame.f_trace_opcodes = True
        if event == "opcode":
            counts[frame.f_code] += 1
        return tracer

    _workload(1)  # what a first run makes once (lazy imports, caches) is not counted
    calls = _workload(sims, traced=tracer)
    return sum(counts.values()) / calls, counts


def _where(code: CodeType) -> str:
    name = code.co_filename
    for marker in (str(ROOT) + "/", "site-packages/", "/lib/python3"):
        if marker in name:
            return name.split(marker, 1)[1].lstrip("0123456789./")
    return name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("count", nargs="?", choices=("instructions", "opcodes"))
    parser.add_argument("--sims", help="simulations: two sizes for instructions (5,15), one for opcodes (3)")
    parser.add_argument("--top", type=int, default=25, help="files and functions to list (opcodes)")
    parser.add_argument("--run", type=int, help=argparse.SUPPRESS)  # a child under callgrind
    args = parser.parse_args(argv)
    if args.run is not None:
        print(json.dumps({"calls": _workload(args.run)}))
        return 0
    if args.count is None:
        parser.error("say what to count: instructions or opcodes")
    if args.count == "instructions":
        try:
            sizes = tuple(int(n) for n in (args.sims or "5,15").split(","))
        except ValueError:
            parser.error(f"--sims takes two sizes, smaller first: 5,15 (not {args.sims!r})")
        if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
            parser.error("--sims takes two sizes, smaller first: 5,15")
        if shutil.which("valgrind") is None:
            parser.exit(2, "profile_calls.py: counting instructions needs valgrind (apt-get install valgrind)\n")
        result = instructions((sizes[0], sizes[1]))
        print(f"{result['instructions_per_call']:,.0f} instructions per model call "
              f"(over {result['calls']:,} calls between {sizes[0]} and {sizes[1]} simulations)")
        return 0
    if not (args.sims or "3").isdigit() or int(args.sims or "3") < 1:
        parser.error(f"--sims takes one size for opcodes: 3 (not {args.sims!r})")
    per_call, counts = opcodes(int(args.sims or "3"))
    calls = sum(counts.values()) / per_call
    print(f"{per_call:,.0f} Python opcodes per model call")
    by_file: collections.Counter[str] = collections.Counter()
    for code, n in counts.items():
        by_file[_where(code)] += n
    print("\nby file:")
    for name, n in by_file.most_common(args.top):
        print(f"{n / calls:8,.0f}  {name}")
    print("\nby function:")
    for code, n in counts.most_common(args.top):
        print(f"{n / calls:8,.0f}  {_where(code)}:{code.co_firstlineno} {code.co_name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
