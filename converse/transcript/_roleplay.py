"""Markdown transcripts of role-plays: the task, then the chat message by message.

The layout: a title and a header list (roles, model, seed, status, why the chat ended,
messages, spending), the task as given, specified and planned, one section per message
(``### 3. Stock Trader (AI user)``) with the critic's choice noted under the message it chose,
the messages CAMEL's rules leave out of the dataset marked, and the run's errors at the end.
Each message is a block quote, so nothing a model writes (an unclosed code fence, a
heading, an underline) reaches beyond its own message.
"""

from __future__ import annotations

from ..log._events import CriticChoice, LLMCall, RunStarted
from ..log._log import gc_paused
from ..models._person import PERSON
from ._camel import Events, RolePlayLog, roleplay_log
from ._text import TRUNCATED_MARK, error_line, md, prose
from ._title import run_title

__all__ = ["render_roleplay_markdown"]

_KIND = {"user": "AI user", "assistant": "AI assistant"}
_NOT_SAVED = "_(not saved to the dataset: the chat ended in this round)_"


def render_roleplay_markdown(events: Events) -> str:
    """The Markdown transcript of a role-play run, finished or not, from its events in log order.

    The same events always give the same text.

    Raises:
        ValueError: ``events`` does not start with ``run_started``, or is not a role-play's.
    """
    if not events or not isinstance(events[0], RunStarted):
        raise ValueError("render_roleplay_markdown needs a run's events, starting with run_started")
    if not isinstance(events[0].scenario.get("roleplay"), dict):
        raise ValueError("render_roleplay_markdown needs a role-play's events (a [roleplay] scenario)")
    with gc_paused():
        log = roleplay_log(events)
        out = _header(log, events)
        out += _task(log)
        out.append("## Chat")
        if not log.messages:
            out.append("_No messages._")
        for index in range(len(log.messages)):
            out += _message(log, index)
        out += _ending(log)
        if log.errors:
            out.append("## Errors")
            out.append("\n".join(error_line(e) for e in log.errors))
    out[-1] += "\n"  # the final newline: see MarkdownRenderer.text
    return "\n\n".join(out)


def _quote(text: str) -> str:
    """Model text as a block quote: kept as written, but it can open no HTML, no heading, and
    nothing that outlives the quote."""
    body = prose(text)
    if not body:
        return "> _(empty message)_"
    return "\n".join(f"> {line}" if line.strip() else ">" for line in body.splitlines())


def _models(run: str, events: Events, user_role: str, assistant_role: str) -> str:
    """The run's model, or, when the two sides spoke with different ones, each side's."""
    sides: dict[str, dict[str, None]] = {"user": {}, "assistant": {}}
    for event in events:
        if type(event) is LLMCall and event.actor in sides and event.purpose != "acknowledge":
            sides[event.actor][event.model] = None
    used = {model for models in sides.values() for model in models}
    if len(used) <= 1:
        return f"- **Model:** {md(run)}"
    user, assistant = (", ".join(map(_model_name, sides[side])) or "none" for side in ("user", "assistant"))
    return f"- **Models:** {md(user_role)} (AI user): {user}; {md(assistant_role)} (AI assistant): {assistant}"


def _model_name(spec: str) -> str:
    return "a person at the terminal" if spec == PERSON else md(spec)


