"""The model seam: one small interface, ``async complete(request) -> response`` (and, for a
model that embeds texts, ``async embed(request) -> response``).

The engine builds a ``CompletionRequest`` (the exact messages and parameters a provider
would get, plus ``hints`` that never leave the process: what kind of answer the engine
expects, from whom, for which period) and a ``Model`` answers it. Implementations sit side
by side: ``offline`` (built in, deterministic), the openai SDK, replay and the cache;
``open_model`` (``converse.models._open``) makes one from a spec.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import msgspec

from .._exceptions import CallFailed
from ..log._events import ChatMessage, LLMCall, Usage

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

_CONTENT = attrgetter("content")

AnswerKind = Literal[
    "statement", "line", "judge", "other",
    # role-playing (converse.camel)
    "specify", "plan", "instruction", "solution", "acknowledge", "critic", "roles", "tasks",
    # an agent's notes on what it is about to forget, or a briefing on the public record
    "summary",
    # a memory stream's ratings of new memories, 1-10; a reflection's questions and insights
    "importance", "questions", "insights",
    # a population's researcher: what it works on, publishes and whether it moves
    "research",
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
            briefing on the public record); ``importance`` (a memory stream's ratings of new
            memories, one ``n: rating`` line each); ``questions`` and ``insights`` (a memory
            stream's reflection: the questions its recent memories raise, one per line, and an
            insight for each, citing memories as ``(because of 3, 7)``); ``research`` (a
            population's researcher: ``WORK:``, ``PROJECT:``, ``PAPER:`` and ``OFFER:`` lines).
        speaker: who is answering.
        organisation: the speaker's organisation (for council members).
        period: the current period label.
        end_token: the token that ends the conversation, if any.
        candidate: which of several candidate answers this is (1, 2, ...), 0 for a single
            answer; candidates of one turn are the same request, sampled apart.
        organisation_kind: what the speaker's organisation is, as its scenario says (``lab``,
            ``government``, ``organisation``, ``person``); empty if not known.
        others: the others who speak in the conversation, as ``(name, kind)`` pairs: the
            other organisations at the top level, the colleagues in a council.
        first_period: the label of the run's first period (where its story starts).
    """

    kind: AnswerKind = "other"
    speaker: str = ""
    organisation: str = ""
    period: str = ""
    end_token: str | None = None
    candidate: int = 0
    organisation_kind: str = ""
    others: tuple[tuple[str, str], ...] = ()
    first_period: str = ""


class CompletionRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One chat completion request.

    ``structured`` is, for a request for structured output, how its JSON Schema was sent (a
    dialect of ``converse.models._structured``; ``prompt``: in the prompt only); like
    ``hints``, it is never sent, but recorded.
    """

    messages: list[ChatMessage]
    temperature: float = 1.0
    max_tokens: int = 600
    params: dict[str, Any] = {}
    hints: Hints = Hints()
    structured: str | None = None

    def sent_params(self) -> dict[str, Any]:
        """The parameters as a provider receives them (recorded in the log)."""
        return {"temperature": self.temperature, "max_tokens": self.max_tokens, **self.params}


class CompletionResponse(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """A model's answer; ``recorded`` is the logged call it was served from, when replayed.

    ``finish_reason`` is why the answer ended, as the server said (``stop``; ``length``: cut
    off at ``max_tokens``); None when the model does not say (the offline model).
    """

    text: str
    usage: Usage
    model: str
    recorded: LLMCall | None = None
    finish_reason: str | None = None
    cached: bool = False  # served from the cache: paid for by an earlier run

    @property
    def truncated(self) -> bool:
        """The answer was cut off at ``max_tokens``."""
        return self.finish_reason == "length"

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


class EmbeddingRequest(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """Texts to embed, in one request (a server embeds a batch at once)."""

    texts: list[str]


class EmbeddingResponse(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """The embeddings of a request's texts, one per text and in their order, all of one length.

    ``usage`` counts the texts' tokens as prompt tokens (an embedding has no completion).
    """

    vectors: list[list[float]]
    usage: Usage
    model: str

    def tokens_used(self) -> int:
        """The texts' tokens: what a provider's token budget counts."""
        return self.usage.total_tokens


@runtime_checkable
class Embedder(Protocol):
    """Anything that can embed texts (the offline model; an ``openai:`` embedding model)."""

    @property
    def spec(self) -> str:
        """The spec this model was opened from."""
        ...

    async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
        """Embed one request's texts."""
        ...


