"""Checks of a scenario that its types alone cannot express: names, cycles, orders, the
clock, budgets, dials and their choices, prompt templates and their placeholders, conditions
and the judge's table. Each problem is recorded with the file and the key path, and the
checks go on: ``converse validate`` reports every problem at once."""

from __future__ import annotations

import re

from .._exceptions import ModelSpecError, ScenarioError
from ._bounds import MAX_AGENTS, MAX_MEMBERS, MAX_PERIODS, MAX_RESEARCHERS, MAX_ROUNDS
from ._clock import period_count
from ._conditions import parse_condition
from ._dials import not_a_choice
from ._model_choice import ModelChoice
from ._models import choices_of, every_agent, memory_tables, stream_memories
from ._population import population_labs, researcher_name
from ._problems import Problems
from ._roleplay import PROMPT_FIELDS
from ._scenario import Agent, Council, ModelSettings, PopulationPrompts, Prompts, Scenario, Stream
from ._spec import read_spec
from ._templates import PERSONA_FIELDS, POPULATION_FIELDS, TEMPLATE_FIELDS, template_fields
from ._verdict import judge_problems

__all__ = ["LEDGER_ROWS", "check_scenario"]

# The rows of a run's ledger that are no agent's: an agent of either name would share its row
# (the judge's calls are booked under its actor, ``converse.judge``'s ``judge``; the last row
# is the ``total``, ``converse.engine``'s ``Ledger.rows``).
LEDGER_ROWS = frozenset({"judge", "total"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # ends a line, or is no text


def check_scenario(scenario: Scenario, problems: Problems) -> None:
    """Record every problem the types cannot express: names, orders, clock, dials, templates."""
    _check_money(scenario, problems)
    _check_params(scenario, problems)
    if scenario.roleplay is not None:
        if scenario.population is not None:
            problems.add("$.population", "a role-play has no population of researchers: it is two agents")
        _check_roleplay(scenario, problems)
        return
    if not scenario.agents:
        problems.add("$.agents", "a scenario needs at least one agent (or a [roleplay] table)")
    clock = scenario.clock
    if clock.end is not None and clock.end < clock.start:
        problems.add("$.clock.end", f"ends ({clock.end}) before it starts ({clock.start})", reads=("$.clock.start",))
    elif clock.end is not None and period_count(clock) > MAX_PERIODS:
        problems.add(
            "$.clock.end",
            f"{clock.start} to {clock.end} by {clock.step} is {period_count(clock):,} periods; "
            f"a scenario has at most {MAX_PERIODS:,}",
            reads=("$.clock.start", "$.clock.step"),
        )
    term = scenario.termination
    if clock.end is None and term.max_turns is None and not term.end_token:
        problems.add(
            "$.termination", "nothing ends the conversation: set clock.end or termination.max_turns",
            reads=("$.clock.end",),
        )
    _check_memory(scenario, problems)
    if term.max_turns is not None and term.max_turns < 1:
        problems.add("$.termination.max_turns", "must be at least 1")
    _check_dials(scenario, problems)
    _check_prompts(scenario.prompts, "$.prompts", scenario, problems, required=True)
    _check_order(scenario.conversation.turn_policy, scenario.conversation.order,
                 [a.name for a in scenario.agents], "$.conversation", problems)
    seen: dict[str, str] = {}
    for i, agent in enumerate(scenario.agents):
        _check_agent(agent, f"$.agents[{i}]", (), seen, scenario, problems)
    everyone = _count_agents(scenario.agents)
    if everyone > MAX_AGENTS:
        problems.add("$.agents", f"{everyone:,} agents and council members in all; a scenario has at most {MAX_AGENTS:,}")
    if any(a.council for a in scenario.agents) and not scenario.prompts.statement:
        problems.add("$.prompts.statement", "required when an agent has a council")
    _check_population(scenario, problems)
    judge_problems(scenario, problems)


def _check_population(scenario: Scenario, problems: Problems) -> None:
    """The researchers of a population: labs to staff, sizes, chances and templates."""
    population = scenario.population
    if population is None:
        return
    top = {agent.name for agent in scenario.agents}
    for i, lab in enumerate(population.labs):
        if lab not in top:
            problems.add(f"$.population.labs[{i}]", f"{lab!r} is not an agent of the scenario (known: {', '.join(sorted(top))})")
        elif population.labs.index(lab) != i:
            problems.add(f"$.population.labs[{i}]", f"{lab!r} is named twice")
    labs = population_labs(scenario)
    if not labs:
        problems.add("$.population", 'no lab to staff: give an agent kind = "lab", or name the labs in population.labs')
    if population.researchers < 1:
        problems.add("$.population.researchers", f"must be at least 1, not {population.researchers}")
    elif population.researchers * len(labs) > MAX_RESEARCHERS:
        problems.add(
            "$.population.researchers",
            f"{population.researchers:,} a lab in {len(labs)} labs is {population.researchers * len(labs):,} "
            f"researchers; a population has at most {MAX_RESEARCHERS:,}",
        )
    else:
        names = {researcher_name(i) for i in range(population.researchers * len(labs))}
        for agent in every_agent(scenario.agents):
            if agent.name in names:
                problems.add("$.agents", f"{agent.name!r} is the name of one of the population's researchers: rename the agent")
    for key, low, high in (("meet", 0, 100), ("conference_every", 0, MAX_PERIODS), ("brief", 1, 1000)):
        value = getattr(population, key)
        if not low <= value <= high:
            problems.add(f"$.population.{key}", f"must be from {low} to {high:,}, not {value}")
    if not 0 <= population.mobility <= 1:
        problems.add("$.population.mobility", f"is a chance per period: from 0 to 1, not {population.mobility}")
    for i, persona in enumerate(population.personas):
        if not persona.share > 0:
            problems.add(f"$.population.personas[{i}].share", f"must be more than 0, not {persona.share}")
        _check_template(
            persona.text, f"$.population.personas[{i}].text", PERSONA_FIELDS | set(scenario.dials), frozenset(), problems
        )
    _check_prompts(
        population.prompts, "$.population.prompts", scenario, problems, required=False, fields=POPULATION_FIELDS
    )


def _check_dials(scenario: Scenario, problems: Problems) -> None:
    for key in scenario.dials:
        if any(key in fields for fields, _ in TEMPLATE_FIELDS.values()):
            problems.add(f"$.dials.{key}", "clashes with a built-in template placeholder")
        elif scenario.population is not None and (
            key in PERSONA_FIELDS or any(key in fields for fields, _ in POPULATION_FIELDS.values())
        ):
            problems.add(f"$.dials.{key}", "clashes with a placeholder of the population's prompts")
    for key, choices in scenario.dial_choices.items():
        if key not in scenario.dials:
            continue
        path = f"$.dials.{key}"
        value = scenario.dials[key]
        if not choices:
            problems.add(f"{path}.choices", "give at least one choice (or leave choices out)")
            continue
        kinds = {_kind(c) for c in choices}
        if len(kinds) > 1:
            problems.add(f"{path}.choices", f"mixes {' and '.join(sorted(kinds))}: give values of one kind")
        elif _kind(value) not in kinds:
            problems.add(path, f"is a {_kind(value)}, and its choices are each a {kinds.pop()}")
        elif len({repr(c) for c in choices}) < len(choices):
            problems.add(f"{path}.choices", "a choice is given twice")
        else:
            wrong = not_a_choice(key, value, choices)
            if wrong is not None:
                problems.add(path, wrong)


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, int | float) else "string"


def _count_agents(agents: list[Agent]) -> int:
    """Agents and council members at every depth (the tree is walked with a stack of its own)."""
    count = 0
    stack = [agents]
    while stack:
        level = stack.pop()
        count += len(level)
        stack.extend(a.council.members for a in level if a.council is not None)
    return count


def _check_agent(
    agent: Agent, path: str, ancestors: tuple[str, ...], seen: dict[str, str], scenario: Scenario, problems: Problems
) -> None:
    control = _CONTROL.search(agent.name)
    if not agent.name.strip():
        problems.add(f"{path}.name", "an agent needs a non-empty name")
    elif control is not None:
        problems.add(f"{path}.name", f"{agent.name!r} holds the control character {control[0]!r}: a name is one line of text")
    elif agent.name in LEDGER_ROWS:
        problems.add(
            f"{path}.name", f"{agent.name!r} is taken by the run's ledger, whose rows {' and '.join(sorted(LEDGER_ROWS))} "
            "are no agent's: call the agent something else",
        )
    elif agent.name in ancestors:
        problems.add(f"{path}.name", f"{agent.name!r} appears inside its own council (a cycle)")
    elif agent.name in seen:
        problems.add(f"{path}.name", f"{agent.name!r} is already the name of {seen[agent.name]}")
    else:
        seen[agent.name] = path
    if agent.when is not None:
        _check_condition(agent.when, f"{path}.when", scenario, problems)
    council = agent.council
    if council is None:
        return
    cpath = f"{path}.council"
    if council.when is not None:
        _check_condition(council.when, f"{cpath}.when", scenario, problems)
    if not council.members:
        problems.add(f"{cpath}.members", "a council needs at least one member")
    elif len(council.members) > MAX_MEMBERS:
        problems.add(f"{cpath}.members", f"{len(council.members):,} members; a council has at most {MAX_MEMBERS}")
    if council.rounds < 1:
        problems.add(f"{cpath}.rounds", "must be at least 1")
    elif council.rounds > MAX_ROUNDS:
        problems.add(f"{cpath}.rounds", f"must be at most {MAX_ROUNDS}, not {council.rounds:,}")
    _check_order(council.turn_policy, council.order, [m.name for m in council.members], cpath, problems)
    if council.prompts is not None:
        _check_prompts(council.prompts, f"{cpath}.prompts", scenario, problems, required=False)
    needs = ["member_system", "council_opening", "member_turn"]
    if any(m.council for m in council.members):
        needs.append("member_statement")
    for key in needs:
        if not _prompt(scenario, council, key):
            problems.add(f"$.prompts.{key}", f"required by the council at {cpath}")
    for j, member in enumerate(council.members):
        _check_agent(member, f"{cpath}.members[{j}]", (*ancestors, agent.name), seen, scenario, problems)


def _check_condition(text: str, path: str, scenario: Scenario, problems: Problems) -> None:
    try:
        parse_condition(text, scenario.dials, path, problems.file)
    except ScenarioError as err:
        problems.record(err)


def _prompt(scenario: Scenario, council: Council | None, key: str) -> str:
    if council is not None and council.prompts is not None and getattr(council.prompts, key):
        return str(getattr(council.prompts, key))
    return str(getattr(scenario.prompts, key))


def _check_order(policy: str, order: list[str], names: list[str], path: str, problems: Problems) -> None:
    if policy == "scripted":
        if not order:
            problems.add(f"{path}.order", "the scripted turn policy needs an order")
        members = set(names)
        for k, name in enumerate(order):
            if name not in members:
                problems.add(f"{path}.order[{k}]", f"{name!r} is not a member here")
    elif order:
        problems.add(f"{path}.order", f"only the scripted turn policy takes an order, not {policy}")


def _check_prompts(
    prompts: Prompts | PopulationPrompts, path: str, scenario: Scenario, problems: Problems, *, required: bool,
    fields: dict[str, tuple[frozenset[str], frozenset[str]]] = TEMPLATE_FIELDS,
) -> None:
    for key, (allowed, needed) in fields.items():
        template = getattr(prompts, key)
        if not template:
            if required and key in ("system", "turn"):
                problems.add(f"{path}.{key}", "required")
            continue
        _check_template(template, f"{path}.{key}", allowed | set(scenario.dials), needed, problems)


def _check_template(
    template: str, path: str, allowed: frozenset[str] | set[str], needed: frozenset[str], problems: Problems
) -> None:
    """Known placeholders only (one line for all the unknown ones), and every needed one."""
    try:
        names = template_fields(template, path, problems.file)
    except ScenarioError as err:
        problems.record(err)
        return
    unknown = sorted(names - allowed)
    if unknown:
        which = ", ".join(f"{{{name}}}" for name in unknown)
        problems.add(path, f"unknown placeholder {which} (known: {', '.join(sorted(allowed))})")
    missing = sorted(needed - names)
    if missing:
        problems.add(path, f"must contain {', '.join(f'{{{name}}}' for name in missing)}")


def _check_stream(stream: Stream, path: str, problems: Problems) -> None:
    """A memory stream's settings: a decay that decays, weights that do not punish, ratings 1-10."""
    if not 0 < stream.decay <= 1:
        problems.add(f"{path}.decay", f"must be above 0 and at most 1, not {stream.decay}")
    if stream.k < 1:
        problems.add(f"{path}.k", f"must be at least 1, not {stream.k}")
    if stream.reflect_at < 0:
        problems.add(f"{path}.reflect_at", f"must not be negative (0: never), not {stream.reflect_at}")
    for part in ("recency", "importance", "relevance"):
        weight = getattr(stream.weights, part)
        if weight < 0:
            problems.add(f"{path}.weights.{part}", f"must not be negative, not {weight}")
    for kind in ("observation", "statement", "meeting"):
        rating = getattr(stream.ratings, kind)
        if not 1 <= rating <= 10:
            problems.add(f"{path}.ratings.{kind}", f"must be from 1 to 10, not {rating}")


def _check_memory(scenario: Scenario, problems: Problems) -> None:
    """The model's window and every agent's memory: sizes that leave room for a turn."""
    streams = list(stream_memories(scenario))
    named = [(path, memory.stream.embedder) for path, memory in streams if memory.stream.embedder]
    for path, spec in named[1:]:
        if spec != named[0][1]:
            problems.add(
                f"{path}.stream.embedder",
                f"a run embeds with one model, and {named[0][0]}.stream.embedder names another ({named[0][1]!r})",
            )
    model = scenario.model
    if model.context_window is not None and model.context_window <= model.max_tokens:
        problems.add(
            "$.model.context_window",
            f"must be more than model.max_tokens ({model.max_tokens}), not {model.context_window}",
            reads=("$.model.max_tokens",),
        )
    for path, memory in memory_tables(scenario):
        if memory.tokens is not None and memory.tokens < 100:
            problems.add(f"{path}.tokens", f"must be at least 100, not {memory.tokens}")
        if memory.summary_words < 10:
            problems.add(f"{path}.summary_words", f"must be at least 10, not {memory.summary_words}")
        _check_stream(memory.stream, f"{path}.stream", problems)


# Request fields converse sets itself: a parameter cannot replace them.
_OWN_FIELDS = frozenset({"model", "messages", "stream", "stream_options", "max_completion_tokens"})


def _check_params(scenario: Scenario, problems: Problems) -> None:
    """Model specs as running would read them, sampling settings a server takes and a
    positive timeout; every parameter a JSON value, none of them a field converse sets itself:
    for the run's ``[model]`` and for every model an agent, council, member or side names."""
    _check_model(scenario.model, "$.model", problems)
    judge = scenario.judge.model
    if isinstance(judge, ModelChoice):
        _check_model(judge, "$.judge.model", problems)
    else:
        _check_spec(judge, "$.judge.model", problems)
    for path, choice in choices_of(scenario):
        if isinstance(choice, str):
            _check_spec(choice, path, problems)
        else:
            _check_model(choice, path, problems)
            window, answer = choice.context_window, choice.max_tokens or scenario.model.max_tokens
            if window is not None and window <= answer:
                problems.add(f"{path}.context_window", f"must be more than its max_tokens ({answer}), not {window}")


def _check_spec(spec: str | None, path: str, problems: Problems) -> None:
    if spec is not None:
        try:
            read_spec(spec)
        except ModelSpecError as err:
            problems.add(path, err.problem)


def _check_model(model: ModelSettings | ModelChoice, path: str, problems: Problems) -> None:
    """One model's settings (the run's, or an agent's own, whose unset keys are the run's)."""
    _check_spec(model.spec, f"{path}.spec", problems)
    if model.temperature is not None and model.temperature < 0:
        problems.add(f"{path}.temperature", f"must not be negative, not {model.temperature}")
    if model.max_tokens is not None and model.max_tokens < 1:
        problems.add(f"{path}.max_tokens", f"must be at least 1, not {model.max_tokens}")
    timeout = model.timeout
    if timeout is not None and not timeout > 0:
        problems.add(f"{path}.timeout", f"must be a positive number of seconds, not {timeout}")
    for key in ("rpm", "tpm"):
        value = getattr(model, key)
        if value is not None and not value > 0:
            problems.add(f"{path}.{key}", f"must be a positive budget, not {value}")
    if model.calls is not None and model.calls < 1:
        problems.add(f"{path}.calls", f"must be at least 1, not {model.calls}")
    for key, value in (model.params or {}).items():
        where = f"{path}.params.{key}"
        if key in _OWN_FIELDS:
            problems.add(where, f"converse sets {key!r} itself; it cannot be a parameter")
        else:
            _check_json(value, where, problems)


def _check_json(value: object, path: str, problems: Problems) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _check_json(item, f"{path}.{key}", problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{path}[{i}]", problems)
    elif not isinstance(value, str | int | float | bool):
        problems.add(path, f"a {type(value).__name__} cannot be sent in a request: use a string")


def _check_money(scenario: Scenario, problems: Problems) -> None:
    for key, value in (("tokens", scenario.budget.tokens), ("usd", scenario.budget.usd)):
        if value is not None and value <= 0:
            problems.add(f"$.budget.{key}", "must be positive")
    for name, price in scenario.prices.items():
        if price.input < 0 or price.output < 0:
            problems.add(f"$.prices.{name}", "prices must not be negative")


def _check_roleplay(scenario: Scenario, problems: Problems) -> None:
    """A role-play's table: non-empty roles and task, sensible limits, known placeholders."""
    play = scenario.roleplay
    assert play is not None
    if scenario.agents:
        problems.add("$.agents", "a role-play has no agents list: its agents are the AI user and assistant")
    for key in ("assistant_role", "user_role", "task", "end_token"):
        if not str(getattr(play, key)).strip():
            problems.add(f"$.roleplay.{key}", "must not be empty")
    limits = {
        "max_messages": (play.max_messages, 1), "user_no_instruct": (play.user_no_instruct, 1),
        "assistant_instruct": (play.assistant_instruct, 1), "repeat_messages": (play.repeat_messages, 0),
        "token_limit": (play.token_limit, 1), "specifier.word_limit": (play.specifier.word_limit, 1),
        "critic.retries": (play.critic.retries, 0),
    }
    for key, (value, least) in limits.items():
        if value < least:
            problems.add(f"$.roleplay.{key}", f"must be at least {least}, not {value}")
    temperatures = {
        "specifier.temperature": play.specifier.temperature, "planner.temperature": play.planner.temperature,
        "critic.temperature": play.critic.temperature,
    }
    for key, temperature in temperatures.items():
        if temperature is not None and temperature < 0:
            problems.add(f"$.roleplay.{key}", f"must not be negative, not {temperature}")
    if scenario.memory.policy == "stream":
        problems.add(
            "$.memory.policy",
            "a role-play keeps each side's whole chat (roleplay.token_limit bounds it); a memory stream is for a "
            "scenario's agents",
        )
    if play.critic.kind != "none" and play.critic.candidates < 2:
        problems.add("$.roleplay.critic.candidates", "a critic needs at least 2 candidates to choose from")
    for key, (allowed, needed) in PROMPT_FIELDS.items():
        template = getattr(play.prompts, key)
        if template:
            _check_template(template, f"$.roleplay.prompts.{key}", allowed, needed, problems)
    for i, metric in enumerate(scenario.judge.metrics or []):
        if metric.subjects != "run":
            problems.add(f"$.judge.metrics[{i}].subjects", "a role-play's scores are of the whole run")
    if scenario.judge.metrics is not None:
        judge_problems(scenario, problems)
