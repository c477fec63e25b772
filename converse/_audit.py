"""Fidelity checks over a run's recorded prompts: what each agent was shown on each turn.

Rules, each checked for every recorded model call an agent made on its turn:

- ``period``: the last user message states the turn's period.
- ``heard``: every utterance of the agent's conversation since its previous turn (other
  speakers', recorded before this turn was granted) is in the last user message.
- ``private``: nothing said in another organisation's private debate is in any message.
- ``debate-once``: each line of the agent's own council debate for this turn appears in
  the prompt exactly once.
- ``duplicate``: no message is repeated word for word within one prompt.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from ._events import AnyEvent, ChatMessage, ConversationEnded, LLMCall, TurnGranted, Utterance, prompts_of

Path = tuple[str, ...]


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One broken rule: the model call's ``seq``, who made it, the rule and what was wrong."""

    seq: int
    actor: str
    rule: str
    detail: str


def _organisation(path: Path, actor: str) -> str:
    return path[1] if len(path) > 1 else actor


def audit_events(events: Sequence[AnyEvent]) -> list[Violation]:
    """Check every turn's model call against the rules above."""
    utterances: dict[Path, list[Utterance]] = {}
    sessions: dict[Path, list[int]] = {}  # debate path -> seqs of its ConversationEnded
    for event in events:
        if isinstance(event, Utterance):
            utterances.setdefault(tuple(event.conversation), []).append(event)
        elif isinstance(event, ConversationEnded):
            sessions.setdefault(tuple(event.conversation), []).append(event.seq)
    private = [
        (path, u) for path, said in utterances.items() if len(path) > 1 for u in said
    ]
    prompts = prompts_of(events)
    violations: list[Violation] = []
    grants: dict[tuple[Path, str], TurnGranted] = {}
    last_spoke: dict[tuple[Path, str], int] = {}
    for event in events:
        if isinstance(event, TurnGranted):
            grants[(tuple(event.conversation), event.actor)] = event
        elif isinstance(event, Utterance):
            last_spoke[(tuple(event.conversation), event.actor)] = event.seq
        elif isinstance(event, LLMCall) and event.purpose in ("statement", "line"):
            path = tuple(event.conversation)
            key = (path, event.actor)
            grant = grants.get(key)
            if grant is None:
                violations.append(_v(event, "period", "model call without a turn token"))
                continue
            violations.extend(
                _check_call(
                    event, prompts[event.call], path, grant, last_spoke.get(key, -1), utterances, sessions, private
                )
            )
    return violations


def _v(call: LLMCall, rule: str, detail: str) -> Violation:
    return Violation(seq=call.seq, actor=call.actor, rule=rule, detail=detail)


def _check_call(
    call: LLMCall,
    messages: list[ChatMessage],
    path: Path,
    grant: TurnGranted,
    previous: int,
    utterances: dict[Path, list[Utterance]],
    sessions: dict[Path, list[int]],
    private: list[tuple[Path, Utterance]],
) -> list[Violation]:
    found: list[Violation] = []
    users = [m.content for m in messages if m.role == "user"]
    last = users[-1] if users else ""
    whole = "\n".join(m.content for m in messages)
    if grant.period not in last:
        found.append(_v(call, "period", f"the turn's period {grant.period!r} is not stated"))
    found.extend(
        _v(call, "heard", f"misses what {said.actor} said at seq {said.seq}")
        for said in utterances.get(path, ())
        if previous < said.seq < grant.seq and said.actor != call.actor and said.text not in last
    )
    mine = _organisation(path, call.actor)
    found.extend(
        _v(call, "private", f"shows {where[1]}'s private debate (seq {said.seq})")
        for where, said in private
        if _organisation(where, said.actor) != mine and said.text and said.text in whole
    )
    own = (*path, call.actor)
    ended = [s for s in sessions.get(own, ()) if previous < s < call.seq]
    if ended:
        start = max((s for s in sessions.get(own, ()) if s <= previous), default=-1)
        for said in utterances.get(own, ()):
            if start < said.seq < ended[-1] and said.text and whole.count(said.text) != 1:
                count = whole.count(said.text)
                found.append(_v(call, "debate-once", f"debate line at seq {said.seq} appears {count} times"))
    contents = [m.content for m in messages if m.content]
    if len(set(contents)) != len(contents):
        found.append(_v(call, "duplicate", "a message is repeated in one prompt"))
    return found
