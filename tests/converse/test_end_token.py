"""CAMEL's end token ends a chat where the user says the task is done, not where a model only
mentions it (as one restating its instructions does)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import converse
from _helpers import SDK_LEAVES_GENERATORS
from converse import CompletionRequest
from converse.camel import chat_record, dataset_stats
from converse.camel._stats import stats_markdown
from converse.events import Utterance
from converse.testing import Faults, ModelServer, ScriptedModel, events_of, run_and_read

SCENARIO = "camel-trading-bot"
DONE = "<CAMEL_TASK_DONE>"
# What a small model said as its first message in a real run: its instructions, restated.
RESTATED = f"Understood. I will give you one instruction at a time, and I'll respond with {DONE} after the task is complete."



def by_turn(user: Callable[[int], str]) -> ScriptedModel:
    def answer(request: CompletionRequest) -> str | None:
        turn = sum(m.role == "assistant" for m in request.messages) + 1
        if request.hints.kind == "instruction":
            return user(turn)
        if request.hints.kind == "solution":
            return f"Solution: step {turn}, done.\nNext request."
        return None

    return ScriptedModel(answer)


def first_turns(turn: int) -> str:
    if turn == 1:
        return RESTATED
    if turn == 2:
        return "Instruction: write the bot's first module.\nInput: None"
    return f"The module works, thank you.\n\n**{DONE}**"


async def test_a_restatement_of_the_rules_does_not_end_the_chat(backend: str, tmp_path: Path) -> None:
    result, events = await run_and_read(
        SCENARIO, model=by_turn(first_turns), out=tmp_path, overrides=["roleplay.specifier.enabled=false"]
    )
    assert (result.status, result.reason) == ("completed", DONE)
    users = [u.text for u in events_of(events, Utterance) if u.actor == "user"]
    assert users == [RESTATED, first_turns(2), first_turns(3)]  # it went on past the first message
    chat = chat_record(events)
    assert dataset_stats([chat], [], 0).done_without_instruction == 0


async def test_a_chat_done_before_any_instruction_is_counted(backend: str, tmp_path: Path) -> None:
    result, events = await run_and_read(
        SCENARIO, model=by_turn(lambda _: DONE), out=tmp_path, overrides=["roleplay.specifier.enabled=false"]
    )
    assert result.reason == DONE  # CAMEL's rule: the token alone ends the chat
    stats = dataset_stats([chat_record(events)], [], 0)
    assert stats.done_without_instruction == 1
    assert "Ended on the end token with no instruction carried out:** 1" in stats_markdown(stats)


@SDK_LEAVES_GENERATORS
async def test_a_model_that_echoes_its_instructions_over_http_is_not_done(backend: str, tmp_path: Path) -> None:
    # Every answer is the request's system prompt, which names the end token mid-sentence.
    with ModelServer(api_key="EMPTY", faults=Faults(rate_echo=1.0)) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            result, events = await run_and_read(
                SCENARIO, model=model, out=tmp_path,
                overrides=["roleplay.specifier.enabled=false", "roleplay.max_messages=6"],
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    first = events_of(events, Utterance)[0]
    assert first.actor == "user"
    assert DONE in first.text  # the echo names the token
    assert result.status == "completed"
    assert result.reason != DONE
    assert len(events_of(events, Utterance)) > 1
