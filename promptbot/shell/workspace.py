"""The real app, with Slack played in-process: the one place the shell touches Bolt.

``create_bot`` builds the same app ``promptbot run`` serves; only ``SLACK_API_URL``
differs, pointing the bot's WebClient at the Slack stand-in on loopback. What the user
types is turned into request bodies signed exactly as Slack signs them and handed to
``App.dispatch`` (no HTTP server), so request verification stays on.
"""

from __future__ import annotations

import json
import os
import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.request import BoltRequest

from promptbot.app import Bot, create_bot
from promptbot.config.environment import Environment
from promptbot.config.settings import AppConfig
from promptbot.shell.idle import Activity
from promptbot.standins import payloads
from promptbot.standins.slack_api import BOT_NAME, BOT_USER_ID, SlackStandIn

JSONDict = dict[str, Any]

CHANNEL = "CSHELL"
CHANNEL_NAME = "shell"
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Answer:
    """What the app answered a request with: the status and the ack's body, decoded."""

    status: int
    body: JSONDict | None


def _decode(body: str) -> JSONDict | None:
    """Bolt answers a text-only ack as plain text, anything richer as JSON."""
    if not body:
        return None
    try:
        data = json.loads(body)
    except json.JSONDecodeError:
        return {"text": body}
    return data if isinstance(data, dict) else {"text": body}


class Workspace:
    """The Slack stand-in, the bot built on it, and signed dispatch between them."""

    def __init__(
        self,
        config: AppConfig,
        db_path: str,
        *,
        seed: int | None = None,
        environ: dict[str, str] | None = None,
    ) -> None:
        # Fresh secrets per session: nothing outside this process can sign for it.
        self._token = "xoxb-shell-" + secrets.token_hex(8)
        self._secret = secrets.token_hex(16)
        self.slack = SlackStandIn(bot_token=self._token).start()
        source = dict(os.environ if environ is None else environ)
        # The developer's own Slack settings must not leak into the local workspace.
        source = {k: v for k, v in source.items() if not k.startswith("SLACK_")}
        source |= {
            "SLACK_BOT_TOKEN": self._token,
            "SLACK_SIGNING_SECRET": self._secret,
            "SLACK_API_URL": self.slack.api_url,
            "PROMPTBOT_DB": db_path,
        }
        try:
            # A seeded label order makes demos and tests reproducible; all else is as
            # in production.
            rng = random.Random(seed) if seed is not None else None
            self.bot: Bot = create_bot(config, Environment.capture(source), rng=rng)
        except BaseException:
            self.slack.close()
            raise
        self.activity = Activity()
        self.activity.instrument(self.bot.runner)
        self.activity.instrument(self.bot.inbox)
        self.activity.instrument(self.bot.runner.calls)  # the per-model pools
        # Events left by an earlier session were being processed before the inbox's pool
        # was counted: let that finish, so every later drain is counted.
        self.bot.inbox.wait_idle(30)
        listeners = self.bot.app.listener_runner
        listeners.listener_executor = self.activity.wrap(listeners.listener_executor)
        self._responses = 0

    @property
    def bot_user(self) -> tuple[str, str]:
        return BOT_USER_ID, BOT_NAME

    def _dispatch(self, body: str, content_type: str) -> Answer:
        headers: dict[str, str | Sequence[str]] = {
            "Content-Type": content_type,
            **payloads.sign(self._secret, body),
        }
        response = self.bot.app.dispatch(BoltRequest(body=body, headers=headers))
        return Answer(response.status, _decode(response.body))

    def command(self, text: str, user: str, command: str = "/prompt") -> Answer:
        self._responses += 1
        body = payloads.slash_command_body(
            text,
            user_id=user,
            channel_id=CHANNEL,
            command=command,
            response_url=self.slack.response_url(f"command-{self._responses}"),
        )
        return self._dispatch(body, FORM)

    def submit_view(self, view: JSONDict, values: JSONDict, user: str) -> Answer:
        return self._dispatch(payloads.view_submission_body(view, values, user_id=user), FORM)

    def click(self, action: JSONDict, user: str) -> Answer:
        self._responses += 1
        body = payloads.block_actions_body(
            action["action_id"],
            action["value"],
            user_id=user,
            channel_id=action.get("channel"),
            message_ts=action.get("message_ts"),
            view=action.get("view"),
            block_id=action.get("block_id"),
            response_url=self.slack.response_url(f"action-{self._responses}"),
        )
        return self._dispatch(body, FORM)

    def event(self, event: JSONDict) -> Answer:
        return self._dispatch(payloads.event_body(event), "application/json")

    def react(self, channel: str, ts: str, emoji: str, user: str, *, added: bool) -> Answer:
        """Change the reaction in the stand-in (if it holds the message), then tell the app."""
        if self.slack.find_message(channel, ts) is not None:
            change = self.slack.add_user_reaction if added else self.slack.remove_user_reaction
            change(channel, ts, emoji, user)
        kind: Literal["reaction_added", "reaction_removed"] = (
            "reaction_added" if added else "reaction_removed"
        )
        return self.event(
            payloads.reaction_event(kind, user=user, reaction=emoji, channel=channel, ts=ts)
        )

    def open_home(self, user: str) -> Answer:
        """``user`` opens the App Home tab; the app publishes it in answer."""
        return self.event(payloads.app_home_opened_event(user))

    def say(self, channel: str, thread_ts: str, text: str, user: str) -> JSONDict:
        """A thread reply typed by ``user``: stored in the stand-in, then sent as an event."""
        ts = self.slack.add_user_message(channel, text, user=user, thread_ts=thread_ts)
        self.event(
            payloads.message_event(
                user=user, text=text, channel=channel, ts=ts, thread_ts=thread_ts
            )
        )
        return self.slack.find_message(channel, ts) or {"channel": channel, "ts": ts}

    def settle(self, timeout: float) -> bool:
        """Wait until every listener and background job the app started has finished."""
        return self.activity.wait_idle(timeout)

    def close(self, timeout: float = 30.0) -> None:
        try:
            self.settle(timeout)
            self.bot.close()
            self.bot.app.listener_runner.listener_executor.shutdown(wait=False)
            self.bot.store.close()
        finally:
            self.slack.close()
