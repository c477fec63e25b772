"""Request parameters as real servers take them: any key, tables and arrays, sent as written.

Local servers (vLLM, llama.cpp's, Ollama) take sampling parameters OpenAI does not define
(``top_k``, ``min_p``, ``repeat_penalty``, ``grammar``); OpenAI refuses them with a 400. Every
test goes through the real openai SDK to ``ModelServer`` over HTTP on 127.0.0.1.
"""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

import converse
from _helpers import SDK_LEAVES_GENERATORS, cli_env, run_cli
from converse.events import LLMCall
from converse.scenario import scenario_data, scenario_from_dict
from converse.testing import ModelServer, events_of, run_and_read

PARAMS = [
    "model.params.top_k=40",
    "model.params.min_p=0.05",
    "model.params.repeat_penalty=1.1",
    'model.params.grammar="root ::= [a-z ]+"',
    'model.params.logit_bias={ "50256" = -100, "13" = 5 }',
    'model.params.stop=["\\n\\n", "END"]',
    "model.params.seed=7",
]
SENT = {
    "top_k": 40,
    "min_p": 0.05,
    "repeat_penalty": 1.1,
    "grammar": "root ::= [a-z ]+",
    "logit_bias": {"50256": -100, "13": 5},
    "stop": ["\n\n", "END"],
    "seed": 7,
}


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_parameters_the_sdk_does_not_know_reach_the_server_as_written(
    stream: bool, tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key="EMPTY") as server:
        model = converse.open_model("openai:offline-chat" + ("?stream=1" if stream else ""), base_url=server.base_url)
        try:
            result, events = await run_and_read(
                "three-labs", model=model, out=tmp_path, overrides=["clock.end=2023", *PARAMS]
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        sent = server.requests
    assert result.status == "completed", result.reason
    assert sent
    for body in sent:
        assert {k: body[k] for k in SENT} == SENT
        assert "extra_body" not in body
    # The log records what was sent.
    calls = events_of(events, LLMCall)
    assert all({k: c.params[k] for k in SENT} == SENT for c in calls)


@SDK_LEAVES_GENERATORS
async def test_a_strict_server_refuses_an_unknown_parameter_and_the_run_says_which(
    tmp_path: Path, backend: str
) -> None:
    with ModelServer(api_key="EMPTY", strict=True) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, _ = await run_and_read(
                "three-labs", model=model, out=tmp_path, overrides=["clock.end=2023", "model.params.top_k=40"]
            )
            fine, _ = await run_and_read(
                "three-labs", model=model, out=tmp_path / "fine",
                overrides=["clock.end=2023", 'model.params.logit_bias={ "13" = 5 }'],
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert result.status == "failed"
    assert "answered 400: " in result.reason
    assert "Unrecognized request argument supplied: top_k" in result.reason
    assert fine.status == "completed", fine.reason  # an OpenAI parameter, table-valued, is taken


def test_the_command_line_sends_a_table_parameter(tmp_path: Path) -> None:
    with ModelServer(api_key="EMPTY") as server:
        done = run_cli(
            "run", "three-labs", "--model", "openai:offline-chat", "--base-url", server.base_url,
            "--set", "clock.end=2023", "--set", 'model.params.logit_bias={ "50256" = -100 }',
            "--set", "model.params.top_k=40", "--out", str(tmp_path), "-q",
            cwd=tmp_path, env=cli_env(without="OPENAI_"),
        )
        sent = server.requests
    assert done.returncode == 0, done.stderr
    assert all(b["logit_bias"] == {"50256": -100} and b["top_k"] == 40 for b in sent)


def test_a_parameter_that_cannot_be_sent_is_named_with_its_key_path() -> None:
    raw = scenario_data("three-labs")
    raw["model"] = {"params": {"response_format": {"type": "json_object", "since": datetime.date(2024, 1, 1)}}}
    with pytest.raises(converse.ScenarioError) as caught:
        scenario_from_dict(raw, "labs.toml")
    assert (caught.value.file, caught.value.path) == ("labs.toml", "$.model.params.response_format.since")
    raw["model"] = {"params": {"stream": True}}
    with pytest.raises(converse.ScenarioError) as caught:
        scenario_from_dict(raw, "labs.toml")
    assert caught.value.path == "$.model.params.stream"
    assert "converse sets 'stream' itself" in caught.value.problem


@SDK_LEAVES_GENERATORS
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
async def test_a_model_that_refuses_max_tokens_gets_max_completion_tokens(
    stream: bool, tmp_path: Path, backend: str
) -> None:
    # OpenAI's reasoning models refuse max_tokens with a 400 and take max_completion_tokens only;
    # local servers ignore the newer name, so it is sent only to a server that asks for it.
    with ModelServer(api_key="EMPTY", refuses_max_tokens=True) as server:
        spec = "openai:offline-chat" + ("?stream=1" if stream else "")
        model = converse.open_model(spec, base_url=server.base_url)
        try:
            first, _ = await run_and_read("three-labs", model=model, out=tmp_path / "one", overrides=["clock.end=2023"])
            second, _ = await run_and_read("three-labs", model=model, out=tmp_path / "two", overrides=["clock.end=2023"])
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        bodies = server.requests
        stats = server.stats()
    assert first.status == second.status == "completed", (first.reason, second.reason)
    assert first.judge_error is None
    assert stats.rejected == 1  # asked once, remembered by the model for every later call
    assert "max_tokens" in bodies[0]
    assert "max_completion_tokens" not in bodies[0]
    assert all(b["max_completion_tokens"] > 0 for b in bodies[1:])
    assert not any("max_tokens" in b for b in bodies[1:])


def test_max_completion_tokens_is_set_by_converse_itself() -> None:
    with pytest.raises(converse.ScenarioError, match=r"\$\.model\.params\.max_completion_tokens: converse sets"):
        scenario_from_dict({**scenario_data("three-labs"), "model": {"params": {"max_completion_tokens": 9}}})
