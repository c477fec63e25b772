"""Servers that send no token usage: converse counts its own estimate, says so, and budgets
and ``--tpm`` hold on it (issue 17, finding 1). Real HTTP: the openai SDK against ``ModelServer``."""

from __future__ import annotations

import re
from functools import partial
from pathlib import Path

import anyio
import msgspec
import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cli_env, run_cli
from converse import CompletionRequest, CompletionResponse, Limits, Scheduler
from converse.events import ChatMessage, Ledger, LLMCall, RunFinished, Usage
from converse.models._model import estimate_prompt_tokens
from converse.testing import ModelServer, events_of, run_and_read

KEY = "test-key"
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])


def spec(stream: bool) -> str:
    return "openai:offline-chat" + ("?stream=1" if stream else "")


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_the_server_can_omit_usage_streamed_or_not(stream: bool, api_key: str, backend: str) -> None:
    from openai import AsyncOpenAI

    messages = [{"role": "user", "content": "Say something."}]
    for usage in (True, False):
        with ModelServer(api_key=api_key, usage=usage) as server:
            client = AsyncOpenAI(base_url=server.base_url, api_key=api_key, max_retries=0)
            try:
                if stream:
                    chunks = await client.chat.completions.create(
                        model="offline-chat", messages=messages,  # type: ignore[arg-type]
                        stream=True, stream_options={"include_usage": True},
                    )
                    sent = [chunk.usage async for chunk in chunks if chunk.usage is not None]
                else:
                    answer = await client.chat.completions.create(
                        model="offline-chat", messages=messages,  # type: ignore[arg-type]
                    )
                    sent = [] if answer.usage is None else [answer.usage]
            finally:
                await client.close()
        assert len(sent) == (1 if usage else 0)


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_a_token_budget_holds_when_the_server_sends_no_usage(
    stream: bool, api_key: str, tmp_path: Path, backend: str
) -> None:
    ended = {}
    for usage in (True, False):
        with ModelServer(api_key=api_key, usage=usage) as server:
            model = converse.open_model(spec(stream), base_url=server.base_url)
            try:
                result, events = await run_and_read(
                    "three-labs", model=model, out=tmp_path / str(usage), overrides=["budget.tokens=1000"]
                )
            finally:
                await model.aclose()  # type: ignore[attr-defined]
        assert result.status == "budget_exhausted"
        calls = events_of(events, LLMCall)
        # Read back from the log: each call's usage, and whether it was estimated.
        assert all(c.usage.estimated is not usage and c.usage.total_tokens > 0 for c in calls)
        (ledger,) = events_of(events, Ledger)
        (finished,) = events_of(events, RunFinished)
        total = finished.prompt_tokens + finished.completion_tokens
        assert total >= 1000
        estimated = 0 if usage else total
        assert ledger.entries[-1].estimated_tokens == result.estimated_tokens == estimated
        assert sum(e.estimated_tokens for e in ledger.entries[:-1]) == estimated
        ended[usage] = (len(calls), total, result.reason)
    # The offline model behind the server counts as converse estimates: the same run, the same end.
    assert ended[False][:2] == ended[True][:2]
    assert ended[True][2] == f"token budget reached: {ended[True][1]:,} of 1,000 tokens"
    assert ended[False][2] == f"token budget reached: {ended[True][1]:,} of 1,000 tokens ({ended[True][1]:,} estimated)"


@SDK_LEAVES_GENERATORS
@STREAMS
async def test_tpm_holds_on_estimated_tokens(stream: bool, api_key: str, backend: str) -> None:
    # Each call is about 120 tokens; the server and our scheduler both allow 250 per 0.5 s, so
    # six calls one after another take at least two windows. Were the scheduler to count the
    # 0 tokens a server without usage implies, it would send them at once and get 429s. Each
    # call reserves its prompt's estimate, as the engine's calls do.
    request = CompletionRequest(
        messages=[ChatMessage(role="user", content="What should the labs do next? " * 8)], max_tokens=60
    )
    window = 0.5
    # The server's window is a little shorter than ours: it counts a call a moment after our
    # scheduler does (the request's trip), so on a busy machine the same window would make it
    # refuse a call our scheduler rightly sent; no window of it holds three calls all the same.
    with ModelServer(api_key=api_key, usage=False, tpm=250, window=0.9 * window) as server:
        model = converse.open_model(spec(stream), base_url=server.base_url)
        scheduler = Scheduler(Limits(tpm=250, window=window, timeout=None))
        endpoint = model.endpoint  # type: ignore[attr-defined]
        try:
            with anyio.fail_after(30):
                started = anyio.current_time()
                answers = [
                    await scheduler.call(
                        endpoint, "run", estimate_prompt_tokens(request.messages), partial(model.complete, request),
                        tokens_used=CompletionResponse.tokens_used,
                    )
                    for _ in range(6)
                ]
                took = anyio.current_time() - started
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        served = server.stats()
    assert all(a.usage.estimated for a in answers)
    used = sum(a.usage.total_tokens for a in answers)
    assert all(84 < a.usage.total_tokens <= 125 for a in answers)  # two fit in a window, three do not
    assert served.rate_limited_budget == 0
    assert served.successes == 6
    assert scheduler.statistics().endpoints[endpoint].tokens == used
    assert served.prompt_tokens + served.completion_tokens == used  # our estimate is the server's count
    assert took >= 2 * window


