"""Role-play logs as CAMEL-style datasets: chat and instruction records, fine-tuning examples,
list files, dataset figures and Markdown transcripts, from hand-built event logs."""

from __future__ import annotations

import itertools
import json
import pickle
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from converse import read_events, render_markdown
from converse.camel import (
    ChatUnfinished,
    ListFileError,
    NotARolePlay,
    chat_record,
    dataset_stats,
    finetune_record,
    instruction_records,
    parse_list,
    render_roleplay_markdown,
)
from converse.camel._lists import read_list_file, write_list_file
from converse.camel._stats import RunTotals, stats_json, stats_markdown
from converse.events import (
    AnyEvent,
    ChatMessage,
    ConversationEnded,
    ConversationStarted,
    CriticChoice,
    Event,
    LLMCall,
    RunError,
    RunFinished,
    RunStarted,
    SharedPrefix,
    TaskSpecified,
    TurnGranted,
    Usage,
    Utterance,
)
from converse.log import LogWriter
from converse.transcript._camel import roleplay_log, solution_text

RUN = "rp-1"
TOP = ("top",)
DONE = "<CAMEL_TASK_DONE>"
ASSISTANT_SYSTEM = "RULES OF ASSISTANT for Python Programmer"
USER_SYSTEM = "RULES OF USER for Stock Trader"


def table(**changes: Any) -> dict[str, Any]:
    play = {
        "assistant_role": "Python Programmer",
        "user_role": "Stock Trader",
        "task": "Develop a trading bot",
        "kickoff": "instructions",
        "end_token": DONE,
        "max_messages": 40,
        "critic": {"kind": "none", "candidates": 3, "proposers": "both"},
    }
    return play | changes


def ask(n: int) -> str:
    return f"Instruction: Do step {n}.\nInput: data {n}"


def answer(n: int) -> str:
    return f"Solution: Step {n} done.\nNext request."


class Play:
    """Builds a role-play's events in order, as the engine emits them."""

    def __init__(
        self, *, roleplay: dict[str, Any] | None = None, planned: str | None = None, echo: bool = False
    ):
        scenario = {"name": "trader", "title": "Trading bot", "agents": [], "roleplay": roleplay or table()}
        self.events: list[Event] = [
            RunStarted(
                run=RUN,
                scenario_name="trader",
                source="trader.toml",
                scenario=scenario,
                seed=7,
                model="offline",
                engine_version="0.1.0",
            )
        ]
        self.calls = itertools.count()
        self.turns = itertools.count()
        self.first_assistant: int | None = None
        self.call(("top", "task"), "task specifier", "specify", [], "A bot that trades tech stocks.")
        self.events.append(
            TaskSpecified(
                run=RUN,
                assistant_role="Python Programmer",
                user_role="Stock Trader",
                original="Develop a trading bot",
                specified="A bot that trades tech stocks.",
                planned=planned,
            )
        )
        self.events.append(ConversationStarted(run=RUN, conversation=TOP, members=("user", "assistant")))
        if echo:  # CAMEL 2023: the assistant first answers its own rules (never in the dataset)
            self.call(TOP, "assistant", "acknowledge", self.assistant_prompt("ok?"), "Understood.")

    def assistant_prompt(self, text: str) -> list[ChatMessage]:
        return [ChatMessage(role="system", content=ASSISTANT_SYSTEM), ChatMessage(role="user", content=text)]

    def call(
        self, path: tuple[str, ...], actor: str, purpose: str, messages: list[ChatMessage], response: str
    ) -> None:
        number = next(self.calls)
        shared = None
        if actor == "assistant":
            if self.first_assistant is None:
                self.first_assistant = number
            else:  # later calls share the system message with the first (delta-encoded)
                shared, messages = SharedPrefix(call=self.first_assistant, count=1), messages[1:]
        self.events.append(
            LLMCall(
                run=RUN,
                call=number,
                conversation=path,
                actor=actor,
                purpose=purpose,
                model="offline",
                messages=messages,
                params={},
                response=response,
                usage=Usage(prompt_tokens=10, completion_tokens=5),
                latency=0.0,
                shared=shared,
            )
        )

    def grant(self, actor: str, r: int) -> None:
        turn = next(self.turns)
        self.events.append(
            TurnGranted(run=RUN, conversation=TOP, actor=actor, period=f"round {r}", turn=turn, token=turn)
        )

    def say(self, actor: str, r: int, text: str) -> None:
        self.grant(actor, r)
        if actor == "user":
            prompt = [ChatMessage(role="system", content=USER_SYSTEM), ChatMessage(role="user", content="go")]
            self.call(TOP, "user", "instruction", prompt, text)
        else:
            self.call(TOP, "assistant", "solution", self.assistant_prompt("instruction"), text)
        turn = self.events[-2].turn  # type: ignore[attr-defined]
        self.events.append(
            Utterance(run=RUN, conversation=TOP, actor=actor, period=f"round {r}", turn=turn, text=text)
        )

    def round(self, r: int, user: str | None = None, assistant: str | None = None) -> Play:
        self.say("user", r, user if user is not None else ask(r))
        self.say("assistant", r, assistant if assistant is not None else answer(r))
        return self

    def choose(self, proposer: str, options: list[str], choice: int, by: str = "critic") -> None:
        self.events.append(
            CriticChoice(
                run=RUN,
                conversation=TOP,
                proposer=proposer,
                critic="critic",
                options=options,
                choice=choice,
                by=by,  # type: ignore[arg-type]
                explanation="Option 2 is more concrete.",
            )
        )

    def end(self, reason: str, *, rounds: int, period: str | None = None) -> list[AnyEvent]:
        said = sum(type(e) is Utterance for e in self.events)
        self.events.append(
            ConversationEnded(run=RUN, conversation=TOP, reason=reason, turns=said, period=period)
        )
        return self.finish("completed", reason, rounds=rounds)

    def finish(self, status: str, reason: str, *, rounds: int) -> list[AnyEvent]:
        said = sum(type(e) is Utterance for e in self.events)
        calls = sum(type(e) is LLMCall for e in self.events)
        self.events.append(
            RunFinished(
                run=RUN,
                status=status,  # type: ignore[arg-type]
                reason=reason,
                periods=rounds,
                turns=said,
                llm_calls=calls,
                prompt_tokens=10 * calls,
                completion_tokens=5 * calls,
                cost_usd=0.01 * calls,
            )
        )
        return self.stamped()

    def stamped(self) -> list[AnyEvent]:
        for seq, event in enumerate(self.events):
            event.seq = seq
        return list(self.events)  # type: ignore[arg-type]


