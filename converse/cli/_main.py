"""The ``converse`` command line.

Every command prints its errors as one line on stderr: exit code 2 for bad input (a
scenario, a log, a flag), 1 for a run that failed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import logging
import sys
import warnings
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any, cast

import actors
import actors.log

from .._exceptions import ConverseError, LogError, NothingToResume, SweepError, TornTailWarning
from ..engine._run import ENGINE_VERSION
from ..log._events import RunStarted
from ..log._log import iter_events, read_events
from ..log._secrets import known
from ..runner._estimate import Estimate, estimate_run
from ..runner._run import resume_run, run_scenario
from ..sweeps._estimate import estimate_sweep
from ..sweeps._grid import plan_sweep
from ..sweeps._sweep import SweepOutcome, run_sweep
from ..transcript._markdown import render_markdown
from ._camel import add_parser as add_camel
from ._common import (
    ERROR,
    Parser,
    RunWatch,
    interruptible,
    limit_flags,
    one_line,
    report_run,
    run_interruptibly,
    scheduler_from_flags,
)
from ._export import add_parser as add_export
from ._printers import RunPrinter, resumed_line
from ._scenarios import add_scenarios, add_validate
from ._view import add_parser as add_view

USER_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # said here, not by argparse: it would point to converse --help, not the command's
        parser.fail(f"unrecognized arguments: {' '.join(unknown)}", args.help_for)
    # -v and -q are taken before or after the command's name; unset when written in neither place.
    args.verbose = getattr(args, "verbose", False)
    args.quiet = getattr(args, "quiet", False)
    _configure_logging(verbose=args.verbose)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always", TornTailWarning)
            warnings.showwarning = _show_warning
            code: int = args.handler(args)
            return code
    except ConverseError as exc:
        print(f"{ERROR} {_shown(exc)}", file=sys.stderr)
        return USER_ERROR
    except OSError as exc:
        print(f"{ERROR} {_shown(exc)}", file=sys.stderr)
        return USER_ERROR
    except KeyboardInterrupt:
        print("converse: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if args.verbose:
            raise
        print(
            f"converse: internal error: {type(exc).__name__}: {_shown(exc)} (run with -v for details)",
            file=sys.stderr,
        )
        return 1


def command() -> int:
    """``main`` as the ``converse`` command runs it: in a process that ends when it returns.

    What the command made is left for the process's end to free. Without this, the
    interpreter's last garbage collection walks every object the command left (about a tenth
    of a second after a sweep) to free memory that exiting frees anyway. Its files are closed
    by then, and exit handlers still run.
    """
    code = main()
    gc.freeze()
    return code


def _parser() -> Parser:
    parser = Parser(prog="converse", description="Simulate conversations between LLM agents, as actors.")
    parser.add_argument("--version", action="version", version=f"converse {ENGINE_VERSION}")
    # Every command's parser is a Parser (argparse makes them of their parent's class); they
    # are typed as what they are used as.
    commands = cast(
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )

    run = commands.add_parser("run", help="run one simulation", description="Run one simulation.")
    run.add_argument("scenario", help="a scenario file, or the name of a built-in scenario")
    run.add_argument(
        "--model",
        help="model spec: offline, offline?latency=0.05, openai:NAME[?stream=1&timeout=S] "
        "(timeout: seconds one attempt may take before it is abandoned and retried; by default the "
        "scenario's [model] timeout, else 120); default: the scenario's model",
    )
    run.add_argument(
        "--base-url", help="OpenAI-compatible server for openai: models (default: $OPENAI_BASE_URL, then OpenAI)"
    )
    run.add_argument("--seed", type=int, help="random seed (default 0)")
    run.add_argument("--out", type=Path, default=Path("runs"), help="directory for run directories (default runs/)")
    run.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a scenario value, e.g. clock.end=2027 or agents[0].council.rounds=3",
    )
    run.add_argument("--cache", type=Path, help="answer repeated requests from this directory (and fill it)")
    run.add_argument(
        "--estimate", action="store_true",
        help="print the calls, tokens and dollars the run will take (a dry run on the offline model) and stop",
    )
    limit_flags(run, old_concurrency=True)
    run.add_argument(
        "--replay-from", type=Path, metavar="EVENTS",
        help="answer every model call from this earlier log (no model is asked); the seed defaults to its run's",
    )
    run.add_argument(
        "--human", action="append", default=[], metavar="NAME",
        help="play this agent or council member yourself: its turns are asked at the terminal "
        "(a statement ends with a line holding only \".\"); repeat for several",
    )
    run.set_defaults(handler=_cmd_run)

    resume = commands.add_parser(
        "resume",
        help="continue an interrupted run",
        description="Continue an interrupted run from its log: every model answer it recorded is re-used, "
        "then the run goes on live, appending to the same log.",
    )
    resume.add_argument("run_dir", type=Path, help="the run directory (or its events.jsonl)")
    resume.add_argument("--model", help="model for what the log does not hold (default: the run's own)")
    resume.add_argument("--base-url", help="OpenAI-compatible server for openai: models")
    resume.add_argument(
        "--judge-function", metavar="PKG.MOD:FN",
        help="confirm the judge.function the run's log names (a log alone never chooses code to run)",
    )
    limit_flags(resume, old_concurrency=True)
    resume.add_argument(
        "--human", action="append", default=[], metavar="NAME",
        help="who a person plays for the rest of the run (default: whom the run started with)",
    )
    resume.set_defaults(handler=_cmd_resume)

    sweep = commands.add_parser(
        "sweep",
        help="run a scenario over a grid of dials x seeds",
        description="Run a scenario over a grid of dial settings x seeds, concurrently; write one run "
        "directory each, summary.csv and a report. Re-running the same command resumes; with a larger "
        "--repeats or more values of a grid key, it grows the sweep, keeping every finished run.",
    )
    sweep.add_argument("scenario", help="a scenario file, or the name of a built-in scenario")
    sweep.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2",
        help="a dial (or model, or a key path such as clock.end) and its values; repeat for more dials",
    )
    sweep.add_argument("--repeats", type=int, default=1, help="seeds per grid cell (default 1)")
    sweep.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    sweep.add_argument("--concurrency", type=int, default=32, metavar="N", help="runs at once (default 32)")
    sweep.add_argument("--backend", choices=["local", "ray"], default="local", help="where runs go (default local)")
    sweep.add_argument(
        "--workers", type=int, default=1, metavar="N",
        help="processes to run the runs in, --concurrency and the rate limits split among them "
        "(default 1: this one; up to one a core pays)",
    )
    sweep.add_argument("--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray)")
    sweep.add_argument("--out", type=Path, required=True, help="the sweep directory")
    sweep.add_argument("--model", help="model spec of every run (default: the scenario's)")
    sweep.add_argument(
        "--human", action="append", default=[], metavar="NAME",
        help="play this agent in every run yourself (with --concurrency 1; see converse run --human)",
    )
    sweep.add_argument("--base-url", help="OpenAI-compatible server for openai: models")
    sweep.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                       help="override a scenario value in every run")
    sweep.add_argument("--cache", type=Path, help="answer repeated requests from this directory (and fill it)")
    sweep.add_argument(
        "--estimate", action="store_true",
        help="print the calls, tokens and dollars the sweep will take (a dry run of each grid cell on the "
        "offline model) and stop",
    )
    limit_flags(sweep, every=", for all runs together")
    sweep.add_argument("--retry-failed", action="store_true", help="run again the runs that failed")
    sweep.set_defaults(handler=_cmd_sweep)

    replay = commands.add_parser("replay", help="render an event log", description="Render an event log.")
    replay.add_argument("events", type=Path, help="an events.jsonl file (or its run directory)")
    replay.add_argument(
        "--format", choices=["markdown", "camel", "finetune"], default="markdown",
        help="markdown (the transcript), camel (a role-play in CAMEL's chat format, JSON) or finetune "
        "(OpenAI fine-tuning JSONL)",
    )
    replay.add_argument("-o", "--output", type=Path, help="write here instead of stdout")
    replay.set_defaults(handler=_cmd_replay)

    add_validate(commands)

    audit = commands.add_parser(
        "audit", help="check a run's prompts against the fidelity rules",
        description="Check every model call of a run against the fidelity rules (period, heard, private, "
        "debate-once, duplicate, empty, window); exit 1 if any is broken.",
    )
    audit.add_argument("events", type=Path, help="an events.jsonl file (or its run directory)")
    audit.add_argument("--window", type=int, metavar="N", help="context window in tokens (default: the model's)")
    audit.set_defaults(handler=_cmd_audit)

    add_scenarios(commands)
    add_camel(commands)
    add_view(commands)
    add_export(commands)
    return parser


def _cmd_run(args: argparse.Namespace) -> int:
    if args.estimate:
        estimating = partial(
            estimate_run, args.scenario, model=args.model, seed=args.seed or 0, overrides=args.overrides,
            base_url=args.base_url,
        )
        return _print_estimate(actors.run(estimating))
    watch = RunWatch(None if args.quiet else RunPrinter(sys.stderr), out=args.out)
    scheduler = scheduler_from_flags(args)
    seed = args.seed
    if args.replay_from is not None:
        if args.replay_from.is_dir():
            args.replay_from = args.replay_from / "events.jsonl"
        if seed is None:
            seed = _seed_of(args.replay_from)
    running = partial(
        run_scenario,
        args.scenario,
        model=args.model,
        base_url=args.base_url,
        seed=seed or 0,
        out=args.out,
        overrides=args.overrides,
        observer=watch,
        scheduler=scheduler,
        cache=args.cache,
        replay_from=args.replay_from,
        humans=args.human,
    )
    result = run_interruptibly(running, watch)
    return result if isinstance(result, int) else report_run(result)


def _print_estimate(estimate: Estimate) -> int:
    """Print what runs will take, a line each, on stdout."""
    for line in estimate.lines():
        print(line)
    return 0


def _seed_of(events: Path) -> int:
    """The seed of the run that wrote ``events``."""
    for event in iter_events(events):
        if isinstance(event, RunStarted):
            return event.seed
        break
    raise LogError(str(events), 1, "the log does not start with a run_started event")


def _cmd_resume(args: argparse.Namespace) -> int:
    run_dir: Path = args.run_dir
    watch = RunWatch(
        None if args.quiet else RunPrinter(sys.stderr), directory=run_dir if run_dir.is_dir() else run_dir.parent
    )
    scheduler = scheduler_from_flags(args)
    resuming = partial(
        resume_run, run_dir, model=args.model, base_url=args.base_url, scheduler=scheduler, observer=watch,
        judge_function=args.judge_function, humans=args.human,
    )
    try:
        result = run_interruptibly(resuming, watch)
    except NothingToResume as done:
        print(f"converse: {done}", file=sys.stderr)
        print(done.directory)
        return 0 if done.finished.status == "completed" else 1
    if isinstance(result, int):
        return result
    print(resumed_line(result), file=sys.stderr)
    return report_run(result)


def _cmd_sweep(args: argparse.Namespace) -> int:
    if args.concurrency < 1:
        raise SweepError("--concurrency", f"must be at least 1, not {args.concurrency}")
    if args.workers < 1:
        raise SweepError("--workers", f"must be at least 1, not {args.workers}")
    sweep, _, runs = plan_sweep(
        args.scenario, args.grid, repeats=args.repeats, seed=args.seed, model=args.model, overrides=args.overrides
    )
    if args.estimate:
        return _print_estimate(actors.run(partial(estimate_sweep, sweep, runs, base_url=args.base_url)))
    scheduler = scheduler_from_flags(args)
    bar = None
    if not (args.quiet or args.human):  # a person typing at the terminal is not drawn over by a progress bar
        from ._progress import SweepBar  # rich: imported only when a bar is drawn

        bar = SweepBar(sys.stderr, title=sweep.scenario_name)
    sweeping = partial(
        run_sweep, sweep, runs, args.out, concurrency=args.concurrency, backend=args.backend,
        retry_failed=args.retry_failed, progress=bar, scheduler=scheduler, base_url=args.base_url,
        cache=args.cache, ray_address=args.ray_address, humans=args.human, workers=args.workers,
    )
    with bar if bar is not None else contextlib.nullcontext(), interruptible() as seen:
        try:
            outcome: SweepOutcome = actors.run(sweeping)
        except KeyboardInterrupt:
            print(
                f"converse: interrupted{seen.by}; every finished run is kept in {args.out} and in its summary.csv; "
                "run the same command to continue",
                file=sys.stderr,
            )
            return seen.exit_code
    earlier = [f"{outcome.skipped} finished earlier"] if outcome.skipped else []
    earlier += [f"grown by {outcome.grown}"] if outcome.grown else []
    skipped = f" ({'; '.join(earlier)})" if earlier else ""
    print(
        f"{outcome.total} runs{skipped}: {outcome.completed} completed, {outcome.failed} failed; "
        f"summary in {outcome.summary}" + (f", report in {outcome.reports[0]}" if outcome.reports else ""),
        file=sys.stderr,
    )
    print(outcome.directory)
    return 0 if outcome.failed == 0 and outcome.unfinished == 0 else 1


def _cmd_replay(args: argparse.Namespace) -> int:
    path: Path = args.events
    if path.is_dir():
        path = path / "events.jsonl"
    if args.output is not None and _same_file(path, args.output):
        raise LogError(str(path), 0, f"-o {args.output} is this log itself: choose another file for the rendering")
    text = _render(path, args.format)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


def _same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` are one file: one path, a link to it, or a hard link."""
    try:
        first, second = a.stat(), b.stat()
    except OSError:
        return False  # one of them is missing: the log's reader says so, or the output is new
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def _render(path: Path, form: str) -> str:
    """The log ``path`` rendered in ``form``: Markdown as the log is read (one block of its
    events held at a time), a CAMEL record or a fine-tuning example from all its events."""
    if form == "markdown":
        return render_markdown(iter_events(path))
    from ..transcript._camel import chat_record, finetune_record

    events = read_events(path)
    if form == "camel":
        return json.dumps(chat_record(events, source=str(path)), ensure_ascii=False, indent=2) + "\n"
    example = finetune_record(events, source=str(path))
    return "" if example is None else json.dumps(example, ensure_ascii=False) + "\n"


