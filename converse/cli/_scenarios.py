"""The commands for writing scenarios: ``converse validate`` (every problem of a file at once),
``converse scenarios`` (the built-in ones, or one of them shown) and ``converse new`` (a
commented file to start from)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._exceptions import ConverseError, ScenarioError
from ..scenario._load import (
    builtin_scenario,
    builtin_scenarios,
    load_scenario,
    scenario_problems,
    starter_text,
)
from ._common import ERROR, one_line

__all__ = ["add_scenarios", "add_validate"]

_USER_ERROR = 2  # the command line's exit code for bad input


def add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``converse validate``."""
    validate = commands.add_parser(
        "validate", help="check scenario files",
        description="Check scenario files without running them: every problem of a file is one line "
        "naming the file and the key path; exit 2 if there is any.",
    )
    validate.add_argument("scenarios", nargs="+", help="scenario files or built-in names")
    validate.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="check with this value overridden, as converse run --set does",
    )
    validate.set_defaults(handler=_cmd_validate)


def add_scenarios(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``converse scenarios`` and ``converse new``."""
    listing = commands.add_parser(
        "scenarios", help="list the built-in scenarios, or show one",
        description="List the built-in scenarios (each can be run by name), or print one's file.",
    )
    listing.add_argument("--show", metavar="NAME", help="print this built-in scenario's file")
    listing.set_defaults(handler=_cmd_scenarios)

    new = commands.add_parser(
        "new", help="write a scenario file to start from",
        description="Write a commented scenario file to start from: a small complete one (two "
        "organisations, one with a council, three years), or a copy of a built-in scenario. "
        "An existing file is never overwritten.",
    )
    new.add_argument("file", type=Path, help="the file to write (e.g. my-scenario.toml)")
    new.add_argument("--from", dest="source", metavar="SCENARIO", help="copy this built-in scenario instead")
    new.set_defaults(handler=_cmd_new)


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = False
    for source in args.scenarios:
        problems = scenario_problems(source, args.overrides)
        for problem in problems:
            print(f"{ERROR} {one_line(str(problem))}", file=sys.stderr)
        if problems:
            failed = True
            continue
        scenario = load_scenario(source, args.overrides)
        what = "a role-play" if scenario.roleplay is not None else f"{len(scenario.agents)} agents"
        print(f"{source}: ok ({scenario.name}, {what})")
    return _USER_ERROR if failed else 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    if args.show is not None:
        sys.stdout.write(builtin_scenario(args.show).read_text(encoding="utf-8"))
        return 0
    for name, path in builtin_scenarios().items():
        try:
            title = load_scenario(path).title
        except ConverseError as exc:
            title = f"(invalid: {exc})"
        print(f"{name:28} {title}")
    return 0


def _cmd_new(args: argparse.Namespace) -> int:
    target: Path = args.file
    if args.source is None:
        text = starter_text().encode("utf-8")
    else:
        text = builtin_scenario(args.source).read_bytes()  # comments and all, byte for byte
    try:
        with target.open("xb") as out:
            out.write(text)
    except FileExistsError:
        raise ScenarioError(str(target), "", "already exists; converse new never overwrites a file") from None
    if not getattr(args, "quiet", False):
        print(f"wrote {target}: converse validate {target} checks it, converse run {target} runs it", file=sys.stderr)
    print(target)
    return 0
