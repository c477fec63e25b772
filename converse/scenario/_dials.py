"""Dials: the values a sweep turns. A dial is written in ``[dials]`` as its value, or as a
table that also says which values it takes::

    [dials]
    councils = true
    regulation = { default = "light", choices = ["none", "light", "moderate", "strict"] }

The table is split when a scenario is decoded: ``Scenario.dials`` holds every dial's value
(what prompts and conditions use) and ``Scenario.dial_choices`` the choices of those that
declare them. A value given later for a dial with choices (by a file that ``extends`` this
one, ``--set``, ``--grid``) replaces its default and must be one of them.
"""

from __future__ import annotations

import difflib
import json
from typing import Any

from ._problems import Problems
from ._scenario import DialValue

__all__ = ["DIAL_KEYS", "join_dials", "not_a_choice", "set_dial", "shown", "split_dials"]

DIAL_KEYS = ("default", "choices")


def split_dials(raw: dict[str, Any], problems: Problems) -> dict[str, Any]:
    """``raw`` with each dial table of ``[dials]`` replaced by its default, and the choices
    moved to ``dial_choices``; a table's mistakes are recorded and its bad parts left out."""
    out = dict(raw)
    if "dial_choices" in out:  # filled from the dial tables, never written by hand
        del out["dial_choices"]
        problems.drop("$.dial_choices", "$", "unknown field dial_choices (a dial's choices go in its [dials] table)")
    dials = raw.get("dials")
    if not isinstance(dials, dict):
        return out
    values: dict[str, Any] = {}
    choices: dict[str, list[DialValue]] = {}
    for name, value in dials.items():
        if not isinstance(value, dict):
            values[name] = value
            continue
        path = f"$.dials.{name}"
        for key in value:
            if key not in DIAL_KEYS:
                hint = difflib.get_close_matches(str(key), DIAL_KEYS, n=1)
                also = f" (did you mean {hint[0]}?)" if hint else " (a dial table has default and choices)"
                problems.drop(f"{path}.{key}", path, f"unknown field {key}{also}")
        if "default" not in value:
            problems.drop(path, path, "a dial table needs a default (its value when nothing else sets it)")
        elif problems.converts(value["default"], DialValue, f"{path}.default"):
            values[name] = value["default"]
        if "choices" in value and problems.converts(value["choices"], list[DialValue], f"{path}.choices"):
            choices[name] = value["choices"]
    out["dials"] = values
    if choices:
        out["dial_choices"] = choices
    return out


def join_dials(dials: dict[str, Any], choices: dict[str, list[Any]]) -> dict[str, Any]:
    """``[dials]`` as written: a dial with choices as its table again (``split_dials`` undone)."""
    return {name: {"default": value, "choices": choices[name]} if name in choices else value
            for name, value in dials.items()}


def set_dial(dials: dict[str, Any], name: str, value: Any) -> None:
    """Give dial ``name`` a value: a dial table keeps its choices and takes ``value`` as its
    default (or, if ``value`` is a table too, the keys it gives)."""
    current = dials.get(name)
    if isinstance(current, dict):
        dials[name] = {**current, **value} if isinstance(value, dict) else {**current, "default": value}
    else:
        dials[name] = value


def not_a_choice(name: str, value: Any, choices: list[Any]) -> str | None:
    """Why ``value`` is not one of dial ``name``'s ``choices``, or None if it is."""
    if any(_same(value, choice) for choice in choices):
        return None
    return f"{shown(value)} is not one of the choices of dial {name}: {', '.join(shown(c) for c in choices)}"


def shown(value: Any) -> str:
    """A dial value as TOML writes it: ``"strict"``, ``4``, ``true``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _same(value: Any, choice: Any) -> bool:
    if isinstance(value, bool) or isinstance(choice, bool):
        return type(value) is type(choice) and value == choice
    return bool(value == choice) and isinstance(value, str) == isinstance(choice, str)
