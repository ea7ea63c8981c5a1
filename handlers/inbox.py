"""Events are recorded before Slack gets its answer (HTTP) or its ack (Socket Mode).

Each Events API delivery is written to the inbox and answered at once: 200 once it is
recorded (or was already), 503 when it could not be, or when the backlog is at its
bound, so that Slack delivers it again (Socket Mode: no ack, same effect). Over HTTP
this happens in front of Bolt (handlers/wsgi.py), once the request guard has checked
the signature: a delivery is most of the traffic, and Bolt's dispatch would only
lead to the same write. The bot's own events are answered without being recorded, as
Bolt's self-event filter does. In Socket Mode, and for an HTTP app built without
the bot's identity, a global Bolt middleware does the same after Bolt's own checks.

The inbox worker then hands a reaction or message straight to its handler in
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
from slack_bolt.middleware import IgnoringSelfEvents
from slack_bolt.request.internals import extract_user_id

from handlers.events import EventHandler
from handlers.install import BotIdentity
from handlers.listener_pool import ListenerPool
from promptbot.errors import StorageUnavailable
from promptbot.jobs.inbox import BATCH, EventInbox

logger = logging.getLogger(__name__)
REACTIONS = ("reaction_added", "reaction_removed")

# The context key that marks a request as a replay from the inbox.
REPLAYED = "promptbot_replayed"


@dataclass
class Replay:
    """How one replayed event went; the error boundary fills in ``error``."""

    error: Exception | None = None


def _event_type(body: dict[str, Any]) -> str | None:
    event = body.get("event")
    return event.get("type") if isinstance(event, dict) else None


def _reacted_on(body: dict[str, Any]) -> str | None:
    """The message a reaction is about (the events that can be about a post the bot has
    not recorded yet), as "channel ts"; None for any other event."""
    event = body.get("event")
    if not isinstance(event, dict) or event.get("type") not in REACTIONS:
        return None
    item = event.get("item")
    if not isinstance(item, dict) or item.get("type") != "message":
        return None
    return f"{item.get('channel')} {item.get('ts')}"


def _delivery_id(body: dict[str, Any]) -> str | None:
    """The event_id of an Events API delivery, or None for anything else."""
    event_id = body.get("event_id")
    if body.get("type") != "event_callback" or not isinstance(event_id, str) or not event_id:
        return None
    return event_id


class EventDesk:
    """Records deliveries in the inbox and says what Slack is answered (an HTTP status)."""

    def __init__(self, inbox: EventInbox, identity: BotIdentity | None = None) -> None:
        self.inbox = inbox
        self.identity = identity

    def record(self, event_id: str, raw_body: str, parsed: Any = None) -> int:
        """200 once the delivery is recorded (or was already); 503 when it could not be,
        or the backlog is at its bound, so that Slack delivers it again. ``parsed``:
        the body parsed, for the worker to use rather than parse it again."""
        try:
            accepted = self.inbox.accept(event_id, raw_body, parsed)
        except StorageUnavailable as error:
            logger.warning("event %s not recorded, so not acked: %s", event_id, error.reason)
            return 503
        if accepted == "full":
            logger.warning(
                "event %s not acked: %d events wait already", event_id, self.inbox.backlog
            )
            return 503
        return 200

    def answer(self, raw_body: bytes) -> int | None:
        """For a verified HTTP body: the status to answer once it is recorded, or None
        when it is not an Events API delivery (then Bolt handles it)."""
        if self.identity is None:
            return None
        try:
            text = raw_body.decode()
            body = json.loads(text)
        except ValueError:  # UnicodeDecodeError among them
            return None
        event_id = _delivery_id(body) if isinstance(body, dict) else None
        if event_id is None:
            return None
        if self._from_the_bot(body):
            return 200  # as Bolt acks its own events: nothing to do with them
        return self.record(event_id, text, body)

    def _from_the_bot(self, body: dict[str, Any]) -> bool:
        """Bolt's IgnoringSelfEvents rule: the bot's user or bot id, on any event but the
        few Bolt keeps."""
        assert self.identity is not None
        event = body.get("event")
        if not isinstance(event, dict):
            return False
        if event.get("type") in IgnoringSelfEvents.events_that_should_be_kept:
            return False
        user_id, bot_id = extract_user_id(body), event.get("bot_id")
        return (user_id is not None and user_id == self.identity.user_id) or (
            bot_id is not None and bot_id == self.identity.bot_id
        )


class _Parsed:
    """The worker asks of each row whether it is batchable, then processes it: its body
    is parsed once for both, or not at all when the request that recorded it handed
    its parse over. Only the worker's thread calls this."""

    KEEP = 2 * BATCH  # more than a batch of the worker's

    def __init__(self, inbox: EventInbox) -> None:
        self._inbox = inbox
        self._bodies: dict[str, Any] = {}

    def peek(self, body: str) -> Any:
        parsed = self._bodies.get(body)
        if parsed is None:
            if len(self._bodies) >= self.KEEP:
                self._bodies.clear()
            parsed = self._bodies[body] = self._parse(body)
        return parsed

    def take(self, body: str) -> Any:
        parsed = self._bodies.pop(body, None)
        return self._parse(body) if parsed is None else parsed

    def _parse(self, body: str) -> Any:
        parsed = self._inbox.parses.take(body)
        return json.loads(body) if parsed is None else parsed


def record_events_first(
    app: App,
    inbox: EventInbox,
    pool: ListenerPool,
    direct: dict[str, EventHandler],
    prepare: Callable[[list[dict[str, Any]]], None] | None = None,
) -> None:
    """``direct``: the handlers the worker calls itself, by event type; ``prepare``
    reads what a batch of such events needs, given their bodies, before they run."""
    desk = EventDesk(inbox)

    @app.middleware
    def record_event(
        request: BoltRequest, body: dict[str, Any], context: BoltContext, next: Callable[[], Any]
    ) -> Any:
        event_id = _delivery_id(body)
        if event_id is None or REPLAYED in context:
            return next()
        status = desk.record(event_id, request.raw_body or json.dumps(body))
        return BoltResponse(status=status, body="")

    parsed = _Parsed(inbox)

    def replay(body: str) -> None:
        parsed_body = parsed.take(body)
        handle = direct.get(_event_type(parsed_body) or "")
        if handle is not None:
            handle(parsed_body, parsed_body["event"])
            return
        outcome = Replay()
        request = BoltRequest(body=parsed_body, mode="socket_mode", context={REPLAYED: outcome})
        with pool.inline():
            app.dispatch(request)
        if outcome.error is not None:
            raise outcome.error

    def batchable(body: str) -> bool:
        return _event_type(parsed.peek(body)) in direct

    def prepare_batch(bodies: list[str]) -> None:
        if prepare is not None:
            prepare([parsed.peek(body) for body in bodies])

    inbox.attach(replay, batchable, prepare_batch, lambda body: _reacted_on(parsed.peek(body)))
