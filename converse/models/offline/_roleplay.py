"""The offline model's role-play answers: the task specifier's and planner's, the AI user's
instructions, the AI assistant's solutions, the critic's choice and the dataset lists.

A chat has to look real and end by each of CAMEL's rules now and then, the same way in any
process. So each agent follows a plan drawn once per chat from a hash of the seed and its
own system prompt, stepped by the number of answers it has already given (its
``assistant`` messages): the AI user ends the task, stops instructing, only says thanks,
or never stops; the AI assistant answers normally, at length (and fills its context), or
flips roles by giving an instruction of its own. The wording comes from ``_phrases``.
"""

from __future__ import annotations

import functools
import hashlib
import random
import re
from operator import attrgetter, countOf
from typing import NamedTuple

from ...scenario._roleplay import TASK_DONE
from .._model import CompletionRequest
from . import _roleplay_phrases as P
from ._draw import Source, Values, between, full_stop, main_phrase, pick, sample, template_values, word_count
from ._roleplay_shots import critic, dataset_list, plan_subtasks, specify

KINDS = frozenset({"specify", "plan", "instruction", "solution", "acknowledge", "critic", "roles", "tasks"})

INSTRUCTION = "Instruction:"
_PLANNED_LONG = 12  # the stages of a user who never stops span this many instructions
_ROLE = attrgetter("role")
_COMPONENTS = (*P.COMPONENTS_TECH, *P.COMPONENTS)  # the technical ones first
_THANKS = re.compile(r"\b(thank|thanks|bye|goodbye|welcome|appreciate|grateful)\b", re.I)
_ROLES = re.compile(r"you are an? (.+?) and I am an? (.+?)[.!]")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s*(.+)$")
_ECHO_STOPS = frozenset(("and", "so", "with", "using", "including", "that", "which", "who", "without"))


class _Task:
    """What an inception prompt says about the chat: the task, any planned subtasks, the
    task's main noun phrase, and the two roles (``me`` is the one the prompt addresses)."""

    __slots__ = ("me", "other", "subtasks", "task", "tech", "thing")

    def __init__(self, system: str) -> None:
        start, end = system.find("Here is the task:"), system.find("Never forget our task!")
        block = system[start + len("Here is the task:") : end] if -1 < start < end else ""
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        self.task = lines[0] if lines else ""
        self.subtasks = tuple(full_stop(m.group(1)) for line in lines[1:] if (m := _NUMBERED.match(line)))
        self.thing = main_phrase(self.task)
        roles = _ROLES.search(system)
        self.me, self.other = (roles.group(1), roles.group(2)) if roles else ("", "")
        low = f"{self.task} {self.me} {self.other}".lower()
        self.tech = any(w in low for w in P.TECH_WORDS)


_task = functools.lru_cache(maxsize=1024)(_Task)


class _Plan(NamedTuple):
    """An agent's course for one chat: what it does and from which step on."""

    fate: str
    step: int
    offset: int


@functools.lru_cache(maxsize=4096)
def _plan(seed: str, side: str, system: str) -> _Plan:
    """The course of ``side`` in the chat its system prompt describes (per seed)."""
    digest = hashlib.blake2b(f"{seed}\x1f{side}\x1f{system}".encode("utf-8", "surrogatepass"), digest_size=8)
    r = random.Random(int.from_bytes(digest.digest(), "big"))
    x = r.random()
    if side == "user":
        fate = "stall" if x < 0.11 else "thanks" if x < 0.22 else "long" if x < 0.36 else "done"
        return _Plan(fate, between(r, 3, 14), between(r, 0, 99))
    fate = "flip" if x < 0.34 else "verbose" if x < 0.41 else "normal"
    return _Plan(fate, between(r, 2, 10), between(r, 0, 99))


