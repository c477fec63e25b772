"""Context windows: how many tokens a model takes in one request (prompt and answer)."""

from __future__ import annotations

from ..scenario._scenario import ModelSettings
from ._open import parse_spec

# Known windows of OpenAI models, by name prefix (the longest matching prefix wins).
KNOWN: dict[str, int] = {
    "gpt-5": 400_000,
    "gpt-4.1": 1_047_576,
    "gpt-4o": 128_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-32k": 32_768,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
    "o1": 200_000,
    "o3": 200_000,
    "o4-mini": 200_000,
}


def context_window(settings: ModelSettings, spec: str | None = None) -> int | None:
    """The window of the model ``spec`` (by default the scenario's): ``model.context_window``
    if the scenario sets it, else the known window of an ``openai:`` model, else None."""
    if settings.context_window is not None:
        return settings.context_window
    kind, name, _ = parse_spec(spec or settings.spec)
    if kind != "openai":
        return None
    matches = [prefix for prefix in KNOWN if name.startswith(prefix)]
    return KNOWN[max(matches, key=len)] if matches else None
