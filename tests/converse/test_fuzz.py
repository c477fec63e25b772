"""Bad input, generated: scenario files (random TOML, mutations of the shipped ones) and event
logs (truncated, bit-flipped, reordered, duplicated lines) through ``validate``, ``run``,
``replay`` and ``resume``. Never a traceback; every error one line naming the file and the key
path or line; exit code 2 for bad input.

CI runs a few hundred cases per test; ``CONVERSE_FUZZ_EXAMPLES=2500 pytest tests/converse/test_fuzz.py``
runs over 10,000 in all.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _helpers import ROOT, SCENARIOS
from converse.cli import main
from converse.scenario import load_scenario, scenario_data, verdict_type
from converse.scenario._verdict import metrics_of, scores_of, subjects_of, verdict_from_return

EXAMPLES = int(os.environ.get("CONVERSE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def assert_clean(code: int, err: str, *, file: str, several: bool = False) -> None:
    """What a user must see: success, or one line on stderr naming the file (``several``: one
    per problem, as ``converse validate`` prints them); no traceback."""
    assert "Traceback" not in err, err
    assert "internal error" not in err, err
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip() and "warning:" not in line]
        assert len(lines) == 1 or (several and lines), err
        for line in lines:
            assert line.startswith("converse: error: "), err
            assert file in line or Path(file).name in line, err
    else:
        assert code in (0, 1), (code, err)


# -- scenario files ---------------------------------------------------------------------------


def toml(data: dict[str, Any]) -> str:
    """``data`` as TOML, tables written inline (enough for any JSON-like value)."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


def _key(key: str) -> str:
    return key if key.replace("_", "").replace("-", "").isalnum() and key.isascii() else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if value == value and abs(value) != float("inf") else "nan"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False).replace("\\u007f", "\\u007F")
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


scalars = st.one_of(
    st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(min_size=1, max_size=12), inner, max_size=4),
    max_leaves=12,
)


def mutate(data: Any, rng: random.Random, replacement: Any) -> Any:
    """``data`` with one random change deep inside: a value replaced, a key dropped or added."""
    if isinstance(data, dict) and data:
        key = rng.choice(sorted(data))
        out = dict(data)
        roll = rng.random()
        if roll < 0.15:
            del out[key]
        elif roll < 0.25:
            out[f"{key}_extra"] = replacement
        elif roll < 0.45 or not isinstance(data[key], dict | list):
            out[key] = replacement
        else:
            out[key] = mutate(data[key], rng, replacement)
        return out
    if isinstance(data, list) and data:
        index = rng.randrange(len(data))
        out = list(data)
        roll = rng.random()
        if roll < 0.2:
            del out[index]
        elif roll < 0.3:
            out.append(replacement)
        elif roll < 0.5:
            out[index] = replacement
        else:
            out[index] = mutate(data[index], rng, replacement)
        return out
    return replacement


