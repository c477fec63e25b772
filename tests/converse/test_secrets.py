"""The API key reaches the model server and nothing else: not a log, a transcript, a sweep's
summary or report, a replay, nor anything printed, whatever the server answers."""

from __future__ import annotations

import re
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import msgspec

import converse
from _helpers import cli_env, run_cli
from converse.events import LLMAttempt, RunError
from converse.testing import Faults, ModelServer, events_of

KEY = "sk-test-SECRET-4b1d9c7e"
SHORT = ("--set", "clock.end=2023")
LEAKS = re.compile(rf"{re.escape(KEY)}|SECRET-4b1d9c7e|Bearer\s+sk-", re.IGNORECASE)


def converse_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``converse`` with the key, and no other OpenAI setting of this environment."""
    return run_cli(*args, cwd=cwd, env=cli_env(without="OPENAI_", OPENAI_API_KEY=KEY))


def run_args(url: str, out: Path, *more: str) -> tuple[str, ...]:
    return (
        "run",
        "three-labs",
        "--model",
        "openai:offline-chat",
        "--base-url",
        url,
        *SHORT,
        "--out",
        str(out),
        *more,
    )


def assert_no_key(*outputs: subprocess.CompletedProcess[str], tree: Path) -> int:
    """Nothing printed and no file under ``tree`` holds the key; returns the files checked."""
    for done in outputs:
        assert not LEAKS.search(done.stdout), done.args
        assert not LEAKS.search(done.stderr), done.args
    files = [path for path in tree.rglob("*") if path.is_file()]
    for path in files:
        assert not LEAKS.search(path.read_bytes().decode("utf-8", "replace")), path
    return len(files)


def test_a_run_its_replay_and_a_sweep_send_the_key_and_keep_it(tmp_path: Path) -> None:
    with ModelServer(api_key=KEY) as server:
        run = converse_cli(*run_args(server.base_url, tmp_path / "runs"), cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        run_dir = Path(run.stdout.strip().splitlines()[-1])
        by_run = server.stats().successes
        replay = converse_cli("replay", str(run_dir), cwd=tmp_path)
        assert replay.returncode == 0, replay.stderr
        sweep = converse_cli(
            "sweep",
            "three-labs",
            *SHORT,
            "--grid",
            "regulation=none,strict",
            "--model",
            "openai:offline-chat",
            "--base-url",
            server.base_url,
            "--out",
            str(tmp_path / "sweep"),
            cwd=tmp_path,
        )
        assert sweep.returncode == 0, sweep.stderr
        stats = server.stats()
    # The server answers only requests carrying "Authorization: Bearer <KEY>" (others get 401):
    # every request of the run and of the sweep sent the key.
    assert stats.rejected == 0
    assert stats.successes == stats.requests > by_run > 0
    assert replay.stdout == (run_dir / "transcript.md").read_text(encoding="utf-8")
    assert {p.name for p in (tmp_path / "sweep").iterdir()} >= {"summary.csv", "sweep.json"}
    assert any(p.name.startswith("report.") for p in (tmp_path / "sweep").iterdir())
    assert assert_no_key(run, replay, sweep, tree=tmp_path) >= 3 * 2 + 2


def test_a_rejected_key_is_reported_without_the_key(tmp_path: Path) -> None:
    with ModelServer(api_key="sk-the-right-one") as server:
        quiet = converse_cli(*run_args(server.base_url, tmp_path / "quiet"), cwd=tmp_path)
        verbose = converse_cli("-v", *run_args(server.base_url, tmp_path / "verbose"), cwd=tmp_path)
        stats = server.stats()
    assert stats.rejected == stats.requests == 2  # not retried
    assert quiet.returncode == verbose.returncode == 1
    assert quiet.stderr.strip().endswith("rejected the API key: check OPENAI_API_KEY")
    assert "Traceback" in verbose.stderr  # -v shows the crash reports, tracebacks and all
    (run_dir,) = (tmp_path / "verbose").iterdir()
    (error,) = events_of(converse.read_events(run_dir / "events.jsonl"), RunError)
    assert "rejected the API key" in error.message
    assert_no_key(quiet, verbose, tree=tmp_path)


def test_retried_server_errors_leave_no_key_behind(tmp_path: Path) -> None:
    with ModelServer(api_key=KEY, faults=Faults(rate_500=0.3), seed=1) as server:
        done = converse_cli("-v", *run_args(server.base_url, tmp_path / "runs"), cwd=tmp_path)
        stats = server.stats()
    assert done.returncode == 0, done.stderr
    assert stats.server_errors > 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    attempts = events_of(converse.read_events(run_dir / "events.jsonl"), LLMAttempt)
    assert len(attempts) == stats.server_errors
    assert all(a.status == 500 for a in attempts)
    assert_no_key(done, tree=tmp_path)


class _Echo(BaseHTTPRequestHandler):
    """A server that quotes the request's ``Authorization`` back in its error messages, as a
    careless proxy might: a 500 first (retried), then 400s (not retried)."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what the server received, not its log."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        with self.server.lock:
            self.server.seen.append(authorization)
            status = 500 if len(self.server.seen) == 1 else 400
        message = f"upstream refused the request with Authorization: {authorization}"
        body = msgspec.json.encode(
            {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def echo_server() -> Iterator[Any]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    httpd.seen, httpd.lock = [], threading.Lock()  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_server_that_quotes_the_key_back_is_scrubbed_everywhere(tmp_path: Path) -> None:
    with echo_server() as httpd:
        url = f"http://127.0.0.1:{httpd.server_port}/v1"
        done = converse_cli("-v", *run_args(url, tmp_path / "runs"), cwd=tmp_path)
        seen = list(httpd.seen)
    assert seen == [f"Bearer {KEY}"] * 2  # the key was sent, and quoted back twice
    assert done.returncode == 1
    (run_dir,) = (tmp_path / "runs").iterdir()
    events = converse.read_events(run_dir / "events.jsonl")
    first, second = events_of(events, LLMAttempt)
    assert (first.status, second.status) == (500, 400)
    assert "Authorization: Bearer ***" in first.error
    assert "Authorization: Bearer ***" in second.error
    assert "Authorization: Bearer ***" in done.stderr
    assert_no_key(done, tree=tmp_path)
