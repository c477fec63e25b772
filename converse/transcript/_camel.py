"""A role-play's log as a CAMEL-style dataset: chat records, instruction pairs, fine-tuning examples.

The records follow the layout of CAMEL's 2023 releases (chat format and instruction format),
and which messages are kept follows its generation script: a chat that ends on a rule
violation (no instruction, a role flip, a thanks/goodbye loop, a full context) loses the round
it ended in; a chat that ends on the end token keeps the user's last message; a chat cut at
the message limit keeps everything.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._exceptions import ChatUnfinished, NotARolePlay
from ..log._events import (
    AnyEvent,
    ConversationEnded,
    CriticChoice,
    Event,
    LLMCall,
    RunError,
    RunFinished,
    RunStarted,
    TaskSpecified,
    TurnGranted,
    Utterance,
    prompts_of,
)
from ..scenario._roleplay import TASK_DONE

__all__ = [
    "RolePlayLog",
    "chat_record",
    "finetune_record",
    "instruction_records",
    "roleplay_log",
]

Events = Sequence[AnyEvent] | Sequence[Event]
TOP = ("top",)
SPEAKERS = ("user", "assistant")

# Reasons whose final round CAMEL's script did not save.
DROPS_FINAL_ROUND = frozenset(
    [f"{who}_threshold" for who in ("user_no_instruct", "assistant_instruct", "repeat_word")]
    + [f"RoleType.{role}: max_tokens_exceeded" for role in ("USER", "ASSISTANT")]
)


@dataclass(slots=True)
class RolePlayLog:
    """What a role-play's events say, gathered in one pass (shared by the dataset and the renderer).

    ``messages`` are the utterances of the AI user and AI assistant in the public
    conversation, in order; ``saved[i]`` says whether ``messages[i]`` goes into the dataset
    (all False while the chat has not ended); ``choices[i]`` is the critic's choice that
    produced ``messages[i]``; ``cut`` holds the ``i`` whose answer the server cut off at
    ``max_tokens`` (its speaker's last call before it ended ``length``).
    """

    started: RunStarted
    table: dict[str, Any]
    task: TaskSpecified  # from the log, or else as the scenario gives it
    messages: list[Utterance] = field(default_factory=list)
    saved: list[bool] = field(default_factory=list)
    choices: dict[int, CriticChoice] = field(default_factory=dict)
    ended: ConversationEnded | None = None
    finished: RunFinished | None = None
    errors: list[RunError] = field(default_factory=list)
    final_round: str | None = None
    cut: set[int] = field(default_factory=set)

    @property
    def reason(self) -> str | None:
        """Why the chat ended (CAMEL's reason names), or why the run did, or None."""
        end = self.ended or self.finished
        return end.reason if end is not None else None

    @property
    def end_token(self) -> str:
        return str(self.table.get("end_token") or TASK_DONE)

    def kept(self) -> list[Utterance]:
        """The messages saved to the dataset."""
        return [message for message, saved in zip(self.messages, self.saved, strict=True) if saved]

    def role_name(self, actor: str) -> str:
        return self.task.assistant_role if actor == "assistant" else self.task.user_role


def roleplay_log(events: Events, *, source: str = "<events>") -> RolePlayLog:
    """Gather a role-play's events (finished or not) into a ``RolePlayLog``.

    Raises:
        NotARolePlay: the events do not start with ``run_started``, or its scenario has no
            ``roleplay`` table.
    """
    if not events or not isinstance(events[0], RunStarted):
        raise NotARolePlay(source, "not a run's events (no run_started first)")
    started = events[0]
    table = started.scenario.get("roleplay")
    if not isinstance(table, dict):
        raise NotARolePlay(source)
    assistant, user, given = (str(table.get(key, "")) for key in ("assistant_role", "user_role", "task"))
    task = TaskSpecified(
        run=started.run, assistant_role=assistant, user_role=user, original=given, specified=given
    )
    log = RolePlayLog(started, table, task)
    pending: dict[str, CriticChoice] = {}
    cut_off: set[str] = set()  # speakers whose last call was cut off at max_tokens
    last_turn: str | None = None
    for event in events:
        if type(event) is Utterance and event.actor in SPEAKERS and tuple(event.conversation) == TOP:
            if (choice := pending.pop(event.actor, None)) is not None:
                log.choices[len(log.messages)] = choice
            if event.actor in cut_off:
                log.cut.add(len(log.messages))
                cut_off.discard(event.actor)
            log.messages.append(event)
        elif type(event) is LLMCall and event.actor in SPEAKERS and tuple(event.conversation) == TOP:
            if event.finish_reason == "length":
                cut_off.add(event.actor)
            else:
                cut_off.discard(event.actor)
        elif type(event) is TurnGranted and event.actor in SPEAKERS and tuple(event.conversation) == TOP:
            last_turn = event.period
        elif type(event) is CriticChoice:
            pending[event.proposer] = event
        elif type(event) is TaskSpecified:
            log.task = event
        elif type(event) is ConversationEnded and tuple(event.conversation) == TOP:
            log.ended = event
        elif type(event) is RunFinished:
            log.finished = event
        elif type(event) is RunError:
            log.errors.append(event)
    # The round the chat ended in: as the end says, else the last turn granted, else the last said.
    ended_in = log.ended.period if log.ended is not None else None
    log.final_round = ended_in or last_turn or (log.messages[-1].period if log.messages else None)
    log.saved = _saved(log)
    return log


def _saved(log: RolePlayLog) -> list[bool]:
    """Which messages CAMEL's script would have saved, by the reason the chat ended."""
    reason = log.ended.reason if log.ended is not None else None
    if reason is None:
        return [False] * len(log.messages)
    final = log.final_round
    if reason in DROPS_FINAL_ROUND:
        return [m.period != final for m in log.messages]
    if reason in (log.end_token, TASK_DONE):  # the user's last word stays; no reply follows it
        return [not (m.actor == "assistant" and m.period == final) for m in log.messages]
    return [True] * len(log.messages)  # max_num_messages, and any reason we do not know


def _completed(log: RolePlayLog, source: str) -> None:
    finished = log.finished
    if finished is None:
        raise ChatUnfinished(source, "unfinished", "no run_finished: the run crashed or is still going")
    if finished.status != "completed":
        raise ChatUnfinished(source, finished.status, finished.reason)


def chat_record(events: Events, chat_id: str | None = None, *, source: str = "<events>") -> dict[str, Any]:
    """One chat in CAMEL's chat format (the keys in CAMEL's order; ``planned_task`` only
    when a planner ran): ``id``, ``role_1`` (the assistant), ``role_2`` (the user),
    ``original_task``, ``specified_task``, ``message_1`` ... ``message_N`` (the saved
    messages), ``termination_reason`` and ``num_messages``.

    Raises:
        NotARolePlay: the events are not a role-play's.
        ChatUnfinished: the run did not complete.
    """
    return record_of(roleplay_log(events, source=source), chat_id, source=source)


def record_of(log: RolePlayLog, chat_id: str | None = None, *, source: str = "<events>") -> dict[str, Any]:
    """``chat_record`` of the events ``log`` gathered (gathered once for every record of a chat)."""
    _completed(log, source)
    record: dict[str, Any] = {
        "id": chat_id if chat_id is not None else log.started.run,
        "role_1": f"{log.task.assistant_role}_RoleType.ASSISTANT",
        "role_2": f"{log.task.user_role}_RoleType.USER",
        "original_task": log.task.original,
        "specified_task": log.task.specified,
    }
    if log.task.planned is not None:
        record["planned_task"] = log.task.planned
    kept = log.kept()
    for number, message in enumerate(kept, 1):
        record[f"message_{number}"] = {
            "role_type": message.actor.upper(),
            "role_name": log.role_name(message.actor),
            "role": "user",  # CAMEL's 2023 code set this for both speakers
            "content": message.text,
        }
    record["termination_reason"] = log.reason or ""
    record["num_messages"] = len(kept)
    return record


_MARK = r"[*_`]*\s*{word}\s*[*_`]*\s*:[*_`]*"
_INSTRUCTION = re.compile(_MARK.format(word="instructions?"), re.IGNORECASE)
_INPUT_LINE = re.compile(r"^[ \t>#-]*" + _MARK.format(word="input"), re.IGNORECASE | re.MULTILINE)
_INPUT_ANY = re.compile(r"(?<![A-Za-z])" + _MARK.format(word="input"), re.IGNORECASE)
_SOLUTION = re.compile(r"^\s*" + _MARK.format(word="solution"), re.IGNORECASE)
_NEXT_REQUEST = re.compile(r"[*_`]*\s*next\s+request\s*[.!]?\s*[*_`]*\s*$", re.IGNORECASE)


_CHAT_KEYS = ("id", "role_1", "role_2", "original_task", "specified_task")


def _messages(chat: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """The chat's ``message_k`` entries by number."""
    found = [(key[8:], value) for key, value in chat.items() if key.startswith("message_")]
    return sorted(((int(k), m) for k, m in found if k.isdigit() and isinstance(m, dict)), key=lambda n: n[0])


def _split_instruction(text: str) -> tuple[str, str, str] | None:
    """(text before the instruction, the instruction, its input) of a user message, or None."""
    mark = _INSTRUCTION.search(text)
    if mark is None:
        return None
    rest = text[mark.end() :]
    found = _INPUT_LINE.search(rest) or _INPUT_ANY.search(rest)
    instruction, given = (rest[: found.start()], rest[found.end() :]) if found else (rest, "")
    return text[: mark.start()].strip(), instruction.strip(), given.strip()


# A character that cannot be part of a trailing "Next request." (_NEXT_REQUEST's letters in
# either case, as IGNORECASE matches them, whitespace, emphasis and its full stop).
_NOT_IN_NEXT_REQUEST = re.compile(r"[^nextrqus\s*_`.!]", re.IGNORECASE)


def solution_text(text: str) -> str:
    """An assistant message without its leading ``Solution:`` and trailing ``Next request.``

    The patterns are not tried at every position of the message (15 to 25 µs a reply): the
    leading marker can only start it, and the trailing one only lie in the run of characters
    it may hold at the message's end, found from the end.
    """
    start = _SOLUTION.match(text)
    text = (text[start.end() :] if start else text).strip()
    before = _NOT_IN_NEXT_REQUEST.search(text[::-1])
    end = _NEXT_REQUEST.search(text, len(text) - before.start() if before else 0)
    return (text[: end.start()] + text[end.end() :] if end else text).strip()


def instruction_records(chat: dict[str, Any]) -> list[dict[str, Any]]:
    """CAMEL's instruction format for one chat record: a record per saved user message with an
    ``Instruction:`` that a saved assistant message answers.

    Markers are found case-insensitively, anywhere in the message, with or without Markdown
    emphasis; a missing ``Input:`` gives ``input`` ``""``. Never raises on odd messages.
    """
    messages = _messages(chat)
    records: list[dict[str, Any]] = []
    for (number, message), (_, reply) in itertools.pairwise(messages):
        if message.get("role_type") != "USER" or reply.get("role_type") != "ASSISTANT":
            continue
        parts = _split_instruction(str(message.get("content", "")))
        if parts is None:
            continue
        preamble, instruction, given = parts
        records.append(
            {
                **{key: chat.get(key, "") for key in _CHAT_KEYS},
                "role_1_response": preamble,
                "role_1_message_id": number,
                "instruction": instruction,
                "input": given,
                "output": solution_text(str(reply.get("content", ""))),
                "termination_reason": chat.get("termination_reason", ""),
            }
        )
    return records


def finetune_record(events: Events, *, source: str = "<events>") -> dict[str, Any] | None:
    """An OpenAI chat fine-tuning example for the assistant: its system prompt as sent, then
    the saved messages (user messages as ``user``, assistant messages as ``assistant``),
    ending with an assistant message; None when no instruction/solution pair was saved.

    Raises:
        NotARolePlay: the events are not a role-play's.
        ChatUnfinished: the run did not complete.
    """
    return finetune_of(roleplay_log(events, source=source), events, source=source)


def finetune_of(log: RolePlayLog, events: Events, *, source: str = "<events>") -> dict[str, Any] | None:
    """``finetune_record`` of ``events``, which ``log`` gathered."""
    _completed(log, source)
    turns = [{"role": message.actor, "content": message.text} for message in log.kept()]
    while turns and turns[-1]["role"] != "assistant":
        turns.pop()
    if not any(turn["role"] == "user" for turn in turns):
        return None
    system = _assistant_system_prompt(events)
    head = [{"role": "system", "content": system}] if system is not None else []
    return {"messages": head + turns}


def _assistant_system_prompt(events: Events) -> str | None:
    """The system message of the assistant's first answer, as sent (None if it made none)."""
    for e in events:
        if type(e) is LLMCall and e.actor == "assistant" and e.purpose in ("solution", "candidate"):
            prompt = prompts_of(events).get(e.call) or []
            return prompt[0].content if prompt and prompt[0].role == "system" else None
    return None
