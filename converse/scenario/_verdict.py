"""What a judge scores and what it must answer: metrics, subjects, the verdict's type.

``verdict_type`` builds, per scenario, the msgspec Struct a judge's answer must decode to (a
``summary`` and one field per metric, a per-lab metric being a nested Struct with a field
per lab); ``judge_problems`` lists what is wrong with a scenario's ``[judge]`` table (and
``check_judge`` raises the first); ``verdict_from_return`` checks what a Python judge returned; ``scores_of`` turns a checked verdict into ``Score``s.
"""

from __future__ import annotations

import functools
import keyword
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import msgspec

from .._exceptions import JudgeReturnError
from ..log._events import Judged, Score
from ._problems import Problems
from ._scenario import Metric, Scenario

__all__ = [
    "DEFAULT_METRICS",
    "RESERVED",
    "check_judge",
    "judge_problems",
    "labs",
    "metrics_of",
    "scores_of",
    "subject_keys",
    "subjects_of",
    "verdict_from_return",
    "verdict_type",
]

DEFAULT_METRICS: tuple[Metric, ...] = (
    Metric(
        name="capability_progress",
        description="How far AI capabilities advanced over the whole record, all organisations together: "
        "1 = hardly at all, 10 = to systems that match or exceed people at most intellectual work.",
    ),
    Metric(
        name="capability",
        subjects="labs",
        description="How far the lab's own AI capabilities advanced over the record: "
        "1 = it stood still, 10 = it reached AGI-level systems.",
    ),
    Metric(
        name="safety_risk",
        description="How much risk of serious harm from AI the record shows, all organisations together: "
        "1 = minor, contained incidents, 10 = near-catastrophic incidents or loss of control.",
    ),
    Metric(
        name="risk",
        subjects="labs",
        description="How much risk of serious harm the lab's systems and conduct created: "
        "1 = careful and contained, 10 = reckless, with severe incidents.",
    ),
    Metric(
        name="regulation_level",
        description="How strongly governments regulated frontier AI in the record: "
        "1 = no regulation at all, 10 = binding rules with licensing, inspection and enforcement.",
    ),
    Metric(
        name="agi_year",
        subjects="labs",
        scale="year",
        optional=True,
        description="The year of the period in which the lab announced that it had built AGI; "
        "null if it never announced it within the record (a forecast is not an announcement).",
    ),
)
# Names a metric may not take: the verdict's summary, the derived score, and the columns
# of a sweep's summary.csv (a dial's name is taken too: see check_judge).
RESERVED = frozenset(
    {"summary", "first_agi_year", "run", "seed", "status", "reason", "periods", "turns", "llm_calls",
     "prompt_tokens", "completion_tokens", "cost_usd", "model", "judged", "judge_error"}
)
SUMMARY = (
    "One paragraph of three to five sentences on the overall course of the record, naming specific "
    "events from it (releases, incidents, rules, announcements) and who was behind them."
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_NO_KEY = re.compile(r'["\\\x00-\x1f]')  # what msgspec refuses in a field's name
_FUNCTION = "$.judge.function"
_AT = re.compile(r" - at `\$(?P<rest>[^`]*)`$")


# -- metrics and their subjects ---------------------------------------------------------------


def labs(scenario: Scenario) -> list[str]:
    """The agents the judge scores one by one as labs: those of kind ``lab``, or, if no
    agent says it is one, every top-level agent that is not a government."""
    named = [a.name for a in scenario.agents if a.kind == "lab"]
    return named or [a.name for a in scenario.agents if a.kind != "government"]


def metrics_of(scenario: Scenario) -> tuple[Metric, ...]:
    """The metrics the scenario's judge scores."""
    metrics = scenario.judge.metrics
    return DEFAULT_METRICS if metrics is None else tuple(metrics)


def subjects_of(scenario: Scenario, metric: Metric) -> list[str] | None:
    """Whom a metric scores one by one (None: the run as a whole)."""
    if metric.subjects == "run":
        return None
    return labs(scenario) if metric.subjects == "labs" else [a.name for a in scenario.agents]


def verdict_type(scenario: Scenario) -> type[msgspec.Struct]:
    """The judge's answer as a msgspec Struct: ``summary`` and one field per metric.

    A per-lab (or per-organisation) metric is a nested Struct with one field per subject,
    named as the agent is (a name no JSON key of msgspec's may be, with ``"``, ``\\`` or a
    control character, is ``field_2_``, its description naming the agent: see
    ``subject_keys``). Every field carries its metric's description and bounds, so the JSON
    Schema shown to a model says what to give.
    """
    return _verdict_type(metrics_of(scenario), tuple(labs(scenario)), tuple(a.name for a in scenario.agents))


@functools.lru_cache(maxsize=256)
def _verdict_type(
    metrics: tuple[Metric, ...], lab_names: tuple[str, ...], organisations: tuple[str, ...]
) -> type[msgspec.Struct]:
    fields: list[tuple[Any, ...]] = [("summary", Annotated[str, msgspec.Meta(description=SUMMARY)])]
    for i, metric in enumerate(metrics):
        value: Any = _value_type(metric)
        description = metric.description
        if metric.subjects != "run":
            subjects = lab_names if metric.subjects == "labs" else organisations
            one = "lab" if metric.subjects == "labs" else "organisation"
            nested = [
                (f"subject_{j}", value if key == name else Annotated[value, msgspec.Meta(description=f"The {one} {name}.")],
                 msgspec.field(name=key))
                for j, (name, key) in enumerate(zip(subjects, subject_keys(subjects), strict=True))
            ]
            value = msgspec.defstruct(
                f"Verdict_{metric.name}", nested, kw_only=True, frozen=True, forbid_unknown_fields=True
            )
            description = f"{description} One value per {one}: {', '.join(subjects)}."
        fields.append(_field(metric.name, Annotated[value, msgspec.Meta(description=description)], i))
    return msgspec.defstruct("Verdict", fields, kw_only=True, frozen=True, forbid_unknown_fields=True)


def _value_type(metric: Metric) -> Any:
    low, high = (1900, 2500) if metric.scale == "year" else (1, 10)
    value: Any = Annotated[int, msgspec.Meta(ge=low, le=high)]
    return value | None if metric.optional else value


def _field(name: str, kind: Any, index: int) -> tuple[Any, ...]:
    if name.isidentifier() and not keyword.iskeyword(name):
        return (name, kind)
    return (f"field_{index}_", kind, msgspec.field(name=name))  # "class" is no attribute's name


def subject_keys(subjects: Sequence[str]) -> list[str]:
    """The key of each subject in a verdict: its name (``"Google DeepMind"``), or for a name
    msgspec takes as no key (one with ``"``, ``\\`` or a control character) ``field_J_``, J its
    place among the subjects (with ``_`` added while that is another subject's name)."""
    taken = set(subjects)
    keys = []
    for j, name in enumerate(subjects):
        if _NO_KEY.search(name) is None:
            keys.append(name)
            continue
        key = f"field_{j}_"
        while key in taken:
            key += "_"
        taken.add(key)
        keys.append(key)
    return keys


def check_judge(scenario: Scenario, file: str) -> None:
    """Checks of the ``[judge]`` table the types cannot express.

    Raises:
        ScenarioError: naming the key path of the first problem (``$.judge.metrics[1].subjects``).
    """
    problems = Problems(file)
    judge_problems(scenario, problems)
    first = problems.first()
    if first is not None:
        raise first


def judge_problems(scenario: Scenario, problems: Problems) -> None:
    """Record every problem of the ``[judge]`` table (called by ``check_scenario``)."""
    judge = scenario.judge
    if judge.max_tokens < 1:
        problems.add("$.judge.max_tokens", f"must be positive, not {judge.max_tokens}")
    if judge.function is not None and judge.model is not None:
        problems.add("$.judge.model", "give the judge a model or a function, not both")
    if judge.function is not None and not re.fullmatch(r"[\w.]+:[\w.]+", judge.function):
        problems.add(_FUNCTION, f"{judge.function!r} is not of the form package.module:function")
    if judge.metrics is None:
        if judge.enabled and scenario.agents and not labs(scenario):
            problems.add("$.judge.metrics", "the default metrics score labs, and every agent is a government: list metrics")
        return
    seen: set[str] = set()
    for i, metric in enumerate(judge.metrics):
        path = f"$.judge.metrics[{i}]"
        if not _NAME.match(metric.name):
            problems.add(f"{path}.name", f"{metric.name!r} is not a name: use letters, digits and _")
        elif metric.name in RESERVED:
            problems.add(f"{path}.name", f"{metric.name!r} is reserved")
        elif metric.name in scenario.dials:
            problems.add(f"{path}.name", f"{metric.name!r} is the name of a dial (a sweep's summary needs both)")
        elif metric.name in seen:
            problems.add(f"{path}.name", f"{metric.name!r} is already the name of another metric")
        seen.add(metric.name)
        if not metric.description.strip():
            problems.add(f"{path}.description", "say what the judge scores")
        if metric.subjects == "labs" and scenario.agents and not labs(scenario):
            problems.add(f"{path}.subjects", "scores labs, and every agent is a government")


# -- verdicts ---------------------------------------------------------------------------------


def verdict_from_return(returned: object, scenario: Scenario) -> dict[str, Any]:
    """Check what a Python judge returned against ``verdict_type`` and give it as plain data.

    Raises:
        JudgeReturnError: it is not a verdict; the message names the key path
            (``$.scores.agi_year.OpenAI``).
    """
    if isinstance(returned, Judged):
        scores: dict[str, Any] = {}
        for score in returned.scores:
            if score.name in RESERVED:
                continue
            if score.subject is None:
                scores[score.name] = score.value
            else:
                scores.setdefault(score.name, {})[score.subject] = score.value
        returned = {"summary": returned.summary, "scores": scores}
    if not isinstance(returned, Mapping):
        raise JudgeReturnError(f"Expected a mapping or a Judged, got {type(returned).__name__}", "$")
    unknown = sorted(str(k) for k in returned if k not in ("summary", "scores"))
    if unknown:
        raise JudgeReturnError(f"Object contains unknown field `{unknown[0]}`", "$")
    scores = returned.get("scores", {})
    if not isinstance(scores, Mapping):
        raise JudgeReturnError(f"Expected a mapping, got {type(scores).__name__}", "$.scores")
    if "summary" in scores:
        raise JudgeReturnError("Object contains unknown field `summary`", "$.scores")
    flat = dict(scores)
    if "summary" in returned:
        flat["summary"] = returned["summary"]
    renamed: dict[str, str] = {}  # a subject's key in the verdict -> its name, where they differ
    for metric in metrics_of(scenario):
        subjects = subjects_of(scenario, metric)
        given = flat.get(metric.name)
        if subjects is None or not isinstance(given, Mapping):
            continue
        keys = dict(zip(subjects, subject_keys(subjects), strict=True))
        flat[metric.name] = {keys.get(name, name): v for name, v in given.items()}
        renamed |= {key: name for name, key in keys.items() if key != name}
    try:
        verdict = msgspec.convert(flat, verdict_type(scenario), strict=False)
    except msgspec.ValidationError as exc:
        problem, path = _scores_path(str(exc))
        for key, name in renamed.items():  # said as the function wrote it
            problem = problem.replace(f"`{key}`", f"`{name}`")
        head, dot, last = path.rpartition(".")
        raise JudgeReturnError(problem, f"{head}{dot}{renamed.get(last, last)}") from None
    data: dict[str, Any] = msgspec.to_builtins(verdict)
    return data


def _scores_path(message: str) -> tuple[str, str]:
    """msgspec's message about the flat verdict, split into the problem and the path as the
    function wrote it."""
    match = _AT.search(message)
    if match is None:  # a missing field of the verdict itself
        return message, ("$" if "`summary`" in message else "$.scores")
    rest = match["rest"]
    return message[: match.start()], (f"${rest}" if rest == ".summary" else f"$.scores{rest}")


def scores_of(scenario: Scenario, verdict: Mapping[str, Any]) -> list[Score]:
    """The scores of a checked verdict, in metric order, then ``first_agi_year`` (if the
    metrics include ``agi_year``): the earliest lab's year, None if no lab announced AGI."""
    scores: list[Score] = []
    first: Score | None = None
    for metric in metrics_of(scenario):
        subjects = subjects_of(scenario, metric)
        value = verdict[metric.name]
        if subjects is None:
            scores.append(Score(name=metric.name, value=_number(value), scale=metric.scale))
        else:
            scores.extend(
                Score(name=metric.name, value=_number(value[key]), subject=s, scale=metric.scale)
                for s, key in zip(subjects, subject_keys(subjects), strict=True)
            )
        if metric.name == "agi_year":
            years = [v for v in (value.values() if isinstance(value, Mapping) else [value]) if v is not None]
            first = Score(name="first_agi_year", value=_number(min(years)) if years else None, scale="year")
    if first is not None:
        scores.append(first)
    return scores


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]