def contents(chat: dict[str, Any]) -> list[str]:
    return [chat[f"message_{k}"]["content"] for k in range(1, chat["num_messages"] + 1)]


def task_done() -> list[AnyEvent]:
    play = Play().round(1).round(2)
    play.say("user", 3, DONE)
    return play.end(DONE, rounds=3)


# Chat records: which messages each termination reason saves


def test_chat_record_has_camel_fields_in_order() -> None:
    chat = chat_record(task_done())
    assert list(chat) == [
        "id",
        "role_1",
        "role_2",
        "original_task",
        "specified_task",
        *(f"message_{k}" for k in range(1, 6)),
        "termination_reason",
        "num_messages",
    ]
    assert chat["id"] == RUN
    assert chat["role_1"] == "Python Programmer_RoleType.ASSISTANT"
    assert chat["role_2"] == "Stock Trader_RoleType.USER"
    assert chat["original_task"] == "Develop a trading bot"
    assert chat["specified_task"] == "A bot that trades tech stocks."
    assert chat["message_1"] == {
        "role_type": "USER",
        "role_name": "Stock Trader",
        "role": "user",
        "content": ask(1),
    }
    assert chat["message_2"] == {
        "role_type": "ASSISTANT",
        "role_name": "Python Programmer",
        "role": "user",
        "content": answer(1),
    }


def test_end_token_keeps_the_users_final_message() -> None:
    chat = chat_record(task_done(), "001_002_003")
    assert chat["id"] == "001_002_003"
    assert chat["termination_reason"] == DONE
    assert chat["num_messages"] == 5
    assert contents(chat) == [ask(1), answer(1), ask(2), answer(2), DONE]


def test_a_custom_end_token_is_the_reason_and_keeps_the_final_message() -> None:
    play = Play(roleplay=table(end_token="ALL DONE")).round(1)
    play.say("user", 2, "ALL DONE")
    chat = chat_record(play.end("ALL DONE", rounds=2))
    assert contents(chat) == [ask(1), answer(1), "ALL DONE"]


