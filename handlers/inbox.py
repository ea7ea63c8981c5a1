"""Events are recorded before Bolt answers Slack (HTTP) or acks them (Socket Mode).

A global middleware, placed after Bolt's signature check and its self-event filter,
writes each Events API delivery to the inbox and answers it at once: 200 once it is
recorded (or was already), 503 when it could not be, or when the backlog is at its
bound, so that Slack delivers it again (Socket Mode: no ack, same effect). The
inbox worker then hands a reaction or message straight to its handler in
handlers/events.py (they only write the database, so the worker runs many in one
transaction); any other event is replayed through the same Bolt app, marked as a
replay, so that its listener runs as it always has.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse

from handlers.events import EventHandler
from handlers.listener_pool import ListenerPool
from promptbot.errors import StorageUnavailable
from promptbot.jobs.inbox import EventInbox

logger = logging.getLogger(__name__)

# The context key that marks a request as a replay from the inbox.
REPLAYED = "promptbot_replayed"


@dataclass
class Replay:
    """How one replayed event went; the error boundary fills in ``error``."""

    error: Exception | None = None


def _event_type(body: dict[str, Any]) -> str | None:
    event = body.get("event")
    return event.get("type") if isinstance(event, dict) else None


def record_events_first(
    app: App, inbox: EventInbox, pool: ListenerPool, direct: dict[str, EventHandler]
) -> None:
    """``direct``: the handlers the worker calls itself, by event type."""

    @app.middleware
    def record_event(
        request: BoltRequest, body: dict[str, Any], context: BoltContext, next: Callable[[], Any]
    ) -> Any:
        event_id = body.get("event_id")
        if body.get("type") != "event_callback" or REPLAYED in context:
            return next()
        if not isinstance(event_id, str) or not event_id:
            return next()
        try:
            accepted = inbox.accept(event_id, request.raw_body or json.dumps(body))
        except StorageUnavailable as error:
            logger.warning("event %s not recorded, so not acked: %s", event_id, error.reason)
            return BoltResponse(status=503, body="")
        if accepted == "full":
            logger.warning("event %s not acked: %d events wait already", event_id, inbox.backlog)
            return BoltResponse(status=503, body="")
        return BoltResponse(status=200, body="")

    def replay(body: str) -> None:
        parsed = json.loads(body)
        handle = direct.get(_event_type(parsed) or "")
        if handle is not None:
            handle(parsed, parsed["event"])
            return
        outcome = Replay()
        request = BoltRequest(body=parsed, mode="socket_mode", context={REPLAYED: outcome})
        with pool.inline():
            app.dispatch(request)
        if outcome.error is not None:
            raise outcome.error

    def batchable(body: str) -> bool:
        return _event_type(json.loads(body)) in direct

    inbox.attach(replay, batchable)
