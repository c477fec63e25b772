"""A sweep's plan: the grid of dial settings x seeds, each run's id and overrides, and the
``sweep.json`` manifest that lets the same command resume it (and a larger one grow it: ``_growth``).

A grid key is one of the scenario's dials (``regulation``), ``model`` (the model spec), or
any key path of the scenario (``clock.end``, ``agents[0].council.rounds``). Values are
read as TOML (``3``, ``true``, ``"a, b"``), else as plain strings.

A sweep has at most ``MAX_REPEATS`` (10,000) seeds per grid cell and ``MAX_RUNS`` (100,000)
runs in all: at a few dozen model calls a run, that is millions of calls, more than any
study pays for, and a mistyped ``--repeats`` is one line instead of a machine's memory. The
plan holds its grid cells; each run is made when it is asked for (``PlannedRuns``).
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import re
import tomllib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import msgspec

from .._exceptions import ConverseError, SweepError
from ..scenario._bounds import INT_MAX, INT_MIN, TOO_LARGE
from ..scenario._dials import not_a_choice
from ..scenario._load import load_scenario
from ..scenario._scenario import DialValue, Scenario
from ..scenario._spec import KINDS, parse_spec, read_spec
from ._manifest import claim_directory as claim
from ._manifest import record_manifest
from ._many import Job

__all__ = [
    "MAX_REPEATS",
    "MAX_RUNS",
    "PlannedRun",
    "PlannedRuns",
    "Sweep",
    "claim_directory",
    "parse_grid",
    "plan_sweep",
    "record_growth",
    "show_value",
]

MAX_REPEATS = 10_000
MAX_RUNS = 100_000
MANIFEST = "sweep.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


class PlannedRun(msgspec.Struct, frozen=True, kw_only=True):
    """One run of a sweep: its directory name, grid cell, seed and what it changes."""

    run_id: str
    dials: dict[str, DialValue]
    seed: int
    overrides: tuple[str, ...]
    model: str | None
    resume: bool = False  # it was interrupted: continue it from its log

    def job(self, source: str) -> Job:
        """The ``run_many`` job of this run of the scenario at ``source``."""
        return Job(
            scenario=source, seed=self.seed, overrides=self.overrides, model=self.model, run_id=self.run_id,
            tag=self, resume=self.resume,
        )


class Sweep(msgspec.Struct, frozen=True, kw_only=True):
    """What a sweep runs (the content of ``sweep.json``).

    Attributes:
        scenario: the scenario as given (a file or a built-in name).
        scenario_name: its ``name``.
        grid: each grid key with its values, in the order given.
        repeats: seeds per grid cell.
        seed: the first seed; cell runs use ``seed .. seed + repeats - 1``.
        model: the model spec of every run (unless ``model`` is a grid key).
        overrides: ``--set`` changes applied to every run.
    """

    scenario: str
    scenario_name: str
    grid: list[tuple[str, list[DialValue]]]
    repeats: int
    seed: int = 0
    model: str | None = None
    overrides: list[str] = []

    @property
    def dial_names(self) -> list[str]:
        """The grid's keys, in order."""
        return [key for key, _ in self.grid]

    def describe(self) -> str:
        """One line: scenario, grid and seeds."""
        grid = " ".join(f"{k}={','.join(show_value(v) for v in vs)}" for k, vs in self.grid) or "no grid"
        return f"{self.scenario_name}, {grid}, {self.repeats} seed(s) from {self.seed}"

    def cells(self) -> Iterator[tuple[str, dict[str, DialValue], int]]:
        """Every run's directory name, grid cell and seed, cell by cell and seed by seed
        (what ``runs`` plans, without the scenario: a sweep's runs can be named from
        ``sweep.json`` alone)."""
        for slug, cell in self._slugs():
            for seed in range(self.seed, self.seed + self.repeats):
                yield _run_id(slug, seed), cell, seed

    def _slugs(self) -> Iterator[tuple[str, dict[str, DialValue]]]:
        """Each grid cell and its part of its runs' directory names, in order."""
        taken: set[str] = set()
        keys = self.dial_names
        for index, values in enumerate(itertools.product(*(vs for _, vs in self.grid))):
            cell = dict(zip(keys, values, strict=True))
            slug = ",".join(f"{_safe(k)}={_safe(show_value(v))}" for k, v in cell.items())
            if slug in taken:
                slug = f"{slug},cell={index}"
            taken.add(slug)
            yield slug, cell

    def runs(self, scenario: Scenario) -> PlannedRuns:
        """Every run, cell by cell and seed by seed (``scenario`` decides what a key means)."""
        return PlannedRuns(self, scenario)


