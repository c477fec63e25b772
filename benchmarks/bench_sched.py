"""Figures for the scheduler in front of every model call.

- ``sched.budget_use``: 100 simulations at once (``three-labs``, 20 statements each: 2,000
  calls; 500 with ``--quick``) through the real openai SDK against the loopback test
  server, which enforces its own requests- and tokens-per-window budget and answers 429
  beyond it. The scheduler is told the same budget. Figure: achieved calls per second over
  the budget's calls per second. Printed beside it: how many 429s the server sent, and how
  many calls failed (must be none).
- ``sched.overhead_us``: scheduler CPU per call with no limit hit: 100,000 calls of a
  trivial coroutine through ``Scheduler.call`` against the same calls made directly,
  interleaved, median of the per-round differences.
- ``context.sched.openai_*``: the client's CPU per call of an ``openai:`` model against the
  loopback test server (the CPU of the thread the calls run in; the server has a thread of
  its own), 20 at once, a prompt of 30 messages (a council member's, about 4 kB), plain and
  streamed, and an embedding of 20 texts; beside each, the same requests made with the SDK's
  own ``chat.completions.create`` and ``embeddings.create``, alternated in rounds, and the
  ratio of the two (the SDK's over ours). ``..._plain_128_...``: the plain request 128 at once.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

import actors
from actors import ActorSystem
from converse import Limits, RunResult, Scheduler, run_scenario
from converse.events import ChatMessage
from converse.models import CompletionRequest, EmbeddingRequest, Hints
from converse.models._openai import OpenAIModel
from converse.models.offline._testserver import ModelServer

WINDOW = 2.0  # seconds: the budget's window, shortened from a minute to keep the run short


async def _budget_run(sims: int, calls_each: int, per_window: int, tokens_per_window: int) -> dict[str, float]:
    scheduler = Scheduler(
        default=Limits(rpm=per_window, tpm=tokens_per_window, window=WINDOW, timeout=None, max_concurrency=64)
    )
    results: list[RunResult] = []
    with ModelServer(api_key="bench", rpm=per_window, tpm=tokens_per_window, window=WINDOW) as server:
        model = OpenAIModel("offline-chat", spec="openai:offline-chat", base_url=server.base_url, api_key="bench")
        overrides = ["clock.end=2040", f"termination.max_turns={calls_each}"]
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            async with ActorSystem(name="bench") as system, anyio.create_task_group() as tg:
                for seed in range(sims):

                    async def one(seed: int = seed) -> None:
                        results.append(
                            await run_scenario(
                                "three-labs", model=model, seed=seed, out=Path(tmp), overrides=overrides,
                                system=system, scheduler=scheduler,
                            )
                        )

                    tg.start_soon(one)
            elapsed = time.perf_counter() - start
        await model.aclose()
        stats = server.stats()
    calls = sum(r.llm_calls for r in results)
    failed = sum(r.status != "completed" for r in results)
    rate = per_window / WINDOW
    return {
        "sched.budget_use": calls / elapsed / rate,
        "context.sched.calls": calls,
        "context.sched.server_429s": stats.rate_limited_budget + stats.rate_limited_injected,
        "context.sched.failed_runs": failed,
        "context.sched.budget_calls_per_s": rate,
    }


async def _overhead(n: int, rounds: int) -> float:
    scheduler = Scheduler(default=Limits(timeout=None, max_concurrency=1 << 30))

    async def trivial() -> int:
        return 1

    differences = []
    for _ in range(rounds):
        start = time.process_time()
        for _ in range(n):
            await trivial()
        direct = time.process_time() - start
        start = time.process_time()
        for _ in range(n):
            await scheduler.call("bench", "t", 1, trivial)
        scheduled = time.process_time() - start
        differences.append((scheduled - direct) / n * 1e6)
    return statistics.median(differences)


def _client_requests() -> tuple[CompletionRequest, EmbeddingRequest]:
    """A council member's request (a system prompt and 29 messages, about 4 kB) and 20 texts to embed."""
    said = [
        ChatMessage(
            role="user" if i % 2 == 0 else "assistant",
            content=f"OpenAI CEO {i}: we should fund an automated interpretability audit in 2027, within 12 months.",
        )
        for i in range(29)
    ]
    system = ChatMessage(role="system", content="You are the CEO of a frontier AI lab. " * 20)
    hints = Hints(kind="line", speaker="OpenAI CEO", organisation="OpenAI", period="2025")
    chat = CompletionRequest(messages=[system, *said], temperature=0.7, max_tokens=200, params={}, hints=hints)
    texts = [f"Researcher {i} read the news about interpretability at lab {i % 3}." for i in range(20)]
    return chat, EmbeddingRequest(texts=texts)


