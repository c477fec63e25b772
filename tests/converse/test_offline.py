"""The offline model: deterministic, format-aware, varied, honours latency on asyncio and trio."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import anyio
import msgspec
import pytest

from converse import CompletionRequest, Hints, OfflineModel, open_model
from converse.events import ChatMessage
from converse.models.offline import _model as offline_model
from converse.models.offline._judge import verdict_json
from converse.models.offline._phrases import GOV_PROGRESS, GOV_PROJECTS, LAB_PROGRESS

REPORT_SYSTEM = (
    "You speak for {name}. Each year every organisation publishes a report on its progress, "
    "the main safety incident it faced and its AGI timeline."
)
REPORT_TURN = (
    "Public reports published since your last one:\n\n{statements}\n\nIt is now {period}. Use this format:\n\n"
    "{name} {period}:\n- Progress: <...>\n- Safety incident: <...>\n- AGI timeline: <...>"
)
STATEMENTS = (
    "Google DeepMind (2024): Google DeepMind 2024:\n- Progress: Released a model.\n"
    "- Safety incident: None.\n- AGI timeline: 2031.\n\n"
    "Anthropic (2024): Anthropic 2024:\n- Progress: Shipped a model.\n"
    "- Safety incident: A leak.\n- AGI timeline: 2030."
)
LABS = ("OpenAI", "Google DeepMind", "Anthropic")


def report_request(name: str = "OpenAI", period: str = "2025", statements: str = STATEMENTS) -> CompletionRequest:
    return CompletionRequest(
        messages=[
            ChatMessage(role="system", content=REPORT_SYSTEM.format(name=name)),
            ChatMessage(role="user", content=REPORT_TURN.format(name=name, period=period, statements=statements)),
        ],
        hints=Hints(kind="statement", speaker=name, organisation=name, period=period),
    )


def line_request(persona: str, user: str, speaker: str = "OpenAI CEO", end_token: str | None = None) -> CompletionRequest:
    system = f"You are {speaker} at OpenAI.\n\nWho you are:\n{persona}\n\nReply in one sentence."
    return CompletionRequest(
        messages=[ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)],
        hints=Hints(kind="line", speaker=speaker, organisation="OpenAI", period="2025", end_token=end_token),
    )


def remark_request(name: str, user: str) -> CompletionRequest:
    system = (f"You are a researcher at {name} debating alignment. Reply with at most three sentences, "
              f'beginning with "{name}:".')
    return CompletionRequest(
        messages=[ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)],
        hints=Hints(kind="statement", speaker=name, organisation=name, period="Round 2"),
    )


def told(request: CompletionRequest, kind: str, *others: tuple[str, str]) -> CompletionRequest:
    """``request`` with the hints the engine gives: the speaker's organisation's kind, and the others."""
    hints = msgspec.structs.replace(request.hints, organisation_kind=kind, others=others)
    return msgspec.structs.replace(request, hints=hints)


def answer(request: CompletionRequest, seed: int = 0) -> str:
    return OfflineModel(seed=seed).answer(request)


def bullets(text: str) -> dict[str, str]:
    lines = text.split("\n")
    return dict(line[2:].split(": ", 1) for line in lines[1:])


# -- determinism ------------------------------------------------------------------------------


async def test_same_request_same_answer_across_instances(backend: str) -> None:
    request = report_request()
    first = await OfflineModel(seed=3).complete(request)
    second = await OfflineModel(seed=3).complete(request)
    assert first == second


def test_same_answer_in_another_process() -> None:
    script = (
        "from converse import OfflineModel\n"
        "import sys\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from test_offline import report_request\n"
        "print(OfflineModel(seed=5).answer(report_request()), end='')\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent)],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )
    assert done.stdout == answer(report_request(), seed=5)


def test_seed_changes_the_answer() -> None:
    request = report_request()
    answers = {answer(request, seed) for seed in range(10)}
    assert len(answers) >= 9


def test_hints_and_messages_change_the_answer() -> None:
    assert answer(report_request(period="2025")) != answer(report_request(period="2026"))
    assert answer(report_request(statements="x")) != answer(report_request(statements="y"))


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValueError, match="latency"):
        OfflineModel(latency=-1)


# -- formats ----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(20))
def test_report_has_the_three_bullets(seed: int) -> None:
    text = answer(report_request(period="2025"), seed)
    lines = text.split("\n")
    assert lines[0] == "OpenAI 2025:"
    assert [line.split(": ", 1)[0] for line in lines[1:]] == ["- Progress", "- Safety incident", "- AGI timeline"]
    parts = bullets(text)
    assert all(part[:1].isupper() or part[:1].isdigit() for part in parts.values())
    years = [int(y) for y in re.findall(r"\b(20\d\d)\b", parts["AGI timeline"])]
    assert years
    assert min(years) > 2025


def test_half_year_report_keeps_the_period_label() -> None:
    text = answer(report_request(period="H2 2026"))
    assert text.startswith("OpenAI H2 2026:\n- Progress: ")
    assert min(int(y) for y in re.findall(r"\b(20\d\d)\b", bullets(text)["AGI timeline"])) > 2026


def test_lab_reports_name_versioned_models_and_other_labs() -> None:
    texts = [answer(report_request(period="2027"), seed) for seed in range(60)]
    assert sum(bool(re.search(r"\b[A-Z][a-z]+ \d+\.\d", t)) for t in texts) >= 40
    assert any("Anthropic" in t or "Google DeepMind" in t for t in texts)
    assert all(t.count("\n") == 3 for t in texts)


def test_government_reports_policy_not_model_releases() -> None:
    prefixes = tuple(p.split("{", 1)[0] for p in GOV_PROGRESS)
    assert len(GOV_PROGRESS) >= 25
    assert len(LAB_PROGRESS) >= 25
    for seed in range(30):
        progress = bullets(answer(report_request(name="UK Government", period="2026"), seed))["Progress"]
        assert progress.startswith(prefixes)
        assert not re.search(r"\b[A-Z][a-z]+ \d+\.\d", progress)  # no versioned model names


def test_the_kind_in_the_hints_decides_not_the_name() -> None:
    prefixes = tuple(p.split("{", 1)[0] for p in GOV_PROGRESS)
    for seed in range(30):
        ruling = bullets(answer(told(report_request(name="Northwind Systems"), "government"), seed))["Progress"]
        assert ruling.startswith(prefixes)
        assert not re.search(r"\b[A-Z][a-z]+ \d+\.\d", ruling)
        building = bullets(answer(told(report_request(name="Department of Models"), "lab"), seed))["Progress"]
        assert re.search(r"\b[A-Z][a-z]+ \d+\.\d", building)


def test_an_organisation_reports_neither_laws_nor_models() -> None:
    laws = tuple(p.split("{", 1)[0] for p in GOV_PROGRESS)
    for kind in ("organisation", "person"):
        texts = [answer(told(report_request(name="Future Watch", period="2027"), kind), seed) for seed in range(30)]
        assert all(set(bullets(t)) == {"Progress", "Safety incident", "AGI timeline"} for t in texts)
        assert not [t for t in texts if bullets(t)["Progress"].startswith(laws)]
        assert not [t for t in texts if re.search(r"\b[A-Z][a-z]+ \d+\.\d", t)]  # no model of its own
        assert all(min(map(int, re.findall(r"\b20\d\d\b", bullets(t)["AGI timeline"]))) > 2027 for t in texts)


def test_a_lab_names_as_rivals_only_the_labs_the_hints_list() -> None:
    statements = (
        "The story so far: EU AI Office (2025): EU AI Office 2025:\n- Progress: Passed a law.\n\n"
        "Borealis (2025): Borealis 2025:\n- Progress: Shipped a model.\n\nHouse style (strict): plain words."
    )
    request = told(report_request(statements=statements), "lab", ("EU AI Office", "government"), ("Borealis", "lab"))
    texts = [answer(request, seed) for seed in range(60)]
    assert any("Borealis" in t for t in texts)
    assert not [t for t in texts if "EU AI Office" in t or "House style" in t or "story so far" in t]


def test_a_council_line_answers_a_colleague_not_the_prompt() -> None:
    user = (
        "The debate so far: OpenAI Head of Policy: For the record, we should start a whistleblower policy.\n"
        "Your task: one sentence for 2025, starting with your name."
    )
    request = told(line_request("Quiet.", user), "lab", ("OpenAI Head of Policy", "organisation"))
    texts = [answer(request, seed) for seed in range(40)]
    assert not [t for t in texts if "Your task" in t or "debate so far" in t]
    replies = [t for t in texts if "Head of Policy" in t]
    assert replies
    assert any("whistleblower policy" in t for t in replies)


def test_a_government_in_a_debate_argues_for_rules() -> None:
    user = "Anthropic (Round 1): Anthropic: Interpretability is the only way to know.\n\nThis is Round 2."
    request = told(remark_request("Northwind", user), "government", ("Anthropic", "lab"))
    texts = [answer(request, seed) for seed in range(20)]
    assert all(t.startswith("Northwind: ") for t in texts)
    assert all(any(p in t or p[0].upper() + p[1:] in t for p in GOV_PROJECTS) for t in texts)
    assert any("Anthropic" in t for t in texts)


def test_the_judge_rates_a_government_that_enforces_above_one_that_consults() -> None:
    def record(progress: str) -> str:
        reports = "\n\n".join(
            f"## {year}\n\nBrussels Office: Brussels Office {year}:\n- Progress: {progress}\n"
            f"- Safety incident: None.\n- AGI timeline: 2033." for year in (2025, 2026, 2027)
        )
        return f"The world: regulation = moderate.\nThe organisations: Acme (lab), Brussels Office (government).\n\n{reports}"

    schema = {"type": "object", "properties": {"regulation_level": {"type": "integer", "minimum": 1, "maximum": 10}}}

    def level(progress: str) -> int:
        done = verdict_json([ChatMessage(role="user", content=record(progress))], schema)
        assert done is not None
        return int(msgspec.json.decode(done)["regulation_level"])

    assert level("Ordered Acme to pause a training run until an audit finished.") > level(
        "Hosted a summit where 12 countries signed a declaration."
    )


def test_report_may_echo_the_council_debate() -> None:
    debate = (
        "OpenAI CEO: Look, we should make a red-team bounty programme our top priority for 2025.\n"
        "OpenAI Head of Alignment: Come on, a red-team bounty programme is a distraction from a scalable-oversight pilot."
    )
    user = f"{REPORT_TURN.format(name='OpenAI', period='2025', statements=STATEMENTS)}\n\nThe debate:\n\n{debate}"
    texts = [
        answer(CompletionRequest(messages=[ChatMessage(role="user", content=user)],
                                 hints=Hints(kind="statement", speaker="OpenAI", period="2025")), seed)
        for seed in range(30)
    ]
    assert all(set(bullets(t)) == {"Progress", "Safety incident", "AGI timeline"} for t in texts)
    assert any("red-team bounty programme" in t or "scalable-oversight pilot" in t for t in texts)


@pytest.mark.parametrize("seed", range(20))
def test_council_line_is_one_sentence_by_the_speaker(seed: int) -> None:
    user = "Said so far:\n\nOpenAI Head of Policy: For the record, we should start a whistleblower policy.\n\nYour turn."
    text = answer(line_request("A casual founder.", user), seed)
    assert text.startswith("OpenAI CEO: ")
    assert "\n" not in text
    assert text.endswith(".")
    assert ". " not in text


def test_council_lines_reply_to_the_previous_speaker() -> None:
    user = "Said so far:\n\nOpenAI Head of Policy: For the record, we should start a whistleblower policy.\n\nYour turn."
    texts = [answer(line_request("Quiet.", user), seed) for seed in range(40)]
    replies = [t for t in texts if "Head of Policy" in t]
    assert replies
    assert any("whistleblower policy" in t for t in replies)
    assert not any("OpenAI Head of Policy" in t for t in replies)  # addressed by role in their own lab


def test_council_line_voice_follows_the_persona() -> None:
    user = "(Nobody has spoken yet.)"

    def openers(persona: str) -> Counter[str]:
        return Counter(answer(line_request(persona, user), s).split(": ", 1)[1].split(",")[0] for s in range(40))

    lawyer, swearer = openers("A former lawyer."), openers("Swears a lot when stressed.")
    assert set(lawyer) & {"For the record", "Legally speaking", "Subject to our obligations"}
    assert set(swearer) & {"Damn it", "Look", "Hell"}
    assert not set(lawyer) & {"Damn it", "Hell"}
    jokey = [answer(line_request("Dry and jokey.", user), s) for s in range(40)]
    assert any(" - " in t for t in jokey)


def test_end_token_is_never_emitted() -> None:
    user = "(Nobody has spoken yet.)"
    texts = [answer(line_request("Swears constantly.", user, end_token="damn"), s) for s in range(40)]
    assert not any("damn" in t for t in texts)


@pytest.mark.parametrize("seed", range(20))
def test_debate_remark_format(seed: int) -> None:
    user = ("Anthropic (Round 1): Anthropic: Interpretability is the only way to know.\n\n"
            "Google DeepMind (Round 1): Google DeepMind: Debate scales oversight.\n\nThis is Round 2.")
    text = answer(remark_request("OpenAI", user), seed)
    assert text.startswith("OpenAI: ")
    assert "\n" not in text
    sentences = re.findall(r"[.?!](?:\s|$)", text)
    assert 2 <= len(sentences) <= 3
    assert "Anthropic" in text or "Google DeepMind" in text


def test_debate_remark_without_others_still_answers() -> None:
    text = answer(remark_request("Anthropic", "Opening question: why your agenda?\n\nThis is Round 1."))
    assert text.startswith("Anthropic: ")
    assert "OpenAI" not in text


def test_other_kinds_get_a_neutral_paragraph() -> None:
    request = CompletionRequest(messages=[ChatMessage(role="user", content="Summarise.")], hints=Hints(kind="judge"))
    text = answer(request)
    assert text
    assert "\n" not in text
    assert text.endswith(".")


# -- usage, spec, latency ---------------------------------------------------------------------


async def test_usage_and_model_name(backend: str) -> None:
    model = open_model("offline?latency=0", seed=2)
    assert isinstance(model, OfflineModel)
    request = report_request()
    response = await model.complete(request)
    assert response.model == "offline?latency=0" == model.spec
    chars = sum(len(m.content) for m in request.messages)
    assert chars / 4 <= response.usage.prompt_tokens <= chars / 4 + 20
    assert response.usage.completion_tokens == -(-len(response.text) // 4)


async def test_latency_is_honoured(backend: str) -> None:
    model = OfflineModel(latency=0.01)
    start = anyio.current_time()
    await model.complete(report_request())
    assert anyio.current_time() - start >= 0.01


@pytest.mark.parametrize(("making", "left"), [(0.03, 0.02), (0.08, 0.0)])
async def test_making_the_answer_is_part_of_the_latency(
    backend: str, monkeypatch: pytest.MonkeyPatch, making: float, left: float
) -> None:
    """As a server's latency includes writing the answer, the model sleeps only what is left
    of its latency once the answer is made (and nothing, past it)."""
    clock = iter([100.0, 100.0 + making])
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    monkeypatch.setattr(offline_model, "perf_counter", lambda: next(clock))
    monkeypatch.setattr(offline_model, "sleep", sleep)
    await OfflineModel(latency=0.05).complete(report_request())
    assert slept == [pytest.approx(left)]


async def test_concurrent_calls_overlap_their_latency(backend: str) -> None:
    model = OfflineModel(latency=0.05)
    results: list[str] = []

    async def call(i: int) -> None:
        results.append((await model.complete(report_request(period=str(2023 + i)))).text)

    start = anyio.current_time()
    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(call, i)
    assert len(results) == 20
    assert anyio.current_time() - start < 0.05 * 10


# -- variety ----------------------------------------------------------------------------------


def test_ten_periods_read_like_a_conversation() -> None:
    statements: list[str] = []
    for seed in range(4):
        record = "The record opens."
        for year in range(2023, 2033):
            said = []
            for name in LABS:
                text = answer(report_request(name=name, period=str(year), statements=record), seed)
                said.append(f"{name} ({year}): {text}")
                statements.append(text)
            record = "\n\n".join(said)
    assert len(set(statements)) >= 0.9 * len(statements)
    progress = [bullets(t)["Progress"] for t in statements]
    openings = Counter(" ".join(p.split()[:3]) for p in progress)
    assert openings.most_common(1)[0][1] <= 0.15 * len(progress)
    timelines = Counter(bullets(t)["AGI timeline"] for t in statements)
    assert timelines.most_common(1)[0][1] <= 0.15 * len(statements)
