"""A population of researchers: labs staffed with researchers who each hold a memory stream,
work, meet, publish and move between labs, and brief their lab's leadership."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cut_copies, error_lines, resumed, run_cli
from converse.audit import audit_run
from converse.events import (
    AnyEvent,
    Embedded,
    LLMCall,
    PopulationState,
    Recalled,
    Remembered,
    RunStarted,
    Utterance,
)
from converse.scenario import Persona, Population
from converse.scenario._population import researcher_name, staffing, work_of
from converse.testing import Faults, ModelServer

KEY = "sk-test-population-never-log-me"
SMALL = ["population.researchers=4", "clock.end=2027", "population.mobility=0.5"]
LABS = ("OpenAI", "Google DeepMind", "Anthropic")


async def _run(tmp_path: Path, *overrides: str, seed: int = 1, **options: object) -> converse.RunResult:
    result = await converse.run_scenario(
        "research-population", seed=seed, out=tmp_path, overrides=[*SMALL, *overrides], **options  # type: ignore[arg-type]
    )
    assert result.status == "completed", result.reason
    return result


def _states(events: list[AnyEvent]) -> list[PopulationState]:
    return [e for e in events if isinstance(e, PopulationState)]


def _research_calls(events: list[AnyEvent]) -> list[LLMCall]:
    return [e for e in events if isinstance(e, LLMCall) and e.purpose == "research"]


async def test_every_researcher_works_once_a_period_and_the_census_adds_up(tmp_path: Path, backend: str) -> None:
    result = await _run(tmp_path)
    events = converse.read_events(result.events)
    states = _states(events)
    assert [s.period for s in states] == ["2025", "2026", "2027"]
    calls = _research_calls(events)
    # Twelve researchers, three periods: one call each per period, each researcher by name.
    prompts = converse.events.prompts_of(events)
    per_period = Counter(prompts[c.call][-1].content.split("It is ", 1)[1][:4] for c in calls)
    assert per_period == {"2025": 12, "2026": 12, "2027": 12}
    assert len({c.actor for c in calls}) == 12
    staff = dict.fromkeys(LABS, 4)
    for state in states:
        # Two rounds of pairs in each lab, among its staff of the period.
        assert state.meetings == sum(2 * (staff[c.lab] // 2) for c in state.labs)
        for census in state.labs:
            worked = sum(census.working.values())
            assert worked == staff[census.lab]  # everyone on the staff of the period worked
            assert sum(census.papers.values()) <= worked
            assert census.researchers == worked + census.joined - census.left
            staff[census.lab] = census.researchers
        assert sum(c.researchers for c in state.labs) == 12  # nobody is lost or made twice
        assert Counter(m.destination for m in state.moves) == {c.lab: c.joined for c in state.labs if c.joined}
        assert Counter(m.origin for m in state.moves) == {c.lab: c.left for c in state.labs if c.left}
    # A conference every other period, from the first.
    assert [s.conference > 0 for s in states] == [True, False, True]
    assert any(s.moves for s in states), "at mobility 0.5 somebody moves in three years"
    transcript = result.transcript.read_text(encoding="utf-8")
    assert transcript.count("**Research**") == 3
    assert "| Lab | Researchers | Capabilities | Safety | Policy |" in transcript
    assert "- **Researchers:** 4 a lab at the start" in transcript
    ledger = next(e for e in events if isinstance(e, converse.events.Ledger))
    rows = {row.agent for row in ledger.entries}
    assert "researchers" in rows  # one row for them all
    assert not rows & {c.actor for c in calls}


async def test_a_researcher_who_moves_takes_its_memory_and_works_at_its_new_lab(tmp_path: Path, backend: str) -> None:
    result = await _run(tmp_path, "population.mobility=1")
    events = converse.read_events(result.events)
    prompts = converse.events.prompts_of(events)
    moves = [(s.index, m) for s in _states(events) for m in s.moves]
    assert moves
    index, move = moves[0]
    mine = [c for c in _research_calls(events) if c.actor == move.researcher]
    before, after = mine[index], mine[index + 1]
    assert f"at {move.origin}." in prompts[before.call][0].content
    assert f"at {move.destination}." in prompts[after.call][0].content
    assert "has offered you a position" in prompts[before.call][-1].content
    assert after.conversation == ("top", move.destination, "research")
    # Its stream goes on where it was: its records keep counting from where they stopped.
    remembered = [e for e in events if isinstance(e, Remembered) and e.actor == move.researcher]
    assert [r.id for r in remembered] == list(range(len(remembered)))
    assert any(move.destination in r.text and "accepted" in r.text for r in remembered)


async def test_a_researcher_takes_in_its_period_between_turns_so_a_turn_embeds_only_the_news(
    tmp_path: Path, backend: str
) -> None:
    result = await _run(tmp_path, "population.mobility=0")
    events = converse.read_events(result.events)
    name = _research_calls(events)[0].actor
    mine = [e for e in events if isinstance(e, Embedded) and e.actor == name]
    # Three turns (the query, then the news and the query), a digest after each period but the last.
    assert [e.purpose for e in mine] == ["memory", "digest", "memory", "digest", "memory"]
    assert len(mine[0].texts) == 1
    assert len(mine[2].texts) == len(mine[4].texts) == 2
    assert mine[2].texts[0].startswith("- ")  # the news: each lab's gist
    # A digest holds what the researcher did and whom it met, taken in before its next turn.
    digest = mine[1].texts
    assert digest[0].startswith("In 2025 I worked on ")
    assert all(" is working on " in text for text in digest[1:])
    assert len(digest) > 1
    # Whom it met reaches its next prompt by recall, not by being pasted in.
    prompts = converse.events.prompts_of(events)
    second = [c for c in _research_calls(events) if c.actor == name][1]
    assert any(f"] {text}" in prompts[second.call][-1].content for text in digest[1:])


async def test_each_lab_is_briefed_with_the_research_it_recalled_and_nothing_of_another_labs(
    tmp_path: Path, backend: str
) -> None:
    result = await _run(tmp_path)
    events = converse.read_events(result.events)
    prompts = converse.events.prompts_of(events)
    recalls = {
        (e.actor, e.period): e for e in events if isinstance(e, Recalled) and e.actor.endswith(" research")
    }
    # Each record as a briefing shows it: its period and its text.
    lines = {(e.actor, e.id): f"- [{2025 + e.period}] {e.text}" for e in events if isinstance(e, Remembered)}
    assert {actor for actor, _ in recalls} == {f"{lab} research" for lab in LABS}
    for lab in LABS:
        recall = recalls[(f"{lab} research", 1)]
        assert 0 < len(recall.records) <= 8
        # The council's first speaker of 2026 is shown the records recalled, and only its lab's.
        opening = next(
            prompts[e.call][-1].content for e in events
            if isinstance(e, LLMCall) and e.conversation == ("top", lab) and "2026" in prompts[e.call][-1].content
        )
        assert f"What {lab}'s researchers did in 2026" in opening
        ours = {line for (actor, _), line in lines.items() if actor == f"{lab} research"}
        for r in recall.records:
            assert lines[(f"{lab} research", r.id)] in opening
        theirs = {line for (actor, _), line in lines.items() if actor.endswith(" research")} - ours
        assert not [line for line in theirs if line in opening]


async def test_a_lab_without_a_council_is_briefed_in_its_own_turn(tmp_path: Path, backend: str) -> None:
    result = await _run(tmp_path, "councils=false")
    events = converse.read_events(result.events)
    prompts = converse.events.prompts_of(events)
    turns = [e for e in events if isinstance(e, LLMCall) and e.purpose == "statement"]
    assert len(turns) == 9
    for call in turns:
        assert f"What {call.actor}'s researchers did in" in prompts[call.call][-1].content


async def test_the_audit_checks_every_researchers_recall_and_catches_a_forged_one(tmp_path: Path, backend: str) -> None:
    result = await _run(tmp_path)
    events = converse.read_events(result.events)
    assert audit_run(events).violations == []
    at = next(
        i for i, e in enumerate(events)
        if isinstance(e, Recalled) and e.period == 2 and len(e.records) > 1 and not e.actor.endswith(" research")
    )
    forged = events[at]
    assert isinstance(forged, Recalled)
    events[at] = msgspec.structs.replace(forged, records=forged.records[::-1][:1])
    caught = audit_run(events).violations
    assert any(v.rule == "recalled" and v.actor == forged.actor for v in caught)


async def test_a_population_run_is_the_same_whatever_order_its_researchers_finish_in(
    tmp_path: Path, backend: str
) -> None:
    quick = await _run(tmp_path / "quick")
    # With latency, a thousand things finish in another order; the run must not change.
    slow = await _run(tmp_path / "slow", model="offline?latency=0.002")
    assert slow.transcript.read_text(encoding="utf-8").replace("offline?latency=0.002", "offline") == (
        quick.transcript.read_text(encoding="utf-8")
    )


async def test_a_population_run_re_executes_from_its_log_and_resumes_cut_anywhere(
    tmp_path: Path, backend: str
) -> None:
    whole = await _run(tmp_path / "whole")
    original = converse.read_events(whole.events)
    embedded = sum(isinstance(e, Embedded) for e in original)
    calls = sum(isinstance(e, LLMCall) for e in original)
    again = await _run(tmp_path / "again", replay_from=whole.events)
    assert again.replayed == calls + embedded  # every answer and every embedding from the log
    replayed = again.transcript.read_text(encoding="utf-8")
    assert replayed.split("\n## ", 1)[1] == whole.transcript.read_text(encoding="utf-8").split("\n## ", 1)[1]
    for at, directory in cut_copies(whole.events, tmp_path, 3, seed=5):
        again_from = await resumed(directory)
        assert again_from.transcript.read_bytes() == whole.transcript.read_bytes(), at
        events = converse.read_events(again_from.events)
        assert sum(isinstance(e, Embedded) for e in events) == embedded  # no embedding made twice
        assert sum(isinstance(e, LLMCall) for e in events) == calls  # no call made twice


@SDK_LEAVES_GENERATORS
async def test_a_population_runs_through_a_real_server_and_counts_answers_that_name_no_area(
    api_key: str, tmp_path: Path, backend: str
) -> None:
    # A third of the answers echo the system prompt back, format and all, as weak models do.
    with ModelServer(api_key=api_key, faults=Faults(rate_echo=0.3)) as server:
        result = await _run(
            tmp_path, "population.researchers=3", "clock.end=2025", 'population.stream.embedder="openai:offline-embed"',
            model="openai:offline-chat", base_url=server.base_url,
        )
        stats = server.stats()
    events = converse.read_events(result.events)
    assert stats.embeddings == sum(isinstance(e, Embedded) for e in events) > 0
    research = _research_calls(events)
    echoed = [c for c in research if c.response.startswith("You are ")]
    assert echoed, "some researchers' answers were echoes"
    state = _states(events)[0]
    assert sum(sum(c.working.values()) for c in state.labs) == 9
    assert state.unclear == len(echoed)  # each counted in its own field, and said so
    assert f"{len(echoed)} answers named no area" in result.transcript.read_text(encoding="utf-8")


def test_answers_are_read_as_models_write_them() -> None:
    work = work_of("**Work:** Safety research on evals\n**Project:** probe the planner.\n**Paper:** \"Probing Plans\"", "policy")
    assert (work.area, work.project, work.paper, work.understood) == ("safety", "probe the planner.", "Probing Plans", True)
    work = work_of("work: alignment\nproject: x\npaper: None.\noffer: Yes, I accept", "capabilities", offered=True)
    assert (work.area, work.paper, work.accepts) == ("safety", None, True)
    work = work_of("I think I'll keep doing what I do.", "policy")
    assert (work.area, work.understood, work.paper, work.accepts) == ("policy", False, None, False)
    assert work.project == "I think I'll keep doing what I do."
    assert work_of("WORK: governance\nOFFER: decline", "safety").area == "policy"
    assert not work_of("WORK: capabilities\nOFFER: decline", "safety", offered=True).accepts
    assert not work_of("WORK: capabilities\nOFFER: accept", "safety").accepts  # an offer it never had
    assert not work_of("WORK: capabilities, safety or policy\nPROJECT: one sentence", "safety").understood


def test_labs_are_staffed_by_the_personas_shares_and_every_name_is_unique() -> None:
    population = Population(
        researchers=10,
        personas=[Persona(area="safety", share=3), Persona(area="policy", share=1), Persona(area="capabilities", share=1)],
    )
    order = staffing(population)
    assert Counter(order) == {0: 6, 1: 2, 2: 2}
    assert len(set(order[:3])) == 3  # the first three are already a mix
    names = [researcher_name(i) for i in range(100_000)]
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("population.researchers=0", "$.population.researchers"),
        ("population.researchers=50000", "$.population.researchers"),
        ("population.mobility=1.5", "$.population.mobility"),
        ("population.meet=-1", "$.population.meet"),
        ("population.brief=0", "$.population.brief"),
        ('population.labs=["OpenAI", "Nobody"]', "$.population.labs[1]"),
        ('population.prompts.researcher_turn="It is {period}. {news}"', "$.population.prompts.researcher_turn"),
        ('population.prompts.briefing="{records} {when}"', "$.population.prompts.briefing"),
        ("population.stream.k=0", "$.population.stream.k"),
    ],
)
def test_bad_population_settings_are_refused_naming_their_key(setting: str, key: str, tmp_path: Path) -> None:
    done = run_cli("validate", "research-population", "--set", setting, cwd=tmp_path)
    assert done.returncode == 2
    lines = error_lines(done)
    assert len(lines) == 1, lines
    assert key in lines[0], lines


def test_a_persona_and_an_agent_are_checked_too(tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text(
        'extends = "research-population"\nname = "mine"\n'
        '[[population.personas]]\narea = "safety"\ntext = "Works at {company}."\n'
        '[[add_agents]]\nname = "Ada Okafor"\nkind = "person"\n',
        encoding="utf-8",
    )
    done = run_cli("validate", str(path), cwd=tmp_path)
    assert done.returncode == 2
    lines = error_lines(done)
    assert any("$.population.personas[0].text" in line and "{company}" in line for line in lines), lines
    assert any("Ada Okafor" in line and "researchers" in line for line in lines), lines


def test_the_run_started_event_holds_the_population(tmp_path: Path) -> None:
    done = run_cli("run", "research-population", "--set", "population.researchers=2", "--set", "clock.end=2025",
                   "--out", "runs", "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    directory = tmp_path / done.stdout.strip().splitlines()[-1]
    started = converse.read_events(directory / "events.jsonl")[0]
    assert isinstance(started, RunStarted)
    assert started.scenario["population"]["researchers"] == 2
    utterances = [e for e in converse.read_events(directory / "events.jsonl") if isinstance(e, Utterance)]
    assert {u.actor for u in utterances if u.conversation == ("top",)} == set(LABS)
