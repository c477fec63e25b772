"""The offline model's summaries: an agent's notes and a council's briefing, extractive,
deterministic, in the ``- period, Name: text`` format, within the request's word limit."""

from __future__ import annotations

import re

import pytest

from converse import CompletionRequest, Hints, OfflineModel
from converse.events import ChatMessage
from converse.models.offline._summary import NOTHING, summary_answer
from converse.scenario._memory_prompts import briefing_request, notes_request

LINE = re.compile(r"- (H[12] \d{4}|\d{4}|Round \d+), ([^:\n]+): (\S.*)")
LABS = ("OpenAI", "Google DeepMind", "Anthropic")
TEMPLATE = (
    "{name} {period}:\n- Progress: <the main advance {name} made in {period}: for a lab, a model release>\n"
    "- Safety incident: <the most serious safety incident of {period} involving {name}>\n"
    "- AGI timeline: <the year by which {name} now expects AGI, with a short reason>"
)


def period(index: int) -> str:
    return f"H{index % 2 + 1} {2025 + index // 2}"


def report(name: str, index: int) -> str:
    return (f"{name} {period(index)}:\n- Progress: Released {name} model {index}.0; it solved {index}% of the "
            f"olympiad set.\n- Safety incident: A jailbreak in week {index}, patched in a day.\n"
            f"- AGI timeline: We expect AGI around {2030 + index}, give or take two years.")


def told(name: str, index: int) -> str:
    """A top-level agent's turn message: the others' reports, its council's debate, the format."""
    others = "\n\n".join(f"{o} ({period(index)}): {report(o, index)}" for o in LABS if o != name)
    debate = "\n".join(f"{name} {role}: We should ship project {index}, given the board's deadline."
                       for role in ("CEO", "Head of Safety"))
    return (f"Public reports published since your last one:\n\n{others}\n\nBefore publishing, the leadership "
            f"met in private. The discussion went like this:\n\n{debate}\n\nIt is now {period(index)}. Write "
            f"the public report of {name} for {period(index)}. Use exactly this format:\n\n"
            + TEMPLATE.format(name=name, period=period(index)))


def user_of(messages: list[ChatMessage]) -> str:
    return messages[-1].content


def words(text: str) -> int:
    return len(text.split())


def notes(previous: str, first: int, last: int, limit: int = 250, name: str = "OpenAI") -> str:
    turns = [(told(name, i), report(name, i)) for i in range(first, last)]
    return summary_answer(user_of(notes_request(previous, turns, limit)), name)


def test_notes_follow_the_format_one_line_per_speaker_and_period() -> None:
    text = notes("", 0, 2)
    lines = text.split("\n")
    assert all(LINE.fullmatch(line) for line in lines), text
    keys = [LINE.fullmatch(line).group(1, 2) for line in lines]  # type: ignore[union-attr]
    assert len(keys) == len(set(keys))
    assert "- H1 2025, OpenAI: Released OpenAI model 0.0 (AGI: 2030)" in lines
    assert "- H2 2025, Google DeepMind: Released Google DeepMind model 1.0 (AGI: 2031)" in lines
    assert "- H1 2025, OpenAI CEO: We should ship project 0, given the board's deadline" in lines
    assert "<" not in text  # the format's template in the prompt is not a report


def test_notes_are_in_period_order_and_keep_earlier_notes() -> None:
    first = notes("", 0, 2)
    second = notes(first, 2, 4)
    periods = [LINE.fullmatch(line)[1] for line in second.split("\n")]  # type: ignore[index]
    assert periods == sorted(periods, key=lambda p: (p[3:], p[:2]))
    assert first.split("\n")[0] in second.split("\n")
    assert any(p == "H2 2026" for p in periods)


@pytest.mark.parametrize("limit", [1, 5, 12, 40, 100, 250])
def test_the_word_limit_is_respected(limit: int) -> None:
    text = notes("", 0, 12, limit)
    assert 0 < words(text) <= limit
    briefing = summary_answer(user_of(briefing_request("", record(12), "US Government", limit)))
    assert 0 < words(briefing) <= limit


def test_the_newest_are_kept_when_it_must_cut() -> None:
    text = notes("", 0, 12, 60)
    assert "H2 2030" in text  # the last turn's period (index 11)
    assert "H1 2025" not in text
    full = notes("", 0, 12, 10_000)
    assert full.endswith(text)  # a suffix of the whole: the newest lines, nothing rewritten


