"""Markdown transcripts: the Converse layout, rendered from a log alone."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import msgspec
import pytest

from converse import read_events, render_markdown
from converse.events import (
    AnyEvent,
    ConversationEnded,
    ConversationStarted,
    Event,
    Judged,
    LLMCall,
    PeriodStarted,
    RunError,
    RunFinished,
    RunStarted,
    Score,
    TurnGranted,
    Usage,
    Utterance,
)
from converse.log import LogWriter, iter_events
from converse.transcript._folding import Folds, debate_label
from converse.transcript._text import score_text
from converse.web import RunView

RUN = "run-1"
TOP = ("top",)


def scenario(step: str = "year", title: str = "Three labs race") -> dict[str, Any]:
    member = {"name": "OpenAI CEO", "council": {"members": [{"name": "OpenAI Chief of Staff"}]}}
    return {
        "name": "labs",
        "title": title,
        "clock": {"start": 2023 if step != "round" else 1, "step": step, "end": 2024},
        "agents": [
            {"name": "OpenAI", "council": {"members": [member, {"name": "OpenAI Head of Safety"}]}},
            {"name": "Anthropic", "council": None},
        ],
    }


class Story:
    """Builds a run's events in order, as the engine would emit them."""

    def __init__(self, **scenario_options: str) -> None:
        self.events: list[Event] = [
            RunStarted(
                run=RUN,
                scenario_name="labs",
                source="labs.toml",
                scenario=scenario(**scenario_options),
                seed=42,
                model="offline",
                engine_version="0.1.0",
            ),
            ConversationStarted(run=RUN, conversation=TOP, members=["OpenAI", "Anthropic"]),
        ]
        self.turns = itertools.count()

    def period(self, label: str, index: int) -> None:
        self.events.append(PeriodStarted(run=RUN, conversation=TOP, period=label, index=index))

    def say(self, path: list[str], actor: str, period: str, text: str) -> None:
        turn = next(self.turns)
        self.events += [
            TurnGranted(run=RUN, conversation=path, actor=actor, period=period, turn=turn, token=turn),
            LLMCall(
                run=RUN,
                call=turn,
                conversation=path,
                actor=actor,
                purpose="turn",
                model="offline",
                messages=[],
                params={},
                response=text,
                usage=Usage(),
                latency=0.0,
            ),
            Utterance(run=RUN, conversation=path, actor=actor, period=period, turn=turn, text=text),
        ]

    def open(self, path: list[str], period: str) -> None:
        self.events.append(
            ConversationStarted(run=RUN, conversation=path, members=[], period=period, owner=path[-1])
        )

    def close(self, path: list[str], period: str) -> None:
        self.events.append(
            ConversationEnded(run=RUN, conversation=path, reason="rounds", turns=2, period=period)
        )

    def finish(self) -> None:
        self.events += [
            ConversationEnded(run=RUN, conversation=TOP, reason="end_period", turns=4),
            RunFinished(
                run=RUN,
                status="completed",
                reason="end_period",
                periods=2,
                turns=4,
                llm_calls=4,
                prompt_tokens=0,
                completion_tokens=0,
            ),
        ]

    def logged(self, tmp_path: Path) -> list[AnyEvent]:
        """The events as written to a log and read back."""
        path = tmp_path / "events.jsonl"
        clock = itertools.count()
        with LogWriter(path, clock=lambda: next(clock) / 1000) as writer:
            for event in self.events:
                writer.write(event)
        return read_events(path)


COUNCIL = ("top", "OpenAI")
ADVISERS = ("top", "OpenAI", "OpenAI CEO")


def two_years() -> Story:
    story = Story()
    for index, year in enumerate(["2023", "2024"]):
        story.period(year, index)
        story.open(COUNCIL, year)
        story.say(COUNCIL, "OpenAI CEO", year, f"Ship it in {year}.")
        story.say(COUNCIL, "OpenAI Head of Safety", year, f"Not before the evals, {year}.")
        story.close(COUNCIL, year)
        story.say(TOP, "OpenAI", year, f"OpenAI {year}:\n- shipped\n- evals")
        story.say(TOP, "Anthropic", year, f"Anthropic {year}: careful")
    story.finish()
    return story


def test_header(tmp_path: Path) -> None:
    md = render_markdown(two_years().logged(tmp_path))
    assert md.startswith(
        "# Three labs race\n"
        "\n"
        "- **Scenario:** labs\n"
        "- **Organisations:** OpenAI, Anthropic\n"
        "- **Periods:** 2023 to 2024 (2 years)\n"
        "- **Model:** offline\n"
        "- **Seed:** 42\n"
        "- **Councils:** with council debates (OpenAI)\n"
        "- **Status:** completed (end_period)\n"
        "\n"
        "## Conversation\n"
        "\n"
        "### 2023\n"
        "\n"
        "**Statements**\n"
    )