def test_the_command_line_says_which_tokens_were_estimated(tmp_path: Path) -> None:
    lines = {}
    for usage in (True, False):
        with ModelServer(api_key="EMPTY", usage=usage) as server:
            done = run_cli(
                "run", "three-labs", "--model", "openai:offline-chat?stream=1", "--base-url", server.base_url,
                "--set", "budget.tokens=1000", "--out", str(tmp_path / str(usage)), cwd=tmp_path,
                env=cli_env(without="OPENAI_"),
            )
        assert done.returncode == 1, done.stderr
        lines[usage] = done.stderr.splitlines()
    reported, estimated = lines[True], lines[False]
    assert not any("estimated" in line for line in reported)
    (summary,) = [line for line in reported if line.startswith("budget_exhausted: ")]
    found = re.search(r" ([\d,]+) tokens, unpriced$", summary)  # a local server's model: no price known
    assert found, summary
    tokens = found[1]
    assert int(tokens.replace(",", "")) >= 1_000  # the budget was reached
    marked = summary.replace(" tokens, unpriced", f" tokens ({tokens} estimated), unpriced")
    assert marked in estimated  # the same run, the same summary, marked
    warnings = [line for line in estimated if line.startswith("converse: warning:")]
    assert warnings == [
        f"converse: warning: the model's server sent no token usage: {tokens} of {tokens} tokens are our estimate "
        "(budgets and --tpm count them)"
    ]
    assert (
        f"converse: run three-labs-seed0 ended budget_exhausted: token budget reached: {tokens} of 1,000 tokens "
        f"({tokens} estimated)"
    ) in estimated
    header = next(line for line in estimated if line.startswith("agent "))
    assert header.endswith(" estimated")


@SDK_LEAVES_GENERATORS
def test_a_sweeps_summary_says_how_many_tokens_were_estimated(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    streamed = ""
    with ModelServer(api_key="EMPTY", usage="unstreamed") as server:  # as llama-cpp-python's server
        for stream in (True, True, False):  # the second finds both runs done, and reads their logs
            done = run_cli(
                "sweep", "three-labs", "--model", spec(stream), "--base-url", server.base_url,
                "--set", "clock.end=2024", "--repeats", "2", "--out", str(out if stream else tmp_path / "plain"),
                "-q", cwd=tmp_path, env=cli_env(without="OPENAI_"),
            )
            assert done.returncode == 0, done.stderr
            if stream and not streamed:
                streamed = (out / "summary.csv").read_text(encoding="utf-8")
    rows = converse.sweeps.read_summary_csv(out / "summary.csv", [])
    assert len(rows) == 2
    assert all(r.estimated_tokens == r.prompt_tokens + r.completion_tokens > 0 for r in rows)
    assert (out / "summary.csv").read_text(encoding="utf-8") == streamed  # the same, read back from the logs
    plain = converse.sweeps.read_summary_csv(tmp_path / "plain" / "summary.csv", [])
    assert [r.estimated_tokens for r in plain] == [0, 0]


def test_usage_reads_logs_from_before_the_estimated_flag() -> None:
    old = b'{"prompt_tokens":5,"completion_tokens":7}'
    assert msgspec.json.decode(old, type=Usage) == Usage(prompt_tokens=5, completion_tokens=7, estimated=False)
    assert msgspec.json.encode(Usage(prompt_tokens=5, completion_tokens=7)) == old  # logs stay as they were
    flagged = Usage(prompt_tokens=5, completion_tokens=7, estimated=True)
    assert msgspec.json.decode(msgspec.json.encode(flagged), type=Usage) == flagged
