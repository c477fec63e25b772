"""The viewer (``converse view``): how fast a run reaches the page, and how soon a live event does.

- ``view.stream_ratio``: the whole of the shipped long run (``five-orgs-long``: a 10 MB log,
  1,799 model calls, 250 statements) through ``/api/stream`` over HTTP on 127.0.0.1, read by
  a socket client until ``event: end``, over reading and decoding the same log with
  ``read_events`` (what any viewer must at least do). Median of interleaved rounds.
- ``view.live_lag_ratio``: a run's log grows by one event at a time, 0.274 s apart (out of
  step with the viewer's polling); the median time from an event's write to its items reaching
  a connected stream client, over the viewer's poll interval (0.2 s). Half the interval is
  the expected wait for the next look; more is the viewer's own cost.

Context figures: the same two in absolute terms, the stream's size, and the sweep page
(``/api/group``) of a sweep of 1,000 runs (200 quick), cold (each log's head and tail read)
and warm (rows cached by size and modification time).
"""

from __future__ import annotations

import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio

import actors
from converse import read_events, run_scenario
from converse.web import view_server

ROOT = Path(__file__).resolve().parent.parent
POLL = 0.2
SPACING = POLL * 1.37  # out of step with the polls, so writes land at every phase of the interval


async def _get(url: str, target: str, until: bytes | None = None) -> bytes:
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    async with await anyio.connect_tcp(parts.hostname, parts.port) as stream:
        await stream.send(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while True:
            try:
                chunk = await stream.receive(1 << 20)
            except (anyio.EndOfStream, anyio.BrokenResourceError):
                break
            chunks.append(chunk)
            if until is not None and until in chunk[-64:]:
                break
        return b"".join(chunks)


async def _stream_rounds(runs: Path, log: Path, rounds: int) -> tuple[list[float], list[float], int]:
    streamed, floor, size = [], [], 0
    async with view_server(runs, poll=POLL) as url:
        for _ in range(rounds):
            started = time.perf_counter()
            body = await _get(url, f"/api/stream?path={log.parent.name}", until=b"event: end")
            streamed.append(time.perf_counter() - started)
            size = len(body)
            started = time.perf_counter()
            read_events(log)
            floor.append(time.perf_counter() - started)
    return streamed, floor, size


def _live_lag(runs: Path, source: Path, events: int) -> list[float]:
    """Each of ``events`` appended events' time from its write to a stream client."""
    lines = source.read_bytes().splitlines(keepends=True)
    run = runs / "live"
    run.mkdir()
    log = run / "events.jsonl"
    log.write_bytes(b"".join(lines[:50]))
    return actors.run(_follow, runs, log, lines[50 : 50 + events])


async def _follow(runs: Path, log: Path, lines: list[bytes]) -> list[float]:
    events = len(lines)
    written: list[float] = []
    arrived: list[float] = []
    async with view_server(runs, poll=POLL) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        async with await anyio.connect_tcp(parts.hostname, parts.port) as stream:
            await stream.send(f"GET /api/stream?path=live HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
            buffer = b""
            while b"event: live" not in buffer:  # the first 50 events are in; what follows is live
                buffer += await stream.receive()

            async def write() -> None:
                async with await anyio.open_file(log, "ab") as f:
                    for line in lines:
                        await anyio.sleep(SPACING)
                        await f.write(line)
                        await f.flush()
                        written.append(time.perf_counter())

            async with anyio.create_task_group() as tg:
                tg.start_soon(write)
                pending = b""
                while len(arrived) < events:
                    pending += await stream.receive()
                    now = time.perf_counter()
                    *whole, pending = pending.split(b"\n\n")
                    arrived += [now for chunk in whole if chunk.startswith(b"event: items")]
    return [a - w for a, w in zip(arrived, written, strict=True)]


def _sweep_of(runs: Path, source_run: Path, count: int) -> Path:
    sweep = runs / "big-sweep"
    sweep.mkdir()
    (sweep / "sweep.json").write_text(json.dumps({"scenario": "three-labs", "grid": [["seed", list(range(count))]]}))
    for i in range(count):
        shutil.copytree(source_run, sweep / f"seed={i}")
    return sweep


def run(quick: bool) -> dict[str, float]:
    """Measure the viewer's figures."""
    memory = "/dev/shm" if Path("/dev/shm").is_dir() else None
    with tempfile.TemporaryDirectory(dir=memory) as tmp:
        runs = Path(tmp) / "runs"
        long_run = actors.run(lambda: run_scenario(ROOT / "scenarios" / "five-orgs-long.toml", out=runs))
        small = actors.run(lambda: run_scenario(ROOT / "scenarios" / "three-labs.toml", out=Path(tmp) / "small"))
        log = Path(long_run.events)
        streamed, floor, size = actors.run(_stream_rounds, runs, log, 3 if quick else 7)
        lags = _live_lag(runs, log, 10 if quick else 30)
        count = 200 if quick else 1000
        _sweep_of(runs, Path(small.events).parent, count)

        async def group() -> tuple[float, float]:
            async with view_server(runs) as url:
                started = time.perf_counter()
                body = await _get(url, "/api/group?path=big-sweep")
                cold = time.perf_counter() - started
                assert len(json.loads(body.split(b"\r\n\r\n", 1)[1])["rows"]) == count
                started = time.perf_counter()
                await _get(url, "/api/group?path=big-sweep")
                return cold, time.perf_counter() - started

        cold, warm = actors.run(group)
        log_mb = log.stat().st_size / 1e6
    ratios = [s / f for s, f in zip(streamed, floor, strict=True)]
    return {
        "view.stream_ratio": statistics.median(ratios),
        "view.live_lag_ratio": statistics.median(lags) / POLL,
        "context.view.stream_s": statistics.median(streamed),
        "context.view.read_events_s": statistics.median(floor),
        "context.view.log_mb": log_mb,
        "context.view.stream_mb": size / 1e6,
        "context.view.live_lag_median_ms": statistics.median(lags) * 1000,
        "context.view.live_lag_max_ms": max(lags) * 1000,
        "context.view.sweep_runs": count,
        "context.view.sweep_page_cold_ms": cold * 1000,
        "context.view.sweep_page_warm_ms": warm * 1000,
    }
