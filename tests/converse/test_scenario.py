"""Scenario files: merging, overrides and every kind of mistake, each named by file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from converse import ScenarioError, load_scenario
from converse.scenario import scenario_from_dict, scenario_problems, scenario_to_dict
from converse.scenario._clock import period_label, periods

BASE = """
name = "base"
[clock]
start = 2023
end = 2025
[prompts]
system = "You are {name}."
turn = "It is {period}. {statements}"
statement = "It is {period}. {statements} Your council said: {debate}"
member_system = "You are {name} of {organisation}."
council_opening = "Meeting for {period}: {public_record}"
member_turn = "{period}: {debate}"
member_statement = "{period}: {debate} / {advice}"
[[agents]]
name = "A"
[[agents]]
name = "B"
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str, overrides: tuple[str, ...] = ()) -> ScenarioError:
    path = write(tmp_path, "s.toml", text)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path, list(overrides))
    assert caught.value.file == str(path)
    return caught.value


def test_a_good_scenario_round_trips_through_plain_data(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "s.toml", BASE))
    assert [a.name for a in scenario.agents] == ["A", "B"]
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario
    assert periods(scenario.clock) == ["2023", "2024", "2025"]


def test_extends_merges_tables_and_adds_agents(tmp_path: Path) -> None:
    write(tmp_path, "base.toml", BASE)
    child = write(
        tmp_path,
        "child.toml",
        'extends = "base.toml"\nname = "child"\n[clock]\nstep = "half-year"\n[[add_agents]]\nname = "C"\n',
    )
    scenario = load_scenario(child)
    assert scenario.name == "child"
    assert scenario.clock.start == 2023
    assert scenario.clock.step == "half-year"
    assert [a.name for a in scenario.agents] == ["A", "B", "C"]
    assert period_label(scenario.clock, 3) == "H2 2024"


