"""Role-playing on the engine: CAMEL's loop, each termination rule with its reason name, the
task specifier and planner, the critic (model, fallback, person), and re-execution."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest

import converse
from _helpers import run_cli
from converse import CompletionRequest
from converse.camel import chat_record
from converse.events import ConversationEnded, CriticChoice, LLMCall, TaskSpecified, TurnGranted, Utterance
from converse.testing import ScriptedModel, events_of, run_and_read

SCENARIO = "camel-trading-bot"
NO_SPECIFIER = ("roleplay.specifier.enabled=false",)


def instruct(n: int) -> str:
    return f"Instruction: do step {n} of the bot.\nInput: None"


def solve(n: int) -> str:
    return f"Solution: here is step {n}, done carefully with a worked example.\nNext request."


def by_turn(user: Callable[[int], str], assistant: Callable[[int], str]) -> ScriptedModel:
    """A script whose answers depend on the side and on how many turns that side has had."""

    def answer(request: CompletionRequest) -> str | None:
        turn = sum(m.role == "assistant" for m in request.messages) + 1
        if request.hints.kind == "instruction":
            return user(turn)
        if request.hints.kind == "solution":
            return assistant(turn)
        return None

    return ScriptedModel(answer)


async def play(tmp_path: Path, model: ScriptedModel | str, *overrides: str) -> tuple[converse.RunResult, list]:
    return await run_and_read(SCENARIO, model=model, out=tmp_path, overrides=(*NO_SPECIFIER, *overrides))


def said(events: list) -> list[tuple[str, str]]:
    return [(u.actor, u.text) for u in events_of(events, Utterance)]


async def test_task_done_ends_the_chat_without_asking_the_assistant_again(backend: str, tmp_path: Path) -> None:
    model = by_turn(lambda t: instruct(t) if t <= 2 else "<CAMEL_TASK_DONE>", solve)
    result, events = await play(tmp_path, model)
    assert (result.status, result.reason) == ("completed", "<CAMEL_TASK_DONE>")
    assert [a for a, _ in said(events)] == ["user", "assistant", "user", "assistant", "user"]
    assert [c.actor for c in events_of(events, LLMCall)] == ["user", "assistant"] * 2 + ["user"]
    chat = chat_record(events)
    assert chat["num_messages"] == 5
    assert chat["message_5"]["content"] == "<CAMEL_TASK_DONE>"
    assert chat["termination_reason"] == "<CAMEL_TASK_DONE>"


async def test_each_side_sees_its_own_messages_as_assistant_and_the_others_as_user(
    backend: str, tmp_path: Path
) -> None:
    model = by_turn(lambda t: instruct(t) if t <= 2 else "<CAMEL_TASK_DONE>", solve)
    _, events = await play(tmp_path, model)
    prompts = converse.events.prompts_of(events)
    calls = events_of(events, LLMCall)
    last_user = prompts[calls[4].call]
    assert [m.role for m in last_user] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert last_user[1].content.startswith("Now begin giving me instructions")  # the kick-off
    assert last_user[2].content == instruct(1)
    assert last_user[3].content == solve(1)
    last_assistant = prompts[calls[3].call]
    assert [m.role for m in last_assistant] == ["system", "user", "assistant", "user"]
    assert last_assistant[0].content.startswith("===== RULES OF ASSISTANT =====")
    assert "Stock Trader" in last_assistant[0].content
    assert "Never forget our task!" in last_assistant[0].content
    # Turn tokens alternate, and every utterance is made by the token's holder.
    grants = events_of(events, TurnGranted)
    assert [g.actor for g in grants] == ["user", "assistant"] * 2 + ["user"]
    assert [g.period for g in grants][:3] == ["round 1", "round 1", "round 2"]


@pytest.mark.parametrize(
    ("user", "assistant", "overrides", "reason", "saved"),
    [
        # Three rounds without an instruction: the last round is dropped from the dataset.
        (lambda t: instruct(t) if t == 1 else "Let me think about it.", solve, (), "user_no_instruct_threshold", 6),
        # The assistant gives an instruction (a role flip) in round 2.
        (instruct, lambda t: solve(t) if t == 1 else "Instruction: now you test it.\nInput: None", (),
         "assistant_instruct_threshold", 2),
        # Thanks and goodbyes, back and forth: the loop detector stops it.
        (lambda t: instruct(t) if t == 1 else "Thank you so much! Goodbye.",
         lambda t: solve(t) if t == 1 else "Solution: You're welcome, goodbye! Next request.", (),
         "repeat_word_threshold", 4),
        (instruct, solve, ("roleplay.max_messages=6",), "max_num_messages", 6),
    ],
    ids=["user-no-instruct", "assistant-instruct", "thanks-loop", "max-messages"],
)
async def test_termination_rules(
    backend: str, tmp_path: Path, user: Callable[[int], str], assistant: Callable[[int], str],
    overrides: tuple[str, ...], reason: str, saved: int,
) -> None:
    result, events = await play(tmp_path, by_turn(user, assistant), *overrides)
    assert (result.status, result.reason) == ("completed", reason)
    ended = events_of(events, ConversationEnded)
    assert [e.reason for e in ended] == [reason]
    assert chat_record(events)["num_messages"] == saved


async def test_the_default_message_cap_is_forty(backend: str, tmp_path: Path) -> None:
    result, events = await play(tmp_path, by_turn(instruct, solve), "roleplay.token_limit=100000")
    assert result.reason == "max_num_messages"
    assert len(events_of(events, Utterance)) == 40
    assert result.periods == 20


@pytest.mark.parametrize("side", ["USER", "ASSISTANT"])
async def test_a_full_context_ends_the_chat_instead_of_calling(backend: str, tmp_path: Path, side: str) -> None:
    # Both hold the whole chat; the user also holds its longer rules and the kick-off. Long
    # solutions fill the user's context first, long instructions the assistant's (it hears
    # each instruction a turn before the user hears the solution).
    padding = " filler" * 250
    model = by_turn(lambda t: instruct(t) + (padding if side == "ASSISTANT" else ""),
                    lambda t: solve(t) + (padding if side == "USER" else ""))
    limit = 1500
    result, events = await play(tmp_path, model, f"roleplay.token_limit={limit}")
    assert result.reason == f"RoleType.{side}: max_tokens_exceeded"
    prompts = converse.events.prompts_of(events)
    assert all(converse.models._model.estimate_prompt_tokens(prompts[c.call]) < limit for c in events_of(events, LLMCall))
    assert events_of(events, TurnGranted)[-1].actor == side.lower()  # it held the turn and did not call


async def test_specifier_and_planner_shape_the_task_both_agents_are_told(backend: str, tmp_path: Path) -> None:
    model = ScriptedModel(lambda r: {"specify": "Build a momentum bot for NASDAQ tech stocks.",
                                     "plan": "1. Data\n2. Signals\n3. Orders"}.get(r.hints.kind))
    result, events = await run_and_read(
        SCENARIO, model=model, out=tmp_path, overrides=("roleplay.planner.enabled=true", "roleplay.max_messages=2")
    )
    assert result.status == "completed"
    [task] = events_of(events, TaskSpecified)
    assert (task.original, task.specified) == ("Develop a trading bot for the stock market",
                                               "Build a momentum bot for NASDAQ tech stocks.")
    assert task.planned == "1. Data\n2. Signals\n3. Orders"
    specify = next(c for c in events_of(events, LLMCall) if c.purpose == "specify")
    assert specify.params["temperature"] == 1.4
    assert "in 50 words or fewer" in specify.messages[-1].content
    systems = [m.content for c in events_of(events, LLMCall) if c.actor in ("user", "assistant") for m in c.messages
               if m.role == "system"]
    assert systems
    assert all("Build a momentum bot for NASDAQ tech stocks.\n1. Data" in s for s in systems)
    chat = chat_record(events)
    assert chat["specified_task"] == "Build a momentum bot for NASDAQ tech stocks."


async def test_the_2023_kickoff_echoes_the_rules_and_keeps_the_reply_out_of_the_data(
    backend: str, tmp_path: Path
) -> None:
    _result, events = await play(tmp_path, "offline", "roleplay.kickoff=\"echo\"", "roleplay.max_messages=4")
    calls = events_of(events, LLMCall)
    assert calls[0].purpose == "acknowledge"
    assert calls[0].actor == "assistant"
    assert calls[0].messages[1].content == calls[0].messages[0].content  # its own rules, as a message
    first_user = converse.events.prompts_of(events)[calls[1].call]
    assert first_user[1].content.startswith("===== RULES OF USER =====")
    assert first_user[1].content.endswith("Reply only with Instruction and Input.")
    assert chat_record(events)["num_messages"] == 4


def critic_script(answers: list[str]) -> Callable[[CompletionRequest], str | None]:
    """Candidates name themselves; the critic answers from ``answers`` in turn."""
    queue = list(answers)

    def answer(request: CompletionRequest) -> str | None:
        hints = request.hints
        if hints.kind == "critic":
            return queue.pop(0) if queue else "I like them all."
        if hints.kind == "instruction":
            return f"Instruction: option {hints.candidate} of the user.\nInput: None"
        if hints.kind == "solution":
            return f"Solution: option {hints.candidate} of the assistant.\nNext request."
        return None

    return answer


async def test_a_critic_chooses_and_the_proposer_remembers_only_the_choice(backend: str, tmp_path: Path) -> None:
    model = ScriptedModel(critic_script(["2. It is clearer.", "Option 3 is best: 3", "1"]))
    _result, events = await play(
        tmp_path, model, "roleplay.critic.kind=\"model\"", "roleplay.max_messages=3", "roleplay.critic.candidates=3"
    )
    choices = events_of(events, CriticChoice)
    assert [(c.proposer, c.choice, c.by) for c in choices] == [("user", 2, "critic"), ("assistant", 3, "critic"),
                                                                ("user", 1, "critic")]
    assert said(events)[:2] == [("user", "Instruction: option 2 of the user.\nInput: None"),
                                ("assistant", "Solution: option 3 of the assistant.\nNext request.")]
    candidates = [c for c in events_of(events, LLMCall) if c.purpose == "candidate"]
    assert len(candidates) == 9
    prompts = converse.events.prompts_of(events)
    second_user_call = [c for c in candidates if c.actor == "user"][3]
    remembered = [m.content for m in prompts[second_user_call.call] if m.role == "assistant"]
    assert remembered == ["Instruction: option 2 of the user.\nInput: None"]


async def test_a_critic_that_never_chooses_falls_back_after_its_retries(backend: str, tmp_path: Path) -> None:
    model = ScriptedModel(critic_script(["none of them", "I cannot decide", "7"]))
    result, events = await play(
        tmp_path, model, "roleplay.critic.kind=\"model\"", "roleplay.critic.retries=2", "roleplay.max_messages=1"
    )
    assert result.status == "completed"
    [choice] = events_of(events, CriticChoice)
    assert choice.by == "fallback"
    assert 1 <= choice.choice <= 3
    assert "no valid choice in 3 answers" in choice.explanation
    critic_calls = [c for c in events_of(events, LLMCall) if c.actor == "critic"]
    assert len(critic_calls) == 3
    assert "> Invalid choice. Choose again." in converse.events.prompts_of(events)[critic_calls[-1].call][-1].content


async def test_a_roleplay_log_re_executes_without_the_model(backend: str, tmp_path: Path) -> None:
    first = await converse.run_scenario(
        SCENARIO, out=tmp_path / "a", overrides=("roleplay.critic.kind=\"model\"", "roleplay.max_messages=8"), seed=3
    )
    again = await converse.run_scenario(
        SCENARIO, out=tmp_path / "b", overrides=("roleplay.critic.kind=\"model\"", "roleplay.max_messages=8"), seed=3,
        replay_from=first.events,
    )
    assert again.status == "completed"
    assert again.reason == first.reason
    before, after = converse.read_events(first.events), converse.read_events(again.events)
    assert chat_record(after, "x") == chat_record(before, "x")
    assert events_of(after, CriticChoice) == [
        msgspec.structs.replace(c, seq=a.seq, t=a.t, run=again.run)
        for c, a in zip(events_of(before, CriticChoice), events_of(after, CriticChoice), strict=True)
    ]
    assert [c.response for c in events_of(after, LLMCall)] == [c.response for c in events_of(before, LLMCall)]


def test_roleplay_command_prints_the_chat_and_the_run_directory_last(tmp_path: Path) -> None:
    done = run_cli("camel", "roleplay", "--assistant-role", "Chef", "--user-role", "Student", "--task",
                   "Plan a week of cheap dinners", "--max-messages", "4", "--out", "runs", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "Task: Plan a week of cheap dinners"
    assert "[1] Student (AI user):" in lines
    assert "[4] Chef (AI assistant):" in lines
    assert (tmp_path / lines[-1] / "events.jsonl").exists()
    assert "the chat ended: max_num_messages" in done.stderr


def test_a_person_can_be_the_critic(tmp_path: Path) -> None:
    done = run_cli("camel", "roleplay", "--critic", "human", "--candidates", "2", "--max-messages", "2",
                   "--no-specify", "--out", "runs", cwd=tmp_path, stdin="2\nnot a number\n1\n")
    assert done.returncode == 0, done.stderr
    assert "Choose an option:" in done.stderr
    assert "Option 2:" in done.stderr
    events = converse.read_events(tmp_path / done.stdout.splitlines()[-1] / "events.jsonl")
    assert [(c.by, c.choice) for c in events_of(events, CriticChoice)] == [("human", 2), ("human", 1)]
    assert {c.model for c in events_of(events, LLMCall) if c.actor == "critic"} == {"human"}


def test_no_one_at_the_terminal_falls_back_instead_of_hanging(tmp_path: Path) -> None:
    done = run_cli("camel", "roleplay", "--critic", "human", "--max-messages", "1", "--no-specify",
                   "--out", "runs", cwd=tmp_path, stdin="")
    assert done.returncode == 0, done.stderr
    events = converse.read_events(tmp_path / done.stdout.splitlines()[-1] / "events.jsonl")
    assert [c.by for c in events_of(events, CriticChoice)] == ["fallback"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--task", "  "), "--task: must not be empty"),
        (("--user-role", ""), "--user-role: must not be empty"),
        (("--max-messages", "0"), "$.roleplay.max_messages: must be at least 1, not 0"),
        (("--critic", "model", "--candidates", "1"), "$.roleplay.critic.candidates: a critic needs at least 2"),
        (("three-labs",), "three-labs: is not a role-play scenario"),
    ],
)
def test_bad_roleplay_input_gets_one_line_and_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    done = run_cli("camel", "roleplay", *args, "--out", "runs", cwd=tmp_path)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
