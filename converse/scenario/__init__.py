"""The TOML model of a simulation: its types, loading and checks, dials, overrides, templates and
the calendar. ``scenario_problems`` lists every problem of a file at once; the guide to
writing one is ``scenarios/README.md``."""

from ._load import builtin_scenarios as builtin_scenarios
from ._load import load_scenario as load_scenario
from ._load import scenario_data as scenario_data
from ._load import scenario_from_dict as scenario_from_dict
from ._load import scenario_problems as scenario_problems
from ._load import scenario_to_dict as scenario_to_dict
from ._model_choice import ModelChoice as ModelChoice
from ._roleplay import PROMPT_FIELDS as PROMPT_FIELDS
from ._roleplay import TASK_DONE as TASK_DONE
from ._roleplay import Critic as Critic
from ._roleplay import Planner as Planner
from ._roleplay import RolePlay as RolePlay
from ._roleplay import RolePlayPrompts as RolePlayPrompts
from ._roleplay import Specifier as Specifier
from ._scenario import Agent as Agent
from ._scenario import Budget as Budget
from ._scenario import Clock as Clock
from ._scenario import Conversation as Conversation
from ._scenario import Council as Council
from ._scenario import Judge as Judge
from ._scenario import Memory as Memory
from ._scenario import Metric as Metric
from ._scenario import ModelSettings as ModelSettings
from ._scenario import Persona as Persona
from ._scenario import Population as Population
from ._scenario import PopulationPrompts as PopulationPrompts
from ._scenario import Price as Price
from ._scenario import Prompts as Prompts
from ._scenario import Scenario as Scenario
from ._scenario import Termination as Termination
from ._verdict import verdict_type as verdict_type

__all__ = [
    "PROMPT_FIELDS",
    "TASK_DONE",
    "Agent",
    "Budget",
    "Clock",
    "Conversation",
    "Council",
    "Critic",
    "Judge",
    "Memory",
    "Metric",
    "ModelChoice",
    "ModelSettings",
    "Persona",
    "Planner",
    "Population",
    "PopulationPrompts",
    "Price",
    "Prompts",
    "RolePlay",
    "RolePlayPrompts",
    "Scenario",
    "Specifier",
    "Termination",
    "builtin_scenarios",
    "load_scenario",
    "scenario_data",
    "scenario_from_dict",
    "scenario_problems",
    "scenario_to_dict",
    "verdict_type",
]
