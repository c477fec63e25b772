"""The scenario guide, ``scenarios/README.md``, cannot drift from the code: the scenario it starts
with is the one ``converse new`` writes and runs as written, every other example in it loads,
and its tables name every key a scenario file can hold with the default the code gives it, every
value a key takes and every placeholder a prompt may (and must) use.

An example with a top-level ``name`` is a whole file; any other is a change to the first
scenario, checked as a file that ``extends`` it (as the guide tells its reader to try one).
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from _helpers import ROOT, run_cli
from converse.scenario import PROMPT_FIELDS, Scenario, scenario_problems
from converse.scenario._dials import DIAL_KEYS
from converse.scenario._load import starter_text
from converse.scenario._templates import PERSONA_FIELDS, POPULATION_FIELDS, TEMPLATE_FIELDS

GUIDE = (ROOT / "scenarios" / "README.md").read_text(encoding="utf-8")
EXAMPLES = re.findall(r"^```toml\n(.*?)^```$", GUIDE, re.M | re.S)
# A row of a key table: | `clock.end` | unset | The last period ... |
ROWS = {
    key: (default.strip(), meaning)
    for key, default, meaning in re.findall(r"^\| `([A-Za-z_.\[\]]+)` \| ([^|]*) \| (.*) \|$", GUIDE, re.M)
}
# What the loader takes from a file before decoding it, and what it fills in itself.
FILE_ONLY = {"extends", "add_agents"}
DERIVED = {"dial_choices"}


def test_the_guide_starts_with_the_scenario_converse_new_writes() -> None:
    assert GUIDE.index("```toml") < GUIDE.index("## The keys")
    assert EXAMPLES[0] == starter_text()


def test_the_first_scenario_validates_and_runs_offline_as_written(tmp_path: Path) -> None:
    path = tmp_path / "my-scenario.toml"
    path.write_text(EXAMPLES[0], encoding="utf-8")
    checked = run_cli("validate", str(path), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == f"{path}: ok (my-scenario, 2 agents)\n"
    ran = run_cli("run", str(path), "--out", "runs", "-q", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    run_dir = tmp_path / ran.stdout.strip().splitlines()[-1]
    transcript = (run_dir / "transcript.md").read_text(encoding="utf-8")
    for seen in ("### 2025", "### 2027", "Lumen AI council debate", "AI Safety Regulator 2026:", "capability"):
        assert seen in transcript
    assert "### 2028" not in transcript


@pytest.mark.parametrize("index", range(1, len(EXAMPLES)))
def test_every_example_loads(index: int, tmp_path: Path) -> None:
    example = EXAMPLES[index]
    (tmp_path / "my-scenario.toml").write_text(EXAMPLES[0], encoding="utf-8")
    path = tmp_path / "example.toml"
    whole = "name" in tomllib.loads(example)
    path.write_text(example if whole else f'extends = "my-scenario.toml"\n{example}', encoding="utf-8")
    assert [str(p) for p in scenario_problems(path)] == []


def test_the_guide_has_examples_of_both_kinds() -> None:
    whole = [e for e in EXAMPLES[1:] if "name" in tomllib.loads(e)]
    assert whole, "an extends example and a role-play are whole files"
    assert len(whole) < len(EXAMPLES) - 1, "the rest change the first scenario"


def keys() -> dict[str, msgspec.structs.FieldInfo]:
    """Every key a scenario file can hold, by the guide's path (``agents[].council.rounds``)."""
    found: dict[str, msgspec.structs.FieldInfo] = {}
    seen: set[type] = {Scenario}  # a table met again (a council's prompts) is documented once

    def walk(struct: type[msgspec.Struct], prefix: str) -> None:
        for field in msgspec.structs.fields(struct):
            if field.encode_name in DERIVED:
                continue
            path = f"{prefix}{field.encode_name}"
            found[path] = field
            inner, suffix = _inside(field.type)
            if inner is not None and inner not in seen:
                seen.add(inner)
                walk(inner, f"{path}{suffix}.")

    walk(Scenario, "")
    return found


def _inside(kind: Any) -> tuple[type[msgspec.Struct] | None, str]:
    """The Struct a field's values are tables of, and how the guide writes the step into it."""
    members = [k for k in typing.get_args(kind) if k is not type(None)] if _is_union(kind) else [kind]
    if len(members) != 1:
        return None, ""
    kind = members[0]
    origin = typing.get_origin(kind)
    if origin is list:
        inner, suffix = typing.get_args(kind)[0], "[]"
    elif origin is dict:
        inner, suffix = typing.get_args(kind)[1], ".MODEL"
    else:
        inner, suffix = kind, ""
    return (inner, suffix) if isinstance(inner, type) and issubclass(inner, msgspec.Struct) else (None, "")


def _is_union(kind: Any) -> bool:
    return typing.get_origin(kind) in (typing.Union, types.UnionType)


def documented_default(field: msgspec.structs.FieldInfo) -> str:
    """A field's default as the guide writes it."""
    if field.required:
        return "required"
    default = field.default if field.default is not msgspec.NODEFAULT else field.default_factory()
    if default is None:
        return "unset"
    return f"`{_toml(default)}`"


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


def test_every_key_is_in_the_guide_with_its_default() -> None:
    tables = {path for path, field in keys().items() if _inside(field.type)[0] is not None}
    missing = sorted(set(keys()) - tables - set(ROWS))
    assert missing == [], "keys the guide does not document"
    for path, field in keys().items():
        if path in ROWS:
            assert ROWS[path][0] == documented_default(field), path


def test_every_key_in_the_guide_is_one_the_code_takes() -> None:
    known = set(keys()) | FILE_ONLY | {"dials.NAME"} | {f"dials.NAME.{k}" for k in DIAL_KEYS}
    assert sorted(set(ROWS) - known) == []
    assert {k for k in ROWS if k.startswith("dials.NAME.")} == {f"dials.NAME.{k}" for k in DIAL_KEYS}


def test_every_value_a_key_takes_is_named() -> None:
    for path, field in keys().items():
        kinds = typing.get_args(field.type) if _is_union(field.type) else (field.type,)
        for kind in kinds:
            if typing.get_origin(kind) is typing.Literal:
                for value in typing.get_args(kind):
                    assert f"`{value}`" in ROWS[path][1], (path, value)


@pytest.mark.parametrize(
    ("table", "fields"),
    [("prompts", TEMPLATE_FIELDS), ("roleplay.prompts", PROMPT_FIELDS), ("population.prompts", POPULATION_FIELDS)],
)
def test_every_prompt_lists_its_placeholders(
    table: str, fields: dict[str, tuple[frozenset[str], frozenset[str]]]
) -> None:
    for key, (allowed, needed) in fields.items():
        meaning = ROWS[f"{table}.{key}"][1]
        assert set(re.findall(r"`\{(\w+)\}`", meaning)) == allowed, key
        assert set(re.findall(r"\*\*`\{(\w+)\}`\*\*", meaning)) == needed, key


def test_every_placeholder_says_what_it_holds() -> None:
    explained = {
        name
        for first in re.findall(r"^\| (`\{.*?)\|", GUIDE, re.M)
        for name in re.findall(r"`\{(\w+)\}`", first)
    }
    fields = [*TEMPLATE_FIELDS.values(), *POPULATION_FIELDS.values(), (PERSONA_FIELDS, frozenset())]
    assert explained == set().union(*(allowed for allowed, _ in fields))
