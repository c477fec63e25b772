"""The offline model plays CAMEL's role-play: instruction and solution formats, answers that
repeat exactly, the specifier's word limit, the dataset lists, the critic's choice, and a
mix of endings over many simulated chats in which every termination rule fires."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from converse import CompletionRequest, Hints, OfflineModel
from converse.events import ChatMessage
from converse.models import estimate_prompt_tokens
from converse.models._model import AnswerKind
from converse.roleplay import _prompts
from converse.scenario import TASK_DONE, Critic, Planner, RolePlay, Specifier

PAIRS = [
    ("Python Programmer", "Stock Trader", "Develop a trading bot for the stock market"),
    ("Travel Agent", "Student", "Plan a week-long trip to Japan on a tight budget"),
    ("Chef", "Food Blogger", "Write a cookbook of family recipes"),
    ("Graphic Designer", "Shop Owner", "Design a logo for a neighbourhood bakery"),
    ("Tutor", "Lawyer", "Create a study plan for a professional exam"),
    ("Data Scientist", "Nurse", "Build a dashboard that tracks patient waiting times"),
]
_PLEASANTRY = re.compile(r"\b(thank|thanks|bye|goodbye|good bye|farewell|welcome|pleasure|language model)\b", re.I)
_MARKERS = re.compile(r"^\s*solution:\s*|\s*next request\.?\s*$", re.I)


def make_play(i: int, **options: object) -> RolePlay:
    """The ``i``-th of a few role-plays (a numbered task, so every chat is its own)."""
    assistant, user, task = PAIRS[i % len(PAIRS)]
    return RolePlay(assistant_role=assistant, user_role=user, task=f"{task} (case {i})", **options)  # type: ignore[arg-type]


def ask(model: OfflineModel, kind: AnswerKind, messages: list[ChatMessage], **hints: object) -> str:
    return model.answer(CompletionRequest(messages=messages, hints=Hints(kind=kind, **hints)))  # type: ignore[arg-type]


def one_shot(model: OfflineModel, kind: AnswerKind, system: str, user: str) -> str:
    return ask(model, kind, [ChatMessage(role="system", content=system), ChatMessage(role="user", content=user)])


def words(text: str) -> int:
    return len(text.split())


def is_pleasantry(text: str) -> bool:
    """Only thanks or goodbyes: no instruction, a courtesy word, at most 40 words."""
    if "Instruction:" in text or not _PLEASANTRY.search(text):
        return False
    return len(_MARKERS.sub("", text).split()) <= 40


def simulate(model: OfflineModel, play: RolePlay, task: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """One chat as the engine runs it, ended by CAMEL's rules: the reason and the messages."""
    task = task or play.task
    user_system = ChatMessage(role="system", content=_prompts.system_prompt(play, "user", task))
    assistant_system = ChatMessage(role="system", content=_prompts.system_prompt(play, "assistant", task))
    user_history: list[ChatMessage] = [user_system]
    assistant_history: list[ChatMessage] = [assistant_system]
    if play.kickoff == "echo":
        rules = ChatMessage(role="user", content=assistant_system.content)
        ack = ask(model, "acknowledge", [assistant_system, rules], speaker="assistant")
        assistant_history += [rules, ChatMessage(role="assistant", content=ack)]
    incoming = ChatMessage(role="user", content=_prompts.kickoff(play, task))
    said: list[tuple[str, str]] = []
    no_instruct = flips = courtesies = 0
    for round_ in range(1, 1000):
        for side in ("user", "assistant"):
            history = user_history if side == "user" else assistant_history
            messages = [*history, incoming]
            if estimate_prompt_tokens(messages) >= play.token_limit:
                return f"RoleType.{side.upper()}: max_tokens_exceeded", said
            kind: AnswerKind = "instruction" if side == "user" else "solution"
            text = ask(model, kind, messages, speaker=side, period=f"round {round_}", end_token=play.end_token)
            text = text.strip()
            history[:] = [*messages, ChatMessage(role="assistant", content=text)]
            incoming = ChatMessage(role="user", content=text)
            said.append((side, text))
            courtesies = courtesies + 1 if is_pleasantry(text) else 0
            if side == "user":
                no_instruct = 0 if "Instruction:" in text else no_instruct + 1
                if no_instruct >= play.user_no_instruct:
                    return "user_no_instruct_threshold", said
            elif "Instruction:" in text:
                flips += 1
                if flips >= play.assistant_instruct:
                    return "assistant_instruct_threshold", said
            if courtesies >= play.repeat_messages:
                return "repeat_word_threshold", said
            if side == "user" and play.end_token in text:
                return play.end_token, said
            if len(said) >= play.max_messages:
                return "max_num_messages", said
    raise AssertionError("the chat never ended")