def test_an_extends_cycle_is_named(tmp_path: Path) -> None:
    write(tmp_path, "a.toml", 'extends = "b.toml"\nname = "a"\n')
    write(tmp_path, "b.toml", 'extends = "a.toml"\nname = "b"\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "a.toml")
    assert caught.value.path == "$.extends"
    assert "cycle: a.toml -> b.toml -> a.toml" in str(caught.value)


def test_an_agent_inside_its_own_council_is_a_cycle(tmp_path: Path) -> None:
    # The council table attaches to the last agent, B.
    own = BASE + '[agents.council]\n[[agents.council.members]]\nname = "B"\n'
    err = error_of(tmp_path, own)
    assert err.path == "$.agents[1].council.members[0].name"
    assert "inside its own council (a cycle)" in err.problem
    taken = BASE + '[agents.council]\n[[agents.council.members]]\nname = "A"\n'
    assert "already the name of $.agents[0]" in error_of(tmp_path, taken).problem


@pytest.mark.parametrize(
    ("override", "path", "problem"),
    [
        ("clock.end=2020", "$.clock.end", "before it starts"),
        ("clock.step=monthly", "$.clock.step", "Invalid enum value 'monthly'"),
        ("conversation.turn_policy=scripted", "$.conversation.order", "needs an order"),
        ('conversation.order=["A"]', "$.conversation.order", "only the scripted turn policy"),
        ("agents[0].name=B", "$.agents[1].name", "already the name"),
        ("termination.max_turns=0", "$.termination.max_turns", "at least 1"),
        ("dials.period=3", "$.dials.period", "clashes"),
        ("prompts.turn={period} {statements} {unknown_dial}", "$.prompts.turn", "unknown placeholder"),
        ("prompts.turn={period!r} {statements}", "$.prompts.turn", "bad placeholder"),
        ("prompts.turn={period} {statements", "$.prompts.turn", "bad template"),
    ],
)
def test_override_mistakes_name_the_key_path(tmp_path: Path, override: str, path: str, problem: str) -> None:
    err = error_of(tmp_path, BASE, (override,))
    assert err.path == path
    assert problem in err.problem


def test_overrides_set_nested_values_and_dials_reach_templates(tmp_path: Path) -> None:
    scenario = load_scenario(
        write(tmp_path, "s.toml", BASE),
        ["dials.mood=grim", "prompts.system=You are {name}, feeling {mood}.", "agents[1].description=The second"],
    )
    assert scenario.dials == {"mood": "grim"}
    assert scenario.agents[1].description == "The second"


@pytest.mark.parametrize("item", ["nokey", "=3", "agents..name=x", "agents[x]=1", "[0]=1"])
def test_malformed_overrides(tmp_path: Path, item: str) -> None:
    err = error_of(tmp_path, BASE, (item,))
    assert err.path == "--set"


def test_a_council_needs_members_and_member_prompts(tmp_path: Path) -> None:
    text = BASE.replace("[[agents]]\nname = \"B\"\n", "") + "[agents.council]\nmembers = []\n"
    assert error_of(tmp_path, text).path == "$.agents[0].council.members"
    no_prompt = BASE.replace('member_turn = "{period}: {debate}"\n', "") + (
        '[agents.council]\n[[agents.council.members]]\nname = "M"\n'
    )
    err = error_of(tmp_path, no_prompt)
    assert err.path == "$.prompts.member_turn"
    assert "$.agents[1].council" in err.problem


def test_nothing_ending_the_conversation_is_an_error(tmp_path: Path) -> None:
    err = error_of(tmp_path, BASE.replace("end = 2025\n", ""))
    assert err.path == "$.termination"


def test_unreadable_files(tmp_path: Path) -> None:
    binary = tmp_path / "b.toml"
    binary.write_bytes(b"\xff\xfe\x00junk")
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(binary)
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.toml")


WHEN = """
name = "when"
[clock]
start = 2023
end = 2024
[dials]
china = false
labs = 2
mood = "calm"
[conversation]
turn_policy = "scripted"
order = ["A", "China", "C", "B"]
[prompts]
system = "You are {name}."
turn = "It is {period}. {statements}"
statement = "It is {period}. {statements} {debate}"
member_system = "You are {name} of {organisation}."
council_opening = "Meeting for {period}"
member_turn = "{period}: {debate}"
[[agents]]
name = "A"
[agents.council]
when = "mood == \\"tense\\""
[[agents.council.members]]
name = "A1"
[[agents]]
name = "B"
[[agents]]
name = "China"
when = "china"
[[agents]]
name = "C"
when = "labs >= 3"
"""


@pytest.mark.parametrize(
    ("overrides", "agents", "council"),
    [
        ((), ["A", "B"], False),
        (("dials.china=true",), ["A", "B", "China"], False),
        (("dials.labs=3", "dials.mood='tense'"), ["A", "B", "C"], True),
    ],
)
def test_when_decides_who_takes_part(
    tmp_path: Path, overrides: tuple[str, ...], agents: list[str], council: bool
) -> None:
    scenario = load_scenario(write(tmp_path, "s.toml", WHEN), list(overrides))
    assert [a.name for a in scenario.agents] == agents
    assert scenario.conversation.order == [n for n in ["A", "China", "C", "B"] if n in agents]
    assert (scenario.agents[0].council is not None) is council
    # What the log records loads back to the same scenario.
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario


@pytest.mark.parametrize(
    ("change", "path", "problem"),
    [
        (('when = "china"', 'when = "chna"'), "$.agents[2].when", "no dial named 'chna' (dials: china, labs, mood)"),
        (('when = "labs >= 3"', 'when = "labs >= \\"3\\""'), "$.agents[3].when", "compares dial 'labs' (int) with str"),
        (('when = "labs >= 3"', 'when = "labs >= three"'), "$.agents[3].when", "is not a TOML value"),
        (('when = "china"', 'when = "china > 1"'), "$.agents[2].when", "compares dial 'china' (bool) with int"),
        (('when = "china"', 'when = "not china == true"'), "$.agents[2].when", "is not a condition like"),
        (('when = "china"', 'when = 3'), "$.agents[2].when", "Expected str | null, got int"),
    ],
)
def test_bad_conditions_name_the_key_path(tmp_path: Path, change: tuple[str, str], path: str, problem: str) -> None:
    err = error_of(tmp_path, WHEN.replace(*change))
    assert err.path == path
    assert problem in err.problem


def test_switching_every_agent_off_is_an_error(tmp_path: Path) -> None:
    text = WHEN.replace('name = "A"\n', 'name = "A"\nwhen = "china"\n').replace('name = "B"\n', 'name = "B"\nwhen = "china"\n')
    err = error_of(tmp_path, text, ("dials.labs=1",))
    assert (err.path, err.problem) == ("$.agents", "every agent is switched off by its `when`")


# -- every problem at once ---------------------------------------------------------------------


def test_every_problem_of_a_file_is_found_in_one_pass(tmp_path: Path) -> None:
    text = (
        BASE.replace('name = "base"\n', 'name = "base"\ncolour = "red"\n')
        .replace("end = 2025\n", 'end = "soon"\nstepp = "year"\n')
        .replace('turn = "It is {period}. {statements}"', 'turn = "It is {period}. {mood} {weather}"')
        + 'kind = "labb"\n[agents.council]\nrounds = 0\n[[agents.council.members]]\nname = "B"\n'
    )
    path = write(tmp_path, "s.toml", text)
    found = [(p.path, p.problem) for p in scenario_problems(path, ["clock.start=soon"])]
    assert found == [
        ("$", "unknown field colour"),
        ("$.clock.start", "Expected int, got str"),
        ("$.clock.end", "Expected int | null, got str"),
        ("$.clock", "unknown field stepp (did you mean step?)"),
        ("$.agents[1].kind", "Invalid enum value 'labb'"),
        (
            "$.prompts.turn",
            "unknown placeholder {mood}, {weather} (known: name, period, statements)",
        ),
        ("$.prompts.turn", "must contain {statements}"),
        ("$.agents[1].council.rounds", "must be at least 1"),
        ("$.agents[1].council.members[0].name", "'B' appears inside its own council (a cycle)"),
    ]
    assert all(p.file == str(path) for p in scenario_problems(path))
    # Loading stops at the first of them, and says the same.
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    assert str(caught.value) == str(scenario_problems(path)[0])
    assert scenario_problems(write(tmp_path, "good.toml", BASE)) == []


def test_a_problem_caused_by_a_value_of_the_wrong_type_is_not_reported_twice(tmp_path: Path) -> None:
    # clock.end is dropped as the wrong type: "nothing ends the conversation" would only be
    # the default speaking.
    path = write(tmp_path, "s.toml", BASE.replace("end = 2025", 'end = "2025"'))
    assert [p.path for p in scenario_problems(path)] == ["$.clock.end"]
    missing = write(tmp_path, "m.toml", BASE + '[[agents]]\ndescription = "no name"\n')
    assert [(p.path, p.problem) for p in scenario_problems(missing)] == [
        ("$.agents[2]", "Object missing required field name")
    ]


def test_bad_overrides_are_each_reported_and_the_file_checked_without_them(tmp_path: Path) -> None:
    path = write(tmp_path, "s.toml", BASE)
    found = scenario_problems(path, ["nokey", "agents[5].name=X", "clock.end=2020"])
    assert [p.path for p in found] == ["--set", "$.agents[5]", "$.clock.end"]


# -- dials: bare names, choices ----------------------------------------------------------------

DIALS = BASE + """
[dials]
regulation = { default = "light", choices = ["none", "light", "strict"] }
labs = { default = 3, choices = [2, 3, 4] }
china = true
"""


def test_a_dial_table_gives_the_dial_its_default_and_its_choices(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, "s.toml", DIALS))
    assert scenario.dials == {"regulation": "light", "labs": 3, "china": True}
    assert scenario.dial_choices == {"regulation": ["none", "light", "strict"], "labs": [2, 3, 4]}
    assert scenario_from_dict(scenario_to_dict(scenario)) == scenario


