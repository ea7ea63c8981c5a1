"""The small HTTP plumbing the stand-ins share: a threaded server on 127.0.0.1 on a
free port, with plain request and reply records, and a poll-until helper for tests."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar, cast
from urllib.parse import parse_qsl, urlsplit

logger = logging.getLogger(__name__)

T = TypeVar("T")
JSONDict = dict[str, Any]


@dataclass(frozen=True)
class HTTPRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # names lower-cased
    body: bytes


@dataclass(frozen=True)
class HTTPReply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server)
    drop: bool = False  # close the connection instead of answering

    @classmethod
    def of_json(
        cls,
        data: object,
        status: int = 200,
        headers: dict[str, str] | None = None,
        *,
        delay: float = 0.0,
        drop: bool = False,
    ) -> Self:
        ctype = {"Content-Type": "application/json; charset=utf-8"}
        return cls(status, json.dumps(data).encode(), ctype | (headers or {}), delay, drop)

    @classmethod
    def of_text(cls, text: str, status: int = 200) -> Self:
        return cls(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


class _Handler(BaseHTTPRequestHandler):
    def _serve(self) -> None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = b""
            while size := int(self.rfile.readline().strip() or b"0", 16):
                body += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
        else:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = HTTPRequest(self.command, url.path, dict(parse_qsl(url.query)), headers, body)
        owner = cast(_Server, self.server).owner
        try:
            reply = owner.handle(request)
        except Exception as exc:  # a stand-in bug: answer 500 instead of hanging the client
            logger.exception("%s failed on %s %s", type(owner).__name__, self.command, self.path)
            reply = HTTPReply.of_json({"ok": False, "error": f"standin_bug: {exc!r}"}, 500)
        if reply.delay:
            owner._closing.wait(reply.delay)
        if reply.drop:
            self.close_connection = True
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
        except ConnectionError:
            pass  # the client gave up first (its timeout fired)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: tests read state, not access logs."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops bursts of connections (1 s SYN retry)

    def __init__(self, owner: LoopbackServer, port: int = 0) -> None:
        self.owner = owner
        super().__init__(("127.0.0.1", port), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """A ``ThreadingHTTPServer`` on 127.0.0.1, on a free port, served from a daemon thread.

    Subclasses implement ``handle`` and guard their state with ``self._lock``.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._closing = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0  # kept across go_offline, so clients find the server again

    def start(self) -> Self:
        with self._lock:
            if self._server is None:
                self._closing.clear()
                self._server = _Server(self, self._port)
                self._port = self._server.server_address[1]
                self._thread = threading.Thread(
                    target=self._server.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    name=type(self).__name__,
                    daemon=True,
                )
                self._thread.start()
        return self

    @property
    def root_url(self) -> str:
        """``http://127.0.0.1:PORT``, no trailing slash."""
        if not self._port:
            raise RuntimeError(f"{type(self).__name__} is not started: call start() or use `with`")
        return f"http://127.0.0.1:{self._port}"

    def close(self) -> None:
        """Stop serving; requests still sleeping (see ``_closing``) wake up at once."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        self._closing.set()
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def go_offline(self, seconds: float) -> threading.Timer:
        """Refuse connections for ``seconds`` (the port is closed), then serve again on
        the same port. Returns the timer that brings the server back."""
        self.close()
        timer = threading.Timer(seconds, self.start)
        timer.daemon = True
        timer.start()
        return timer

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def handle(self, request: HTTPRequest) -> HTTPReply:
        raise NotImplementedError

    def wait_for(
        self, predicate: Callable[[], T | None], timeout: float = 5.0, *, what: str = ""
    ) -> T:
        """Poll ``predicate`` every 10 ms until it returns something truthy, and return that.

        Raises ``TimeoutError`` naming what was awaited, the last value and a state summary.
        """
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() >= deadline:
                name = what or getattr(predicate, "__qualname__", repr(predicate))
                raise TimeoutError(
                    f"{type(self).__name__}: no result from {name} within {timeout:g}s;"
                    f" last value {value!r}; {self._summary()}"
                )
            time.sleep(0.01)

    def _summary(self) -> str:
        return ""
