"""A stateful stand-in for the Slack Web API, served over real HTTP on 127.0.0.1.

Point the real client at it: ``WebClient(token=..., base_url=standin.api_url)``. It keeps
messages, threads, reactions, views, DMs and uploaded files, answers with Slack's response
shapes and error codes, checks Block Kit limits, and misbehaves on request: scripted
faults per method, a per-channel rate limit (``slack_faults``) and time offline
(``go_offline``). Tests poll it with ``wait_for``.

By concern: ``slack_records`` (identities, records, errors), ``slack_faults`` (fault
scripts and the rate limit), ``slack_state`` (the
workspace's state), ``slack_chat`` (chat, reactions, conversations, users), ``slack_views``
and ``slack_files`` (the Web API methods); here, the test controls, the state a test reads
back, and the HTTP entry point.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable
from typing import cast

from promptbot.standins.server import HTTPReply, HTTPRequest
from promptbot.standins.slack_chat import ChatMethods
from promptbot.standins.slack_faults import FaultControls
from promptbot.standins.slack_files import FileMethods
from promptbot.standins.slack_records import (
    BOT_ID,
    BOT_NAME,
    BOT_USER_ID,
    TEAM_ID,
    WORKSPACE_URL,
    Call,
    JSONDict,
    ResponsePost,
    SlackError,
    UploadedFile,
    parse_params,
)
from promptbot.standins.slack_views import ViewMethods

__all__ = [
    "BOT_ID",
    "BOT_NAME",
    "BOT_USER_ID",
    "TEAM_ID",
    "WORKSPACE_URL",
    "Call",
    "ResponsePost",
    "SlackError",
    "SlackStandIn",
    "UploadedFile",
]


class SlackStandIn(FaultControls, ChatMethods, ViewMethods, FileMethods):
    """The Slack Web API, with state. See the module docstring; state helpers copy."""

    # -- test controls

    def add_user_message(
        self, channel: str, text: str, *, user: str, thread_ts: str | None = None
    ) -> str:
        """Store a message as if ``user`` had typed it; returns its ts."""
        with self._lock:
            channel = self._resolve(channel)
            root = self._thread_root(channel, thread_ts)
            return str(self._store(channel, text, None, user, None, root, None)["ts"])

    def add_user_reaction(self, channel: str, ts: str, name: str, user: str) -> None:
        """React as ``user`` (state only: the test sends the matching event itself)."""
        with self._lock:
            users = self._message(self._resolve(channel), ts)["reactions"].setdefault(name, [])
            if user not in users:
                users.append(user)

    def remove_user_reaction(self, channel: str, ts: str, name: str, user: str) -> None:
        with self._lock:
            reactions = self._message(self._resolve(channel), ts)["reactions"]
            if user in reactions.get(name, []):
                reactions[name].remove(user)
                if not reactions[name]:
                    del reactions[name]

    # -- reading state (copies)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, *, ok_only: bool = False) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method and not (ok_only and c.error)]

    @property
    def responses(self) -> list[ResponsePost]:
        with self._lock:
            return list(self._responses)

    def messages(self, channel: str, *, include_replies: bool = True) -> list[JSONDict]:
        """Messages in ``channel`` (or a user's DM), oldest first: ``ts, channel, text,
        blocks, thread_ts, user, bot_id, metadata, reactions {name: [user ids]}``."""
        with self._lock:
            found = self._messages.get(self._resolve(channel), [])
            kept = [m for m in found if include_replies or not m["thread_ts"]]
            return copy.deepcopy(kept)

    def thread(self, channel: str, thread_ts: str) -> list[JSONDict]:
        """The replies to ``thread_ts`` (not the parent), in ts order."""
        return [m for m in self.messages(channel) if m["thread_ts"] == thread_ts]

    def find_message(self, channel: str, ts: str) -> JSONDict | None:
        return next((m for m in self.messages(channel) if m["ts"] == ts), None)

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(
                [
                    e
                    for e in self._ephemerals
                    if channel in (None, e["channel"]) and user in (None, e["user"])
                ]
            )

    def views(self, kind: str | None = None) -> list[JSONDict]:
        """Modal and Home views in the order first opened, as they are now."""
        with self._lock:
            return copy.deepcopy([v for v in self._views.values() if kind in (None, v["type"])])

    def view(self, view_id: str) -> JSONDict | None:
        with self._lock:
            return copy.deepcopy(self._views.get(view_id))

    def home_view(self, user_id: str) -> JSONDict | None:
        with self._lock:
            view_id = self._home.get(user_id)
            return copy.deepcopy(self._views[view_id]) if view_id else None

    def dm_channel(self, user_id: str) -> str:
        """The ``D…`` channel of the bot's DM with ``user_id`` (stable per user)."""
        with self._lock:
            return self._resolve(user_id)

    def files(self) -> list[UploadedFile]:
        with self._lock:
            return [copy.copy(f) for f in self._files.values()]

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times; return all its calls."""

        def enough() -> list[Call] | None:
            calls = self.calls_to(method)
            return calls if len(calls) >= count else None

        return self.wait_for(enough, timeout, what=f"{count} call(s) to {method}")

    def _summary(self) -> str:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.method] = counts.get(call.method, 0) + 1
        return "calls so far: " + (", ".join(f"{m} x{n}" for m, n in counts.items()) or "none")

    # -- HTTP entry point

    def handle(self, request: HTTPRequest) -> HTTPReply:
        path = request.path
        if path.startswith("/api/"):
            return self._handle_api(request, path.removeprefix("/api/"))
        if path.startswith("/respond/"):
            try:
                body = json.loads(request.body or b"{}")
            except ValueError:
                return HTTPReply.of_text("invalid_payload", 400)  # response_url takes JSON only
            with self._lock:
                post = ResponsePost(
                    path.removeprefix("/respond/"), body, request.headers, time.time()
                )
                self._responses.append(post)
            return HTTPReply.of_text("ok")
        if path.startswith("/files-pri/"):
            return self._download(request, path.removeprefix("/files-pri/"))
        if path.startswith("/upload/v1/"):
            return self._upload(request, path.removeprefix("/upload/v1/"))
        return HTTPReply.of_text("not found", 404)

    def _handle_api(self, request: HTTPRequest, method: str) -> HTTPReply:
        try:
            params = parse_params(request)
        except ValueError:
            return HTTPReply.of_json({"ok": False, "error": "invalid_json"})
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        token = params.pop("token", None) or token
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        with self._lock:
            call = Call(method, params, request.headers, time.time())
            self._calls.append(call)
            if expected is not None and token != expected:
                result: JSONDict = {"ok": False, "error": "invalid_auth"}
            elif (scripted := self._scripted(method, params, call)) is not None:
                return scripted
            else:
                result = self._dispatch(method, params)
            call.error = None if result["ok"] else str(result["error"])
        return HTTPReply.of_json(result, headers={"x-oauth-scopes": ",".join(self.granted_scopes)})

    def _dispatch(self, method: str, params: JSONDict) -> JSONDict:
        api = getattr(self, "_api_" + method.replace(".", "_"), None)
        if api is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            return {"ok": True, **cast(Callable[[JSONDict], JSONDict], api)(params)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}
