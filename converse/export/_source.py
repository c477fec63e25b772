"""What an export reads: one run (its directory, or its ``events.jsonl``) or a sweep (a
directory holding ``sweep.json``, its runs in directories named for their cell and seed).

Every log is read as ``converse replay`` reads it (``converse.log.read_events``): a regular file
only (a FIFO or a device is refused before a byte is read), every line checked, a line over
64 MiB refused, each problem a ``LogError`` naming the file and line. ``sweep.json`` and
``summary.csv`` are read as the viewer reads a small file: a regular file under the sweep's
directory, opened without following a link out, and no longer than a bound.
"""

from __future__ import annotations

import contextlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from .._exceptions import LogError, SweepError
from ..log._events import AnyEvent
from ..log._log import read_events
from ..scenario._scenario import DialValue
from ..sweeps._grid import Sweep

__all__ = [
    "MANIFEST",
    "SUMMARY",
    "RunLog",
    "RunSource",
    "SweepRun",
    "SweepSource",
    "open_source",
    "read_small_file",
]

LOG = "events.jsonl"
MANIFEST = "sweep.json"
SUMMARY = "summary.csv"
_MANIFEST_LIMIT = 1 << 20  # a manifest is a few hundred bytes; a grid of 10,000 values is well under this
_SUMMARY_LIMIT = 256 << 20  # 100,000 runs of a wide grid and many scores


@dataclass(frozen=True, slots=True)
class RunLog:
    """A run's log, read and checked: ``path`` is its ``events.jsonl``."""

    path: Path
    events: list[AnyEvent]


@dataclass(frozen=True, slots=True)
class RunSource:
    """One run: ``log`` is its ``events.jsonl``; ``directory`` the run directory, when one was given."""

    log: Path
    directory: Path | None

    def read(self) -> RunLog:
        """The run's events, checked.

        Raises:
            LogError: the log is missing, not a regular file, or holds a line that is not an event.
        """
        return RunLog(self.log, read_events(self.log))

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is one of the run's own files: its log, or any file of its directory
        (through a link or a hard link too)."""
        folders = [self.directory] if self.directory is not None else []
        return _same_as_any(path, [self.log], folders)


@dataclass(frozen=True, slots=True)
class SweepRun:
    """A run the sweep planned: its directory name, grid cell and seed, and its log (None while
    the run has not started: its directory holds no log)."""

    run_id: str
    dials: dict[str, DialValue]
    seed: int
    log: RunLog | None


@dataclass(frozen=True, slots=True)
class SweepSource:
    """A sweep's directory and its manifest."""

    directory: Path
    sweep: Sweep

    @property
    def dial_names(self) -> list[str]:
        """The grid's keys, in order (``summary.csv``'s dial columns)."""
        return self.sweep.dial_names

    def runs(self) -> Iterator[SweepRun]:
        """Every planned run, cell by cell and seed by seed (the sweep's order), each log read
        only when its turn comes, so one log at a time is held.

        Raises:
            LogError: a run's log is not a regular file, or holds a line that is not an event.
        """
        for run_id, cell, seed in self.sweep.cells():
            log = self.directory / run_id / LOG
            if not os.path.lexists(log):
                yield SweepRun(run_id, cell, seed, None)
                continue
            yield SweepRun(run_id, cell, seed, RunLog(log, read_events(log)))

    def owns(self, path: Path) -> bool:
        """Whether ``path`` is one of the sweep's own files: anything under its directory, a run's
        log anywhere (through a link or a hard link too)."""
        logs = [self.directory / run_id / LOG for run_id, _, _ in self.sweep.cells()]
        return _same_as_any(path, logs, [self.directory], walk=True)

    def summary_text(self) -> str:
        """The text of the sweep's ``summary.csv``.

        Raises:
            SweepError: there is none yet (the sweep is running, or was killed before writing
                it), or it is not a file that can be read.
        """
        path = self.directory / SUMMARY
        if not os.path.lexists(path):
            raise SweepError(
                str(path), "no such file: the sweep has not written its summary (run it again to finish)"
            )
        data = read_small_file(self.directory, SUMMARY, _SUMMARY_LIMIT)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise SweepError(str(path), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None


def open_source(path: Path) -> RunSource | SweepSource:
    """What ``path`` names: a run (a directory holding ``events.jsonl``, or a log file itself)
    or a sweep (a directory holding ``sweep.json``).

    Raises:
        LogError: nothing is there, or a directory that holds neither.
        SweepError: the sweep's manifest cannot be read, or is not one.
    """
    if not os.path.lexists(path):
        raise LogError(str(path), 0, "no such file or directory")
    if not path.is_dir():
        return RunSource(path, None)  # a log given by its name; read_events refuses what is not one
    if os.path.lexists(path / LOG):
        return RunSource(path / LOG, path)
    if os.path.lexists(path / MANIFEST):
        return SweepSource(path, _manifest(path))
    raise LogError(str(path), 0, f"not a run (no {LOG}) or a sweep (no {MANIFEST})")


def read_small_file(directory: Path, name: str, limit: int) -> bytes:
    """The whole of the regular file ``name`` in ``directory``, read as the viewer reads one.

    Raises:
        SweepError: it is missing, not a regular file, reached through a link out of
            ``directory``, or longer than ``limit`` bytes.
    """
    # The viewer's reader: converse.web is an opt-in part, imported when a sweep is read.
    from ..web._files import read_small

    root = Path(os.path.realpath(directory))
    data = read_small(root, root / name, limit)
    if data is None:
        raise SweepError(
            str(directory / name),
            f"cannot be read: not a regular file in the directory, or over {limit:,} bytes",
        )
    return data


def _manifest(directory: Path) -> Sweep:
    data = read_small_file(directory, MANIFEST, _MANIFEST_LIMIT)
    try:
        return msgspec.json.decode(data, type=Sweep)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise SweepError(str(directory / MANIFEST), f"not a sweep manifest: {exc}") from None


def _same_as_any(path: Path, files: list[Path], folders: list[Path], *, walk: bool = False) -> bool:
    """Whether ``path`` is one of ``files``, or a file in one of ``folders`` (at any depth with
    ``walk``): the same file by device and inode, so a link or a hard link to it counts."""
    try:
        target = os.stat(path)
    except (OSError, ValueError):
        return False  # nothing there yet: a new file is no file of the run's
    key = (target.st_dev, target.st_ino)
    candidates = itertools.chain(map(str, files), *(_files_in(folder, walk=walk) for folder in folders))
    for file in candidates:
        try:
            held = os.stat(file)
        except (OSError, ValueError):
            continue
        if (held.st_dev, held.st_ino) == key:
            return True
    return False


def _files_in(folder: Path, *, walk: bool) -> Iterator[str]:
    """The paths of the entries of ``folder`` (and of its subfolders, not through links, with ``walk``)."""
    if walk:
        for top, _, names in os.walk(folder):
            yield from (os.path.join(top, name) for name in names)
        return
    with contextlib.suppress(OSError):
        yield from (entry.path for entry in os.scandir(folder))
