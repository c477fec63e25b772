"""Snapshots returned by the ``statistics()`` methods of refs, the bus and the system."""

from __future__ import annotations

import msgspec


class MailboxStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of one actor's mailbox.

    Attributes:
        actor: the actor's name.
        depth: messages waiting in the mailbox.
        capacity: the mailbox bound.
        waiting_senders: senders blocked because the mailbox is full.
        processed: messages handled so far.
        state: ``running``, ``draining``, ``stopping`` or ``stopped``.
        restarts: times the supervision policy replaced the instance.
    """

    actor: str
    depth: int
    capacity: int
    waiting_senders: int
    processed: int
    state: str
    restarts: int


class BusStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of the bus.

    Attributes:
        topics: topics with at least one subscriber.
        subscriptions: subscriptions over all topics.
        published: messages published so far.
        delivered: deliveries so far (one per message and subscriber).
        waiting_publishers: publishers blocked on a full subscriber mailbox right now.
    """

    topics: int
    subscriptions: int
    published: int
    delivered: int
    waiting_publishers: int


class SystemStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of the system.

    Attributes:
        actors: live actors.
        workers: worker tasks, busy or idle.
        idle_workers: worker tasks parked waiting for work.
        ready: actors with messages waiting for a worker.
        dead_letters: told messages that reached an actor after it died.
        failures: crashes reported so far.
        hook_errors: errors raised by ``on_start``/``on_stop``/``on_failure`` hooks.
    """

    actors: int
    workers: int
    idle_workers: int
    ready: int
    dead_letters: int
    failures: int
    hook_errors: int
