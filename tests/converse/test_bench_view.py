"""The viewer benchmark's workloads at a tiny scale: the stream brings a whole run, every
live event arrives, the sweep page lists every copied run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import anyio

from _helpers import ROOT

# The benchmarks live beside the packages, not in them: import them from the repository root.
sys.path.insert(0, str(ROOT))

from benchmarks import bench_view
from converse import run_scenario


def test_the_view_benchmark_measures_what_it_says(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = anyio.run(lambda: run_scenario(bench_view.ROOT / "scenarios" / "three-labs.toml", out=runs))
    log = Path(done.events)
    streamed, floor, size = anyio.run(bench_view._stream_rounds, runs, log, 1)
    assert len(streamed) == len(floor) == 1
    assert 0 < size < log.stat().st_size  # the page is made without the prompts
    lags = bench_view._live_lag(runs, log, 3)
    assert len(lags) == 3
    assert all(0 < lag < 2 for lag in lags)  # each event arrived, after it was written
    sweep = bench_view._sweep_of(runs, log.parent, 5)

    async def group() -> dict[str, object]:
        async with bench_view.view_server(runs) as url:
            body = await bench_view._get(url, f"/api/group?path={sweep.name}")
        return json.loads(body.split(b"\r\n\r\n", 1)[1])

    assert len(anyio.run(group)["rows"]) == 5  # type: ignore[arg-type]
