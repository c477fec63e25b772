"""``converse view`` pointed at a directory an attacker or a careless operator made, and sent
requests no browser would send.

What it promises: it serves only regular files under its directory (no link out, no FIFO, no
device, and no swap between its check and its open can change that), answers every request
(a 4xx with a short JSON error when there is nothing to give), reads a log in bounded steps
whatever its lines (one of 200 MB, or no newline at all) so that its memory stays bounded, and
survives running out of file descriptors. Every hostile directory is built here, by the test
that uses it: nothing hostile is shipped.
"""

from __future__ import annotations

import itertools
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import pytest

from _helpers import cli_env, run_cli
from _viewing import address, exchange, fetch, parse
from converse.web import Catalog, view_server
from converse.web._reading import LINE_LIMIT, Lines

SECRET = "the-secret-outside-the-root"
BIG = 200 << 20  # a 200 MB line

# The viewer in a process of its own, on the given backend, under a resource limit (its name
# and value): it prints its address when it is ready.
SERVE = """
import resource, sys
from functools import partial
import anyio
from converse.web import serve
limit = getattr(resource, sys.argv[3])
resource.setrlimit(limit, (int(sys.argv[4]), resource.getrlimit(limit)[1]))
anyio.run(partial(serve, sys.argv[1], port=0, on_ready=lambda url: print(url, flush=True)), backend=sys.argv[2])
"""


