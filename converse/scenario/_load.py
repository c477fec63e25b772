"""Loading a scenario: a file (or a built-in scenario's name) read, merged with what it
``extends``, overridden by ``--set``, decoded into a ``Scenario`` and checked."""

from __future__ import annotations

import functools
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from .._exceptions import ScenarioError
from ._checks import check_scenario
from ._conditions import resolve_conditions
from ._overrides import apply_override
from ._scenario import Scenario

_PATH_IN_MESSAGE = re.compile(r"^(?P<problem>.*) - at `(?P<path>[^`]*)`$", re.S)


def builtin_scenarios() -> dict[str, Path]:
    """The scenarios shipped with converse, by name (file stem)."""
    return dict(_builtin())


@functools.cache
def _builtin() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for base in _scenario_dirs():
        for path in sorted(base.glob("*.toml")):
            found.setdefault(path.stem, path)
    return found


def _scenario_dirs() -> list[Path]:
    dirs = []
    packaged = resources.files("converse").joinpath("_scenarios")
    if packaged.is_dir():
        dirs.append(Path(str(packaged)))
    checkout = Path(__file__).resolve().parents[2] / "scenarios"
    if checkout.is_dir():
        dirs.append(checkout)
    return dirs


def resolve_path(name_or_path: str | os.PathLike[str]) -> Path:
    """A scenario file path, or the path of a built-in scenario called ``name_or_path``."""
    path = Path(name_or_path)
    if path.exists() or path.suffix:
        return path
    builtin = builtin_scenarios().get(str(name_or_path))
    return builtin if builtin is not None else path


def load_scenario(source: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, merge (``extends``), override (``--set key=value``) and check a scenario file.

    Raises:
        ScenarioError: naming the file and the key path of the first problem.
    """
    path = resolve_path(source)
    key = (str(path), tuple(overrides))
    known = _loaded.get(key)
    if known is not None and all(_stamp(f) == stamp for f, stamp in known[0]):
        return known[1]  # a sweep loads the same file for each of its runs
    files: list[tuple[Path, tuple[int, int]]] = []
    raw = _read_with_extends(path, (), files)
    for item in overrides:
        apply_override(raw, item, str(path))
    scenario = scenario_from_dict(raw, str(path))
    if len(_loaded) >= 256:
        _loaded.pop(next(iter(_loaded)))
    _loaded[key] = (tuple(files), scenario)
    return scenario


# Scenarios loaded before, with the (mtime, size) of every file each was read from.
_loaded: dict[tuple[str, tuple[str, ...]], tuple[tuple[tuple[Path, tuple[int, int]], ...], Scenario]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_mtime_ns, st.st_size)


def scenario_data(source: str | os.PathLike[str]) -> dict[str, Any]:
    """A scenario file as plain data, ``extends`` and ``add_agents`` resolved, not yet checked."""
    return _read_with_extends(resolve_path(source), ())


def scenario_from_dict(raw: dict[str, Any], file: str = "<scenario>") -> Scenario:
    """Check plain data (as from TOML) and build a ``Scenario``.

    Agents and councils switched off by their ``when`` are checked, then left out.
    """
    scenario = _convert(raw, file)
    check_scenario(scenario, file)
    resolved = resolve_conditions(raw, file)
    if resolved is raw or resolved == raw:
        return scenario
    scenario = _convert(resolved, file)
    check_scenario(scenario, file)
    return scenario


def _convert(raw: dict[str, Any], file: str) -> Scenario:
    try:
        return msgspec.convert(raw, Scenario)
    except msgspec.ValidationError as exc:
        match = _PATH_IN_MESSAGE.match(str(exc))
        if match:
            raise ScenarioError(file, match["path"], _plain(match["problem"])) from None
        raise ScenarioError(file, "$", _plain(str(exc))) from None


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data, as recorded in the log (round-trips through ``scenario_from_dict``)."""
    data: dict[str, Any] = msgspec.to_builtins(scenario)
    return data


def _plain(problem: str) -> str:
    return problem.replace("`", "")


def _read_with_extends(
    path: Path, seen: tuple[Path, ...], files: list[tuple[Path, tuple[int, int]]] | None = None
) -> dict[str, Any]:
    resolved = path.resolve()
    if resolved in seen:
        chain = " -> ".join(p.name for p in (*seen, resolved))
        raise ScenarioError(str(path), "$.extends", f"extends itself in a cycle: {chain}")
    if files is not None:
        files.append((path, _stamp(path)))  # before reading: a later change is seen as one
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(str(path), "", "no such scenario file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}") from None
    parent_name = data.pop("extends", None)
    additions = data.pop("add_agents", None)
    if parent_name is None:
        if additions is not None:
            raise ScenarioError(str(path), "$.add_agents", "needs `extends` (there is nothing to add to)")
        return data
    if not isinstance(parent_name, str):
        raise ScenarioError(str(path), "$.extends", "Expected str (a path relative to this file)")
    parent_path = resolved.parent / parent_name
    if not parent_path.is_file():
        raise ScenarioError(str(path), "$.extends", f"no such scenario file: {parent_path}")
    parent = _read_with_extends(parent_path, (*seen, resolved), files)
    merged = _merge(parent, data)
    if additions is not None:
        if not isinstance(additions, list):
            raise ScenarioError(str(path), "$.add_agents", "Expected array of agent tables")
        merged["agents"] = [*merged.get("agents", []), *additions]
    return merged


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out
