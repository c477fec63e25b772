"""``converse camel``: one role-play chat (``roleplay``), or a dataset of them (``generate``)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import actors

from .._exceptions import DatasetError
from ..log._events import ConversationEnded, CriticChoice, Event, TaskSpecified, Utterance
from ..models._open import parse_spec
from ..runner._estimate import Estimate, estimate_run
from ..runner._run import run_scenario
from ..scenario._load import load_scenario
from ._common import (
    ERROR,
    RunWatch,
    interruptible,
    limit_flags,
    one_line,
    report_run,
    run_interruptibly,
    scheduler_from_flags,
)

if TYPE_CHECKING:  # the dataset machinery is imported by the command that uses it
    from ..camel._generate import DatasetOutcome
    from ..camel._recipe import Recipe

DEFAULT_SCENARIO = "camel-trading-bot"
ASK_ABOVE = 1_000  # chats a model that costs money may be asked for without a confirmation


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``converse camel`` and its subcommands."""
    camel = commands.add_parser(
        "camel", help="role-playing chats and datasets (CAMEL)",
        description="CAMEL's role-playing society: an AI user instructs an AI assistant to complete a task.",
    )
    sub = camel.add_subparsers(dest="camel_command", required=True, metavar="COMMAND")

    play = sub.add_parser(
        "roleplay", help="run one role-play chat, printing it as it happens",
        description="Run one role-play chat; print it as it happens, and the run directory last.",
    )
    play.add_argument("scenario", nargs="?", default=DEFAULT_SCENARIO,
                      help=f"a role-play scenario file or built-in name (default {DEFAULT_SCENARIO})")
    play.add_argument("--assistant-role", help="who the AI assistant plays (e.g. 'Python Programmer')")
    play.add_argument("--user-role", help="who the AI user plays (e.g. 'Stock Trader')")
    play.add_argument("--task", help="what they are to do together")
    play.add_argument("--no-specify", action="store_true", help="use the task as given (no task specifier)")
    play.add_argument("--word-limit", type=int, help="words the specified task may have (default 50)")
    play.add_argument("--plan", action="store_true", help="let a planner divide the task into subtasks")
    play.add_argument("--critic", choices=["none", "model", "human"], help="choose among candidate messages")
    play.add_argument("--critic-model", help="the critic's model spec (default: the run's)")
    play.add_argument("--candidates", type=int, help="candidate messages per turn for the critic (default 3)")
    play.add_argument("--max-messages", type=int, help="messages after which the chat ends (default 40)")
    play.add_argument("--kickoff", choices=["instructions", "echo"], help="how the chat starts (default instructions)")
    play.add_argument("--language", help="the language both agents answer in")
    _common(play)
    play.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    play.add_argument("--out", type=Path, default=Path("runs"), help="directory for run directories (default runs/)")
    limit_flags(play, old_concurrency=True)
    play.set_defaults(handler=_cmd_roleplay)

    gen = sub.add_parser(
        "generate", help="generate a CAMEL-style dataset of role-play chats",
        description="Assistant roles x user roles x tasks role-plays, concurrently; CAMEL's chat and "
        "instruction formats, fine-tuning JSONL and statistics. Running it again continues; with more roles "
        "or tasks, it grows the dataset, keeping every finished chat.",
    )
    gen.add_argument("--out", type=Path, required=True, help="the dataset directory")
    gen.add_argument("--scenario", default=DEFAULT_SCENARIO,
                     help=f"the role-play scenario every chat starts from (default {DEFAULT_SCENARIO})")
    for who in ("assistant", "user"):
        group = gen.add_mutually_exclusive_group()
        group.add_argument(f"--{who}-roles", type=Path, metavar="FILE", help=f"{who} roles, one per line")
        group.add_argument(f"--num-{who}-roles", type=int, default=50, metavar="N",
                           help=f"{who} roles the model lists (default 50)")
    group = gen.add_mutually_exclusive_group()
    group.add_argument("--tasks", type=Path, metavar="FILE", help="tasks for every pair of roles, one per line")
    group.add_argument("--tasks-per-pair", type=int, default=10, metavar="N",
                       help="tasks the model lists per pair of roles (default 10)")
    _common(gen)
    gen.add_argument(
        "--seed", type=int, default=0,
        help="seed of the first chat (default 0); chat AAA_UUU_TTT gets it + (AAA-1)*10^6 + (UUU-1)*10^3 + (TTT-1), "
        "so a chat keeps its seed when the dataset grows",
    )
    gen.add_argument("--concurrency", type=int, default=64, metavar="N", help="chats at once, in all (default 64)")
    gen.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="processes to run the chats in, --concurrency and the rate limits split among them "
        "(default 1: this one; up to one a core pays)",
    )
    limit_flags(gen, every=", for all chats together")
    gen.add_argument("--retry-failed", action="store_true", help="run again the chats that failed")
    gen.add_argument(
        "--estimate", action="store_true",
        help="print the calls, tokens and dollars the chats will take (a dry run of one on the offline model) and stop",
    )
    gen.add_argument(
        "--yes", action="store_true",
        help=f"start more than {ASK_ABOVE:,} chats on a model that is not the offline one without asking",
    )
    gen.set_defaults(handler=_cmd_generate)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model spec (default: the scenario's)")
    parser.add_argument("--base-url", help="OpenAI-compatible server for openai: models")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario value, e.g. roleplay.token_limit=8192")
    parser.add_argument("--cache", type=Path, help="answer repeated requests from this directory (and fill it)")


def _toml(value: object) -> str:
    """A value as TOML (a JSON string is a TOML basic string)."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value).lower()


def _roleplay_overrides(args: argparse.Namespace) -> list[str]:
    for flag in ("assistant_role", "user_role", "task"):
        value = getattr(args, flag)
        if value is not None and not value.strip():
            raise DatasetError(f"--{flag.replace('_', '-')}", "must not be empty")
    settings: dict[str, object | None] = {
        "roleplay.assistant_role": args.assistant_role,
        "roleplay.user_role": args.user_role,
        "roleplay.task": args.task,
        "roleplay.specifier.enabled": False if args.no_specify else None,
        "roleplay.specifier.word_limit": args.word_limit,
        "roleplay.planner.enabled": True if args.plan else None,
        "roleplay.critic.kind": args.critic,
        "roleplay.critic.model": args.critic_model,
        "roleplay.critic.candidates": args.candidates,
        "roleplay.max_messages": args.max_messages,
        "roleplay.kickoff": args.kickoff,
        "roleplay.language": args.language,
    }
    return [f"{key}={_toml(value)}" for key, value in settings.items() if value is not None]


def _title(args: argparse.Namespace, overrides: list[str]) -> list[str]:
    """A ``title=`` override naming the chat's roles and task when the command line changed any
    of them (the scenario's own title describes its own roles); none otherwise. A ``--set
    title=...`` given as well comes later, and wins."""
    base = load_scenario(args.scenario).roleplay
    if base is None:
        raise DatasetError(args.scenario, "is not a role-play scenario (it has no [roleplay] table)")
    play = load_scenario(args.scenario, overrides).roleplay
    assert play is not None
    cast = (play.assistant_role, play.user_role, play.task)
    if cast == (base.assistant_role, base.user_role, base.task):
        return []
    task = " ".join(play.task.split())
    return [f"title={_toml(f'Role-play: {play.assistant_role} helps {play.user_role}: {task}')}"]


def _cmd_roleplay(args: argparse.Namespace) -> int:
    cast = _roleplay_overrides(args)
    overrides = [*cast, *_title(args, [*cast, *args.overrides]), *args.overrides]
    watch = RunWatch(None if args.quiet else _Printer(sys.stdout), out=args.out)
    playing = partial(
        run_scenario, args.scenario, model=args.model, base_url=args.base_url, seed=args.seed, out=args.out,
        overrides=overrides, observer=watch, cache=args.cache, scheduler=scheduler_from_flags(args),
    )
    result = run_interruptibly(playing, watch)
    if isinstance(result, int):
        return result
    if result.status == "completed" and not args.quiet:
        print(f"converse: the chat ended: {one_line(result.reason)}", file=sys.stderr)
    return report_run(result)


def _cmd_generate(args: argparse.Namespace) -> int:
    from ..camel._generate import generate
    from ..camel._recipe import recipe_from_files

    recipe = recipe_from_files(
        args.scenario,
        assistant_roles=args.assistant_roles or args.num_assistant_roles,
        user_roles=args.user_roles or args.num_user_roles,
        tasks=args.tasks or args.tasks_per_pair,
        overrides=tuple(args.overrides),
        model=args.model,
        seed=args.seed,
    )
    chats = _chats(recipe)
    spec = recipe.model or load_scenario(recipe.scenario, recipe.overrides).model.spec
    if args.estimate or (chats > ASK_ABOVE and not args.yes and parse_spec(spec)[0] != "offline"):
        one = actors.run(partial(estimate_run, recipe.scenario, model=spec, overrides=recipe.overrides,
                                 base_url=args.base_url))
        estimate = one.times(chats)
        if args.estimate:
            for line in estimate.lines():
                print(line.replace(f"{chats:,} runs", f"{chats:,} chats"))
            print("(plus the calls that list roles and tasks, when the model lists them)")
            return 0
        if not _confirmed(chats, estimate):
            return 2
    bar = None
    if not args.quiet:
        from ._progress import SweepBar  # rich: imported only when a bar is drawn

        bar = SweepBar(sys.stderr, title="chats", unit="chats")
    making = partial(
        generate, recipe, args.out, concurrency=args.concurrency,
        scheduler=scheduler_from_flags(args), base_url=args.base_url,
        cache=args.cache, retry_failed=args.retry_failed, progress=bar, workers=args.workers,
    )
    with bar if bar is not None else contextlib.nullcontext(), interruptible() as seen:
        try:
            outcome: DatasetOutcome = actors.run(making)
        except KeyboardInterrupt:
            print(f"converse: interrupted{seen.by}; finished chats are kept in {args.out}; run the same command "
                  "to continue", file=sys.stderr)
            return seen.exit_code
    return _report(outcome)


def _chats(recipe: Recipe) -> int:
    """How many chats ``recipe`` makes: assistant roles x user roles x tasks per pair."""
    def count(given: tuple[str, ...] | None, asked: int) -> int:
        return len(given) if given is not None else asked

    return (
        count(recipe.assistant_roles, recipe.num_assistant_roles)
        * count(recipe.user_roles, recipe.num_user_roles)
        * count(recipe.tasks, recipe.tasks_per_pair)
    )


def _confirmed(chats: int, estimate: Estimate) -> bool:
    """Whether the person at the terminal wants ``chats`` chats started; without a terminal to
    ask, an error line saying how to start them."""
    cost = estimate.lines()[1]
    what = f"{chats:,} chats on {estimate.model}, {cost}"
    if not sys.stdin.isatty():
        print(f"{ERROR} {what}: add --yes to start them, or --estimate to see what they take", file=sys.stderr)
        return False
    print(f"converse: {what}. Start them? [y/N] ", end="", file=sys.stderr, flush=True)
    answer = sys.stdin.readline().strip().lower()
    return answer in ("y", "yes")


def _report(outcome: DatasetOutcome) -> int:
    from ..camel._stats import stats_markdown

    print(stats_markdown(outcome.stats))
    said = [f"{outcome.skipped} finished earlier"] if outcome.skipped else []
    said += [f"grown by {outcome.grown}"] if outcome.grown else []
    earlier = f" ({'; '.join(said)})" if said else ""
    print(f"{outcome.chats} chats{earlier}: {outcome.completed} completed now, {outcome.failed} failed",
          file=sys.stderr)
    print(outcome.directory)
    return 0 if outcome.failed == 0 else 1


class _Printer:
    """Prints a role-play as it happens: the task, then each message in full."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.names = {"user": "AI user", "assistant": "AI assistant"}
        self.count = 0

    def __call__(self, event: Event) -> None:
        if isinstance(event, TaskSpecified):
            self.names = {"user": f"{event.user_role} (AI user)", "assistant": f"{event.assistant_role} (AI assistant)"}
            self._write(f"Task: {event.original}")
            if event.specified != event.original:
                self._write(f"Specified task: {event.specified}")
            if event.planned:
                self._write(f"Plan:\n{event.planned}")
        elif isinstance(event, Utterance) and event.conversation == ("top",):
            self.count += 1
            self._write(f"\n[{self.count}] {self.names.get(event.actor, event.actor)}:\n{event.text}")
        elif isinstance(event, CriticChoice):
            self._write(f"({event.by} chose option {event.choice} of {len(event.options)})")
        elif isinstance(event, ConversationEnded) and event.conversation == ("top",):
            self._write(f"\n-- the chat ended: {event.reason} --")

    def _write(self, text: str) -> None:
        print(text, file=self.stream, flush=True)
