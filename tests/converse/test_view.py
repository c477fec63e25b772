"""``converse view``: what the viewer serves, over real HTTP on 127.0.0.1, and what it refuses.

The page itself is tested in a real browser in ``test_view_browser.py``, and hostile
directories and requests in ``test_view_hostile.py``; here the requests are written byte for
byte on a socket (``_viewing.fetch``), so ``..`` and odd Host headers reach the server as a
hostile page or client would send them.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import anyio
import msgspec
import msgspec.inspect as mi
import pytest

from _helpers import CONVERSE, run_cli
from _viewing import fetch
from converse import read_events
from converse.events import Judged, LLMCall, Utterance, prompts_of
from converse.sweeps import SweepRow, read_summary_csv
from converse.sweeps._strips import Strip, strips
from converse.transcript._text import md, score_text
from converse.web import Catalog, RunView, view_server
from converse.web._files import OutsideRoot, inside
from converse.web._items import PageItem

STATIC = Path(__file__).resolve().parents[2] / "converse" / "web" / "static"

SECRET = "the-secret-outside-the-root"


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of runs as users leave them: a run with nested debates, a sweep, a
    role-play, a run cut off half-way; and a secret file beside the directory."""
    base = tmp_path_factory.mktemp("view")
    (base / "secret").mkdir()
    (base / "secret" / "events.jsonl").write_text(SECRET + "\n")
    root = base / "runs"
    for args in (
        ("run", "nested-councils", "--out", str(root)),
        # A named dial (its override is dials.councils) and a key path, two runs each.
        ("sweep", "three-labs-councils", "--grid", "councils=true,false", "--grid", "clock.end=2024,2025",
         "--out", str(root / "sw"), "-q"),
        ("camel", "roleplay", "--out", str(root / "rp"), "--max-messages", "6"),
    ):
        done = run_cli(*args, cwd=base)
        assert done.returncode == 0, done.stderr
    lines = (root / "nested-councils-seed0" / "events.jsonl").read_bytes().splitlines(keepends=True)
    (root / "cut").mkdir()
    (root / "cut" / "events.jsonl").write_bytes(b"".join(lines[: len(lines) // 2]) + lines[len(lines) // 2][:20])
    return root


async def test_the_index_lists_runs_sweeps_and_datasets_with_their_figures(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        status, headers, body = await fetch(url, "/api/index")
    assert status == 200
    assert headers["content-type"] == "application/json"
    index = json.loads(body)
    runs = {r["path"]: r for r in index["runs"]}
    nested = runs["nested-councils-seed0"]
    finished = read_events(library / "nested-councils-seed0" / "events.jsonl")[-1]
    assert nested["status"] == "completed"
    assert nested["scenario"] == "nested-councils"
    assert nested["periods"] == finished.periods == 5  # type: ignore[attr-defined]
    assert nested["tokens"] == finished.prompt_tokens + finished.completion_tokens  # type: ignore[attr-defined]
    assert nested["scores"]["capability_progress"] is not None
    assert runs["rp/camel-trading-bot-seed0"]["kind"] == "roleplay"
    assert runs["cut"]["status"] == "running"  # written just now, not finished
    assert runs["cut"]["periods"] >= 1
    assert runs["cut"]["llm_calls"] > 0
    (sweep,) = index["groups"]
    assert (sweep["path"], sweep["kind"], sweep["runs"], sweep["statuses"]) == ("sw", "sweep", 4, {"completed": 4})
    assert not any(path.startswith("sw/") for path in runs)  # a sweep's runs are on its own page


async def test_a_sweep_page_has_each_runs_dials_and_scores(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        status, _, body = await fetch(url, "/api/group?path=sw")
    group = json.loads(body)
    assert status == 200
    assert group["dials"] == ["councils", "clock.end"]
    cells = sorted((r["dials"]["councils"], r["dials"]["clock.end"], r["seed"]) for r in group["rows"])
    assert cells == [(False, 2024, 0), (False, 2025, 0), (True, 2024, 0), (True, 2025, 0)]
    assert "safety_risk" in group["columns"]
    assert all(r["status"] == "completed" for r in group["rows"])


def test_an_old_unfinished_log_is_unfinished_not_running(library: Path) -> None:
    log = library / "cut" / "events.jsonl"
    old = time.time() - 3600
    os.utime(log, (old, old))
    try:
        assert Catalog(library).run_row(library / "cut")["status"] == "unfinished"
    finally:
        os.utime(log)


@pytest.mark.parametrize(
    "target",
    [
        "/api/run?path=../secret",
        "/api/run?path=..%2Fsecret",
        "/api/run?path=%2e%2e/secret",
        "/api/run?path=sw/../../secret",
        "/api/run?path=" + quote("/etc"),
        "/api/run?path=link-out",
        "/api/stream?path=../secret",
        "/api/file?path=../secret&name=events.jsonl",
        "/api/file?path=cut&name=../../secret/events.jsonl",
        "/api/call?path=../secret&call=1",
        "/api/group?path=..",
        "/../secret/events.jsonl",
        "/%2e%2e/secret/events.jsonl",
        "/app.js/../../secret/events.jsonl",
        "/secret/events.jsonl",
    ],
)
async def test_no_path_escapes_the_directory(library: Path, target: str, backend: str) -> None:
    link = library / "link-out"
    if not link.exists():
        link.symlink_to(library.parent / "secret", target_is_directory=True)
    async with view_server(library) as url:
        status, _, body = await fetch(url, target)
    assert status in (400, 404)
    assert SECRET.encode() not in body


def test_inside_refuses_every_way_out(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    assert inside(tmp_path.resolve(), "a") == (tmp_path / "a").resolve()
    assert inside(tmp_path.resolve(), "./a/") == (tmp_path / "a").resolve()
    for bad in ("..", "a/../..", "/etc", "a\\..\\..", "a\x00"):
        with pytest.raises(OutsideRoot):
            inside(tmp_path.resolve(), bad)


async def test_it_answers_only_reads_for_its_own_host(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        port = urlsplit(url).port
        assert (await fetch(url, "/api/index", host=f"localhost:{port}"))[0] == 200
        assert (await fetch(url, "/api/index", host="attacker.example"))[0] == 421  # DNS rebinding
        assert (await fetch(url, "/api/index", host=f"attacker.example:{port}"))[0] == 421
        status, headers, _ = await fetch(url, "/api/index", method="POST", extra="Content-Length: 0\r\n")
        assert status in (400, 405)
        status, headers, _ = await fetch(url, "/api/index", method="DELETE")
        assert status == 405
        assert headers["allow"] == "GET, HEAD"
        assert (await fetch(url, "/nothing-here"))[0] == 404


async def test_the_page_loads_nothing_from_elsewhere(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        pages = {target: await fetch(url, target) for target in ("/", "/app.js", "/app.css", "/favicon.svg")}
        # The script is ES modules: every module app.js imports, and every one they import, is served.
        modules = ["/app.js"]
        for module in modules:
            imported = re.findall(rb'^import .* from "\./([\w-]+\.js)";$', pages[module][2], re.MULTILINE)
            for name in imported:
                if "/" + name.decode() not in pages:
                    pages["/" + name.decode()] = await fetch(url, "/" + name.decode())
                    modules.append("/" + name.decode())
    assert sorted(modules) == sorted("/" + p.name for p in STATIC.glob("*.js"))  # none unused, none missing
    for target, (status, headers, body) in pages.items():
        assert status == 200, target
        policy = headers["content-security-policy"]
        assert "default-src 'none'" in policy
        assert "script-src 'self'" in policy
        assert headers["x-content-type-options"] == "nosniff"
        text = body.decode().replace("http://www.w3.org/2000/svg", "")  # a namespace name, never fetched
        assert "http://" not in text, target
        assert "https://" not in text, target
    assert b'<script type="module" src="/app.js"></script>' in pages["/"][2]
    for module in modules:
        status, headers, body = pages[module]
        assert headers["content-type"] == "text/javascript; charset=utf-8", module
        assert body.startswith(b"// @ts-check\n"), module
        for markup in (b"innerHTML", b"outerHTML", b"insertAdjacentHTML", b"document.write"):
            assert markup not in body, module  # model text only ever goes in as text


async def test_a_calls_whole_prompt_is_served_on_demand(library: Path, backend: str) -> None:
    events = read_events(library / "nested-councils-seed0" / "events.jsonl")
    prompts = prompts_of(events)
    call = next(e for e in events if isinstance(e, LLMCall) and e.shared is not None)
    async with view_server(library) as url:
        status, _, body = await fetch(url, f"/api/call?path=nested-councils-seed0&call={call.call}")
        missing = await fetch(url, "/api/call?path=nested-councils-seed0&call=99999")
        bad = await fetch(url, "/api/call?path=nested-councils-seed0&call=first")
    served = json.loads(body)
    assert status == 200
    assert served["actor"] == call.actor
    assert served["response"] == call.response
    assert served["messages"] == [{"role": m.role, "content": m.content} for m in prompts[call.call]]
    assert len(served["messages"]) > len(call.messages)  # the shared prefix is put back
    assert missing[0] == 404
    assert bad[0] == 400


async def test_a_calls_ending_structured_way_and_estimated_usage_are_served(library: Path, backend: str) -> None:
    events = read_events(library / "nested-councils-seed0" / "events.jsonl")
    judge = next(e for e in events if isinstance(e, LLMCall) and e.purpose == "judge")
    other = next(e for e in events if isinstance(e, LLMCall) and e.purpose != "judge")
    async with view_server(library) as url:
        served = [
            json.loads((await fetch(url, f"/api/call?path=nested-councils-seed0&call={c.call}"))[2])
            for c in (judge, other)
        ]
    assert served[0]["structured"] == "json_schema"  # the offline model holds the judge to the schema
    assert served[1]["structured"] is None
    assert [s["usage"]["estimated"] for s in served] == [False, False]
    assert [s["finish_reason"] for s in served] == [None, None]  # the offline model does not say


async def test_the_transcript_and_log_download(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        status, headers, body = await fetch(url, "/api/file?path=nested-councils-seed0&name=transcript.md")
        other = await fetch(url, "/api/file?path=nested-councils-seed0&name=report.html")
    assert status == 200
    assert headers["content-disposition"].startswith("attachment;")
    assert body == (library / "nested-councils-seed0" / "transcript.md").read_bytes()
    assert other[0] == 400


def wire(items: Iterable[PageItem]) -> list[dict[str, Any]]:
    """Items as the page reads them (``k`` their kind, ``in`` their container)."""
    return [msgspec.to_builtins(item) for item in items]


def test_every_debate_folds_under_the_line_that_follows_it(library: Path) -> None:
    events = read_events(library / "nested-councils-seed0" / "events.jsonl")
    view = RunView()
    items = wire(view.feed(events) + view.updates())
    debates = {i["id"]: i for i in items if i["k"] == "debate"}
    speeches = [i for i in items if i["k"] in ("statement", "line")]
    claimed = [(s, d) for s in speeches for d in s["claims"]]
    assert sorted(d for _, d in claimed) == sorted(debates)  # each debate, once
    for speech, debate_id in claimed:
        assert speech["actor"] == debates[debate_id]["owner"]
        assert speech["k"] == ("statement" if debates[debate_id]["depth"] == 1 else "line")
    assert any(d["depth"] == 2 for d in debates.values())  # advisers inside a council
    statements = [i for i in items if i["k"] == "statement"]
    said = [e for e in events if isinstance(e, Utterance) and len(e.conversation) == 1]
    assert [s["text"] for s in statements] == [u.text for u in said]
    assert all(s["call"] is not None for s in speeches)
    status = next(i for i in items if i["k"] == "status")
    assert status["status"] == "completed"
    assert status["periods"] == 5


async def test_the_stream_follows_a_log_as_it_grows(library: Path, tmp_path: Path, backend: str) -> None:
    lines = (library / "nested-councils-seed0" / "events.jsonl").read_bytes().splitlines(keepends=True)
    run = tmp_path / "live"
    run.mkdir()
    log = run / "events.jsonl"
    log.write_bytes(b"".join(lines[:40]))
    received: list[str] = []
    async with view_server(tmp_path, poll=0.02) as url:
        parts = urlsplit(url)
        assert parts.hostname is not None
        assert parts.port is not None
        async with await anyio.connect_tcp(parts.hostname, parts.port) as stream:
            await stream.send(f"GET /api/stream?path=live HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
            buffer = b""
            with anyio.fail_after(20):
                while b"event: items" not in buffer:
                    buffer += await stream.receive()
                first = len([c for c in buffer.split(b"\n\n") if c.startswith(b"event: items")])
                half = len(lines) // 2
                with log.open("ab") as f:  # the rest arrives in two writes, one cut mid-line
                    f.write(b"".join(lines[40:half]) + lines[half][:10])
                    f.flush()
                    await anyio.sleep(0.1)
                    f.write(lines[half][10:] + b"".join(lines[half + 1 :]))
                while b"event: end" not in buffer:
                    buffer += await stream.receive()
    chunks = [c for c in buffer.split(b"\r\n\r\n", 1)[1].split(b"\n\n") if c.startswith(b"event: items")]
    assert len(chunks) > first
    for chunk in chunks:
        received += [i["k"] for i in json.loads(chunk.split(b"data: ", 1)[1])]
    view = RunView()
    expected = [i["k"] for i in wire(view.feed(read_events(log)))]
    assert [k for k in received if k not in ("status", "usage", "turn")] == expected


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run_cli("view", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().count("\n") == 0
    assert "no such directory" in missing.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = run_cli("view", str(tmp_path), "--port", str(taken.getsockname()[1]), cwd=tmp_path)
    assert busy.returncode == 2
    assert "in use" in busy.stderr
    assert busy.stderr.strip().count("\n") == 0
    port = run_cli("view", str(tmp_path), "--port", "70000", cwd=tmp_path)
    assert port.returncode == 2
    assert "--port" in port.stderr


def test_the_command_serves_until_stopped(library: Path) -> None:
    with subprocess.Popen(
        [*CONVERSE, "view", str(library), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "serving" in line
            assert "http://127.0.0.1:" in line
            url = line.split(" at ")[1].split(" ")[0]

            async def index() -> dict[str, object]:
                return json.loads((await fetch(url, "/api/index"))[2])

            assert len(anyio.run(index)["runs"]) >= 3  # type: ignore[arg-type]
        finally:
            process.terminate()
            process.wait(timeout=10)


async def test_a_long_run_comes_whole_in_one_answer_and_in_the_stream(tmp_path: Path, backend: str) -> None:
    """A log longer than one read (the viewer reads 4 MB at a time) arrives whole."""
    done = run_cli("run", "five-orgs-long", "--out", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    log = tmp_path / "runs" / "five-orgs-long-seed0" / "events.jsonl"
    assert log.stat().st_size > 4 << 20
    events = read_events(log)
    statements = sum(1 for e in events if isinstance(e, Utterance) and len(e.conversation) == 1)
    async with view_server(tmp_path / "runs") as url:
        status, _, body = await fetch(url, "/api/run?path=five-orgs-long-seed0")
        stream = (await fetch(url, "/api/stream?path=five-orgs-long-seed0"))[2]
    items = json.loads(body)["items"]
    assert status == 200
    assert sum(1 for i in items if i["k"] == "statement") == statements == 250
    assert next(i for i in reversed(items) if i["k"] == "status")["status"] == "completed"
    streamed = [i for chunk in stream.split(b"\n\n") if chunk.startswith(b"event: items")
                for i in json.loads(chunk.split(b"data: ", 1)[1])]
    assert [i["k"] for i in streamed if i["k"] not in ("status", "usage", "turn")] == [
        i["k"] for i in items if i["k"] not in ("status", "usage", "turn")
    ]
    assert stream.rstrip().endswith(b"event: end\ndata: {}")


async def test_a_sweep_or_a_run_can_be_the_directory_itself(library: Path, backend: str) -> None:
    async with view_server(library / "sw") as url:
        index = json.loads((await fetch(url, "/api/index"))[2])
        group = json.loads((await fetch(url, "/api/group?path=."))[2])
    assert [(g["path"], g["kind"], g["runs"]) for g in index["groups"]] == [(".", "sweep", 4)]
    assert index["runs"] == []
    assert len(group["rows"]) == 4
    async with view_server(library / "nested-councils-seed0") as url:
        index = json.loads((await fetch(url, "/api/index"))[2])
        status, _, body = await fetch(url, "/api/run?path=.")
        _, headers, _ = await fetch(url, "/api/file?path=.&name=transcript.md")
    assert [r["path"] for r in index["runs"]] == ["."]
    assert status == 200
    assert any(i["k"] == "statement" for i in json.loads(body)["items"])
    assert headers["content-disposition"] == 'attachment; filename="nested-councils-seed0-transcript.md"'


def test_a_critics_choice_links_the_chosen_candidates_call(tmp_path: Path) -> None:
    done = run_cli("camel", "roleplay", "--critic", "model", "--candidates", "3", "--max-messages", "4",
                   "--out", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    events = read_events(tmp_path / "camel-trading-bot-seed0" / "events.jsonl")
    answers = {e.call: e.response for e in events if isinstance(e, LLMCall)}
    view = RunView()
    statements = [i for i in wire(view.feed(events)) if i["k"] == "statement"]
    chosen = [s for s in statements if s["critic"] is not None]
    assert chosen
    assert any(s["critic"]["choice"] != len(s["critic"]["options"]) for s in chosen)  # not always the last
    for statement in statements:  # the prompt button opens the call whose answer was kept
        assert answers[statement["call"]].strip().startswith(statement["text"].strip()[:40])


def test_a_verdicts_scores_come_as_the_transcripts_text(library: Path) -> None:
    events = read_events(library / "nested-councils-seed0" / "events.jsonl")
    judged = next(e for e in events if isinstance(e, Judged))
    (verdict,) = [i for i in wire(RunView().feed(events)) if i["k"] == "verdict"]
    assert [s["text"] for s in verdict["scores"]] == [score_text(s) for s in judged.scores]
    assert any(s["text"].endswith("/10") for s in verdict["scores"])
    transcript = (library / "nested-councils-seed0" / "transcript.md").read_text(encoding="utf-8")
    for score in verdict["scores"]:  # the page shows each score as the transcript writes it
        shown = f"- **{md(score['name'])}:** {score['text']}" if score["subject"] is None else f" {score['text']} |"
        assert shown in transcript


async def test_a_sweep_pages_charts_are_the_reports_strip_statistics(library: Path, backend: str) -> None:
    async with view_server(library) as url:
        group = json.loads((await fetch(url, "/api/group?path=sw"))[2])
    rows = [
        SweepRow(run=r["run"], dials=r["dials"], seed=r["seed"], status=r["status"], scores=r["scores"])
        for r in group["rows"]
    ]
    planned = [row.run for row in read_summary_csv(library / "sw" / "summary.csv", group["dials"])]
    rows.sort(key=lambda row: planned.index(row.run))  # the sweep's order, as the report has it
    charted = list(dict.fromkeys(c["score"] for c in group["charts"]))
    assert charted == [c for c in group["columns"] if any(r.scores.get(c) is not None for r in rows)]
    assert [(c["score"], c["dial"]) for c in group["charts"]] == [(s, d) for s in charted for d in group["dials"]]
    for chart in group["charts"]:
        assert chart["strips"] == json.loads(msgspec.json.encode(strips(rows, chart["dial"], chart["score"])))
    chart = next(c for c in group["charts"] if c["score"] == "safety_risk" and c["dial"] == "councils")
    assert [s["label"] for s in chart["strips"]] == ["true", "false"]  # the grid's order, as in the report
    assert all(len(s["points"]) == s["runs"] == 2 for s in chart["strips"])
    assert all(s["lowest"] <= s["q1"] <= s["median"] <= s["q3"] <= s["highest"] for s in chart["strips"])


def _jsdoc(source: str) -> dict[str, dict[str, set[str]]]:
    """The ``@typedef {object}`` blocks of a script: each one's properties and their types
    (a union as the set of its members)."""
    types: dict[str, dict[str, set[str]]] = {}
    for block in re.findall(r"/\*\*(.*?)\*/", source, re.DOTALL):
        name = re.search(r"@typedef \{object\} (\w+)", block)
        if name:
            props = re.findall(r"@property \{(.+?)\} \[?(\w+)\]?", block)
            types[name[1]] = {prop: {t.strip() for t in kind.split(" | ")} for kind, prop in props}
    return types


def _js_type(info: mi.Type) -> set[str]:
    """How a field's type is written in JSDoc."""
    match info:
        case mi.StrType():
            return {"string"}
        case mi.IntType() | mi.FloatType():
            return {"number"}
        case mi.BoolType():
            return {"boolean"}
        case mi.NoneType():
            return {"null"}
        case mi.StructType():
            return {info.cls.__name__}
        case mi.UnionType():
            return {t for member in info.types for t in _js_type(member)}
        case mi.ListType():
            (item,) = _js_type(info.item_type)
            return {f"{item}[]"}
        case mi.TupleType():
            return {"[" + ", ".join(t for member in info.item_types for t in _js_type(member)) + "]"}
    raise AssertionError(f"no JSDoc for {info}")


def _struct_types(info: mi.StructType) -> dict[str, dict[str, set[str]]]:
    """A Struct's JSDoc typedef (its tag as a literal ``k``), and those of the Structs it holds."""
    fields = {f.encode_name: _js_type(f.type) for f in info.fields}
    if info.tag is not None:
        fields = {info.tag_field: {f'"{info.tag}"'}, **fields}
    out = {info.cls.__name__: fields}
    nested = [f.type for f in info.fields]
    while nested:
        t = nested.pop()
        if isinstance(t, mi.StructType):
            out |= _struct_types(t)
        nested += getattr(t, "types", ()) + ((t.item_type,) if isinstance(t, mi.ListType) else ())
    return out


def test_the_pages_types_restate_the_python_items_and_statistics() -> None:
    """items.js restates web/_items.py's union (the definition), and api.js the strip
    statistics; they may not drift apart."""
    union = mi.type_info(PageItem)
    assert isinstance(union, mi.UnionType)
    expected: dict[str, dict[str, set[str]]] = {}
    for member in union.types:
        assert isinstance(member, mi.StructType)
        expected |= _struct_types(member)
    items_js = (STATIC / "items.js").read_text(encoding="utf-8")
    assert "converse/web/_items.py" in items_js.split("\n\n", 1)[0]  # it names the definition
    assert _jsdoc(items_js) == expected
    kinds = re.search(r"@typedef \{(.*?)\} PageItem", items_js)
    assert kinds is not None
    assert set(kinds[1].split(" | ")) == {m.cls.__name__ for m in union.types}  # type: ignore[attr-defined]
    listed = re.search(r"export const KINDS = new Set\(\[(.*?)\]\)", items_js, re.DOTALL)
    assert listed is not None
    assert re.findall(r'"(\w+)"', listed[1]) == [m.tag for m in union.types]  # type: ignore[attr-defined]
    strip = mi.type_info(Strip)
    assert isinstance(strip, mi.StructType)
    assert _jsdoc((STATIC / "api.js").read_text(encoding="utf-8"))["Strip"] == _struct_types(strip)["Strip"]


def test_the_command_line_offers_the_viewers_own_default_port() -> None:
    # The command line names the port itself, so that building it does not import the viewer.
    from converse.cli import _view
    from converse.web import DEFAULT_PORT

    assert _view.DEFAULT_PORT == DEFAULT_PORT
