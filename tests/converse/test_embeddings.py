"""Embeddings through the model seam: the offline model's, and an ``openai:`` model's through the
real SDK against the loopback test server, as OpenAI, vLLM, llama.cpp's server and Ollama
answer (or refuse) them."""

from __future__ import annotations

import json
import math
import re
from typing import Literal

import msgspec
import numpy as np
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS
from converse import Limits, OfflineModel, Scheduler
from converse._exceptions import CallFailed, RetriesExhausted
from converse.models import Attempt
from converse.models._model import EmbeddingRequest, EmbeddingResponse, embed_checked
from converse.models._openai import _embedded, _floats
from converse.models.offline._embed import DIMS, embed
from converse.testing import Faults, ModelServer

KEY = "sk-test-embeddings-never-log-me"

TEXTS = [
    "OpenAI found deceptive behaviour when evaluating its largest model",
    "The EU AI Office fined a lab for late incident reporting",
    "",
]


def quick_retries() -> Scheduler:
    return Scheduler(default=Limits(max_attempts=8, backoff=0.01, max_backoff=0.05, timeout=None))


async def test_the_offline_model_embeds_each_text_the_same_for_every_seed(backend: str) -> None:
    request = EmbeddingRequest(texts=TEXTS)
    first = await OfflineModel(seed=1).embed(request)
    other = await OfflineModel(seed=2).embed(request)
    assert first.vectors == other.vectors
    assert [len(v) for v in first.vectors] == [DIMS] * 3
    assert np.allclose(first.vectors[0], embed(TEXTS[0]))
    assert first.usage.prompt_tokens == sum(-(-len(t) // 4) for t in TEXTS)
    assert first.usage.completion_tokens == 0
    assert first.model == "offline"


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("server", ["openai", "vllm", "llama.cpp", "ollama"])
async def test_an_openai_model_embeds_through_the_sdk_as_each_server_answers(
    server: Literal["openai", "vllm", "llama.cpp", "ollama"], api_key: str, backend: str
) -> None:
    # Ollama sends no usage with its embeddings: the count is then our estimate, and says so.
    usage = server != "ollama"
    with ModelServer.like(server, api_key=api_key, usage=usage) as served:
        model = converse.open_model("openai:offline-embed", base_url=served.base_url)
        try:
            got = await embed_checked(model, EmbeddingRequest(texts=TEXTS))  # type: ignore[arg-type]
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        sent = served.requests[-1]
    assert sent == {"model": "offline-embed", "input": TEXTS, "encoding_format": "float"}
    expected = await OfflineModel().embed(EmbeddingRequest(texts=TEXTS))
    assert np.allclose(got.vectors, expected.vectors)
    assert got.usage.prompt_tokens == expected.usage.prompt_tokens
    assert got.usage.estimated is not usage
    assert got.model == "openai:offline-embed"


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize(("server", "status"), [("llama.cpp", 501), ("ollama", 501), ("vllm", 400), ("openai", 400)])
async def test_a_chat_model_asked_to_embed_fails_once_saying_what_to_do(
    server: Literal["openai", "vllm", "llama.cpp", "ollama"], status: int, api_key: str, backend: str
) -> None:
    with ModelServer.like(server, api_key=api_key) as served:
        model = converse.open_model("openai:offline-chat", base_url=served.base_url)
        try:
            with pytest.raises(CallFailed) as failed:
                await quick_retries().call(
                    "here", "run", 10, lambda: embed_checked(model, EmbeddingRequest(texts=["a"])),  # type: ignore[arg-type]
                )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = served.stats()
    assert stats.requests == 1  # not retried: no attempt can help
    assert failed.value.kind == "not_supported"
    assert failed.value.status == status
    assert not failed.value.retryable
    assert "does not embed texts" in str(failed.value)
    assert "embedding model" in str(failed.value)


@SDK_LEAVES_GENERATORS
async def test_embeddings_come_through_a_fifth_of_failures_retried_by_the_scheduler(api_key: str, backend: str) -> None:
    faults = Faults(rate_429=0.05, rate_500=0.05, rate_drop=0.05, rate_malformed=0.05, rate_empty=0.05, retry_after=0.01)
    with ModelServer(api_key=api_key, faults=faults, seed=4) as served:
        model = converse.open_model("openai:offline-embed", base_url=served.base_url)
        scheduler = quick_retries()
        failures: list[str | None] = []

        async def noted(attempt: Attempt) -> None:
            failures.append(attempt.error_type)

        try:
            for i in range(40):
                request = EmbeddingRequest(texts=[f"text number {i}", "and another"])
                got = await scheduler.call(
                    "here", "run", 10, lambda request=request: embed_checked(model, request),  # type: ignore[arg-type,misc]
                    tokens_used=EmbeddingResponse.tokens_used, on_failure=noted,
                )
                assert np.allclose(got.vectors[0], embed(f"text number {i}"))
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = served.stats()
    assert stats.embeddings == 40
    assert len(failures) == stats.requests - 40 > 0
    # An answer with no embeddings is a failed attempt of its own kind, not a crash.
    assert stats.empty == failures.count("malformed") - stats.malformed


async def test_an_answer_that_does_not_fit_the_texts_is_a_failed_attempt(backend: str) -> None:
    class Sloppy:
        spec = "sloppy"

        def __init__(self, vectors: list[list[float]]) -> None:
            self.vectors = vectors

        async def embed(self, request: EmbeddingRequest) -> EmbeddingResponse:
            return EmbeddingResponse(vectors=self.vectors, usage=converse.events.Usage(prompt_tokens=3), model="x")

    two = EmbeddingRequest(texts=["a", "b"])
    for vectors, what in [
        ([[1.0, 0.0]], "1 embeddings for 2 texts"),
        ([[1.0, 0.0], [1.0]], "embeddings of [1, 2] numbers"),
        ([[], []], "embeddings of [0] numbers"),
        ([[1.0, math.nan], [1.0, 0.0]], "not finite"),
    ]:
        with pytest.raises(CallFailed, match=re.escape(what)) as failed:
            await embed_checked(Sloppy(vectors), two)
        assert failed.value.retryable
        assert failed.value.kind == "malformed"
        assert failed.value.usage == converse.events.Usage(prompt_tokens=3)
    assert (await embed_checked(Sloppy([[1.0], [2.0]]), two)).vectors == [[1.0], [2.0]]


def test_an_embedding_sent_as_base64_whatever_was_asked_is_read_as_numbers() -> None:
    # Some servers answer base64 (little-endian float32) whatever encoding_format said.
    import base64
    import struct

    vector = [0.5, -1.25, 3.0]
    assert _floats(base64.b64encode(struct.pack("<3f", *vector)).decode()) == vector
    assert _floats([1, 2.5]) == [1.0, 2.5]
    assert _floats(None) == []


def test_an_embeddings_answer_is_read_in_index_order_and_leniently_when_oddly_shaped() -> None:
    import base64
    import struct

    packed = base64.b64encode(struct.pack("<2f", 0.5, -1.25)).decode()
    usual = {"data": [
        {"object": "embedding", "index": 1, "embedding": [3, 4.5]},
        {"object": "embedding", "index": 0, "embedding": packed},
    ], "usage": {"prompt_tokens": 7}}
    assert _embedded(json.dumps(usual).encode()) == ([[0.5, -1.25], [3.0, 4.5]], {"prompt_tokens": 7})
    odd = {"data": ["not a row", {"index": "1", "embedding": [1, 2]}, {"index": 0, "embedding": None}]}
    assert _embedded(json.dumps(odd).encode()) == ([[1.0, 2.0], []], None)
    assert _embedded(b'{"data": 3}') == ([], None)
    with pytest.raises(msgspec.DecodeError):
        _embedded(b"<html>Bad gateway</html>")


@SDK_LEAVES_GENERATORS
async def test_retries_run_out_on_a_server_that_never_embeds(api_key: str, backend: str) -> None:
    with ModelServer(api_key=api_key, faults=Faults(rate_500=1.0)) as served:
        model = converse.open_model("openai:offline-embed", base_url=served.base_url)
        try:
            with pytest.raises(RetriesExhausted):
                await Scheduler(default=Limits(max_attempts=3, backoff=0.01, timeout=None)).call(
                    "here", "run", 10, lambda: embed_checked(model, EmbeddingRequest(texts=["a"])),  # type: ignore[arg-type]
                )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        assert served.stats().requests == 3
