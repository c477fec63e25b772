"""The OpenAI-compatible test server, driven by the real openai SDK on asyncio and trio."""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import time
from typing import Any

import anyio
import openai
import pytest
from openai import AsyncOpenAI, DefaultAsyncHttpxClient

from _helpers import SDK_LEAVES_GENERATORS
from converse import CompletionRequest, Hints, OfflineModel
from converse.events import ChatMessage
from converse.testing import Faults, ModelServer

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are the OpenAI CEO on a council."},
    {"role": "user", "content": "Say one line about the year's plans."},
]
# openai 3.54's AsyncStream stops at "[DONE]" without closing its inner async generators
# (_iter_events, SSEDecoder.aiter_bytes, ...). asyncio closes them quietly when they are
# collected; trio warns (ResourceWarning), which filterwarnings=error would make a failure.
# Loading the CA bundle costs ~30 ms per client, for a server that only speaks plain HTTP.
TLS = ssl.create_default_context()
REQUEST = CompletionRequest(messages=[ChatMessage(role=m["role"], content=m["content"]) for m in MESSAGES])


def client(server: ModelServer, api_key: str = "test-key") -> AsyncOpenAI:
    http_client = DefaultAsyncHttpxClient(verify=TLS)  # the SDK's own defaults otherwise
    return AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0, http_client=http_client)


