"""An opt-in response cache on disk, so re-running a sweep re-uses the answers it already has.

``CachedModel`` wraps any ``Model``. A request's key is a hash of what the provider sees: the
model's spec without its ``?options`` (which change how we talk to the server, not what it
answers), the messages and the parameters as sent. Each answer is one small JSON file,
``directory/<key[:2]>/<key>.json``, written to a temporary file first and moved into place,
so a reader never sees half an entry. Only successful answers are stored; an entry that
cannot be read is a miss and is written again: the cache never fails a run.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec

from actors.log import get_logger

from .._files import write_atomic
from ..log._events import ChatMessage
from ._model import CompletionRequest, CompletionResponse, Hints, Model, endpoint_of
from ._structured import StructuredWays

__all__ = ["CacheStatistics", "CachedModel"]

CACHE_VERSION = 2  # part of every key: a new entry format (or key recipe) starts afresh
_log = get_logger()


class _Key(msgspec.Struct, frozen=True, kw_only=True):
    """What an answer depends on; its canonical JSON is hashed into the entry's name."""

    version: int
    spec: str
    messages: list[ChatMessage]
    params: dict[str, Any]
    hints: Hints | None = None  # only for the offline model, which answers from them
    seed: int | None = None  # likewise: the offline model's seed is not in its spec


class _Entry(msgspec.Struct, frozen=True, kw_only=True):
    """One cache file: the key it answers (checked on read) and the stored response."""

    key: str
    response: CompletionResponse


class CacheStatistics(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot of a ``CachedModel``.

    Attributes:
        hits: requests answered from the cache.
        misses: requests passed to the inner model (corrupt entries included).
        writes: entries written.
    """

    hits: int
    misses: int
    writes: int


_key_encoder = msgspec.json.Encoder(order="sorted")  # sorted: the same request, the same bytes
_entry_encoder = msgspec.json.Encoder()
_entry_decoder = msgspec.json.Decoder(_Entry)


class CachedModel:
    """A ``Model`` that answers from a cache directory when it can and from ``inner`` otherwise.

    The key is the blake2b hash (32 bytes, hex) of the inner model's endpoint (its server and
    name, ``https://api.openai.com/v1|gpt-4o``; for a model that names no server, its spec
    without ``?options``: ``offline``), the messages and ``request.sent_params()``.
    ``hints`` stay out of it, since no provider sees them, except for the offline model
    (spec kind ``offline``): its answer is a function of the hints (speaker, period, ...) and
    of its seed, so for it both are part of the key. The seed is read from the inner
    model's ``seed`` attribute, if it has one.

    File I/O is synchronous on purpose: entries are a few kilobytes, read and written at
    once, and far cheaper than the model call they stand for. Many runs of one process may
    share one ``CachedModel``: two concurrent misses on the same key both ask the inner
    model and both write; the last write wins and either answer is valid.

    Args:
        inner: the model that answers misses.
        directory: the cache directory (created when first written to).
    """

    def __init__(self, inner: Model, directory: str | os.PathLike[str]) -> None:
        self.inner = inner
        self.directory = Path(directory)
        head = inner.spec.partition("?")[0]
        # The server is part of what answered: the same model name at another base URL (a
        # local vLLM, say, against OpenAI) is another model. ``endpoint_of`` is the spec
        # without options for a model that names no server.
        self._spec = endpoint_of(inner)
        self._offline = head.partition(":")[0] == "offline"
        seed = getattr(inner, "seed", None) if self._offline else None
        self._seed = seed if isinstance(seed, int) else None
        self._hits = self._misses = self._writes = 0

    @property
    def spec(self) -> str:
        """The inner model's spec: a cached answer is that model's answer."""
        return self.inner.spec

    @property
    def endpoint(self) -> str:
        """The inner model's scheduler key; an ``AttributeError`` if it has none."""
        endpoint = getattr(self.inner, "endpoint", None)
        if endpoint is None:
            raise AttributeError(f"{type(self.inner).__name__} has no endpoint")
        return str(endpoint)

    @property
    def base_url(self) -> str | None:
        """The inner model's server, if it has one (what prices it)."""
        return getattr(self.inner, "base_url", None)

    @property
    def structured_ways(self) -> StructuredWays | None:
        """The inner model's dialects of structured output, if it has any."""
        return getattr(self.inner, "structured_ways", None)

    def key(self, request: CompletionRequest) -> str:
        """The cache key of ``request`` (64 hex digits)."""
        material = _Key(
            version=CACHE_VERSION,
            spec=self._spec,
            messages=request.messages,
            params=request.sent_params(),
            hints=request.hints if self._offline else None,
            seed=self._seed,
        )
        return hashlib.blake2b(_key_encoder.encode(material), digest_size=32).hexdigest()

    def path(self, key: str) -> Path:
        """Where the entry of ``key`` lives."""
        return self.directory / key[:2] / f"{key}.json"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        """The stored answer to ``request``, or the inner model's (then stored).

        Raises:
            Whatever the inner model raises (e.g. ``CallFailed``); nothing is stored then.
        """
        key = self.key(request)
        path = self.path(key)
        cached = self._load(key, path)
        if cached is not None:
            self._hits += 1
            return cached
        self._misses += 1
        response = await self.inner.complete(request)
        if response.text.strip():  # an empty answer is a failed attempt: asked again, not kept
            self._store(key, path, response)
        return response

    def _load(self, key: str, path: Path) -> CompletionResponse | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            _log.warning("model cache entry unreadable", path=str(path), error=str(exc))
            return None
        try:
            entry = _entry_decoder.decode(data)
        except msgspec.DecodeError as exc:
            _log.warning("model cache entry corrupt", path=str(path), error=str(exc))
            return None
        if entry.key != key:
            _log.warning("model cache entry has another key", path=str(path), key=entry.key)
            return None
        if not entry.response.text.strip():
            return None  # kept by an older version; an empty answer is asked again
        return msgspec.structs.replace(entry.response, cached=True)

    def _store(self, key: str, path: Path, response: CompletionResponse) -> None:
        data = _entry_encoder.encode(_Entry(key=key, response=response))
        try:
            write_atomic(path, data)  # two writers of one key (tasks or processes) never collide
        except OSError as exc:
            _log.warning("model cache entry not written", path=str(path), error=str(exc))
        else:
            self._writes += 1

    def statistics(self) -> CacheStatistics:
        """Hits, misses and writes so far."""
        return CacheStatistics(hits=self._hits, misses=self._misses, writes=self._writes)

    async def aclose(self) -> None:
        """Close the inner model, if it can be closed."""
        close = getattr(self.inner, "aclose", None)
        if close is not None:
            await close()
