"""Whatever name a person gives an agent is refused by ``converse validate``, or carried through
the run, the judge's verdict, ``resume`` and the ledger under that name: never a crash after
the calls were paid for."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import error_lines, run_cli
from converse._exceptions import JudgeReturnError
from converse.events import Judged, Ledger
from converse.scenario import load_scenario, verdict_type
from converse.scenario._verdict import scores_of, verdict_from_return

# Names JSON would carry, and msgspec takes as no field name ('"', '\'), one that is the key a
# such name would get, and a name with a space.
NAMES = ('Lab "Q"', "back\\slash", "field_0_", "Google DeepMind")

SCENARIO = """
name = "names"
[clock]
start = 2025
end = 2025
[prompts]
system = "You are {name}; the others are {others}."
turn = "It is {period}. {statements}"
""" + "".join(f"[[agents]]\nname = '{name}'\nkind = \"lab\"\n" for name in NAMES)


def verdict_subjects(events: list[converse.events.AnyEvent]) -> set[str | None]:
    judged = [e for e in events if isinstance(e, Judged)]
    assert len(judged) == 1
    return {score.subject for score in judged[0].scores}


def test_names_json_keys_cannot_take_are_judged_and_resumed_under_their_names(tmp_path: Path) -> None:
    (tmp_path / "names.toml").write_text(SCENARIO, encoding="utf-8")
    result = run_cli("run", "names.toml", "--out", "runs", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    log = tmp_path / "runs" / "names-seed0" / "events.jsonl"
    events = converse.read_events(log)
    assert verdict_subjects(events) == {None, *NAMES}
    ledger = next(e for e in events if isinstance(e, Ledger))
    assert [row.agent for row in ledger.entries] == [*sorted(NAMES), "judge", "total"]

    # A run cut off before its verdict (killed while the judge was asked) resumes to one.
    lines = log.read_bytes().splitlines(keepends=True)
    first_judge_call = next(i for i, line in enumerate(lines) if b'"purpose":"judge"' in line)
    log.write_bytes(b"".join(lines[:first_judge_call]))
    resumed = run_cli("resume", "runs/names-seed0", "-q", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert verdict_subjects(converse.read_events(log)) == {None, *NAMES}


def test_the_schema_keys_such_a_name_apart_and_says_whose_it_is(tmp_path: Path) -> None:
    (tmp_path / "names.toml").write_text(SCENARIO, encoding="utf-8")
    schema = msgspec.json.schema(verdict_type(load_scenario(tmp_path / "names.toml")))
    per_lab = schema["$defs"]["Verdict_capability"]["properties"]
    # 'Lab "Q"' is first: its key would be field_0_, which is another agent's name.
    assert list(per_lab) == ["field_0__", "field_1_", "field_0_", "Google DeepMind"]
    assert per_lab["field_0__"]["description"] == 'The lab Lab "Q".'
    assert per_lab["field_1_"]["description"] == "The lab back\\slash."
    assert "description" not in per_lab["field_0_"]


def test_a_python_judge_scores_agents_by_their_names(tmp_path: Path) -> None:
    (tmp_path / "names.toml").write_text(SCENARIO, encoding="utf-8")
    scenario = load_scenario(tmp_path / "names.toml")
    each = dict.fromkeys(NAMES, 5)
    scores = {"capability_progress": 4, "capability": each, "safety_risk": 3, "risk": each,
              "regulation_level": 2, "agi_year": dict.fromkeys(NAMES)}
    verdict = verdict_from_return({"summary": "Quiet.", "scores": scores}, scenario)
    got = {(s.name, s.subject): s.value for s in scores_of(scenario, verdict)}
    assert got[("capability", 'Lab "Q"')] == 5
    assert got[("risk", "back\\slash")] == 5
    assert got[("capability", "field_0_")] == 5
    with pytest.raises(JudgeReturnError) as caught:
        verdict_from_return({"summary": "Quiet.", "scores": {**scores, "risk": {**each, 'Lab "Q"': 11}}}, scenario)
    assert caught.value.path == '$.scores.risk.Lab "Q"'
    missing = {name: 5 for name in NAMES if name != "back\\slash"}
    with pytest.raises(JudgeReturnError) as caught:
        verdict_from_return({"summary": "Quiet.", "scores": {**scores, "risk": missing}}, scenario)
    assert "back\\slash" in str(caught.value)
    assert "field_1_" not in str(caught.value)


def test_names_that_are_no_line_of_text_or_a_ledger_row_are_refused(tmp_path: Path) -> None:
    council_prompts = (
        'turn = "It is {period}. {statements}"\nstatement = "{period} {statements} {debate}"\n'
        'member_system = "You are {name}."\ncouncil_opening = "{period}"\nmember_turn = "{period} {debate}"'
    )
    text = SCENARIO.replace('turn = "It is {period}. {statements}"', council_prompts) + """
[[agents]]
name = "two\\nlines"
[[agents]]
name = "tab\\there"
[[agents]]
name = "total"
[[agents]]
name = "Council"
[agents.council]
members = [{ name = "judge" }, { name = "bell\\u0007" }]
"""
    (tmp_path / "names.toml").write_text(text, encoding="utf-8")
    result = run_cli("validate", "names.toml", cwd=tmp_path)
    assert result.returncode == 2
    ledger = "is taken by the run's ledger, whose rows judge and total are no agent's: call the agent something else"
    assert error_lines(result) == [
        "converse: error: names.toml: $.agents[4].name: 'two\\nlines' holds the control character '\\n': "
        "a name is one line of text",
        "converse: error: names.toml: $.agents[5].name: 'tab\\there' holds the control character '\\t': "
        "a name is one line of text",
        f"converse: error: names.toml: $.agents[6].name: 'total' {ledger}",
        f"converse: error: names.toml: $.agents[7].council.members[0].name: 'judge' {ledger}",
        "converse: error: names.toml: $.agents[7].council.members[1].name: 'bell\\x07' holds the control "
        "character '\\x07': a name is one line of text",
    ]
    # "Judge" and "Totals" are names like any other.
    (tmp_path / "ok.toml").write_text(SCENARIO + '[[agents]]\nname = "Judge"\n[[agents]]\nname = "Totals"\n')
    assert run_cli("validate", "ok.toml", cwd=tmp_path).returncode == 0
