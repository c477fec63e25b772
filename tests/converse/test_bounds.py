"""Small inputs that ask for too much: a billion periods, repeats or agents, data nested
thousands deep, integers of thousands of digits, NaN and infinity. Each is one line from
``converse validate`` (and from loading, ``--set`` and ``--grid``) naming the file and the key
path, exit 2, found before anything is built: never a MemoryError, a RecursionError, a hang
or an "internal error"."""

from __future__ import annotations

import resource
import subprocess
import time
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

import converse
from _helpers import CONVERSE, cli_env, error_lines, one_error_line, run_cli
from converse.events import TurnGranted
from converse.scenario import scenario_from_dict, scenario_problems
from converse.sweeps import plan_sweep

SMALL = """
name = "small"
[clock]
start = 2025
end = 2026
[prompts]
system = "You are {name}."
turn = "It is {period}. {statements}"
statement = "It is {period}. {statements} Your council said: {debate}"
member_system = "You are {name} of {organisation}."
council_opening = "Meeting for {period}"
member_turn = "{period}: {debate}"
[judge]
enabled = false
[[agents]]
name = "A"
[[agents]]
name = "B"
"""

GIB = 1 << 30


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    return [(p.path, p.problem) for p in scenario_problems(write(tmp_path, text), list(overrides))]