def test_max_num_messages_keeps_everything() -> None:
    play = Play(roleplay=table(max_messages=4)).round(1).round(2)
    chat = chat_record(play.end("max_num_messages", rounds=2))
    assert chat["num_messages"] == 4
    assert contents(chat) == [ask(1), answer(1), ask(2), answer(2)]


@pytest.mark.parametrize(
    ("reason", "user", "assistant"),
    [
        ("user_no_instruct_threshold", "Thanks, that helps.", "Solution: You are welcome. Next request."),
        ("assistant_instruct_threshold", ask(3), "Instruction: Now you buy the stock.\nInput: None"),
        ("repeat_word_threshold", "Thank you! Goodbye.", "Solution: Goodbye, thank you. Next request."),
    ],
)
def test_rule_violations_drop_the_final_round(reason: str, user: str, assistant: str) -> None:
    play = Play().round(1).round(2).round(3, user, assistant)
    chat = chat_record(play.end(reason, rounds=3))
    assert chat["termination_reason"] == reason
    assert contents(chat) == [ask(1), answer(1), ask(2), answer(2)]
    assert chat["num_messages"] == 4


def test_user_context_full_ends_a_round_in_which_nobody_spoke() -> None:
    play = Play().round(1).round(2)
    play.grant("user", 3)  # the user's prompt is too long: no call, no message
    chat = chat_record(play.end("RoleType.USER: max_tokens_exceeded", rounds=3))
    assert contents(chat) == [ask(1), answer(1), ask(2), answer(2)]


def test_user_context_full_by_the_conversation_ended_period() -> None:
    play = Play().round(1).round(2)
    chat = chat_record(play.end("RoleType.USER: max_tokens_exceeded", rounds=3, period="round 3"))
    assert chat["num_messages"] == 4


def test_assistant_context_full_drops_the_users_last_instruction() -> None:
    play = Play().round(1).round(2)
    play.say("user", 3, ask(3))
    play.grant("assistant", 3)
    chat = chat_record(play.end("RoleType.ASSISTANT: max_tokens_exceeded", rounds=3))
    assert contents(chat) == [ask(1), answer(1), ask(2), answer(2)]


def test_planned_task_follows_the_specified_task() -> None:
    play = Play(planned="1. Fetch prices\n2. Backtest").round(1)
    chat = chat_record(play.end("max_num_messages", rounds=1))
    assert list(chat)[:6] == ["id", "role_1", "role_2", "original_task", "specified_task", "planned_task"]
    assert chat["planned_task"] == "1. Fetch prices\n2. Backtest"
    assert "planned_task" not in chat_record(task_done())


def test_echo_kickoff_and_critic_candidates_are_not_messages() -> None:
    play = Play(echo=True)
    play.choose("user", ["Instruction: A\nInput: None", "Instruction: B\nInput: None"], 2)
    play.round(1, "Instruction: B\nInput: None")
    chat = chat_record(play.end("max_num_messages", rounds=1))
    assert contents(chat) == ["Instruction: B\nInput: None", answer(1)]


def test_events_survive_the_log_round_trip(tmp_path: Path) -> None:
    events = task_done()
    path = tmp_path / "events.jsonl"
    clock = itertools.count()
    with LogWriter(path, clock=lambda: next(clock) / 1000) as writer:
        for event in events:
            writer.write(event)
    assert chat_record(read_events(path)) == chat_record(events)


def test_not_a_roleplay() -> None:
    play = Play()
    started = play.events[0]
    assert isinstance(started, RunStarted)
    started.scenario = {"name": "labs", "agents": [{"name": "OpenAI"}], "roleplay": None}
    with pytest.raises(NotARolePlay, match=r"^labs\.jsonl: not a role-play"):
        chat_record(play.stamped(), source="labs.jsonl")
    with pytest.raises(NotARolePlay, match="run_started"):
        chat_record([])


def test_unfinished_and_failed_runs_have_no_chat() -> None:
    play = Play().round(1)
    with pytest.raises(ChatUnfinished, match=r"^run\.jsonl: the run did not complete: unfinished"):
        chat_record(play.stamped(), source="run.jsonl")
    play.events.append(RunError(run=RUN, error_type="RateLimitError", message="429", fatal=True))
    events = play.finish("failed", "RateLimitError", rounds=1)
    with pytest.raises(ChatUnfinished, match=r"failed \(RateLimitError\)") as caught:
        chat_record(events)
    with pytest.raises(ChatUnfinished):
        finetune_record(events)
    again = pickle.loads(pickle.dumps(caught.value))
    assert str(again) == str(caught.value)
    assert again.status == "failed"


