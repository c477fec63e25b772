"""What the viewer shows of a directory: its runs, sweeps and datasets, found on disk.

A *run* is a directory holding ``events.jsonl`` whose first line is a run-started event. A
*sweep* is a directory holding ``sweep.json``, a *dataset* one holding ``generate.json``;
the runs beneath them are theirs. Everything is read from the files each time they change
(a run's row is cached by its log's size and modification time), so the list follows runs
that are still being written.

Every file is read through ``_files.open_under`` (a regular file under the root, or
nothing) and in bounded steps: a finished run's row from the end of its log (at most a few
MB of it), an unfinished one's by going through its log a chunk at a time.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from ..log._events import Judged, PeriodStarted, RunFinished, RunStarted
from ..sweeps._grid import Sweep
from ..sweeps._strips import strips
from ..sweeps._summary_csv import SweepRow, scores_of
from ..sweeps._sweep import RunEnd, _finish_of
from ..transcript._title import run_title
from ._files import EXHAUSTED, OutsideRoot, file_size, is_file, open_under, read_small
from ._reading import LINE_LIMIT, CallSeen, Lines, event_decoder, read_batches, view_decoder

__all__ = ["Catalog"]

_DEPTH = 4  # how deep under the root runs are looked for
_LIVE = 120.0  # a log written to within this many seconds, and not finished, is "running"
_SKIP = {"node_modules", "__pycache__", "plots", "chat", "tasks", "metadata"}
_TAIL = 1 << 16  # the end of a log first read for its run-finished event, then 8 times more...
_TAILS = 3  # ...at most this many times (64 KiB, 512 KiB, 4 MiB): then the whole log, a chunk at a time


@dataclass(slots=True)
class _Cached:
    stamp: tuple[int, int]
    row: dict[str, Any]


class Catalog:
    """The runs, sweeps and datasets under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._rows: dict[Path, _Cached] = {}
        self._runs: set[Path] = set()  # folders known to hold a run's log (a log's first line never changes)

    def relative(self, path: Path) -> str:
        """``path`` relative to the root, as the page names it (``.`` for the root itself)."""
        return path.relative_to(self.root).as_posix() if path != self.root else "."

    def index(self) -> dict[str, Any]:
        """Every group, and every run that belongs to none."""
        runs, groups = self._walk()
        group_rows = [self._group_row(path, kind, members) for path, (kind, members) in groups.items()]
        return {
            "root": str(self.root),
            "groups": group_rows,
            "runs": [self.run_row(path) for path in runs],
        }

    def group(self, path: Path) -> dict[str, Any]:
        """One sweep or dataset: its dials, one row per run, and the strip plots of each score
        by each dial (``charts``: the numbers the page draws)."""
        kind = _group_kind(path)
        if kind is None:
            raise FileNotFoundError(path)
        runs: list[Path] = []
        self._collect(path, 0, runs, None)
        spec = self._read_json(path / ("sweep.json" if kind == "sweep" else "generate.json"))
        dials: list[str] = []
        cells: dict[str, dict[str, Any]] = {}
        if kind == "sweep":
            try:
                sweep = msgspec.convert(spec, Sweep)
            except msgspec.ValidationError:
                sweep = None  # not a manifest this version wrote: runs without their dials
            if sweep is not None:
                dials = sweep.dial_names
                cells = {run_id: cell for run_id, cell, _ in sweep.cells()}
        rows = []
        for run in runs:
            row = self.run_row(run)
            row["dials"] = cells.get(run.name, {})
            rows.append(row)
        # The charts take the runs in the sweep's order (cell by cell, seed by seed), as its report does.
        place = {name: i for i, name in enumerate(cells)}
        planned = [row for _, row in sorted(zip(runs, rows, strict=True), key=lambda p: place.get(p[0].name, len(place)))]
        columns = list(dict.fromkeys(c for row in rows for c in row["scores"]))
        return {
            "path": self.relative(path),
            "kind": kind,
            "name": path.name,
            "scenario": spec.get("scenario_name") or spec.get("scenario") or (rows[0]["scenario"] if rows else ""),
            "spec": spec,
            "dials": dials,
            "columns": columns,
            "rows": rows,
            "charts": _charts(planned, dials, columns),
        }

    def run_row(self, path: Path) -> dict[str, Any]:
        """A run's line in a list: scenario, status, periods, tokens, cost, scores."""
        try:
            with open_under(self.root, path / "events.jsonl") as fd:
                stat = os.fstat(fd)
                stamp = (stat.st_size, stat.st_mtime_ns)
                cached = self._rows.get(path)
                if cached is None or cached.stamp != stamp:
                    cached = self._rows[path] = _Cached(stamp, self._read_row(path, fd, stat.st_size))
        except (OutsideRoot, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in EXHAUSTED:
                raise
            return {"path": self.relative(path), "status": "missing", "scenario": "", "scores": {}}
        row = dict(cached.row)
        if row["status"] == "unfinished" and time.time() - stat.st_mtime < _LIVE:
            row["status"] = "running"
        return row

    def _read_row(self, path: Path, fd: int, size: int) -> dict[str, Any]:
        started = _first_event(fd)
        row: dict[str, Any] = {
            "path": self.relative(path),
            "run": started.run if started else path.name,
            "scenario": started.scenario_name if started else "",
            "title": run_title(started) if started and started.scenario.get("title") else "",
            "kind": "roleplay" if started and started.scenario.get("roleplay") is not None else "lab",
            "model": started.model if started else "",
            "seed": started.seed if started else None,
            "started_at": started.started_at if started else "",
            "status": "unfinished",
            "reason": "",
            "periods": 0,
            "llm_calls": 0,
            "tokens": 0,
            "cost_usd": 0.0,
            "scores": {},
            "judge_error": "",  # why the judge of a completed run gave no verdict
        }
        end = _run_end(fd, size)
        if end is not None:
            finished, judged, judge_error = end
            row.update(
                status=finished.status,
                reason=finished.reason,
                periods=finished.periods,
                llm_calls=finished.llm_calls,
                tokens=finished.prompt_tokens + finished.completion_tokens,
                cost_usd=finished.cost_usd,
                scores=scores_of(judged.scores) if judged else {},
                judge_error=judge_error or "",
            )
            return row
        # Unfinished: count what the log holds so far.
        for event in _events(fd):
            if type(event) is CallSeen:
                row["llm_calls"] += 1
                row["tokens"] += event.usage.total_tokens
            elif type(event) is PeriodStarted and len(event.conversation) == 1:
                row["periods"] += 1
            elif type(event) is Judged:
                row["scores"] = scores_of(event.scores)
            elif type(event) is RunFinished:  # finished, but not at the end: a damaged log
                row["status"] = event.status
        return row

    def _walk(self) -> tuple[list[Path], dict[Path, tuple[str, list[Path]]]]:
        runs: list[Path] = []
        groups: dict[Path, tuple[str, list[Path]]] = {}
        self._collect(self.root, 0, runs, groups)
        return runs, groups

    def _collect(
        self, path: Path, depth: int, runs: list[Path], groups: dict[Path, tuple[str, list[Path]]] | None
    ) -> None:
        """Runs under ``path`` into ``runs``; a group found below ``path`` takes its own runs
        into ``groups`` (``groups`` None: collecting one group's runs, which skips its own
        folders of plots, chats, tasks and metadata)."""
        if path in self._runs or self._is_run(path):
            self._runs.add(path)
            runs.append(path)
            return
        if groups is not None:  # the root itself may be a sweep or a dataset
            kind = _group_kind(path)
            if kind is not None:
                members: list[Path] = []
                self._collect(path, 0, members, None)
                groups[path] = (kind, members)
                return
        if depth >= _DEPTH:
            return
        try:
            entries = sorted(os.scandir(path), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith(".") or (groups is None and entry.name in _SKIP):
                continue
            try:
                if not entry.is_dir():
                    continue
            except OSError:
                continue
            child = Path(os.path.realpath(entry.path))  # a link in a loop stays unresolved, and is no directory
            if child.is_relative_to(self.root) and child != self.root:
                self._collect(child, depth + 1, runs, groups)

    def _group_row(self, path: Path, kind: str, members: list[Path]) -> dict[str, Any]:
        rows = [self.run_row(p) for p in members]
        statuses: dict[str, int] = {}
        for row in rows:
            statuses[row["status"]] = statuses.get(row["status"], 0) + 1
        spec = self._read_json(path / ("sweep.json" if kind == "sweep" else "generate.json"))
        return {
            "path": self.relative(path),
            "kind": kind,
            "name": path.name,
            "scenario": spec.get("scenario") or (rows[0]["scenario"] if rows else ""),
            "runs": len(rows),
            "statuses": statuses,
            "tokens": sum(r.get("tokens", 0) for r in rows),
            "cost_usd": sum(r.get("cost_usd", 0.0) for r in rows),
        }

    def _is_run(self, path: Path) -> bool:
        """Whether ``path`` holds a run's log: a regular file whose first line is a run-started event."""
        try:
            with open_under(self.root, path / "events.jsonl") as fd:
                return _first_event(fd) is not None
        except (OutsideRoot, OSError) as exc:
            if isinstance(exc, OSError) and exc.errno in EXHAUSTED:
                raise
            return False

    def _read_json(self, path: Path) -> dict[str, Any]:
        data = read_small(self.root, path, LINE_LIMIT)
        try:
            value = json.loads(data) if data is not None else None
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


def _charts(rows: list[dict[str, Any]], dials: list[str], columns: list[str]) -> list[dict[str, Any]]:
    """Each score's strip plot by each dial, for the scores some completed run gave: the
    report's statistics (``converse.sweeps``'s ``strips``), for the page to draw."""
    runs = [
        SweepRow(
            run=row.get("run", row["path"]),
            dials=row["dials"],
            seed=row.get("seed") or 0,
            status=row["status"],
            scores=row["scores"],
        )
        for row in rows
    ]
    charts = []
    for column in columns:
        by_dial = [(dial, strips(runs, dial, column)) for dial in dials]
        if any(strip.points for _, shown in by_dial for strip in shown):
            charts += [{"score": column, "dial": dial, "strips": msgspec.to_builtins(shown)} for dial, shown in by_dial]
    return charts


def _group_kind(path: Path) -> str | None:
    if is_file(path / "sweep.json"):
        return "sweep"
    if is_file(path / "generate.json"):
        return "dataset"
    return None


def _first_event(fd: int) -> RunStarted | None:
    """The run-started event on the first line of the log open at ``fd`` (None if that line
    is not one, is not whole, or is longer than the viewer reads)."""
    lines = Lines(chunk=_TAIL)
    for data, _, _ in lines.steps(fd, file_size(fd)):
        if data:
            try:
                event = event_decoder.decode(data[: data.find(b"\n")])
            except msgspec.DecodeError:
                return None
            return event if type(event) is RunStarted else None
        if lines.passing:
            return None
    return None


def _run_end(fd: int, size: int) -> RunEnd | None:
    """How the run ended, from the end of its log (as ``converse.sweeps``' ``read_run``
    reads it, but from a descriptor and from at most the last few MB); None if it did not
    finish, or if its verdict was not found that near the end."""
    window = _TAIL
    for _ in range(_TAILS):
        start = max(0, size - window)
        lines = os.pread(fd, size - start, start).split(b"\n")
        found = _finish_of(lines[1:] if start > 0 else lines)  # the first may be cut
        if isinstance(found, RunEnd):
            return found
        if found == "unfinished" or start == 0:
            return None
        window *= 8
    return None


def _events(fd: int) -> Iterator[Any]:
    """Every whole, readable line of the log open at ``fd``, without the prompts and answers
    of its calls (a torn, damaged or overlong line is skipped)."""
    for events, _ in read_batches(fd, view_decoder):
        yield from events
