"""A sweep's plan: the grid of dial settings x seeds, each run's id and overrides, and the
``sweep.json`` manifest that lets the same command resume it.

A grid key is one of the scenario's dials (``regulation``), ``model`` (the model spec), or
any key path of the scenario (``clock.end``, ``agents[0].council.rounds``). Values are
read as TOML (``3``, ``true``, ``"a, b"``), else as plain strings.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from .._exceptions import ConverseError, SweepError
from ..models._open import parse_spec
from ..scenario._dials import not_a_choice
from ..scenario._load import load_scenario
from ..scenario._scenario import DialValue, Scenario
from ._manifest import claim_directory as claim
from ._many import Job

__all__ = ["PlannedRun", "Sweep", "parse_grid", "plan_sweep"]

MANIFEST = "sweep.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_KNOWN_KINDS = ("offline", "openai")


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
        grid = " ".join(f"{k}={','.join(_show(v) for v in vs)}" for k, vs in self.grid) or "no grid"
        return f"{self.scenario_name}, {grid}, {self.repeats} seed(s) from {self.seed}"

    def cells(self) -> list[tuple[str, dict[str, DialValue], int]]:
        """Every run's directory name, grid cell and seed, cell by cell and seed by seed
        (what ``runs`` plans, without the scenario: a sweep's runs can be named from
        ``sweep.json`` alone)."""
        out: list[tuple[str, dict[str, DialValue], int]] = []
        taken: set[str] = set()
        keys = self.dial_names
        for index, values in enumerate(itertools.product(*(vs for _, vs in self.grid))):
            cell = dict(zip(keys, values, strict=True))
            slug = ",".join(f"{_safe(k)}={_safe(_show(v))}" for k, v in cell.items())
            if slug in taken:
                slug = f"{slug},cell={index}"
            taken.add(slug)
            seeds = range(self.seed, self.seed + self.repeats)
            out.extend((f"{slug},seed={seed}" if slug else f"seed={seed}", cell, seed) for seed in seeds)
        return out

    def runs(self, scenario: Scenario) -> list[PlannedRun]:
        """Every run, cell by cell and seed by seed (``scenario`` decides what a key means)."""
        planned: list[PlannedRun] = []
        changes: dict[int, tuple[tuple[str, ...], str | None]] = {}  # by cell (a cell's runs share it)
        for run_id, cell, seed in self.cells():
            change = changes.get(id(cell))
            if change is None:
                overrides = list(self.overrides)
                model = self.model
                for key, value in cell.items():
                    if key == "model" and key not in scenario.dials:
                        model = str(value)
                    else:
                        overrides.append(f"{_path(key, scenario)}={_toml(value)}")
                change = changes[id(cell)] = (tuple(overrides), model)
            planned.append(PlannedRun(run_id=run_id, dials=cell, seed=seed, overrides=change[0], model=change[1]))
        return planned


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
        where = f"--grid {item}"
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
        values = [_value(c.strip()) for c in cells]
        if len(set(map(_show, values))) != len(values):
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
) -> tuple[Sweep, Scenario, list[PlannedRun]]:
    """Check a sweep and list its runs; every grid cell's scenario is loaded and checked.

    Raises:
        ScenarioError: the scenario, an override, or a grid cell's scenario is invalid.
        SweepError: the grid or the repeats are wrong.
    """
    if repeats < 1:
        raise SweepError("--repeats", f"must be at least 1, not {repeats}")
    scenario = load_scenario(source, list(overrides))
    grid = parse_grid(grid_items, scenario, str(source))
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
    checked: set[tuple[str, ...]] = set()
    for run in runs:
        if run.overrides not in checked:
            checked.add(run.overrides)
            load_scenario(source, list(run.overrides))
    return sweep, scenario, runs


def claim_directory(out: Path, sweep: Sweep) -> None:
    """Make ``out`` this sweep's directory, or check that it already is.

    Raises:
        SweepError: ``out`` holds another sweep, or files that are not a sweep's.
    """
    claim(out, MANIFEST, sweep, error=SweepError, what="sweep", describe=Sweep.describe)


def _check_key(key: str, values: list[DialValue], scenario: Scenario, file: str, where: str) -> None:
    if key in scenario.dials:
        default = scenario.dials[key]
        for value in values:
            if not _same_type(value, default):
                raise SweepError(
                    where,
                    f"{_show(value)!r} is not a {type(default).__name__} like the dial's default ({_show(default)})",
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
    except ConverseError as exc:
        raise SweepError(where, str(exc)) from None
    if kind not in _KNOWN_KINDS:
        raise SweepError(where, f"model {spec!r}: unknown kind {kind!r} (known: {', '.join(_KNOWN_KINDS)})")


def _same_type(value: Any, default: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _path(key: str, scenario: Scenario) -> str:
    return f"dials.{key}" if key in scenario.dials else key


def _value(text: str) -> DialValue:
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return value if isinstance(value, str | int | float | bool) else text


def _toml(value: DialValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _show(value: DialValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "_"