# Instruction records


def chat_of(*messages: str, reason: str = "max_num_messages") -> dict[str, Any]:
    chat: dict[str, Any] = {
        "id": "c1",
        "role_1": "Python Programmer_RoleType.ASSISTANT",
        "role_2": "Stock Trader_RoleType.USER",
        "original_task": "t",
        "specified_task": "st",
    }
    for k, text in enumerate(messages, 1):
        kind = "USER" if k % 2 else "ASSISTANT"
        chat[f"message_{k}"] = {"role_type": kind, "role_name": "x", "role": "user", "content": text}
    chat["termination_reason"] = reason
    chat["num_messages"] = len(messages)
    return chat


def test_instruction_records_fields() -> None:
    records = instruction_records(chat_record(task_done()))
    assert len(records) == 2  # the end token is no instruction
    assert list(records[0]) == [
        "id",
        "role_1",
        "role_2",
        "original_task",
        "specified_task",
        "role_1_response",
        "role_1_message_id",
        "instruction",
        "input",
        "output",
        "termination_reason",
    ]
    assert records[1] | {} == {
        "id": RUN,
        "role_1": "Python Programmer_RoleType.ASSISTANT",
        "role_2": "Stock Trader_RoleType.USER",
        "original_task": "Develop a trading bot",
        "specified_task": "A bot that trades tech stocks.",
        "role_1_response": "",
        "role_1_message_id": 3,
        "instruction": "Do step 2.",
        "input": "data 2",
        "output": "Step 2 done.",
        "termination_reason": DONE,
    }


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Instruction: Buy.\nInput: None", ("", "Buy.", "None")),
        ("Great work!\n\nInstruction: Sell.\nInput: 10 shares", ("Great work!", "Sell.", "10 shares")),
        ("instruction: lower case please input: a list", ("", "lower case please", "a list")),
        ("**Instruction:** Bold.\n**Input:** bold input", ("", "Bold.", "bold input")),
        ("Instruction: No input line at all.", ("", "No input line at all.", "")),
        ("INSTRUCTION : Shout.\n  Input : quietly", ("", "Shout.", "quietly")),
        (
            "Instruction: Parse the input: a CSV file\nInput: prices.csv",
            ("", "Parse the input: a CSV file", "prices.csv"),
        ),
        ("Instruction:\nInput:", ("", "", "")),
    ],
)
def test_instruction_parsing(message: str, expected: tuple[str, str, str]) -> None:
    (record,) = instruction_records(chat_of(message, "Solution: ok Next request."))
    assert (record["role_1_response"], record["instruction"], record["input"]) == expected


@pytest.mark.parametrize(
    ("reply", "output"),
    [
        ("Solution: Use pandas.\n\nNext request.", "Use pandas."),
        ("solution:use pandas. next request", "use pandas."),
        ("**Solution:** Use pandas.\n**Next request.**", "Use pandas."),
        ("Use pandas.", "Use pandas."),
        ("Solution: Next request. Then more.", "Next request. Then more."),
    ],
)
def test_solution_markers_are_removed(reply: str, output: str) -> None:
    (record,) = instruction_records(chat_of(ask(1), reply))
    assert record["output"] == output


