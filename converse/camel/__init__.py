"""CAMEL's role-playing society on the engine, and dataset generation at scale.

One chat is a scenario with a ``[roleplay]`` table (``converse.run_scenario`` runs it like
any other); ``generate`` makes a dataset of many::

    recipe = converse.camel.recipe_from_files("camel-trading-bot", assistant_roles=50,
                                              user_roles=50, tasks=10)
    outcome = await converse.camel.generate(recipe, "data/ai_society", concurrency=64)

and the functions below turn any role-play's log into CAMEL's formats.

The names load on first use: the offline model imports this package's phrase banks, and
``generate`` imports the engine that imports the offline model.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._critic import HumanCritic as HumanCritic
    from ._dataset import ChatUnfinished as ChatUnfinished
    from ._dataset import NotARolePlay as NotARolePlay
    from ._dataset import chat_record as chat_record
    from ._dataset import finetune_record as finetune_record
    from ._dataset import instruction_records as instruction_records
    from ._dataset import parse_list as parse_list
    from ._generate import DatasetOutcome as DatasetOutcome
    from ._generate import Recipe as Recipe
    from ._generate import generate as generate
    from ._generate import recipe_from_files as recipe_from_files
    from ._moderator import is_pleasantry as is_pleasantry
    from ._prompts import PROMPT_FIELDS as PROMPT_FIELDS
    from ._render import render_roleplay_markdown as render_roleplay_markdown
    from ._stats import DatasetStats as DatasetStats
    from ._stats import dataset_stats as dataset_stats

_WHERE = {
    "ChatUnfinished": "_dataset",
    "DatasetOutcome": "_generate",
    "DatasetStats": "_stats",
    "HumanCritic": "_critic",
    "NotARolePlay": "_dataset",
    "PROMPT_FIELDS": "_prompts",
    "Recipe": "_generate",
    "chat_record": "_dataset",
    "dataset_stats": "_stats",
    "finetune_record": "_dataset",
    "generate": "_generate",
    "instruction_records": "_dataset",
    "is_pleasantry": "_moderator",
    "parse_list": "_dataset",
    "recipe_from_files": "_generate",
    "render_roleplay_markdown": "_render",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'converse.camel' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