@pytest.fixture(scope="module")
def chats() -> list[tuple[str, list[tuple[str, str]]]]:
    """300 chats over a few seeds, every fifth with CAMEL's 2023 echo kick-off."""
    return [
        simulate(OfflineModel(seed=i % 3), make_play(i, kickoff="echo" if i % 5 == 0 else "instructions"))
        for i in range(300)
    ]


def test_every_termination_rule_fires_and_task_done_leads(chats: list[tuple[str, list[tuple[str, str]]]]) -> None:
    reasons = Counter("RoleType: max_tokens_exceeded" if r.endswith("max_tokens_exceeded") else r for r, _ in chats)
    assert set(reasons) == {
        TASK_DONE, "assistant_instruct_threshold", "user_no_instruct_threshold", "repeat_word_threshold",
        "max_num_messages", "RoleType: max_tokens_exceeded",
    }
    assert reasons.most_common(1)[0][0] == TASK_DONE
    assert 0.35 <= reasons[TASK_DONE] / len(chats) <= 0.6
    mean = sum(len(said) for _, said in chats) / len(chats)
    assert 10 <= mean <= 22


def test_messages_follow_the_formats(chats: list[tuple[str, list[tuple[str, str]]]]) -> None:
    for reason, said in chats:
        for i, (side, text) in enumerate(said):
            if side == "user":
                if "Instruction:" in text:
                    assert re.fullmatch(r"Instruction: [^\n]+\nInput: [^\n]+", text), text
                    assert 20 <= words(text) <= 45, text
                else:
                    assert text == TASK_DONE or TASK_DONE not in text
                continue
            assert text.startswith("Solution: "), text
            assert TASK_DONE not in text
            instructed = "Instruction:" in said[i - 1][1]
            if "Instruction:" in text:  # a role flip: a solution, then an instruction of its own
                assert reason == "assistant_instruct_threshold"
                assert instructed
                assert i == len(said) - 1
                assert re.search(r"\nInstruction: [^\n]+\nInput: [^\n]+$", text), text
                continue
            assert text.endswith("Next request."), text
            if instructed:  # a normal solution, or a long one from a verbose assistant
                assert 50 <= words(text) <= 110 or 250 <= words(text) <= 400, text
            else:
                assert words(text) < 40


def test_the_user_ends_with_exactly_the_end_token(chats: list[tuple[str, list[tuple[str, str]]]]) -> None:
    done = [said for reason, said in chats if reason == TASK_DONE]
    assert done
    assert all(said[-1] == ("user", TASK_DONE) for said in done)
    ended = [simulate(OfflineModel(seed=1), make_play(i, end_token="<DONE>")) for i in range(10)]
    custom = [said for reason, said in ended if reason == "<DONE>"]
    assert custom
    assert all(said[-1] == ("user", "<DONE>") for said in custom)


def test_pleasantries_and_stalls_get_short_answers(chats: list[tuple[str, list[tuple[str, str]]]]) -> None:
    thanks = [said for reason, said in chats if reason == "repeat_word_threshold"]
    assert thanks
    assert all(is_pleasantry(text) for said in thanks for _, text in said[-4:])
    stalls = [said for reason, said in chats if reason == "user_no_instruct_threshold"]
    assert stalls
    for said in stalls:
        lines = [text for side, text in said[-5:] if side == "user"]
        assert len(set(lines)) == len(lines)  # a different line each round
        assert not any(is_pleasantry(text) for _, text in said[-5:])


def test_answers_repeat_exactly_and_vary_by_seed_and_candidate() -> None:
    play = make_play(0)
    assert simulate(OfflineModel(seed=4), play) == simulate(OfflineModel(seed=4), play)
    runs = {str(simulate(OfflineModel(seed=s), play)[1][:2]) for s in range(5)}
    assert len(runs) == 5
    system = ChatMessage(role="system", content=_prompts.system_prompt(play, "user", play.task))
    kickoff = ChatMessage(role="user", content=_prompts.kickoff(play, play.task))
    model = OfflineModel(seed=4)
    candidates = {ask(model, "instruction", [system, kickoff], speaker="user", candidate=c) for c in (1, 2, 3)}
    assert len(candidates) == 3


