"""How an ``openai:`` model's requests reach the server (``converse.models._transport``):
aiohttp on asyncio, httpx's own transport on trio, httpx's proxy transports behind a proxy.
Whichever carries a request, an answer reads the same and a failure is named the same."""

from __future__ import annotations

import gzip
import json
import ssl
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import pytest
import trustme
from anyio.abc import SocketStream
from anyio.streams.tls import TLSListener

import converse
from _helpers import ROOT, SDK_LEAVES_GENERATORS
from converse import CallFailed
from converse.events import ChatMessage
from converse.models import CompletionRequest, Hints
from converse.models._openai import OpenAIModel
from converse.models._transport import ModelTransport
from converse.testing import ModelServer

KEY = "sk-test-transport-0b5e"
ANSWER = "Fund interpretability before scale."
COMPLETION = json.dumps({
    "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 5, "total_tokens": 17},
}).encode()
ASKED = CompletionRequest(
    messages=[ChatMessage(role="user", content="What should the lab fund next?")], max_tokens=50,
    hints=Hints(kind="line", speaker="A CEO"),
)

# What a server does once it has read a request: (what it heard, the connection).
Reply = Callable[[bytes, SocketStream], Awaitable[None]]


def _head(status: str, *headers: str) -> bytes:
    return ("\r\n".join([f"HTTP/1.1 {status}", *headers]) + "\r\n\r\n").encode()


def _answer(body: bytes, *headers: str) -> Reply:
    async def reply(_heard: bytes, stream: SocketStream) -> None:
        await stream.send(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(body)}", *headers) + body)
    return reply


