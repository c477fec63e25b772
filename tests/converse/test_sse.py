"""Reading server-sent events (``converse.models._sse``): the events the SDK's own reader finds,
wherever the body's chunks are cut."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
from hypothesis import given, settings
from hypothesis import strategies as st
from openai._streaming import SSEDecoder

from converse.models._sse import sse_events

_TEXT = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=["Cs"]), max_size=12)
_LINES = st.one_of(
    st.builds(lambda t: f"data: {t}", _TEXT),
    st.builds(lambda t: f"data:{t}", _TEXT),
    st.just("data"),
    st.builds(lambda t: f"event: {t}", _TEXT),
    st.just("event:"),
    st.builds(lambda t: f": {t}", _TEXT),  # a comment, as a keep-alive ping
    st.builds(lambda t: f"unknown: {t}", _TEXT),
    st.just(""),  # the end of an event
)


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


async def _chunks(pieces: list[bytes]) -> AsyncIterator[bytes]:
    for piece in pieces:
        yield piece


async def _ours(pieces: list[bytes]) -> list[tuple[str | None, bytes]]:
    return [event async for event in sse_events(_chunks(pieces))]


async def _sdks(pieces: list[bytes]) -> list[tuple[str | None, bytes]]:
    return [(sse.event, sse.data.encode()) async for sse in SSEDecoder().aiter_bytes(_chunks(pieces))]


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(_LINES, max_size=14),
    endings=st.lists(st.sampled_from(["\n", "\r\n", "\r"]), min_size=14, max_size=14),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8),
)
def test_the_events_are_the_sdks_wherever_the_chunks_are_cut(lines: list[str], endings: list[str], cuts: list[int]) -> None:
    body = "".join(line + ending for line, ending in zip(lines, endings, strict=False)).encode()
    pieces = _split(body, cuts)
    ours = anyio.run(_ours, pieces)
    assert ours == anyio.run(_sdks, pieces)
    assert ours == anyio.run(_ours, [body])


def test_a_streamed_answer_reads_as_its_events() -> None:
    body = (
        b": ping\r\n\r\n"
        b'data: {"choices": [{"delta": {"content": "Fund"}}]}\r\n\r\n'
        b'data: {"choices": [{"delta": {"content": " it."}}]}\n\n'
        b"event: usage\ndata: {\"usage\":\ndata: 3}\n\n"
        b"data: [DONE]\n\n"
        b"data: {\"unfinished\""
    )
    for size in (1, 2, 7, len(body)):
        pieces = [body[i:i + size] for i in range(0, len(body), size)]
        assert anyio.run(_ours, pieces) == [
            (None, b'{"choices": [{"delta": {"content": "Fund"}}]}'),
            (None, b'{"choices": [{"delta": {"content": " it."}}]}'),
            ("usage", b'{"usage":\n3}'),
            (None, b"[DONE]"),
        ]
