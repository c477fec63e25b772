"""Talking to ``converse view`` as a client on a socket would: the requests are written byte
for byte, so ``..``, odd Host headers and malformed heads reach the server as a hostile page
or client would send them (an HTTP library would tidy them first)."""

from __future__ import annotations

from urllib.parse import urlsplit

import anyio


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