def test_unfinished_run_without_title_or_periods(tmp_path: Path) -> None:
    story = Story(title="")
    md = render_markdown(story.logged(tmp_path))
    assert md.startswith("# labs\n")
    assert "- **Periods:** none\n" in md
    assert "- **Status:** unfinished\n" in md
    assert md.endswith("## Conversation\n")


def test_periods_line_counts_the_periods_in_the_log(tmp_path: Path) -> None:
    story = Story(step="half-year")
    story.period("H1 2023", 0)
    md = render_markdown(story.logged(tmp_path))
    assert "- **Periods:** H1 2023 (1 half-year)\n" in md
    story.period("H2 2023", 1)
    story.period("H1 2024", 2)
    md = render_markdown(story.events)  # type: ignore[arg-type]
    assert "- **Periods:** H1 2023 to H1 2024 (3 half-years)\n" in md


def test_rounds_are_headed_round_n(tmp_path: Path) -> None:
    story = Story(step="round")
    for index in range(2):
        label = f"Round {index + 1}"
        story.period(label, index)
        story.say(TOP, "Anthropic", label, f"Anthropic says {index}")
    md = render_markdown(story.logged(tmp_path))
    assert "- **Periods:** Round 1 to Round 2 (2 rounds)\n" in md
    assert md.index("### Round 1\n") < md.index("Anthropic says 0") < md.index("### Round 2\n")
    assert "<details><summary><b>Anthropic Round 2</b></summary>\n\nAnthropic says 1\n\n</details>\n" in md


def test_periods_are_sections_in_order_with_statements_in_the_order_made(tmp_path: Path) -> None:
    md = render_markdown(two_years().logged(tmp_path))
    marks = [
        "### 2023",
        "<b>OpenAI 2023</b>",
        "<b>Anthropic 2023</b>",
        "### 2024",
        "<b>OpenAI 2024</b>",
        "<b>Anthropic 2024</b>",
    ]
    assert [md.index(mark) for mark in marks] == sorted(md.index(mark) for mark in marks)
    assert md.count("### ") == 2


def test_council_debate_is_folded_inside_its_statement(tmp_path: Path) -> None:
    md = render_markdown(two_years().logged(tmp_path))
    assert (
        "<details><summary><b>OpenAI 2024</b></summary>\n"
        "\n"
        "OpenAI 2024:\n- shipped\n- evals\n"
        "\n"
        "<details><summary><b>OpenAI council debate</b></summary>\n"
        "\n"
        "**OpenAI CEO:** Ship it in 2024.\n"
        "\n"
        "**OpenAI Head of Safety:** Not before the evals, 2024.\n"
        "\n"
        "</details>\n"
        "\n"
        "</details>\n"
    ) in md
    assert md.count("<b>OpenAI council debate</b>") == 2  # each year's debate once, with its own statement
    assert (
        "<details><summary><b>Anthropic 2023</b></summary>\n\nAnthropic 2023: careful\n\n</details>\n" in md
    )


def test_concurrent_debates_go_to_their_own_owners(tmp_path: Path) -> None:
    story = Story()
    story.period("2023", 0)
    other = ("top", "Anthropic")
    story.open(COUNCIL, "2023")
    story.open(other, "2023")
    story.say(other, "Anthropic CEO", "2023", "Anthropic line")
    story.say(COUNCIL, "OpenAI CEO", "2023", "OpenAI line")
    story.close(other, "2023")
    story.close(COUNCIL, "2023")
    story.say(TOP, "OpenAI", "2023", "OpenAI statement")
    story.say(TOP, "Anthropic", "2023", "Anthropic statement")
    md = render_markdown(story.logged(tmp_path))
    openai, anthropic = md.index("OpenAI statement"), md.index("Anthropic statement")
    assert openai < md.index("OpenAI line") < anthropic < md.index("Anthropic line")


def test_advisers_debate_is_folded_inside_the_members_line(tmp_path: Path) -> None:
    story = Story()
    story.period("2023", 0)
    story.open(COUNCIL, "2023")
    story.open(ADVISERS, "2023")
    story.say(ADVISERS, "OpenAI Chief of Staff", "2023", "Boss, the board </details> is nervous.")
    story.close(ADVISERS, "2023")
    story.say(COUNCIL, "OpenAI CEO", "2023", "Ship it.")
    story.say(COUNCIL, "OpenAI Head of Safety", "2023", "No.")
    story.close(COUNCIL, "2023")
    story.say(TOP, "OpenAI", "2023", "OpenAI 2023: shipped")
    md = render_markdown(story.logged(tmp_path))
    assert (
        "<details><summary><b>OpenAI council debate</b></summary>\n"
        "\n"
        "**OpenAI CEO:** Ship it.\n"
        "\n"
        "<details><summary><b>OpenAI CEO advisers</b></summary>\n"
        "\n"
        "**OpenAI Chief of Staff:** Boss, the board &lt;/details&gt; is nervous.\n"
        "\n"
        "</details>\n"
        "\n"
        "**OpenAI Head of Safety:** No.\n"
        "\n"
        "</details>\n"
        "\n"
        "</details>\n"
    ) in md


