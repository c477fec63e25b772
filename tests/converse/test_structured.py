"""Structured output: JSON answers decoded into msgspec types, with repair turns."""

from __future__ import annotations

import json
import pickle
import re

import anyio.lowlevel
import msgspec
import pytest

from converse import (
    CallFailed,
    CompletionRequest,
    CompletionResponse,
    ConverseError,
    Hints,
    Limits,
    Scheduler,
    StructuredOutputError,
)
from converse.events import ChatMessage, Usage
from converse.models import Attempt, complete_structured
from converse.models._structured import decode_answer


class Score(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    value: float
    subject: str | None = None


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    summary: str
    scores: list[Score]


GOOD = '{"summary": "A tense decade.", "scores": [{"name": "safety", "value": 6.5, "subject": "OpenAI"}]}'
VERDICT = Verdict(summary="A tense decade.", scores=[Score(name="safety", value=6.5, subject="OpenAI")])
WRONG_TYPE = '{"summary": "A tense decade.", "scores": [{"name": "safety", "value": "high"}]}'
WRONG_TYPE_ERROR = "Expected `float`, got `str` - at `$.scores[0].value`"


class Scripted:
    """A fake model giving its answers in order (the last one again when they run out)."""

    def __init__(self, *answers: str | CallFailed, spec: str = "fake:judge") -> None:
        self.answers = list(answers)
        self.requests: list[CompletionRequest] = []
        self._spec = spec

    @property
    def spec(self) -> str:
        return self._spec

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.requests.append(request)
        await anyio.lowlevel.checkpoint()
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, CallFailed):
            raise answer
        usage = Usage(prompt_tokens=10 * len(request.messages), completion_tokens=len(answer))
        return CompletionResponse(text=answer, usage=usage, model=self._spec)


def judge_request() -> CompletionRequest:
    return CompletionRequest(
        messages=[
            ChatMessage(role="system", content="You judge simulated histories."),
            ChatMessage(role="user", content="Judge this transcript: ..."),
        ],
        temperature=0.0,
        max_tokens=300,
        params={"seed": 3},
        hints=Hints(kind="judge", speaker="judge"),
    )


async def test_a_valid_answer_is_decoded_at_once(backend: str) -> None:
    model = Scripted(GOOD)
    asked = judge_request()
    result = await complete_structured(model, asked, Verdict)
    assert result.value == VERDICT
    [sent] = model.requests
    assert sent.messages[:2] == asked.messages
    [instruction] = sent.messages[2:]
    assert instruction.role == "user"
    assert "one JSON object only" in instruction.content
    schema = json.loads(instruction.content.split("\n", 1)[1])
    assert schema == msgspec.json.schema(Verdict)
    assert (sent.sent_params(), sent.hints) == (asked.sent_params(), asked.hints)
    [attempt] = result.attempts
    assert (attempt.messages, attempt.text, attempt.error, attempt.model) == (
        sent.messages,
        GOOD,
        None,
        "fake:judge",
    )
    assert result.usage == Usage(prompt_tokens=30, completion_tokens=len(GOOD))


async def test_an_invalid_answer_is_repaired_with_msgspecs_error(backend: str) -> None:
    model = Scripted(WRONG_TYPE, GOOD)
    result = await complete_structured(model, judge_request(), Verdict)
    assert result.value == VERDICT
    assert [a.error for a in result.attempts] == [WRONG_TYPE_ERROR, None]
    first, repair = model.requests
    assert repair.messages[:3] == first.messages
    answer, complaint = repair.messages[3:]
    assert answer == ChatMessage(role="assistant", content=WRONG_TYPE)
    assert complaint.role == "user"
    assert WRONG_TYPE_ERROR in complaint.content
    assert "corrected JSON" in complaint.content
    assert result.attempts[1].messages == repair.messages
    assert result.usage == Usage(prompt_tokens=30 + 50, completion_tokens=len(WRONG_TYPE) + len(GOOD))


async def test_repair_prompts_show_only_the_latest_answer(backend: str) -> None:
    model = Scripted("not JSON at all", '{"summary": 1}', GOOD)
    result = await complete_structured(model, judge_request(), Verdict)
    assert len(result.attempts) == 3
    second, third = model.requests[1:]
    assert len(second.messages) == len(third.messages) == 5
    assert third.messages[3].content == '{"summary": 1}'
    assert "Expected `str`, got `int` - at `$.summary`" in third.messages[4].content
    assert "JSON is malformed" in second.messages[4].content


