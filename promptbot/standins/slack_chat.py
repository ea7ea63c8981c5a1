"""The stand-in's message methods: ``chat.*``, ``reactions.*``, ``conversations.*``,
``users.info``, ``auth.test`` and ``apps.connections.open``. Each ``_api_*`` returns the
fields besides ``ok``, or raises ``SlackError``."""

from __future__ import annotations

import copy
from typing import Any

from promptbot.standins.blockkit import check_blocks
from promptbot.standins.slack_records import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    MAX_TEXT_CHARS,
    TEAM_ID,
    WORKSPACE_URL,
    JSONDict,
    SlackError,
    need,
)
from promptbot.standins.slack_state import SlackState


class ChatMethods(SlackState):
    def _content(self, params: JSONDict) -> tuple[str, list[Any] | None]:
        """Check ``text`` and ``blocks`` the way chat.* methods do."""
        text = str(params.get("text") or "")
        blocks = params.get("blocks")
        if len(text) > MAX_TEXT_CHARS:
            raise SlackError("msg_too_long")
        if blocks is not None and not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        if blocks:
            problems = check_blocks(blocks, "message")
            if problems:
                raise SlackError("invalid_blocks", *problems, errors=problems)
        if not text and not blocks and not params.get("attachments"):
            raise SlackError("invalid_arguments", "text or blocks are required")
        return text, blocks

    def _api_auth_test(self, params: JSONDict) -> JSONDict:
        return {
            "url": WORKSPACE_URL,
            "team": "Stand-in Team",
            "user": BOT_NAME,
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _api_apps_connections_open(self, params: JSONDict) -> JSONDict:
        if not self.socket_url:
            raise SlackError("invalid_arguments", "set SlackStandIn.socket_url first")
        return {"url": self.socket_url}

    def _api_chat_postMessage(self, params: JSONDict) -> JSONDict:
        (channel,) = need(params, "channel")
        channel = self._resolve(channel)
        text, blocks = self._content(params)
        root = self._thread_root(channel, params.get("thread_ts"))
        metadata = params.get("metadata") or None
        message = self._store(channel, text, blocks, BOT_USER_ID, BOT_ID, root, metadata)
        return {"channel": channel, "ts": message["ts"], "message": self._public(message)}

    def _api_chat_update(self, params: JSONDict) -> JSONDict:
        channel, ts = need(params, "channel", "ts")
        message = self._message(self._resolve(channel), ts)
        if message["user"] != BOT_USER_ID:
            raise SlackError("cant_update_message")
        text, blocks = self._content(params)
        message["text"] = text
        if "blocks" in params:
            message["blocks"] = blocks
        if "metadata" in params:
            message["metadata"] = params["metadata"] or None
        return {
            "channel": message["channel"],
            "ts": ts,
            "text": text,
            "message": self._public(message),
        }

    def _api_chat_postEphemeral(self, params: JSONDict) -> JSONDict:
        channel, user = need(params, "channel", "user")
        text, blocks = self._content(params)
        ts = self._next_ts()
        self._ephemerals.append(
            {
                "channel": self._resolve(channel),
                "user": user,
                "text": text,
                "blocks": blocks,
                "thread_ts": params.get("thread_ts"),
                "message_ts": ts,
            }
        )
        return {"message_ts": ts}

    def _api_chat_delete(self, params: JSONDict) -> JSONDict:
        channel, ts = need(params, "channel", "ts")
        message = self._message(self._resolve(channel), ts)
        if message["user"] != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        self._messages[message["channel"]].remove(message)
        return {"channel": message["channel"], "ts": ts}

    def _api_chat_scheduleMessage(self, params: JSONDict) -> JSONDict:
        """Kept until deleted; the stand-in never posts it (no clock runs here)."""
        channel, post_at = need(params, "channel", "post_at")
        channel = self._resolve(channel)
        text, _blocks = self._content(params)
        scheduled_id = self._next_id("Q")
        self._scheduled[scheduled_id] = {"channel": channel, "text": text, "post_at": post_at}
        return {"channel": channel, "scheduled_message_id": scheduled_id, "post_at": post_at}

    def _api_chat_deleteScheduledMessage(self, params: JSONDict) -> JSONDict:
        channel, scheduled_id = need(params, "channel", "scheduled_message_id")
        found = self._scheduled.get(scheduled_id)
        if found is None or found["channel"] != self._resolve(channel):
            raise SlackError("invalid_scheduled_message_id")
        del self._scheduled[scheduled_id]
        return {}

    def _api_chat_getPermalink(self, params: JSONDict) -> JSONDict:
        channel, ts = need(params, "channel", "message_ts")
        message = self._message(self._resolve(channel), ts)
        channel = message["channel"]
        link = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
        if message["thread_ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _api_reactions_add(self, params: JSONDict) -> JSONDict:
        channel, ts, name = need(params, "channel", "timestamp", "name")
        users = self._message(self._resolve(channel), ts)["reactions"].setdefault(name, [])
        if BOT_USER_ID in users:
            raise SlackError("already_reacted")
        users.append(BOT_USER_ID)
        return {}

    def _api_reactions_remove(self, params: JSONDict) -> JSONDict:
        channel, ts, name = need(params, "channel", "timestamp", "name")
        reactions = self._message(self._resolve(channel), ts)["reactions"]
        if BOT_USER_ID not in reactions.get(name, []):
            raise SlackError("no_reaction")
        reactions[name].remove(BOT_USER_ID)
        if not reactions[name]:
            del reactions[name]
        return {}

    def _api_reactions_get(self, params: JSONDict) -> JSONDict:
        channel, ts = need(params, "channel", "timestamp")
        message = self._message(self._resolve(channel), ts)
        return {"type": "message", "channel": message["channel"], "message": self._public(message)}

    def _api_conversations_replies(self, params: JSONDict) -> JSONDict:
        channel, ts = need(params, "channel", "ts")
        channel = self._resolve(channel)
        try:
            message = self._message(channel, ts)
        except SlackError:
            raise SlackError("thread_not_found") from None
        root = message["thread_ts"] or message["ts"]
        thread = [m for m in self._messages[channel] if root in (m["ts"], m["thread_ts"])]
        return self._page(thread, params, default=1000)

    def _api_conversations_history(self, params: JSONDict) -> JSONDict:
        (channel,) = need(params, "channel")
        oldest = float(params.get("oldest") or 0)
        found = [
            m
            for m in self._messages.get(self._resolve(channel), [])
            if not m["thread_ts"] and float(m["ts"]) > oldest
        ]
        return self._page(list(reversed(found)), params, default=100)

    def _api_conversations_open(self, params: JSONDict) -> JSONDict:
        (users,) = need(params, "users")
        user_ids = users.split(",") if isinstance(params["users"], str) else params["users"]
        channel = self._resolve(str(user_ids[0])) if len(user_ids) == 1 else self._next_id("G")
        return {"channel": {"id": channel, "is_im": len(user_ids) == 1}}

    def _api_users_info(self, params: JSONDict) -> JSONDict:
        (user_id,) = need(params, "user")
        if user_id == BOT_USER_ID:
            user = {"id": user_id, "name": BOT_NAME, "real_name": BOT_NAME, "is_bot": True}
            return {"user": user | {"profile": {"display_name": BOT_NAME, "bot_id": BOT_ID}}}
        if user_id not in self._users and user_id[:1] not in ("U", "W"):
            raise SlackError("user_not_found")
        if user_id not in self._users:
            self.add_user(user_id, f"user_{user_id.lower()}", real_name=f"User {user_id}")
        return {"user": copy.deepcopy(self._users[user_id])}
