"""Supervision policies: what happens to an actor after a message it was told crashes it.

A failure while handling an ``ask`` goes back to the asker (the actor answered with an
error) and is not a crash. A failure while handling a ``tell`` has no one to go back to:
the actor's ``on_failure`` hook runs, the failure is reported (a structured log line and an
``ActorFailed`` record on the bus topic ``actors.FAILURES``), and then the policy decides:

- ``Resume``: keep the same instance and its state, go on with the next message.
- ``Restart``: stop the instance (``on_stop``), wait a backoff, build a fresh instance with
  the actor's factory (``on_start``), go on with the next message. More than
  ``max_restarts`` restarts within ``within`` seconds stop the actor for good.
- ``Stop``: stop the actor; later messages fail with ``ActorDeadError(reason="failed")``.
- ``Escalate``: stop the actor and hand the failure to its parent as a
  ``ChildFailedError`` (which the parent's own policy handles); with no parent, the system
  shuts down and ``ActorSystem.__aexit__`` raises ``EscalatedFailureError``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Literal

import msgspec


class Resume(msgspec.Struct, frozen=True, kw_only=True):
    """Keep the instance and its state; continue with the next message."""


class Stop(msgspec.Struct, frozen=True, kw_only=True):
    """Stop the actor for good."""


class Escalate(msgspec.Struct, frozen=True, kw_only=True):
    """Stop the actor and pass the failure up to its parent (or the system)."""


class Restart(msgspec.Struct, frozen=True, kw_only=True):
    """Replace the instance with a fresh one after an exponential, jittered backoff.

    Attributes:
        max_restarts: restarts allowed within ``within`` seconds before the actor stops.
        within: the sliding window, in seconds, over which restarts are counted.
        backoff: the first delay in seconds; each further restart in the window doubles it
            (times ``factor``), up to ``max_backoff``, with up to 20% random jitter.
    """

    max_restarts: int = 3
    within: float = 60.0
    backoff: float = 0.01
    max_backoff: float = 1.0
    factor: float = 2.0

    def delay(self, attempt: int) -> float:
        """The backoff before restart number ``attempt`` (1-based) within the window."""
        base = min(self.max_backoff, self.backoff * self.factor ** max(0, attempt - 1))
        return base * (1.0 - 0.2 * random.random())


SupervisionPolicy = Resume | Restart | Stop | Escalate
Decision = Literal["resumed", "restarted", "stopped", "escalated"]


class ActorFailed(msgspec.Struct, frozen=True, kw_only=True):
    """A report of one crash, published on ``FAILURES`` and passed to observers.

    Attributes:
        actor: the actor's name.
        error_type: the exception's class name.
        error: the exception's message.
        message_type: the type name of the message being handled.
        decision: what the supervision policy did about it.
    """

    actor: str
    error_type: str
    error: str
    message_type: str
    decision: Decision


FAILURES = "actors.failures"
"""The bus topic on which every ``ActorFailed`` report is published."""


def report(actor: str, error: BaseException, message_type: str, decision: Decision) -> ActorFailed:
    """The ``ActorFailed`` record of one crash."""
    return ActorFailed(
        actor=actor,
        error_type=type(error).__name__,
        error=str(error),
        message_type=message_type,
        decision=decision,
    )


def decide(policy: SupervisionPolicy, restarts: Callable[[Restart], int]) -> tuple[Decision, int]:
    """What ``policy`` does about a crash, and which restart in the window this would be.

    ``restarts`` counts this restart into the actor's window and returns the count.
    """
    if isinstance(policy, Resume):
        return "resumed", 0
    if isinstance(policy, Restart):
        attempt = restarts(policy)
        return ("restarted" if attempt <= policy.max_restarts else "stopped"), attempt
    if isinstance(policy, Escalate):
        return "escalated", 0
    return "stopped", 0