def _header(log: RolePlayLog, events: Events) -> list[str]:
    started, finished, table = log.started, log.finished, log.table
    status = f"{finished.status} ({md(finished.reason)})" if finished is not None else "unfinished"
    reason = md(log.reason) if log.ended is not None and log.reason else "none (the chat did not end)"
    said = len(log.messages)
    if log.ended is not None:
        messages = f"{said} said, {sum(log.saved)} saved to the dataset"
    else:
        messages = f"{said} said, none saved (the chat did not end)"
    limit = table.get("max_messages")
    if isinstance(limit, int):
        messages += f" (limit {limit})"
    if finished is not None:
        calls, prompt, completion = finished.llm_calls, finished.prompt_tokens, finished.completion_tokens
        spent = (
            f"{calls} calls, {prompt + completion:,} tokens ({prompt:,} prompt, {completion:,} completion)"
        )
        spent += f", ${finished.cost_usd:.4f}"
    else:
        made = [e for e in events if type(e) is LLMCall]
        prompt = sum(e.usage.prompt_tokens for e in made)
        completion = sum(e.usage.completion_tokens for e in made)
        spent = f"{len(made)} calls so far, {prompt + completion:,} tokens ({prompt:,} prompt, {completion:,} completion)"
    bullets = [
        f"- **Scenario:** {md(started.scenario_name)}",
        f"- **Roles:** {md(log.task.user_role)} (AI user) instructs {md(log.task.assistant_role)} (AI assistant)",
        _models(started.model, events, log.task.user_role, log.task.assistant_role),
        f"- **Seed:** {started.seed}",
        f"- **Status:** {status}",
        f"- **Termination:** {reason}",
        f"- **Messages:** {messages}",
        f"- **Model use:** {spent}",
    ]
    critic = table.get("critic")
    if isinstance(critic, dict) and critic.get("kind") not in (None, "none"):
        bullets.append(
            f"- **Critic:** {md(str(critic.get('kind')))}, {critic.get('candidates', '?')} candidates "
            f"for {md(str(critic.get('proposers', 'both')))}"
        )
    return [f"# {md(run_title(started))}", "\n".join(bullets)]


def _task(log: RolePlayLog) -> list[str]:
    out = [
        "## Task",
        "**Original task**",
        _quote(log.task.original),
        "**Specified task**",
        _quote(log.task.specified),
    ]
    if log.task.planned is not None:
        out += ["**Plan**", _quote(log.task.planned)]
    return out


def _message(log: RolePlayLog, index: int) -> list[str]:
    message = log.messages[index]
    name = f"{md(log.role_name(message.actor))} ({_KIND.get(message.actor, message.actor)})"
    out = [f"### {index + 1}. {name}"]
    if log.ended is not None and not log.saved[index]:
        out.append(_NOT_SAVED)
    out.append(_quote(message.text))
    if index in log.cut:
        out.append(TRUNCATED_MARK.strip())
    choice = log.choices.get(index)
    if choice is not None:
        out += _choice(choice)
    return out


def _choice(choice: CriticChoice) -> list[str]:
    """The critic's choice: who chose which option, then the other options and the critic's
    reasons folded away."""
    total = len(choice.options)
    if choice.by == "fallback":
        line = f"_Picked at random (seeded) from {total} candidates, option {choice.choice}: the critic gave no valid choice._"
    else:
        who = "a human critic" if choice.by == "human" else f"the critic ({md(choice.critic)})"
        line = f"_Chosen by {who} from {total} candidates: option {choice.choice}._"
    folded: list[str] = []
    for number, option in enumerate(choice.options, 1):
        if number != choice.choice:
            folded += [f"**Option {number}**", _quote(option)]
    if choice.explanation.strip():
        folded += ["**The critic's reasons**", _quote(choice.explanation)]
    if not folded:
        return [line]
    others = total - 1 if 1 <= choice.choice <= total else total
    summary = f"The other {others} candidate{'s' if others != 1 else ''}"
    if choice.explanation.strip():
        summary += " and the critic's reasons"
    return [line, f"<details><summary>{summary}</summary>", *folded, "</details>"]


def _ending(log: RolePlayLog) -> list[str]:
    out = ["## End"]
    said = len(log.messages)
    if log.ended is not None:
        out.append(
            f"The chat ended ({md(log.ended.reason)}) after {said} message{'s' if said != 1 else ''}; "
            f"{sum(log.saved)} saved to the dataset."
        )
    elif log.finished is not None:
        out.append(
            f"The run ended {log.finished.status} ({md(log.finished.reason)}) before the chat did, "
            f"after {said} message{'s' if said != 1 else ''}."
        )
    else:
        out.append(f"The log stops after {said} message{'s' if said != 1 else ''}: the run did not finish.")
    return out
