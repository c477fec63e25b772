"""A role-play as written in a scenario's ``[roleplay]`` table (CAMEL's society of two).

An AI user instructs an AI assistant, one instruction at a time, to complete a task; an
optional task specifier makes the task concrete first, an optional planner splits it into
subtasks, and an optional critic chooses among several candidate messages. The chat ends by
CAMEL's rules, each with its reason name (see ``converse.camel``).
"""

from __future__ import annotations

from typing import Literal

from ._model_choice import ModelSpecOrChoice
from ._strict import Strict

TASK_DONE = "<CAMEL_TASK_DONE>"


class Specifier(Strict, frozen=True, kw_only=True):
    """The task specifier: one call that makes the task more specific.

    Attributes:
        enabled: specify the task (CAMEL's default); otherwise the agents get it as given.
        word_limit: the most words the specified task may have.
        temperature: its sampling temperature (CAMEL's scripts used 1.4).
    """

    enabled: bool = True
    word_limit: int = 50
    temperature: float = 1.0


class Planner(Strict, frozen=True, kw_only=True):
    """The task planner: one call that divides the (specified) task into subtasks, which
    both agents are told after the task."""

    enabled: bool = False
    temperature: float | None = None


class Critic(Strict, frozen=True, kw_only=True):
    """A critic in the loop: the agents propose ``candidates`` messages each turn and the
    critic chooses one, which is all the proposer remembers.

    Attributes:
        kind: ``none``, ``model`` (an LLM critic) or ``human`` (asked at the terminal).
        model: the critic's model spec; by default the run's model.
        candidates: candidate messages per turn (at least 2).
        temperature: the proposers' temperature while sampling candidates.
        criteria: what the critic chooses by.
        name: the critic's role name in its prompt.
        retries: how often an invalid choice is asked again before a seeded random pick.
        proposers: whose messages are chosen among: ``both``, ``user`` or ``assistant``.
    """

    kind: Literal["none", "model", "human"] = "none"
    model: str | None = None
    candidates: int = 3
    temperature: float = 0.8
    criteria: str = "improving the task performance"
    name: str = "critic"
    retries: int = 2
    proposers: Literal["both", "user", "assistant"] = "both"


# Placeholders each prompt may use, and those it must use.
PROMPT_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "assistant": (frozenset({"assistant_role", "user_role", "task", "end_token"}), frozenset({"task"})),
    "user": (frozenset({"assistant_role", "user_role", "task", "end_token"}), frozenset({"task"})),
    "kickoff": (frozenset({"assistant_role", "user_role", "task", "end_token"}), frozenset()),
    "specifier": (
        frozenset({"assistant_role", "user_role", "task", "word_limit"}),
        frozenset({"task"}),
    ),
    "planner": (frozenset({"assistant_role", "user_role", "task"}), frozenset({"task"})),
    "critic": (
        frozenset({"critic", "assistant_role", "user_role", "task", "criteria"}),
        frozenset(),
    ),
}


class RolePlayPrompts(Strict, frozen=True, kw_only=True):
    """Replacements for the built-in inception prompts (``{placeholders}`` as in
    ``PROMPT_FIELDS``); empty means the built-in one."""

    assistant: str = ""
    user: str = ""
    kickoff: str = ""
    specifier: str = ""
    planner: str = ""
    critic: str = ""


class RolePlay(Strict, frozen=True, kw_only=True):
    """One role-playing chat between an AI user and an AI assistant.

    Attributes:
        assistant_role: who the assistant plays (``Python Programmer``).
        user_role: who the user plays (``Stock Trader``).
        task: what they are to do together.
        kickoff: how the chat starts: ``instructions`` (the user is told to start giving
            instructions) or ``echo`` (CAMEL's 2023 start: the assistant first answers its
            own rules, and the user is shown its rules as the first message).
        language: answer in this language (``""``: no instruction about language).
        end_token: what the user says when the task is done.
        max_messages: messages (both sides counted) after which the chat ends.
        user_no_instruct: rounds in a row without an instruction from the user that end it.
        assistant_instruct: instructions from the assistant (a role flip) that end it.
        repeat_messages: messages in a row that are only thanks or goodbyes that end it
            (0: never).
        token_limit: an agent whose prompt would reach this many tokens ends the chat
            instead of calling (CAMEL's gpt-3.5-turbo limit by default).
        user_model, assistant_model: the AI user's and the AI assistant's own models (a
            spec or a table, as an agent's ``model``); by default the run's.
    """

    assistant_role: str
    user_role: str
    task: str
    kickoff: Literal["instructions", "echo"] = "instructions"
    language: str = ""
    end_token: str = TASK_DONE
    max_messages: int = 40
    user_no_instruct: int = 3
    assistant_instruct: int = 1
    repeat_messages: int = 4
    token_limit: int = 4096
    specifier: Specifier = Specifier()
    planner: Planner = Planner()
    critic: Critic = Critic()
    prompts: RolePlayPrompts = RolePlayPrompts()
    user_model: ModelSpecOrChoice | None = None
    assistant_model: ModelSpecOrChoice | None = None
