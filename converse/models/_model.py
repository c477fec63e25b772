"""The model seam: one small interface, ``async complete(request) -> response``.

The engine builds a ``CompletionRequest`` (the exact messages and parameters a provider
would get, plus ``hints`` that never leave the process: what kind of answer the engine
expects, from whom, for which period) and a ``Model`` answers it. Implementations sit side
by side: ``offline`` (built in, deterministic) here, the openai SDK and replay later.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any, Literal, Protocol, runtime_checkable
from urllib.parse import parse_qsl

import msgspec

from .._exceptions import ModelSpecError
from ..log._events import ChatMessage, LLMCall, Usage

_CONTENT = attrgetter("content")

AnswerKind = Literal[
    "statement", "line", "judge", "other",
    # role-playing (converse.camel)
    "specify", "plan", "instruction", "solution", "acknowledge", "critic", "roles", "tasks",
    # an agent's notes on what it is about to forget, or a briefing on the public record
    "summary",
]


class Hints(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What the engine expects back. Not sent to any provider; the offline model reads it.

    Attributes:
        kind: ``statement`` (an agent's public statement for a period), ``line`` (one line
            in a council debate), ``judge`` or ``other``; for role-playing, ``specify``
            (the task specifier), ``plan`` (the planner), ``instruction`` (the AI user),
            ``solution`` (the AI assistant), ``acknowledge`` (the assistant's reply to its
            own rules, in the 2023 kick-off), ``critic``, and ``roles`` or ``tasks`` (lists
            for dataset generation); ``summary`` (an agent's running notes, or a council's
            briefing on the public record).
        speaker: who is answering.
        organisation: the speaker's organisation (for council members).
        period: the current period label.
        end_token: the token that ends the conversation, if any.
        candidate: which of several candidate answers this is (1, 2, ...), 0 for a single
            answer; candidates of one turn are the same request, sampled apart.
    """

    kind: AnswerKind = "other"
    speaker: str = ""
    organisation: str = ""
    period: str = ""
    end_token: str | None = None
    candidate: int = 0


class CompletionRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One chat completion request."""

    messages: list[ChatMessage]
    temperature: float = 1.0
    max_tokens: int = 600
    params: dict[str, Any] = {}
    hints: Hints = Hints()

    def sent_params(self) -> dict[str, Any]:
        """The parameters as a provider receives them (recorded in the log)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, **self.params}


class CompletionResponse(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A model's answer; ``recorded`` is the logged call it was served from, when replayed."""

    text: str
    usage: Usage
    model: str
    recorded: LLMCall | None = None

    def tokens_used(self) -> int:
        """Prompt and completion tokens: what a provider's token budget counts."""
        return self.usage.total_tokens


@runtime_checkable
class Model(Protocol):
    """Anything that can answer a ``CompletionRequest``."""

    @property
    def spec(self) -> str:
        """The spec this model was opened from, e.g. ``offline`` or ``openai:gpt-4o``."""
        ...

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """Answer one request."""
        ...


CHARS_PER_TOKEN = 4  # a working estimate for English text; servers report the real count


def estimate_tokens(chars: int) -> int:
    """Tokens in ``chars`` characters of text, estimated offline (no tokenizer needed)."""
    return -(-chars // CHARS_PER_TOKEN)


def estimate_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """Tokens a chat prompt costs: its text plus a few for each message's framing."""
    return 3 + estimate_tokens(sum(map(len, map(_CONTENT, messages)))) + 5 * len(messages)


def endpoint_of(model: Model) -> str:
    """What the scheduler keys limits by: the model's ``endpoint`` (server and name), if it
    has one, else its spec without options (``offline``)."""
    return str(getattr(model, "endpoint", model.spec.partition("?")[0]))


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
        from ._openai import OpenAIModel

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
            timeout=_float_option(spec, options, "timeout", 120.0),
        )
    if kind == "offline":
        from .offline._model import OfflineModel

        latency = _float_option(spec, options, "latency", 0.0)
        unknown = set(options) - {"latency"}
        if unknown:
            raise ModelSpecError(spec, f"unknown option(s) {', '.join(sorted(unknown))}; offline takes latency")
        if name:
            raise ModelSpecError(spec, "the offline model takes no name")
        return OfflineModel(seed=seed, latency=latency, spec=spec)
    raise ModelSpecError(spec, f"unknown model kind {kind!r}; known: offline, openai:NAME")


def _float_option(spec: str, options: dict[str, str], key: str, default: float) -> float:
    if key not in options:
        return default
    try:
        value = float(options[key])
    except ValueError:
        raise ModelSpecError(spec, f"{key} must be a number, not {options[key]!r}") from None
    if value < 0:
        raise ModelSpecError(spec, f"{key} must not be negative")
    return value
