"""`promptbot doctor`'s questions to Slack: does the token work, does it hold every scope
the manifest asks for, and may the app post in the channels it is configured to use.

Scopes are read from the ``x-oauth-scopes`` header Slack sends with every Web API answer.
Posting is tried without posting anything: a message scheduled for tomorrow and deleted
at once meets the same channel checks as a real post (``channel_not_found``,
``not_in_channel``, ``is_archived``…), and nobody sees it.
"""

from __future__ import annotations

import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from promptbot.domain import Check

SCOPES_HEADER = "x-oauth-scopes"
_TOMORROW = 24 * 3600


def _failure(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "refused"))
    return str(getattr(error, "reason", None) or error)[:200]


def token_checks(client: WebClient, wanted: list[str]) -> tuple[list[Check], bool]:
    """auth.test and the scopes; the second item says whether the token works at all."""
    try:
        answer = client.auth_test()
    except (SlackApiError, SlackClientError, OSError) as error:
        return [Check(False, "Slack token", f"auth.test failed: {_failure(error)}")], False
    who = f"works: bot @{answer.get('user')} in {answer.get('team')}"
    checks = [Check(True, "Slack token", who)]
    headers = {k.lower(): v for k, v in (answer.headers or {}).items()}
    header = headers.get(SCOPES_HEADER)
    if header is None:
        checks.append(Check(False, "Slack scopes", "Slack sent no x-oauth-scopes header"))
        return checks, True
    granted = {s.strip() for s in str(header).split(",") if s.strip()}
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        detail = f"missing {', '.join(missing)}: add them in the app's settings and reinstall"
        checks.append(Check(False, "Slack scopes", detail))
    else:
        checks.append(Check(True, "Slack scopes", f"all {len(wanted)} the manifest asks for"))
    return checks, True


def posting_checks(client: WebClient, channels: dict[str, str]) -> list[Check]:
    """``channels``: channel id → what it is for (review, digest)."""
    checks = []
    for channel, purpose in channels.items():
        what = f"post in {purpose} channel {channel}"
        try:
            scheduled = client.chat_scheduleMessage(
                channel=channel,
                text="promptbot doctor: checking that I may post here (deleted at once)",
                post_at=int(time.time()) + _TOMORROW,
            )
            client.chat_deleteScheduledMessage(
                channel=str(scheduled.get("channel") or channel),
                scheduled_message_id=str(scheduled["scheduled_message_id"]),
            )
        except (SlackApiError, SlackClientError, OSError) as error:
            checks.append(Check(False, what, f"refused: {_failure(error)}"))
            continue
        checks.append(Check(True, what, "allowed"))
    return checks
