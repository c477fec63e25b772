"""Server-sent events, read from a streamed answer's body as it arrives.

A streamed chat completion is a stream of events, each a ``data:`` line (or several) and a
blank line. The SDK's own reader turns every line into a string and every event into an object
before its JSON is parsed; for an answer of 30 chunks that cost the client about as much as the
whole request and its answer besides. This reader splits the bytes and hands each event's data
over as bytes, for ``msgspec`` to parse, and keeps the format's rules
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation):

- a line ends with CRLF, LF or CR, wherever the body's chunks happen to be cut (a CR at the end
  of one chunk and an LF at the start of the next are one line end);
- an event ends at a blank line; an event left unfinished when the body ends is dropped;
- its ``data`` lines are joined by LF; a space after the field's colon is not part of the value;
- a line that starts with a colon is a comment (servers send them to keep a connection alive);
- ``event`` names the event (an empty name is none); other fields (``id``, ``retry``) do not matter to an answer.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

__all__ = ["sse_events"]


async def sse_events(body: AsyncIterable[bytes]) -> AsyncGenerator[tuple[str | None, bytes], None]:
    """The ``(event name, data)`` of each event in ``body``, as each is complete."""
    partial = b""  # the start of a line whose end has not arrived yet
    lf_ends_line = False  # the last chunk ended with CR: an LF first in the next ends the same line
    event: str | None = None
    data: list[bytes] = []
    async for chunk in body:
        if not chunk:
            continue
        if lf_ends_line and chunk[0] == 10:
            chunk = chunk[1:]
        lf_ends_line = chunk[-1:] == b"\r"
        lines = (partial + chunk).splitlines(keepends=True)  # b"" + chunk is chunk itself, no copy
        partial = b""
        if lines and lines[-1][-1:] not in (b"\n", b"\r"):
            partial = lines.pop()
        for ended in lines:
            line = ended.rstrip(b"\r\n")
            if not line:  # a blank line: the event is complete
                if data or event is not None:
                    yield event, b"\n".join(data)
                    event, data = None, []
            elif line[0] == 58:  # ":", a comment
                continue
            else:
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"data":
                    data.append(value)
                elif field == b"event":
                    event = value.decode("utf-8", "replace") or None
