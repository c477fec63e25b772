"""The judge: after a completed run, a summary and scores as validated structured output.

One model call (``complete_structured``; the run's model unless ``judge.model`` names
another) or a Python function (``judge.function``) reads the run's public record and scores
it on the scenario's metrics (``DEFAULT_METRICS`` unless ``judge.metrics`` lists others).
The verdict becomes a ``judged`` event, with ``first_agi_year`` (the earliest of the labs'
``agi_year``) added when the metrics include ``agi_year``.

Only runs that end ``completed`` are judged: a failed, cancelled or budget-exhausted run
leaves an incomplete record, and scoring it would mix unfinished runs into a sweep's
statistics. A judge that fails (no valid answer after its repairs, a call that fails after
the scheduler's retries, a Python judge that raises or returns something invalid) leaves a
non-fatal ``error`` event and the run's status as it was. A run interrupted while it is
being judged ends ``cancelled``.
"""

from __future__ import annotations

import importlib
import inspect
import time
from collections.abc import Callable
from typing import Any

import msgspec

from .._exceptions import CallFailed, JudgeReturnError, ScenarioError, StructuredOutputError
from ..engine._calling import Answer, PromptChain, attempt_logger, call_and_record, from_log
from ..engine._context import RunContext
from ..log._events import ChatMessage, Event, Judged, RunError, Utterance
from ..models._model import (
    CompletionRequest,
    CompletionResponse,
    Hints,
    Model,
    endpoint_of,
    estimate_prompt_tokens,
)
from ..models._open import open_model, with_timeout
from ..models._scheduler import Attempt
from ..models._structured import StructuredWays, complete_structured
from ..models._windows import context_window
from ..scenario._model_choice import ModelChoice
from ..scenario._scenario import ModelSettings, Scenario
from ..scenario._verdict import DEFAULT_METRICS as DEFAULT_METRICS
from ..scenario._verdict import (
    SUMMARY,
    metrics_of,
    scores_of,
    subjects_of,
    verdict_from_return,
    verdict_type,
)
from ..scenario._verdict import check_judge as check_judge

__all__ = [
    "DEFAULT_METRICS",
    "JudgeFunction",
    "RunJudge",
    "check_judge",
    "is_judge_failure",
    "judge_messages",
    "load_function",
    "verdict_type",
]

JudgeFunction = Callable[[list[Event], Scenario], Any]
"""A Python judge: ``fn(events, scenario)`` returns (or, if async, resolves to) a mapping
``{"summary": str, "scores": {metric: value or {subject: value}}}`` or a ``Judged``."""

ACTOR = "judge"
CONVERSATION = ("judge",)

INSTRUCTIONS = (
    "You are an impartial analyst. You read the public record of a simulated world, written period by "
    "period by the organisations in it, and judge what happened there. Judge only what the record says "
    "happened: not what you know or believe about the real world, and not what an organisation merely "
    "promises or forecasts."
)
_FUNCTION = "$.judge.function"


def is_judge_failure(error: RunError) -> bool:
    """Whether ``error`` is a judge's failure to give a verdict (not a failed call of an agent)."""
    return error.actor == ACTOR and tuple(error.conversation or ()) == CONVERSATION and not error.fatal


# -- the prompt -------------------------------------------------------------------------------


def judge_messages(scenario: Scenario, events: list[Event]) -> list[ChatMessage]:
    """The judge's prompt: what to score, then the scenario, its dials and the public record.

    The record is every public statement (no council debates), grouped by period.
    """
    scale_lines = []
    for metric in metrics_of(scenario):
        subjects = subjects_of(scenario, metric)
        scale = "a year, or null" if metric.scale == "year" else "1-10"
        if metric.optional and metric.scale != "year":
            scale += ", or null"
        whom = "the whole record" if subjects is None else f"each of {', '.join(subjects)}"
        scale_lines.append(f"- {metric.name} ({scale}; for {whom}): {metric.description}")
    system = "\n\n".join(
        [
            scenario.judge.instructions.strip() or INSTRUCTIONS,
            "Scores from 1 to 10 run from minimal (1) to maximal (10); a year is a calendar year. A score "
            "that may be null is null when the record gives no grounds for a value.",
            "What to score:\n" + "\n".join(scale_lines),
            f"For the summary, write {SUMMARY[0].lower()}{SUMMARY[1:]}",
        ]
    )
    parts = [f"Scenario: {scenario.title or scenario.name}"]
    if scenario.description.strip():
        parts[0] += "\n" + scenario.description.strip()
    if scenario.dials:
        parts.append("The world: " + ", ".join(f"{k} = {_dial(v)}" for k, v in scenario.dials.items()) + ".")
    parts.append("The organisations: " + ", ".join(f"{a.name} ({a.kind})" for a in scenario.agents) + ".")
    parts.append("The public record, period by period:")
    period: str | None = None
    said = False
    for event in events:
        if type(event) is Utterance and len(event.conversation) == 1:
            if event.period != period:
                period = event.period
                parts.append(f"## {period}")
            parts.append(_entry(event.actor, event.period, event.text))
            said = True
    if not said:
        parts.append("(No public statements were made.)")
    return [ChatMessage(role="system", content=system), ChatMessage(role="user", content="\n\n".join(parts))]


