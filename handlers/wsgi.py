"""The HTTP face of the bot: Bolt at POST /slack/events, and GET /healthz."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

logger = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def make_wsgi_app(app: App, health: Callable[[], bool]) -> Callable[..., Iterable[bytes]]:
    bolt = SlackRequestHandler(app, path="/slack/events")

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz" and environ.get("REQUEST_METHOD") == "GET":
            ok = health()
            start_response(
                "200 OK" if ok else "503 Service Unavailable",
                [("Content-Type", "application/json")],
            )
            return [b'{"ok": true}' if ok else b'{"ok": false}']
        if path == "/slack/events":
            try:
                return bolt(environ, start_response)
            except Exception:
                # Bolt can trip over a signed but malformed payload before any
                # listener runs; answer 400 rather than a 500 with no detail.
                logger.exception("malformed request to /slack/events")
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"malformed request"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return wsgi
