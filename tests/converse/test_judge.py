"""The judge: a summary and scores after every completed run, recorded, rendered, repaired."""

from __future__ import annotations

import statistics
import uuid
from pathlib import Path
from typing import Annotated, Any

import anyio
import msgspec
import pytest

import converse
from _helpers import ROOT, one_error_line, run_cli
from actors import ActorSystem
from converse import (
    DEFAULT_METRICS,
    CallFailed,
    CompletionRequest,
    CompletionResponse,
    Limits,
    ScenarioError,
    Scheduler,
    verdict_type,
)
from converse.events import (
    ChatMessage,
    ConversationEnded,
    Judged,
    Ledger,
    LLMAttempt,
    LLMCall,
    RunError,
    RunFinished,
)
from converse.models import complete_structured
from converse.scenario._verdict import labs, metrics_of
from converse.testing import ModelServer, ScriptedModel, events_of, run_and_read

# The scenarios with a judge; a role-play is judged only when its scenario asks
# (test_camel_roleplay), and the long scenario's record outgrows its 8k model (test_memory).
SCENARIOS = sorted(
    p for p in ROOT.joinpath("scenarios").glob("*.toml")
    if converse.load_scenario(p).judge.enabled and converse.load_scenario(p).roleplay is None
)
SHORT = ["clock.end=2025"]


def verdict_of(events: list[converse.events.AnyEvent]) -> Judged:
    (judged,) = events_of(events, Judged)
    return judged


def scores(judged: Judged) -> dict[tuple[str, str | None], float | None]:
    return {(s.name, s.subject): s.value for s in judged.scores}


def judge_calls(events: list[converse.events.AnyEvent]) -> list[LLMCall]:
    return [c for c in events_of(events, LLMCall) if c.purpose == "judge"]


def quick_retries() -> Scheduler:
    return Scheduler(default=Limits(max_attempts=3, backoff=0.001, max_backoff=0.002, timeout=None))


def judges_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> str:
    """A module of judge functions on sys.path, under a name no other test uses."""
    name = f"judges_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