async def _client_cpu(calls: int, rounds: int) -> dict[str, float]:
    """The client's CPU per call (µs, the median of ``rounds`` rounds) of converse's model and of
    the SDK's own methods, for the same requests: plain, streamed, embedding."""
    from openai import AsyncOpenAI

    chat, embed = _client_requests()
    messages = [{"role": m.role, "content": m.content} for m in chat.messages]
    asked: dict[str, Any] = {"model": "offline-chat", "messages": messages, "temperature": chat.temperature, "max_tokens": chat.max_tokens}

    async def sdk_plain(client: AsyncOpenAI) -> None:
        await client.chat.completions.create(**asked)

    async def sdk_streamed(client: AsyncOpenAI) -> None:
        chunks = await client.chat.completions.create(**asked, stream=True, stream_options={"include_usage": True})
        async with chunks:  # read to its end, as our model reads its own
            received = [chunk async for chunk in chunks]
        assert received

    async def sdk_embed(client: AsyncOpenAI) -> None:
        await client.embeddings.create(model="offline-embed", input=embed.texts, encoding_format="float")

    async def timed(call: Callable[[], Awaitable[object]], at_once: int) -> float:
        each = max(2, calls // at_once)

        async def worker() -> None:
            for _ in range(each):
                await call()

        start = time.thread_time()
        async with anyio.create_task_group() as tg:
            for _ in range(at_once):
                tg.start_soon(worker)
        return (time.thread_time() - start) / (each * at_once) * 1e6

    figures: dict[str, float] = {}
    with ModelServer(api_key="bench") as server:
        plain = OpenAIModel("offline-chat", spec="openai:offline-chat", base_url=server.base_url, api_key="bench")
        streamed = OpenAIModel(
            "offline-chat", spec="openai:offline-chat", base_url=server.base_url, api_key="bench", stream=True
        )
        embedder = OpenAIModel("offline-embed", spec="openai:offline-embed", base_url=server.base_url, api_key="bench")
        client = AsyncOpenAI(base_url=server.base_url, api_key="bench", max_retries=0)
        sides: dict[str, tuple[int, Callable[[], Awaitable[object]], Callable[[], Awaitable[object]]]] = {
            "plain": (20, lambda: plain.complete(chat), lambda: sdk_plain(client)),
            "streamed": (20, lambda: streamed.complete(chat), lambda: sdk_streamed(client)),
            "embed": (20, lambda: embedder.embed(embed), lambda: sdk_embed(client)),
            "plain_128": (128, lambda: plain.complete(chat), lambda: sdk_plain(client)),
        }
        try:
            for name, (at_once, ours, theirs) in sides.items():
                await timed(ours, at_once)
                await timed(theirs, at_once)  # connections made, imports done
                mine, sdk = [], []
                for _ in range(rounds):
                    mine.append(await timed(ours, at_once))
                    sdk.append(await timed(theirs, at_once))
                figures[f"context.sched.openai_{name}_cpu_us"] = statistics.median(mine)
                figures[f"context.sched.openai_{name}_sdk_cpu_us"] = statistics.median(sdk)
                figures[f"context.sched.openai_{name}_ratio"] = statistics.median(
                    s / m for s, m in zip(sdk, mine, strict=True)
                )
        finally:
            for model in (plain, streamed, embedder):
                await model.aclose()
            await client.close()
    return figures


def run(quick: bool) -> dict[str, float]:
    sims, calls_each = 100, (5 if quick else 20)
    figures = actors.run(_budget_run, sims, calls_each, 120, 400_000)
    figures["sched.overhead_us"] = actors.run(_overhead, 20_000 if quick else 100_000, 5)
    figures |= actors.run(_client_cpu, 100 if quick else 1000, 3)
    return figures