def test_deterministic_and_independent_of_the_seed() -> None:
    messages = notes_request("", [(told("Anthropic", 3), report("Anthropic", 3))], 250)
    request = CompletionRequest(messages=messages, hints=Hints(kind="summary", speaker="Anthropic", period="H2 2026"))
    answers = {OfflineModel(seed=seed).answer(request) for seed in (0, 0, 1, 7)}
    assert len(answers) == 1
    assert answers.pop() == summary_answer(user_of(messages), "Anthropic")


def test_empty_notes_and_no_turns() -> None:
    assert summary_answer(user_of(notes_request("", [], 250))) == NOTHING
    assert words(summary_answer(user_of(notes_request("", [], 2)))) <= 2


def test_a_council_members_turns() -> None:
    opening = ("Private leadership meeting of OpenAI to plan H1 2026.\n\nThe public record the meeting has in "
               f"front of it:\n\nAnthropic (H2 2025): {report('Anthropic', 1)}\n\nSaid in the meeting since you "
               "last spoke:\n\nOpenAI CEO: Frankly, we should ship the agent platform first, whatever the "
               "evals say.\n\nIt is your turn, OpenAI Head of Policy. Reply with one sentence about what "
               "OpenAI should do in H1 2026.")
    said = "OpenAI Head of Policy: I disagree, because the disclosure rules bind us from March."
    unnamed = "We need the lawyers in the room before any launch, and a written record."
    text = summary_answer(user_of(notes_request("(none yet)", [(opening, said), (opening, unnamed)], 250)),
                          "OpenAI Head of Policy")
    lines = text.split("\n")
    assert "- H2 2025, Anthropic: Released Anthropic model 1.0 (AGI: 2031)" in lines
    assert "- H1 2026, OpenAI CEO: Frankly, we should ship the agent platform first" in lines
    # one line per speaker and period: the later, unnamed answer is the member's own
    assert "- H1 2026, OpenAI Head of Policy: We need the lawyers in the room before any launch" in lines


def record(periods: int) -> str:
    return "\n\n".join(f"{name} ({period(i)}): {report(name, i)}" for i in range(periods) for name in LABS)


def test_a_briefing_summarises_the_record() -> None:
    text = summary_answer(user_of(briefing_request("", record(2), "US Government", 250)))
    lines = text.split("\n")
    assert len(lines) == 6
    assert all(LINE.fullmatch(line) for line in lines)
    assert lines[-1] == "- H2 2025, Anthropic: Released Anthropic model 1.0 (AGI: 2031)"


def test_remarks_and_plain_statements() -> None:
    record_text = ("OpenAI (Round 1): OpenAI: Oversight scales with AI assistants; we will show it.\n\n"
                   "Anthropic (Round 1): Interpretability first, then scale.")
    text = summary_answer(user_of(briefing_request("", record_text, "OpenAI", 250)))
    assert text.split("\n") == [
        "- Round 1, OpenAI: Oversight scales with AI assistants",
        "- Round 1, Anthropic: Interpretability first, then scale",
    ]


def test_long_clauses_are_cut_at_fourteen_words() -> None:
    long = " ".join(f"word{i}" for i in range(40))
    text = summary_answer(user_of(briefing_request("", f"OpenAI (2025): {long}", "OpenAI", 250)))
    assert text == "- 2025, OpenAI: " + " ".join(f"word{i}" for i in range(14))


def test_a_large_request_is_answered() -> None:
    text = summary_answer(user_of(briefing_request("", record(100), "European Commission", 250)))
    assert words(text) <= 250
    assert text.endswith("- H2 2074, Anthropic: Released Anthropic model 99.0 (AGI: 2129)")


def test_a_briefing_brings_the_last_one_up_to_date() -> None:
    first = summary_answer(user_of(briefing_request("", "OpenAI (H1 2025): We shipped a new model.", "UK", 100)))
    later = summary_answer(
        user_of(briefing_request(first, "Anthropic (H2 2025): We paused a training run.", "UK", 100))
    )
    assert "OpenAI" in later
    assert "Anthropic" in later
    assert later.index("OpenAI") < later.index("Anthropic")  # period order