class PlannedRuns(Sequence[PlannedRun]):
    """A sweep's runs, cell by cell and seed by seed, each made when it is asked for: the plan
    holds its grid cells (with what each changes), not its runs."""

    def __init__(self, sweep: Sweep, scenario: Scenario) -> None:
        self._first_seed = sweep.seed
        self._repeats = sweep.repeats
        # Per cell: its directory names' part, its dials, its overrides and its model.
        self._cells: list[tuple[str, dict[str, DialValue], tuple[str, ...], str | None]] = []
        for slug, cell in sweep._slugs():
            overrides = list(sweep.overrides)
            model = sweep.model
            for key, value in cell.items():
                if key == "model" and key not in scenario.dials:
                    model = str(value)
                else:
                    overrides.append(f"{_path(key, scenario)}={_toml(value)}")
            self._cells.append((slug, cell, tuple(overrides), model))

    def cell_overrides(self) -> list[tuple[str, ...]]:
        """Each grid cell's overrides, in order (a cell's runs share them)."""
        return [overrides for _, _, overrides, _ in self._cells]

    def __len__(self) -> int:
        return len(self._cells) * self._repeats

    @overload
    def __getitem__(self, index: int) -> PlannedRun: ...

    @overload
    def __getitem__(self, index: slice) -> list[PlannedRun]: ...

    def __getitem__(self, index: int | slice) -> PlannedRun | list[PlannedRun]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("sweep run index out of range")
        cell, offset = divmod(index, self._repeats)
        return self._run(cell, self._first_seed + offset)

    def __iter__(self) -> Iterator[PlannedRun]:
        for cell in range(len(self._cells)):
            for seed in range(self._first_seed, self._first_seed + self._repeats):
                yield self._run(cell, seed)

    def _run(self, cell: int, seed: int) -> PlannedRun:
        slug, dials, overrides, model = self._cells[cell]
        return PlannedRun(run_id=_run_id(slug, seed), dials=dials, seed=seed, overrides=overrides, model=model)


def parse_grid(items: list[str], scenario: Scenario, file: str) -> list[tuple[str, list[DialValue]]]:
    """Parse ``--grid KEY=V1,V2`` items against ``scenario``.

    Raises:
        SweepError: an item without ``=``, an empty value, a repeated key, a key the
            scenario has no dial for, a value of another type than the dial's, or one
            that is not among the dial's choices.
    """
    grid: list[tuple[str, list[DialValue]]] = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        where = f"--grid {item if len(item) <= 80 else item[:60] + '...'}"
        if not sep or not key:
            raise SweepError(where, "expected KEY=V1,V2,... (e.g. regulation=none,strict)")
        if any(key == k for k, _ in grid):
            raise SweepError(where, f"{key!r} is already in the grid")
        try:
            cells = next(csv.reader([text], skipinitialspace=True), [])
        except csv.Error as exc:
            raise SweepError(where, f"cannot split the values: {exc}") from None
        if not cells or any(not c.strip() for c in cells):
            raise SweepError(where, "empty value (give each value, separated by commas)")
        values = [_value(c.strip(), where) for c in cells]
        if len(set(map(show_value, values))) != len(values):
            raise SweepError(where, "a value is given twice")
        _check_key(key, values, scenario, file, where)
        grid.append((key, values))
    return grid


