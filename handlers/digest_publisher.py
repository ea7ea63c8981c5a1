"""Posting digests to Slack: the core's DigestPublisher, over the one gateway.

Every digest carries message metadata naming its period, so a restarted bot can
find a digest it posted but did not get to record (``find_digest``). Finding it
needs ``channels:history`` (``groups:history`` for private channels) and the bot
in the channel.
"""

from __future__ import annotations

from datetime import datetime

from handlers.slack_gateway import SlackGateway
from promptbot.render.blocks import Message

DIGEST_EVENT = "promptbot_digest"


def _tag(period_key: str) -> dict[str, object]:
    return {"event_type": DIGEST_EVENT, "event_payload": {"period": period_key}}


class SlackDigestPublisher:
    def __init__(self, gateway: SlackGateway) -> None:
        self.gateway = gateway

    def post_digest(self, channel: str, period_key: str, message: Message) -> str:
        return self.gateway.post_message(
            channel, text=message.text, blocks=message.blocks, metadata=_tag(period_key)
        )

    def find_digest(self, channel: str, period_key: str, since: datetime) -> str | None:
        found = self.gateway.find_posts(channel, _tag(period_key), since=since.timestamp())
        return found[0] if found else None
