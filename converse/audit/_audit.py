"""Fidelity checks over a run's recorded prompts: what each agent was shown on each call.

Rules for an agent's turns (model calls with purpose ``statement`` or ``line``):

- ``period``: the last user message states the turn's period.
- ``heard``: every utterance of the agent's conversation since its previous turn (other
  speakers', recorded before this turn was granted) is in the last user message.
- ``private``: nothing said in another organisation's private debate is in any message
  (unless the same words were also said in public or in the agent's own organisation);
  also checked for the agent's ``summary``, ``briefing`` and ``importance`` calls. Each prompt line (and its part after a
  leading ``Name: ``) is looked up among the private lines; a leak is reported at the call
  that introduced it, not again at each later call that keeps it.
- ``debate-once``: each line of the agent's own council debate for this turn appears in
  the prompt exactly once (as often as it was said, if a member said the same words twice;
  words said again from an earlier session may also be in the prompt's history, once for
  each time they were said then).
- ``duplicate``: no message is repeated word for word within one prompt, beyond the times
  the agent was really told or answered those words (reported at the call whose new
  messages repeat one).

Rules for a role-play's turns (purposes ``instruction``, ``solution`` and ``candidate``):

- ``heard``: the other side's last utterance before this turn is the prompt's last user
  message (the user's first turn has none).
- ``duplicate``: as above, among the messages after the system prompt (CAMEL's ``echo``
  kick-off repeats the rules on purpose).

For every call (turns, notes, briefings, the judge, the role-play's specifier, planner and
critic):

- ``empty``: the answer has some text, not only whitespace (converse retries an empty answer
  and fails the run if it keeps coming, so only an old log, or answers recorded elsewhere,
  hold one). A person's answer (the human critic's, model ``human``) may be empty.
- ``truncated``: the server did not cut the answer off at ``max_tokens`` (its recorded
  ``finish_reason`` is not "length"); a log that records no ending passes.
- ``window``: the prompt's tokens (the server's count, else an offline estimate) and its
  ``max_tokens`` fit the model's context window. A role-play with no known window is held
  to its ``token_limit`` instead, which (as in CAMEL) bounds the prompt alone.

For a run whose agents have memory streams, ``recalled`` (``converse.audit._streams``): each
prompt holds the records its recorded scores chose, and those scores are what the stream the
log rebuilds gives; nothing of another agent's memory.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from typing import Any

import msgspec

from .._exceptions import ConverseError
from ..log._events import (
    AnyEvent,
    ChatMessage,
    ConversationEnded,
    LLMCall,
    Recalled,
    RunStarted,
    TurnGranted,
    Utterance,
    prompts_of,
)
from ..models._model import estimate_prompt_tokens
from ..models._windows import context_window
from ..scenario._load import scenario_from_dict
from ..scenario._models import settings_by_agent
from ..scenario._scenario import ModelSettings

__all__ = ["Checked", "Violation", "Window", "audit_events", "check_events"]

Path = tuple[str, ...]

TURNS = frozenset({"statement", "line"})
ROLEPLAY_TURNS = frozenset({"instruction", "solution", "candidate"})
PRIVATE_CHECKED = TURNS | {"summary", "briefing", "importance"}
PUBLIC = ""  # who said a public statement (no organisation's secret)
AGENT_RULES = ("period", "heard", "private", "debate-once", "duplicate", "empty", "truncated", "window")
ROLEPLAY_RULES = ("heard", "duplicate", "empty", "truncated", "window")
PERSON = "human"  # the model of a person's answers (``HumanCritic``): they may be empty


class Violation(msgspec.Struct, frozen=True, kw_only=True):
    """One broken rule: the model call's ``seq``, who made it, the rule and what was wrong."""

    seq: int
    actor: str
    rule: str
    detail: str


