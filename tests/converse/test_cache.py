"""The response cache: hits, misses, keys, corrupt entries, concurrency, a whole run re-used."""

from __future__ import annotations

import json
from pathlib import Path

import anyio
import anyio.lowlevel
import msgspec
import pytest

import converse
from converse import CallFailed, CompletionRequest, CompletionResponse, Hints, Model, OfflineModel
from converse.events import ChatMessage, Usage
from converse.models import CachedModel, CacheStatistics


class Counting:
    """A fake inner model: counts calls; each answer names the call that made it."""

    def __init__(self, spec: str = "fake:m", *, seed: int | None = None) -> None:
        self._spec = spec
        self.calls = 0
        self.closed = False
        self.fail: CallFailed | None = None
        if seed is not None:
            self.seed = seed

    @property
    def spec(self) -> str:
        return self._spec

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.calls += 1
        await anyio.lowlevel.checkpoint()
        if self.fail is not None:
            raise self.fail
        text = f"answer #{self.calls} to {request.messages[-1].content}"
        return CompletionResponse(
            text=text, usage=Usage(prompt_tokens=7, completion_tokens=self.calls), model=self._spec
        )

    async def aclose(self) -> None:
        self.closed = True


class Echo:
    """A deterministic fake inner model (same request, same answer) that can hold answers back."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: anyio.Event | None = None

    @property
    def spec(self) -> str:
        return "fake:echo"

    @property
    def endpoint(self) -> str:
        return "http://fake|echo"

    async def complete(self, request: CompletionRequest) -> CompletionResponse:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        await anyio.lowlevel.checkpoint()
        text = "echo: " + request.messages[-1].content
        return CompletionResponse(
            text=text, usage=Usage(prompt_tokens=3, completion_tokens=2), model=self.spec
        )


def request(content: str = "hello", **changes: object) -> CompletionRequest:
    base = CompletionRequest(
        messages=[ChatMessage(role="system", content="be brief"), ChatMessage(role="user", content=content)],
        hints=Hints(kind="statement", speaker="OpenAI", period="2025"),
    )
    return msgspec.structs.replace(base, **changes)


def entries(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*.json"))


def from_cache(response: CompletionResponse) -> CompletionResponse:
    """``response`` as the cache serves it: marked as paid for by an earlier run."""
    return msgspec.structs.replace(response, cached=True)


def everything(directory: Path) -> list[Path]:
    return sorted(directory.rglob("*"))


async def test_second_identical_request_is_answered_from_the_cache(backend: str, tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedModel(inner, tmp_path)
    first = await cached.complete(request())
    second = await cached.complete(request())
    assert inner.calls == 1
    assert not first.cached
    assert second == from_cache(first)
    assert cached.statistics() == CacheStatistics(hits=1, misses=1, writes=1)
    # Another process (here: another instance) re-uses the entry.
    again = CachedModel(Counting(), tmp_path)
    assert await again.complete(request()) == from_cache(first)
    assert again.statistics() == CacheStatistics(hits=1, misses=0, writes=0)


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(request("hello!"), id="messages"),
        pytest.param(request(messages=[ChatMessage(role="user", content="hello")]), id="fewer-messages"),
        pytest.param(request(temperature=0.5), id="temperature"),
        pytest.param(request(max_tokens=10), id="max_tokens"),
        pytest.param(request(params={"top_p": 0.9}), id="params"),
    ],
)
async def test_a_different_request_misses(backend: str, tmp_path: Path, other: CompletionRequest) -> None:
    inner = Counting()
    cached = CachedModel(inner, tmp_path)
    await cached.complete(request())
    answer = await cached.complete(other)
    assert inner.calls == 2
    assert answer.text.startswith("answer #2")
    assert len(entries(tmp_path)) == 2


async def test_the_spec_is_part_of_the_key_but_not_its_options(backend: str, tmp_path: Path) -> None:
    await CachedModel(Counting("openai:gpt-4o"), tmp_path).complete(request())
    other_model = Counting("openai:gpt-4o-mini")
    await CachedModel(other_model, tmp_path).complete(request())
    assert other_model.calls == 1
    with_options = Counting("openai:gpt-4o?stream=1&timeout=5")
    cached = CachedModel(with_options, tmp_path)
    assert (await cached.complete(request())).text.startswith("answer #1")
    assert with_options.calls == 0
    assert cached.spec == "openai:gpt-4o?stream=1&timeout=5"


async def test_the_server_is_part_of_the_key(backend: str, tmp_path: Path) -> None:
    openai = Counting("openai:llama3")
    openai.endpoint = "https://api.openai.com/v1|llama3"  # type: ignore[attr-defined]
    local = Counting("openai:llama3")
    local.endpoint = "http://127.0.0.1:8000/v1|llama3"  # type: ignore[attr-defined]
    await CachedModel(openai, tmp_path).complete(request())
    await CachedModel(local, tmp_path).complete(request())
    assert (openai.calls, local.calls) == (1, 1)  # the same name elsewhere is another model
    again = Counting("openai:llama3?stream=1")
    again.endpoint = "http://127.0.0.1:8000/v1|llama3"  # type: ignore[attr-defined]
    await CachedModel(again, tmp_path).complete(request())
    assert again.calls == 0


async def test_hints_are_not_part_of_the_key_for_a_provider(backend: str, tmp_path: Path) -> None:
    inner = Counting("openai:gpt-4o")
    cached = CachedModel(inner, tmp_path)
    await cached.complete(request())
    await cached.complete(request(hints=Hints(kind="line", speaker="Anthropic CEO")))
    assert inner.calls == 1


async def test_hints_and_seed_are_part_of_the_key_for_the_offline_model(backend: str, tmp_path: Path) -> None:
    inner = Counting("offline?latency=0.01", seed=1)
    cached = CachedModel(inner, tmp_path)
    await cached.complete(request())
    await cached.complete(request(hints=Hints(kind="statement", speaker="Anthropic", period="2025")))
    assert inner.calls == 2
    await cached.complete(request())
    assert inner.calls == 2
    reseeded = Counting("offline", seed=2)
    await CachedModel(reseeded, tmp_path).complete(request())
    assert reseeded.calls == 1


async def test_the_offline_model_answers_by_hints_through_the_cache(backend: str, tmp_path: Path) -> None:
    offline = OfflineModel(seed=1)
    cached = CachedModel(offline, tmp_path)
    for speaker in ("OpenAI", "Anthropic", "OpenAI"):
        asked = request(
            "It is now 2025. Publish your report.", hints=Hints(kind="statement", speaker=speaker)
        )
        answer = await cached.complete(asked)
        assert msgspec.structs.replace(answer, cached=False) == await offline.complete(asked)
    assert cached.statistics() == CacheStatistics(hits=1, misses=2, writes=2)


async def test_offline_models_of_different_seeds_do_not_share_entries(backend: str, tmp_path: Path) -> None:
    asked = request("It is now 2025. Publish your report.")
    await CachedModel(OfflineModel(seed=1), tmp_path).complete(asked)
    answer = await CachedModel(OfflineModel(seed=2), tmp_path).complete(asked)
    assert answer == await OfflineModel(seed=2).complete(asked)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(b"", id="empty"),
        pytest.param(b"{not json", id="garbage"),
        pytest.param(b'{"key": "', id="truncated"),
        pytest.param(b'{"key": "x", "response": {"text": 1}}', id="wrong-shape"),
        pytest.param(
            b'{"key": "0000", "response": {"text": "t", "usage": {}, "model": "m"}}', id="other-key"
        ),
    ],
)
async def test_a_corrupt_entry_is_a_miss_and_is_repaired(backend: str, tmp_path: Path, damage: bytes) -> None:
    inner = Counting()
    cached = CachedModel(inner, tmp_path)
    first = await cached.complete(request())
    cached.path(cached.key(request())).write_bytes(damage)
    repaired = await cached.complete(request())
    assert inner.calls == 2
    assert repaired.text.startswith("answer #2")
    assert await cached.complete(request()) == from_cache(repaired) != from_cache(first)
    assert cached.statistics() == CacheStatistics(hits=1, misses=2, writes=2)


async def test_an_unusable_entry_path_does_not_fail_the_call(backend: str, tmp_path: Path) -> None:
    inner = Counting()
    cached = CachedModel(inner, tmp_path)
    cached.path(cached.key(request())).mkdir(parents=True)  # neither readable nor replaceable
    assert (await cached.complete(request())).text.startswith("answer #1")
    assert (await cached.complete(request())).text.startswith("answer #2")
    assert cached.statistics() == CacheStatistics(hits=0, misses=2, writes=0)
    assert not [p for p in everything(tmp_path) if p.suffix == ".tmp"]


async def test_entries_are_json_files_fanned_out_by_key(backend: str, tmp_path: Path) -> None:
    cached = CachedModel(Counting(), tmp_path / "cache")
    answers = [await cached.complete(request(f"question {n}")) for n in range(5)]
    files = entries(tmp_path / "cache")
    assert len(files) == 5
    assert set(everything(tmp_path / "cache")) == {*files, *(p.parent for p in files)}  # no temporary files
    for answer, n in zip(answers, range(5), strict=True):
        key = cached.key(request(f"question {n}"))
        assert len(key) == 64
        assert int(key, 16) >= 0
        path = tmp_path / "cache" / key[:2] / f"{key}.json"
        stored = json.loads(path.read_text(encoding="utf-8"))
        assert stored["key"] == key
        assert stored["response"]["text"] == answer.text
        assert stored["response"]["usage"] == {
            "prompt_tokens": 7,
            "completion_tokens": answer.usage.completion_tokens,
        }


async def test_failures_are_not_stored(backend: str, tmp_path: Path) -> None:
    inner = Counting()
    inner.fail = CallFailed("fake: overloaded", retryable=True, status=503)
    cached = CachedModel(inner, tmp_path)
    with pytest.raises(CallFailed, match="overloaded"):
        await cached.complete(request())
    assert entries(tmp_path) == []
    inner.fail = None
    assert (await cached.complete(request())).text.startswith("answer #2")
    assert cached.statistics() == CacheStatistics(hits=0, misses=2, writes=1)


async def test_concurrent_requests_get_the_same_answers(backend: str, tmp_path: Path) -> None:
    inner = Echo()
    cached = CachedModel(inner, tmp_path)
    answers: dict[int, list[str]] = {n: [] for n in range(10)}

    async def ask(n: int) -> None:
        answers[n].append((await cached.complete(request(f"q{n}"))).text)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            for n in range(10):
                tg.start_soon(ask, n)
    assert answers == {n: [f"echo: q{n}"] * 5 for n in range(10)}
    stats = cached.statistics()
    assert stats.hits + stats.misses == 50
    assert stats.writes == stats.misses == inner.calls
    assert len(entries(tmp_path)) == 10


async def test_concurrent_misses_of_one_key_all_write_and_the_entry_stays_valid(
    backend: str, tmp_path: Path
) -> None:
    inner = Echo()
    inner.gate = anyio.Event()
    cached = CachedModel(inner, tmp_path)
    texts: list[str] = []

    async def ask() -> None:
        texts.append((await cached.complete(request())).text)

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(ask)
        await anyio.wait_all_tasks_blocked()
        inner.gate.set()
    assert texts == ["echo: hello"] * 20
    assert cached.statistics() == CacheStatistics(hits=0, misses=20, writes=20)
    inner.gate = None
    assert (await cached.complete(request())).text == "echo: hello"
    assert inner.calls == 20
    assert len(everything(tmp_path)) == 2  # one fan-out directory, one entry


async def test_it_is_a_model_with_the_inner_models_identity(backend: str, tmp_path: Path) -> None:
    echo = CachedModel(Echo(), tmp_path)
    counting = CachedModel(Counting(), tmp_path)
    assert isinstance(echo, Model)
    assert echo.endpoint == "http://fake|echo"
    assert getattr(counting, "endpoint", "fallback") == "fallback"  # how a run finds its endpoint
    inner = counting.inner
    assert isinstance(inner, Counting)
    await counting.aclose()
    assert inner.closed
    await echo.aclose()  # the inner model has nothing to close


async def test_a_rerun_is_answered_from_the_cache_alone(backend: str, tmp_path: Path) -> None:
    overrides = ["clock.end=2024"]
    first = CachedModel(OfflineModel(seed=1), tmp_path / "cache")
    one = await converse.run_scenario("three-labs", model=first, out=tmp_path / "one", overrides=overrides)
    second = CachedModel(OfflineModel(seed=1), tmp_path / "cache")
    two = await converse.run_scenario("three-labs", model=second, out=tmp_path / "two", overrides=overrides)
    assert one.status == two.status == "completed"
    assert one.llm_calls == two.llm_calls > 0
    assert first.statistics() == CacheStatistics(hits=0, misses=one.llm_calls, writes=one.llm_calls)
    assert second.statistics() == CacheStatistics(hits=two.llm_calls, misses=0, writes=0)
    assert one.transcript.read_bytes() == two.transcript.read_bytes()
