"""A model other than the run's, for one agent, council, member or role-play side.

Written as a spec (``model = "openai:gpt-4o"``) or as a table with the spec and whatever of
the run's ``[model]`` settings it changes (``model = { spec = "openai:llama3.1:8b", base_url =
"http://127.0.0.1:11434/v1", temperature = 0.7, rpm = 60 }``).
"""

from __future__ import annotations

from typing import Any, Literal

from ._strict import Strict


class ModelChoice(Strict, frozen=True, kw_only=True):
    """An agent's own model and its parameters; a key left out takes the run's ``[model]``
    value, except those that belong to one model (``context_window``) or to one server's
    budgets (``rpm``, ``tpm``, ``calls``), which are the new model's own or unset.

    Attributes:
        spec: the model spec, as ``--model`` takes it (``offline``, ``openai:gpt-4o``).
        base_url: its OpenAI-compatible server; by default the run's.
        temperature, max_tokens, on_truncated, structured, timeout, params: as in ``[model]``;
            ``params`` given here replace the run's (a parameter one server takes can be
            refused by another).
        context_window: its window in tokens; by default the known window of its name.
        rpm, tpm, calls: budgets of its server endpoint (requests and tokens per minute,
            calls in flight), for every run of the process that uses it.
    """

    spec: str
    base_url: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    on_truncated: Literal["keep", "retry", "fail"] | None = None
    structured: Literal["auto", "json_schema", "json_object", "prompt"] | None = None
    timeout: float | None = None
    context_window: int | None = None
    params: dict[str, Any] | None = None
    rpm: float | None = None
    tpm: float | None = None
    calls: int | None = None


# What ``agents[i].model`` and the others hold: a spec, or a table.
ModelSpecOrChoice = str | ModelChoice
