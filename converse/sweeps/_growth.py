"""A sweep that grows: what a second command on a sweep's directory may change, judged against
its record (``sweep.json``) and its runs' logs before anything is written.

A sweep grows by seeds (a larger ``--repeats``) and by values of its grid keys (``--grid
labs=2,3,4`` after ``labs=2,3``, in any order): every run keeps its name and seed, a finished
one its files, and the missing runs are named and seeded as a fresh sweep of the larger grid
would name and seed them. Anything else is refused in one line naming what differs: a seed or a
value fewer, a key removed or added (the finished runs have no value for a new key, and a
directory name that would have to change), the keys in another order, another ``--seed``,
``--model`` or ``--set``, or a scenario whose contents changed since the runs were made (a run's
log records the scenario it ran: ``scenario_change``). ``converse camel generate`` grows a
dataset by the same rules (``converse.camel._growth``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .._exceptions import ConverseError, SweepError
from ..log._events import RunStarted
from ..scenario._load import scenario_from_dict, scenario_to_dict
from ..scenario._scenario import DialValue, Scenario
from ._grid import Sweep, show_value

__all__ = ["Settings", "first_difference", "growth", "run_names", "scenario_change", "settings_change"]

ONLY_GROWS = "a sweep only grows"
_SHOWN = 60  # characters of a value an error line quotes


def growth(held: Sweep, sweep: Sweep, out: Path) -> str:
    """How ``sweep`` grows ``held``, the sweep ``out`` holds, in a few words (``--repeats 2 -> 4;
    --grid labs +4,5``; empty if it has the same runs, its values in another order).

    Raises:
        SweepError: ``sweep`` is not ``held`` grown; the message names the first difference.
    """
    problem = _difference(held, sweep, out)
    if problem is None:
        names = {run for run, _, _ in sweep.cells()}
        renamed = next((run for run, _, _ in held.cells() if run not in names), None)
        if renamed is not None:  # two values that make one directory name are numbered by their place
            problem = f"--grid: the new values would rename the run {renamed}; start another --out"
    if problem is not None:
        raise SweepError(f"sweep {out}", problem)
    grown = [f"--repeats {held.repeats} -> {sweep.repeats}"] if sweep.repeats > held.repeats else []
    had = dict(held.grid)
    for key, values in sweep.grid:
        known = {_identity(v) for v in had[key]}
        added = [show_value(v) for v in values if _identity(v) not in known]
        if added:
            grown.append(f"--grid {key} +{','.join(added)}")
    return "; ".join(grown)


def _difference(held: Sweep, sweep: Sweep, out: Path) -> str | None:
    """What keeps ``sweep`` from growing ``held``, or None."""
    if sweep.scenario_name != held.scenario_name:
        return f"its runs are of the scenario {held.scenario_name!r}, not {sweep.scenario_name!r}; start another --out"
    change = settings_change(
        "sweep", (held.model, held.overrides, held.seed), (sweep.model, sweep.overrides, sweep.seed)
    )
    if change is not None:
        return f"{change}; {ONLY_GROWS}"
    if sweep.repeats < held.repeats:
        first, last = held.seed + sweep.repeats, held.seed + held.repeats - 1
        count = sum(seed >= first for _, seed in _on_disk(held, out))
        seeds = f"seed {first}" if first == last else f"seeds {first}-{last}"
        has = f" (it has {count} run{'s' * (count != 1)} of {seeds})" if count else ""
        return f"--repeats {sweep.repeats} is fewer than the sweep's {held.repeats}{has}; {ONLY_GROWS}"
    keys, held_keys = sweep.dial_names, held.dial_names
    for key, values in held.grid:
        if key not in keys:
            shown = ",".join(show_value(v) for v in values)
            return f"--grid {key} is missing (the sweep's runs have {key}={shown}); {ONLY_GROWS}"
    for key in keys:
        if key not in held_keys:
            return (
                f"--grid {key} is a new key: the sweep's runs have no value for it (a sweep grows by "
                "--repeats and by more values of its keys); start another --out"
            )
    if keys != held_keys:
        return f"--grid: the keys are in another order than the sweep's ({', '.join(held_keys)}); give them in that order"
    now = dict(sweep.grid)
    for key, values in held.grid:
        given = {_identity(v) for v in now[key]}
        lost = next((v for v in values if _identity(v) not in given), None)
        if lost is not None:
            count = sum(_identity(cell[key]) == _identity(lost) for cell, _ in _on_disk(held, out))
            has = f" (the sweep has {count} run{'s' * (count != 1)} for it)" if count else ""
            return f"--grid {key} lost the value {show_value(lost)}{has}; {ONLY_GROWS}"
    return None


Settings = tuple[str | None, Sequence[str], int]
"""What every run of a batch is made with: its ``--model`` (None: the scenario's), its ``--set``
changes and its first ``--seed``."""


def settings_change(what: str, held: Settings, now: Settings) -> str | None:
    """What differs between the settings a batch (``what``: ``sweep``, ``dataset``) was made
    with and those given ``now``, or None."""
    (held_model, held_overrides, held_seed), (model, overrides, seed) = held, now
    return (
        _model_change(held_model, model, what)
        or _overrides_change(held_overrides, overrides, what)
        or (f"--seed {seed}: the {what}'s seeds start at {held_seed}" if seed != held_seed else None)
    )


def _model_change(held: str | None, model: str | None, what: str) -> str | None:
    if model == held:
        return None
    given = f"--model {model}" if model is not None else "no --model"
    return (
        f"{given}: the {what} was made with {f'--model {held}' if held is not None else 'the scenario model'}"
    )


def _overrides_change(held: Sequence[str], overrides: Sequence[str], what: str) -> str | None:
    if list(held) == list(overrides):
        return None
    by_key = {_set_key(o): o for o in held}
    for change in overrides:
        if change not in held:
            was = by_key.get(_set_key(change))
            if was is not None and was not in overrides:
                return f"--set {change}: the {what} was made with --set {was}"
            return f"--set {change} is new: the {what} was made without it"
    for change in held:
        if change not in overrides:
            return f"--set {change} is missing: the {what} was made with it"
    return f"--set: the same changes in another order than the {what}'s ({', '.join(held)})"


def scenario_change(
    started: RunStarted, now: Scenario, *, as_then: Callable[[Scenario], Scenario] | None = None
) -> str | None:
    """What differs between the scenario a run recorded (its run-started event) and ``now``,
    the scenario it would be given today: the first key path, with both values; None if they
    are the same, or the log's scenario cannot be read (resuming the run says why).

    ``as_then`` gives the recorded scenario what a batch changes per run (a dataset's roles
    and task), so that only the rest is compared.
    """
    try:
        then = scenario_from_dict(started.scenario, "the run's log")
    except ConverseError:
        return None
    if as_then is not None:
        then = as_then(then)
    found = first_difference(scenario_to_dict(then), scenario_to_dict(now))
    if found is None:
        return None
    path, recorded, current = found
    return f"{path or 'the scenario'} is {current} now, {recorded} in its log"


def first_difference(then: Any, now: Any, path: str = "") -> tuple[str, str, str] | None:
    """The first key path (``clock.end``, ``agents[2].persona``) where two scenarios as plain
    data differ, with each one's value as text (``absent`` where one has none); None if equal."""
    if isinstance(then, dict) and isinstance(now, dict):
        for key in [*then, *(k for k in now if k not in then)]:
            where = f"{path}.{key}" if path else str(key)
            if key not in now or key not in then:
                return (
                    where,
                    _text(then[key]) if key in then else "absent",
                    _text(now[key]) if key in now else "absent",
                )
            found = first_difference(then[key], now[key], where)
            if found is not None:
                return found
        return None
    if isinstance(then, list) and isinstance(now, list):
        for i, (a, b) in enumerate(zip(then, now, strict=False)):
            found = first_difference(a, b, f"{path}[{i}]")
            if found is not None:
                return found
        if len(then) != len(now):
            return path, f"{len(then)} entries", f"{len(now)} entries"
        return None
    if type(then) is type(now) and then == now:
        return None
    return path, _text(then), _text(now)


def run_names(out: Path) -> set[str]:
    """The names of the directories in ``out`` (its runs, and whatever else it holds)."""
    try:
        with os.scandir(out) as entries:
            return {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    except OSError:
        return set()


def _on_disk(held: Sweep, out: Path) -> list[tuple[dict[str, DialValue], int]]:
    """The grid cell and seed of each of ``held``'s runs that has a directory in ``out``."""
    present = run_names(out)
    return [(cell, seed) for run, cell, seed in held.cells() if run in present]


def _identity(value: DialValue) -> tuple[type, DialValue]:
    """A grid value as told apart from others: ``3``, ``3.0`` and ``"3"`` are three values."""
    return type(value), value


def _set_key(change: str) -> str:
    return change.partition("=")[0].strip()


def _text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."