@pytest.mark.parametrize("max_repairs", [0, 2])
async def test_an_answer_that_never_validates_raises(backend: str, max_repairs: int) -> None:
    model = Scripted(WRONG_TYPE)
    with pytest.raises(StructuredOutputError) as caught:
        await complete_structured(model, judge_request(), Verdict, max_repairs=max_repairs)
    error = caught.value
    assert len(model.requests) == max_repairs + 1
    assert isinstance(error, ConverseError)
    assert (error.schema_name, error.last_error) == ("Verdict", WRONG_TYPE_ERROR)
    assert [a.text for a in error.attempts] == [WRONG_TYPE] * (max_repairs + 1)
    assert str(error).startswith(f"Verdict: no valid answer in {max_repairs + 1} attempt")
    assert WRONG_TYPE_ERROR in str(error)
    assert "\n" not in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.attempts) == (str(error), error.attempts)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(f"```json\n{GOOD}\n```", id="fenced-json"),
        pytest.param(f"```\n{GOOD}\n```", id="fenced"),
        pytest.param(f"Here is my verdict:\n\n```json\n{GOOD}\n```\nI hope it helps.", id="fenced-in-prose"),
        pytest.param(f"Here is my verdict: {GOOD} That is all.", id="prose"),
        pytest.param(f"  \n{GOOD}\n\n", id="whitespace"),
    ],
)
async def test_json_wrapped_in_a_fence_or_prose_is_accepted(backend: str, answer: str) -> None:
    result = await complete_structured(Scripted(answer), judge_request(), Verdict)
    assert result.value == VERDICT
    assert len(result.attempts) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ("I cannot judge this.", "JSON is malformed"),
        (f"Verdict: {WRONG_TYPE}.", WRONG_TYPE_ERROR),
        ('```json\n{"summary": "s", "scores": []\n```', "truncated"),
        (
            '{"summary": "s", "scores": [{"value": 1}]}',
            "Object missing required field `name` - at `$.scores[0]`",
        ),
    ],
)
def test_decode_errors_name_the_problem(answer: str, error: str) -> None:
    with pytest.raises(msgspec.DecodeError, match=re.escape(error)):
        decode_answer(msgspec.json.Decoder(Verdict), answer)


def test_decode_answer_takes_a_top_level_array_as_it_is() -> None:
    assert decode_answer(msgspec.json.Decoder(list[Score]), '[{"name": "a", "value": 1}]') == [
        Score(name="a", value=1.0)
    ]


async def test_calls_go_through_the_scheduler(backend: str) -> None:
    scheduler = Scheduler(Limits(backoff=0.0))
    model = Scripted(
        CallFailed("fake: overloaded", retryable=True, status=503), WRONG_TYPE, GOOD, spec="fake:j?x=1"
    )
    seen: list[Attempt] = []

    async def on_attempt(attempt: Attempt) -> None:
        seen.append(attempt)

    result = await complete_structured(
        model, judge_request(), Verdict, scheduler=scheduler, on_attempt=on_attempt
    )
    assert result.value == VERDICT
    assert len(result.attempts) == 2  # the failed attempt was the scheduler's to retry
    [(endpoint, stats)] = scheduler.statistics().endpoints.items()
    assert endpoint == "fake:j"
    assert (stats.attempts, stats.retries, stats.succeeded) == (3, 1, 2)
    assert stats.tokens == sum(a.usage.total_tokens for a in result.attempts)
    assert [a.ok for a in seen] == [False, True, True]


async def test_the_scheduler_key_can_be_given(backend: str) -> None:
    scheduler = Scheduler()
    await complete_structured(
        Scripted(GOOD), judge_request(), Verdict, scheduler=scheduler, endpoint="http://x|j"
    )
    assert list(scheduler.statistics().endpoints) == ["http://x|j"]


async def test_a_failed_call_propagates(backend: str) -> None:
    model = Scripted(CallFailed("fake: bad key", retryable=False, status=401))
    with pytest.raises(CallFailed, match="bad key"):
        await complete_structured(model, judge_request(), Verdict)


async def test_negative_repairs_are_refused(backend: str) -> None:
    with pytest.raises(ValueError, match="max_repairs"):
        await complete_structured(Scripted(GOOD), judge_request(), Verdict, max_repairs=-1)
