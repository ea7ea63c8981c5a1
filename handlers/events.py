"""Reactions (ratings) and thread replies (comments). Bolt acks events before
these run; the store dedupes by event_id, because Slack redelivers."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from handlers.invocation import Services
from handlers.surface import Surface

logger = logging.getLogger(__name__)


def register(app: App, surface: Surface, services: Services) -> None:
    service = services.review

    def on_reaction(body: dict[str, Any], event: dict[str, Any], added: bool) -> None:
        item = event.get("item") or {}
        if item.get("type") != "message" or not body.get("event_id"):
            return
        outcome = service.react(
            event_id=body["event_id"],
            channel=item["channel"],
            ts=item["ts"],
            user_id=event["user"],
            reaction=event["reaction"],
            added=added,
            event_ts=event.get("event_ts") or str(body.get("event_time", "0")),
        )
        logger.debug("reaction %s %s: %s", event["reaction"], body["event_id"], outcome)

    @surface.event(app, "reaction_added")
    def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, added=True)

    @surface.event(app, "reaction_removed")
    def reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, added=False)

    @surface.event(app, "message")
    def thread_reply(body: dict[str, Any], event: dict[str, Any]) -> None:
        thread_ts = event.get("thread_ts")
        is_reply = isinstance(thread_ts, str) and thread_ts != event.get("ts")
        from_person = not event.get("bot_id") and event.get("subtype") in (None, "thread_broadcast")
        if not (is_reply and from_person and body.get("event_id")):
            return
        assert isinstance(thread_ts, str)
        service.comment(
            event_id=body["event_id"],
            channel=event["channel"],
            thread_ts=thread_ts,
            ts=event["ts"],
            user_id=event["user"],
            text=event.get("text", ""),
        )
