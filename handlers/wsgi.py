"""The HTTP face of the bot: Bolt at POST /slack/events, and GET /healthz.

Every request to /slack/events passes the guard first (size, signature), and a
signed command or interaction seen before gets its first answer again."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from handlers.http_guard import Admitted, Refusal, RequestGuard, is_command_or_interaction
from handlers.inbox import EventDesk
from promptbot.errors import StorageUnavailable
from storage.seen_requests import StoredAnswer

logger = logging.getLogger(__name__)

# The replay record's writes come out of Slack's 3 s too, beside the listener's own
# (handlers/listener_pool.py): each waits at most this long for the write lock.
CLAIM_BUDGET = 0.4
_PLAIN = "text/plain;charset=utf-8"  # Bolt's content type for an empty answer

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def make_wsgi_app(
    app: App, health: Callable[[], bool], guard: RequestGuard, desk: EventDesk | None = None
) -> WSGIApp:
    """``desk``: Events API deliveries are recorded by it, in front of Bolt."""
    bolt = SlackRequestHandler(app, path="/slack/events")

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        try:
            return bolt(environ, start_response)
        except Exception:
            # Bolt can trip over a signed but malformed payload before any
            # listener runs; answer 400 rather than a 500 with no detail.
            logger.exception("malformed request to /slack/events")
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"malformed request"]

    def slack_events(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        admitted = guard.admit(environ)
        if isinstance(admitted, Refusal):
            start_response(admitted.status, [("Content-Type", "application/json")])
            return [admitted.body]
        if not is_command_or_interaction(admitted.body):
            status = desk.answer(admitted.body) if desk is not None else None
            if status is not None:
                start_response(_status_line(status), [("Content-Type", _PLAIN)])
                return [b""]
        # Bolt reads the body again: from what the guard read, not the spent stream.
        environ = {
            **environ,
            "wsgi.input": io.BytesIO(admitted.body),
            "CONTENT_LENGTH": str(len(admitted.body)),
        }
        if not is_command_or_interaction(admitted.body):
            return dispatch(environ, start_response)
        if guard.seen is None or not admitted.signature:
            return dispatch(environ, start_response)
        return once(admitted, environ, start_response)

    def once(
        admitted: Admitted, environ: dict[str, Any], start_response: StartResponse
    ) -> Iterable[bytes]:
        assert guard.seen is not None
        now = int(guard.clock())
        try:
            claimed = guard.seen.claim(admitted.signature, admitted.timestamp, now, CLAIM_BUDGET)
        except StorageUnavailable as error:
            # Slack's 3 s are short: handled without a replay record, the request's own
            # writes meet the same database and it answers "could not record it".
            logger.warning("no replay record for a request (%s)", error.reason)
            return dispatch(environ, start_response)
        if not claimed:
            logger.info("a replayed request was answered without acting on it again")
            answer = guard.seen.answer(admitted.signature)
            if answer is None:  # the first is still being handled
                answer = StoredAnswer(200, _PLAIN, b"")
            start_response(_status_line(answer.status), [("Content-Type", answer.content_type)])
            return [answer.body]
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], *args: Any) -> Any:
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, *args)

        body = b"".join(dispatch(environ, capture))
        content_type = next(
            (v for k, v in captured.get("headers", []) if k.lower() == "content-type"),
            _PLAIN,
        )
        status = int(str(captured.get("status", "200")).split()[0])
        try:
            answer = StoredAnswer(status, content_type, body)
            guard.seen.record_answer(admitted.signature, answer, CLAIM_BUDGET)
        except StorageUnavailable as error:
            logger.warning("the answer to a request was not kept for replays (%s)", error.reason)
        return [body]

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            ok = health()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json")],
            )
            return [b'{"ok": true}' if ok else b'{"ok": false}']
        if path == "/slack/events" and environ.get("REQUEST_METHOD") == "POST":
            return slack_events(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return wsgi


def _status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"
