"""Scenario files: TOML decoded into msgspec Structs, checked, with every error naming the
file and the key path (``three-labs.toml: $.agents[2].council.rounds: Expected int``)."""

from __future__ import annotations

import functools
import os
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import msgspec

from .._exceptions import ScenarioError
from ._checks import check_scenario
from ._conditions import resolve_conditions
from ._overrides import apply_override
from ._roleplay import RolePlay
from ._strict import Strict

TurnPolicy = Literal["round-robin", "random", "simultaneous", "scripted"]
PublicContext = Literal["none", "last-period", "all", "summary"]
MemoryPolicy = Literal["everything", "window", "summary"]
Step = Literal["year", "half-year", "round"]
DialValue = str | int | float | bool
AgentKind = Literal["lab", "government", "organisation", "person"]


_Strict = Strict


class Clock(_Strict, frozen=True, kw_only=True):
    """The simulated calendar: periods from ``start`` to ``end`` (inclusive) by ``step``."""

    start: int = 2023
    step: Step = "year"
    end: int | None = None


class Termination(_Strict, frozen=True, kw_only=True):
    """When the public conversation ends (whichever comes first)."""

    max_turns: int | None = None
    end_token: str | None = None


class ModelSettings(_Strict, frozen=True, kw_only=True):
    """Which model answers, and its sampling parameters.

    ``context_window`` is the model's window in tokens (prompt and answer together); by
    default the known window of an ``openai:`` model's name, else unknown (no limit).
    """

    spec: str = "offline"
    base_url: str | None = None
    temperature: float = 1.0
    max_tokens: int = 600
    context_window: int | None = None
    params: dict[str, DialValue] = {}


class Memory(_Strict, frozen=True, kw_only=True):
    """What an agent keeps of its earlier turns in each prompt.

    Attributes:
        policy: ``everything`` (every earlier turn, as the original did: prompts grow each
            turn); ``window`` (the most recent turns that fit in ``tokens``); ``summary``
            (the most recent turns that fit, and a running summary of the older ones,
            written by the model in recorded calls). Every policy keeps the system prompt
            and the current turn's message, which holds the period and everything said
            since the agent's last turn.
        tokens: the prompt's budget; by default the model's context window less
            ``max_tokens`` (room for the answer).
        summary_words: the most words the running summary may have.
    """

    policy: MemoryPolicy = "everything"
    tokens: int | None = None
    summary_words: int = 250


class Price(_Strict, frozen=True, kw_only=True):
    """What a model costs, in US dollars per million tokens."""

    input: float = 0.0
    output: float = 0.0


class Budget(_Strict, frozen=True, kw_only=True):
    """Limits on what one run may spend; reaching one ends the run as ``budget_exhausted``."""

    tokens: int | None = None
    usd: float | None = None


class Prompts(_Strict, frozen=True, kw_only=True):
    """Prompt templates with ``{placeholders}``; see ``TEMPLATE_FIELDS`` for each one's."""

    system: str = ""
    turn: str = ""
    statement: str = ""
    member_system: str = ""
    council_opening: str = ""
    member_turn: str = ""
    member_statement: str = ""


class Council(_Strict, frozen=True, kw_only=True):
    """A private debate an agent runs among its members before it speaks.

    ``when`` (a dial condition, see ``Agent``) makes the council optional: without it the
    agent speaks without deliberating. ``public_context`` is what the members are told of
    the world outside: ``none``, ``last-period`` (the public statements of this period and
    the last), ``all`` (every public statement) or ``summary`` (a summary of the whole
    public record, written for them by the model in a recorded call).
    """

    members: list[Agent]
    rounds: int = 2
    turn_policy: TurnPolicy = "round-robin"
    order: list[str] = []
    public_context: PublicContext = "last-period"
    prompts: Prompts | None = None
    when: str | None = None


class Agent(_Strict, frozen=True, kw_only=True):
    """An agent: an organisation at the top level, a person inside a council.

    ``kind`` says what an organisation is (the judge scores labs one by one). ``when`` is a
    condition on the dials that decides whether the agent takes part: ``china``, ``not
    china``, ``labs >= 4``, ``regulation == "strict"`` (operators ``== != < <= > >=``).
    ``memory`` overrides the scenario's ``[memory]`` for this agent (not its members).
    """

    name: str
    description: str = ""
    persona: str = ""
    kind: AgentKind = "organisation"
    council: Council | None = None
    when: str | None = None
    memory: Memory | None = None


class Metric(_Strict, frozen=True, kw_only=True):
    """One score the judge gives a run.

    Attributes:
        name: the score's name (a column of a sweep's ``summary.csv``).
        description: what the judge is asked to score.
        scale: ``1-10``, or ``year`` (a calendar year).
        subjects: ``run`` (one score), ``labs`` (one per lab) or ``organisations`` (one per
            top-level agent).
        optional: the judge may give no value (a lab that never announces AGI has no year).
    """

    name: str
    description: str
    scale: Literal["1-10", "year"] = "1-10"
    subjects: Literal["run", "labs", "organisations"] = "run"
    optional: bool = False


class Judge(_Strict, frozen=True, kw_only=True):
    """The verdict after a run: a summary and scores, recorded as a ``judged`` event.

    Attributes:
        enabled: judge completed runs.
        model: the judge's model spec; by default the run's model.
        function: ``package.module:callable``, a Python judge used instead of a model: it
            gets the run's events and the scenario and returns a summary and scores.
        instructions: what the judge is told before the record; a built-in text by default.
        metrics: the scores asked for; by default the AI-lab metrics (capability and
            safety risk in all and per lab, government regulation, the year each lab
            announces AGI).
    """

    enabled: bool = True
    model: str | None = None
    function: str | None = None
    instructions: str = ""
    metrics: list[Metric] | None = None


class Conversation(_Strict, frozen=True, kw_only=True):
    """How the public conversation runs."""

    turn_policy: TurnPolicy = "round-robin"
    order: list[str] = []
    deliberation: Literal["concurrent", "sequential"] = "concurrent"
    opening: str = ""


class Scenario(_Strict, frozen=True, kw_only=True):
    """A whole simulation, as written in a scenario file: ``agents`` in a public
    conversation, or a ``roleplay`` (CAMEL's AI user and AI assistant)."""

    name: str
    title: str = ""
    description: str = ""
    clock: Clock = Clock()
    conversation: Conversation = Conversation()
    termination: Termination = Termination()
    model: ModelSettings = ModelSettings()
    prompts: Prompts = Prompts()
    memory: Memory = Memory()
    dials: dict[str, DialValue] = {}
    prices: dict[str, Price] = {}
    budget: Budget = Budget()
    judge: Judge = Judge()
    agents: list[Agent] = []
    roleplay: RolePlay | None = None


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