def plan_sweep(
    source: str,
    grid_items: list[str],
    *,
    repeats: int,
    seed: int = 0,
    model: str | None = None,
    overrides: list[str] | tuple[str, ...] = (),
) -> tuple[Sweep, Scenario, PlannedRuns]:
    """Check a sweep and plan its runs; every grid cell's scenario is loaded and checked.

    Raises:
        ScenarioError: the scenario, an override, or a grid cell's scenario is invalid.
        SweepError: the grid or the repeats are wrong, or make more than ``MAX_RUNS`` runs.
    """
    if repeats < 1:
        raise SweepError("--repeats", f"must be at least 1, not {repeats}")
    if repeats > MAX_REPEATS:
        raise SweepError("--repeats", f"must be at most {MAX_REPEATS:,}, not {repeats:,}")
    scenario = load_scenario(source, list(overrides))
    grid = parse_grid(grid_items, scenario, str(source))
    cells = math.prod(len(values) for _, values in grid)
    if cells * repeats > MAX_RUNS:
        raise SweepError(
            "--grid" if grid else "--repeats",
            f"{cells:,} grid cells x {repeats:,} seeds is {cells * repeats:,} runs; a sweep has at most {MAX_RUNS:,}",
        )
    if model is not None:
        _check_model(model, "--model")
    sweep = Sweep(
        scenario=str(source),
        scenario_name=scenario.name,
        grid=grid,
        repeats=repeats,
        seed=seed,
        model=model,
        overrides=list(overrides),
    )
    runs = sweep.runs(scenario)
    for cell in dict.fromkeys(runs.cell_overrides()):
        load_scenario(source, list(cell))
    return sweep, scenario, runs


def claim_directory(out: Path, sweep: Sweep, *, grows: bool = False) -> Sweep | None:
    """Make ``out`` this sweep's directory, or check that it already is; with ``grows``, the
    sweep ``out`` holds is returned when it is another (``_growth.growth`` judges whether
    ``sweep`` grows it), and nothing is written.

    Raises:
        SweepError: ``out`` holds another sweep (without ``grows``), or files that are not a sweep's.
    """
    return claim(out, MANIFEST, sweep, error=SweepError, what="sweep", describe=Sweep.describe, grows=grows)


def record_growth(out: Path, sweep: Sweep, held: Sweep) -> None:
    """Write ``sweep`` as ``out``'s ``sweep.json`` in place of ``held``, which it grows (as the
    directory's one writer).

    Raises:
        SweepError: ``sweep.json`` no longer holds ``held``: nothing is written.
    """
    record_manifest(out, MANIFEST, sweep, held, error=SweepError, what="sweep")


def _check_key(key: str, values: list[DialValue], scenario: Scenario, file: str, where: str) -> None:
    if key in scenario.dials:
        default = scenario.dials[key]
        for value in values:
            if not _same_type(value, default):
                raise SweepError(
                    where,
                    f"{show_value(value)!r} is not a {type(default).__name__} like the dial's default ({show_value(default)})",
                )
            wrong = not_a_choice(key, value, scenario.dial_choices.get(key, [value]))
            if wrong is not None:
                raise SweepError(where, f"{wrong} (in {Path(file).name})")
    elif key == "model":
        for value in values:
            _check_model(str(value), where)
    elif "." not in key and "[" not in key:
        dials = ", ".join(sorted(scenario.dials)) or "none"
        raise SweepError(
            where,
            f"{Path(file).name} has no dial named {key!r} (dials: {dials}; also model, or a key path such as clock.end)",
        )


def _check_model(spec: str, where: str) -> None:
    try:
        kind = parse_spec(spec)[0]
        if kind in KINDS:
            read_spec(spec)  # its options too: a run would refuse them
    except ConverseError as exc:
        raise SweepError(where, str(exc)) from None
    if kind not in KINDS:
        raise SweepError(where, f"model {spec!r}: unknown kind {kind!r} (known: {', '.join(KINDS)})")


def _same_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _path(key: str, scenario: Scenario) -> str:
    return f"dials.{key}" if key in scenario.dials else key


def _value(text: str, where: str) -> DialValue:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    except RecursionError:  # an array nested too deep for tomllib: no single value, so text
        return text
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise SweepError(where, f"an integer is too long: {TOO_LARGE}") from None
    if isinstance(value, int) and not isinstance(value, bool) and not INT_MIN <= value <= INT_MAX:
        raise SweepError(where, TOO_LARGE)
    return value if isinstance(value, str | int | float | bool) else text


def _run_id(slug: str, seed: int) -> str:
    return f"{slug},seed={seed}" if slug else f"seed={seed}"


def _toml(value: DialValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def show_value(value: DialValue) -> str:
    """A grid value as ``--grid`` takes it and a run's directory name shows it (``true``, ``3``, text)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "_"
