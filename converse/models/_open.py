"""Model specs (``offline?latency=0.05``, ``openai:NAME?stream=1``) and the model each names."""

from __future__ import annotations

from urllib.parse import parse_qsl

from .._exceptions import ModelSpecError
from ._model import Model
from .offline._model import OfflineModel


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split ``kind:name?key=value&...`` into its parts; ``offline?latency=0.05`` has no name."""
    head, _, query = spec.partition("?")
    kind, _, name = head.partition(":")
    if not kind:
        raise ModelSpecError(spec, "empty model spec")
    try:
        options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    except ValueError:
        raise ModelSpecError(spec, f"bad options {query!r}: use key=value&key=value") from None
    return kind, name, options


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
    kind, name, options = parse_spec(spec)
    if kind == "openai":
        from ._openai import OpenAIModel  # the SDK takes a while to import: only when used

        if not name:
            raise ModelSpecError(spec, "name the model: openai:gpt-4o, openai:llama3.1, ...")
        unknown = set(options) - {"stream", "timeout"}
        if unknown:
            raise ModelSpecError(spec, f"unknown option(s) {', '.join(sorted(unknown))}; openai takes stream, timeout")
        stream = options.get("stream", "0").lower()
        if stream not in ("0", "1", "true", "false"):
            raise ModelSpecError(spec, f"stream must be 1 or 0, not {stream!r}")
        return OpenAIModel(
            name,
            spec=spec,
            base_url=base_url,
            stream=stream in ("1", "true"),
            timeout=_timeout(spec, options),
        )
    if kind == "offline":
        latency = _float_option(spec, options, "latency", 0.0) or 0.0
        unknown = set(options) - {"latency"}
        if unknown:
            raise ModelSpecError(spec, f"unknown option(s) {', '.join(sorted(unknown))}; offline takes latency")
        if name:
            raise ModelSpecError(spec, "the offline model takes no name")
        return OfflineModel(seed=seed, latency=latency, spec=spec)
    raise ModelSpecError(spec, f"unknown model kind {kind!r}; known: offline, openai:NAME")


def with_timeout(model: Model, seconds: float | None) -> Model:
    """``model`` with attempts abandoned after ``seconds`` (a scenario's ``[model] timeout``),
    if it takes a timeout (an ``openai:`` model whose spec gives none); else ``model``."""
    timed = getattr(model, "with_timeout", None)
    return model if seconds is None or timed is None else timed(seconds)


def _timeout(spec: str, options: dict[str, str]) -> float | None:
    """The spec's ``timeout`` option (None if it gives none); it must be positive."""
    timeout = _float_option(spec, options, "timeout", None)
    if timeout == 0:
        raise ModelSpecError(spec, "timeout must be more than 0 seconds")
    return timeout


def _float_option(spec: str, options: dict[str, str], key: str, default: float | None) -> float | None:
    if key not in options:
        return default
    try:
        value = float(options[key])
    except ValueError:
        raise ModelSpecError(spec, f"{key} must be a number, not {options[key]!r}") from None
    if value < 0:
        raise ModelSpecError(spec, f"{key} must not be negative")
    return value
