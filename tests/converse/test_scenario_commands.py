"""The commands a scenario's author uses, as a user runs them: ``converse new``, ``converse
scenarios [--show]``, ``converse validate`` with every problem at once, built-in names (and
near misses) wherever a scenario is taken, and dials' choices in ``--set`` and ``--grid``."""

from __future__ import annotations

from pathlib import Path

from _helpers import ROOT, one_error_line, run_cli
from converse.scenario._load import starter_text

ERROR = "converse: error: "


def test_new_writes_the_starting_scenario_and_it_runs(tmp_path: Path) -> None:
    made = run_cli("new", "mine.toml", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert made.stdout == "mine.toml\n"
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8") == starter_text()
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8").startswith("# ")
    ran = run_cli("run", "mine.toml", "--out", "runs", "-q", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / ran.stdout.strip() / "transcript.md").is_file()


def test_new_copies_a_builtin_byte_for_byte_and_the_copy_loads_anywhere(tmp_path: Path) -> None:
    made = run_cli("new", "china.toml", "--from", "labs-chinese-government", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    shipped = (ROOT / "scenarios" / "labs-chinese-government.toml").read_bytes()
    assert (tmp_path / "china.toml").read_bytes() == shipped
    checked = run_cli("validate", "china.toml", cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout == "china.toml: ok (labs-chinese-government, 5 agents)\n"


def test_new_never_overwrites_a_file(tmp_path: Path) -> None:
    (tmp_path / "mine.toml").write_text("my own work\n", encoding="utf-8")
    for args in (("new", "mine.toml"), ("new", "mine.toml", "--from", "three-labs")):
        refused = run_cli(*args, cwd=tmp_path)
        assert refused.returncode == 2
        assert one_error_line(refused) == f"{ERROR}mine.toml: already exists; converse new never overwrites a file"
    assert (tmp_path / "mine.toml").read_text(encoding="utf-8") == "my own work\n"


def test_new_from_an_unknown_name_suggests_the_nearest(tmp_path: Path) -> None:
    refused = run_cli("new", "x.toml", "--from", "three-lab", cwd=tmp_path)
    assert refused.returncode == 2
    assert one_error_line(refused) == (
        f"{ERROR}three-lab: no built-in scenario of that name; did you mean three-labs or three-labs-councils? "
        "(`converse scenarios` lists the built-in ones)"
    )
    assert not (tmp_path / "x.toml").exists()


def test_scenarios_show_prints_a_builtin_file(tmp_path: Path) -> None:
    shown = run_cli("scenarios", "--show", "three-labs-councils", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout == (ROOT / "scenarios" / "three-labs-councils.toml").read_text(encoding="utf-8")
    missing = run_cli("scenarios", "--show", "nested-council", cwd=tmp_path)
    assert missing.returncode == 2
    assert "did you mean nested-councils, mixed-councils or three-labs-councils?" in one_error_line(missing)


def test_run_of_an_unknown_name_suggests_the_nearest_builtin_ones(tmp_path: Path) -> None:
    result = run_cli("run", "three-lab", "--out", "runs", cwd=tmp_path)
    assert result.returncode == 2
    assert one_error_line(result) == (
        f"{ERROR}three-lab: no such scenario file or built-in scenario; did you mean three-labs or "
        "three-labs-councils? (`converse scenarios` lists the built-in ones)"
    )
    assert not (tmp_path / "runs").exists()


BROKEN = """name = "broken"
[clock]
start = 2025
end = "2027"
[dials]
regulation = { default = "harsh", choices = ["light", "strict"] }
[prompts]
system = "You speak for {name}."
turn = "It is {period}: {statements} {weather}"
[[agents]]
name = "Lab"
kind = "labb"
persna = "eager"
[agents.council]
rounds = 0
[[agents.council.members]]
name = "CEO"
"""


def test_validate_reports_every_problem_at_once(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(BROKEN, encoding="utf-8")
    result = run_cli("validate", "broken.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"{ERROR}broken.toml: $.clock.end: Expected int | null, got str",
        f"{ERROR}broken.toml: $.agents[0].kind: Invalid enum value 'labb'",
        f"{ERROR}broken.toml: $.agents[0]: unknown field persna (did you mean persona?)",
        f'{ERROR}broken.toml: $.dials.regulation: "harsh" is not one of the choices of dial regulation: "light", "strict"',
        f"{ERROR}broken.toml: $.prompts.turn: unknown placeholder {{weather}} (known: name, period, regulation, statements)",
        f"{ERROR}broken.toml: $.agents[0].council.rounds: must be at least 1",
        f"{ERROR}broken.toml: $.prompts.member_system: required by the council at $.agents[0].council",
        f"{ERROR}broken.toml: $.prompts.council_opening: required by the council at $.agents[0].council",
        f"{ERROR}broken.toml: $.prompts.member_turn: required by the council at $.agents[0].council",
        f"{ERROR}broken.toml: $.prompts.statement: required when an agent has a council",
    ]
    # run stops at the first of them, in one line.
    ran = run_cli("run", "broken.toml", "--out", "runs", cwd=tmp_path)
    assert ran.returncode == 2
    assert one_error_line(ran) == result.stderr.splitlines()[0]


def test_validate_goes_on_to_the_next_file(tmp_path: Path) -> None:
    (tmp_path / "broken.toml").write_text(BROKEN, encoding="utf-8")
    result = run_cli("validate", "broken.toml", "three-labs", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == "three-labs: ok (three-labs, 3 agents)\n"
    assert all(line.startswith(f"{ERROR}broken.toml: ") for line in result.stderr.splitlines())


def test_set_takes_a_bare_dial_name_within_its_choices(tmp_path: Path) -> None:
    ok = run_cli("run", "three-labs", "--set", "regulation=strict", "--set", "clock.end=2023", "-q", "--out", "runs",
                 cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    events = (tmp_path / ok.stdout.strip() / "events.jsonl").read_text(encoding="utf-8")
    assert "Government oversight of frontier AI: strict." in events
    for flag in ("regulation=harsh", "dials.regulation=harsh"):
        refused = run_cli("run", "three-labs", "--set", flag, "--out", "runs2", cwd=tmp_path)
        assert refused.returncode == 2
        line = one_error_line(refused)
        assert line.endswith(
            f'three-labs.toml: --set {flag}: "harsh" is not one of the choices of dial regulation: '
            '"none", "light", "moderate", "strict"'
        )
    assert not (tmp_path / "runs2").exists()


def test_grid_refuses_a_value_outside_the_choices(tmp_path: Path) -> None:
    refused = run_cli("sweep", "three-labs", "--grid", "race_pressure=relaxed,frantic", "--out", "sweep", cwd=tmp_path)
    assert refused.returncode == 2
    assert one_error_line(refused) == (
        f'{ERROR}--grid race_pressure=relaxed,frantic: "frantic" is not one of the choices of dial race_pressure: '
        '"relaxed", "intense", "cut-throat" (in three-labs)'
    )
    assert not (tmp_path / "sweep").exists()
