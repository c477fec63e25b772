"""Checks of a scenario that its types alone cannot express: names, cycles, orders, the
clock, budgets, prompt templates and their placeholders, and the judge's table. Every error
names the file and the key path."""

from __future__ import annotations

from .._exceptions import ScenarioError
from ._roleplay import PROMPT_FIELDS
from ._scenario import Agent, Council, Prompts, Scenario
from ._templates import TEMPLATE_FIELDS, template_fields
from ._verdict import check_judge

__all__ = ["check_scenario"]


def check_scenario(scenario: Scenario, file: str) -> None:
    """Checks the types alone cannot express: names, orders, clock, templates."""
    if scenario.roleplay is not None:
        _check_roleplay(scenario, file)
        return
    if not scenario.agents:
        raise ScenarioError(file, "$.agents", "a scenario needs at least one agent (or a [roleplay] table)")
    clock = scenario.clock
    if clock.end is not None and clock.end < clock.start:
        raise ScenarioError(file, "$.clock.end", f"ends ({clock.end}) before it starts ({clock.start})")
    term = scenario.termination
    if clock.end is None and term.max_turns is None and not term.end_token:
        raise ScenarioError(
            file, "$.termination", "nothing ends the conversation: set clock.end or termination.max_turns"
        )
    _check_money(scenario, file)
    _check_params(scenario, file)
    _check_memory(scenario, file)
    if term.max_turns is not None and term.max_turns < 1:
        raise ScenarioError(file, "$.termination.max_turns", "must be at least 1")
    for key in scenario.dials:
        if any(key in fields for fields, _ in TEMPLATE_FIELDS.values()):
            raise ScenarioError(file, f"$.dials.{key}", "clashes with a built-in template placeholder")
    _check_prompts(scenario.prompts, "$.prompts", scenario, file, required=True)
    _check_order(scenario.conversation.turn_policy, scenario.conversation.order,
                 [a.name for a in scenario.agents], "$.conversation", file)
    seen: dict[str, str] = {}
    for i, agent in enumerate(scenario.agents):
        _check_agent(agent, f"$.agents[{i}]", (), seen, scenario, file)
    if any(a.council for a in scenario.agents):
        for key in ("statement",):
            if not getattr(scenario.prompts, key):
                raise ScenarioError(file, f"$.prompts.{key}", "required when an agent has a council")

    check_judge(scenario, file)


def _check_agent(
    agent: Agent, path: str, ancestors: tuple[str, ...], seen: dict[str, str], scenario: Scenario, file: str
) -> None:
    if not agent.name.strip():
        raise ScenarioError(file, f"{path}.name", "an agent needs a non-empty name")
    if agent.name in ancestors:
        raise ScenarioError(file, f"{path}.name", f"{agent.name!r} appears inside its own council (a cycle)")
    if agent.name in seen:
        raise ScenarioError(file, f"{path}.name", f"{agent.name!r} is already the name of {seen[agent.name]}")
    seen[agent.name] = path
    council = agent.council
    if council is None:
        return
    cpath = f"{path}.council"
    if not council.members:
        raise ScenarioError(file, f"{cpath}.members", "a council needs at least one member")
    if council.rounds < 1:
        raise ScenarioError(file, f"{cpath}.rounds", "must be at least 1")
    _check_order(council.turn_policy, council.order, [m.name for m in council.members], cpath, file)
    if council.prompts is not None:
        _check_prompts(council.prompts, f"{cpath}.prompts", scenario, file, required=False)
    needs = ["member_system", "council_opening", "member_turn"]
    if any(m.council for m in council.members):
        needs.append("member_statement")
    for key in needs:
        if not _prompt(scenario, council, key):
            raise ScenarioError(file, f"$.prompts.{key}", f"required by the council at {cpath}")
    for j, member in enumerate(council.members):
        _check_agent(member, f"{cpath}.members[{j}]", (*ancestors, agent.name), seen, scenario, file)


def _prompt(scenario: Scenario, council: Council | None, key: str) -> str:
    if council is not None and council.prompts is not None and getattr(council.prompts, key):
        return str(getattr(council.prompts, key))
    return str(getattr(scenario.prompts, key))


def _check_order(policy: str, order: list[str], names: list[str], path: str, file: str) -> None:
    if policy == "scripted":
        if not order:
            raise ScenarioError(file, f"{path}.order", "the scripted turn policy needs an order")
        for k, name in enumerate(order):
            if name not in names:
                raise ScenarioError(file, f"{path}.order[{k}]", f"{name!r} is not a member here")
    elif order:
        raise ScenarioError(file, f"{path}.order", f"only the scripted turn policy takes an order, not {policy}")


