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
from collections.abc import Sequence
from typing import NamedTuple

from .._models import CompletionRequest
from .._roleplay import TASK_DONE
from . import _phrases as P
from ._phrases_roles import ASSISTANT_ROLES, ROLE_VARIANTS, USER_ROLES

KINDS = frozenset({"specify", "plan", "instruction", "solution", "acknowledge", "critic", "roles", "tasks"})

INSTRUCTION = "Instruction:"
_PLANNED_LONG = 12  # the stages of a user who never stops span this many instructions
_THANKS = re.compile(r"\b(thank|thanks|bye|goodbye|welcome|appreciate|grateful)\b", re.I)
_ROLES = re.compile(r"you are an? (.+?) and I am an? (.+?)[.!]")
_NUMBERED = re.compile(r"^\s*\d+[.)]\s*(.+)$")
_ECHO_STOPS = frozenset(("and", "so", "with", "using", "including", "that", "which", "who", "without"))


def _pick(r: random.Random, bank: Sequence[str]) -> str:
    return bank[int(r.random() * len(bank))]


def _between(r: random.Random, lo: int, hi: int) -> int:
    """A whole number from ``lo`` to ``hi``, both included."""
    return lo + int(r.random() * (hi - lo + 1))


def _sample(r: random.Random, pool: Sequence[str], count: int) -> list[str]:
    """``count`` distinct items of ``pool`` in random order (a partial Fisher-Yates shuffle)."""
    items = list(pool)
    for i in range(min(count, len(items))):
        j = i + int(r.random() * (len(items) - i))
        items[i], items[j] = items[j], items[i]
    return items[:count]


def _a(word: str) -> str:
    """``word`` with its indefinite article: "an Accountant", "a UX Designer"."""
    if len(word) > 1 and word[:2].isupper():
        vowel = word[0] in "AEFHILMNORSX"  # letters whose names start with a vowel sound
    else:
        vowel = word[:1].lower() in "aeiou" and not word.lower().startswith(("uni", "use", "eu", "one"))
    return f"{'an' if vowel else 'a'} {word}"


def _words(text: str) -> int:
    return len(text.split())


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


class _Task:
    """What an inception prompt says about the chat: the task, any planned subtasks, the
    task's main noun phrase, and the two roles (``me`` is the one the prompt addresses)."""

    __slots__ = ("me", "other", "subtasks", "task", "tech", "thing")

    def __init__(self, system: str) -> None:
        start, end = system.find("Here is the task:"), system.find("Never forget our task!")
        block = system[start + len("Here is the task:") : end] if -1 < start < end else ""
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        self.task = lines[0] if lines else ""
        self.subtasks = tuple(_end_stop(m.group(1)) for line in lines[1:] if (m := _NUMBERED.match(line)))
        self.thing = _thing(self.task)
        roles = _ROLES.search(system)
        self.me, self.other = (roles.group(1), roles.group(2)) if roles else ("", "")
        low = f"{self.task} {self.me} {self.other}".lower()
        self.tech = any(w in low for w in P.TECH_WORDS)


_task = functools.lru_cache(maxsize=1024)(_Task)