@pytest.fixture(scope="module")
def log_lines(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """The lines of a real run's log (councils with advisers: model calls sharing prefixes)."""
    base = tmp_path_factory.mktemp("hostile")
    done = run_cli("run", "nested-councils", "--out", str(base), cwd=base)
    assert done.returncode == 0, done.stderr
    return (base / "nested-councils-seed0" / "events.jsonl").read_bytes().splitlines(keepends=True)


def outside(base: Path, log_lines: list[bytes]) -> Path:
    """A folder beside the root whose every file holds the secret: a run's log (its run
    named after the secret), a transcript and a sweep's manifest."""
    out = base / "outside"
    out.mkdir()
    started = json.loads(log_lines[0])
    started["run"] = started["scenario_name"] = SECRET
    (out / "events.jsonl").write_bytes(json.dumps(started).encode() + b"\n" + b"".join(log_lines[1:]))
    (out / "transcript.md").write_text(SECRET + "\n")
    (out / "sweep.json").write_text(json.dumps({"scenario": SECRET, "grid": {}}))
    return out


def run_dir(root: Path, name: str, log: bytes | None = None) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    if log is not None:
        (folder / "events.jsonl").write_bytes(log)
    return folder


def links_out(root: Path, out: Path) -> None:
    """Under ``root``: ``linked``, a run folder whose log and transcript are links into
    ``out``; ``dirlink``, a link to ``out`` itself; ``sw``, a sweep whose manifest is one."""
    linked = run_dir(root, "linked")
    (linked / "events.jsonl").symlink_to(out / "events.jsonl")
    (linked / "transcript.md").symlink_to(out / "transcript.md")
    (root / "dirlink").symlink_to(out, target_is_directory=True)
    (run_dir(root, "sw") / "sweep.json").symlink_to(out / "sweep.json")


def not_files(root: Path) -> Path:
    """Under ``root``: ``fifo``, a run folder whose log and transcript are FIFOs; ``zero``,
    one whose are links to ``/dev/zero``; ``loop``, one whose log is a link to itself, and
    ``loop/a`` and ``loop/b`` links to each other. Returns the folder of FIFOs."""
    fifo = run_dir(root, "fifo")
    os.mkfifo(fifo / "events.jsonl")
    os.mkfifo(fifo / "transcript.md")
    zero = run_dir(root, "zero")
    (zero / "events.jsonl").symlink_to("/dev/zero")
    (zero / "transcript.md").symlink_to("/dev/zero")
    loop = run_dir(root, "loop")
    (loop / "events.jsonl").symlink_to(loop / "events.jsonl")
    (loop / "a").symlink_to(loop / "b")
    (loop / "b").symlink_to(loop / "a")
    return fifo


def every_route(name: str) -> list[str]:
    """Every request that reads a file of the run directory ``name``."""
    return [
        f"/api/run?path={name}",
        f"/api/stream?path={name}",
        f"/api/call?path={name}&call=1",
        f"/api/audit?path={name}",
        f"/api/group?path={name}",
        f"/api/file?path={name}&name=events.jsonl",
        f"/api/file?path={name}&name=transcript.md",
    ]


def sse(body: bytes) -> list[tuple[str, Any]]:
    """The server-sent events of a stream's body: (event, data)."""
    out = []
    for chunk in body.split(b"\r\n\r\n", 1)[-1].split(b"\n\n"):
        if chunk.startswith(b"event: "):
            event, _, data = chunk.partition(b"\ndata: ")
            out.append((event[7:].decode(), json.loads(data)))
    return out


def error_answer(status: int, headers: dict[str, str], body: bytes) -> str:
    """The message of a short JSON error answer (and that it is one)."""
    assert 400 <= status < 500, (status, body[:200])
    assert headers["content-type"] == "application/json"
    assert len(body) < 200
    message = json.loads(body)["error"]
    assert isinstance(message, str)
    return message



def unblock(folder: Path) -> None:
    """Let go of whoever waits to read a FIFO in ``folder`` (a viewer that opened one would
    wait for a writer forever, and its worker thread with it)."""
    for entry in folder.iterdir():
        if stat.S_ISFIFO(entry.lstat().st_mode):
            try:
                fd = os.open(entry, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # no reader
                continue
            os.close(fd)


@contextmanager
def viewer(root: Path, backend: str, limit: str, value: int) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``converse view ROOT`` in a process of its own with ``resource.LIMIT`` set to
    ``value``: its address and process while the block runs."""
    with subprocess.Popen(
        [sys.executable, "-c", SERVE, str(root), backend, limit, str(value)],
        env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            assert url.startswith("http://"), process.stderr.read() if process.stderr else ""
            yield url, process
        finally:
            process.terminate()
            process.wait(timeout=10)


def memory(pid: int) -> dict[str, int]:
    """A process's resident memory now (``VmRSS``) and at its peak (``VmHWM``), in kB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines())
    return {name: int(fields[name].split()[0]) for name in ("VmRSS", "VmHWM")}


async def follow(url: str, target: str, until: bytes, *, deadline: float) -> bytes:
    """A stream's body up to the first ``until`` (within ``deadline`` seconds)."""
    netloc = urlsplit(url).netloc
    async with await anyio.connect_tcp(*address(url)) as stream:
        await stream.send(f"GET {target} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode())
        data = b""
        with anyio.fail_after(deadline):
            while until not in data:
                data += await stream.receive()
    return data


# --- nothing but regular files under the directory -----------------------------------------


async def test_no_file_link_leads_out_of_the_directory(tmp_path: Path, log_lines: list[bytes], backend: str) -> None:
    out = outside(tmp_path, log_lines)
    root = tmp_path / "runs"
    links_out(root, out)
    real = run_dir(root, "real", b"".join(log_lines))  # a run of its own, with a transcript linked from outside
    (real / "transcript.md").symlink_to(out / "transcript.md")
    targets = ["/api/index", *every_route("linked"), *every_route("dirlink"), *every_route("real"), *every_route("sw")]
    async with view_server(root) as url:
        answers = {target: await fetch(url, target) for target in targets}
    for target, (_, _, body) in answers.items():
        assert SECRET.encode() not in body, target
    assert [r["path"] for r in json.loads(answers["/api/index"][2])["runs"]] == ["real"]
    for target in every_route("linked"):
        error_answer(*answers[target])
    assert error_answer(*answers["/api/file?path=real&name=transcript.md"]) == "this run has no transcript.md"
    assert answers["/api/file?path=real&name=events.jsonl"][2] == b"".join(log_lines)
    assert answers["/api/run?path=real"][0] == 200


@pytest.mark.parametrize("moment", ["after its folder is checked", "after the file is checked"])
async def test_a_link_swapped_in_after_the_check_does_not_lead_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, moment: str, backend: str
) -> None:
    """An attacker who swaps a run's folder for a link out between the viewer's look at a path
    and its open of the file gets nothing."""
    base = tmp_path  # resolved, as the viewer's root is: so the paths it looks at are these
    root = base / "runs"
    folder = run_dir(root, "swap")
    (folder / "transcript.md").write_text("harmless\n")
    (base / "elsewhere").mkdir()
    (base / "elsewhere" / "transcript.md").write_text(SECRET + "\n")
    trigger = str(folder if moment == "after its folder is checked" else folder / "transcript.md")
    resolve = os.path.realpath
    swapped: list[str] = []

    def realpath(path: Any, *args: Any, **kwargs: Any) -> Any:
        real = resolve(path, *args, **kwargs)
        if os.fspath(path) == trigger and not swapped:
            swapped.append(trigger)
            folder.rename(root / "swap-was")
            folder.symlink_to(base / "elsewhere", target_is_directory=True)
        return real

    monkeypatch.setattr(os.path, "realpath", realpath)
    async with view_server(root) as url:
        answer = await fetch(url, "/api/file?path=swap&name=transcript.md")
    assert swapped
    assert SECRET.encode() not in answer[2]
    error_answer(*answer)


async def test_fifos_devices_and_link_loops_are_refused_at_once(tmp_path: Path, backend: str) -> None:
    root = tmp_path / "runs"
    fifo = not_files(root)
    targets = ["/api/index", *every_route("fifo"), *every_route("zero"), *every_route("loop"), "/api/run?path=loop/a"]
    answers = {}
    async with view_server(root) as url:
        try:
            for target in targets:
                answers[target] = await fetch(url, target, deadline=5)
        finally:
            unblock(fifo)
    assert json.loads(answers.pop("/api/index")[2])["runs"] == []
    for target, answer in answers.items():
        assert answer[0] == 404, target
        error_answer(*answer)


# --- bounded reading ---------------------------------------------------------------------------


async def test_a_bad_line_in_the_middle_costs_only_that_line(tmp_path: Path, log_lines: list[bytes], backend: str) -> None:
    events = [json.loads(line) for line in log_lines]
    calls = [e for e in events if e["type"] == "llm_call"]
    inherited = {c["shared"]["call"] for c in calls if c.get("shared")}
    bad = next(i for i, e in enumerate(events) if e["type"] == "llm_call" and e["call"] in inherited)
    lost = events[bad]["call"]
    heirs = {lost}  # the calls whose prompt shares messages that were in the lost line
    for call in calls:
        if (call.get("shared") or {}).get("call") in heirs:
            heirs.add(call["call"])
    lines = list(log_lines)
    lines[bad] = b'{"type": "llm_call", "call": ' + str(lost).encode() + b", \n"
    root = tmp_path / "runs"
    run_dir(root, "damaged", b"".join(lines))
    async with view_server(root) as url:
        served = {c["call"]: await fetch(url, f"/api/call?path=damaged&call={c['call']}") for c in calls}
        run = json.loads((await fetch(url, "/api/run?path=damaged"))[2])["items"]
        audit = await fetch(url, "/api/audit?path=damaged")
    assert error_answer(*served.pop(lost)) == f"no call {lost} in this run"
    assert all(status == 200 for status, _, _ in served.values())
    prompts = {number: json.loads(body) for number, (_, _, body) in served.items()}
    assert {n for n, p in prompts.items() if p["lost_messages"]} == heirs - {lost}
    whole = {c["call"]: c for c in calls}
    for number, prompt in prompts.items():  # each prompt is whole, or its own messages with the count of those lost
        own = [{"role": m["role"], "content": m["content"]} for m in whole[number]["messages"]]
        assert prompt["messages"][len(prompt["messages"]) - len(own) :] == own
        if number in heirs:
            assert prompt["lost_messages"] + len(prompt["messages"]) == whole[number]["shared"]["count"] + len(own)
    unread = [i for i in run if i["k"] == "unread"]
    assert unread == [
        {"k": "unread", "id": unread[0]["id"], "at": sum(map(len, lines[:bad])), "length": len(lines[bad]), "too_long": False}
    ]
    said = [e for e in events if e["type"] == "utterance" and len(e["conversation"]) == 1]
    assert [i["text"] for i in run if i["k"] == "statement"] == [u["text"] for u in said]
    assert [i for i in run if i["k"] == "status"][-1]["status"] == "completed"
    assert audit[0] in (200, 422)  # audited, or told why not: a prompt it would check is lost
    if audit[0] == 422:
        assert str(lost) in error_answer(*audit)


async def test_a_line_too_long_is_shown_as_such_and_the_rest_is_read(
    tmp_path: Path, log_lines: list[bytes], backend: str
) -> None:
    middle = len(log_lines) // 2
    long_line = b'{"type": "utterance", "text": "' + b"x" * LINE_LIMIT + b'"}\n'
    root = tmp_path / "runs"
    run_dir(root, "long", b"".join(log_lines[:middle]) + long_line + b"".join(log_lines[middle:]))
    async with view_server(root) as url:
        run = json.loads((await fetch(url, "/api/run?path=long"))[2])["items"]
        streamed = sse((await fetch(url, "/api/stream?path=long"))[2])
    assert streamed[-1] == ("end", {})
    for items in (run, [i for event, data in streamed if event == "items" for i in data]):
        (unread,) = [i for i in items if i["k"] == "unread"]
        assert unread["at"] == sum(map(len, log_lines[:middle]))
        assert unread["too_long"]
        assert LINE_LIMIT < unread["length"] <= len(long_line)
        said = [e for e in map(json.loads, log_lines) if e["type"] == "utterance" and len(e["conversation"]) == 1]
        assert [i["text"] for i in items if i["k"] == "statement"] == [u["text"] for u in said]
        assert [i for i in items if i["k"] == "status"][-1]["status"] == "completed"


def test_a_log_cut_while_it_is_read_ends_the_read(tmp_path: Path, log_lines: list[bytes]) -> None:
    """``converse resume`` cuts a torn log back while the viewer may be reading it: the read
    ends where the file now ends, instead of going round for bytes that are gone."""
    whole = b"".join(log_lines)
    log = tmp_path / "events.jsonl"
    log.write_bytes(whole)
    fd = os.open(log, os.O_RDONLY)
    try:
        steps = Lines(chunk=4096).steps(fd, len(whole))
        first, _, _ = next(steps)
        os.truncate(log, len(whole) // 2)
        bound = len(whole) // 4096 + 10
        rest = list(itertools.islice(steps, bound))
    finally:
        os.close(fd)
    assert len(rest) < bound
    kept = whole[: len(whole) // 2]
    assert first + b"".join(data for data, _, _ in rest) == kept[: kept.rfind(b"\n") + 1]


# --- every request answered ----------------------------------------------------------------------


async def test_every_malformed_request_gets_a_short_json_error(tmp_path: Path, log_lines: list[bytes], backend: str) -> None:
    root = tmp_path / "runs"
    not_files(root)
    run_dir(root, "good", b"".join(log_lines))
    targets = {
        "/api/run?path=" + "a" * 300: 404,  # a name longer than the system takes
        "/api/run?path=" + "/".join(["a" * 200] * 30): 404,  # a path longer than the system takes
        "/api/run?path=loop/a": 404,  # links in a loop
        "/api/stream?path=loop/a/b": 404,
        "/api/file?path=loop/a&name=transcript.md": 404,
        "/api/run?path=good%00": 404,
        "/api/run?path=%ff%fe": 404,
        "/api/run?path=good/events.jsonl": 404,  # a file, not a run's folder
        "/api/group?path=good": 404,  # a run, not a sweep
        "/api/call?path=good&call=1e999": 400,
        "/api/call?path=good&call=" + "9" * 5000: 400,
        "/api/call?path=good&call=99999999999999999999": 404,
        "/api/file?path=good&name=": 400,
    }
    raw = {
        b"GARBAGE\r\n\r\n": 400,
        b"GET /api/index HTTP/1.1\r\nno colon here\r\n\r\n": 400,
        b"GET http://elsewhere/api/index HTTP/1.1\r\n\r\n": 400,
        b"GET /api/index SPDY/3\r\n\r\n": 400,
        b"\xff\xfe\x00\x01 / HTTP/1.1\r\n\r\n": 400,
        b"GET /api/index HTTP/1.1\r\nX: " + b"y" * 20_000 + b"\r\n\r\n": 431,
    }
    async with view_server(root) as url:
        netloc = urlsplit(url).netloc
        for target, expected in targets.items():
            answer = await fetch(url, target, deadline=5)
            assert answer[0] == expected, (target[:80], answer)
            error_answer(*answer)
        for request, expected in raw.items():
            whole = request.replace(b"\r\n\r\n", f"\r\nHost: {netloc}\r\nConnection: close\r\n\r\n".encode(), 1)
            answer = parse(await exchange(url, whole, deadline=5))
            assert answer[0] == expected, (request[:80], answer)
            error_answer(*answer)
        assert (await fetch(url, "/api/index"))[0] == 200  # and it goes on


async def test_a_request_the_viewer_fails_on_is_answered_and_it_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    def broken(self: Catalog) -> dict[str, Any]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(Catalog, "index", broken)
    (tmp_path / "runs").mkdir()
    async with view_server(tmp_path / "runs") as url:
        status, headers, body = await fetch(url, "/api/index")
        after = await fetch(url, "/app.css")
    assert status == 500
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"error": "the viewer failed on this request"}
    assert after[0] == 200


@pytest.mark.parametrize("backend_name", ["asyncio", "trio"])
def test_out_of_file_descriptors_it_refuses_connections_and_goes_on(tmp_path: Path, backend_name: str) -> None:
    """With 40 descriptors, 60 connections at once: the last ones are closed unanswered, and
    once they are gone the viewer answers again."""
    root = tmp_path / "runs"
    root.mkdir()
    with viewer(root, backend_name, "RLIMIT_NOFILE", 40) as (url, process):
        held: list[socket.socket] = []
        try:
            held += (socket.create_connection(address(url), timeout=10) for _ in range(60))
            last = held[-1]
            try:
                refused = last.recv(1) == b""  # closed without a word
            except ConnectionResetError:
                refused = True
            assert refused
        finally:
            for connection in held:
                connection.close()
        assert process.poll() is None  # still there
        deadline = time.monotonic() + 10
        while True:  # the viewer notices the closed connections, and has descriptors again
            status = anyio.run(fetch, url, "/api/index")[0]
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert status == 200


# --- all of it at once, in bounded memory --------------------------------------------------------

GROWTH_MB = 100  # the most the viewer's resident memory may grow over the hostile directory


def sparse_log(path: Path, head: bytes, tail: bytes | None) -> None:
    """A log of ``head``, then a line of ``BIG`` bytes (a hole: quick to make, no disk), then
    ``tail``; ``tail`` None leaves that line torn (no newline: the file ends in it)."""
    with path.open("wb") as f:
        f.write(head + b'{"type": "utterance", "text": "')
        f.truncate(f.tell() + BIG)
        if tail is not None:
            f.seek(0, os.SEEK_END)
            f.write(b'"}\n' + tail)


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="measures memory through Linux's /proc")
def test_a_hostile_directory_is_answered_in_bounded_memory_and_nothing_leaves_it(
    tmp_path: Path, log_lines: list[bytes]
) -> None:
    """Links out, FIFOs, a link to /dev/zero, links in a loop, a log with a 200 MB line in the
    middle and one torn in a 200 MB last line followed by 10 streams at once: every request is
    answered in time, nothing from outside is served, and the viewer's memory grows by less
    than GROWTH_MB (it held the whole torn line once per stream before)."""
    out = outside(tmp_path, log_lines)
    root = tmp_path / "runs"
    run_dir(root, "good", b"".join(log_lines))
    links_out(root, out)
    fifo = not_files(root)
    half = len(log_lines) // 2
    sparse_log(run_dir(root, "long") / "events.jsonl", b"".join(log_lines[:half]), b"".join(log_lines[half:]))
    sparse_log(run_dir(root, "torn") / "events.jsonl", b"".join(log_lines[:half]), None)
    hostile = ["linked", "dirlink", "sw", "fifo", "zero", "loop", "loop/a", "long", "torn"]
    targets = ["/api/index"] + [t for name in hostile for t in every_route(name) if "stream?path=torn" not in t]

    async def visit(url: str) -> dict[str, tuple[int, dict[str, str], bytes]]:
        answers = {}
        for target in targets:
            # A 200 MB log is not downloaded here (its headers say what would come).
            method = "HEAD" if target.endswith("events.jsonl") and ("long" in target or "torn" in target) else "GET"
            answers[target] = await fetch(url, target, method=method, deadline=20)
        streams: list[bytes] = []

        async def one() -> None:
            streams.append(await follow(url, "/api/stream?path=torn", b"event: live", deadline=30))

        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(one)
        answers["/api/stream?path=torn"] = (200, {}, b"".join(streams))
        return answers

    with viewer(root, "asyncio", "RLIMIT_AS", 4 << 30) as (url, process):
        # Warm up on a good run (the imports, the decoders, a thread pool), then count from here.
        for target in ("/", "/api/run?path=good", "/api/call?path=good&call=1", "/api/stream?path=good"):
            assert anyio.run(fetch, url, target)[0] == 200
        Path(f"/proc/{process.pid}/clear_refs").write_text("5")  # the peak starts again from now
        before = memory(process.pid)
        try:
            answers = anyio.run(visit, url)
        finally:
            unblock(fifo)
        after = memory(process.pid)
        assert process.poll() is None
    growth = (after["VmHWM"] - before["VmRSS"]) / 1024
    assert growth < GROWTH_MB, f"the viewer grew by {growth:.0f} MB"
    for target, (status, _, body) in answers.items():
        assert SECRET.encode() not in body, target
        assert status in (200, 404), (target, status, body[:200])
    index = json.loads(answers["/api/index"][2])
    assert sorted(r["path"] for r in index["runs"]) == ["good", "long", "torn"]
    for name in ("linked", "dirlink", "fifo", "zero", "loop", "loop/a"):
        assert {status for target, (status, _, _) in answers.items() if f"path={name}&" in target or target.endswith(f"path={name}")} == {404}
    for name in ("long", "torn"):
        items = json.loads(answers[f"/api/run?path={name}"][2])["items"]
        (unread,) = [i for i in items if i["k"] == "unread"]
        assert unread["too_long"]
        assert unread["at"] == sum(map(len, log_lines[:half]))
        length = int(answers[f"/api/file?path={name}&name=events.jsonl"][1]["content-length"])
        assert length == (root / name / "events.jsonl").stat().st_size
    assert [i for i in json.loads(answers["/api/run?path=long"][2])["items"] if i["k"] == "status"][-1]["status"] == "completed"
    streamed = answers["/api/stream?path=torn"][2]
    assert streamed.count(b"event: live") == 10
    assert streamed.count(b'"k":"unread"') == 10