CHARS_PER_TOKEN = 4  # a working estimate for English text; servers report the real count


def estimate_tokens(chars: int) -> int:
    """Tokens in ``chars`` characters of text, estimated offline (no tokenizer needed)."""
    return -(-chars // CHARS_PER_TOKEN)


class Prompt(list[ChatMessage]):
    """A prompt's messages that know how many characters their contents hold (``chars``), so
    that a long history is not summed again for every call (an agent's memory keeps the count
    as it goes). Like any list, but not to be changed once made: ``chars`` would be wrong."""

    __slots__ = ("chars",)

    def __init__(self, messages: Iterable[ChatMessage], chars: int) -> None:
        super().__init__(messages)
        self.chars = chars


def prompt_tokens(chars: int, messages: int) -> int:
    """Tokens a chat prompt of ``messages`` messages holding ``chars`` characters costs: its
    text, counted as a whole, plus a few for each message's framing."""
    return 3 + estimate_tokens(chars) + 5 * messages


def estimate_prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """Tokens a chat prompt costs (``prompt_tokens``)."""
    chars = messages.chars if type(messages) is Prompt else sum(map(len, map(_CONTENT, messages)))
    return prompt_tokens(chars, len(messages))


async def complete_checked(model: Model, request: CompletionRequest) -> CompletionResponse:
    """``model``'s answer to ``request``, where an empty answer is a failed attempt.

    Every model call converse makes goes through here (inside the scheduler's attempt), so
    an answer with no text, or only whitespace, is retried and recorded like a 500. An
    answer served from a log (``recorded``) was judged when it was made and is let through.

    Raises:
        CallFailed: the answer was empty (``kind="empty"``, retryable); or whatever the
            model raised.
    """
    response = await model.complete(request)
    text = response.text
    if response.recorded is None and not text.strip():
        what = f" (only whitespace: {len(text)} characters)" if text else ""
        raise CallFailed(
            f"the model sent an empty answer{what}", retryable=True, kind="empty", usage=response.usage
        )
    return response


def vector_text(vector: Sequence[float] | npt.NDArray[np.floating]) -> str:
    """An embedding in its compact form: the base64 of its numbers as little-endian float32s
    (what servers send for ``encoding_format="base64"``, and what the log holds)."""
    import numpy as np  # here, not at import: only embeddings need numpy (see ``converse.engine``)

    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")


def text_vector(text: str) -> npt.NDArray[np.float32]:
    """An embedding from its compact form (``vector_text``); trailing bytes short of a number
    are left out."""
    import numpy as np

    raw = base64.b64decode(text)
    return np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4").astype(np.float32)


async def embed_checked(model: Embedder, request: EmbeddingRequest) -> EmbeddingResponse:
    """``model``'s embeddings of ``request``'s texts, where an answer that is not one vector of
    numbers per text, all of one length, is a failed attempt (a server that dropped a text or
    sent a vector of nothing), retried and recorded like a 500.

    Raises:
        CallFailed: the embeddings do not fit the texts (``kind="malformed"``, retryable); or
            whatever the model raised.
    """
    response = await model.embed(request)
    vectors = response.vectors
    wrong = ""
    if len(vectors) != len(request.texts):
        wrong = f"{len(vectors)} embeddings for {len(request.texts)} texts"
    elif vectors and (not vectors[0] or any(len(v) != len(vectors[0]) for v in vectors)):
        wrong = f"embeddings of {sorted({len(v) for v in vectors})} numbers in one answer"
    elif not all(map(math.isfinite, chain.from_iterable(vectors))):
        wrong = "an embedding with a number that is not finite"
    if wrong:
        raise CallFailed(f"the model sent {wrong}", retryable=True, kind="malformed", usage=response.usage)
    return response


def endpoint_of(model: Model | Embedder) -> str:
    """What the scheduler keys limits by: the model's ``endpoint`` (server and name), if it
    has one, else its spec without options (``offline``)."""
    return str(getattr(model, "endpoint", model.spec.partition("?")[0]))