class Window(msgspec.Struct, frozen=True, kw_only=True):
    """The context window calls were held to.

    Attributes:
        tokens: the window, or None when it is unknown (the ``window`` rule is skipped).
        source: where it came from: ``--window``, ``model.context_window``, the model spec,
            "reported by the server" (recorded on ``run_started``), ``roleplay.token_limit``.
        answer: whether a call's ``max_tokens`` counts against it (not for a role-play's
            ``token_limit``, which bounds the prompt alone).
    """

    tokens: int | None
    source: str = ""
    answer: bool = True


class Checked(msgspec.Struct, frozen=True, kw_only=True):
    """What checking a run's calls found: which rules applied, the window, the violations
    (by seq) and each call's actor and prompt tokens (in seq order)."""

    started: RunStarted | None
    roleplay: bool
    rules: tuple[str, ...]
    window: Window
    violations: list[Violation]
    calls: list[tuple[str, int]]


def audit_events(events: Sequence[AnyEvent]) -> list[Violation]:
    """Every violation of the rules above in a run's events, in ``seq`` order."""
    return check_events(events).violations


def check_events(events: Sequence[AnyEvent], window: int | None = None) -> Checked:
    """Check every model call of a run (``converse.audit._report.audit_run`` sums it up).

    Args:
        events: the run's log, as ``read_events`` returns it.
        window: the context window to hold calls to; by default the model's, if known.

    Raises:
        ValueError: a call shares a prefix with a call that is not in ``events``.
    """
    started = next((e for e in events if isinstance(e, RunStarted)), None)
    scenario: dict[str, Any] = started.scenario if started is not None else {}
    roleplay = isinstance(scenario.get("roleplay"), dict)
    limit = _window(scenario, started.model if started is not None else "", roleplay, window)
    if window is None and started is not None and isinstance(started.context_window, int):
        limit = _recorded(started)
    audit = _Audit(events, roleplay, limit, {} if window is not None or started is None else _own_windows(started))
    calls = audit.run()
    rules = ROLEPLAY_RULES if roleplay else AGENT_RULES
    violations = audit.violations
    if any(isinstance(e, Recalled) for e in events):
        from ._streams import RULE as STREAM_RULE  # numpy: loaded for a run with memory streams
        from ._streams import stream_violations

        rules = (*rules, STREAM_RULE)
        found = [Violation(seq=seq, actor=actor, rule=STREAM_RULE, detail=detail)
                 for seq, actor, detail in stream_violations(events, started)]
        violations = sorted([*violations, *found], key=lambda v: v.seq)
    return Checked(
        started=started,
        roleplay=roleplay,
        rules=rules,
        window=limit,
        violations=violations,
        calls=calls,
    )


def _recorded(started: RunStarted) -> Window:
    """The window the run recorded on its start (scenario, known name or the server's report)."""
    assert isinstance(started.context_window, int)
    source = started.window_source if isinstance(started.window_source, str) else ""
    named = {"scenario": "model.context_window", "known": started.model, "server": "reported by the server"}
    return Window(tokens=started.context_window, source=named.get(source, source or "recorded"))


def _own_windows(started: RunStarted) -> dict[str, Window]:
    """The windows of the agents that speak with a model of their own (``agents[i].model``),
    by agent: their table's ``context_window``, else their model's known one."""
    try:
        scenario = scenario_from_dict(started.scenario, "run_started")
    except ConverseError:  # a scenario this version does not read: the run's window for all
        return {}
    run = scenario.model if started.model == scenario.model.spec else msgspec.structs.replace(scenario.model, spec=started.model)
    own = {}
    for agent, settings in settings_by_agent(scenario, run).items():
        if settings is not run:
            try:
                tokens = context_window(settings)
            except ConverseError:
                tokens = None
            source = "its model's context_window" if settings.context_window is not None else settings.spec
            own[agent] = Window(tokens=tokens, source=source)
    return own