# The markers as CAMEL's format defines them: patterns tried at every position of a reply.
_SOLUTION_MARK = re.compile(r"^\s*[*_`]*\s*solution\s*[*_`]*\s*:[*_`]*", re.IGNORECASE)
_NEXT_REQUEST_MARK = re.compile(r"[*_`]*\s*next\s+request\s*[.!]?\s*[*_`]*\s*$", re.IGNORECASE)
# What a reply's ends are made of, with the letters IGNORECASE folds (long s is an "s", dotless i an "i").
_PIECES = [*"nextrequsoliNEXTREQUSOLI\u017f\u0131K \t\n\u2003*_`.!:ab", "Next request.", "next  request", "Solution:",
           "**Solution:**", " NEXT REQUEST! ", "reque\u017ft", "Next request.\n"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_the_markers_are_cut_exactly_where_the_patterns_match(reply: str) -> None:
    expected = _NEXT_REQUEST_MARK.sub("", _SOLUTION_MARK.sub("", reply, count=1).strip()).strip()
    assert solution_text(reply) == expected


def test_only_user_messages_answered_by_the_assistant_count() -> None:
    chat = chat_of("No instruction here.", "Solution: fine", ask(2), answer(2), ask(3))
    records = instruction_records(chat)
    assert [r["role_1_message_id"] for r in records] == [3]


def test_odd_chats_do_not_raise() -> None:
    assert instruction_records({}) == []
    odd: dict[str, Any] = {"message_1": "text", "message_x": {}, "message_2": {"role_type": "ASSISTANT"}}
    assert instruction_records(odd) == []
    assert (
        instruction_records({"message_1": {"role_type": "USER"}, "message_2": {"role_type": "ASSISTANT"}})
        == []
    )
    (record,) = instruction_records(
        {
            "message_2": {"role_type": "ASSISTANT"},
            "message_1": {"role_type": "USER", "content": "Instruction: x"},
        }
    )
    assert record["id"] == ""
    assert record["instruction"] == "x"
    assert record["output"] == ""


# Fine-tuning examples


def test_finetune_record_is_the_assistants_side() -> None:
    record = finetune_record(task_done())
    assert record is not None
    assert record["messages"] == [
        {"role": "system", "content": ASSISTANT_SYSTEM},
        {"role": "user", "content": ask(1)},
        {"role": "assistant", "content": answer(1)},
        {"role": "user", "content": ask(2)},
        {"role": "assistant", "content": answer(2)},
    ]  # the end token, a trailing user message, is dropped
    json.dumps(record)


def test_finetune_record_rebuilds_delta_encoded_prompts_and_skips_the_echo() -> None:
    play = Play(echo=True).round(1)
    events = play.end("max_num_messages", rounds=1)
    solution = next(e for e in events if type(e) is LLMCall and e.purpose == "solution")
    assert solution.shared is not None  # its system message is only in the acknowledge call
    record = finetune_record(events)
    assert record is not None
    assert record["messages"][0] == {"role": "system", "content": ASSISTANT_SYSTEM}


def test_finetune_record_is_none_without_a_pair() -> None:
    play = Play().round(1, ask(1), "Instruction: you do it.")
    assert finetune_record(play.end("assistant_instruct_threshold", rounds=1)) is None


# Lists of roles and tasks


def test_parse_list_formats() -> None:
    text = """Here are some roles:

1. Accountant
2) Actor
3: Artist
- Blogger
* Chef
**6. Dancer**
7. **Engineer** - builds things
8. "Farmer"
9. accountant
10.Gardener
(11) Historian
"""
    assert parse_list(text) == [
        "Accountant",
        "Actor",
        "Artist",
        "Blogger",
        "Chef",
        "Dancer",
        "Engineer - builds things",
        "Farmer",
        "Gardener",
        "Historian",
    ]
    assert parse_list(text, limit=3) == ["Accountant", "Actor", "Artist"]
    assert parse_list(text, limit=0) == []


def test_parse_list_falls_back_to_lines() -> None:
    assert parse_list("Accountant\n\n  Meet at 1:30 pm  \n'Actor'\nactor\n") == [
        "Accountant",
        "Meet at 1:30 pm",
        "Actor",
    ]
    assert parse_list("") == []
    assert parse_list("3.5 million\n2023 was a year") == ["3.5 million", "2023 was a year"]


def test_read_and_write_list_files(tmp_path: Path) -> None:
    path = tmp_path / "lists" / "roles.txt"
    write_list_file(path, ["Accountant", "Stock\nTrader", "Zoologist"])
    assert path.read_text() == "1. Accountant\n2. Stock Trader\n3. Zoologist\n"
    assert [p.name for p in path.parent.iterdir()] == ["roles.txt"]  # no temporary left behind
    assert read_list_file(path) == ["Accountant", "Stock Trader", "Zoologist"]
    mixed = tmp_path / "tasks.txt"
    mixed.write_text(
        "\ufeff# tasks for the traders\n1. Build a bot\n\nPlain task  \n  # indented comment\n3) Third\n",
        encoding="utf-8",
    )
    assert read_list_file(mixed) == ["Build a bot", "Plain task", "Third"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "no such file"), (b"\xff\xfe roles", "not UTF-8 text"), (b"# only\n\n  \n", "holds no entries")],
)
def test_list_file_errors(tmp_path: Path, content: bytes | None, problem: str) -> None:
    path = tmp_path / "roles.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ListFileError) as caught:
        read_list_file(path)
    assert str(caught.value) == f"{path}: {problem}"
    assert caught.value.problem == problem
    assert str(pickle.loads(pickle.dumps(caught.value))) == str(caught.value)


