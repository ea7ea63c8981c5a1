"""Posting digests to Slack: the core's DigestPublisher, over slack_sdk's WebClient.

Every digest carries message metadata naming its period, so a restarted bot can
find a digest it posted but did not get to record (``find_digest``). Finding it
needs ``channels:history`` (``groups:history`` for private channels) and the bot
in the channel.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from promptbot.errors import PublishError
from promptbot.render.messages import Message

DIGEST_EVENT = "promptbot_digest"
# A lookup reads at most this many pages of history (200 messages each) before giving
# up; giving up is a PublishError, so the job waits rather than risk a duplicate.
MAX_HISTORY_PAGES = 10


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"HTTP {error.response.status_code}")
    # URLError and other OSErrors: Slack unreachable after the client's own retries.
    return f"Slack unreachable ({type(error).__name__})"


def _is_digest(message: dict[str, Any], period_key: str) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return bool(metadata.get("event_type") == DIGEST_EVENT and payload.get("period") == period_key)


class SlackDigestPublisher:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_digest(self, channel: str, period_key: str, message: Message) -> str:
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                metadata={"event_type": DIGEST_EVENT, "event_payload": {"period": period_key}},
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error
        return str(response["ts"])

    def find_digest(self, channel: str, period_key: str, since: datetime) -> str | None:
        cursor: str | None = None
        try:
            for _ in range(MAX_HISTORY_PAGES):
                page = self.client.conversations_history(
                    channel=channel,
                    oldest=f"{since.timestamp():.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
                for message in page.get("messages") or []:
                    if _is_digest(message, period_key):
                        return str(message["ts"])
                if not page.get("has_more"):
                    return None
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
                if cursor is None:
                    raise PublishError("history has more messages but no cursor to read them")
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error
        raise PublishError(f"gave up looking for the digest after {MAX_HISTORY_PAGES} pages")
