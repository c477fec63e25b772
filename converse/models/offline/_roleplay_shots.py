"""The offline model's one-shot role-play answers: the task specifier's, the planner's and
the critic's, and the lists a dataset is made from (roles, tasks per pair of roles)."""

from __future__ import annotations

import functools
import re

from .._model import CompletionRequest
from . import _roleplay_phrases as P
from ._draw import (
    Source,
    between,
    capitalised,
    main_phrase,
    pick,
    sample,
    template_values,
    with_article,
    word_count,
)
from ._roles import ASSISTANT_ROLES, ROLE_VARIANTS, USER_ROLES


def specify(r: Source, user: str) -> str:
    """A more specific task, within the word limit the request sets (50 if it sets none)."""
    found = re.search(r"task that (.+?) will help (.+?) to complete: (.+)", user)
    assistant, role, task = found.groups() if found else ("the assistant", "the user", user.split("\n", 1)[0])
    task = task.strip().rstrip(".!?") or "Complete the project"
    limit_match = re.search(r"in (\d+) words or fewer", user)
    limit = int(limit_match.group(1)) if limit_match else 50
    values = template_values(r, main_phrase(task), role, assistant)
    context = pick(r, P.SPEC_CONTEXTS).format_map(values)
    sentences = [
        f"{capitalised(task)}{' ' if context.startswith(('for ', 'so ')) else ', '}{context}.",
        pick(r, P.SPEC_DELIVERS).format_map(values),
        pick(r, P.SPEC_SUCCESSES).format_map(values),
    ]
    kept: list[str] = []
    for sentence in sentences:
        if word_count(" ".join([*kept, sentence])) > limit:
            break
        kept.append(sentence)
    if not kept:  # even the first sentence is too long: cut it
        return " ".join(sentences[0].split()[: max(limit, 1)]).rstrip(",;:.") + "."
    return " ".join(kept)


def plan_subtasks(r: Source, user: str) -> str:
    """The planner's answer: three to six short numbered subtasks, in order."""
    found = re.search(r"subtasks:\s*(.+?)(?:\nBe concise\.|$)", user, re.S)
    task = found.group(1).strip() if found else user
    values = template_values(r, main_phrase(task), "user", "assistant")
    optional = sample(r, ("design", "test", "document"), between(r, 0, 3))
    phases = [p for p in ("gather", "design", "build", "test", "document", "deliver")
              if p in ("gather", "build", "deliver") or p in optional]
    return "\n".join(f"{i}. {pick(r, P.PLAN_STEPS[p]).format_map(values)}" for i, p in enumerate(phases, 1))


def critic(r: Source, request: CompletionRequest) -> str:
    """The critic's choice: the most specific (longest) option, ties broken at random."""
    menu = next((m.content for m in reversed(request.messages) if m.role == "user" and "Option 1:" in m.content), "")
    options = re.findall(r"^Option (\d+):\n(.*?)(?=\n\nOption \d+:\n|\n\nEnter your choice|\Z)", menu, re.S | re.M)
    listed = re.search(r"Enter your choice \(\[([\d, ]+)\]\)", menu)
    valid = [int(c) for c in listed.group(1).split(",")] if listed else [int(n) for n, _ in options]
    scored = [(word_count(text), r.random(), int(n)) for n, text in options if int(n) in valid]
    if not scored:
        return f"{valid[0] if valid else 1}. It is the only usable proposal."
    scored.sort(reverse=True)
    choice = scored[0][2]
    if len(scored) == 1:
        return f"{choice}. Option {choice} is the only proposal, and it is usable as it stands."
    values = {"other": scored[1][2]}
    reason = pick(r, P.CRITIC_REASONS).format_map(values)
    tail = f" {pick(r, P.CRITIC_TAILS).format_map(values)}" if r.random() < 0.5 else ""
    return f"{choice}. Option {choice} is the most specific of the {len(scored)} options: {reason}{tail}"


# Dataset lists ---------------------------------------------------------------------------


def _count(user: str) -> int:
    found = re.search(r"List (?:the )?(\d+)", user)
    return min(int(found.group(1)), 100_000) if found else 10


def _roles(r: Source, user: str) -> str:
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
    chosen = sorted(sample(r, pool, count), key=str.casefold)
    return "\n".join(f"{i}. {role}" for i, role in enumerate(chosen, 1))


def _tasks(r: Source, user: str) -> str:
    """``count`` distinct, concrete tasks that the assistant role can help the user role with."""
    count = _count(user)
    found = re.search(r"tasks that (.+?) can help (.+?) with\.", user)
    assistant, role = found.groups() if found else ("an assistant", "a user")
    low = assistant.lower()
    domain = next((d for d, words in P.DOMAIN_WORDS.items() if any(w in low for w in words)), "general")
    a_user = with_article(role)
    pool = _task_pool(domain, a_user)
    if count > len(pool) and domain != "general":  # the domain's own tasks first
        pool += _task_pool("general", a_user)
    chosen = sample(r, pool, count)
    chosen += [f"{pick(r, pool)} (variant {i})" for i in range(2, count - len(chosen) + 2)]
    return "\n".join(f"{i}. {task}" for i, task in enumerate(chosen, 1))


@functools.lru_cache(maxsize=256)
def _task_pool(domain: str, a_user: str) -> tuple[str, ...]:
    """Every task a domain's templates make for ``a_user`` (a hundred or so: made once per user
    role and domain, not for each pair of roles that asks)."""
    return tuple(
        f.format(artifact=a, a_user=a_user, goal=g) for a in P.ARTIFACTS[domain] for g in P.GOALS[domain] for f in P.TASK_FORMS
    )


def dataset_list(r: Source, user: str) -> str:
    """A list for a dataset: of roles, or of tasks for a pair of roles."""
    return _tasks(r, user) if "tasks that" in user else _roles(r, user)
