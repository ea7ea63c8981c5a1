"""Posting runs to Slack: the core's Publisher, over the one gateway."""

from __future__ import annotations

import logging

from handlers.slack_gateway import SlackGateway
from promptbot.errors import PublishError
from promptbot.render.blocks import Message
from promptbot.review.publishing import Tag

logger = logging.getLogger(__name__)


class SlackPublisher:
    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    def post(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None = None,
        tag: Tag | None = None,
        look_first: bool = False,
        since: float | None = None,
    ) -> str:
        return self.gateway.post_message(
            channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=thread_ts,
            metadata=tag.metadata() if tag else None,
            look_first=look_first,
            since=since,
        )

    def post_reply(self, channel: str, thread_ts: str, message: Message) -> str:
        return self.post(channel, message, thread_ts=thread_ts)

    def find(
        self, channel: str, tag: Tag, *, thread_ts: str | None = None, since: float | None = None
    ) -> list[str]:
        return self.gateway.find_posts(channel, tag.metadata(), thread_ts=thread_ts, since=since)

    def permalink(self, channel: str, ts: str) -> str | None:
        try:
            data = self.gateway.call("chat_getPermalink", channel=channel, message_ts=ts)
        except PublishError as error:
            # The thread exists; a missing link only costs /prompt list a URL.
            logger.warning("no permalink for %s/%s: %s", channel, ts, error)
            return None
        return str(data["permalink"])

    def add_reactions(self, channel: str, ts: str, names: list[str]) -> None:
        self.gateway.add_reactions(channel, ts, names)

    def update_message(self, channel: str, ts: str, message: Message) -> None:
        self.gateway.call(
            "chat_update", channel=channel, ts=ts, text=message.text, blocks=message.blocks
        )

    def tell(
        self, channel: str, user: str, message: Message, *, response_url: str | None = None
    ) -> None:
        """Ephemeral in the channel; where the channel refuses the bot, the command's
        response_url; failing that, a direct message."""
        text, blocks = message.text, message.blocks or None
        try:
            self.gateway.call(
                "chat_postEphemeral", channel=channel, user=user, text=text, blocks=blocks
            )
            return
        except PublishError as error:
            logger.warning("could not tell %s in %s: %s", user, channel, error)
        if response_url:
            try:
                self.gateway.respond(response_url, text, blocks=blocks)
                return
            except PublishError as error:
                logger.warning("could not tell %s through response_url: %s", user, error)
        self.gateway.direct_message(user, text, blocks=blocks)
