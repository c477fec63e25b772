"""The role-play's inception prompts, in our own words and CAMEL's structure.

All prompt engineering happens here, before the chat: the assistant's rules, the user's
rules, the kick-off, the task specifier's and planner's requests and the critic's. After
that the two agents prompt each other. A scenario may replace any of them
(``[roleplay.prompts]``); ``PROMPT_FIELDS`` says which placeholders each may and must use.
"""

from __future__ import annotations

from ..scenario._roleplay import RolePlay
from ..scenario._templates import fill

ASSISTANT = """===== RULES OF ASSISTANT =====
Never forget that you are a {assistant_role} and I am a {user_role}. Never swap roles with me, and never give me instructions!
We share one goal: to complete a task together, and you must help me do it.
Here is the task: {task}
Never forget our task!
I will instruct you, drawing on your expertise and my needs, one instruction at a time; an instruction may come with an input.
For each instruction, write a specific solution that carries it out.
If you cannot carry out an instruction for physical, moral or legal reasons, or because it is beyond your abilities, decline honestly and say why.
Explain your solution. Add nothing beyond your solution.
Unless I say that the task is complete, always begin your reply with:

Solution: YOUR_SOLUTION

YOUR_SOLUTION must be concrete and specific, with implementations, worked examples and lists where they help.
Always end YOUR_SOLUTION with: Next request."""

USER = """===== RULES OF USER =====
Never forget that you are a {user_role} and I am a {assistant_role}. Never swap roles with me! You will always instruct me.
We share one goal: to complete a task together, and I must help you do it.
Here is the task: {task}
Never forget our task!
Instruct me, drawing on my expertise and your needs, in one of only two ways.

1. With an input:
Instruction: YOUR_INSTRUCTION
Input: YOUR_INPUT

2. Without an input:
Instruction: YOUR_INSTRUCTION
Input: None

The "Instruction" says what I should do; the "Input" gives the material or context the instruction needs.
Give me one instruction at a time. I will reply with a solution that carries out the instruction.
If I cannot carry out your instruction for physical, moral or legal reasons, or because it is beyond my abilities, I will decline honestly and say why.
Give me instructions, not questions.
Begin instructing me now, in the two ways described above.
Add nothing but your instruction and its optional input.
Keep instructing me until you judge that the task is complete.
When the task is complete, reply with the single token {end_token} and nothing else.
Never say {end_token} before my solutions have completed the task."""

KICKOFF = "Now begin giving me instructions, one at a time. Reply only with Instruction and Input."

SPECIFIER_SYSTEM = "You make tasks more specific."

SPECIFIER = """Here is a task that {assistant_role} will help {user_role} to complete: {task}
Make the task more specific. Be creative and imaginative.
Reply with the specified task in {word_limit} words or fewer. Add nothing else."""

PLANNER_SYSTEM = "You divide tasks into subtasks."

PLANNER = "Divide this task into subtasks: {task}\nBe concise."

CRITIC = """You are a {critic} who works with a {user_role} and a {assistant_role} to complete a task: {task}
Your job is to choose one option from the proposals they make and to explain your choice.
Choose by this criterion: {criteria}.
You must always choose an option."""

MENU_HEAD = "> Proposals from {role_name} ({role_type}). Choose an option:"
MENU_TAIL = "Enter your choice ([{choices}]) first, then explain why, comparing the options:"
INVALID = "> Invalid choice. Choose again."

LANGUAGE = "\nWhatever language the input is in, you must write your replies in {language}."

ASSISTANT_ROLES_SYSTEM = "You are a helpful assistant that can play many different roles."
ASSISTANT_ROLES = (
    "List {count} different roles that you can play with expertise in diverse fields. "
    "Number them, sort them alphabetically, one per line. No explanations."
)
USER_ROLES_SYSTEM = "You are a helpful assistant."
USER_ROLES = (
    "List the {count} most common and diverse groups of internet users or occupations, in singular "
    "form. Number them, sort them alphabetically, one per line. No explanations."
)
TASKS_SYSTEM = "You are a helpful assistant."
TASKS = (
    "List {count} diverse tasks that {assistant_role} can help {user_role} with. "
    "Number them, one per line. Be concise. Be creative."
)

_BUILT_IN = {
    "assistant": ASSISTANT,
    "user": USER,
    "kickoff": KICKOFF,
    "specifier": SPECIFIER,
    "planner": PLANNER,
    "critic": CRITIC,
}


def template(play: RolePlay, key: str) -> str:
    """The scenario's prompt ``key``, or the built-in one."""
    return str(getattr(play.prompts, key)) or _BUILT_IN[key]


def _values(play: RolePlay, task: str) -> dict[str, object]:
    return {
        "assistant_role": play.assistant_role,
        "user_role": play.user_role,
        "task": task,
        "end_token": play.end_token,
        "word_limit": play.specifier.word_limit,
        "critic": play.critic.name,
        "criteria": play.critic.criteria,
    }


def _in_language(play: RolePlay, text: str) -> str:
    return text + LANGUAGE.format(language=play.language) if play.language else text


def system_prompt(play: RolePlay, role: str, task: str) -> str:
    """The inception prompt of ``role`` (``assistant`` or ``user``) for ``task``."""
    return _in_language(play, fill(template(play, role), _values(play, task)))


def kickoff(play: RolePlay, task: str) -> str:
    """The message that starts the chat, attributed to the assistant and sent to the user."""
    text = fill(template(play, "kickoff"), _values(play, task))
    if play.kickoff == "echo":  # CAMEL 2023: the user's own rules, then the request to start
        return f"{system_prompt(play, 'user', task)}\n{text}"
    return text


def specifier_prompt(play: RolePlay) -> str:
    """The task specifier's request."""
    return _in_language(play, fill(template(play, "specifier"), _values(play, play.task)))


def planner_prompt(play: RolePlay, task: str) -> str:
    """The planner's request."""
    return _in_language(play, fill(template(play, "planner"), _values(play, task)))


def critic_prompt(play: RolePlay, task: str) -> str:
    """The critic's system prompt."""
    return _in_language(play, fill(template(play, "critic"), _values(play, task)))


def menu(role_name: str, role_type: str, options: list[str]) -> str:
    """The critic's menu of candidate messages."""
    head = MENU_HEAD.format(role_name=role_name, role_type=role_type)
    body = "\n\n".join(f"Option {i}:\n{text}" for i, text in enumerate(options, 1))
    choices = ", ".join(str(i) for i in range(1, len(options) + 1))
    return f"{head}\n{body}\n\n{MENU_TAIL.format(choices=choices)}"


def with_plan(task: str, plan: str | None) -> str:
    """The task the agents are told: the task, then the planner's subtasks if any."""
    return f"{task}\n{plan}" if plan else task