def answer(r: Source, request: CompletionRequest, system: str, user: str, *, seed: str = "") -> str:
    """The offline answer to a role-play request of kind ``request.hints.kind`` (one of
    ``KINDS``); ``r`` holds the request's draws, ``seed`` is the model's (for chat plans)."""
    kind = request.hints.kind
    if kind in ("instruction", "solution"):
        return (_instruction if kind == "instruction" else _solution)(r, request, system, user, seed)
    if kind == "acknowledge":
        t = _task(system)
        ack = pick(r, P.ACKNOWLEDGEMENTS).format_map(template_values(r, t.thing, t.other or "user", t.me or "assistant"))
        return f"{ack} I am ready for your first instruction."
    if kind == "critic":
        return critic(r, request)
    one_shot = {"specify": specify, "plan": plan_subtasks, "roles": dataset_list, "tasks": dataset_list}.get(kind)
    if one_shot is not None:
        return one_shot(r, user)
    raise ValueError(f"not a role-play kind: {kind!r}")


def _own_answers(request: CompletionRequest, system: str) -> int:
    """How many answers the agent has given in this chat (not counting an acknowledgement
    of its own rules, which the 2023 kick-off asks for first)."""
    messages = request.messages
    count = countOf(map(_ROLE, messages), "assistant")
    echo = len(messages) > 2 and messages[1].role == "user" and messages[1].content == system
    return count - 1 if echo and count else count


# The AI user ----------------------------------------------------------------------------


