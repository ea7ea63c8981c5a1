"""The Slack stand-in's workspace state (messages, threads, views, DMs, files, users) and
the helpers every Web API method shares. Callers hold ``self._lock``."""

from __future__ import annotations

import base64
import binascii
import copy
import itertools
import time
from typing import Any

from promptbot.standins.server import LoopbackServer
from promptbot.standins.slack_records import (
    APP_ID,
    GRANTED_SCOPES,
    TEAM_ID,
    Call,
    JSONDict,
    ResponsePost,
    ScriptedFailure,
    SlackError,
    UploadedFile,
)


class SlackState(LoopbackServer):
    """The state behind the stand-in's methods; ``SlackStandIn`` is the class to use."""

    def __init__(self, bot_token: str | None = None, *, app_token: str | None = None) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token  # checked by apps.connections.open, if set
        self.socket_url: str | None = None  # what apps.connections.open hands out
        self.granted_scopes: list[str] = list(GRANTED_SCOPES)
        self.reset()

    def reset(self) -> None:
        """Forget all state, recorded calls and pending failures (keeps tokens, socket_url)."""
        with self._lock:
            self._calls: list[Call] = []
            self._messages: dict[str, list[JSONDict]] = {}
            self._ephemerals: list[JSONDict] = []
            self._views: dict[str, JSONDict] = {}
            self._home: dict[str, str] = {}
            self._dms: dict[str, str] = {}
            self._files: dict[str, UploadedFile] = {}
            self._responses: list[ResponsePost] = []
            self._failures: dict[str, list[ScriptedFailure]] = {}
            self._users: dict[str, JSONDict] = {}
            self._scheduled: dict[str, JSONDict] = {}  # chat.scheduleMessage, not yet due
            self._last_ts_us = 0
            self._ids = itertools.count(1)
            self._page_cap: int | None = None
            self._cursors = True

    def paging(self, page_size: int | None = None, *, cursors: bool = True) -> None:
        """Answer reading methods in pages of at most ``page_size`` messages whatever the
        ``limit`` (Slack may return fewer than asked before the end); ``cursors=False``
        says ``has_more`` without a ``next_cursor`` (a fault). None: pages of ``limit``."""
        with self._lock:
            self._page_cap, self._cursors = page_size, cursors

    # -- URLs

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: pass as ``WebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    def response_url(self, name: str = "x") -> str:
        """A URL whose JSON posts land in ``responses``, under ``name``."""
        return f"{self.root_url}/respond/{name}"

    # -- people

    def add_user(
        self, user_id: str, name: str, *, real_name: str | None = None, display_name: str = ""
    ) -> None:
        with self._lock:
            self._users[user_id] = {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": real_name or name,
                "is_bot": False,
                "profile": {"display_name": display_name, "real_name": real_name or name},
            }

    # -- state internals (call with the lock held)

    def _next_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08d}"

    def _next_ts(self) -> str:
        self._last_ts_us = max(time.time_ns() // 1000, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def _resolve(self, channel: str) -> str:
        """Channel ids pass through; a user id means the bot's DM with that user."""
        if channel[:1] in ("U", "W"):
            if channel not in self._dms:
                self._dms[channel] = self._next_id("D")
            return self._dms[channel]
        return channel

    def _message(self, channel: str, ts: str) -> JSONDict:
        for message in self._messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def _thread_root(self, channel: str, thread_ts: object) -> str | None:
        """Slack files a reply to a reply under that reply's parent."""
        if not thread_ts:
            return None
        for message in self._messages.get(channel, []):
            if message["ts"] == thread_ts and message["thread_ts"]:
                return str(message["thread_ts"])
        return str(thread_ts)

    def _store(
        self,
        channel: str,
        text: str,
        blocks: list[Any] | None,
        user: str,
        bot_id: str | None,
        thread_ts: str | None,
        metadata: JSONDict | None,
    ) -> JSONDict:
        message: JSONDict = {
            "ts": self._next_ts(),
            "channel": channel,
            "text": text,
            "blocks": blocks,
            "thread_ts": thread_ts,
            "user": user,
            "bot_id": bot_id,
            "metadata": metadata,
            "reactions": {},
        }
        self._messages.setdefault(channel, []).append(message)
        return message

    def _page(self, found: list[JSONDict], params: JSONDict, default: int) -> JSONDict:
        """One page of ``found`` (already in answer order) as Slack's cursor pagination
        gives it: ``limit`` (1..1000, ``default`` if absent) messages from ``cursor`` on,
        ``has_more`` and ``response_metadata.next_cursor`` (the next message's ts, base64,
        as Slack's ``next_ts:…`` cursors; empty at the end)."""
        limit = min(max(int(params.get("limit") or default), 1), 1000)
        if self._page_cap is not None:
            limit = min(limit, self._page_cap)
        start = 0
        if params.get("cursor"):
            try:
                kind, _, ts = base64.b64decode(str(params["cursor"])).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                raise SlackError("invalid_cursor") from None
            starts = [i for i, m in enumerate(found) if m["ts"].replace(".", "") == ts]
            if kind != "next_ts" or not starts:
                raise SlackError("invalid_cursor")
            start = starts[0]
        page, rest = found[start : start + limit], found[start + limit :]
        cursor = ""
        if rest and self._cursors:
            cursor = base64.b64encode(f"next_ts:{rest[0]['ts'].replace('.', '')}".encode()).decode()
        metadata = truthy(params.get("include_all_metadata"))
        return {
            "messages": [self._public(m, metadata=metadata) for m in page],
            "has_more": bool(rest),
            "response_metadata": {"next_cursor": cursor},
        }

    def _public(self, message: JSONDict, *, metadata: bool = True) -> JSONDict:
        """A stored message in the shape the Web API answers with. Reading methods
        include message metadata only when asked (``include_all_metadata``), as Slack."""
        out: JSONDict = {"type": "message", "ts": message["ts"], "text": message["text"]}
        out |= {"user": message["user"], "team": TEAM_ID}
        if message["bot_id"]:
            out |= {"bot_id": message["bot_id"], "app_id": APP_ID}
        for key in ("blocks", "thread_ts", "metadata"):
            if message[key] is not None and (metadata or key != "metadata"):
                out[key] = message[key]
        if message["reactions"]:
            out["reactions"] = [
                {"name": name, "users": list(users), "count": len(users)}
                for name, users in message["reactions"].items()
            ]
        replies = [
            m for m in self._messages.get(message["channel"], []) if m["thread_ts"] == message["ts"]
        ]
        if replies:
            out |= {"thread_ts": message["ts"], "reply_count": len(replies)}
            out |= {"latest_reply": replies[-1]["ts"]}
        return copy.deepcopy(out)


def truthy(value: object) -> bool:
    """A form field as Slack reads a boolean: true, 1 (as text or not)."""
    return str(value).lower() in ("true", "1")
