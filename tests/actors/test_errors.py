"""The runtime's errors pickle (and copy) from the arguments they were made with, all of them."""

from __future__ import annotations

import copy
import pickle
from typing import Any

import anyio
import pytest

import actors
from actors import (
    ActorDeadError,
    ActorError,
    AskTimeoutError,
    ChildFailedError,
    EscalatedFailureError,
    MailboxFullError,
    SystemNotRunningError,
    UnhandledMessageError,
)

SAMPLES: dict[type[ActorError], tuple[Any, ...]] = {
    ActorError: ("something went wrong",),
    ActorDeadError: ("worker-1", "failed"),
    AskTimeoutError: ("worker-1", 1.5),
    MailboxFullError: ("worker-1", 64),
    UnhandledMessageError: ("worker-1", "Ping"),
    SystemNotRunningError: ("system", "spawn"),
    ChildFailedError: ("worker-1", ValueError("boom")),
    EscalatedFailureError: ("root", RuntimeError("boom")),
}


def _subclasses(cls: type) -> set[type]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def _plain(value: object) -> object:
    """``value`` with every exception in it (they compare by identity) as its class and message."""
    if isinstance(value, BaseException):
        return (type(value), str(value))
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _fields(error: BaseException) -> object:
    return _plain(vars(error))


def test_every_error_has_a_sample() -> None:
    assert {c for c in _subclasses(ActorError) if c.__module__.startswith("actors.")} == set(SAMPLES)
    assert all(getattr(actors, cls.__name__) is cls for cls in SAMPLES)


@pytest.mark.parametrize("cls", list(SAMPLES), ids=lambda c: c.__name__)
def test_every_error_pickles_and_copies_with_its_fields(cls: type[ActorError]) -> None:
    error = cls(*SAMPLES[cls])
    for again in (pickle.loads(pickle.dumps(error)), copy.copy(error), copy.deepcopy(error)):
        assert type(again) is cls
        assert str(again) == str(error)
        assert again.args == error.args
        assert _fields(again) == _fields(error)
        if error.__cause__ is not None:
            assert (type(again.__cause__), str(again.__cause__)) == (type(error.__cause__), str(error.__cause__))


def test_the_builtin_bases_still_behave() -> None:
    timeout = pickle.loads(pickle.dumps(AskTimeoutError("worker-1", 1.5)))
    assert isinstance(timeout, TimeoutError)
    assert timeout.args == ("actor 'worker-1' did not reply within 1.5 s",)
    assert timeout.errno is None
    assert isinstance(pickle.loads(pickle.dumps(MailboxFullError("w", 1))), anyio.WouldBlock)
    assert isinstance(pickle.loads(pickle.dumps(UnhandledMessageError("w", "Ping"))), TypeError)