@pytest.fixture(scope="module")
def workdir() -> Any:
    path = Path(tempfile.mkdtemp(prefix="converse-fuzz-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@FUZZ
@given(st.dictionaries(st.text(min_size=1, max_size=15), values, max_size=6))
def test_random_toml_through_validate(workdir: Path, data: dict[str, Any]) -> None:
    path = workdir / "random.toml"
    path.write_text(toml(data), encoding="utf-8")
    code, _, err = cli("validate", str(path))
    assert_clean(code, err, file=str(path), several=True)


@FUZZ
@given(st.sampled_from(SCENARIOS), st.integers(0, 2**32), values, st.integers(1, 3))
def test_mutated_shipped_scenarios_through_validate(
    workdir: Path, shipped: Path, seed: int, replacement: Any, changes: int
) -> None:
    rng = random.Random(seed)
    data: Any = scenario_data(shipped)
    for _ in range(changes):
        data = mutate(data, rng, replacement)
    path = workdir / f"mutated-{shipped.name}"
    path.write_text(toml(data), encoding="utf-8")
    code, _, err = cli("validate", str(path))
    assert_clean(code, err, file=str(path), several=True)


@FUZZ
@given(st.sampled_from(SCENARIOS), st.binary(max_size=40), st.integers(0, 2**32))
def test_scenario_text_with_bytes_spliced_in_through_validate(
    workdir: Path, shipped: Path, noise: bytes, seed: int
) -> None:
    text = shipped.read_bytes()
    at = random.Random(seed).randrange(len(text))
    path = workdir / f"spliced-{shipped.name}"
    path.write_bytes(text[:at] + noise + text[at + len(noise) // 2 :])
    code, _, err = cli("validate", str(path))
    assert_clean(code, err, file=str(path), several=True)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 10))
@given(st.integers(0, 2**32), values)
def test_mutated_scenarios_through_run(workdir: Path, seed: int, replacement: Any) -> None:
    rng = random.Random(seed)
    data: Any = scenario_data(ROOT / "scenarios" / "three-labs.toml")
    data["clock"]["end"] = data["clock"]["start"] + 1
    data = mutate(data, rng, replacement)
    path = workdir / "run.toml"
    path.write_text(toml(data), encoding="utf-8")
    code, _, err = cli("run", str(path), "-q", "--out", str(workdir / "runs"))
    assert_clean(code, err, file=str(path))


@FUZZ
@given(st.text(max_size=20))
def test_any_agent_name_is_refused_by_validate_or_judged_under_it(workdir: Path, name: str) -> None:
    data: Any = scenario_data(ROOT / "scenarios" / "three-labs.toml")
    data["agents"][0]["name"] = name
    path = workdir / "named.toml"
    path.write_text(toml(data), encoding="utf-8")
    code, _, err = cli("validate", str(path))
    assert_clean(code, err, file=str(path), several=True)
    if code != 0:
        return
    scenario = load_scenario(path)
    kind = verdict_type(scenario)
    msgspec.json.schema(kind)  # what a judge model is shown
    scores = {
        metric.name: 5 if subjects is None else dict.fromkeys(subjects, 2030 if metric.scale == "year" else 5)
        for metric in metrics_of(scenario)
        for subjects in [subjects_of(scenario, metric)]
    }
    verdict = verdict_from_return({"summary": "s", "scores": scores}, scenario)  # a Python judge's
    answer = msgspec.json.encode(msgspec.convert(verdict, kind))  # a model's, as JSON
    judged = scores_of(scenario, msgspec.to_builtins(msgspec.json.decode(answer, type=kind)))
    assert ("capability", name, 5.0) in {(s.name, s.subject, s.value) for s in judged}


# -- event logs -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def log_lines(workdir: Path) -> list[bytes]:
    code, out, err = cli("run", "three-labs", "--set", "clock.end=2024", "-q", "--out", str(workdir / "source"))
    assert code == 0, err
    return (Path(out.strip()) / "events.jsonl").read_bytes().splitlines(keepends=True)


def damage(lines: list[bytes], rng: random.Random, kind: str) -> bytes:
    lines = list(lines)
    if kind == "truncate":
        data = b"".join(lines)
        return data[: rng.randrange(len(data) + 1)]
    if kind == "flip":
        data = bytearray(b"".join(lines))
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        return bytes(data)
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    if kind == "swap":
        lines[i], lines[j] = lines[j], lines[i]
    elif kind == "duplicate":
        lines.insert(j, lines[i])
    else:  # drop
        del lines[i]
    return b"".join(lines)


@FUZZ
@given(st.integers(0, 2**32), st.sampled_from(["truncate", "flip", "swap", "duplicate", "drop"]))
def test_damaged_logs_through_replay(workdir: Path, log_lines: list[bytes], seed: int, kind: str) -> None:
    path = workdir / "damaged" / "events.jsonl"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(damage(log_lines, random.Random(seed), kind))
    code, _, err = cli("replay", str(path), "-o", str(workdir / "damaged.md"))
    assert_clean(code, err, file=str(path))


@settings(FUZZ, max_examples=max(10, EXAMPLES // 5))
@given(st.integers(0, 2**32), st.sampled_from(["truncate", "flip", "swap", "duplicate", "drop"]))
def test_damaged_logs_through_resume(workdir: Path, log_lines: list[bytes], seed: int, kind: str) -> None:
    directory = workdir / f"resume-{seed}-{kind}"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir()
    path = directory / "events.jsonl"
    path.write_bytes(damage(log_lines, random.Random(seed), kind))
    code, _, err = cli("resume", str(directory), "-q")
    assert_clean(code, err, file=str(directory))
    shutil.rmtree(directory, ignore_errors=True)
