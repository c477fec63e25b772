"""converse's errors and warnings: all in ``converse._exceptions``, all picklable from the base."""

from __future__ import annotations

import ast
import copy
import importlib
import pickle
import pkgutil
from pathlib import Path
from typing import Any

import pytest

import actors
import converse
import converse.camel
from converse import ConverseError, ConverseWarning
from converse._exceptions import (
    CallFailed,
    ContextWindowExceeded,
    DatasetError,
    DirectoryInUse,
    JudgeReturnError,
    LogError,
    LogWriteError,
    ModelSpecError,
    NothingToResume,
    ReplayError,
    RetriesExhausted,
    ScenarioError,
    StructuredOutputError,
    SweepError,
    TornTailWarning,
    ViewError,
    WorkerWarning,
)
from converse.camel import ChatUnfinished, ListFileError, NotARolePlay
from converse.events import ChatMessage, RunFinished, Usage
from converse.models import StructuredAttempt

ROOT = Path(converse.__file__).parent

_ATTEMPT = StructuredAttempt(
    messages=[ChatMessage(role="user", content="score it")], text="{}", error="Object missing required field `x`",
    usage=Usage(prompt_tokens=12, completion_tokens=3), model="fake:judge", latency=0.25,
)
_FINISHED = RunFinished(
    run="r1", status="completed", reason="end of the timeline", periods=3, turns=9, llm_calls=12,
    prompt_tokens=1000, completion_tokens=200,
)
_FAILED = CallFailed("127.0.0.1:9 is overloaded", retryable=True, retry_after=2.0, status=503, kind="server")

# Constructor arguments (args, kwargs) for every error and warning class converse defines.
SAMPLES: dict[type[BaseException], tuple[tuple[Any, ...], dict[str, Any]]] = {
    ConverseError: (("something went wrong",), {}),
    ConverseWarning: (("careful",), {}),
    ScenarioError: (("labs.toml", "$.agents[2].council.rounds", "Expected `int`"), {}),
    LogError: (("events.jsonl", 12, "not a JSON object"), {}),
    LogWriteError: (("runs/x/events.jsonl", "OSError: [Errno 28] No space left on device"), {}),
    TornTailWarning: (("events.jsonl", 7), {}),
    WorkerWarning: (("--workers", "worker 2 of 2 exited with code 1 before it took a run"), {}),
    ModelSpecError: (("nosuch:model", "no such backend"), {}),
    CallFailed: (("127.0.0.1:9 is overloaded",), {"retryable": True, "retry_after": 2.0, "status": 503, "kind": "server"}),
    RetriesExhausted: (("127.0.0.1:9", 6, _FAILED), {}),
    StructuredOutputError: (("Verdict", [_ATTEMPT, _ATTEMPT], "Object missing required field `x`"), {}),
    ContextWindowExceeded: (("OpenAI", 5000, 3000, 500, "everything"), {}),
    ReplayError: (("run/events.jsonl", "OpenAI", 3, "the log holds no answer to it"), {}),
    NothingToResume: ((Path("runs/r1"), _FINISHED), {}),
    JudgeReturnError: (("Expected `int`, got `str`", "$.scores.agi_year.OpenAI"), {}),
    NotARolePlay: (("labs.jsonl",), {}),
    ChatUnfinished: (("run.jsonl", "failed", "RateLimitError"), {}),
    ListFileError: ((Path("roles.txt"), "holds no entries"), {}),
    SweepError: (("--grid regulation", "three-labs has no dial named regulation"), {}),
    DatasetError: (("--user-roles users.txt", "no such file"), {}),
    ViewError: (("runs: no such directory",), {}),
    DirectoryInUse: ((Path("runs/r1"), "run", 4242, "box", "2026-05-01T09:00:00+00:00"), {}),
}


