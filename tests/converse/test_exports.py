"""The public API is what ``converse/__init__.py`` and its public parts' faces say it is."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import converse
import converse.testing

# converse, and the parts a user reaches as converse.<part> (as trio has trio.lowlevel).
FACES = [
    "converse",
    "converse.audit",
    "converse.camel",
    "converse.engine",
    "converse.events",
    "converse.judge",
    "converse.log",
    "converse.models",
    "converse.runner",
    "converse.scenario",
    "converse.sweeps",
    "converse.transcript",
    "converse.web",
]


@pytest.mark.parametrize("name", FACES)
def test_all_is_sorted_and_matches_the_reexports(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    # A name can be re-exported lazily: imported under ``if TYPE_CHECKING:`` for type checkers,
    # and served by the module's ``__getattr__`` when first asked for (checked below).
    reexported = {
        alias.asname or alias.name
        for node in [*tree.body, *(n for top in tree.body if isinstance(top, ast.If) for n in top.body)]
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert len(module.__all__) == len(set(module.__all__))  # its order is ruff's RUF022
    assert set(module.__all__) == reexported
    for attribute in module.__all__:
        assert getattr(module, attribute) is not None
    assert not any(attribute.startswith("_") for attribute in module.__all__)


def test_every_public_part_is_reachable_from_converse() -> None:
    for name in FACES[1:]:
        part = name.removeprefix("converse.")
        if part not in ("camel", "web"):  # opt-in: imported by those who use them
            assert getattr(converse, part) is importlib.import_module(name)


def test_a_name_has_one_public_home_beside_the_top_level() -> None:
    homes: dict[int, list[str]] = {}
    for name in FACES[1:]:
        module = importlib.import_module(name)
        for attribute in module.__all__:
            value = getattr(module, attribute)
            if isinstance(value, type) or callable(value):
                homes.setdefault(id(value), []).append(f"{name}.{attribute}")
    assert [h for h in homes.values() if len(h) > 1] == []


def test_the_testing_helpers_are_public() -> None:
    assert set(converse.testing.__all__) == {"Faults", "ModelServer", "ScriptedModel", "events_of", "run_and_read"}
