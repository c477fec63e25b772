"""The offline model on a scenario a user wrote: their own prompts, names and personas.

What a newcomer sees in their first hour: no speech made of their prompt templates, each
organisation acting as what its ``kind`` says it is (whatever its name), outcomes that
differ from seed to seed (so a sweep's intervals mean something), and the same seed giving
the same run in any process.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import converse
from _helpers import cli_env, run_cli
from converse.events import Judged, LLMCall, Utterance
from converse.testing import events_of, run_and_read

# Prompts of the user's own, whose scaffolding looks like "Name: text" and "Name (period):"
# lines: the shape of what the engine puts in front of an agent.
SCENARIO = '''
name = "brussels"
title = "Brussels and two startups"

[clock]
start = {start}
end = {end}

[prompts]
system = """
This is a role-play about AI policy in Europe. You are {{name}}: {{description}}
The other players are {{others}}. Every {{unit}} from {{first_period}} to {{last_period}} each player \\
publishes a statement."""
turn = """
The story so far: {{statements}}
{task}"""
statement = """
The story so far: {{statements}}
What your board said: {{debate}}
{task}"""
member_system = """
You sit on the board of {{organisation}}. You are {{name}}. Character: {{persona}}
About {{organisation}}: {{organisation_description}}
Also on the board: {{colleagues}}."""
council_opening = "Board meeting of {{organisation}} about {{period}}. Public record: {{public_record}}"
member_turn = """
The debate so far: {{debate}}
Your task: one sentence for {{period}}, starting with your name."""

[[agents]]
name = "{government}"
kind = "government"
description = "It enforces the AI Act on general-purpose models: it can fine, inspect and order pauses."

[[agents]]
name = "Acme"
kind = "lab"
description = "A Paris startup training open-weight frontier models."

[agents.council]
rounds = 2

[[agents.council.members]]
name = "Acme CEO"
persona = "Impatient and casual; wants to ship every quarter."

[[agents.council.members]]
name = "Acme Safety Lead"
persona = "Careful; insists on red-teaming before any release."

[[agents]]
name = "Borealis"
kind = "lab"
description = "A Helsinki lab building small, efficient models for industry."
'''
TASK = """Your task: write the statement of {name} for {period} in three bullets, like this:
{name} {period}:
- Progress: what {name} achieved
- Safety incident: what went wrong
- AGI timeline: when {name} expects AGI
House style (strict): plain words."""
LABS = ("Acme", "Borealis")
VERSIONED_MODEL = re.compile(r"\b[A-Z][a-z]+ \d+\.\d")
REGULATORY = re.compile(
    r"licen|\blaw\b|\bact\b|\brules?\b|regulat|fine|inspect|\bban\b|pause|evaluat|audit|export|treaty"
    r"|agreement|consultation|registry|guidance|summit|declaration|oversight|compulsory|mandatory",
    re.IGNORECASE,
)


def own_scenario(tmp_path: Path, government: str = "EU AI Office", start: int = 2025, end: int = 2030) -> Path:
    path = tmp_path / "brussels.toml"
    path.write_text(SCENARIO.format(government=government, start=start, end=end, task=TASK), encoding="utf-8")
    return path


def template_phrases(path: Path) -> set[str]:
    """Every phrase of two words or more that the scenario's prompt templates write
    themselves: the text between placeholders and punctuation, less the format's bullets."""
    prompts = converse.load_scenario(path).prompts
    phrases: set[str] = set()
    for template in (getattr(prompts, field) for field in prompts.__struct_fields__):
        for line in template.splitlines():
            if line.startswith("- ") or "{name} {period}" in line:
                continue  # the answer's own format: "- Progress: ..."
            for piece in re.split(r"\{[a-z_]+\}|[.:;,?!()]", line):
                if len(piece.split()) >= 2:
                    phrases.add(piece.strip())
    return phrases


def bullet(text: str, label: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(f"- {label}: "))