def test_summary_and_scores_only_with_a_judged_event(tmp_path: Path) -> None:
    story = two_years()
    assert "## Summary and scores" not in render_markdown(story.events)  # type: ignore[arg-type]
    story.events.insert(
        -1,
        Judged(
            run=RUN,
            judge="offline",
            summary="Capabilities rose fast; regulation lagged.",
            scores=[
                Score(name="Capabilities", value=7.0),
                Score(name="Safety risk", value=7.5, subject="OpenAI"),
                Score(name="Safety risk", value=None, subject="Anthropic"),
                Score(name="agi_year", value=2029.0, subject="OpenAI", scale="year"),
                Score(name="agi_year", value=None, subject="Anthropic", scale="year"),
                Score(name="first_agi_year", value=2029.0, scale="year"),
            ],
        ),
    )
    md = render_markdown(story.logged(tmp_path))
    assert (
        "- **Status:** completed (end_period)\n"
        "\n"
        "## Summary and scores\n"
        "\n"
        "Capabilities rose fast; regulation lagged.\n"
        "\n"
        "- **Capabilities:** 7/10\n"
        "- **first\\_agi\\_year:** 2029\n"
        "\n"
        "| Score | OpenAI | Anthropic |\n"
        "|---|---|---|\n"
        "| Safety risk | 7.5/10 | n/a |\n"
        "| agi\\_year | 2029 | no announcement |\n"
        "\n"
        "*Judged by offline.*\n"
        "\n"
        "## Conversation\n"
    ) in md


def test_the_verdict_is_markdown_escaped(tmp_path: Path) -> None:
    story = two_years()
    story.events.insert(
        -1,
        Judged(
            run=RUN,
            judge="python:my_judges:score",
            summary="# Not a heading\nA <b>bold</b> claim | with a pipe.",
            scores=[Score(name="risk", value=3.0, subject="A|B *Corp*")],
        ),
    )
    md = render_markdown(story.logged(tmp_path))
    assert "\\# Not a heading\nA &lt;b>bold&lt;/b> claim | with a pipe." in md
    assert "| Score | A\\|B \\*Corp\\* |\n|---|---|\n| risk | 3/10 |" in md
    assert "*Judged by python:my\\_judges:score.*" in md


def test_errors_section(tmp_path: Path) -> None:
    story = two_years()
    story.events.insert(
        -1, RunError(run=RUN, error_type="TurnViolation", message="spoke out of turn", actor="Anthropic")
    )
    events = story.logged(tmp_path)
    seq = events[-2].seq
    md = render_markdown(events)
    assert md.endswith(f"## Errors\n\n- TurnViolation: spoke out of turn (Anthropic, seq {seq})\n")
    assert "## Errors" not in render_markdown(two_years().logged(tmp_path / "clean"))


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    events = two_years().logged(tmp_path)
    first = render_markdown(events)
    assert render_markdown(events) == first
    again = two_years().logged(tmp_path / "again")  # another log of the same run, other times
    assert render_markdown(again) == first


@pytest.mark.parametrize("closing", ["</details>", "</DETAILS>", "</details >"])
def test_model_text_cannot_close_the_folds(tmp_path: Path, closing: str) -> None:
    story = Story()
    story.period("2023", 0)
    story.open(COUNCIL, "2023")
    story.say(COUNCIL, "OpenAI CEO", "2023", f"a {closing} b")
    story.close(COUNCIL, "2023")
    story.say(TOP, "OpenAI", "2023", f"{closing}</summary> escaped?")
    md = render_markdown(story.logged(tmp_path))
    assert closing not in md.replace("</details>\n", "")
    assert md.count("<details>") == md.count("</details>") == 2
    assert "**OpenAI CEO:** a &lt;/" in md


def test_needs_a_run_started_first(tmp_path: Path) -> None:
    events = two_years().logged(tmp_path)
    for wrong in ([], iter([]), events[1:], iter(events[1:])):
        with pytest.raises(ValueError, match="run_started"):
            render_markdown(wrong)


