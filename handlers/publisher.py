"""Posting runs to Slack: the core's Publisher, over slack_sdk's WebClient."""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from promptbot.errors import PublishError
from promptbot.render.messages import Message

CANDIDATE_EVENT = "promptbot_candidate"


def _reason(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or f"HTTP {error.response.status_code}")
    # URLError and other OSErrors: Slack unreachable after the client's own retries.
    return f"Slack unreachable ({type(error).__name__})"


class SlackPublisher:
    def __init__(self, client: WebClient) -> None:
        self.client = client

    def post_parent(self, channel: str, message: Message) -> tuple[str, str | None]:
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                text=message.text,
                blocks=message.blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error
        ts = str(response["ts"])
        try:
            permalink = self.client.chat_getPermalink(channel=channel, message_ts=ts)["permalink"]
        except (SlackClientError, OSError):
            permalink = None  # the thread exists; a missing link only costs /prompt list a URL
        return ts, permalink

    def post_reply(
        self, channel: str, thread_ts: str, message: Message, candidate_id: int | None = None
    ) -> str:
        metadata = None
        if candidate_id is not None:
            # Lets a restarted bot find what it already posted (see find_candidate_posts).
            metadata = {"event_type": CANDIDATE_EVENT, "event_payload": {"candidate": candidate_id}}
        try:
            response = self.client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text=message.text,
                blocks=message.blocks,
                metadata=metadata,
                unfurl_links=False,
                unfurl_media=False,
            )
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error
        return str(response["ts"])

    def add_reactions(self, channel: str, ts: str, names: list[str]) -> None:
        for name in names:
            try:
                self.client.reactions_add(channel=channel, timestamp=ts, name=name)
            except SlackApiError as error:
                if error.response.get("error") != "already_reacted":
                    raise PublishError(_reason(error)) from error
            except (SlackClientError, OSError) as error:
                raise PublishError(_reason(error)) from error

    def update_message(self, channel: str, ts: str, message: Message) -> None:
        try:
            self.client.chat_update(
                channel=channel, ts=ts, text=message.text, blocks=message.blocks
            )
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error

    def tell(self, channel: str, user: str, text: str) -> None:
        try:
            self.client.chat_postEphemeral(channel=channel, user=user, text=text)
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error

    def find_candidate_posts(self, channel: str, thread_ts: str, candidate_id: int) -> list[str]:
        found: list[str] = []
        try:
            for page in self.client.conversations_replies(
                channel=channel, ts=thread_ts, include_all_metadata=True, limit=200
            ):
                for message in page.get("messages", []):
                    metadata = message.get("metadata") or {}
                    payload = metadata.get("event_payload") or {}
                    if (
                        metadata.get("event_type") == CANDIDATE_EVENT
                        and payload.get("candidate") == candidate_id
                    ):
                        found.append(str(message["ts"]))
        except (SlackClientError, OSError) as error:
            raise PublishError(_reason(error)) from error
        return found
