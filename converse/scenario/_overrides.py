"""``--set key.path=value``: one change to a scenario's plain data before it is checked."""

from __future__ import annotations

import re
import tomllib
from typing import Any

from .._exceptions import ScenarioError

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")


def apply_override(raw: dict[str, Any], item: str, file: str) -> None:
    """Apply one ``key.path=value`` override (``agents[0].council.rounds=3``) to plain data.

    The value is read as a TOML value when it parses as one (``3``, ``true``, ``"x"``,
    ``[1, 2]``) and as a plain string otherwise.
    """
    key, sep, text = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ScenarioError(file, "--set", f"{item!r} is not of the form key=value")
    steps: list[str | int] = []
    pos = 0
    for match in _KEY.finditer(key):
        between = key[pos : match.start()]
        if between not in ("", "."):
            break
        steps.append(match[1] if match[1] is not None else int(match[2]))
        pos = match.end()
    if pos != len(key) or not steps or not isinstance(steps[0], str):
        raise ScenarioError(file, "--set", f"{key!r} is not a key path like clock.end or agents[0].name")
    try:
        value: Any = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    node: Any = raw
    shown = "$"
    for step, following in zip(steps, [*steps[1:], None], strict=True):
        shown += f"[{step}]" if isinstance(step, int) else f".{step}"
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise ScenarioError(file, shown, "no such list item to override")
        elif not isinstance(node, dict):
            raise ScenarioError(file, shown, "cannot set a key inside a non-table value")
        if following is None:
            node[step] = value
        else:
            if isinstance(step, str) and step not in node:
                node[step] = {} if isinstance(following, str) else []
            node = node[step]
