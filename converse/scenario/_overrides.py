"""``--set key.path=value``: one change to a scenario's plain data before it is checked."""

from __future__ import annotations

import difflib
import re
import tomllib
from typing import Any

import msgspec

from .._exceptions import ScenarioError
from ._bounds import TOO_DEEP, TOO_LARGE, too_deep_keys
from ._dials import not_a_choice, set_dial
from ._scenario import Scenario

_KEY = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]")
# The keys of a scenario file's top level (dial_choices is filled from [dials], not written).
_TOP = frozenset(f.encode_name for f in msgspec.structs.fields(Scenario)) - {"dial_choices"}


def apply_override(raw: dict[str, Any], item: str, file: str) -> None:
    """Apply one ``key.path=value`` override (``agents[0].council.rounds=3``) to plain data.

    The value is read as a TOML value when it parses as one (``3``, ``true``, ``"x"``,
    ``[1, 2]``) and as a plain string otherwise. A dial's bare name (``regulation=strict``)
    sets that dial, as ``dials.regulation=strict`` does; a dial with choices takes only one
    of them.
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
    if too_deep_keys(text):
        raise ScenarioError(file, f"--set {key}", TOO_DEEP)
    try:
        value: Any = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        value = text
    except RecursionError:  # tomllib reads arrays and inline tables recursively
        raise ScenarioError(file, f"--set {key}", TOO_DEEP) from None
    except ValueError:  # an integer longer than Python converts (4,300 digits)
        raise ScenarioError(file, f"--set {key}", f"an integer is too long: {TOO_LARGE}") from None
    dials = raw.get("dials", {})
    if not isinstance(dials, dict):  # a [dials] of the wrong type: the checks will say so
        _set(raw, steps, value, file)
        return
    if len(steps) == 1 and key in dials:
        steps = ["dials", key]
    elif len(steps) == 1 and key not in _TOP:
        raise ScenarioError(file, f"--set {item}", f"no dial or key named {key!r}{_nearest(key, dials)}")
    if len(steps) == 2 and steps[0] == "dials":
        name = str(steps[1])
        table = dials.get(name)
        if isinstance(table, dict) and isinstance(table.get("choices"), list) and not isinstance(value, dict):
            wrong = not_a_choice(name, value, table["choices"])
            if wrong is not None:
                raise ScenarioError(file, f"--set {item}", wrong)
        set_dial(dials, name, value)
        raw["dials"] = dials
        return
    _set(raw, steps, value, file)


def _nearest(key: str, dials: dict[str, Any]) -> str:
    names = sorted(dials)
    close = difflib.get_close_matches(key, [*names, *sorted(_TOP)], n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"{hint} (dials: {', '.join(names) or 'none'})"


def _set(raw: dict[str, Any], steps: list[str | int], value: Any, file: str) -> None:
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
