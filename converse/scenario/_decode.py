"""Plain data (as from TOML) decoded into a ``Scenario``, with every type error found.

msgspec stops at the first error. When it finds one, the data is walked field by field
against the Structs instead: each value of the wrong type, unknown key or missing required
key is recorded and the value left out, so that one run reports them all and the checks
that follow still see everything that was right.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import types
import typing
from typing import Any

import msgspec

from ._problems import Problems
from ._scenario import Scenario

__all__ = ["decode"]

_LEFT_OUT = object()  # a value that could not be kept, nor the table holding it built


def decode(raw: dict[str, Any], problems: Problems) -> Scenario | None:
    """``raw`` as a ``Scenario``, or None if its types leave none to check; every type error
    is recorded in ``problems`` and its value left out."""
    with contextlib.suppress(msgspec.ValidationError):
        return msgspec.convert(raw, Scenario)  # the common case: a file without type errors
    kept = _clean(raw, Scenario, "$", problems)
    # Every part converted on its own, so the whole does too (a failure is recorded all the same).
    if kept is _LEFT_OUT or not problems.converts(kept, Scenario, "$"):
        return None
    return msgspec.convert(kept, Scenario)


def _clean(value: Any, kind: Any, path: str, problems: Problems) -> Any:
    struct = _struct_in(kind)
    if struct is not None and isinstance(value, dict):
        return _clean_table(value, struct, path, problems)
    item = _list_item_in(kind)
    if item is not None and isinstance(value, list):
        # An item left out would shift the indices of those after it: keep all or none.
        items = [_clean(v, item, f"{path}[{i}]", problems) for i, v in enumerate(value)]
        return _LEFT_OUT if any(v is _LEFT_OUT for v in items) else items
    entry = _dict_value_in(kind)
    if entry is not None and isinstance(value, dict):
        entries = {k: _clean(v, entry, f"{path}.{k}", problems) for k, v in value.items()}
        return {k: v for k, v in entries.items() if v is not _LEFT_OUT}
    return value if problems.converts(value, kind, path) else _LEFT_OUT


def _clean_table(value: dict[str, Any], struct: type[msgspec.Struct], path: str, problems: Problems) -> Any:
    fields = _fields(struct)
    kept: dict[str, Any] = {}
    broken = False
    for key, item in value.items():
        field = fields.get(key)
        if field is None:
            hint = difflib.get_close_matches(str(key), list(fields), n=1)
            also = f" (did you mean {hint[0]}?)" if hint else ""
            problems.drop(f"{path}.{key}", path, f"unknown field {key}{also}")
            continue
        cleaned = _clean(item, field.type, f"{path}.{key}", problems)
        if cleaned is _LEFT_OUT:
            broken |= field.required
        else:
            kept[key] = cleaned
    for key, field in fields.items():
        if field.required and key not in value:
            problems.drop(path, path, f"Object missing required field {key}")
            broken = True
    return _LEFT_OUT if broken else kept


@functools.cache
def _fields(struct: type[msgspec.Struct]) -> dict[str, msgspec.structs.FieldInfo]:
    return {f.encode_name: f for f in msgspec.structs.fields(struct)}


def _members(kind: Any) -> tuple[Any, ...]:
    """The types of a union without None, or the type itself."""
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return tuple(k for k in typing.get_args(kind) if k is not type(None))
    return (kind,)


def _struct_in(kind: Any) -> type[msgspec.Struct] | None:
    found = _members(kind)
    if len(found) == 1 and isinstance(found[0], type) and issubclass(found[0], msgspec.Struct):
        return found[0]
    return None


def _list_item_in(kind: Any) -> Any:
    found = _members(kind)
    if len(found) == 1 and typing.get_origin(found[0]) is list:
        item = typing.get_args(found[0])[0]
        return item if _struct_in(item) is not None else None
    return None


def _dict_value_in(kind: Any) -> Any:
    found = _members(kind)
    if len(found) == 1 and typing.get_origin(found[0]) is dict:
        return typing.get_args(found[0])[1]
    return None
