"""Reading a log for the viewer: whole lines only, bad lines skipped, and (for the page)
model calls without their prompts and answers."""

from __future__ import annotations

import functools
import operator
from typing import Any

import msgspec

from ..log._events import EVENT_TYPES, AnyEvent, Event, LLMCall, Usage
from ..log._log import gc_paused

__all__ = ["CallSeen", "ViewEvent", "decode_lines", "event_decoder", "view_decoder"]

event_decoder: msgspec.json.Decoder[AnyEvent] = msgspec.json.Decoder(AnyEvent)


class CallSeen(Event, tag="llm_call", kw_only=True, gc=False):
    """What the page shows of a model call: an ``LLMCall`` without its prompt, parameters
    and answer (most of a log's bytes), which are fetched one call at a time on demand.
    Decoding a log into these instead takes about 40% less time."""

    call: int
    conversation: tuple[str, ...]
    actor: str
    purpose: str
    model: str
    usage: Usage
    latency: float
    attempt: int = 1
    finish_reason: str | None = None


# Every kind of event, with CallSeen for LLMCall: a kind added to the log is read here too.
ViewEvent: Any = functools.reduce(operator.or_, (CallSeen if t is LLMCall else t for t in EVENT_TYPES))

view_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(ViewEvent)


def decode_lines(data: bytes, decoder: msgspec.json.Decoder[Any] = event_decoder) -> list[Any]:
    """The events of the whole lines of ``data`` (an unfinished last line is left out); a
    line that does not decode is skipped. ``decoder`` decodes each line (by default into
    an ``AnyEvent``; ``view_decoder`` leaves out what a page does not show)."""
    end = data.rfind(b"\n") + 1
    with gc_paused(), memoryview(data) as whole:
        try:
            return decoder.decode_lines(whole[:end])  # one call for the lot: the common case
        except msgspec.DecodeError:
            pass  # some line is bad: decode them one by one and skip it
        out: list[Any] = []
        for line in data[:end].split(b"\n"):
            if line:
                try:
                    out.append(decoder.decode(line))
                except msgspec.DecodeError:
                    continue
        return out
