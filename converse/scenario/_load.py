"""Loading a scenario: a file (or a built-in scenario's name) read, merged with what it
``extends``, overridden by ``--set``, decoded into a ``Scenario`` and checked."""

from __future__ import annotations

import difflib
import functools
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

import msgspec

from .._exceptions import ScenarioError
from ._bounds import MAX_EXTENDS, TOO_DEEP, TOO_LARGE, shape_problems, too_deep_keys
from ._checks import check_scenario
from ._conditions import resolve_conditions
from ._decode import decode
from ._dials import join_dials, set_dial, split_dials
from ._overrides import apply_override
from ._problems import Problems
from ._scenario import Scenario


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


def builtin_scenario(name: str) -> Path:
    """The file of the built-in scenario called ``name``.

    Raises:
        ScenarioError: there is none of that name (the nearest names are suggested).
    """
    path = builtin_scenarios().get(name)
    if path is None:
        raise ScenarioError(name, "", f"no built-in scenario of that name{_suggest(name)}")
    return path


def starter_text() -> str:
    """The commented starting scenario that ``converse new`` writes (the guide's first example)."""
    return resources.files("converse.scenario").joinpath("starter.toml").read_text(encoding="utf-8")


def load_scenario(source: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()) -> Scenario:
    """Read, merge (``extends``), override (``--set key=value``) and check a scenario file.

    Raises:
        ScenarioError: naming the file and the key path of the first problem
            (``scenario_problems`` lists them all).
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


def scenario_problems(
    source: str | os.PathLike[str], overrides: list[str] | tuple[str, ...] = ()
) -> list[ScenarioError]:
    """Every problem of a scenario file with its overrides, in the order ``load_scenario``
    would meet them; empty if it loads. A file that cannot be read, or whose ``extends``
    cannot, is one problem."""
    path = resolve_path(source)
    try:
        raw = _read_with_extends(path, ())
    except ScenarioError as err:
        return [err]
    problems = Problems(str(path))
    for item in overrides:
        try:
            apply_override(raw, item, str(path))
        except ScenarioError as err:
            problems.record(err)
    _build(raw, problems)
    return problems.found


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

    Raises:
        ScenarioError: naming ``file`` and the key path of the first problem.
    """
    problems = Problems(file)
    scenario = _build(raw, problems)
    first = problems.first()
    if first is not None:
        raise first
    assert scenario is not None
    return scenario


def _build(raw: dict[str, Any], problems: Problems) -> Scenario | None:
    """The scenario of ``raw``, checked, with what its conditions switch off left out; None
    when ``problems`` holds any."""
    deep = False
    for at, problem in shape_problems(raw):
        problems.drop(at, at, problem)
        deep |= problem == TOO_DEEP
    if deep:  # what follows walks the data recursively
        return None
    data = split_dials(raw, problems)
    scenario = decode(data, problems)
    if scenario is not None:
        check_scenario(scenario, problems)
    if problems.found or scenario is None:
        return None
    try:
        resolved = resolve_conditions(data, problems.file)
    except ScenarioError as err:
        problems.record(err)
        return None
    if resolved == data:
        return scenario
    scenario = decode(resolved, problems)
    if scenario is not None:
        check_scenario(scenario, problems)
    return None if problems.found else scenario


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as plain data, as recorded in the log (round-trips through ``scenario_from_dict``)."""
    data: dict[str, Any] = msgspec.to_builtins(scenario)
    data["dials"] = join_dials(data["dials"], data.pop("dial_choices"))
    return data


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
        raise ScenarioError(str(path), "", f"no such scenario file{_suggest_for(path)}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc}") from None
    data = _parse(text, path)
    parent_name = data.pop("extends", None)
    additions = data.pop("add_agents", None)
    if parent_name is None:
        if additions is not None:
            raise ScenarioError(str(path), "$.add_agents", "needs `extends` (there is nothing to add to)")
        return data
    if not isinstance(parent_name, str):
        raise ScenarioError(str(path), "$.extends", "Expected str (a built-in scenario's name, or a path relative to this file)")
    if len(seen) + 1 >= MAX_EXTENDS:
        raise ScenarioError(str(path), "$.extends", f"more than {MAX_EXTENDS} files extend one another in one chain")
    parent_path = _parent(resolved.parent, parent_name, path)
    parent = _read_with_extends(parent_path, (*seen, resolved), files)
    merged = _merge(parent, data)
    if additions is not None:
        if not isinstance(additions, list):
            raise ScenarioError(str(path), "$.add_agents", "Expected array of agent tables")
        merged["agents"] = [*merged.get("agents", []), *additions]
    return merged


def _parse(text: str, path: Path) -> dict[str, Any]:
    """A file's TOML, nested no deeper than ``MAX_DEPTH`` (what follows walks it recursively)."""
    if too_deep_keys(text):
        raise ScenarioError(str(path), "$", TOO_DEEP)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads arrays and inline tables recursively
        raise ScenarioError(str(path), "$", TOO_DEEP) from None
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise ScenarioError(str(path), "$", f"an integer is too long: {TOO_LARGE}") from None
    for at, problem in shape_problems(data):
        if problem == TOO_DEEP:
            raise ScenarioError(str(path), at, problem)
    return data


def _parent(folder: Path, name: str, path: Path) -> Path:
    """The file an ``extends`` names: a path relative to the extending file, or else a built-in
    scenario's name."""
    parent_path = folder / name
    if parent_path.is_file():
        return parent_path
    builtin = builtin_scenarios().get(name)
    if builtin is not None:
        return builtin
    raise ScenarioError(
        str(path), "$.extends", f"no such scenario file or built-in scenario: {name}{_suggest(Path(name).stem)}"
    )


def _suggest_for(path: Path) -> str:
    """For a missing file given by a bare name (a built-in scenario's, mistyped): the nearest
    built-in names."""
    if len(path.parts) != 1 or path.suffix:
        return ""
    return f" or built-in scenario{_suggest(path.stem)}"


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, list(builtin_scenarios()), n=3, cutoff=0.6)
    listed = " or ".join([", ".join(close[:-1]), close[-1]] if len(close) > 2 else close)
    also = f"; did you mean {listed}?" if close else ""
    return f"{also} (`converse scenarios` lists the built-in ones)"


def _merge(base: dict[str, Any], top: dict[str, Any], *, top_level: bool = True) -> dict[str, Any]:
    """``top`` over ``base``: tables merged key by key, anything else replaced; a dial's value
    over its table in ``base`` keeps the table's choices."""
    out = dict(base)
    for key, value in top.items():
        if top_level and key == "dials" and isinstance(value, dict) and isinstance(out.get(key), dict):
            dials = dict(out[key])
            for name, setting in value.items():
                set_dial(dials, name, setting)
            out[key] = dials
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value, top_level=False)
        else:
            out[key] = value
    return out