@pytest.mark.parametrize(
    ("overrides", "dials"),
    [
        (["regulation=strict"], {"regulation": "strict", "labs": 3, "china": True}),
        (["dials.regulation=none", "labs=4", "china=false"], {"regulation": "none", "labs": 4, "china": False}),
        (["title=t", "dials.mood=grim"], {"regulation": "light", "labs": 3, "china": True, "mood": "grim"}),
    ],
)
def test_set_takes_a_dial_by_its_bare_name(tmp_path: Path, overrides: list[str], dials: dict[str, object]) -> None:
    assert load_scenario(write(tmp_path, "s.toml", DIALS), overrides).dials == dials


@pytest.mark.parametrize(
    ("override", "problem"),
    [
        ("regulation=harsh", '"harsh" is not one of the choices of dial regulation: "none", "light", "strict"'),
        ("dials.labs=5", "5 is not one of the choices of dial labs: 2, 3, 4"),
        ("regulaton=strict", "no dial or key named 'regulaton'; did you mean regulation? (dials: china, labs, regulation)"),
    ],
)
def test_set_refuses_a_value_outside_the_choices_and_an_unknown_name(
    tmp_path: Path, override: str, problem: str
) -> None:
    err = error_of(tmp_path, DIALS, (override,))
    assert (err.path, err.problem) == (f"--set {override}", problem)


