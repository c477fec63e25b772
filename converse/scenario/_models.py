"""Which model each agent speaks with: the run's ``[model]``, or the one an agent, its council,
a member or a role-play side names, as the settings its requests are made with."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import msgspec

from .._exceptions import ScenarioError
from ._model_choice import ModelChoice, ModelSpecOrChoice
from ._scenario import Agent, Council, Memory, ModelSettings, Scenario

__all__ = [
    "choices_of",
    "embedded_by",
    "embedder_spec",
    "every_agent",
    "member_settings",
    "memory_tables",
    "own_settings",
    "people_named",
    "settings_by_agent",
    "settings_in_use",
    "stream_memories",
    "with_choices",
]

# Settings that belong to one model or one server's budgets: a model chosen for an agent does
# not take the run's (the run's window is not another model's window).
_OWN = ("context_window", "rpm", "tpm", "calls")


def own_settings(run: ModelSettings, choice: ModelSpecOrChoice | None) -> ModelSettings:
    """The settings of an agent whose own model is ``choice``, over those of ``run`` (the
    run's ``[model]``, or the settings the agent inherits from the agent its council advises).

    A choice that names the same spec and changes nothing is the run's model itself.
    """
    if choice is None:
        return run
    if isinstance(choice, str):
        choice = ModelChoice(spec=choice)
    changes = {k: v for k, v in msgspec.structs.asdict(choice).items() if v is not None}
    if changes == {"spec": run.spec}:
        return run
    if changes.get("spec", run.spec) != run.spec:
        changes = {**dict.fromkeys(_OWN), **changes}
    return msgspec.structs.replace(run, **changes)


def choices_of(scenario: Scenario) -> Iterator[tuple[str, ModelSpecOrChoice]]:
    """Every model the scenario names for an agent, council, member or role-play side, with
    its key path (``$.agents[2].model``)."""
    yield from _agent_choices(scenario.agents, "$.agents")
    play = scenario.roleplay
    if play is not None:
        for side in ("user_model", "assistant_model"):
            choice = getattr(play, side)
            if choice is not None:
                yield f"$.roleplay.{side}", choice


def _agent_choices(agents: list[Agent], path: str) -> Iterator[tuple[str, ModelSpecOrChoice]]:
    for i, agent in enumerate(agents):
        if agent.model is not None:
            yield f"{path}[{i}].model", agent.model
        council = agent.council
        if council is not None:
            if council.model is not None:
                yield f"{path}[{i}].council.model", council.model
            yield from _agent_choices(council.members, f"{path}[{i}].council.members")


def member_settings(advised: ModelSettings, council: Council, member: Agent) -> ModelSettings:
    """The settings of a council member: its own model, else its council's, else those of
    the agent the council advises (``advised``)."""
    return own_settings(own_settings(advised, council.model), member.model)


def _seated(scenario: Scenario, run: ModelSettings) -> Iterator[tuple[str, ModelSettings]]:
    """Every agent, council member (at any depth) and role-play side (``user``, ``assistant``)
    of ``scenario``, in the order of the file, with the settings it speaks with (``run`` for
    one with no model of its own, that very object)."""

    def walk(agents: list[Agent], inherited: ModelSettings, council: Council | None) -> Iterator[tuple[str, ModelSettings]]:
        for agent in agents:
            settings = own_settings(inherited, agent.model) if council is None else member_settings(inherited, council, agent)
            yield agent.name, settings
            if agent.council is not None:
                yield from walk(agent.council.members, settings, agent.council)

    yield from walk(scenario.agents, run, None)
    play = scenario.roleplay
    if play is not None:
        yield "user", own_settings(run, play.user_model)
        yield "assistant", own_settings(run, play.assistant_model)


def settings_by_agent(scenario: Scenario, run: ModelSettings) -> dict[str, ModelSettings]:
    """The settings each agent speaks with, by name (a role-play's sides as ``user`` and
    ``assistant``), the run's being ``run``; of several agents of one name, the first's."""
    found: dict[str, ModelSettings] = {}
    for name, settings in _seated(scenario, run):
        found.setdefault(name, settings)
    return found


def settings_in_use(scenario: Scenario, run: ModelSettings) -> list[ModelSettings]:
    """Every model setting some agent of ``scenario`` speaks with other than ``run`` (the
    run's), once each, in the order of the file."""
    key = msgspec.json.encode(run)
    found: dict[bytes, ModelSettings] = {}
    for _, settings in _seated(scenario, run):
        if settings is not run:
            found.setdefault(msgspec.json.encode(settings), settings)
    return [settings for k, settings in found.items() if k != key]


def with_choices(scenario: Scenario, change: Callable[[ModelSpecOrChoice], ModelSpecOrChoice]) -> Scenario:
    """``scenario`` with every model an agent, council, member or role-play side names
    replaced by ``change(it)`` (the judge's is left as it is)."""

    def models(agent: Agent) -> dict[str, object]:
        changes: dict[str, object] = {}
        if agent.model is not None:
            changes["model"] = change(agent.model)
        if agent.council is not None and agent.council.model is not None:
            changes["council"] = msgspec.structs.replace(agent.council, model=change(agent.council.model))
        return changes

    play = scenario.roleplay
    if play is not None:
        play = msgspec.structs.replace(
            play,
            user_model=None if play.user_model is None else change(play.user_model),
            assistant_model=None if play.assistant_model is None else change(play.assistant_model),
        )
    return msgspec.structs.replace(scenario, agents=_rebuilt(scenario.agents, models), roleplay=play)


def people_named(scenario: Scenario, names: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    """The seats of the agents a person plays (``--human NAME``), each as the engine names
    it: an organisation's name, a member's path (``OpenAI/OpenAI CEO``), or a role-play
    side (``user``, ``assistant``). A name can be an agent's or member's own name (if no
    other has it), such a path, or a role-play role (``Stock Trader``).

    Raises:
        ScenarioError: at ``--human``, a name no agent has, or that several have.
    """
    seats: dict[str, str] = {}  # seat -> its own name
    play = scenario.roleplay
    if play is not None:
        seats = {"user": play.user_role, "assistant": play.assistant_role}

    def walk(agents: list[Agent], path: tuple[str, ...]) -> None:
        for agent in agents:
            seats["/".join((*path, agent.name))] = agent.name
            if agent.council is not None:
                walk(agent.council.members, (*path, agent.name))

    walk(scenario.agents, ())
    found = []
    for name in names:
        if name in seats:
            found.append(name)
            continue
        matches = [seat for seat, own in seats.items() if own == name]
        if len(matches) == 1:
            found.append(matches[0])
        elif matches:
            problem = f"{name!r} is the name of {len(matches)} members: name one, e.g. {matches[0]!r} (or {matches[1]!r})"
            raise ScenarioError(where, "--human", problem)
        else:
            known = ", ".join(sorted(seats.values(), key=str.lower)[:12])
            more = ", ..." if len(seats) > 12 else ""
            raise ScenarioError(where, "--human", f"no agent or council member is named {name!r} (there are {known}{more})")
    return tuple(dict.fromkeys(found))


def every_agent(agents: list[Agent]) -> Iterator[Agent]:
    """``agents`` and their council members at any depth, in the order of the file."""
    for agent in agents:
        yield agent
        if agent.council is not None:
            yield from every_agent(agent.council.members)


def memory_tables(scenario: Scenario) -> list[tuple[str, Memory]]:
    """The scenario's ``[memory]`` and every agent's own ``memory`` table (council members' at
    any depth), each with its key path."""

    def own(agents: list[Agent], path: str) -> Iterator[tuple[str, Memory]]:
        for i, agent in enumerate(agents):
            if agent.memory is not None:
                yield f"{path}[{i}].memory", agent.memory
            if agent.council is not None:
                yield from own(agent.council.members, f"{path}[{i}].council.members")

    tables = [("$.memory", scenario.memory), *own(scenario.agents, "$.agents")]
    if scenario.population is not None:  # its researchers' streams
        tables.append(("$.population", scenario.population.memory))
    return tables


def stream_memories(scenario: Scenario) -> list[tuple[str, Memory]]:
    """Where the scenario gives agents a memory stream (``policy = "stream"``): the key path of
    each ``memory`` table that does and that some agent uses, with the table."""
    inherited = any(agent.memory is None for agent in every_agent(scenario.agents))
    return [
        (path, memory) for path, memory in memory_tables(scenario)
        if memory.policy == "stream" and (path != "$.memory" or inherited)
    ]


def embedder_spec(scenario: Scenario) -> str | None:
    """The spec of the model that embeds the run's memory streams ("": the run's model), or
    None when no agent has one. A run embeds with one model (``converse validate`` says so
    when two memory tables name different ones)."""
    named = [memory.stream.embedder for _, memory in stream_memories(scenario)]
    if not named:
        return None
    return next((spec for spec in named if spec), "")


def embedded_by(scenario: Scenario, spec: str) -> Scenario:
    """``scenario`` with every memory stream embedded by ``spec`` ("": the run's model)."""

    def memory(table: Memory) -> Memory:
        return msgspec.structs.replace(table, stream=msgspec.structs.replace(table.stream, embedder=spec))

    def own(agent: Agent) -> dict[str, object]:
        return {} if agent.memory is None else {"memory": memory(agent.memory)}

    population = scenario.population
    if population is not None:
        population = msgspec.structs.replace(population, stream=memory(population.memory).stream)
    return msgspec.structs.replace(
        scenario, memory=memory(scenario.memory), agents=_rebuilt(scenario.agents, own), population=population
    )


def _rebuilt(agents: list[Agent], change: Callable[[Agent], dict[str, object]]) -> list[Agent]:
    """``agents`` and their council members at any depth, each with the fields ``change``
    gives it replaced (its council's members are rebuilt the same way)."""
    out = []
    for agent in agents:
        changes = change(agent)
        if agent.council is not None:
            council = changes.get("council", agent.council)
            assert isinstance(council, Council)
            changes["council"] = msgspec.structs.replace(council, members=_rebuilt(agent.council.members, change))
        out.append(msgspec.structs.replace(agent, **changes) if changes else agent)
    return out


def budget_caps(scenario: Scenario) -> set[int]:
    """The caps of calls in flight (``calls``) a scenario gives its models."""
    return {calls for choice in _budgeted(scenario) if isinstance(calls := getattr(choice, "calls", None), int)}


def names_budgets(scenario: Scenario) -> bool:
    """Whether a scenario gives a model a budget (``rpm``, ``tpm`` or ``calls``)."""
    return any(getattr(choice, key, None) is not None for choice in _budgeted(scenario) for key in ("rpm", "tpm", "calls"))


def _budgeted(scenario: Scenario) -> list[object]:
    """Every model setting a scenario names, where a budget may be: its ``[model]``, its
    judge's, its agents', councils' and role-play sides'."""
    return [scenario.model, scenario.judge.model, *(choice for _, choice in choices_of(scenario))]