# -- the offline judge ------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
async def test_every_shipped_scenario_gets_a_valid_verdict(path: Path, tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read(path, out=tmp_path, seed=3)
    scenario = converse.load_scenario(path)
    judged = verdict_of(events)
    assert result.status == "completed"
    assert judged.judge == "offline"
    assert judged.summary.count(". ") >= 2
    assert any(a.name in judged.summary for a in scenario.agents)
    expected: list[tuple[str, str | None]] = []
    for metric in metrics_of(scenario):
        subjects: dict[str, list[str | None]] = {
            "run": [None],
            "labs": [*labs(scenario)],
            "organisations": [a.name for a in scenario.agents],
        }
        expected += [(metric.name, s) for s in subjects[metric.subjects]]
    got = scores(judged)
    if any(m.name == "agi_year" for m in metrics_of(scenario)):
        expected.append(("first_agi_year", None))
        years = [v for (name, _), v in got.items() if name == "agi_year" and v is not None]
        assert got[("first_agi_year", None)] == (min(years) if years else None)
    assert list(got) == expected
    for score in judged.scores:
        if score.scale == "1-10":
            assert score.value is not None
            assert 1 <= score.value <= 10
    # One judge call, last of all, on the run's model and in its ledger.
    (call,) = judge_calls(events)
    assert call.call == max(c.call for c in events_of(events, LLMCall))
    (ledger,) = events_of(events, Ledger)
    assert [e.calls for e in ledger.entries if e.agent == "judge"] == [1]
    # Rendered at the top of the transcript, which stays a pure function of the log.
    transcript = result.transcript.read_text(encoding="utf-8")
    assert transcript.index("## Summary and scores") < transcript.index("## Conversation")
    assert judged.summary.replace("<", "&lt;") in transcript
    assert transcript == converse.render_markdown(events)


async def test_the_verdict_is_deterministic_for_a_seed(tmp_path: Path, backend: str) -> None:
    verdicts = []
    for out, seed in (("a", 1), ("b", 1), ("c", 2), ("d", 4)):
        _, events = await run_and_read("labs-uk-government", out=tmp_path / out, seed=seed)
        judged = verdict_of(events)
        verdicts.append((judged.summary, judged.scores))
    assert verdicts[0] == verdicts[1]
    assert len(set(map(repr, verdicts))) == 3


async def test_the_scores_follow_the_dials(tmp_path: Path, backend: str) -> None:
    """What a sweep plots: stricter regulation and a gentler race push AGI out."""
    async with ActorSystem() as system:

        async def firsts(*dials: str) -> list[dict[tuple[str, str | None], float | None]]:
            out = []
            for seed in range(10):
                result = await converse.run_scenario(
                    "three-labs",
                    seed=seed,
                    out=tmp_path,
                    system=system,
                    overrides=[f"dials.{d}" for d in dials],
                )
                out.append(scores(verdict_of(converse.read_events(result.events))))
            return out

        def mean_first(runs: list[dict[tuple[str, str | None], float | None]]) -> float:
            return statistics.mean(r[("first_agi_year", None)] or 2033 for r in runs)  # none by 2032: later

        lax, default, strict = (
            await firsts("regulation=none"),
            await firsts(),
            await firsts("regulation=strict"),
        )
        relaxed = await firsts("race_pressure=relaxed")
    assert mean_first(lax) < mean_first(default) < mean_first(strict)
    assert mean_first(relaxed) > mean_first(default)
    assert statistics.mean(r[("regulation_level", None)] or 0 for r in strict) > statistics.mean(
        r[("regulation_level", None)] or 0 for r in lax
    )
    # With the default dials, some labs announce AGI within the record and some do not.
    years = [v for r in default for (name, _), v in r.items() if name == "agi_year"]
    assert None in years
    assert any(v is not None for v in years)
    assert len({r[("capability_progress", None)] for r in default + strict}) > 1


class Inner(msgspec.Struct, forbid_unknown_fields=True):
    grade: Annotated[int, msgspec.Meta(ge=0, le=4)]
    note: str | None


class Anything(msgspec.Struct, forbid_unknown_fields=True):
    summary: str
    ok: bool
    ratio: float
    year: Annotated[int, msgspec.Meta(ge=1990, le=2100)] | None
    items: list[str]
    inner: Inner


def test_the_offline_model_fills_any_schema_of_that_form() -> None:
    request = CompletionRequest(messages=[ChatMessage(role="user", content="Judge this.")])
    done = anyio.run(complete_structured, converse.OfflineModel(seed=1), request, Anything)
    assert len(done.attempts) == 1
    assert 0 <= done.value.inner.grade <= 4


# -- recording, repairs and failures ----------------------------------------------------------


class BreaksTheFirstVerdict:
    """A model that passes everything through, but spoils the first judge answer."""

    def __init__(self, model: converse.Model) -> None:
        self.model, self.spoiled = model, False

    @property
    def spec(self) -> str:
        return self.model.spec

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = await self.model.complete(request)
        if request.hints.kind == "judge" and not self.spoiled:
            self.spoiled = True
            return msgspec.structs.replace(response, text=response.text.replace('"summary"', '"verdict"', 1))
        return response


async def test_a_judge_through_the_sdk_repairs_an_invalid_answer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, backend: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    with ModelServer(api_key="test-key") as server:
        real = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            model = BreaksTheFirstVerdict(real)
            result, events = await run_and_read("three-labs", model=model, out=tmp_path, overrides=SHORT)
        finally:
            await real.aclose()  # type: ignore[attr-defined]
        sent = server.requests
    first, second = judge_calls(events)
    assert '"verdict"' in first.response
    assert "Your answer is not valid" in second.messages[-1].content
    assert "unknown field `verdict`" in second.messages[-1].content  # msgspec's own words
    assert [m["content"] for m in sent[-1]["messages"]] == [m.content for m in second.messages]
    judged = verdict_of(events)
    assert judged.judge == "openai:offline-chat"
    assert result.status == "completed"
    assert result.llm_calls == 9 + 2


async def test_retries_of_the_judge_call_are_recorded(tmp_path: Path, backend: str) -> None:
    failed: list[int] = []

    def script(request: CompletionRequest) -> str | None:
        if request.hints.kind == "judge" and not failed:
            failed.append(1)
            raise CallFailed("judge server busy", retryable=True, status=503, kind="server")
        return None

    _, events = await run_and_read(
        "three-labs", model=ScriptedModel(script), out=tmp_path, overrides=SHORT, scheduler=quick_retries()
    )
    (attempt,) = events_of(events, LLMAttempt)
    assert (attempt.actor, attempt.conversation, attempt.status) == ("judge", ("judge",), 503)
    assert judge_calls(events)[0].attempt == 2
    assert verdict_of(events)


@pytest.mark.parametrize(
    ("answer", "error_type", "calls"),
    [("I would rather not judge.", "StructuredOutputError", 3), (None, "RetriesExhausted", 0)],
    ids=["never-valid", "call-fails"],
)
async def test_a_failed_judge_leaves_the_run_completed(
    answer: str | None, error_type: str, calls: int, tmp_path: Path, backend: str
) -> None:
    def script(request: CompletionRequest) -> str | None:
        if request.hints.kind != "judge":
            return None
        if answer is None:
            raise CallFailed("judge server down", retryable=True, kind="server")
        return answer

    result, events = await run_and_read(
        "three-labs", model=ScriptedModel(script), out=tmp_path, overrides=SHORT, scheduler=quick_retries()
    )
    assert result.status == "completed"
    assert result.reason == "end_period"
    assert not events_of(events, Judged)
    (error,) = events_of(events, RunError)
    assert (error.error_type, error.actor, error.fatal) == (error_type, "judge", False)
    assert len(judge_calls(events)) == calls
    assert result.llm_calls == 9 + calls  # every answer the judge got is paid for
    transcript = result.transcript.read_text(encoding="utf-8")
    assert "## Summary and scores" not in transcript
    assert f"- {error_type}: " in transcript


async def test_the_judge_is_in_the_ledger_and_the_totals(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read("three-labs", out=tmp_path, overrides=SHORT)
    calls = events_of(events, LLMCall)
    (call,) = judge_calls(events)
    assert result.llm_calls == len(calls) == 10
    assert result.prompt_tokens == sum(c.usage.prompt_tokens for c in calls)
    assert result.completion_tokens == sum(c.usage.completion_tokens for c in calls)
    (ledger,) = events_of(events, Ledger)
    judge = next(e for e in ledger.entries if e.agent == "judge")
    assert (judge.calls, judge.prompt_tokens) == (1, call.usage.prompt_tokens)
    # The judge was shown the public record, period by period, and the world's dials.
    prompt = call.messages[1].content
    assert "The world: regulation = light, race_pressure = intense." in prompt
    assert prompt.index("## 2023") < prompt.index("## 2024") < prompt.index("## 2025")
    assert (call.params["temperature"], call.conversation, call.actor) == (0.0, ("judge",), "judge")


async def test_a_judge_model_of_its_own(tmp_path: Path, backend: str) -> None:
    script = ScriptedModel({})
    overrides = [*SHORT, 'judge.model="offline?latency=0"']
    _, events = await run_and_read("three-labs", model=script, out=tmp_path, overrides=overrides)
    (call,) = judge_calls(events)
    assert call.model == verdict_of(events).judge == "offline?latency=0"
    assert [r.hints.kind for r in script.requests] == ["statement"] * 9  # the run's model never judged


def test_lab_reports_announce_agi_in_the_three_bullets() -> None:
    system = converse.load_scenario("three-labs").prompts.system.replace("{regulation}", "none")
    system = system.replace("{race_pressure}", "cut-throat")
    model = converse.OfflineModel(seed=3)
    texts = []
    for year in range(2023, 2033):
        request = CompletionRequest(
            messages=[
                ChatMessage(role="system", content=system),
                ChatMessage(role="user", content="Report."),
            ],
            hints=converse.Hints(kind="statement", speaker="OpenAI", organisation="OpenAI", period=str(year)),
        )
        texts.append(model.answer(request))
    assert all(t.count("\n- ") == 3 for t in texts)
    timelines = [t.rsplit("- AGI timeline: ", 1)[1] for t in texts]
    built = next(i for i, t in enumerate(timelines) if "AGI" in t and ("built" in t or "announce" in t))
    assert all("AGI" in t for t in timelines[built:])  # once built, it stays built
    assert built < 9


async def test_no_judge_when_disabled_or_when_the_run_failed(tmp_path: Path, backend: str) -> None:
    result, events = await run_and_read(
        "three-labs", out=tmp_path / "off", overrides=[*SHORT, "judge.enabled=false"]
    )
    assert (result.llm_calls, events_of(events, Judged)) == (9, [])
    assert "## Summary and scores" not in result.transcript.read_text(encoding="utf-8")

    def fail(request: CompletionRequest) -> str | None:
        if request.hints.speaker == "Anthropic":
            raise CallFailed("bad request", retryable=False, kind="request")
        return None

    failed, events = await run_and_read(
        "three-labs", model=ScriptedModel(fail), out=tmp_path / "failed", overrides=SHORT
    )
    assert failed.status == "failed"
    assert judge_calls(events) == []


async def test_a_run_interrupted_while_judged_is_cancelled(tmp_path: Path, backend: str) -> None:
    judging = anyio.Event()

    class Hangs(ScriptedModel):
        async def complete(self, request: CompletionRequest) -> CompletionResponse:
            if request.hints.kind == "judge":
                judging.set()
                await anyio.sleep_forever()
            return await super().complete(request)

    async with anyio.create_task_group() as tg:

        async def run() -> None:
            await converse.run_scenario("three-labs", model=Hangs({}), out=tmp_path, overrides=SHORT)

        tg.start_soon(run)
        await judging.wait()
        tg.cancel_scope.cancel()
    events = converse.read_events(tmp_path / "three-labs-seed0" / "events.jsonl")
    finished = events[-1]
    assert isinstance(finished, RunFinished)
    assert (finished.status, finished.reason) == ("cancelled", "interrupted while judging")
    assert not events_of(events, Judged)
    # What tells such a run from one stopped in its conversation: the conversation had ended.
    assert [tuple(e.conversation) for e in events_of(events, ConversationEnded)] == [("top",)]


# -- Python judges ----------------------------------------------------------------------------

JUDGES = """
import anyio
from converse import Judged, Score
from converse.events import Utterance

LABS = ("OpenAI", "Google DeepMind", "Anthropic")


def score(events, scenario):
    said = [e for e in events if isinstance(e, Utterance)]
    return {
        "summary": f"{len(said)} statements in {scenario.name}.",
        "scores": {
            "capability_progress": 5, "capability": dict(zip(LABS, (6, 4, 3))), "safety_risk": 2,
            "risk": dict(zip(LABS, (1, 2, 3))), "regulation_level": 1,
            "agi_year": {"OpenAI": 2031, "Google DeepMind": None, "Anthropic": 2029},
        },
    }


async def ascore(events, scenario):
    await anyio.sleep(0)
    verdict = score(events, scenario)
    flat = [Score(name=k, value=v) for k, v in verdict["scores"].items() if not isinstance(v, dict)]
    apiece = [Score(name=k, value=x, subject=s) for k, v in verdict["scores"].items() if isinstance(v, dict)
              for s, x in v.items()]
    return Judged(run="mine", judge="mine", summary="async " + verdict["summary"], scores=flat + apiece)


def bad(events, scenario):
    verdict = score(events, scenario)
    verdict["scores"]["agi_year"]["OpenAI"] = "soon"
    return verdict


def boom(events, scenario):
    raise RuntimeError("the judge fell over")
"""


@pytest.mark.parametrize("function", ["score", "ascore"])
async def test_a_python_judge(
    function: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    module = judges_module(tmp_path, monkeypatch, JUDGES)
    overrides = [*SHORT, f"judge.function={module}:{function}"]
    result, events = await run_and_read("three-labs", out=tmp_path / "out", overrides=overrides)
    judged = verdict_of(events)
    assert judged.judge == f"python:{module}:{function}"
    assert judged.summary.endswith("9 statements in three-labs.")
    got = scores(judged)
    assert got[("capability", "Google DeepMind")] == 4
    assert got[("agi_year", "Google DeepMind")] is None
    assert got[("first_agi_year", None)] == 2029
    assert result.llm_calls == 9
    assert judge_calls(events) == []


@pytest.mark.parametrize(
    ("function", "error_type", "says"),
    [
        ("bad", "JudgeReturnError", "at `$.scores.agi_year.OpenAI`"),
        ("boom", "RuntimeError", "the judge fell over"),
    ],
)
async def test_a_python_judge_that_fails_is_recorded(
    function: str, error_type: str, says: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    module = judges_module(tmp_path, monkeypatch, JUDGES)
    overrides = [*SHORT, f"judge.function={module}:{function}"]
    result, events = await run_and_read("three-labs", out=tmp_path / "out", overrides=overrides)
    assert result.status == "completed"
    (error,) = events_of(events, RunError)
    assert (error.error_type, error.actor, error.fatal) == (error_type, "judge", False)
    assert f"{module}:{function}" in error.message
    assert says in error.message
    assert not events_of(events, Judged)


async def test_a_judge_function_that_cannot_be_imported_stops_the_run_before_it_starts(
    tmp_path: Path, backend: str
) -> None:
    model = ScriptedModel({})
    with pytest.raises(ScenarioError) as caught:
        await converse.run_scenario(
            "three-labs", model=model, out=tmp_path, overrides=["judge.function=no_such_judges:score"]
        )
    assert caught.value.path == "$.judge.function"
    assert "cannot import no_such_judges" in caught.value.problem
    assert model.requests == []
    assert [p async for p in anyio.Path(tmp_path).iterdir()] == []


def test_the_command_line_names_a_judge_it_cannot_import(tmp_path: Path) -> None:
    done = run_cli(
        "run", "three-labs", "--set", "judge.function=no_such_judges:score", "--out", str(tmp_path),
        cwd=tmp_path, timeout=60,
    )
    assert done.returncode == 2
    assert "$.judge.function: cannot import no_such_judges" in one_error_line(done)


# -- scenario checks and the schema -----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path", "says"),
    [
        (['judge.metrics=[{name="a b", description="x"}]'], "$.judge.metrics[0].name", "not a name"),
        (['judge.metrics=[{name="summary", description="x"}]'], "$.judge.metrics[0].name", "reserved"),
        (
            ['judge.metrics=[{name="a", description="x"}, {name="a", description="y"}]'],
            "$.judge.metrics[1].name",
            "already",
        ),
        (
            [
                'judge.metrics=[{name="a", description="x", subjects="labs"}]',
                *(f'agents[{i}].kind="government"' for i in range(3)),
            ],
            "$.judge.metrics[0].subjects",
            "every agent is a government",
        ),
        (
            [f'agents[{i}].kind="government"' for i in range(3)],
            "$.judge.metrics",
            "default metrics score labs",
        ),
        (['judge.model="offline"', 'judge.function="m:f"'], "$.judge.model", "not both"),
        (
            ['judge.metrics=[{name="a", description="x", scale="decade"}]'],
            "$.judge.metrics[0].scale",
            "Invalid enum",
        ),
    ],
)
def test_bad_judge_tables_are_named(overrides: list[str], path: str, says: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        converse.load_scenario("three-labs", overrides)
    assert caught.value.path == path
    assert says in caught.value.problem


def test_the_schema_says_what_to_score() -> None:
    scenario = converse.load_scenario("labs-uk-government")
    kind = verdict_type(scenario)
    assert verdict_type(converse.load_scenario("labs-uk-government")) is kind  # made once
    schema: dict[str, Any] = msgspec.json.schema(kind)
    verdict = schema["$defs"]["Verdict"]
    assert verdict["required"] == ["summary", *(m.name for m in DEFAULT_METRICS)]
    agi = verdict["properties"]["agi_year"]
    assert "Google DeepMind" in agi["description"]
    assert "UK Government" not in agi["description"]  # a government is not scored as a lab
    per_lab = schema["$defs"]["Verdict_agi_year"]["properties"]
    assert list(per_lab) == ["OpenAI", "Google DeepMind", "Anthropic"]
    assert per_lab["OpenAI"]["anyOf"][1] == {"type": "null"}
    assert verdict["properties"]["regulation_level"] == {
        "description": DEFAULT_METRICS[4].description,
        "type": "integer",
        "minimum": 1,
        "maximum": 10,
    }