def test_a_directory_is_no_list_file(tmp_path: Path) -> None:
    with pytest.raises(ListFileError, match="cannot read"):
        read_list_file(tmp_path)


# Dataset figures


def test_dataset_stats() -> None:
    chats = [
        chat_record(task_done()),  # 5 messages, 2 pairs
        chat_record(
            Play().round(1).round(2).round(3, "hi", "bye").end("user_no_instruct_threshold", rounds=3)
        ),
        chat_record(Play().round(1, ask(1), "Instruction: x").end("assistant_instruct_threshold", rounds=1)),
        chat_record(Play().round(1, ask(1), "Instruction: x").end("assistant_instruct_threshold", rounds=1)),
    ]
    runs = [RunTotals(llm_calls=10, prompt_tokens=100, completion_tokens=50, cost_usd=0.5)] * 5
    stats = dataset_stats(chats, runs, failures=1)
    assert stats.conversations == 4
    assert stats.failed == 1
    assert stats.reasons == {"assistant_instruct_threshold": 2, DONE: 1, "user_no_instruct_threshold": 1}
    assert next(iter(stats.reasons)) == "assistant_instruct_threshold"
    m = stats.messages
    assert (m.min, m.max, m.mean, m.median) == (0, 5, 2.25, 2.0)
    assert m.p10 == pytest.approx(0.0)
    assert m.p90 == pytest.approx(4.7)
    assert m.histogram["0"] == 2
    assert m.histogram["1-5"] == 2
    assert m.histogram["41+"] == 0
    assert list(m.histogram) == [
        "0",
        "1-5",
        "6-10",
        "11-15",
        "16-20",
        "21-25",
        "26-30",
        "31-35",
        "36-40",
        "41+",
    ]
    assert stats.instruction_pairs == 4
    assert stats.instruction_pairs_mean == 1.0
    assert (stats.tokens.prompt, stats.tokens.completion, stats.tokens.total) == (500, 250, 750)
    assert stats.tokens.mean_per_chat == 150.0
    assert stats.llm_calls == 50
    assert stats.cost_usd == pytest.approx(2.5)

    md = stats_markdown(stats)
    assert "- **Conversations:** 4 completed, 1 failed" in md
    assert "| assistant\\_instruct\\_threshold | 2 | 50.0% |" in md
    assert "| \\<CAMEL\\_TASK\\_DONE\\> | 1 | 25.0% |" in md
    assert "  0 | " + "█" * 40 + " 2" in md
    assert "6-10 | 0" in md

    decoded = json.loads(stats_json(stats))
    assert decoded["reasons"] == stats.reasons
    assert decoded["messages"]["max"] == 5
    assert stats_json(stats).startswith(b'{\n  "conversations": 4')


def test_stats_of_nothing() -> None:
    stats = dataset_stats([], [], failures=0)
    assert stats.messages.mean == 0
    assert stats.tokens.mean_per_chat == 0
    assert "No completed conversations." in stats_markdown(stats)
    one = dataset_stats([chat_record(task_done())], [RunTotals()], failures=0)
    assert one.messages.p10 == one.messages.p90 == 5


# Markdown transcripts


def test_render_dispatches_to_the_roleplay_layout() -> None:
    events = task_done()
    md = render_markdown(events)
    assert md == render_roleplay_markdown(events) == render_markdown(iter(events))  # a log read as it is rendered
    assert md.startswith("# Trading bot\n\n- **Scenario:** trader\n")
    assert "- **Roles:** Stock Trader (AI user) instructs Python Programmer (AI assistant)\n" in md
    assert "- **Status:** completed (\\<CAMEL\\_TASK\\_DONE\\>)\n" in md
    assert "- **Messages:** 5 said, 5 saved to the dataset (limit 40)\n" in md
    assert "> Develop a trading bot" in md
    assert "> A bot that trades tech stocks." in md
    marks = [
        "### 1. Stock Trader (AI user)",
        "### 2. Python Programmer (AI assistant)",
        "### 5. Stock Trader (AI user)",
    ]
    assert md.index(marks[0]) < md.index(marks[1]) < md.index(marks[2]) < md.index("## End")
    for n in (1, 2):
        assert f"> Instruction: Do step {n}.\n> Input: data {n}" in md
        assert f"> Solution: Step {n} done.\n> Next request." in md
    assert "> &lt;CAMEL_TASK_DONE>" in md
    assert "not saved" not in md
    assert md.endswith(
        "## End\n\nThe chat ended (\\<CAMEL\\_TASK\\_DONE\\>) after 5 messages; 5 saved to the dataset.\n"
    )


