"""The largest scenario converse takes, and the walk that holds plain data to it.

Each bound is far beyond any experiment that makes sense to pay for, and far below what would
take a machine's memory or time: a mistyped ``clock.end = 20255`` or a runaway generator is
one line from ``converse validate`` instead of minutes of work followed by a MemoryError.

- ``MAX_PERIODS`` (10,000): periods on the clock. Every agent speaks at least once a period,
  so 10,000 periods is 10,000 model calls per agent; the longest shipped scenario has 50.
- ``MAX_AGENTS`` (1,000): agents and council members in all, at every depth. Each one is an
  actor with its own memory and its own model calls; at 1,000 speakers one period of a single
  conversation is already a prompt of every other speaker's statement, beyond most models'
  context windows.
- ``MAX_RESEARCHERS`` (100,000): researchers of a population in all. Each is an actor with a
  memory stream and a model call a period; 10,000 run in one process in minutes offline.
- ``MAX_MEMBERS`` (100): members of one council. A council is a private debate where every
  member hears every other, every round; the shipped ones have two or three (a board), and
  100 is a parliament.
- ``MAX_ROUNDS`` (100): rounds of one council's debate per period (the shipped ones use 2).
- ``MAX_DEPTH`` (64): tables and arrays inside one another. The deepest real data is a
  council inside a council (three levels each) or a JSON schema in ``model.params``; 64 leaves
  room for twenty levels of councils, and keeps every recursive step over the data well
  inside Python's stack.
- ``MAX_EXTENDS`` (32): files in one ``extends`` chain (a variant of a variant is three).
- Integers fit in 64 bits (what servers, JSON readers and logs take), and numbers are finite:
  NaN and infinity mean nothing in a scenario, and JSON cannot carry them in a request.

A sweep's bounds (repeats, runs in all) are ``converse.sweeps``'s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

__all__ = [
    "INT_MAX",
    "INT_MIN",
    "MAX_AGENTS",
    "MAX_DEPTH",
    "MAX_EXTENDS",
    "MAX_MEMBERS",
    "MAX_PERIODS",
    "MAX_RESEARCHERS",
    "MAX_ROUNDS",
    "TOO_DEEP",
    "TOO_LARGE",
    "shape_problems",
    "too_deep_keys",
]

MAX_PERIODS = 10_000
MAX_AGENTS = 1_000
MAX_RESEARCHERS = 100_000
MAX_MEMBERS = 100
MAX_ROUNDS = 100
MAX_DEPTH = 64
MAX_EXTENDS = 32
INT_MIN = -(2**63)
INT_MAX = 2**63 - 1

TOO_DEEP = f"tables and arrays are nested more than {MAX_DEPTH} deep"
TOO_LARGE = f"integers must fit in 64 bits ({INT_MIN} to {INT_MAX})"


def shape_problems(data: object, path: str = "$", depth: int = 0) -> Iterator[tuple[str, str]]:
    """The key path and problem of each value in ``data`` out of bounds: a table or array
    nested more than ``MAX_DEPTH`` deep (and nothing under it), an integer beyond 64 bits, a
    number that is not finite. ``depth`` is how deep ``data`` itself lies.

    The walk keeps its own stack: data nested deeper than Python's stack is reported, not
    a RecursionError.
    """
    stack: list[tuple[object, str, int]] = [(data, path, depth)]
    while stack:
        value, at, level = stack.pop()
        if isinstance(value, dict | list):
            if level > MAX_DEPTH:
                yield at, TOO_DEEP
                continue
            items = value.items() if isinstance(value, dict) else enumerate(value)
            children = [(v, f"{at}[{k}]" if isinstance(value, list) else f"{at}.{k}", level + 1) for k, v in items]
            stack.extend(reversed(children))  # popped in the order written
        else:
            problem = _number_problem(value)
            if problem is not None:
                yield at, problem


def _number_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and not INT_MIN <= value <= INT_MAX:
        return TOO_LARGE
    if isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    return None


# A key of more dotted parts (``a.b.c...``, bare or quoted) than tables may nest. tomllib takes
# time quadratic in the parts of one key, so such a key is refused before it is parsed (the
# walk finds the exact depth of the rest). A part starts after no character a part could
# continue, so each is tried once: the search is linear.
_PART = r"""(?:[A-Za-z0-9_-]++|"[^"\\\n]*+"|'[^'\n]*+')"""
_DOTTED = re.compile(rf"""(?<![A-Za-z0-9_"'-])(?:{_PART}[ \t]*+\.[ \t]*+){{{MAX_DEPTH + 1}}}{_PART}""")


def too_deep_keys(text: str) -> bool:
    """Whether TOML ``text`` holds a dotted key nested more than ``MAX_DEPTH`` deep."""
    return _DOTTED.search(text) is not None