async def test_no_statement_or_council_line_repeats_the_prompt_templates(tmp_path: Path, backend: str) -> None:
    path = own_scenario(tmp_path)
    phrases = template_phrases(path)
    assert {"The debate so far", "Your task", "The story so far", "House style"} <= phrases
    said = []
    for seed in range(3):
        _, events = await run_and_read(path, seed=seed, out=tmp_path / "runs")
        said += events_of(events, Utterance)
    lines = [u.text for u in said if u.conversation == ("top", "Acme")]
    assert len(lines) == 3 * 6 * 4  # three runs of six years, two rounds of two members
    for u in said:
        assert not [p for p in phrases if p in u.text], u.text
    # What the board says still answers the colleague who spoke before, by their role.
    assert any("the Safety Lead" in t or "the CEO" in t for t in lines)


@pytest.mark.parametrize("government", ["EU AI Office", "Northwind Systems"])
async def test_a_government_regulates_whatever_its_name(government: str, tmp_path: Path, backend: str) -> None:
    path = own_scenario(tmp_path, government)
    statements: list[Utterance] = []
    for seed in range(2):
        _, events = await run_and_read(path, seed=seed, out=tmp_path / "runs")
        statements += [u for u in events_of(events, Utterance) if u.conversation == ("top",)]
    ruling = [bullet(u.text, "Progress") for u in statements if u.actor == government]
    assert len(ruling) == 12
    assert not [p for p in ruling if VERSIONED_MODEL.search(p)]  # it releases no models
    assert sum(bool(REGULATORY.search(p)) for p in ruling) >= 0.6 * len(ruling)
    for u in statements:
        if u.actor in LABS:
            assert VERSIONED_MODEL.search(bullet(u.text, "Progress")), u.text  # a lab reports its models
            assert government not in u.text  # and a government is nobody's rival lab
    # The two labs' models have names of their own.
    families = {u.actor: VERSIONED_MODEL.findall(u.text)[0].split()[0] for u in statements if u.actor in LABS}
    assert families["Acme"] != families["Borealis"]


async def test_agi_years_differ_from_seed_to_seed(tmp_path: Path, backend: str) -> None:
    """What makes a sweep's interval an interval: the runs of different seeds tell
    different stories, and the judge's AGI years (read from the reports) follow them."""
    path = own_scenario(tmp_path, end=2036)
    runs = []
    for seed in range(10):
        _, events = await run_and_read(path, seed=seed, out=tmp_path / "runs")
        (judged,) = events_of(events, Judged)
        runs.append(tuple(s.value for lab in LABS for s in judged.scores if s.name == "agi_year" and s.subject == lab))
    assert all(len(years) == 2 for years in runs)
    for i, lab in enumerate(LABS):
        years = [run[i] for run in runs]
        assert len(set(years)) >= 4, (lab, years)
        assert max(years.count(y) for y in years) <= 4, (lab, years)
    assert len(set(runs)) >= 8, runs


async def test_agi_comes_years_into_the_story_whenever_it_starts(tmp_path: Path, backend: str) -> None:
    path = own_scenario(tmp_path, start=2040, end=2041)
    for seed in range(5):
        _, events = await run_and_read(path, seed=seed, out=tmp_path / "runs")
        for u in events_of(events, Utterance):
            if u.conversation == ("top",) and u.period == "2040":
                timeline = bullet(u.text, "AGI timeline")
                assert min(int(y) for y in re.findall(r"\b20\d\d\b", timeline)) > 2040, timeline
                assert "have built AGI" not in timeline


async def test_the_same_seed_gives_the_same_answers_in_another_process(tmp_path: Path, backend: str) -> None:
    path = own_scenario(tmp_path)
    _, events = await run_and_read(path, seed=7, out=tmp_path / "here")
    done = run_cli(
        "run", str(path), "--seed", "7", "--out", str(tmp_path / "there"), cwd=tmp_path,
        env=cli_env(PYTHONHASHSEED="4242"),
    )
    assert done.returncode == 0, done.stderr
    there = converse.read_events(Path(done.stdout.splitlines()[-1]) / "events.jsonl")
    answers = [c.response for c in events_of(events, LLMCall)]
    assert len(answers) > 40
    assert answers == [c.response for c in events_of(there, LLMCall)]
    _, again = await run_and_read(path, seed=8, out=tmp_path / "other")
    assert answers != [c.response for c in events_of(again, LLMCall)]
