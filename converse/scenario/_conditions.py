"""Dial conditions: ``when = "china"`` on an agent or a council decides whether it takes part.

A condition is one dial, ``not`` one dial, or one comparison of a dial with a TOML value::

    china            not china            labs >= 4            regulation == "strict"

``resolve_conditions`` drops what is switched off (and its name from scripted orders), so
the rest of the engine only ever sees the agents that take part.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Callable, Mapping
from typing import Any

import msgspec

from .._exceptions import ScenarioError

__all__ = ["Condition", "parse_condition", "resolve_conditions"]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
}
_FORM = re.compile(
    r"^\s*(?:(?P<neg>not)\s+)?(?P<dial>[A-Za-z_][A-Za-z0-9_]*)\s*(?:(?P<op>==|!=|<=|>=|<|>)\s*(?P<value>.+?))?\s*$"
)


class Condition(msgspec.Struct, frozen=True):
    """A parsed ``when``: ``dial op value``, or the dial's truth (negated by ``not``)."""

    dial: str
    op: str | None = None
    value: Any = None
    negated: bool = False

    def holds(self, dials: Mapping[str, Any]) -> bool:
        """Whether the condition is true for these dial settings."""
        current = dials[self.dial]
        if self.op is None:
            return not current if self.negated else bool(current)
        return _COMPARE[self.op](current, self.value)


def parse_condition(text: str, dials: Mapping[str, Any], path: str, file: str) -> Condition:
    """Parse and check one condition against the scenario's dials.

    Raises:
        ScenarioError: bad syntax, an unknown dial, or a value of another type than the dial's.
    """
    match = _FORM.match(text)
    if match is None or (match["neg"] and match["op"]):
        raise ScenarioError(
            file,
            path,
            f'{text!r} is not a condition like: china, not china, labs >= 4, regulation == "strict"',
        )
    dial = match["dial"]
    if dial not in dials:
        known = ", ".join(sorted(dials)) or "none"
        raise ScenarioError(file, path, f"no dial named {dial!r} (dials: {known})")
    if match["op"] is None:
        return Condition(dial, negated=bool(match["neg"]))
    try:
        value = tomllib.loads(f"v = {match['value']}")["v"]
    except tomllib.TOMLDecodeError:
        raise ScenarioError(file, path, f"{match['value']!r} is not a TOML value (quote strings)") from None
    current = dials[dial]
    numbers = (int, float)
    same = isinstance(value, numbers) and isinstance(current, numbers) and not isinstance(current, bool)
    if not same and type(value) is not type(current):
        raise ScenarioError(
            file, path, f"compares dial {dial!r} ({type(current).__name__}) with {type(value).__name__}"
        )
    if isinstance(current, bool | str) and match["op"] not in ("==", "!="):
        raise ScenarioError(file, path, f"only == and != compare a {type(current).__name__} dial")
    return Condition(dial, match["op"], value)


def resolve_conditions(raw: dict[str, Any], file: str) -> dict[str, Any]:
    """Plain scenario data with every switched-off agent and council removed.

    Works on the data as decoded (after type checks) so that error paths name the file's
    own indices. A ``when`` that holds is kept, so resolving twice changes nothing.
    """
    dials = raw.get("dials", {})
    if not isinstance(dials, dict):
        return raw
    out = dict(raw)
    if isinstance(raw.get("agents"), list):
        agents = _keep(raw["agents"], "$.agents", dials, file)
        out["agents"] = agents
        if "conversation" in raw:
            out["conversation"] = _prune_order(raw["conversation"], agents)
    return out


def _keep(agents: list[Any], path: str, dials: Mapping[str, Any], file: str) -> list[Any]:
    kept = []
    for i, agent in enumerate(agents):
        if not isinstance(agent, dict):
            kept.append(agent)
            continue
        here = f"{path}[{i}]"
        when = agent.get("when")
        if isinstance(when, str) and not parse_condition(when, dials, f"{here}.when", file).holds(dials):
            continue
        council = agent.get("council")
        if isinstance(council, dict):
            agent = dict(agent)
            cwhen = council.get("when")
            if isinstance(cwhen, str) and not parse_condition(
                cwhen, dials, f"{here}.council.when", file
            ).holds(dials):
                del agent["council"]
            elif isinstance(council.get("members"), list):
                members = _keep(council["members"], f"{here}.council.members", dials, file)
                if not members and council["members"]:
                    raise ScenarioError(
                        file, f"{here}.council.members", "every member is switched off by its `when`"
                    )
                agent["council"] = _prune_order(council, members)
        kept.append(agent)
    if not kept and agents:
        raise ScenarioError(file, path, "every agent is switched off by its `when`")
    return kept


def _prune_order(table: Any, members: list[Any]) -> Any:
    """``table`` with ``members`` and its scripted ``order`` cut to the names still present."""
    if not isinstance(table, dict):
        return table
    names = {m.get("name") for m in members if isinstance(m, dict)}
    out = dict(table)
    if "members" in out:
        out["members"] = members
    order = out.get("order")
    if isinstance(order, list):
        out["order"] = [n for n in order if n in names]
    return out