def _dial(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _entry(actor: str, period: str, text: str) -> str:
    body = text.strip()
    for prefix in (f"{actor} {period}:", f"{actor}:"):  # the report's own header adds nothing here
        if body.startswith(prefix):
            body = body[len(prefix) :].strip()
            break
    if not body:
        return f"{actor}: (said nothing)"
    return f"{actor}:\n{body}" if "\n" in body else f"{actor}: {body}"


# -- running the judge ------------------------------------------------------------------------


def load_function(reference: str, file: str) -> JudgeFunction:
    """Import ``package.module:function``.

    Raises:
        ScenarioError: at ``$.judge.function``, in one line.
    """
    module_name, _, attribute = reference.partition(":")
    try:
        target: Any = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or whatever the module raised as it ran
        raise ScenarioError(file, _FUNCTION, f"cannot import {module_name}: {_one_line(exc)}") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ScenarioError(
                file, _FUNCTION, f"cannot import {reference}: no {part!r} in {module_name}"
            ) from None
    if not callable(target):
        raise ScenarioError(file, _FUNCTION, f"cannot use {reference}: it is not callable")
    return target  # type: ignore[no-any-return]


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


class _Capture:
    """A model that keeps its last request and answer, for the judge's log events; a
    recorded answer (resuming, or re-executing a log) is served without asking the model."""

    def __init__(self, model: Model, ctx: RunContext) -> None:
        self.model = model
        self.ctx = ctx
        self.last: tuple[CompletionRequest, CompletionResponse] | None = None

    @property
    def spec(self) -> str:
        return self.model.spec

    @property
    def structured_ways(self) -> StructuredWays | None:
        """The model's dialects of structured output (``complete_structured`` reads them)."""
        return getattr(self.model, "structured_ways", None)

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        response = from_log(self.ctx, request)
        if response is None:
            response = await self.model.complete(request)
        self.last = (request, response)
        return response


def _params(scenario: Scenario, own: ModelChoice | None, run_model: bool) -> dict[str, Any]:
    """The judge's request parameters: its own table's, else the run's for the run's model
    (another model's server may refuse them)."""
    if own is not None and own.params is not None:
        return dict(own.params)
    return dict(scenario.model.params) if run_model else {}


class RunJudge:
    """A run's judge, made ready before the run starts (``prepare``), used after it ends."""

    def __init__(self, scenario: Scenario, function: JudgeFunction | None = None) -> None:
        self.scenario = scenario
        self.function = function
        self.model: Model | None = None  # judge.model, opened by open()
        self.own: ModelChoice | None = None  # judge.model's settings, when it is a table

    @classmethod
    def prepare(cls, scenario: Scenario, file: str) -> RunJudge | None:
        """The scenario's judge, None if it is disabled; imports ``judge.function``.

        Raises:
            ScenarioError: ``judge.function`` cannot be imported.
        """
        judge = scenario.judge
        if not judge.enabled:
            return None
        if scenario.roleplay is not None and judge.metrics is None and judge.function is None:
            return None  # the default metrics score AI labs; a role-play is judged only when asked
        return cls(scenario, load_function(judge.function, file) if judge.function else None)

    def open(self, *, seed: int, base_url: str | None) -> None:
        """Open ``judge.model`` if the scenario names one (close it with ``aclose``).

        Raises:
            ModelSpecError: the spec is invalid.
        """
        choice = self.scenario.judge.model
        if choice is None or self.function is not None or self.model is not None:
            return
        if isinstance(choice, str):
            choice = ModelChoice(spec=choice)
        else:
            self.own = choice
        model = open_model(choice.spec, seed=seed, base_url=choice.base_url or base_url)
        self.model = with_timeout(model, choice.timeout or self.scenario.model.timeout)

    async def aclose(self) -> None:
        """Close the judge's own model, if it opened one."""
        model, self.model = self.model, None
        close = getattr(model, "aclose", None)
        if close is not None:
            await close()

    async def judge(self, ctx: RunContext) -> None:
        """Judge the run of ``ctx`` if it completed: record a ``judged`` event, or an error."""
        if ctx.outcome.status != "completed":
            return
        try:
            if self.function is not None:
                verdict = await self._call_function(ctx)
                name = f"python:{self.scenario.judge.function}"
            else:
                model = self.model or ctx.model
                verdict, name = await self._ask(ctx, model)
        except BaseException:
            ctx.interrupt("interrupted while judging")
            raise
        if verdict is not None:
            scores = scores_of(ctx.scenario, verdict)
            await ctx.emit(Judged(run=ctx.run, judge=name, summary=verdict["summary"], scores=scores))

    async def _call_function(self, ctx: RunContext) -> dict[str, Any] | None:
        assert self.function is not None
        reference = self.scenario.judge.function
        try:
            returned = self.function(list(ctx.events), ctx.scenario)
            if inspect.isawaitable(returned):
                returned = await returned
        except Exception as exc:  # the user's code: its failure is the run's news, not ours
            await self._error(ctx, type(exc).__name__, f"{reference} raised {_one_line(exc)}")
            return None
        try:
            return verdict_from_return(returned, ctx.scenario)
        except JudgeReturnError as exc:
            await self._error(ctx, "JudgeReturnError", f"{reference} returned no valid verdict: {exc}")
            return None

    async def _ask(self, ctx: RunContext, model: Model) -> tuple[dict[str, Any] | None, str]:
        """The verdict (None if none validated) and the judge's name: the model's spec, or
        the recorded one when the answer came from a log."""
        scenario = ctx.scenario
        max_tokens = scenario.judge.max_tokens
        periods = [e.period for e in ctx.events if type(e) is Utterance and len(e.conversation) == 1]
        request = CompletionRequest(
            messages=judge_messages(scenario, ctx.events),
            temperature=0.0,  # a judge should give the same record the same verdict
            max_tokens=max_tokens,
            params=_params(scenario, self.own, model is ctx.model),
            hints=Hints(kind="judge", speaker=ACTOR, period=periods[-1] if periods else ""),
        )
        # The run's window is the run's model's; another judge model's is known by its name.
        own_window = self.own.context_window if self.own is not None else None
        window = ctx.window if model is ctx.model else own_window or context_window(ModelSettings(), model.spec)
        needed = estimate_prompt_tokens(request.messages)
        if window is not None and needed + max_tokens > window:
            await self._error(
                ctx, "ContextWindowExceeded",
                f"the public record needs about {needed:,} tokens and {max_tokens:,} more for the verdict, over "
                f"the judge's window of {window:,}: give the judge a model with a larger window (judge.model)",
            )
            return None, model.spec
        capture = _Capture(model, ctx)
        since = [time.perf_counter()]
        report_failure = attempt_logger(ctx, CONVERSATION, ACTOR)

        async def on_attempt(attempt: Attempt) -> None:
            if not attempt.ok:
                await report_failure(attempt)
            elif capture.last is not None:
                sent, response = capture.last
                now = time.perf_counter()
                # Each attempt's whole prompt is recorded: a repair turn shares no prefix.
                await call_and_record(
                    ctx, sent, conversation=CONVERSATION, actor=ACTOR, purpose="judge", estimate=0,
                    chain=PromptChain(), answered=Answer(response, attempt.attempt, now - since[0]),
                )
                since[0] = now

        try:
            result = await complete_structured(
                capture,
                request,
                verdict_type(scenario),
                scheduler=ctx.scheduler,
                endpoint=endpoint_of(model),
                tenant=ctx.run,
                on_attempt=on_attempt,
                # the scenario's setting is the run's model's; another judge model finds its own way
                structured=scenario.model.structured if model is ctx.model else (self.own and self.own.structured) or "auto",
            )
        except (StructuredOutputError, CallFailed) as exc:
            await self._error(ctx, type(exc).__name__, str(exc))
            return None, model.spec
        data: dict[str, Any] = msgspec.to_builtins(result.value)
        recorded = capture.last[1].recorded if capture.last is not None else None
        return data, recorded.model if recorded is not None else model.spec

    async def _error(self, ctx: RunContext, error_type: str, message: str) -> None:
        ctx.judge_error = message  # the run's result says so (RunResult.judge_error)
        await ctx.emit(
            RunError(
                run=ctx.run, error_type=error_type, message=message, conversation=CONVERSATION, actor=ACTOR
            )
        )