class Canned:
    """A server on the loopback that reads one request a connection, keeps what it heard,
    and does what ``reply`` says: answers oddly, or misbehaves."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.heard: list[bytes] = []

    async def serve(self, stream: SocketStream) -> None:
        async with stream:
            heard = b""
            while b"\r\n\r\n" not in heard:
                heard += await stream.receive()
            head, _, body = heard.partition(b"\r\n\r\n")
            length = next(
                (int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
            )
            while len(body) < length:
                body += await stream.receive()
            self.heard.append(head)
            await self.reply(heard, stream)


async def _ask(reply: Reply, *, attempt_s: float = 10.0, stream: bool = False) -> tuple[str, list[bytes]]:
    """What the model made of the server's answer, ``TEXT | FINISH REASON | ANSWER TOKENS``
    (or its failure, ``failed: KIND: MESSAGE``, the server's URL written ``URL``), an attempt
    abandoned after ``attempt_s``; and the request heads the server heard."""
    canned = Canned(reply)
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, canned.serve)
        url = f"http://127.0.0.1:{listener.extra(anyio.abc.SocketAttribute.local_port)}/v1"
        model = OpenAIModel("m", spec="openai:m", base_url=url, api_key=KEY, stream=stream, timeout=attempt_s)
        try:
            answer = await model.complete(ASKED)
            said = f"{answer.text} | {answer.finish_reason} | {answer.usage.completion_tokens}"
        except CallFailed as failed:
            said = f"failed: {failed.kind}: {str(failed).replace(url, 'URL')}"
        finally:
            await model.aclose()
            tg.cancel_scope.cancel()
    return said, canned.heard


async def test_a_compressed_answer_reads_as_its_text(backend: str) -> None:
    said, heard = await _ask(_answer(gzip.compress(COMPLETION), "Content-Encoding: gzip"))
    assert said == f"{ANSWER} | stop | 5"
    assert heard[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")


async def test_an_answer_sent_in_chunks_reads_as_its_text(backend: str) -> None:
    async def reply(_heard: bytes, stream: SocketStream) -> None:
        await stream.send(_head("200 OK", "Content-Type: application/json", "Transfer-Encoding: chunked"))
        for start in range(0, len(COMPLETION), 40):
            piece = COMPLETION[start:start + 40]
            await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        await stream.send(b"0\r\n\r\n")

    assert (await _ask(reply))[0] == f"{ANSWER} | stop | 5"


def _events(*events: bytes, end: bytes = b"", stay_open: bool = False) -> Reply:
    """A streamed answer: ``events`` as server-sent events in chunks cut anywhere, as a server
    sends them (chunked), then ``end``; the connection kept open after, if ``stay_open``."""
    async def reply(_heard: bytes, stream: SocketStream) -> None:
        await stream.send(_head("200 OK", "Content-Type: text/event-stream", "Transfer-Encoding: chunked"))
        body = b"".join(events) + end
        for start in range(0, len(body), 23):
            piece = body[start:start + 23]
            await stream.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        if stay_open:
            await anyio.sleep_forever()
        await stream.send(b"0\r\n\r\n")
    return reply


def _delta(text: str, finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return b"data: " + json.dumps({"id": "c", "object": "chat.completion.chunk", "choices": [choice]}).encode()


@SDK_LEAVES_GENERATORS  # httpx's, on trio, for a stream not read to its end
async def test_a_streamed_answer_with_pings_and_crlf_and_usage_reads_whole(backend: str) -> None:
    usage = b'data: {"id": "c", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13}}'
    reply = _events(
        b": ping\r\n\r\n", _delta("Fund ") + b"\r\n\r\n", _delta("interpretability") + b"\n\n",
        b": ping\n\n", _delta(".", "stop") + b"\n\n", usage + b"\n\n", end=b"data: [DONE]\n\n",
    )
    assert (await _ask(reply, stream=True))[0] == "Fund interpretability. | stop | 4"


@SDK_LEAVES_GENERATORS  # httpx's, on trio, for a stream not read to its end
async def test_a_stream_left_open_after_its_end_marker_is_answered_at_once(backend: str) -> None:
    reply = _events(_delta("Done", "stop") + b"\n\n", end=b"data: [DONE]\n\n", stay_open=True)
    with anyio.fail_after(5):  # not the attempt's 10 s
        said = (await _ask(reply, stream=True))[0]
    assert said.startswith("Done | stop | ")


@SDK_LEAVES_GENERATORS  # httpx's, on trio, for a stream not read to its end
async def test_an_error_event_in_a_stream_fails_the_attempt_as_the_servers_error(backend: str) -> None:
    error = b'data: {"error": {"object": "error", "message": "CUDA out of memory", "type": "InternalServerError"}}'
    reply = _events(_delta("We should") + b"\n\n", error + b"\n\n")
    assert (await _ask(reply, stream=True))[0] == "failed: server: URL (m) failed in the middle of its answer: CUDA out of memory"
    # An error with no message is named by what it holds, not as "None".
    reply = _events(b'data: {"error": {"code": 503}}\n\n')
    assert (await _ask(reply, stream=True))[0] == "failed: server: URL (m) failed in the middle of its answer: {'code': 503}"


async def _cut(_heard: bytes, stream: SocketStream) -> None:
    await stream.send(_head("200 OK", "Content-Type: application/json", f"Content-Length: {len(COMPLETION)}"))
    await stream.send(COMPLETION[:30])  # and the connection closes


async def _closed(_heard: bytes, _stream: SocketStream) -> None:
    pass  # the connection closes without a byte of answer


async def _not_http(_heard: bytes, stream: SocketStream) -> None:
    await stream.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


async def _silent(_heard: bytes, _stream: SocketStream) -> None:
    await anyio.sleep_forever()


@pytest.mark.parametrize(
    ("reply", "failure"),
    [
        (_cut, "connection: URL (m): the server closed the connection before its answer was complete"),
        (_closed, "connection: URL (m): the server closed the connection without answering"),
        (_not_http, "connection: URL (m): the server's answer is not HTTP"),
        (_silent, "timeout: URL (m) did not answer within 0.5 s; the request was abandoned (a local server "
                  "may go on working on it)"),
    ],
    ids=["answer cut short", "closed without answering", "not HTTP", "silent"],
)
async def test_a_server_that_misbehaves_fails_the_attempt_saying_what_it_did(
    reply: Reply, failure: str, backend: str
) -> None:
    """The same failure, in the same words, on either transport: a dropped connection is not a
    timeout, and neither is only "Connection error." (all the SDK itself says)."""
    with anyio.fail_after(20):
        said, heard = await _ask(reply, attempt_s=0.5)
    assert said == "failed: " + failure
    assert len(heard) == 1  # one attempt: the scheduler, not the client, retries


async def test_a_server_that_is_not_there_is_named_as_refusing(backend: str) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1")
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    await listener.aclose()
    model = OpenAIModel("m", spec="openai:m", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, timeout=5)
    try:
        with pytest.raises(CallFailed) as failed:
            await model.complete(ASKED)
    finally:
        await model.aclose()
    assert failed.value.kind == "connection"
    assert str(failed.value) == (
        f"cannot reach http://127.0.0.1:{port}/v1 (m): the connection was refused (is the server running, on that port?)"
    )


@pytest.mark.parametrize("trusted", [True, False], ids=["its CA trusted", "its CA unknown"])
async def test_a_server_over_tls_is_reached_when_its_certificate_is_trusted(
    trusted: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """A server with a certificate of a private CA (a company's gateway, a local server behind
    TLS): trusted through ``SSL_CERT_FILE``, it answers; otherwise the failure says so, and how
    to trust it."""
    ca = trustme.CA()
    served = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost").configure_cert(served)
    if trusted:
        ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
        monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    else:
        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    canned = Canned(_answer(COMPLETION))
    plain = await anyio.create_tcp_listener(local_host="127.0.0.1")
    async with TLSListener(plain, served, standard_compatible=False) as listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, canned.serve)
        url = f"https://localhost:{plain.extra(anyio.abc.SocketAttribute.local_port)}/v1"
        model = OpenAIModel("m", spec="openai:m", base_url=url, api_key=KEY, timeout=5)
        try:
            if trusted:
                assert (await model.complete(ASKED)).text == ANSWER
            else:
                with pytest.raises(CallFailed) as failed:
                    await model.complete(ASKED)
        finally:
            await model.aclose()
            tg.cancel_scope.cancel()
    if not trusted:
        assert failed.value.kind == "connection"
        assert str(failed.value) == (
            f"cannot reach {url} (m): its TLS certificate is not trusted (unable to get local issuer certificate); "
            "if a CA of your own signed it, set SSL_CERT_FILE to that CA's certificate"
        )


async def test_behind_a_proxy_requests_go_to_the_proxy(monkeypatch: pytest.MonkeyPatch, backend: str) -> None:
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTPS_PROXY", "https_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    proxy = Canned(_answer(COMPLETION))
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener, anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, proxy.serve)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{listener.extra(anyio.abc.SocketAttribute.local_port)}")
        model = OpenAIModel("m", spec="openai:m", base_url="http://models.internal.invalid/v1", api_key=KEY)
        try:
            text = (await model.complete(ASKED)).text
        finally:
            await model.aclose()
            tg.cancel_scope.cancel()
    assert text == ANSWER
    assert proxy.heard[0].startswith(b"POST http://models.internal.invalid/v1/chat/completions HTTP/1.1\r\n")


@SDK_LEAVES_GENERATORS
async def test_asyncio_sends_through_aiohttp_and_trio_through_httpx(api_key: str, backend: str) -> None:
    with ModelServer(api_key=api_key) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        assert isinstance(model, OpenAIModel)
        transport = model._client._client._transport
        assert isinstance(transport, ModelTransport)
        try:
            assert (await model.complete(ASKED)).text
            assert (len(transport._sessions), transport._other is not None) == (
                (1, False) if backend == "asyncio" else (0, True)
            )
        finally:
            await model.aclose()  # type: ignore[attr-defined]
    assert not transport._sessions


@SDK_LEAVES_GENERATORS
async def test_a_connection_the_server_closed_for_idleness_is_not_used_again(api_key: str, backend: str) -> None:
    with ModelServer(api_key=api_key, idle_close=0.3) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            for _ in range(3):
                for _ in range(2):
                    assert (await model.complete(ASKED)).text
                await anyio.sleep(0.6)  # the server closes the connection meanwhile
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert (stats.requests, stats.successes, stats.connections) == (6, 6, 3)


@pytest.mark.slow
@SDK_LEAVES_GENERATORS
async def test_an_idle_connection_is_given_up_before_a_five_second_server_closes_it(
    api_key: str, backend: str
) -> None:
    """vLLM's, llama.cpp's and Node's servers close a connection idle for 5 s: the client gives it
    up sooner, so that no request is sent on a connection the server is closing."""
    with ModelServer(api_key=api_key, idle_close=5.0) as server:
        model = converse.open_model("openai:offline-chat", base_url=server.base_url)
        try:
            assert (await model.complete(ASKED)).text
            await anyio.sleep(4.5)  # longer than the client keeps a connection, short of the server's 5 s
            assert (await model.complete(ASKED)).text
        finally:
            await model.aclose()  # type: ignore[attr-defined]
        stats = server.stats()
    assert (stats.successes, stats.connections) == (2, 2)


def test_a_model_serves_one_event_loop_after_another_and_is_never_closed_quietly(tmp_path: Path) -> None:
    """As a script that calls ``asyncio.run`` twice with one model, and forgets to close it,
    would: both calls are answered, and nothing is printed about unclosed sessions."""
    script = tmp_path / "twice.py"
    script.write_text(textwrap.dedent(f"""
        import asyncio, gc
        import converse
        from converse.events import ChatMessage
        from converse.models import CompletionRequest, Hints
        from converse.testing import ModelServer

        asked = CompletionRequest(messages=[ChatMessage(role="user", content="Go on.")], max_tokens=20,
                                  hints=Hints(kind="line", speaker="A"))
        with ModelServer(api_key={KEY!r}) as server:
            model = converse.open_model("openai:offline-chat", base_url=server.base_url)
            for _ in range(2):
                print(bool(asyncio.run(model.complete(asked)).text))
            print(server.stats().connections)
            del model
            gc.collect()
    """))
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", str(script)], capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(ROOT), "OPENAI_API_KEY": KEY, "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True", "2"]  # a connection a loop, each closed with its loop
    assert done.stderr == ""