def run_capped(*args: str, cwd: Path, memory: int = 2 * GIB, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``converse ARGS`` with its address space capped at ``memory`` bytes: building what was
    asked for would end in a MemoryError."""

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, resource.getrlimit(resource.RLIMIT_AS)[1]))

    return subprocess.run(
        [*CONVERSE, *args], cwd=cwd, env=cli_env(), capture_output=True, text=True, timeout=timeout,
        check=False, preexec_fn=cap,
    )


def agents(count: int, prefix: str = "Org") -> list[dict[str, Any]]:
    return [{"name": f"{prefix} {i}"} for i in range(count)]


# -- sizes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [("validate", "s.toml"), ("run", "s.toml", "-q", "--out", "runs")],
)
def test_a_billion_periods_is_one_line_before_any_is_built(tmp_path: Path, command: tuple[str, ...]) -> None:
    write(tmp_path, SMALL)
    started = time.monotonic()
    result = run_capped(*command, "--set", "clock.end=1000000000", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == (
        "converse: error: s.toml: $.clock.end: 2025 to 1000000000 by year is 999,997,976 periods; "
        "a scenario has at most 10,000"
    )
    assert time.monotonic() - started < 30
    assert not (tmp_path / "runs").exists()


def test_the_largest_clock_is_taken_and_one_more_period_is_not(tmp_path: Path) -> None:
    assert problems(tmp_path, SMALL, ("clock.end=12024",)) == []  # 2025 to 12024: 10,000 years
    assert problems(tmp_path, SMALL, ('clock.step="half-year"', "clock.end=7024")) == []
    assert [p for p, _ in problems(tmp_path, SMALL, ("clock.end=12025",))] == ["$.clock.end"]
    half = problems(tmp_path, SMALL, ('clock.step="half-year"', "clock.end=7025"))
    assert half == [("$.clock.end", "2025 to 7025 by half-year is 10,002 periods; a scenario has at most 10,000")]


def test_agents_members_and_rounds_have_maxima(tmp_path: Path) -> None:
    council = {"members": agents(101, "Member"), "rounds": 101}
    crowded = SMALL + "".join(f'[[agents]]\nname = "Org {i}"\n' for i in range(999))
    assert problems(tmp_path, crowded) == [
        ("$.agents", "1,001 agents and council members in all; a scenario has at most 1,000")
    ]
    found = problems(tmp_path, SMALL, (f"agents[0].council={_inline(council)}",))
    assert found == [
        ("$.agents[0].council.members", "101 members; a council has at most 100"),
        ("$.agents[0].council.rounds", "must be at most 100, not 101"),
    ]
    largest = {"members": agents(100, "Member"), "rounds": 100}
    assert problems(tmp_path, SMALL, (f"agents[0].council={_inline(largest)}",)) == []


def test_a_hundred_thousand_agents_are_refused_by_validate_at_once(tmp_path: Path) -> None:
    text = SMALL + "".join(f'[[agents]]\nname = "Org {i}"\n' for i in range(100_000))
    write(tmp_path, text)
    started = time.monotonic()
    result = run_capped("validate", "s.toml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == (
        "converse: error: s.toml: $.agents: 100,002 agents and council members in all; a scenario has at most 1,000"
    )
    assert time.monotonic() - started < 30


async def _setup_memory(count: int, tmp_path: Path) -> int:
    """Bytes allocated from the start of an offline run of ``count`` agents to its first turn."""
    scenario = scenario_from_dict(
        {"name": "many", "clock": {"start": 2025, "end": 2025}, "termination": {"max_turns": 1},
         "judge": {"enabled": False}, "prompts": {"system": "You are {name}.", "turn": "{period} {statements}"},
         "agents": agents(count)}
    )
    seen: list[int] = []

    def first_turn(event: converse.events.AnyEvent) -> None:
        if type(event) is TurnGranted and not seen:
            seen.append(tracemalloc.get_traced_memory()[0])

    tracemalloc.start()
    try:
        await converse.run_scenario(scenario, out=tmp_path / str(count), observer=first_turn)
    finally:
        tracemalloc.stop()
    return seen[0]


async def test_setting_up_ten_times_the_agents_takes_about_ten_times_the_memory(tmp_path: Path, backend: str) -> None:
    small = await _setup_memory(100, tmp_path)
    large = await _setup_memory(1_000, tmp_path)
    # Linear set-up gives about 10x (less, with what every run holds); every agent keeping a
    # list of all the others gave over 50x.
    assert large < 15 * small, (small, large)


# -- sweeps ------------------------------------------------------------------------------------


def test_a_sweep_of_a_billion_repeats_is_one_line(tmp_path: Path) -> None:
    result = run_capped("sweep", "three-labs", "--repeats", "1000000000", "--out", "sweep", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == "converse: error: --repeats: must be at most 10,000, not 1,000,000,000"
    assert not (tmp_path / "sweep").exists()


def test_a_grid_of_too_many_runs_is_one_line(tmp_path: Path) -> None:
    years = ",".join(str(y) for y in range(2024, 2035))
    result = run_cli("sweep", "three-labs", "--grid", f"clock.end={years}", "--repeats", "10000", "--out", "s",
                     cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == (
        "converse: error: --grid: 11 grid cells x 10,000 seeds is 110,000 runs; a sweep has at most 100,000"
    )


def test_a_sweep_is_planned_without_making_its_runs(tmp_path: Path) -> None:
    years = [str(y) for y in range(2024, 2034)]
    tracemalloc.start()
    try:
        _, _, runs = plan_sweep("three-labs", [f"clock.end={','.join(years)}"], repeats=10_000, seed=7)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # a list of the 100,000 runs alone is over 10 MB
    assert len(runs) == 100_000
    assert runs[0].run_id == "clock.end=2024,seed=7"
    assert runs[12_345].run_id == "clock.end=2025,seed=2352"
    assert runs[-1].run_id == "clock.end=2033,seed=10006"
    assert runs[-1].overrides == ("clock.end=2033",)
    assert [r.run_id for r in runs[9_999:10_001]] == ["clock.end=2024,seed=10006", "clock.end=2025,seed=7"]
    assert next(iter(runs)) == runs[0]


# -- nesting, integers, numbers ----------------------------------------------------------------


def test_toml_nested_a_hundred_thousand_deep_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    inline = "{a = " * 100_000 + "1" + "}" * 100_000
    dotted = ".".join(["a"] * 20_000)
    write(tmp_path, SMALL + f"x = {deep}\n", "arrays.toml")
    write(tmp_path, SMALL + f"x = {inline}\n", "tables.toml")
    write(tmp_path, SMALL + f"[{dotted}]\nb = 1\n", "header.toml")
    write(tmp_path, SMALL.replace('name = "small"', f'{dotted} = 1\nname = "small"'), "dotted.toml")
    names = ["arrays.toml", "tables.toml", "header.toml", "dotted.toml"]
    started = time.monotonic()
    result = run_cli("validate", *names, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert error_lines(result) == [
        f"converse: error: {name}: $: tables and arrays are nested more than 64 deep" for name in names
    ]
    assert time.monotonic() - started < 20


def test_data_under_python_s_stack_but_too_deep_is_named_where(tmp_path: Path) -> None:
    fine = "{a = " * 60 + "1" + "}" * 60
    assert problems(tmp_path, SMALL + f"[model.params]\nx = {fine}\n") == []
    deep = "[" * 200 + "]" * 200
    assert problems(tmp_path, SMALL, (f"model.params.x={deep}",)) == [
        ("$.model.params.x" + "[0]" * 62, "tables and arrays are nested more than 64 deep")
    ]


def test_a_deep_set_value_and_a_long_extends_chain_are_one_line(tmp_path: Path) -> None:
    write(tmp_path, SMALL, "c0.toml")
    for i in range(1, 2_000):
        write(tmp_path, f'extends = "c{i - 1}.toml"\n', f"c{i}.toml")
    deep = "[" * 5_000 + "]" * 5_000
    result = run_cli("validate", "c1999.toml", "c0.toml", "--set", f"clock.end={deep}", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert error_lines(result) == [
        f"converse: error: {tmp_path / 'c1968.toml'}: $.extends: more than 32 files extend one another in one chain",
        "converse: error: c0.toml: --set clock.end: tables and arrays are nested more than 64 deep",
    ]
    assert run_cli("validate", "c31.toml", cwd=tmp_path).returncode == 0  # 32 files: the most


def test_integers_of_thousands_of_digits_are_one_line(tmp_path: Path) -> None:
    huge = "9" * 5_000
    write(tmp_path, SMALL.replace("end = 2026", f"end = {huge}"), "huge.toml")
    write(tmp_path, SMALL, "s.toml")
    too_long = "an integer is too long: integers must fit in 64 bits (-9223372036854775808 to 9223372036854775807)"
    result = run_cli("validate", "huge.toml", "s.toml", "--set", f"clock.start={huge}", cwd=tmp_path)
    assert error_lines(result) == [
        f"converse: error: huge.toml: $: {too_long}",
        f"converse: error: s.toml: --set clock.start: {too_long}",
    ]
    grid = run_cli("sweep", "s.toml", "--grid", f"clock.end={huge}", "--out", "sweep", cwd=tmp_path)
    assert grid.returncode == 2
    assert one_error_line(grid) == f"converse: error: --grid clock.end={huge[:50]}...: {too_long}"
    # Fewer digits than Python's limit, more than 64 bits: named where it is.
    assert problems(tmp_path, SMALL, (f"dials.budget={'9' * 30}",)) == [
        ("$.dials.budget", "integers must fit in 64 bits (-9223372036854775808 to 9223372036854775807)")
    ]


def test_nan_infinity_and_negative_numbers_are_named(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        SMALL,
        ("model.temperature=nan", "model.max_tokens=-5", "budget.usd=inf", "dials.x=-inf",
         "model.params.top_p=nan", "prices.offline={input=nan}", "model.timeout=inf"),
    )
    assert sorted(found) == sorted([
        ("$.model.temperature", "must be a finite number, not nan"),
        ("$.model.params.top_p", "must be a finite number, not nan"),
        ("$.model.timeout", "must be a finite number, not inf"),
        ("$.dials.x", "must be a finite number, not -inf"),
        ("$.prices.offline.input", "must be a finite number, not nan"),
        ("$.budget.usd", "must be a finite number, not inf"),
        ("$.model.max_tokens", "must be at least 1, not -5"),
    ])
    assert problems(tmp_path, SMALL, ("model.temperature=-0.5",)) == [
        ("$.model.temperature", "must not be negative, not -0.5")
    ]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("offline?latency=inf", "latency must be a finite number of seconds, not 'inf'"),
        ("offline?latency=nan", "latency must be a finite number of seconds, not 'nan'"),
        ("openai:m?timeout=inf", "timeout must be a finite number of seconds, not 'inf'"),
    ],
)
def test_a_spec_that_would_never_answer_is_refused(tmp_path: Path, spec: str, problem: str) -> None:
    write(tmp_path, SMALL)
    result = run_cli("run", "s.toml", "--model", spec, "--out", "runs", cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stderr
    assert one_error_line(result) == f"converse: error: model {spec!r}: {problem}"
    checked = run_cli("validate", "s.toml", "--set", f'model.spec="{spec}"', "--set", f'judge.model="{spec}"',
                      cwd=tmp_path)
    assert error_lines(checked) == [
        f"converse: error: s.toml: $.model.spec: {problem}",
        f"converse: error: s.toml: $.judge.model: {problem}",
    ]


def _inline(value: Any) -> str:
    """``value`` as a TOML inline value (for ``--set``)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_inline(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)