def _import_all() -> None:
    """Import every module of converse, so that every error class it defines exists."""
    for module in pkgutil.walk_packages(converse.__path__, "converse."):
        if module.name != "converse.__main__":  # it runs the command line
            importlib.import_module(module.name)


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def _converse_classes() -> set[type]:
    _import_all()
    return {c for c in _subclasses(ConverseError) | _subclasses(ConverseWarning) if c.__module__.startswith("converse.")}


def _same(a: object, b: object) -> bool:
    """Equal, with exceptions (which compare by identity) compared by class, str, args and attributes."""
    if isinstance(a, BaseException):
        return (
            type(a) is type(b)
            and isinstance(b, BaseException)
            and str(a) == str(b)
            and _same(a.args, b.args)
            and _same(vars(a), vars(b))
        )
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_every_error_and_warning_lives_in_the_one_module_and_has_a_sample() -> None:
    classes = _converse_classes()
    assert {c for c in classes if c.__module__ != "converse._exceptions"} == set()
    assert classes == set(SAMPLES)


def test_every_error_is_public_where_users_import_it() -> None:
    for cls in SAMPLES:
        if cls in (NotARolePlay, ChatUnfinished, ListFileError):
            assert getattr(converse.camel, cls.__name__) is cls
        elif cls not in (JudgeReturnError, ViewError):  # caught by the judge; the command line's
            assert getattr(converse, cls.__name__) is cls


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_every_error_pickles_and_copies_with_its_fields(cls: type[BaseException]) -> None:
    args, kwargs = SAMPLES[cls]
    error = cls(*args, **kwargs)
    error.add_note("seen in a worker")
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(again) is cls
        assert str(again) == str(error)
        assert again.args == error.args == (str(error),)
        assert again.__notes__ == ["seen in a worker"]
        assert _same(again, error)
    if issubclass(cls, ConverseWarning):
        assert issubclass(cls, UserWarning)
        assert not issubclass(cls, ConverseError)


def test_the_arguments_kept_are_the_outermost_call() -> None:
    error = pickle.loads(pickle.dumps(RetriesExhausted("127.0.0.1:9", 6, _FAILED)))
    assert (error.endpoint, error.attempts, error.retryable, error.status, error.kind) == (
        "127.0.0.1:9", 6, False, 503, "server",
    )
    assert _same(error.last, _FAILED)


class _UserError(ConverseError):
    """A subclass written outside converse gets the same pickling, keyword arguments too."""

    def __init__(self, where: str, *, count: int = 1) -> None:
        self.where, self.count = where, count
        super().__init__(f"{where}: {count} problems")


def test_a_users_subclass_pickles_too() -> None:
    error = _UserError("here", count=3)
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.where, again.count) == (_UserError, "here: 3 problems", "here", 3)


def test_messages_are_built_from_fields() -> None:
    judged = JudgeReturnError("Expected `int`, got `str`", "$.scores.agi_year.OpenAI")
    assert str(judged) == "Expected `int`, got `str` - at `$.scores.agi_year.OpenAI`"
    done = NothingToResume(Path("runs/r1"), _FINISHED)
    assert str(done) == "runs/r1: the run already ended completed (end of the timeline); nothing to resume"
    assert done.finished is _FINISHED
    assert ListFileError(Path("roles.txt"), "holds no entries").path == "roles.txt"


def _reduce_definitions(package: Path) -> set[str]:
    found = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name in ("__reduce__", "__reduce_ex__"):
                        found.add(f"{path.relative_to(package.parent).as_posix()}:{node.name}")
    return found


def test_only_the_one_base_writes_reduce() -> None:
    # converse's errors and warnings rebuild through the runtime's base, as actors' do.
    assert _reduce_definitions(ROOT) == set()
    assert _reduce_definitions(ROOT.parent / "actors") == {"actors/_exceptions.py:RebuildsFromArguments"}
    assert issubclass(converse.ConverseError, actors.RebuildsFromArguments)
    assert issubclass(converse.ConverseWarning, actors.RebuildsFromArguments)