def _check_prompts(prompts: Prompts, path: str, scenario: Scenario, file: str, *, required: bool) -> None:
    for key, (allowed, needed) in TEMPLATE_FIELDS.items():
        template = getattr(prompts, key)
        if not template:
            if required and key in ("system", "turn"):
                raise ScenarioError(file, f"{path}.{key}", "required")
            continue
        names = template_fields(template, f"{path}.{key}", file)
        for name in sorted(names):
            if name not in allowed and name not in scenario.dials:
                options = ", ".join(sorted(allowed | set(scenario.dials)))
                raise ScenarioError(file, f"{path}.{key}", f"unknown placeholder {{{name}}} (known: {options})")
        for name in sorted(needed - names):
            raise ScenarioError(file, f"{path}.{key}", f"must contain {{{name}}}")


def _check_memory(scenario: Scenario, file: str) -> None:
    """The model's window and every agent's memory: sizes that leave room for a turn."""
    model = scenario.model
    if model.context_window is not None and model.context_window <= model.max_tokens:
        raise ScenarioError(
            file, "$.model.context_window", f"must be more than model.max_tokens ({model.max_tokens}), not {model.context_window}"
        )
    places = [("$.memory", scenario.memory)]
    places += [(f"$.agents[{i}].memory", a.memory) for i, a in enumerate(scenario.agents) if a.memory is not None]
    for path, memory in places:
        if memory is None:
            continue
        if memory.tokens is not None and memory.tokens < 100:
            raise ScenarioError(file, f"{path}.tokens", f"must be at least 100, not {memory.tokens}")
        if memory.summary_words < 10:
            raise ScenarioError(file, f"{path}.summary_words", f"must be at least 10, not {memory.summary_words}")


# Request fields converse sets itself: a parameter cannot replace them.
_OWN_FIELDS = frozenset({"model", "messages", "stream", "stream_options", "max_completion_tokens"})


def _check_params(scenario: Scenario, file: str) -> None:
    """A positive timeout; every parameter a JSON value, none of them a field converse sets itself."""
    timeout = scenario.model.timeout
    if timeout is not None and not timeout > 0:
        raise ScenarioError(file, "$.model.timeout", f"must be a positive number of seconds, not {timeout}")
    for key, value in scenario.model.params.items():
        path = f"$.model.params.{key}"
        if key in _OWN_FIELDS:
            raise ScenarioError(file, path, f"converse sets {key!r} itself; it cannot be a parameter")
        _check_json(value, path, file)


def _check_json(value: object, path: str, file: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(item, f"{path}.{key}", file)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]", file)
    elif not isinstance(value, str | int | float | bool):
        raise ScenarioError(file, path, f"a {type(value).__name__} cannot be sent in a request: use a string")


def _check_money(scenario: Scenario, file: str) -> None:
    for key, value in (("tokens", scenario.budget.tokens), ("usd", scenario.budget.usd)):
        if value is not None and value <= 0:
            raise ScenarioError(file, f"$.budget.{key}", "must be positive")
    for name, price in scenario.prices.items():
        if price.input < 0 or price.output < 0:
            raise ScenarioError(file, f"$.prices.{name}", "prices must not be negative")


def _check_roleplay(scenario: Scenario, file: str) -> None:
    """A role-play's table: non-empty roles and task, sensible limits, known placeholders."""
    play = scenario.roleplay
    assert play is not None
    if scenario.agents:
        raise ScenarioError(file, "$.agents", "a role-play has no agents list: its agents are the AI user and assistant")
    for key in ("assistant_role", "user_role", "task", "end_token"):
        if not str(getattr(play, key)).strip():
            raise ScenarioError(file, f"$.roleplay.{key}", "must not be empty")
    limits = {
        "max_messages": (play.max_messages, 1), "user_no_instruct": (play.user_no_instruct, 1),
        "assistant_instruct": (play.assistant_instruct, 1), "repeat_messages": (play.repeat_messages, 0),
        "token_limit": (play.token_limit, 1), "specifier.word_limit": (play.specifier.word_limit, 1),
        "critic.retries": (play.critic.retries, 0),
    }
    for key, (value, least) in limits.items():
        if value < least:
            raise ScenarioError(file, f"$.roleplay.{key}", f"must be at least {least}, not {value}")
    if play.critic.kind != "none" and play.critic.candidates < 2:
        raise ScenarioError(file, "$.roleplay.critic.candidates", "a critic needs at least 2 candidates to choose from")
    for key, (allowed, needed) in PROMPT_FIELDS.items():
        template = getattr(play.prompts, key)
        if not template:
            continue
        path = f"$.roleplay.prompts.{key}"
        names = template_fields(template, path, file)
        for name in sorted(names - allowed):
            raise ScenarioError(file, path, f"unknown placeholder {{{name}}} (known: {', '.join(sorted(allowed))})")
        for name in sorted(needed - names):
            raise ScenarioError(file, path, f"must contain {{{name}}}")
    _check_money(scenario, file)
    _check_params(scenario, file)
    for i, metric in enumerate(scenario.judge.metrics or []):
        if metric.subjects != "run":
            raise ScenarioError(file, f"$.judge.metrics[{i}].subjects", "a role-play's scores are of the whole run")
    if scenario.judge.metrics is not None:
        check_judge(scenario, file)