def test_instructions_follow_the_planners_subtasks() -> None:
    model = OfflineModel(seed=2)
    steps = 0
    for i in range(20):
        play = make_play(i, planner=Planner(enabled=True))
        plan = one_shot(model, "plan", _prompts.PLANNER_SYSTEM, _prompts.planner_prompt(play, play.task))
        lines = plan.splitlines()
        assert 3 <= len(lines) <= 6
        assert all(line.startswith(f"{n}. ") for n, line in enumerate(lines, 1))
        _, said = simulate(model, play, _prompts.with_plan(play.task, plan))
        steps += sum(("step " in text and "of our plan" in text) or "Complete step" in text for _, text in said)
    assert steps > 0


@pytest.mark.parametrize("limit", [4, 12, 25, 50, 80])
def test_the_specified_task_keeps_to_the_word_limit(limit: int) -> None:
    for i in range(12):
        play = make_play(i, specifier=Specifier(word_limit=limit))
        text = one_shot(OfflineModel(seed=i), "specify", _prompts.SPECIFIER_SYSTEM, _prompts.specifier_prompt(play))
        assert 0 < words(text) <= limit, text
        if limit >= 25:
            assert play.task in text


def test_the_acknowledgement_awaits_the_first_instruction() -> None:
    play = make_play(1, kickoff="echo")
    rules = _prompts.system_prompt(play, "assistant", play.task)
    text = one_shot(OfflineModel(), "acknowledge", rules, rules)
    assert text.startswith("Understood.")
    assert text.endswith("I am ready for your first instruction.")


@pytest.mark.parametrize(("prompt", "count"), [("assistant", 50), ("user", 50), ("assistant", 7), ("user", 350)])
def test_role_lists_are_numbered_sorted_and_distinct(prompt: str, count: int) -> None:
    system, template = (
        (_prompts.ASSISTANT_ROLES_SYSTEM, _prompts.ASSISTANT_ROLES) if prompt == "assistant"
        else (_prompts.USER_ROLES_SYSTEM, _prompts.USER_ROLES)
    )
    text = one_shot(OfflineModel(seed=3), "roles", system, template.format(count=count))
    lines = text.splitlines()
    assert [line.split(". ", 1)[0] for line in lines] == [str(n) for n in range(1, count + 1)]
    names = [line.split(". ", 1)[1] for line in lines]
    assert names == sorted(names, key=str.casefold)
    assert len(set(names)) == count
    assert text != one_shot(OfflineModel(seed=4), "roles", system, template.format(count=count))


def test_assistant_and_user_roles_come_from_their_own_lists() -> None:
    model = OfflineModel(seed=5)
    assistants = one_shot(model, "roles", _prompts.ASSISTANT_ROLES_SYSTEM, _prompts.ASSISTANT_ROLES.format(count=100))
    users = one_shot(model, "roles", _prompts.USER_ROLES_SYSTEM, _prompts.USER_ROLES.format(count=100))
    assert "Zoologist" in assistants
    assert "YouTuber" in users
    assert "YouTuber" not in assistants


@pytest.mark.parametrize("count", [1, 10, 50, 400])
def test_task_lists_have_the_count_asked_for(count: int) -> None:
    prompt = _prompts.TASKS.format(count=count, assistant_role="Accountant", user_role="Student")
    lines = one_shot(OfflineModel(seed=1), "tasks", _prompts.TASKS_SYSTEM, prompt).splitlines()
    assert len(lines) == count
    assert len(set(lines)) == count
    for n, line in enumerate(lines, 1):
        assert line.startswith(f"{n}. ")
        assert "a Student" in line
        assert 6 <= words(line) <= 20


def test_the_critic_chooses_a_valid_option() -> None:
    play = make_play(0, critic=Critic(kind="model"))
    system = ChatMessage(role="system", content=_prompts.critic_prompt(play, play.task))
    options = [
        "Instruction: Write the tests.\nInput: None",
        "Instruction: Write unit tests for the order parser, covering empty input and 3 malformed rows.\nInput: None",
        "Instruction: Deploy it.\nInput: None",
    ]
    menu = ChatMessage(role="user", content=_prompts.menu("Stock Trader", "USER", options))
    for seed in range(10):
        text = ask(OfflineModel(seed=seed), "critic", [system, menu], speaker="critic")
        choice = re.match(r"(\d+)\. ", text)  # the first number is the choice
        assert choice is not None, text
        assert choice.group(1) == "2"  # the most specific option
    retry = ChatMessage(role="user", content=f"{_prompts.INVALID}\n{menu.content}")
    answered = ChatMessage(role="assistant", content="I like all of them.")
    text = ask(OfflineModel(), "critic", [system, menu, answered, retry], speaker="critic")
    assert int(text.split(".", 1)[0]) in (1, 2, 3)