async def ask(c: AsyncOpenAI, **kwargs: Any) -> Any:
    return await c.chat.completions.create(**{"model": "offline-chat", "messages": MESSAGES, **kwargs})


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_completion_is_the_offline_models_answer(backend: str) -> None:
    expected = await OfflineModel(seed=4).complete(REQUEST)
    with ModelServer(seed=4) as server:
        async with client(server) as c:
            answer = await ask(c, temperature=0.5, max_tokens=50, top_p=0.9)
    assert answer.object == "chat.completion"
    assert answer.model == "offline-chat"
    assert answer.choices[0].message.role == "assistant"
    assert answer.choices[0].message.content == expected.text
    assert answer.choices[0].finish_reason == "stop"
    usage = answer.usage
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (
        expected.usage.prompt_tokens, expected.usage.completion_tokens, expected.usage.total_tokens)
    assert server.requests == [
        {"model": "offline-chat", "messages": MESSAGES, "temperature": 0.5, "max_tokens": 50, "top_p": 0.9}
    ]
    stats = server.stats()
    assert (stats.requests, stats.successes) == (1, 1)
    assert (stats.prompt_tokens, stats.completion_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    assert len(stats.answered_at) == 1


@SDK_LEAVES_GENERATORS
async def test_a_stream_assembles_to_the_same_answer_and_ends_with_usage(backend: str) -> None:
    expected = await OfflineModel().complete(REQUEST)
    with ModelServer() as server:
        async with client(server) as c:
            stream = await ask(c, stream=True, stream_options={"include_usage": True})
            chunks = [chunk async for chunk in stream]
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert len(chunks) > 4  # really streamed in pieces
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == expected.text
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage.prompt_tokens == expected.usage.prompt_tokens
    assert chunks[-1].usage.completion_tokens == expected.usage.completion_tokens
    assert server.requests[0]["stream_options"] == {"include_usage": True}


@SDK_LEAVES_GENERATORS
async def test_a_stream_without_include_usage_carries_no_usage(backend: str) -> None:
    with ModelServer() as server:
        async with client(server) as c:
            chunks = [chunk async for chunk in await ask(c, stream=True)]
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


async def test_answers_repeat_and_follow_the_hints_sent_in_the_body(backend: str) -> None:
    hints = {"kind": "line", "speaker": "OpenAI CEO", "organisation": "OpenAI", "period": "2025"}
    expected = OfflineModel().answer(CompletionRequest(messages=REQUEST.messages, hints=Hints(**hints)))
    with ModelServer() as server:
        async with client(server) as c:
            first, second = [await ask(c, extra_body={"converse_hints": hints}) for _ in range(2)]
            plain = await ask(c)
    assert first.choices[0].message.content == second.choices[0].message.content == expected
    assert expected.startswith("OpenAI CEO: ")
    assert plain.choices[0].message.content != expected  # without hints: kind "other"


async def test_a_wrong_key_is_401_and_never_stored(backend: str) -> None:
    with ModelServer() as server:
        async with client(server, api_key="sk-secret-123") as c:
            with pytest.raises(openai.AuthenticationError) as caught:
                await ask(c)
        assert caught.value.status_code == 401
        assert caught.value.code == "invalid_api_key"
        assert caught.value.type == "invalid_request_error"
        assert "sk-secret-123" not in repr((server.requests, vars(server)))
        assert server.stats().rejected == 1


async def test_an_unknown_model_is_404_and_the_served_ones_are_listed(backend: str) -> None:
    with ModelServer(models=["a", "b"], embedding_models=["e"]) as server:
        async with client(server) as c:
            with pytest.raises(openai.NotFoundError) as caught:
                await ask(c, model="gpt-4o")
            listed = [model.id async for model in c.models.list()]
    assert caught.value.code == "model_not_found"
    assert listed == ["a", "b", "e"]  # the chat models, then those that embed


async def test_a_body_converse_cannot_read_is_400_and_still_recorded(backend: str) -> None:
    with ModelServer() as server:
        async with client(server) as c:
            with pytest.raises(openai.BadRequestError) as caught:
                await ask(c, messages=[{"role": "tool", "content": "42", "tool_call_id": "call_1"}])
    assert "$.messages[0].role" in caught.value.message
    assert server.requests[0]["messages"][0]["role"] == "tool"
    assert server.stats().rejected == 1


async def test_concurrent_requests_are_all_answered(backend: str) -> None:
    with ModelServer() as server:
        async with client(server) as c, anyio.create_task_group() as tg:
            for _ in range(64):
                tg.start_soon(ask, c)
    stats = server.stats()
    assert (stats.requests, stats.successes, len(stats.answered_at)) == (64, 64, 64)
    assert list(stats.answered_at) == sorted(stats.answered_at)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("faults", "error", "counter"),
    [
        (Faults(rate_429=1.0, retry_after=3.0), openai.RateLimitError, "rate_limited_injected"),
        (Faults(rate_500=1.0), openai.InternalServerError, "server_errors"),
        (Faults(rate_drop=1.0), openai.APIConnectionError, "dropped"),
    ],
)
async def test_injected_faults_surface_as_the_sdks_errors(
    backend: str, stream: bool, faults: Faults, error: type[Exception], counter: str
) -> None:
    with ModelServer(faults=faults) as server:
        async with client(server) as c:
            with pytest.raises(error) as caught:
                await ask(c, stream=stream)
    assert type(caught.value) is error
    if isinstance(caught.value, openai.RateLimitError):
        assert caught.value.response.headers["retry-after"] == "3"
        assert caught.value.response.headers["retry-after-ms"] == "3000"
    stats = server.stats()
    assert (stats.requests, stats.successes, getattr(stats, counter)) == (1, 0, 1)


async def test_a_malformed_body_raises_a_json_error_not_an_openai_error(backend: str) -> None:
    with ModelServer(faults=Faults(rate_malformed=1.0)) as server:
        async with client(server) as c:
            with pytest.raises(json.JSONDecodeError) as caught:
                await ask(c)
    assert not isinstance(caught.value, openai.OpenAIError)
    assert server.stats().malformed == 1


