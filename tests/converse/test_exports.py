"""The public API is what ``converse/__init__.py`` says it is."""

from __future__ import annotations

import ast
from pathlib import Path

import converse
import converse.testing


def test_all_is_sorted_and_matches_the_reexports() -> None:
    tree = ast.parse(Path(converse.__file__).read_text(encoding="utf-8"))
    reexported = {
        alias.asname or alias.name
        for node in tree.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert len(converse.__all__) == len(set(converse.__all__))  # its order is ruff's RUF022
    assert set(converse.__all__) == reexported
    for name in converse.__all__:
        assert getattr(converse, name) is not None
    assert not any(name.startswith("_") for name in converse.__all__)


def test_the_testing_helpers_are_public() -> None:
    assert set(converse.testing.__all__) == {"Faults", "ModelServer", "ScriptedModel", "events_of", "run_and_read"}
