"""Model specs (``offline?latency=0.05``, ``openai:NAME?stream=1&timeout=30``): their grammar
and options, read without opening a model, so that ``converse validate`` checks a scenario's
specs as running it would (``converse.models`` opens the model a spec names)."""

from __future__ import annotations

import math
from urllib.parse import parse_qsl

import msgspec

from .._exceptions import ModelSpecError

__all__ = ["KINDS", "Spec", "parse_spec", "read_spec"]

KINDS = ("offline", "openai")


class Spec(msgspec.Struct, frozen=True, kw_only=True):
    """A checked model spec.

    Attributes:
        kind: ``offline`` or ``openai``.
        name: the model's name (``openai:`` only).
        latency: the offline model's seconds per answer.
        stream: whether an ``openai:`` model streams its answers.
        timeout: seconds one attempt of an ``openai:`` call may take (None: the spec says
            nothing).
    """

    kind: str
    name: str = ""
    latency: float = 0.0
    stream: bool = False
    timeout: float | None = None


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


def read_spec(spec: str) -> Spec:
    """The spec's kind, name and options, each checked.

    Raises:
        ModelSpecError: unknown kind, a missing or extra name, or a bad option.
    """
    kind, name, options = parse_spec(spec)
    if kind == "openai":
        if not name:
            raise ModelSpecError(spec, "name the model: openai:gpt-4o, openai:llama3.1, ...")
        unknown = set(options) - {"stream", "timeout"}
        if unknown:
            raise ModelSpecError(spec, f"unknown option(s) {', '.join(sorted(unknown))}; openai takes stream, timeout")
        stream = options.get("stream", "0").lower()
        if stream not in ("0", "1", "true", "false"):
            raise ModelSpecError(spec, f"stream must be 1 or 0, not {stream!r}")
        timeout = _seconds(spec, options, "timeout")
        if timeout == 0:
            raise ModelSpecError(spec, "timeout must be more than 0 seconds")
        return Spec(kind=kind, name=name, stream=stream in ("1", "true"), timeout=timeout)
    if kind == "offline":
        latency = _seconds(spec, options, "latency") or 0.0
        unknown = set(options) - {"latency"}
        if unknown:
            raise ModelSpecError(spec, f"unknown option(s) {', '.join(sorted(unknown))}; offline takes latency")
        if name:
            raise ModelSpecError(spec, "the offline model takes no name")
        return Spec(kind=kind, latency=latency)
    raise ModelSpecError(spec, f"unknown model kind {kind!r}; known: offline, openai:NAME")


def _seconds(spec: str, options: dict[str, str], key: str) -> float | None:
    """The option ``key`` in seconds (None if the spec does not give it)."""
    if key not in options:
        return None
    try:
        value = float(options[key])
    except ValueError:
        raise ModelSpecError(spec, f"{key} must be a number, not {options[key]!r}") from None
    if not math.isfinite(value):  # an infinite latency or timeout is a call that never ends
        raise ModelSpecError(spec, f"{key} must be a finite number of seconds, not {options[key]!r}")
    if value < 0:
        raise ModelSpecError(spec, f"{key} must not be negative")
    return value