def _end_stop(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _thing(task: str) -> str:
    """The task's main noun phrase: "Develop a trading bot for stocks" -> "trading bot"."""
    words = task.split(". ", 1)[0].split()
    if len(words) > 1 and (words[1].lower() in P.ARTICLES or words[0].lower() in P.VERBS):
        words = words[1:]  # an imperative verb: develop, help, write, plan, design, create, ...
    while words and words[0].lower() in P.ARTICLES:
        words = words[1:]
    kept: list[str] = []
    for word in words:
        bare = word.strip(",;:.!?()\"'")
        if not bare or bare.lower() in P.STOP_WORDS or len(kept) == 5:
            break
        kept.append(bare)
        if bare != word.rstrip("'\""):  # punctuation after it ends the phrase
            break
    return " ".join(kept) if kept else "project"


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
        return _Plan(fate, _between(r, 3, 14), _between(r, 0, 99))
    fate = "flip" if x < 0.34 else "verbose" if x < 0.41 else "normal"
    return _Plan(fate, _between(r, 2, 10), _between(r, 0, 99))


def _values(r: random.Random, thing: str, user: str, assistant: str, component: str = "",
            tech: bool = False) -> dict[str, object]:
    """Everything a template may ask for, numbers and names drawn from ``r``."""
    rand = r.random
    slug = "_".join(re.sub(r"[^a-z0-9]+", " ", thing.lower()).split()[:3]) or "task"
    return {
        "thing": thing, "user": user, "assistant": assistant, "a_user": _a(user), "a_assistant": _a(assistant),
        "component": component or _pick(r, P.COMPONENTS_TECH if tech and rand() < 0.6 else P.COMPONENTS),
        "extra": _pick(r, P.EXTRAS), "n": 3 + int(rand() * 7), "m": 5 + int(rand() * 26),
        "pct": 10 + 5 * int(rand() * 17), "money": f"{(5 + int(rand() * 96)) * 100:,}", "weeks": 2 + int(rand() * 9),
        "day": 1 + int(rand() * 28), "hours": 2 + int(rand() * 9), "month": _pick(r, P.MONTHS),
        "weekday": _pick(r, P.WEEKDAYS), "city": _pick(r, P.CITIES), "name": _pick(r, P.NAMES),
        "tool": _pick(r, P.TOOLS), "field": _pick(r, P.FIELDS), "slug": slug,
    }


def answer(r: random.Random, request: CompletionRequest, system: str, user: str, *, seed: str = "") -> str:
    """The offline answer to a role-play request of kind ``request.hints.kind`` (one of
    ``KINDS``); ``r`` is seeded by the request, ``seed`` is the model's (for chat plans)."""
    kind = request.hints.kind
    if kind in ("instruction", "solution"):
        return (_instruction if kind == "instruction" else _solution)(r, request, system, user, seed)
    if kind == "acknowledge":
        t = _task(system)
        ack = _pick(r, P.ACKNOWLEDGEMENTS).format_map(_values(r, t.thing, t.other or "user", t.me or "assistant"))
        return f"{ack} I am ready for your first instruction."
    if kind == "critic":
        return _critic(r, request)
    one_shot = {"specify": _specify, "plan": _subtasks, "roles": _roles, "tasks": _tasks}.get(kind)
    if one_shot is not None:
        return one_shot(r, user)
    raise ValueError(f"not a role-play kind: {kind!r}")


def _own_answers(request: CompletionRequest, system: str) -> int:
    """How many answers the agent has given in this chat (not counting an acknowledgement
    of its own rules, which the 2023 kick-off asks for first)."""
    messages = request.messages
    count = sum(m.role == "assistant" for m in messages)
    echo = len(messages) > 2 and messages[1].role == "user" and messages[1].content == system
    return count - 1 if echo and count else count


# The AI user ----------------------------------------------------------------------------


def _instruction(r: random.Random, request: CompletionRequest, system: str, user: str, seed: str) -> str:
    plan, step, t = _plan(seed, "user", system), _own_answers(request, system), _task(system)
    values = _values(r, t.thing, t.me or "client", t.other or "expert", tech=t.tech)
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
    given = _pick(r, P.INPUTS).format_map(values) if r.random() < 0.55 else "None"
    if _words(f"{sentence} {given}") > 43:  # 20 to 45 words with the two labels
        given = "None"
    if _words(f"{sentence} {given}") < 18:
        sentence = f"{sentence} {_pick(r, P.ADDENDA)}"
    return f"{INSTRUCTION} {sentence}\nInput: {given}"


# The AI assistant -----------------------------------------------------------------------


def _solution(r: random.Random, request: CompletionRequest, system: str, user: str, seed: str) -> str:
    plan, step, t = _plan(seed, "assistant", system), _own_answers(request, system), _task(system)
    line = next((ln for ln in user.splitlines() if ln.strip().startswith(INSTRUCTION)), "")
    said = line.strip()[len(INSTRUCTION) :].strip()
    component = next((c for c in (*P.COMPONENTS_TECH, *P.COMPONENTS) if c in said), "")
    values = _values(r, t.thing, t.other or "client", t.me or "expert", component, t.tech)
    if INSTRUCTION not in user:
        bank = P.WELCOMES if _THANKS.search(user) else P.READY
        return f"Solution: {_pick(r, bank).format_map(values)} Next request."
    given = next((ln.strip()[6:].strip() for ln in user.splitlines() if ln.strip().startswith("Input:")), "None")
    phase = next((p for p, words in P.PHASE_WORDS.items() if any(w in said.lower() for w in words)), "build")
    if plan.fate == "flip" and step >= plan.step and (step == plan.step or r.random() < 0.6):
        body = _body(r, values, said, given, phase, t.tech, 35, 70)
        flip = _pick(r, P.FLIPS).format_map(values)
        return f"Solution: {body}\n{flip}\n{_pick(r, P.FLIP_INPUTS).format_map(values)}"
    if plan.fate == "verbose":
        return f"Solution: {_verbose(r, values, said, t.tech)}\nNext request."
    return f"Solution: {_body(r, values, said, given, phase, t.tech, 50, 106)} Next request."


def _echo(said: str) -> str:
    """The gist of an instruction, to open a solution with: its first clause, in lower case."""
    words: list[str] = []
    for word in said.split():
        if len(words) >= 3 and (word.lower() in _ECHO_STOPS or len(words) >= 12):
            break
        words.append(word.rstrip(",;:."))
        if word.endswith((",", ";", ":", ".")) and len(words) >= 4:
            break
    while words and (words[-1].lower() in P.STOP_WORDS or words[-1].lower() in P.ARTICLES or len(words[-1]) < 3):
        words.pop()
    text = " ".join(words) or "carry out this step"
    return text[:1].lower() + text[1:] if not text[:2].isupper() else text


def _body(r: random.Random, values: dict[str, object], said: str, given: str, phase: str, tech: bool,
          least: int, most: int) -> str:
    """A specific solution of ``least`` to ``most`` words: an opening that echoes the
    instruction, a short list, perhaps a code snippet, a closing."""
    opening = _pick(r, P.OPENINGS).format_map({**values, "echo": _echo(said)})
    if given != "None" and r.random() < 0.5:
        opening += f" It takes the input into account: {given}"
    bank = P.ITEMS.get(phase, P.ITEMS["build"])
    items = [item.format_map(values) for item in _sample(r, bank, _between(r, 3, 4))]
    code = ""
    if tech and phase in ("build", "test", "design") and r.random() < 0.6:
        code = "\n```python\n" + _pick(r, P.CODE_SNIPPETS).format_map(values) + "\n```"
    closing = _pick(r, P.CLOSINGS).format_map(values)
    extras = [e.format_map(values) for e in _sample(r, P.EXPLANATIONS, 4)]

    def render() -> str:
        listed = "".join(f"\n{i}. {item}" for i, item in enumerate(items, 1))
        return f"{opening}{listed}{code}\n{closing}"

    text = render()
    while _words(text) > most and (len(items) > 2 or code):
        if code:
            code = ""
        else:
            items.pop()
        text = render()
    while _words(text) < least and extras:
        closing += " " + extras.pop()
        text = render()
    return text


def _verbose(r: random.Random, values: dict[str, object], said: str, tech: bool) -> str:
    """A long solution (about 250 to 350 words): a long list of explained items, then a
    code block for a technical task; the kind that fills a context window in a few rounds."""
    target = _between(r, 250, 350)
    opening = _pick(r, P.OPENINGS).format_map({**values, "echo": _echo(said)})
    pool = [item for phase in ("gather", "design", "build", "test", "document") for item in P.ITEMS[phase]]
    items = _sample(r, pool, len(pool))
    why = _sample(r, P.EXPLANATIONS, len(P.EXPLANATIONS))
    code = ""
    if tech:
        snippets = (s.format_map(values) for s in _sample(r, P.CODE_SNIPPETS, 3))
        code = "\n```python\n" + "\n\n".join(snippets) + "\n```"
    parts = [opening, ""]
    while _words("\n".join(parts) + code) < target - 25 and items:
        parts.append(f"{len(parts) - 1}. {items.pop().format_map(values)} {why[len(parts) % len(why)].format_map(values)}")
    closings = "\n".join(c.format_map(values) for c in _sample(r, P.CLOSINGS, 3))
    return "\n".join(parts) + code + "\n\n" + closings


# One-shot agents ------------------------------------------------------------------------


def _specify(r: random.Random, user: str) -> str:
    """A more specific task, within the word limit the request sets (50 if it sets none)."""
    found = re.search(r"task that (.+?) will help (.+?) to complete: (.+)", user)
    assistant, role, task = found.groups() if found else ("the assistant", "the user", user.split("\n", 1)[0])
    task = task.strip().rstrip(".!?") or "Complete the project"
    limit_match = re.search(r"in (\d+) words or fewer", user)
    limit = int(limit_match.group(1)) if limit_match else 50
    values = _values(r, _thing(task), role, assistant)
    context = _pick(r, P.SPEC_CONTEXTS).format_map(values)
    sentences = [
        f"{_cap(task)}{' ' if context.startswith(('for ', 'so ')) else ', '}{context}.",
        _pick(r, P.SPEC_DELIVERS).format_map(values),
        _pick(r, P.SPEC_SUCCESSES).format_map(values),
    ]
    kept: list[str] = []
    for sentence in sentences:
        if _words(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    if not kept:  # even the first sentence is too long: cut it
        return " ".join(sentences[0].split()[: max(limit, 1)]).rstrip(",;:.") + "."
    return " ".join(kept)


def _subtasks(r: random.Random, user: str) -> str:
    """The planner's answer: three to six short numbered subtasks, in order."""
    found = re.search(r"subtasks:\s*(.+?)(?:\nBe concise\.|$)", user, re.S)
    task = found.group(1).strip() if found else user
    values = _values(r, _thing(task), "user", "assistant")
    optional = _sample(r, ("design", "test", "document"), _between(r, 0, 3))
    phases = [p for p in ("gather", "design", "build", "test", "document", "deliver")
              if p in ("gather", "build", "deliver") or p in optional]
    return "\n".join(f"{i}. {_pick(r, P.PLAN_STEPS[p]).format_map(values)}" for i, p in enumerate(phases, 1))


def _critic(r: random.Random, request: CompletionRequest) -> str:
    """The critic's choice: the most specific (longest) option, ties broken at random."""
    menu = next((m.content for m in reversed(request.messages) if m.role == "user" and "Option 1:" in m.content), "")
    options = re.findall(r"^Option (\d+):\n(.*?)(?=\n\nOption \d+:\n|\n\nEnter your choice|\Z)", menu, re.S | re.M)
    listed = re.search(r"Enter your choice \(\[([\d, ]+)\]\)", menu)
    valid = [int(c) for c in listed.group(1).split(",")] if listed else [int(n) for n, _ in options]
    scored = [(_words(text), r.random(), int(n)) for n, text in options if int(n) in valid]
    if not scored:
        return f"{valid[0] if valid else 1}. It is the only usable proposal."
    scored.sort(reverse=True)
    choice = scored[0][2]
    if len(scored) == 1:
        return f"{choice}. Option {choice} is the only proposal, and it is usable as it stands."
    values = {"other": scored[1][2]}
    reason = _pick(r, P.CRITIC_REASONS).format_map(values)
    tail = f" {_pick(r, P.CRITIC_TAILS).format_map(values)}" if r.random() < 0.5 else ""
    return f"{choice}. Option {choice} is the most specific of the {len(scored)} options: {reason}{tail}"


# Dataset lists ---------------------------------------------------------------------------


def _count(user: str) -> int:
    found = re.search(r"List (?:the )?(\d+)", user)
    return min(int(found.group(1)), 100_000) if found else 10


def _roles(r: random.Random, user: str) -> str:
    """``count`` distinct roles, numbered and sorted alphabetically."""
    count = _count(user)
    bank = USER_ROLES if "internet users" in user or "occupations" in user else ASSISTANT_ROLES
    pool = list(bank)
    if count > len(pool):  # more than the bank holds: qualified roles, then numbered ones
        pool += [f"{v} {role}" for v in ROLE_VARIANTS for role in bank]
    round_ = 2
    while count > len(pool):
        pool += [f"{role} {round_}" for role in bank]
        round_ += 1
    chosen = sorted(_sample(r, pool, count), key=str.casefold)
    return "\n".join(f"{i}. {role}" for i, role in enumerate(chosen, 1))


def _tasks(r: random.Random, user: str) -> str:
    """``count`` distinct, concrete tasks that the assistant role can help the user role with."""
    count = _count(user)
    found = re.search(r"tasks that (.+?) can help (.+?) with\.", user)
    assistant, role = found.groups() if found else ("an assistant", "a user")
    low = assistant.lower()
    domain = next((d for d, words in P.DOMAIN_WORDS.items() if any(w in low for w in words)), "general")
    a_user = _a(role)

    def combos(d: str) -> list[str]:
        return [f.format(artifact=a, a_user=a_user, goal=g) for a in P.ARTIFACTS[d] for g in P.GOALS[d] for f in P.TASK_FORMS]

    pool = combos(domain)
    if count > len(pool) and domain != "general":  # the domain's own tasks first
        pool += combos("general")
    chosen = _sample(r, pool, count)
    chosen += [f"{_pick(r, pool)} (variant {i})" for i in range(2, count - len(chosen) + 2)]
    return "\n".join(f"{i}. {task}" for i, task in enumerate(chosen, 1))
