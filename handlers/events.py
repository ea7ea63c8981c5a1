"""Reactions (ratings) and thread replies (comments: posted, edited, deleted). Bolt acks
events before these run; the store dedupes by event_id, because Slack redelivers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App

from handlers.invocation import Services
from handlers.surface import Surface
from promptbot.review.comments import Reply

logger = logging.getLogger(__name__)


EventHandler = Callable[[dict[str, Any], dict[str, Any]], None]


def register(app: App, surface: Surface, services: Services) -> None:
    for name, handle in handlers(services).items():
        surface.event(app, name)(handle)


def handlers(services: Services) -> dict[str, EventHandler]:
    """Each event type's handler, called with (body, event): by Bolt as a listener, and
    directly by the inbox worker when it processes a recorded delivery. They only
    write the database (no Web API call), so the worker runs many in one transaction."""
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

    def reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, added=True)

    def reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        on_reaction(body, event, added=False)

    def thread_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = body.get("event_id")
        if not event_id:
            return
        subtype = event.get("subtype")
        channel = str(event.get("channel", ""))
        if subtype == "message_changed":
            message = event.get("message") or {}
            edited = message.get("edited") or {}
            if reply := _person_reply(channel, message):
                edited_ts = str(edited.get("ts") or event.get("event_ts") or event["ts"])
                service.comments.edit(event_id, reply, edited_ts)
        elif subtype == "message_deleted":
            if reply := _person_reply(channel, event.get("previous_message") or {}):
                service.comments.delete(event_id, reply)
        elif subtype in _HUMAN_REPLIES and (reply := _person_reply(channel, event)):
            service.comments.add(event_id, reply)

    return {
        "reaction_added": reaction_added,
        "reaction_removed": reaction_removed,
        "message": thread_message,
    }


def prepare_batch(services: Services) -> Callable[[list[dict[str, Any]]], None]:
    """For the inbox worker's batch of events: the core looks up the messages and
    reviewers of its reactions together before the handlers above run one by one."""

    def prepare(bodies: list[dict[str, Any]]) -> None:
        reactions = []
        for body in bodies:
            event = body.get("event")
            if not isinstance(event, dict) or event.get("type") not in _REACTIONS:
                continue
            item = event.get("item")
            if isinstance(item, dict) and item.get("type") == "message":
                channel, ts, user = item.get("channel"), item.get("ts"), event.get("user")
                if isinstance(channel, str) and isinstance(ts, str) and isinstance(user, str):
                    reactions.append((channel, ts, user))
        services.review.prepare_reactions(reactions)

    return prepare


_REACTIONS = ("reaction_added", "reaction_removed")
# What people post in a thread; joins, bot messages and the like are not comments.
_HUMAN_REPLIES = (None, "thread_broadcast", "file_share")
# What is kept of an attached file: enough to find it in Slack, nothing downloaded.
_FILE_FIELDS = ("name", "title", "filetype", "mimetype", "permalink")


def _person_reply(channel: str, message: dict[str, Any]) -> Reply | None:
    """A thread reply written by a person, or None (a parent message, a bot's post)."""
    thread_ts, ts, user = message.get("thread_ts"), message.get("ts"), message.get("user")
    if not (isinstance(thread_ts, str) and isinstance(ts, str) and thread_ts != ts):
        return None
    if message.get("bot_id") or message.get("subtype") not in _HUMAN_REPLIES or not user:
        return None
    files = [
        {key: str(file[key]) for key in _FILE_FIELDS if file.get(key) is not None}
        for file in message.get("files") or []
        if isinstance(file, dict)
    ]
    return Reply(channel, thread_ts, ts, str(user), str(message.get("text") or ""), files)
