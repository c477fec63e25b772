"""The scenario files shipped in scenarios/: they load, have the promised shape, and their
prompts ask for what the offline model (and a real model) is expected to answer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from _helpers import ROOT, SCENARIOS
from converse import CompletionRequest, Hints, OfflineModel, Scenario, load_scenario
from converse.events import ChatMessage
from converse.scenario import Agent, PopulationPrompts, Prompts, scenario_data
from converse.scenario._templates import POPULATION_FIELDS, TEMPLATE_FIELDS, fill, template_fields

EXPECTED = {
    "three-labs", "three-labs-half-yearly", "labs-uk-government", "labs-chinese-government",
    "three-labs-councils", "mixed-councils", "nested-councils", "alignment-debate",
}
REPORTS = EXPECTED - {"alignment-debate"}
LABS = ["OpenAI", "Google DeepMind", "Anthropic"]


def load(name: str) -> Scenario:
    return load_scenario(ROOT / "scenarios" / f"{name}.toml")


def depth(agent: Agent) -> int:
    """How many levels of councils hang below an agent (0: none)."""
    if agent.council is None:
        return 0
    return 1 + max(depth(member) for member in agent.council.members)


def all_agents(agents: list[Agent]) -> list[Agent]:
    found = []
    for agent in agents:
        found.append(agent)
        if agent.council is not None:
            found.extend(all_agents(agent.council.members))
    return found


def all_prompts(scenario: Scenario) -> list[Prompts | PopulationPrompts]:
    councils = [agent.council for agent in all_agents(scenario.agents) if agent.council is not None]
    population = [scenario.population.prompts] if scenario.population is not None else []
    return [scenario.prompts, *(council.prompts for council in councils if council.prompts is not None), *population]


def test_the_eight_scenarios_are_there() -> None:
    assert {path.stem for path in SCENARIOS} >= EXPECTED


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_file_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert scenario.title.strip()
    assert scenario.description.strip()
    if scenario.roleplay is not None:  # a role-play ends by its own rules, not the clock
        assert scenario.roleplay.max_messages == 40
    else:
        assert scenario.clock.end is not None


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_file_says_what_it_is_and_how_to_run_it(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# ")
    header = text.split("\n\n", 1)[0]
    assert f"converse run scenarios/{path.name}" in text[: len(header) + 200]


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_templates_fill_and_dials_are_used(path: Path) -> None:
    scenario = load_scenario(path)
    used: set[str] = set()
    for prompts in all_prompts(scenario):
        fields = POPULATION_FIELDS if isinstance(prompts, PopulationPrompts) else TEMPLATE_FIELDS
        for key, (allowed, _) in fields.items():
            template = getattr(prompts, key)
            if template:
                used |= template_fields(template)
                filled = fill(template, {**scenario.dials, **{name: f"<{name}>" for name in allowed}})
                assert "{" not in filled
                assert "}" not in filled
    used |= {re.match(r"(?:not\s+)?(\w+)", when)[1] for when in conditions(scenario_data(path))}  # type: ignore[index]
    assert set(scenario.dials) <= used, "every dial should change some prompt or decide who takes part"


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_dial_but_a_switch_declares_its_choices(path: Path) -> None:
    scenario = load_scenario(path)
    for name, value in scenario.dials.items():
        if not isinstance(value, bool):
            assert value in scenario.dial_choices.get(name, []), name


def test_the_regulation_dial_takes_what_the_comments_of_three_labs_promised() -> None:
    scenario = load("three-labs")
    assert scenario.dial_choices == {
        "regulation": ["none", "light", "moderate", "strict"], "race_pressure": ["relaxed", "intense", "cut-throat"],
    }
    assert load("alignment-debate").dial_choices == {"tone": ["collegial", "combative", "hostile"]}


@pytest.mark.parametrize("path", [p for p in SCENARIOS if "\nextends = " in p.read_text(encoding="utf-8")], ids=lambda p: p.stem)
def test_a_copy_of_a_shipped_scenario_loads_anywhere(path: Path, tmp_path: Path) -> None:
    # It extends another by its built-in name, not by a path beside it.
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    assert load_scenario(copy) == load_scenario(path)


def conditions(node: object) -> list[str]:
    """Every ``when`` in plain scenario data."""
    if isinstance(node, dict):
        found = [node["when"]] if isinstance(node.get("when"), str) else []
        return found + [w for value in node.values() for w in conditions(value)]
    if isinstance(node, list):
        return [w for item in node for w in conditions(item)]
    return []


@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_prompts_ask_for_the_three_bullets(name: str) -> None:
    scenario = load(name)
    templates = [scenario.prompts.turn]
    if any(agent.council for agent in scenario.agents):
        templates.append(scenario.prompts.statement)
    for template in templates:
        for label in ("{name} {period}:", "- Progress:", "- Safety incident:", "- AGI timeline:"):
            assert label in template
        assert "only for {name}" in template


def test_three_labs() -> None:
    scenario = load("three-labs")
    assert [a.name for a in scenario.agents] == LABS
    assert (scenario.clock.start, scenario.clock.end, scenario.clock.step) == (2023, 2032, "year")
    assert not any(agent.council for agent in scenario.agents)
    assert all(agent.description.strip() for agent in scenario.agents)


def test_half_yearly() -> None:
    scenario = load("three-labs-half-yearly")
    assert scenario.clock.step == "half-year"
    assert scenario.clock.end is not None
    assert scenario.clock.end < 2032
    assert [a.name for a in scenario.agents] == LABS


def test_governments() -> None:
    uk = load("labs-uk-government")
    assert [a.name for a in uk.agents] == [*LABS, "UK Government"]
    government = uk.agents[-1].description.lower()
    assert "licence" in government
    assert "fines" in government
    china = load("labs-chinese-government")
    assert [a.name for a in china.agents] == [*LABS, "UK Government", "Chinese Government"]


def test_councils() -> None:
    scenario = load("three-labs-councils")
    assert [a.name for a in scenario.agents] == LABS
    assert (scenario.clock.start, scenario.clock.end) == (2023, 2030)
    assert scenario.conversation.deliberation == "concurrent"
    for agent in scenario.agents:
        assert agent.council is not None
        assert agent.council.rounds == 2
        assert agent.council.public_context == "last-period"
        assert len(agent.council.members) == 3
        assert all(member.persona.strip() for member in agent.council.members)
    personas = [m.persona for a in scenario.agents if a.council for m in a.council.members]
    assert len(set(personas)) == len(personas)


def test_mixed_councils() -> None:
    scenario = load("mixed-councils")
    with_council = [a.name for a in scenario.agents if a.council]
    without = [a.name for a in scenario.agents if not a.council]
    assert with_council
    assert without
    assert "UK Government" in [a.name for a in scenario.agents]


def test_nested_councils() -> None:
    scenario = load("nested-councils")
    assert max(depth(agent) for agent in scenario.agents) >= 2
    assert scenario.prompts.member_statement


def test_alignment_debate() -> None:
    scenario = load("alignment-debate")
    assert [a.name for a in scenario.agents] == LABS
    assert (scenario.clock.start, scenario.clock.end, scenario.clock.step) == (1, 6, "round")
    assert scenario.conversation.opening.strip()
    assert "three sentences" in scenario.prompts.system
    assert '"{name}:"' in scenario.prompts.system


# -- the offline model understands the shipped prompts -------------------------------------------


def system_prompt(scenario: Scenario, name: str) -> str:
    names = [a.name for a in scenario.agents]
    agent = next(a for a in scenario.agents if a.name == name)
    values = {
        "name": name, "description": agent.description, "organisations": ", ".join(names),
        "others": ", ".join(n for n in names if n != name), "first_period": "2023", "last_period": "2032",
        "unit": scenario.clock.step,
    }
    return fill(scenario.prompts.system, {**scenario.dials, **values})


@pytest.mark.parametrize("name", ["three-labs", "labs-chinese-government"])
def test_offline_model_writes_reports_for_report_scenarios(name: str) -> None:
    scenario = load(name)
    for agent in scenario.agents:
        user = fill(scenario.prompts.turn, {**scenario.dials, "name": agent.name, "period": "2026",
                                            "statements": scenario.conversation.opening})
        request = CompletionRequest(
            messages=[ChatMessage(role="system", content=system_prompt(scenario, agent.name)),
                      ChatMessage(role="user", content=user)],
            hints=Hints(kind="statement", speaker=agent.name, organisation=agent.name, period="2026"),
        )
        text = OfflineModel().answer(request)
        lines = text.split("\n")
        assert lines[0] == f"{agent.name} 2026:"
        assert [line.split(":", 1)[0] for line in lines[1:]] == ["- Progress", "- Safety incident", "- AGI timeline"]


def test_offline_model_writes_remarks_for_the_debate() -> None:
    scenario = load("alignment-debate")
    user = fill(scenario.prompts.turn, {**scenario.dials, "name": "Anthropic", "period": "Round 2",
                                        "statements": "OpenAI (Round 1): OpenAI: Oversight scales."})
    request = CompletionRequest(
        messages=[ChatMessage(role="system", content=system_prompt(scenario, "Anthropic")),
                  ChatMessage(role="user", content=user)],
        hints=Hints(kind="statement", speaker="Anthropic", organisation="Anthropic", period="Round 2"),
    )
    text = OfflineModel().answer(request)
    assert text.startswith("Anthropic: ")
    assert "\n" not in text
    assert "OpenAI" in text
