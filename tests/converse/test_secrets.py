"""The API key reaches the model server and nothing else: not a log, a transcript, a sweep's
summary or report, a replay, nor anything printed, whatever the server answers."""

from __future__ import annotations

import base64
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
from _helpers import cli_env, one_error_line, run_cli
from converse.events import LLMAttempt, RunError, RunStarted
from converse.testing import Faults, ModelServer, events_of

KEY = "sk-test-SECRET-4b1d9c7e"
TOKEN = "tok-QUERY-77e0a1f3"  # a gateway's token, in the base URL's query


def basic(user: str, password: str) -> str:
    """The base64 an ``Authorization: Basic`` header carries."""
    return base64.b64encode(f"{user}:{password}".encode()).decode()


SHORT = ("--set", "clock.end=2023")
LEAKS = re.compile(
    "|".join(
        (re.escape(KEY), "SECRET-4b1d9c7e", r"Bearer\s+sk-", re.escape(TOKEN), re.escape(basic("gw", KEY)),
         re.escape(basic(KEY, "")))
    ),
    re.IGNORECASE,
)


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
        message = f"upstream refused the request with Authorization: {authorization} ({authorization.upper()})"
        body = msgspec.json.encode(
            {"error": {"message": message, "type": "invalid_request_error", "code": None}}
        )
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def echo_server(handler: type[BaseHTTPRequestHandler] = _Echo) -> Iterator[Any]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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


# -- credentials in the base URL ----------------------------------------------------------------


class _Gateway(BaseHTTPRequestHandler):
    """A gateway that answers every chat request with a 200 quoting what it was sent: the
    ``Authorization`` header and the query (where its token is), and the key upper-cased."""

    protocol_version = "HTTP/1.1"
    server: Any

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what the server received, not its log."""

    def do_GET(self) -> None:  # the questions about the context window: not reported
        self.send_error(404)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization", "")
        with self.server.lock:
            self.server.seen.append((self.path, authorization))
        text = f"Noted. You sent {self.path} with Authorization: {authorization}; your key is {KEY.upper()}."
        body = msgspec.json.encode({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "gateway-chat",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70},
        })
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_base_url_with_credentials_reaches_the_server_and_nothing_else(tmp_path: Path) -> None:
    with echo_server(_Gateway) as httpd:
        url = f"http://gw:{KEY}@127.0.0.1:{httpd.server_port}/v1?token={TOKEN}&region=eu"
        done = converse_cli(
            "-v", "run", "three-labs", "--model", "openai:gateway-chat", "--base-url", url, *SHORT,
            "--set", "judge.enabled=false", "--out", str(tmp_path / "runs"), cwd=tmp_path,
        )
        seen = list(httpd.seen)
    assert done.returncode == 0, done.stderr
    # Every request went to the URL as given: its query, and its userinfo as Basic auth.
    assert len(seen) == 3  # three labs, one year
    assert set(seen) == {(f"/v1/chat/completions?token={TOKEN}&region=eu", f"Basic {basic('gw', KEY)}")}
    (run_dir,) = (tmp_path / "runs").iterdir()
    transcript = (run_dir / "transcript.md").read_text(encoding="utf-8")
    # The answers quoted the header, the token and the key (upper-cased): kept, scrubbed.
    assert transcript.count("?token=***&region=eu with Authorization: Basic ***; your key is ***.") == 3
    assert assert_no_key(done, tree=tmp_path) >= 2


def test_a_key_in_the_base_urls_query_is_sent_and_scrubbed_from_every_error(tmp_path: Path) -> None:
    with ModelServer(api_key=KEY) as server:
        # The model is not served: the run fails, and its errors name the server's URL. The key
        # is in the query twice: named as a key, and under a name that says nothing.
        url = f"{server.base_url}?api-key={KEY}&x={KEY}"
        done = converse_cli(
            "-v", "run", "three-labs", "--model", "openai:nope", "--base-url", url, *SHORT,
            "--out", str(tmp_path / "runs"), cwd=tmp_path,
        )
        stats = server.stats()
    assert done.returncode == 1
    assert stats.requests == 1  # it reached the chat endpoint (and was refused there: no such model)
    assert f"{server.base_url}?api-key=***&x=*** (nope): no such model 'nope'" in done.stderr
    assert_no_key(done, tree=tmp_path)


def test_a_run_whose_base_url_had_a_key_resumes_only_when_given_the_url_again(tmp_path: Path) -> None:
    with ModelServer(api_key=KEY) as server:
        url = f"{server.base_url}?api-key={KEY}"
        first = converse_cli(
            "run", "three-labs", "--model", "openai:nope", "--set", f"model.base_url={url}", *SHORT,
            "--out", str(tmp_path / "runs"), cwd=tmp_path,
        )
        (run_dir,) = (tmp_path / "runs").iterdir()
        started = converse.read_events(run_dir / "events.jsonl")[0]
        # What the log recorded cannot reach the server: resume asks for the URL, naming it scrubbed.
        blind = converse_cli("resume", str(run_dir), "--model", "openai:offline-chat", cwd=tmp_path)
        given = converse_cli(
            "resume", str(run_dir), "--model", "openai:offline-chat", "--base-url", url, cwd=tmp_path
        )
    assert first.returncode == 1
    assert isinstance(started, converse.events.RunStarted)
    assert started.scenario["model"]["base_url"] == f"{server.base_url}?api-key=***"
    assert f"model.base_url={server.base_url}?api-key=***" in started.overrides
    assert blind.returncode == 2
    assert one_error_line(blind).endswith(
        f"the base URL {server.base_url}?api-key=*** has *** for its credentials (a log records it so): "
        "give the URL again with --base-url"
    )
    assert given.returncode == 0, given.stderr
    assert_no_key(first, blind, given, tree=tmp_path)


def test_an_agents_own_server_with_credentials_is_scrubbed_from_the_log(tmp_path: Path) -> None:
    """A model an agent has of its own names its server in the scenario the log records: its
    credentials are scrubbed there as the run's own server's are."""
    with echo_server(_Gateway) as httpd:
        url = f"http://gw:{KEY}@127.0.0.1:{httpd.server_port}/v1?token={TOKEN}"
        done = converse_cli(
            "run", "three-labs", *SHORT, "--set", "judge.enabled=false",
            "--set", f'agents[0].model={{spec="openai:gateway-chat", base_url="{url}"}}',
            "--out", str(tmp_path / "runs"), cwd=tmp_path,
        )
        seen = list(httpd.seen)
    assert done.returncode == 0, done.stderr
    assert len(seen) == 1  # OpenAI's one statement; the other labs spoke with the offline model
    (run_dir,) = (tmp_path / "runs").iterdir()
    started = converse.read_events(run_dir / "events.jsonl")[0]
    assert isinstance(started, RunStarted)
    assert started.scenario["agents"][0]["model"]["base_url"] == f"http://***@127.0.0.1:{httpd.server_port}/v1?token=***"
    assert_no_key(done, tree=tmp_path)