def _instruction(r: Source, request: CompletionRequest, system: str, user: str, seed: str) -> str:
    plan, step, t = _plan(seed, "user", system), _own_answers(request, system), _task(system)
    values = template_values(r, t.thing, t.me or "client", t.other or "expert", tech=t.tech)
    if plan.fate == "done" and step >= plan.step:
        return request.hints.end_token or TASK_DONE
    if plan.fate in ("stall", "thanks") and step >= plan.step:  # a different line each round
        lines = P.STALLS if plan.fate == "stall" else P.THANKS
        return lines[(plan.offset + step) % len(lines)].format_map(values)
    planned = plan.step if plan.fate != "long" else _PLANNED_LONG
    stage = round(step * (len(P.PHASES) - 1) / max(planned - 1, 1))
    phase = "refine" if step >= planned else P.PHASES[stage]
    if t.subtasks and phase != "gather" and r.random() < 0.5:
        i = min(len(t.subtasks), 1 + step * len(t.subtasks) // max(planned, 1))
        values.update(i=i, subtask=t.subtasks[i - 1])
        bank = P.SUBTASK_INSTRUCTIONS
    else:
        bank = P.INSTRUCTIONS[phase]
    # Consecutive steps of one stage (and candidates of one step) take different templates.
    sentence = bank[(plan.offset + step + request.hints.candidate) % len(bank)].format_map(values)
    given = pick(r, P.INPUTS).format_map(values) if r.random() < 0.55 else "None"
    if word_count(f"{sentence} {given}") > 43:  # 20 to 45 words with the two labels
        given = "None"
    if word_count(f"{sentence} {given}") < 18:
        sentence = f"{sentence} {pick(r, P.ADDENDA)}"
    return f"{INSTRUCTION} {sentence}\nInput: {given}"


# The AI assistant -----------------------------------------------------------------------


def _solution(r: Source, request: CompletionRequest, system: str, user: str, seed: str) -> str:
    plan, step, t = _plan(seed, "assistant", system), _own_answers(request, system), _task(system)
    line = next((ln for ln in user.splitlines() if ln.strip().startswith(INSTRUCTION)), "")
    said = line.strip()[len(INSTRUCTION) :].strip()
    component = next(filter(said.__contains__, _COMPONENTS), "")
    values = template_values(r, t.thing, t.other or "client", t.me or "expert", component, t.tech)
    if INSTRUCTION not in user:
        bank = P.WELCOMES if _THANKS.search(user) else P.READY
        return f"Solution: {pick(r, bank).format_map(values)} Next request."
    given = next((ln.strip()[6:].strip() for ln in user.splitlines() if ln.strip().startswith("Input:")), "None")
    low = said.lower()
    phase = next((p for p, words in P.PHASE_WORDS.items() if any(map(low.__contains__, words))), "build")
    if plan.fate == "flip" and step >= plan.step and (step == plan.step or r.random() < 0.6):
        body = _body(r, values, said, given, phase, t.tech, 35, 70, last=False)
        flip = pick(r, P.FLIPS).format_map(values)
        return f"Solution: {body}\n{flip}\n{pick(r, P.FLIP_INPUTS).format_map(values)}"
    if plan.fate == "verbose":
        return f"Solution: {_verbose(r, values, said, t.tech)}\nNext request."
    return f"Solution: {_body(r, values, said, given, phase, t.tech, 50, 106)} Next request."


def _echo(said: str) -> str:
    """The gist of an instruction, to open a solution with: its first clause, in lower case."""
    words: list[str] = []
    for word in said.split(None, 12):  # a thirteenth word is never kept: the rest unsplit
        if len(words) >= 3 and (word.lower() in _ECHO_STOPS or len(words) >= 12):
            break
        words.append(word.rstrip(",;:."))
        if word.endswith((",", ";", ":", ".")) and len(words) >= 4:
            break
    while words and (words[-1].lower() in P.STOP_WORDS or words[-1].lower() in P.ARTICLES or len(words[-1]) < 3):
        words.pop()
    text = " ".join(words) or "carry out this step"
    return text[:1].lower() + text[1:] if not text[:2].isupper() else text


def _body(r: Source, values: Values, said: str, given: str, phase: str, tech: bool,
          least: int, most: int, *, last: bool = True) -> str:
    """A specific solution of ``least`` to ``most`` words: an opening that echoes the
    instruction, a short list, perhaps a code snippet, a closing (lengthened with explanations
    when short). ``last``: nothing is drawn after it, so the explanations are drawn only if they
    are needed (they would be the answer's last draws either way: the same words)."""
    values["echo"] = _echo(said)
    opening = pick(r, P.OPENINGS).format_map(values)
    if given != "None" and r.random() < 0.5:
        opening += f" It takes the input into account: {given}"
    bank = P.ITEMS.get(phase, P.ITEMS["build"])
    items = [item.format_map(values) for item in sample(r, bank, between(r, 3, 4))]
    code = ""
    if tech and phase in ("build", "test", "design") and r.random() < 0.6:
        code = "\n```python\n" + pick(r, P.CODE_SNIPPETS).format_map(values) + "\n```"
    closing = pick(r, P.CLOSINGS).format_map(values)

    def explanations() -> list[str]:
        return [e.format_map(values) for e in sample(r, P.EXPLANATIONS, 4)]

    extras = None if last else explanations()

    def render() -> str:
        listed = "".join(f"\n{i}. {item}" for i, item in enumerate(items, 1))
        return f"{opening}{listed}{code}\n{closing}"

    text = render()
    while word_count(text) > most and (len(items) > 2 or code):
        if code:
            code = ""
        else:
            items.pop()
        text = render()
    if word_count(text) < least:
        if extras is None:
            extras = explanations()
        while extras:
            closing += " " + extras.pop()
            text = render()
            if word_count(text) >= least:
                break
    return text


def _verbose(r: Source, values: Values, said: str, tech: bool) -> str:
    """A long solution (about 250 to 350 words): a long list of explained items, then a
    code block for a technical task; the kind that fills a context window in a few rounds."""
    target = between(r, 250, 350)
    values["echo"] = _echo(said)
    opening = pick(r, P.OPENINGS).format_map(values)
    pool = [item for phase in ("gather", "design", "build", "test", "document") for item in P.ITEMS[phase]]
    items = sample(r, pool, len(pool))
    why = sample(r, P.EXPLANATIONS, len(P.EXPLANATIONS))
    code = ""
    if tech:
        snippets = (s.format_map(values) for s in sample(r, P.CODE_SNIPPETS, 3))
        code = "\n```python\n" + "\n\n".join(snippets) + "\n```"
    parts = [opening, ""]
    # The words of "\n".join(parts) + code, counted as they come: a line break (and the code's
    # opening one) keeps every part's words apart.
    words = word_count(opening) + word_count(code)
    while words < target - 25 and items:
        part = f"{len(parts) - 1}. {items.pop().format_map(values)} {why[len(parts) % len(why)].format_map(values)}"
        parts.append(part)
        words += word_count(part)
    closings = "\n".join(c.format_map(values) for c in sample(r, P.CLOSINGS, 3))
    return "\n".join(parts) + code + "\n\n" + closings

