"""What the ``openai:`` model sends through the real openai SDK is what the SDK's own calls
would send, and the SDK spends no work a message on it: its request transform checks every
message of a prompt against every kind of message it knows (10 ms of CPU for 30 messages), and
it builds an object for every number of an embedding. Against the loopback test server."""

from __future__ import annotations

from typing import Any

import pytest
from openai import AsyncOpenAI

from _helpers import SDK_LEAVES_GENERATORS
from converse.events import ChatMessage, Usage
from converse.models import CompletionRequest, EmbeddingRequest, Hints
from converse.models._openai import OpenAIModel, _usage
from converse.testing import ModelServer

KEY = "sk-test-wire-3b7e"

SCHEMA = {
    "type": "json_schema",
    "json_schema": {
        "name": "verdict",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"score": {"type": "integer"}},
            "required": ["score"],
            "additionalProperties": False,
        },
    },
}
# The parameters of a request, and which of them the SDK takes by name (the others go in extra_body).
PARAMS: list[tuple[dict[str, Any], set[str]]] = [
    ({}, set()),
    ({"top_p": 0.9, "seed": 3, "stop": ["\n\n"]}, {"top_p", "seed", "stop"}),
    ({"top_k": 40, "min_p": 0.05, "repetition_penalty": 1.1}, set()),
    ({"response_format": SCHEMA}, {"response_format"}),
    ({"response_format": {"type": "json_object"}, "logit_bias": {"50256": -100}}, {"response_format", "logit_bias"}),
]


def prompt(messages: int) -> list[ChatMessage]:
    said = [
        ChatMessage(role="user" if i % 2 == 0 else "assistant", content=f"Line {i}: \"quoted\", é ünïcode.\nAnd more.")
        for i in range(messages - 1)
    ]
    return [ChatMessage(role="system", content="You are the judge."), *said]


def request(messages: int = 3, params: dict[str, Any] | None = None) -> CompletionRequest:
    return CompletionRequest(
        messages=prompt(messages), temperature=0.7, max_tokens=120, params=params or {},
        hints=Hints(kind="line", speaker="A", organisation="A", period="2025"),
    )


async def sdk_call(client: AsyncOpenAI, req: CompletionRequest, known: set[str], *, stream: bool) -> None:
    """The same request made as the SDK's documentation shows: the messages by keyword."""
    extra = {k: v for k, v in req.params.items() if k not in known}
    arguments: dict[str, Any] = {
        "model": "offline-chat",
        "messages": [{"role": m.role, "content": m.content} for m in req.messages],
        "temperature": req.temperature,
        "max_tokens": req.max_tokens,
        **{k: v for k, v in req.params.items() if k in known},
    }
    if extra:
        arguments["extra_body"] = extra
    if stream:
        chunks = await client.chat.completions.create(**arguments, stream=True, stream_options={"include_usage": True})
        async with chunks:  # read to its end, so the server has the whole request and answered it
            received = [chunk async for chunk in chunks]
        assert received[-1].usage is not None  # the last chunk, with the usage asked for
    else:
        await client.chat.completions.create(**arguments)


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_the_server_receives_the_body_the_sdks_own_call_sends(stream: bool, api_key: str, backend: str) -> None:
    with ModelServer(api_key=api_key, keep=2 * len(PARAMS)) as server:
        ours = OpenAIModel("offline-chat", spec="openai:offline-chat", base_url=server.base_url, stream=stream)
        client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
        try:
            for params, known in PARAMS:
                req = request(5, params)
                await ours.complete(req)
                await sdk_call(client, req, known, stream=stream)
        finally:
            await ours.aclose()
            await client.close()
        bodies = server.requests
    assert len(bodies) == 2 * len(PARAMS)
    for mine, theirs in zip(bodies[0::2], bodies[1::2], strict=True):
        assert mine == theirs
    assert bodies[0]["messages"][1]["content"] == 'Line 0: "quoted", é ünïcode.\nAnd more.'


@SDK_LEAVES_GENERATORS
async def test_a_long_prompt_costs_the_sdks_request_transform_no_more_than_a_short_one(
    api_key: str, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    transform = pytest.importorskip("openai._utils._transform")
    if not hasattr(transform, "_async_transform_recursive"):
        pytest.skip("this openai SDK transforms requests some other way")
    steps = 0
    real = transform._async_transform_recursive

    async def counted(*args: Any, **kwargs: Any) -> Any:
        nonlocal steps
        steps += 1
        return await real(*args, **kwargs)

    monkeypatch.setattr(transform, "_async_transform_recursive", counted)

    async def steps_for(call: Any) -> int:
        nonlocal steps
        steps = 0
        await call
        return steps

    with ModelServer(api_key=api_key) as server:
        ours = OpenAIModel("offline-chat", spec="openai:offline-chat", base_url=server.base_url)
        client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
        try:
            short = await steps_for(ours.complete(request(3)))
            long = await steps_for(ours.complete(request(61)))
            sdk_short = await steps_for(sdk_call(client, request(3), set(), stream=False))
            sdk_long = await steps_for(sdk_call(client, request(61), set(), stream=False))
        finally:
            await ours.aclose()
            await client.close()
    assert long == short  # the messages are not walked
    assert sdk_long > sdk_short + 58 * 10  # where the SDK walks them: many steps a message


def test_a_token_count_a_server_gets_wrong_counts_nothing() -> None:
    # A count that is negative, a string, a bool or a fraction is no count: it would take
    # tokens off a budget, or stop the log's reader. A whole count is taken as it is.
    asked = request(3)
    for wrong in (-3, "7", True, 2.5, None):
        assert _usage({"prompt_tokens": wrong, "completion_tokens": wrong}, asked, "an answer") == Usage()
    assert _usage({"prompt_tokens": 12, "completion_tokens": 0}, asked, "x") == Usage(prompt_tokens=12)
    assert _usage(None, asked, "an answer").estimated  # no usage at all: our estimate, marked


@SDK_LEAVES_GENERATORS
async def test_embeddings_are_sent_and_read_as_the_sdk_sends_and_reads_them(api_key: str, backend: str) -> None:
    texts = [f"Researcher {i} read the news about interpretability." for i in range(12)]
    with ModelServer(api_key=api_key, keep=2) as server:
        ours = OpenAIModel("offline-embed", spec="openai:offline-embed", base_url=server.base_url)
        client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
        try:
            got = await ours.embed(EmbeddingRequest(texts=texts))
            theirs = await client.embeddings.create(model="offline-embed", input=texts, encoding_format="float")
        finally:
            await ours.aclose()
            await client.close()
        bodies = server.requests
    assert bodies[0] == bodies[1]
    rows = sorted(theirs.data, key=lambda row: row.index)
    assert got.vectors == [[float(x) for x in row.embedding] for row in rows]
    assert len(got.vectors) == len(texts)
    assert all(got.vectors)
    assert theirs.usage is not None
    assert got.usage.prompt_tokens == theirs.usage.prompt_tokens
    assert not got.usage.estimated