def test_any_iterable_of_events_renders_as_their_list(tmp_path: Path) -> None:
    events = two_years().logged(tmp_path)
    assert render_markdown(iter(events)) == render_markdown(tuple(events)) == render_markdown(events)


def test_a_debate_waits_for_its_owners_next_line_in_the_conversation_it_was_for() -> None:
    folds: Folds[str] = Folds()
    folds.close(("top", "OpenAI", "OpenAI CEO"), "advisers")
    folds.close(("top", "OpenAI"), "council")
    folds.close(("top", "OpenAI", "OpenAI CEO"), "advisers again")
    assert folds.claim("OpenAI", ("top", "OpenAI")) == []  # OpenAI speaks in its council: not its debate's place
    assert folds.claim("OpenAI CEO", ("top", "OpenAI")) == ["advisers", "advisers again"]
    assert folds.claim("OpenAI CEO", ("top", "OpenAI")) == []  # claimed once
    assert folds.claim("OpenAI", ("top",)) == ["council"]
    assert [debate_label(p) for p in (("top", "OpenAI"), ("top", "OpenAI", "OpenAI CEO"))] == [
        "OpenAI council debate",
        "OpenAI CEO advisers",
    ]


def test_the_viewer_folds_each_debate_where_the_transcript_does(tmp_path: Path) -> None:
    story = Story()
    story.period("2023", 0)
    other = ("top", "Anthropic")
    story.open(COUNCIL, "2023")
    story.open(other, "2023")
    story.open(ADVISERS, "2023")
    story.say(ADVISERS, "OpenAI Chief of Staff", "2023", "The board is nervous.")
    story.close(ADVISERS, "2023")
    story.say(other, "Anthropic CEO", "2023", "Anthropic line")
    story.say(COUNCIL, "OpenAI CEO", "2023", "Ship it.")
    story.say(COUNCIL, "OpenAI Head of Safety", "2023", "No.")
    story.close(other, "2023")
    story.close(COUNCIL, "2023")
    story.say(TOP, "Anthropic", "2023", "Anthropic statement")
    story.say(TOP, "OpenAI", "2023", "OpenAI statement")
    story.period("2024", 1)
    story.say(TOP, "OpenAI", "2024", "OpenAI 2024")
    story.finish()
    events = story.logged(tmp_path)
    md = render_markdown(events)
    items = [msgspec.to_builtins(item) for item in RunView().feed(events)]
    labels = {i["id"]: i["label"] for i in items if i["k"] == "debate"}
    speeches = [i for i in items if i["k"] in ("statement", "line")]
    assert sum(len(s["claims"]) for s in speeches) == len(labels) == 3
    for speech in speeches:  # the debates a line claims on the page follow it in the transcript
        folded = "".join(f"\n\n<details><summary><b>{labels[d]}</b></summary>" for d in speech["claims"][:1])
        assert f"{speech['text']}{folded or chr(10) * 2}" in md
        if not folded:
            assert f"{speech['text']}\n\n<details>" not in md


def test_a_score_reads_the_same_everywhere() -> None:
    assert [
        score_text(s)
        for s in (
            Score(name="risk", value=7.0),
            Score(name="risk", value=7.5),
            Score(name="risk", value=None),
            Score(name="agi_year", value=2029.0, scale="year"),
            Score(name="agi_year", value=None, scale="year"),
            Score(name="share", value=0.25, scale="0-1"),
        )
    ] == ["7/10", "7.5/10", "n/a", "2029", "no announcement", "0.25"]


@pytest.mark.parametrize(
    ("scenario", "overrides"),
    [
        ("three-labs-councils", ["clock.end=2024"]),
        ("nested-councils", ["clock.end=2024"]),
        ("mixed-councils", ["clock.end=2024", "memory.policy=summary", "memory.tokens=600"]),
        ("three-labs-councils", ["clock.end=2026", "budget.tokens=20000"]),  # ends budget_exhausted
    ],
    ids=["councils", "nested", "summaries", "budget"],
)
async def test_the_transcript_built_as_the_log_is_written_is_the_log_rendered(
    scenario: str, overrides: list[str], tmp_path: Path, backend: str
) -> None:
    """A fresh run's transcript is built as its recorder writes each event, not read back from
    the log: it is still what ``converse replay`` renders from the log, byte for byte."""
    import converse

    result = await converse.run_scenario(scenario, out=tmp_path, overrides=overrides)
    assert result.transcript.read_text(encoding="utf-8") == render_markdown(read_events(result.events))
    # ``converse replay`` renders the log as it reads it, a block at a time: the same text.
    assert result.transcript.read_text(encoding="utf-8") == render_markdown(iter_events(result.events))
    if any("budget" in o for o in overrides):
        assert result.status == "budget_exhausted"