def _window(scenario: dict[str, Any], spec: str, roleplay: bool, given: int | None) -> Window:
    """The window the run's calls are held to (see ``Window``)."""
    if given is not None:
        return Window(tokens=given, source="--window")
    try:
        settings = msgspec.convert(scenario.get("model") or {}, ModelSettings)
    except msgspec.ValidationError:
        settings = ModelSettings()
    try:
        tokens = context_window(settings, spec or None)
    except ConverseError:  # a spec this version does not know
        tokens = None
    if tokens is not None:
        source = "model.context_window" if settings.context_window is not None else spec or settings.spec
        return Window(tokens=tokens, source=source)
    limit = scenario["roleplay"].get("token_limit") if roleplay else None
    if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
        return Window(tokens=limit, source="roleplay.token_limit", answer=False)
    return Window(tokens=None)


def _organisation(path: Path, actor: str) -> str:
    return path[1] if len(path) > 1 else actor


def _max_tokens(call: LLMCall) -> int:
    value = call.params.get("max_tokens")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


class _Audit:
    """One pass over a run's events, collecting violations as each call is met."""

    def __init__(
        self, events: Sequence[AnyEvent], roleplay: bool, window: Window, own: dict[str, Window] | None = None
    ) -> None:
        self.events = events
        self.roleplay = roleplay
        self.window = window
        self.own = own or {}  # the windows of agents with a model of their own
        self.prompts = prompts_of(events)
        self.violations: list[Violation] = []
        self.utterances: dict[Path, list[Utterance]] = {}
        self.sessions: dict[Path, list[int]] = {}  # debate path -> seqs of its ConversationEnded
        for event in events:
            if isinstance(event, Utterance):
                self.utterances.setdefault(tuple(event.conversation), []).append(event)
            elif isinstance(event, ConversationEnded):
                self.sessions.setdefault(tuple(event.conversation), []).append(event.seq)
        self.seqs = {path: [u.seq for u in said] for path, said in self.utterances.items()}
        # When each text was said in each conversation: the same words said in an earlier
        # council session may still be in a prompt's history.
        self.said_at: dict[tuple[Path, str], list[int]] = {}
        for path, said in self.utterances.items():
            for u in said:
                self.said_at.setdefault((path, u.text), []).append(u.seq)
        # Private lines by their first line, which is what a prompt line (or the part of it
        # after a leading "Name: ") holds when one is shown.
        self.private: dict[str, list[tuple[str, Utterance]]] = {}
        if not roleplay:
            for path, said in self.utterances.items():
                if len(path) > 1:
                    for u in said:
                        key = _first_line(u.text)
                        if key:
                            self.private.setdefault(key, []).append((_organisation(path, u.actor), u))
        # Who said each text: a private line that the reader's own organisation also said,
        # or that was said in public, is no leak when the reader is shown it.
        self.said_by: dict[str, set[str]] = {}
        for path, said in self.utterances.items():
            for u in said:
                self.said_by.setdefault(u.text, set()).add(
                    _organisation(path, u.actor) if len(path) > 1 else PUBLIC
                )
        self.scanned: dict[int, str] = {}  # call -> organisation its prompt was searched for leaks for
        self.deduped: set[int] = set()  # calls whose prompts were searched for repeats
        # What each agent was told (its turns' own messages) and answered, by text: a message
        # may be repeated in a prompt as often as it was really told or answered.
        self.exchanged: dict[tuple[Path, str], Counter[str]] = {}
        self.counted_turn: dict[tuple[Path, str], int] = {}  # the grant whose message was counted last

    def run(self) -> list[tuple[str, int]]:
        """Check every call, in ``seq`` order; returns each one's actor and prompt tokens."""
        found: list[tuple[str, int]] = []
        grants: dict[tuple[Path, str], TurnGranted] = {}
        last_spoke: dict[tuple[Path, str], int] = {}
        heard_at_grant: dict[tuple[Path, str], Utterance | None] = {}
        latest: dict[Path, dict[str, Utterance]] = {}
        for event in self.events:
            if isinstance(event, TurnGranted):
                key = (tuple(event.conversation), event.actor)
                grants[key] = event
                others = [u for a, u in latest.get(key[0], {}).items() if a != event.actor]
                heard_at_grant[key] = max(others, key=lambda u: u.seq, default=None)
            elif isinstance(event, Utterance):
                path = tuple(event.conversation)
                last_spoke[(path, event.actor)] = event.seq
                latest.setdefault(path, {})[event.actor] = event
            elif isinstance(event, LLMCall):
                key = (tuple(event.conversation), event.actor)
                messages = self.prompts[event.call]
                if self.roleplay:
                    if event.purpose in ROLEPLAY_TURNS:
                        self._roleplay_turn(event, messages, grants.get(key), heard_at_grant.get(key))
                elif event.purpose in TURNS:
                    self._turn(event, messages, grants.get(key), last_spoke.get(key, -1))
                elif event.purpose in PRIVATE_CHECKED:
                    self._private(event, messages)
                if not event.response.strip() and event.model != PERSON:
                    said = "nothing" if not event.response else "only whitespace"
                    self._v(event, "empty", f"the answer ({event.purpose}) is empty: {said}")
                if event.truncated:
                    room = event.params.get("max_tokens", "?")
                    self._v(event, "truncated", f"the answer ({event.purpose}) was cut off at max_tokens={room}")
                found.append((event.actor, self._window(event, messages)))
        return found

    def _v(self, call: LLMCall, rule: str, detail: str) -> None:
        self.violations.append(Violation(seq=call.seq, actor=call.actor, rule=rule, detail=detail))

    def _turn(
        self, call: LLMCall, messages: list[ChatMessage], grant: TurnGranted | None, previous: int
    ) -> None:
        if grant is None:
            self._v(call, "period", "model call without a turn token")
            return
        path = tuple(call.conversation)
        last = _last_user(messages) or ""
        if grant.period not in last:
            self._v(call, "period", f"the turn's period {grant.period!r} is not stated")
        for said in self._between(path, previous, grant.seq):
            if said.actor != call.actor and said.text not in last:
                self._v(call, "heard", f"misses what {said.actor} said at seq {said.seq}")
        self._private(call, messages)
        self._debate_once(call, messages, path, previous)
        self._duplicate(call, messages, grant, skip_system=False)

    def _between(self, path: Path, after: int, before: int) -> list[Utterance]:
        """The utterances of ``path`` with ``after < seq < before``."""
        seqs = self.seqs.get(path)
        if not seqs:
            return []
        return self.utterances[path][bisect_right(seqs, after) : bisect_left(seqs, before)]

    def _private(self, call: LLMCall, messages: list[ChatMessage]) -> None:
        """Look up each line of the messages this call adds among other organisations' private lines."""
        mine = _organisation(tuple(call.conversation), call.actor)
        shared = call.shared
        fresh = call.messages if shared is not None and self.scanned.get(shared.call) == mine else messages
        self.scanned[call.call] = mine
        if not self.private:
            return
        reported: set[int] = set()
        for message in fresh:
            content = message.content
            for line in content.splitlines():
                line = line.strip()
                if not line:
                    continue
                keys = [line]
                _, sep, rest = line.partition(": ")
                if sep and rest:
                    keys.append(rest.strip())
                for key in keys:
                    for organisation, said in self.private.get(key, ()):
                        if (
                            organisation != mine
                            and said.seq not in reported
                            and said.text in content
                            and not self.said_by[said.text] & {mine, PUBLIC}
                        ):
                            reported.add(said.seq)
                            where = said.conversation[1] if len(said.conversation) > 1 else organisation
                            self._v(call, "private", f"shows {where}'s private debate (seq {said.seq})")

    def _debate_once(self, call: LLMCall, messages: list[ChatMessage], path: Path, previous: int) -> None:
        """Each line of the council's debate since the agent's last turn is shown as often
        as it was said (once, unless a member said the very same words twice); its words may
        also be in the prompt's history as often as they were said in earlier sessions."""
        own = (*path, call.actor)
        sessions = self.sessions.get(own)
        if not sessions:
            return
        before = bisect_right(sessions, previous)
        ended = sessions[before : bisect_left(sessions, call.seq)]
        if not ended:
            return
        start = sessions[before - 1] if before else -1
        lines = [said for said in self._between(own, start, ended[-1]) if said.text]
        said_times = Counter(said.text for said in lines)
        whole = "\n".join(m.content for m in messages)
        for said in lines:
            times = said_times.pop(said.text, 0)
            if times:
                count = whole.count(said.text)
                earlier = bisect_right(self.said_at[(own, said.text)], start)
                if not times <= count <= times + earlier:
                    again = f" (said {times} times)" if times > 1 else ""
                    self._v(
                        call, "debate-once", f"debate line at seq {said.seq}{again} appears {count} times"
                    )

    def _duplicate(
        self, call: LLMCall, messages: list[ChatMessage], grant: TurnGranted, *, skip_system: bool
    ) -> None:
        """Report a message repeated in the prompt more often than the agent was told or
        answered it, if one of the copies is new in this call."""
        key = (tuple(call.conversation), call.actor)
        exchanged = self.exchanged.setdefault(key, Counter())
        if self.counted_turn.get(key) != grant.seq:  # a role-play's candidates share one turn
            self.counted_turn[key] = grant.seq
            told = _last_user(messages)
            if told is not None:
                exchanged[told.strip()] += 1
        shared = call.shared
        start = shared.count if shared is not None and shared.call in self.deduped else 0
        self.deduped.add(call.call)
        seen: dict[str, tuple[int, int]] = {}  # text -> (first index, copies so far)
        for i, message in enumerate(messages):
            content = message.content.strip()
            if not content or (skip_system and message.role == "system"):
                continue
            first, copies = seen.get(content, (i, 0))
            seen[content] = (first, copies + 1)
            if copies and i >= start and copies + 1 > max(exchanged[content], 1):
                self._v(call, "duplicate", f"message {i + 1} of {len(messages)} repeats message {first + 1}")
                break
        exchanged[call.response.strip()] += 1

    def _roleplay_turn(
        self,
        call: LLMCall,
        messages: list[ChatMessage],
        grant: TurnGranted | None,
        expected: Utterance | None,
    ) -> None:
        if grant is None:
            self._v(call, "heard", "model call without a turn token")
            return
        if expected is not None:
            last = _last_user(messages)
            if last != expected.text:
                self._v(
                    call,
                    "heard",
                    f"the last user message is not what {expected.actor} said at seq {expected.seq}",
                )
        self._duplicate(call, messages, grant, skip_system=True)

    def _window(self, call: LLMCall, messages: list[ChatMessage]) -> int:
        """Check the call against the window; returns its prompt tokens."""
        reported = call.usage.prompt_tokens
        prompt = reported if reported > 0 else estimate_prompt_tokens(messages)
        window = self.own.get(call.actor, self.window) if call.purpose != "judge" else self.window
        if window.tokens is None:
            return prompt
        if window.answer:
            answer = _max_tokens(call)
            over = prompt + answer > window.tokens
            detail = f"{prompt:,} prompt tokens + {answer:,} for the answer = {prompt + answer:,}, over"
        else:
            over = prompt >= window.tokens
            detail = f"{prompt:,} prompt tokens reach"
        if over:
            self._v(call, "window", f"{detail} the window of {window.tokens:,}")
        return prompt


def _last_user(messages: list[ChatMessage]) -> str | None:
    """The content of the prompt's last user message: the turn's own message."""
    return next((m.content for m in reversed(messages) if m.role == "user"), None)


def _first_line(text: str) -> str:
    return next((line for line in map(str.strip, text.splitlines()) if line), "")