def test_a_file_extending_a_dial_table_keeps_its_choices(tmp_path: Path) -> None:
    write(tmp_path, "base.toml", DIALS)
    child = write(tmp_path, "child.toml", 'extends = "base.toml"\nname = "c"\n[dials]\nregulation = "strict"\n')
    scenario = load_scenario(child)
    assert (scenario.dials["regulation"], scenario.dial_choices["regulation"]) == ("strict", ["none", "light", "strict"])
    wrong = write(tmp_path, "wrong.toml", 'extends = "base.toml"\nname = "w"\n[dials]\nregulation = "harsh"\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(wrong)
    assert (caught.value.file, caught.value.path) == (str(wrong), "$.dials.regulation")
    assert "is not one of the choices of dial regulation" in caught.value.problem


@pytest.mark.parametrize(
    ("table", "path", "problem"),
    [
        ('{ default = "x", choices = ["a", "b"] }', "$.dials.d", '"x" is not one of the choices of dial d: "a", "b"'),
        ('{ choices = ["a"] }', "$.dials.d", "a dial table needs a default"),
        ('{ default = "a", choice = ["a"] }', "$.dials.d", "unknown field choice (did you mean choices?)"),
        ('{ default = "a", choices = [] }', "$.dials.d.choices", "give at least one choice"),
        ('{ default = "a", choices = ["a", 1] }', "$.dials.d.choices", "mixes number and string"),
        ('{ default = 1, choices = ["a"] }', "$.dials.d", "is a number, and its choices are each a string"),
        ('{ default = "a", choices = ["a", "a"] }', "$.dials.d.choices", "a choice is given twice"),
        ('{ default = "a", choices = ["a", [1]] }', "$.dials.d.choices[1]", "Expected"),
        ('{ default = [1] }', "$.dials.d.default", "Expected"),
    ],
)
def test_dial_table_mistakes_name_the_key_path(tmp_path: Path, table: str, path: str, problem: str) -> None:
    err = error_of(tmp_path, f"{BASE}[dials]\nd = {table}\n")
    assert err.path == path
    assert problem in err.problem


# -- extends and names -------------------------------------------------------------------------


def test_extends_takes_a_builtin_name(tmp_path: Path) -> None:
    child = write(tmp_path, "mine.toml", 'extends = "three-labs-councils"\nname = "mine"\n[clock]\nend = 2024\n')
    scenario = load_scenario(child)
    assert (scenario.name, scenario.clock.end) == ("mine", 2024)
    assert scenario.agents[0].council is not None
    # A file of that name beside it comes first.
    write(tmp_path, "three-labs-councils", BASE)
    beside = write(tmp_path, "beside.toml", 'extends = "three-labs-councils"\nname = "beside"\n')
    assert [a.name for a in load_scenario(beside).agents] == ["A", "B"]


def test_an_unknown_name_suggests_the_nearest_builtin_ones(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario("three-lab")
    assert caught.value.problem == (
        "no such scenario file or built-in scenario; did you mean three-labs or three-labs-councils? "
        "(`converse scenarios` lists the built-in ones)"
    )
    child = write(tmp_path, "mine.toml", 'extends = "three-labs-councilz"\nname = "mine"\n')
    with pytest.raises(ScenarioError) as caught:
        load_scenario(child)
    assert (caught.value.file, caught.value.path) == (str(child), "$.extends")
    assert caught.value.problem.startswith(
        "no such scenario file or built-in scenario: three-labs-councilz; did you mean three-labs-councils or"
    )
