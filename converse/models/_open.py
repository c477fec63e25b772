"""The model a spec names (``offline?latency=0.05``, ``openai:NAME?stream=1``); the spec's
grammar and options are ``converse.scenario._spec``'s, so that ``converse validate`` checks
them too."""

from __future__ import annotations

from ..scenario._spec import parse_spec, read_spec
from ._model import Model
from .offline._model import OfflineModel

__all__ = ["open_model", "parse_spec", "with_timeout"]


def open_model(spec: str, *, seed: int = 0, base_url: str | None = None) -> Model:
    """The model a spec names: ``offline[?latency=S]`` or ``openai:NAME[?stream=1&timeout=S]``.

    Args:
        spec: the model spec.
        seed: the offline model's seed.
        base_url: the OpenAI-compatible server for ``openai:`` (default ``OPENAI_BASE_URL``,
            then OpenAI's own).

    Raises:
        ModelSpecError: unknown kind or bad options.
    """
    read = read_spec(spec)
    if read.kind == "openai":
        from ._openai import OpenAIModel  # the SDK takes a while to import: only when used

        return OpenAIModel(read.name, spec=spec, base_url=base_url, stream=read.stream, timeout=read.timeout)
    return OfflineModel(seed=seed, latency=read.latency, spec=spec)


def with_timeout(model: Model, seconds: float | None) -> Model:
    """``model`` with attempts abandoned after ``seconds`` (a scenario's ``[model] timeout``),
    if it takes a timeout (an ``openai:`` model whose spec gives none); else ``model``."""
    timed = getattr(model, "with_timeout", None)
    return model if seconds is None or timed is None else timed(seconds)
