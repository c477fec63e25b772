"""Talking to ``converse view`` as a client on a socket would: the requests are written byte
for byte, so ``..``, odd Host headers and malformed heads reach the server as a hostile page
or client would send them (an HTTP library would tidy them first). And reading it as users
do: the viewer started as they start it (``viewer``), its pages opened in Chromium
(``chromium``, ``watched_page``)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from _helpers import CHROMIUM, CONVERSE, need_browser


def address(url: str) -> tuple[str, int]:
    """The host and port of the viewer at ``url``."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    return parts.hostname, parts.port


async def exchange(url: str, raw: bytes, *, deadline: float = 10) -> bytes:
    """Send ``raw`` to the viewer at ``url`` and read until it closes the connection (within
    ``deadline`` seconds, or the test fails); a connection reset ends the answer too."""
    async with await anyio.connect_tcp(*address(url)) as stream:
        await stream.send(raw)
        data = b""
        with anyio.fail_after(deadline):
            while True:
                try:
                    data += await stream.receive()
                except (anyio.EndOfStream, anyio.BrokenResourceError):
                    return data


def parse(data: bytes) -> tuple[int, dict[str, str], bytes]:
    """An answer's status, headers (lower-case names) and body; status 0 for no answer."""
    if not data:
        return 0, {}, b""
    head_bytes, _, body = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split(" ")[1]), headers, body


async def fetch(
    url: str, target: str, *, host: str | None = None, method: str = "GET", extra: str = "", deadline: float = 10
) -> tuple[int, dict[str, str], bytes]:
    """``method target`` at the viewer at ``url``, on a connection of its own: the answer's
    status, headers and body."""
    netloc = urlsplit(url).netloc
    head = f"{method} {target} HTTP/1.1\r\nHost: {host or netloc}\r\nConnection: close\r\n{extra}\r\n"
    return parse(await exchange(url, head.encode(), deadline=deadline))


@contextmanager
def viewer(root: Path) -> Iterator[str]:
    """``converse view ROOT --port 0`` in a process of its own: the URL it serves at, until
    the block ends (then the process is stopped)."""
    with subprocess.Popen(
        [*CONVERSE, "view", str(root), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert "http://127.0.0.1:" in line, process.stderr.read() if process.stderr else line
            yield line.split(" at ")[1].split(" ")[0]
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium, driven by Playwright (the test skips without them: ``need_browser``)."""
    sync_playwright = need_browser()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
            ],
        )
        yield browser
        browser.close()


@contextmanager
def watched_page(browser: Any) -> Iterator[Any]:
    """A new page of ``browser``; when the block ends, the test fails if the page had a script
    error, refused content, or loaded anything from anywhere but the viewer."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    external: list[str] = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith("http://127.0.0.1:") else None)
    yield page
    context.close()
    assert not problems, problems  # no script errors, no refused content
    assert not external, external  # nothing loaded from anywhere but the viewer