def _cmd_audit(args: argparse.Namespace) -> int:
    from ..audit._report import audit_file, format_report

    path, report = audit_file(args.events, window=args.window)
    sys.stdout.write(format_report(report, path))
    return 1 if report.violations else 0


def _show_warning(
    message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
) -> None:
    print(f"converse: warning: {one_line(str(message))}", file=sys.stderr)


def _shown(exc: BaseException) -> str:
    """An error's message as one line, scrubbed of credentials (a base URL's, a key)."""
    return known().scrub_all(one_line(str(exc)))


def _scrub_secrets(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """Every text of a log line (a traceback's too) scrubbed of credentials: a URL's, a key."""
    secrets = known()
    for name, value in event_dict.items():
        if isinstance(value, str | BaseException):
            text = str(value)
            scrubbed = secrets.scrub_all(text)
            if scrubbed != text:
                event_dict[name] = scrubbed
    return event_dict


def _drop_traceback(_: Any, __: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    event_dict.pop("exc_info", None)
    return event_dict


def _configure_logging(*, verbose: bool) -> None:
    """Set how the command's log looks: it takes effect before the first line is logged
    (structlog is imported then; most commands log nothing and never import it). With -v,
    whose lines are wanted, structlog is imported now: a first line that came when no file
    descriptor was left could not import it, and would be lost."""
    if verbose:
        import structlog  # noqa: F401  (imported, configure sets it up at once)
    actors.log.configure(partial(_configure_structlog, verbose=verbose))


def _configure_structlog(*, verbose: bool) -> None:
    import structlog

    processors: list[Any] = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level]
    if not verbose:
        processors.append(_drop_traceback)
    else:
        processors.append(structlog.processors.format_exc_info)
    processors.append(_scrub_secrets)
    processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    structlog.configure(
        processors=processors,
        # Without -v, nothing but the command's own one-line messages: a failing run says why
        # in its status line, and the actors' crash reports are detail for -v.
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG if verbose else logging.CRITICAL),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=False,
    )


if __name__ == "__main__":
    sys.exit(command())
