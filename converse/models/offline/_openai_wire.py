"""OpenAI's chat completions API as the test server speaks it: the request body it reads, and the
JSON it answers with (the list of models, an error, a chat completion or the chunks of a stream).

Hints never travel over HTTP: a client may send them in the non-standard body field
``converse_hints`` (``{"kind": "line", "speaker": ..., "organisation": ..., "period": ...}``).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from typing import Any

import msgspec

from ...log._events import ChatMessage
from .._model import CompletionRequest, CompletionResponse, Hints, vector_text
from ._http import Reply

__all__ = [
    "EMBEDDING_FIELDS",
    "OPENAI_FIELDS",
    "ChatBody",
    "EmbeddingBody",
    "chat_answer",
    "completion_request",
    "decode_json",
    "embedding_answer",
    "error_reply",
    "models_reply",
    "props_reply",
    "running_reply",
    "window_exceeded",
]

decode_json = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode
_PIECES = re.compile(r"\s*\S+|\s+")


# The body fields OpenAI's chat completions API defines (and ``converse_hints``, ours): what a
# strict server takes; anything else it refuses.
OPENAI_FIELDS = frozenset({
    "audio", "converse_hints", "frequency_penalty", "function_call", "functions", "logit_bias", "logprobs",
    "max_completion_tokens", "max_tokens", "messages", "metadata", "modalities", "model", "n",
    "parallel_tool_calls", "prediction", "presence_penalty", "reasoning_effort", "response_format", "seed",
    "service_tier", "stop", "store", "stream", "stream_options", "temperature", "tool_choice", "tools",
    "top_logprobs", "top_p", "user", "web_search_options",
})


# The body fields OpenAI's embeddings API defines.
EMBEDDING_FIELDS = frozenset({"dimensions", "encoding_format", "input", "model", "user"})


class EmbeddingBody(msgspec.Struct, kw_only=True):
    """The body of an embeddings request: the fields the server reads."""

    model: str
    input: str | list[str]
    encoding_format: str = "float"

    @property
    def texts(self) -> list[str]:
        return [self.input] if isinstance(self.input, str) else self.input


class ChatBody(msgspec.Struct, kw_only=True):
    """The body of a chat completion request: the fields the server reads."""

    model: str
    messages: list[ChatMessage]
    temperature: float = 1.0
    max_tokens: int = 600
    max_completion_tokens: int | None = None  # the newer name; it wins
    stream: bool = False
    stream_options: dict[str, Any] | None = None
    converse_hints: Hints = Hints()


def completion_request(body: ChatBody, decoded: dict[str, Any]) -> CompletionRequest:
    """What ``body`` asks the model; the fields of ``decoded`` (the whole body) that
    ``ChatBody`` does not name go in ``params``."""
    return CompletionRequest(
        messages=body.messages,
        temperature=body.temperature,
        max_tokens=body.max_completion_tokens or body.max_tokens,
        params={k: v for k, v in decoded.items() if k not in ChatBody.__struct_fields__},
        hints=body.converse_hints,
    )


def error_reply(
    status: int,
    message: str,
    code: str | None,
    headers: dict[str, str] | None = None,
    kind: str = "invalid_request_error",
    param: str | None = None,
) -> Reply:
    """An error as OpenAI sends one: ``{"error": {"message", "type", "param", "code"}}``."""
    error = {"message": message, "type": kind, "param": param, "code": code}
    return Reply(status, headers or {}, _encode({"error": error}))


def models_reply(names: Iterable[str], max_model_len: int | None = None) -> Reply:
    """The list of models, as ``GET /v1/models`` answers (with vLLM's ``max_model_len``,
    each model's context window, when it is given)."""
    data: list[dict[str, Any]] = [
        {"id": name, "object": "model", "created": 0, "owned_by": "converse"} for name in names
    ]
    if max_model_len is not None:
        data = [row | {"max_model_len": max_model_len} for row in data]
    return Reply(200, {}, _encode({"object": "list", "data": data}))


def props_reply(n_ctx: int | None) -> Reply:
    """What llama.cpp's server answers ``GET /props`` with (the parts converse reads)."""
    settings = {"n_ctx": n_ctx or 0, "params": {}}
    return Reply(200, {}, _encode({"default_generation_settings": settings, "total_slots": 1}))


def running_reply(names: Iterable[str], context_length: int | None) -> Reply:
    """What Ollama answers ``GET /api/ps`` with: the models loaded, each with the context
    length it runs with (the parts converse reads)."""
    models = [{"name": name, "model": name, "context_length": context_length or 0} for name in names]
    return Reply(200, {}, _encode({"models": models}))


def window_exceeded(window: int, prompt: int, answer: int) -> Reply:
    """The 400 vLLM answers a request whose prompt and ``max_tokens`` exceed its window."""
    message = (
        f"This model's maximum context length is {window} tokens. However, you requested "
        f"{prompt + answer} tokens ({prompt} in the messages, {answer} in the completion). "
        "Please reduce the length of the messages or completion."
    )
    return error_reply(400, message, None, kind="BadRequestError")


def chat_answer(
    number: int, body: ChatBody, answer: CompletionResponse, *, malformed: bool, with_usage: bool = True
) -> bytes | list[bytes]:
    """The answer to ``body``: a chat completion, or the data of its events when it streams.

    ``number`` makes its id. ``malformed``: the JSON (streaming, the first word's event) is cut
    in half. ``with_usage`` False: no usage at all, whatever ``stream_options`` asks.
    """
    head = {"id": f"chatcmpl-{number}", "created": int(time.time()), "model": body.model}
    counts = answer.usage
    usage = {
        "prompt_tokens": counts.prompt_tokens,
        "completion_tokens": counts.completion_tokens,
        "total_tokens": counts.total_tokens,
    }
    if body.stream:
        include_usage = with_usage and (body.stream_options or {}).get("include_usage")
        events = _events(head, answer.text, usage if include_usage else None, answer.finish_reason or "stop")
        if malformed:
            events[1] = events[1][: len(events[1]) // 2]
        return events
    message = {"role": "assistant", "content": answer.text}
    choice = {"index": 0, "message": message, "finish_reason": answer.finish_reason or "stop"}
    completion = {**head, "object": "chat.completion", "choices": [choice]}
    payload = _encode(completion | {"usage": usage} if with_usage else completion)
    return payload[: len(payload) // 2] if malformed else payload


def embedding_answer(
    body: EmbeddingBody, vectors: list[list[float]], prompt_tokens: int, *, malformed: bool, with_usage: bool = True
) -> bytes:
    """The answer to an embeddings request: a list of ``{"index", "embedding"}``, each embedding
    as numbers or (``encoding_format`` "base64") the base64 of little-endian float32s.
    ``malformed``: the JSON is cut in half. ``with_usage`` False: no usage (as Ollama's)."""
    data = [
        {"object": "embedding", "index": i, "embedding": vector_text(v) if body.encoding_format == "base64" else v}
        for i, v in enumerate(vectors)
    ]
    answer: dict[str, Any] = {"object": "list", "data": data, "model": body.model}
    if with_usage:
        answer["usage"] = {"prompt_tokens": prompt_tokens, "total_tokens": prompt_tokens}
    payload = _encode(answer)
    return payload[: len(payload) // 2] if malformed else payload


def _events(head: dict[str, Any], text: str, usage: dict[str, int] | None, finish: str = "stop") -> list[bytes]:
    """The SSE data of a streamed answer: a role chunk, word pieces, ``finish`` ("stop" or
    "length"), usage, [DONE]."""
    pieces = [{"content": piece} for piece in _PIECES.findall(text)]
    deltas = [{"role": "assistant", "content": ""}, *pieces]
    choices: list[list[Any]] = [[{"index": 0, "delta": d, "finish_reason": None}] for d in deltas]
    choices.append([{"index": 0, "delta": {}, "finish_reason": finish}])
    chunk = {**head, "object": "chat.completion.chunk"}
    events = [_encode({**chunk, "choices": c}) for c in choices]
    if usage is not None:
        events.append(_encode({**chunk, "choices": [], "usage": usage}))
    return [*events, b"[DONE]"]
