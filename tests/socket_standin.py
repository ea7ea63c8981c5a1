"""A local stand-in for Slack's Socket Mode WebSocket endpoint (tests only).

Give its ``url`` to ``SlackStandIn.socket_url``: the app's ``apps.connections.open`` call
then hands it out, the app connects, gets ``hello``, and the test pushes envelopes with
``send_envelope`` and reads the app's acks with ``wait_for_ack``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Self, TypeVar

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

T = TypeVar("T")

HELLO = {
    "type": "hello",
    "num_connections": 1,
    "connection_info": {"app_id": "A0001"},
    "debug_info": {"host": "standin"},
}


class SocketModeStandIn:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: list[ServerConnection] = []
        self._received: list[dict[str, Any]] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        if self._server is None:
            self._server = serve(self._handle, "127.0.0.1", 0, compression=None, close_timeout=1)
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="SocketModeStandIn", daemon=True
            )
            self._thread.start()
        return self

    @property
    def url(self) -> str:
        assert self._server is not None, "call start() first"
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}/link/?ticket=standin"

    def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _handle(self, connection: ServerConnection) -> None:
        connection.send(json.dumps(HELLO))
        with self._lock:
            self._connections.append(connection)
        try:
            for message in connection:
                data = json.loads(message)
                with self._lock:
                    self._received.append(data)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._connections.remove(connection)

    @property
    def received(self) -> list[dict[str, Any]]:
        """Everything the client sent (acks), oldest first."""
        with self._lock:
            return list(self._received)

    def connection_count(self) -> int:
        with self._lock:
            return len(self._connections)

    def _poll(self, predicate: Callable[[], T | None], timeout: float, what: str) -> T:
        deadline = time.monotonic() + timeout
        while not (value := predicate()):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"SocketModeStandIn: no {what} within {timeout:g}s")
            time.sleep(0.01)
        return value

    def wait_connected(self, timeout: float = 5.0) -> None:
        self._poll(self.connection_count, timeout, "connection")

    def send_envelope(
        self,
        type_: str,
        payload: dict[str, Any],
        envelope_id: str | None = None,
        retry_attempt: int = 0,
    ) -> str:
        """Push ``payload`` as ``slash_commands``, ``events_api`` or ``interactive`` to the
        newest connection; returns the envelope id to wait for."""
        envelope_id = envelope_id or str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": type_,
            "payload": payload,
            "accepts_response_payload": type_ != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        with self._lock:
            if not self._connections:
                raise RuntimeError("no Socket Mode client is connected")
            connection = self._connections[-1]
        connection.send(json.dumps(envelope))
        return envelope_id

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:
        def ack() -> dict[str, Any] | None:
            found = [m for m in self.received if m.get("envelope_id") == envelope_id]
            return found[0] if found else None

        return self._poll(ack, timeout, f"ack for envelope {envelope_id}")
