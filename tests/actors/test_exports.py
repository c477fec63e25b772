"""The public surface of ``actors``: ``__all__`` matches what the package defines."""

from __future__ import annotations

import types

import actors


def public_names() -> set[str]:
    """Names bound in ``actors/__init__.py`` that are public: no underscore, no submodule."""
    return {
        name
        for name, value in vars(actors).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }


def isort_key(name: str) -> tuple[int, str]:
    """The order ruff's RUF022 keeps: CONSTANTS, then Classes, then functions, each A-Z."""
    if name.isupper():
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


def test_all_lists_exactly_the_public_names() -> None:
    assert len(actors.__all__) == len(set(actors.__all__))  # no duplicates
    assert set(actors.__all__) == public_names()


def test_every_name_in_all_exists() -> None:
    missing = [name for name in actors.__all__ if not hasattr(actors, name)]
    assert missing == []
    star: dict[str, object] = {}
    exec("from actors import *", star)
    assert set(star) - {"__builtins__"} == set(actors.__all__)


def test_all_is_sorted() -> None:
    assert actors.__all__ == sorted(actors.__all__, key=isort_key)