@SDK_LEAVES_GENERATORS
async def test_a_malformed_stream_event_raises_a_json_error(backend: str) -> None:
    with ModelServer(faults=Faults(rate_malformed=1.0)) as server:
        async with client(server) as c:
            stream = await ask(c, stream=True)
            with pytest.raises(json.JSONDecodeError):
                async for _ in stream:
                    pass
    assert server.stats().malformed == 1


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_an_empty_answer_is_served_as_a_normal_one(backend: str, stream: bool) -> None:
    expected = await OfflineModel().complete(REQUEST)
    texts = []
    with ModelServer(faults=Faults(rate_empty=1.0)) as server:
        async with client(server) as c:
            for _ in range(2):  # no text, then only whitespace
                if stream:
                    chunks = [chunk async for chunk in await ask(c, stream=True, stream_options={"include_usage": True})]
                    texts.append("".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices))
                    assert chunks[-2].choices[0].finish_reason == "stop"
                    usage = chunks[-1].usage
                else:
                    answer = await ask(c)
                    texts.append(answer.choices[0].message.content)
                    assert answer.choices[0].finish_reason == "stop"
                    usage = answer.usage
                assert (usage.prompt_tokens, usage.completion_tokens) == (
                    expected.usage.prompt_tokens, expected.usage.completion_tokens)
    assert sorted(texts) == ["", " \n"]
    stats = server.stats()
    assert (stats.requests, stats.successes, stats.empty, len(stats.answered_at)) == (2, 0, 2, 0)


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_an_echo_answers_with_the_first_system_message(backend: str, stream: bool) -> None:
    system = MESSAGES[0]["content"]
    with ModelServer(faults=Faults(rate_echo=1.0)) as server:
        async with client(server) as c:
            if stream:
                chunks = [chunk async for chunk in await ask(c, stream=True)]
                text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
                assert len(chunks) > 4  # streamed in pieces, as any answer
            else:
                answer = await ask(c)
                text = answer.choices[0].message.content
                assert answer.usage.completion_tokens == -(-len(system) // 4)
            # A later system message is not the one echoed.
            later = await ask(c, messages=[*MESSAGES, {"role": "system", "content": "Be brief."}])
    assert text == system
    assert later.choices[0].message.content == system
    stats = server.stats()
    assert (stats.requests, stats.successes, stats.echoed) == (2, 0, 2)


async def test_empty_and_echoed_answers_come_at_their_rates(backend: str) -> None:
    with ModelServer(seed=5, faults=Faults(rate_empty=0.25, rate_echo=0.25, rate_500=0.5)) as server:
        async with client(server) as c:
            for _ in range(200):
                with contextlib.suppress(openai.InternalServerError):
                    await ask(c)
    stats = server.stats()
    assert stats.requests == 200
    assert stats.empty + stats.echoed + stats.server_errors == 200
    assert 30 < stats.empty < 70
    assert 30 < stats.echoed < 70


async def test_faults_change_at_runtime_and_repeat_with_the_seed(backend: str) -> None:
    outcomes: list[list[str]] = []
    for _ in range(2):
        with ModelServer(seed=11, faults=Faults(rate_429=0.3, rate_500=0.3)) as server:
            async with client(server) as c:
                seen = []
                for _ in range(12):
                    try:
                        await ask(c)
                        seen.append("ok")
                    except openai.APIStatusError as exc:
                        seen.append(str(exc.status_code))
                server.faults = Faults(rate_500=1.0)
                with pytest.raises(openai.InternalServerError):
                    await ask(c)
                server.faults = Faults()
                await ask(c)
        outcomes.append(seen)
        stats = server.stats()
        assert stats.requests == 14
        assert stats.successes == seen.count("ok") + 1
        assert stats.rate_limited_injected == seen.count("429")
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {"ok", "429", "500"}


async def test_latency_delays_the_answer(backend: str) -> None:
    with ModelServer(faults=Faults(latency=0.1)) as server:
        async with client(server) as c:
            start = anyio.current_time()
            await ask(c)
            assert anyio.current_time() - start >= 0.1


async def test_the_rpm_budget_refuses_with_a_correct_retry_after(backend: str) -> None:
    clock = FakeClock()
    with ModelServer(rpm=5, window=2.0, clock=clock) as server:
        async with client(server) as c:
            for i in range(5):
                clock.now += 0.1
                raw = await c.chat.completions.with_raw_response.create(model="offline-chat", messages=MESSAGES)
                assert raw.headers["x-ratelimit-remaining-requests"] == str(4 - i)
            clock.now += 0.1
            with pytest.raises(openai.RateLimitError) as caught:
                await ask(c)
            headers = caught.value.response.headers
            assert float(headers["retry-after"]) > 0
            wait = int(headers["retry-after-ms"]) / 1000
            assert wait == pytest.approx(1.5)  # the first request, at 0.1, leaves the window at 2.1
            assert headers["x-ratelimit-remaining-requests"] == "0"
            assert headers["x-ratelimit-reset-requests"] == "1.9s"  # when all five have left the window
            clock.now += wait - 0.01
            with pytest.raises(openai.RateLimitError):
                await ask(c)
            clock.now += 0.01
            await ask(c)
    stats = server.stats()
    assert (stats.requests, stats.successes, stats.rate_limited_budget, stats.rate_limited_injected) == (8, 6, 2, 0)


async def test_the_tpm_budget_counts_prompt_and_completion_tokens(backend: str) -> None:
    usage = (await OfflineModel().complete(REQUEST)).usage
    clock = FakeClock()
    # Room for two answered requests and all but one token of a third one's prompt.
    tpm = 2 * usage.total_tokens + usage.prompt_tokens - 1
    with ModelServer(tpm=tpm, window=2.0, clock=clock) as server:
        async with client(server) as c:
            raw = await c.chat.completions.with_raw_response.create(model="offline-chat", messages=MESSAGES)
            assert raw.headers["x-ratelimit-remaining-tokens"] == str(tpm - usage.total_tokens)
            clock.now += 0.5
            await ask(c)
            clock.now += 0.5
            with pytest.raises(openai.RateLimitError) as caught:
                await ask(c)
            # One token short: the first request's prompt, charged at 100.0, frees it at 102.0.
            assert caught.value.response.headers["retry-after-ms"] == "1000"
            assert caught.value.response.headers["retry-after"] == "1"
            clock.now += 1.0
            await ask(c)
    stats = server.stats()
    assert stats.prompt_tokens + stats.completion_tokens == 3 * usage.total_tokens


async def test_a_request_larger_than_the_tpm_budget_is_not_worth_retrying(backend: str) -> None:
    with ModelServer(tpm=5) as server:
        async with client(server) as c:
            with pytest.raises(openai.RateLimitError) as caught:
                await ask(c)
    assert caught.value.response.headers["x-should-retry"] == "false"


async def test_the_budget_frees_up_in_real_time(backend: str) -> None:
    with ModelServer(rpm=1, window=0.4) as server:  # the second request comes well within 0.4 s
        async with client(server) as c:
            await ask(c)
            with pytest.raises(openai.RateLimitError) as caught:
                await ask(c)
            wait = int(caught.value.response.headers["retry-after-ms"]) / 1000
            assert 0 < wait <= 0.4
            await anyio.sleep(wait)
            await ask(c)


async def test_close_ends_kept_alive_connections_and_interrupts_latency(backend: str) -> None:
    admitted = threading.Event()  # the server reads its clock as it admits a request, then waits

    def clock() -> float:
        admitted.set()
        return time.monotonic()

    server = ModelServer(faults=Faults(latency=30.0), clock=clock)
    server.start()
    errors: list[Exception] = []
    async with client(server) as c:

        async def waiting() -> None:
            try:
                await ask(c)
            except openai.APIConnectionError as exc:
                errors.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(waiting)
            assert await anyio.to_thread.run_sync(admitted.wait, 5.0)
            start = anyio.current_time()
            await anyio.to_thread.run_sync(server.close)
            assert anyio.current_time() - start < 2
        with pytest.raises(openai.APIConnectionError):
            await ask(c)
    assert len(errors) == 1
    assert server.stats().dropped == 1


def test_the_server_needs_starting_and_faults_are_checked() -> None:
    server = ModelServer()
    with pytest.raises(RuntimeError):
        _ = server.base_url
    server.close()  # closing a server never started does nothing
    with pytest.raises(ValueError, match="sum to at most 1"):
        Faults(rate_429=0.7, rate_500=0.5)
    with pytest.raises(ValueError, match="sum to at most 1"):
        Faults(rate_empty=0.6, rate_echo=0.6)
    with pytest.raises(ValueError, match="window"):
        ModelServer(window=0)
