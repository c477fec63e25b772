"""CAMEL's role-playing society on the engine, and dataset generation at scale.

One chat is a scenario with a ``[roleplay]`` table (``converse.run_scenario`` runs it like
any other); ``generate`` makes a dataset of many::

    recipe = converse.camel.recipe_from_files("camel-trading-bot", assistant_roles=50,
                                              user_roles=50, tasks=10)
    outcome = await converse.camel.generate(recipe, "data/ai_society", concurrency=64)

and the functions below turn any role-play's log into CAMEL's formats.
"""

from .._exceptions import ChatUnfinished as ChatUnfinished
from .._exceptions import ListFileError as ListFileError
from .._exceptions import NotARolePlay as NotARolePlay
from ..roleplay._critic import HumanCritic as HumanCritic
from ..roleplay._moderator import is_pleasantry as is_pleasantry
from ..scenario._roleplay import PROMPT_FIELDS as PROMPT_FIELDS
from ..transcript._camel import chat_record as chat_record
from ..transcript._camel import finetune_record as finetune_record
from ..transcript._camel import instruction_records as instruction_records
from ..transcript._roleplay import render_roleplay_markdown as render_roleplay_markdown
from ._generate import DatasetOutcome as DatasetOutcome
from ._generate import generate as generate
from ._lists import parse_list as parse_list
from ._recipe import Recipe as Recipe
from ._recipe import recipe_from_files as recipe_from_files
from ._stats import DatasetStats as DatasetStats
from ._stats import dataset_stats as dataset_stats

__all__ = [
    "PROMPT_FIELDS",
    "ChatUnfinished",
    "DatasetOutcome",
    "DatasetStats",
    "HumanCritic",
    "ListFileError",
    "NotARolePlay",
    "Recipe",
    "chat_record",
    "dataset_stats",
    "finetune_record",
    "generate",
    "instruction_records",
    "is_pleasantry",
    "parse_list",
    "recipe_from_files",
    "render_roleplay_markdown",
]