def test_render_marks_the_dropped_round_and_the_plan() -> None:
    play = Play(planned="1. Fetch prices").round(1).round(2, ask(2), "Instruction: your turn")
    md = render_markdown(play.end("assistant_instruct_threshold", rounds=2))
    assert "**Plan**\n\n> 1. Fetch prices" in md
    head, dropped = md.split("### 3. Stock Trader (AI user)")
    assert "not saved" not in head
    assert dropped.count("_(not saved to the dataset: the chat ended in this round)_") == 2
    assert "2 saved to the dataset" in md


def test_render_notes_critic_choices() -> None:
    play = Play(roleplay=table(critic={"kind": "model", "candidates": 3, "proposers": "user"}))
    options = ["Instruction: A\nInput: None", "Instruction: B\nInput: None", "Instruction: C </details>"]
    play.choose("user", options, 2)
    play.round(1, options[1])
    play.choose("user", options, 3, by="fallback")
    play.round(2, options[2])
    md = render_markdown(play.end("max_num_messages", rounds=2))
    assert "- **Critic:** model, 3 candidates for user\n" in md
    first = md.index("_Chosen by the critic (critic) from 3 candidates: option 2._")
    assert md.index("### 1. Stock Trader") < first < md.index("### 2. Python Programmer")
    assert "<details><summary>The other 2 candidates and the critic's reasons</summary>" in md
    assert "**Option 1**\n\n> Instruction: A" in md
    assert "> Option 2 is more concrete." in md
    assert "_Picked at random (seeded) from 3 candidates, option 3: the critic gave no valid choice._" in md
    assert "</details>" not in md.replace("\n</details>", "")  # only our own closing tags
    assert md.count("<details>") == md.count("\n</details>") == 2


def test_render_keeps_model_text_inside_its_message() -> None:
    nasty = "# Heading\n<script>alert(1)</script>\n```python\nprint('unclosed')\n\nafter a blank line"
    play = Play().round(1, ask(1), nasty)
    md = render_markdown(play.end("max_num_messages", rounds=1))
    assert "<script>" not in md
    assert (
        "> \\# Heading\n> &lt;script>alert(1)&lt;/script>\n> ```python\n> print('unclosed')\n>\n> after a blank line\n"
        in md
    )
    assert "\n# Heading" not in md


def test_render_unfinished_and_failed_logs() -> None:
    play = Play().round(1)
    play.say("user", 2, ask(2))
    md = render_markdown(play.stamped())
    assert "- **Status:** unfinished\n" in md
    assert "- **Termination:** none (the chat did not end)\n" in md
    assert "- **Messages:** 3 said, none saved (the chat did not end) (limit 40)\n" in md
    assert "- **Model use:** 4 calls so far, 60 tokens (40 prompt, 20 completion)\n" in md
    assert "### 3. Stock Trader (AI user)" in md
    assert "not saved" not in md
    assert md.endswith("The log stops after 3 messages: the run did not finish.\n")
    play.events.append(RunError(run=RUN, error_type="RateLimitError", message="429 too many", fatal=True))
    md = render_markdown(play.finish("failed", "RateLimitError", rounds=2))
    assert "- **Status:** failed (RateLimitError)\n" in md
    assert "The run ended failed (RateLimitError) before the chat did, after 3 messages." in md
    assert md.endswith("## Errors\n\n- RateLimitError: 429 too many (seq 13)\n")


def test_render_a_log_that_stops_before_the_task() -> None:
    play = Play()
    del play.events[1:]
    md = render_roleplay_markdown(play.stamped())
    assert "> Develop a trading bot" in md
    assert "_No messages._" in md
    with pytest.raises(ValueError, match="role-play"):
        render_roleplay_markdown(
            [
                RunStarted(
                    run=RUN, scenario_name="x", source="x", scenario={}, seed=1, model="m", engine_version="0"
                )
            ]
        )


def test_roleplay_log_collects_what_the_renderer_needs() -> None:
    log = roleplay_log(task_done())
    assert log.final_round == "round 3"
    assert log.saved == [True] * 5
    assert log.reason == DONE
