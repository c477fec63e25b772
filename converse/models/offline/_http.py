"""The test server's HTTP side: HTTP/1.1 on an ephemeral port of 127.0.0.1, a thread per
connection, and each ``Reply`` written as JSON, as server-sent events or as a dropped connection.

What to reply is not decided here: ``ReplyServer`` asks a function (``ModelServer`` answers).
"""

from __future__ import annotations

import contextlib
import select
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple

__all__ = ["Answer", "Reply", "ReplyServer"]

_SSE = {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-cache",
    "Transfer-Encoding": "chunked",
}


class Reply(NamedTuple):
    """What to send back: a status, headers and a body.

    ``body``: JSON, the data of the server-sent events of a stream (sent chunked), or None to
    close the connection without a response.
    """

    status: int
    headers: dict[str, str]
    body: bytes | list[bytes] | None


# The reply to a request: its method, its path, its Authorization header (if any), its body,
# and a function telling whether the client has gone (closed its connection) meanwhile.
Answer = Callable[[str, str, str | None, bytes, Callable[[], bool]], Reply]


class ReplyServer(ThreadingHTTPServer):
    """Serves ``answer``'s replies from a daemon thread, from ``start()`` until ``close()``.

    The port is bound when it is made; ``server_port`` tells which. ``idle_close``: seconds a
    kept-alive connection may wait for its next request before it is closed (None: no limit).
    """

    # The listen backlog: the default 5 resets connections opened by the hundred.
    request_queue_size = 1024

    def __init__(self, answer: Answer, *, idle_close: float | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.answer = answer
        self.idle_close = idle_close  # seconds a connection may wait for its next request
        self._connections_lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}
        self.accepted = 0  # connections accepted so far
        self._serving = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="converse-model-server",
            daemon=True,
        )

    def start(self) -> None:
        """Serve from a daemon thread."""
        self._serving.start()

    def close(self) -> None:
        """Stop serving, end every connection and join the threads (each for 5 seconds at most)."""
        self.shutdown()
        self.server_close()
        with self._connections_lock:
            connections = list(self._connections.items())
        for _, conn in connections:
            with contextlib.suppress(OSError):  # wakes handlers idling on kept-alive connections
                conn.shutdown(socket.SHUT_RDWR)
        for thread in [*(handler for handler, _ in connections), self._serving]:
            thread.join(5.0)

    def process_request(self, request: Any, client_address: Any) -> None:
        # As ThreadingMixIn does, but remembering each connection so that close() can end it.
        thread = threading.Thread(
            target=self.process_request_thread, args=(request, client_address), daemon=True
        )
        with self._connections_lock:
            self._connections[thread] = request
            self.accepted += 1
        thread.start()

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.pop(threading.current_thread(), None)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # An OSError: the client went away, or close() ended the connection.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no delayed-ACK stalls
    server: ReplyServer

    def setup(self) -> None:
        super().setup()
        # A read that waits longer than this ends the connection (handle_one_request's timeout).
        self.connection.settimeout(self.server.idle_close)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # tests and benchmarks want a quiet stderr

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        authorization = self.headers.get("Authorization")
        status, headers, body = self.server.answer(self.command, self.path, authorization, raw, self._gone)
        if body is None:
            self.close_connection = True
            return
        self.send_response(status)
        if isinstance(body, list):
            headers |= _SSE
        else:
            headers |= {"Content-Type": "application/json", "Content-Length": str(len(body))}
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if isinstance(body, bytes):
            self.wfile.write(body)
            return
        for data in [*(b"data: " + event + b"\n\n" for event in body), b""]:  # b"": the last chunk
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    do_GET = do_POST

    def _gone(self) -> bool:
        """Whether the client has closed the connection (a timed-out client does)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
