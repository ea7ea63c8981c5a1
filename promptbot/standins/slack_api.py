"""A stateful stand-in for the Slack Web API, served over real HTTP on 127.0.0.1.

Point the real client at it: ``WebClient(token=..., base_url=standin.api_url)``. It keeps
messages, threads, reactions, views, DMs and uploaded files, answers with Slack's response
shapes and error codes, checks Block Kit limits, and can be told to answer 429 or an
error for the next calls of a method (``fail_next``). Tests poll it with ``wait_for``.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast
from urllib.parse import parse_qsl, quote

from promptbot.standins.blockkit import check_blocks, check_view
from promptbot.standins.server import HTTPReply, HTTPRequest, LoopbackServer

logger = logging.getLogger(__name__)

T = TypeVar("T")
JSONDict = dict[str, Any]

TEAM_ID = "T0001"
APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "promptbot"
WORKSPACE_URL = "https://standin.slack.test/"
MAX_TEXT_CHARS = 40_000
# Form fields that slack_sdk sends as JSON strings.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files")


# ---------------------------------------------------------------- Slack records


@dataclass
class Call:
    """One Web API call, as received. ``error`` is the error answered when ok was false."""

    method: str
    params: JSONDict
    headers: dict[str, str]
    time: float
    rate_limited: bool = False
    error: str | None = None


@dataclass
class UploadedFile:
    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel_id: str | None = None
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class ResponsePost:
    """A JSON body posted to a ``response_url`` built by ``SlackStandIn.response_url``."""

    name: str
    body: JSONDict
    headers: dict[str, str]
    time: float


@dataclass
class _Failure:
    retry_after: int
    error: str | None


class SlackError(Exception):
    """Raised inside the stand-in to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra
        if messages:
            self.extra["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}


def _parse_params(request: HTTPRequest) -> JSONDict:
    params: JSONDict = dict(request.query)
    ctype = request.headers.get("content-type", "")
    if request.body and "json" in ctype:
        data = json.loads(request.body)
        if not isinstance(data, dict):
            raise ValueError("the JSON body is not an object")
        params.update(data)
    elif request.body and "multipart" not in ctype:
        params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
    for key in JSON_FIELDS:
        if isinstance(params.get(key), str) and params[key]:
            with contextlib.suppress(ValueError):  # left as a string: validation reports it
                params[key] = json.loads(params[key])
    return params


def _need(params: JSONDict, *names: str) -> list[str]:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise SlackError("invalid_arguments", *(f"missing required field: {m}" for m in missing))
    return [str(params[name]) for name in names]


# ---------------------------------------------------------------- the stand-in


class SlackStandIn(LoopbackServer):
    """The Slack Web API, with state. See the module docstring; state helpers copy."""

    def __init__(self, bot_token: str | None = None, *, app_token: str | None = None) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.app_token = app_token  # checked by apps.connections.open, if set
        self.socket_url: str | None = None  # what apps.connections.open hands out
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
            self._failures: dict[str, list[_Failure]] = {}
            self._users: dict[str, JSONDict] = {}
            self._last_ts_us = 0
            self._ids = itertools.count(1)

    # -- URLs

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: pass as ``WebClient(base_url=...)``."""
        return f"{self.root_url}/api/"

    def response_url(self, name: str = "x") -> str:
        """A URL whose JSON posts land in ``responses``, under ``name``."""
        return f"{self.root_url}/respond/{name}"

    # -- test controls

    def fail_next(
        self, method: str, times: int = 1, retry_after: int = 1, error: str | None = None
    ) -> None:
        """Make the next ``times`` calls of ``method`` answer 429 (``Retry-After``), or
        ``{"ok": false, "error": error}`` when ``error`` is given. They change nothing."""
        with self._lock:
            self._failures.setdefault(method, []).extend([_Failure(retry_after, error)] * times)

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

    def add_user_file(self, filename: str, content: bytes, *, user: str = "U1") -> JSONDict:
        """A file as if ``user`` had attached it (to a modal's file_input, say): returns the
        file object Slack submits, whose ``url_private_download`` serves ``content`` to the
        bot token and, as Slack does, a sign-in page (HTML, 200) to anything else."""
        with self._lock:
            file_id = self._next_id("F")
            self._files[file_id] = UploadedFile(
                file_id, filename, len(content), content, filename, completed=True
            )
        url = f"{self.root_url}/files-pri/{TEAM_ID}-{file_id}"
        return {
            "id": file_id,
            "name": filename,
            "title": filename,
            "filetype": filename.rpartition(".")[2] or "text",
            "size": len(content),
            "user": user,
            "url_private": f"{url}/{quote(filename)}",
            "url_private_download": f"{url}/download/{quote(filename)}",
        }

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
            with self._lock:
                upload = self._files.get(path.removeprefix("/upload/v1/"))
                if upload is None:
                    return HTTPReply.of_text("unknown file", 404)
                upload.content = request.body
            return HTTPReply.of_text(f"OK - {len(request.body)}")
        return HTTPReply.of_text("not found", 404)

    def _download(self, request: HTTPRequest, rest: str) -> HTTPReply:
        file_id = rest.split("/", 1)[0].removeprefix(f"{TEAM_ID}-")
        with self._lock:
            upload = self._files.get(file_id)
        if upload is None or upload.content is None:
            return HTTPReply.of_text("file not found", 404)
        if request.headers.get("authorization") != f"Bearer {self.bot_token}":
            page = b"<!DOCTYPE html><title>Slack</title><p>Sign in to continue</p>"
            return HTTPReply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        return HTTPReply(200, upload.content, {"Content-Type": "application/octet-stream"})

    def _handle_api(self, request: HTTPRequest, method: str) -> HTTPReply:
        try:
            params = _parse_params(request)
        except ValueError:
            return HTTPReply.of_json({"ok": False, "error": "invalid_json"})
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else None
        token = params.pop("token", None) or token
        expected = self.app_token if method == "apps.connections.open" else self.bot_token
        with self._lock:
            call = Call(method, params, request.headers, time.time())
            self._calls.append(call)
            failures = self._failures.get(method)
            if expected is not None and token != expected:
                result: JSONDict = {"ok": False, "error": "invalid_auth"}
            elif failures and failures[0].error is None:
                call.rate_limited, call.error = True, "ratelimited"
                retry_after = str(failures.pop(0).retry_after)
                body = {"ok": False, "error": "ratelimited"}
                return HTTPReply.of_json(body, 429, {"Retry-After": retry_after})
            elif failures:
                result = {"ok": False, "error": failures.pop(0).error}
            else:
                result = self._dispatch(method, params)
            call.error = None if result["ok"] else str(result["error"])
        return HTTPReply.of_json(result)

    def _dispatch(self, method: str, params: JSONDict) -> JSONDict:
        api = getattr(self, "_api_" + method.replace(".", "_"), None)
        if api is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            return {"ok": True, **cast(Callable[[JSONDict], JSONDict], api)(params)}
        except SlackError as exc:
            return {"ok": False, "error": exc.error, **exc.extra}

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

    def _public(self, message: JSONDict) -> JSONDict:
        """A stored message in the shape the Web API answers with."""
        out: JSONDict = {"type": "message", "ts": message["ts"], "text": message["text"]}
        out |= {"user": message["user"], "team": TEAM_ID}
        if message["bot_id"]:
            out |= {"bot_id": message["bot_id"], "app_id": APP_ID}
        for key in ("blocks", "thread_ts", "metadata"):
            if message[key] is not None:
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

    def _checked_view(self, params: JSONDict, kind: str) -> JSONDict:
        view = params.get("view")
        if not isinstance(view, dict):
            raise SlackError("invalid_arguments", "missing required field: view")
        if view.get("type") != kind:
            raise SlackError("invalid_arguments", f"view type must be {kind}")
        problems = check_view(view, include_blocks=False)
        if problems:
            raise SlackError("invalid_arguments", *problems, errors=problems)
        problems = check_blocks(view.get("blocks", []), "home" if kind == "home" else "modal")
        if problems:
            raise SlackError("invalid_blocks", *problems, errors=problems)
        return view

    def _save_view(self, view: JSONDict, view_id: str) -> JSONDict:
        old = self._views.get(view_id, {})
        saved = {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "title": view.get("title"),
            "submit": view.get("submit"),
            "close": view.get("close"),
            "blocks": view.get("blocks", []),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "external_id": view.get("external_id", ""),
            "state": {"values": {}},
            "hash": f"{time.time():.0f}.{self._next_id('h')}",
            "clear_on_close": bool(view.get("clear_on_close")),
            "notify_on_close": bool(view.get("notify_on_close")),
            "root_view_id": old.get("root_view_id", view_id),
            "previous_view_id": old.get("previous_view_id"),
            "app_id": APP_ID,
            "bot_id": BOT_ID,
        }
        self._views[view_id] = saved
        return {"view": copy.deepcopy(saved)}

    # -- Web API methods: each returns the fields besides ``ok``, or raises SlackError

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
        (channel,) = _need(params, "channel")
        channel = self._resolve(channel)
        text, blocks = self._content(params)
        root = self._thread_root(channel, params.get("thread_ts"))
        metadata = params.get("metadata") or None
        message = self._store(channel, text, blocks, BOT_USER_ID, BOT_ID, root, metadata)
        return {"channel": channel, "ts": message["ts"], "message": self._public(message)}

    def _api_chat_update(self, params: JSONDict) -> JSONDict:
        channel, ts = _need(params, "channel", "ts")
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
        channel, user = _need(params, "channel", "user")
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
        channel, ts = _need(params, "channel", "ts")
        message = self._message(self._resolve(channel), ts)
        if message["user"] != BOT_USER_ID:
            raise SlackError("cant_delete_message")
        self._messages[message["channel"]].remove(message)
        return {"channel": message["channel"], "ts": ts}

    def _api_chat_getPermalink(self, params: JSONDict) -> JSONDict:
        channel, ts = _need(params, "channel", "message_ts")
        message = self._message(self._resolve(channel), ts)
        channel = message["channel"]
        link = f"{WORKSPACE_URL}archives/{channel}/p{ts.replace('.', '')}"
        if message["thread_ts"]:
            link += f"?thread_ts={message['thread_ts']}&cid={channel}"
        return {"channel": channel, "permalink": link}

    def _api_reactions_add(self, params: JSONDict) -> JSONDict:
        channel, ts, name = _need(params, "channel", "timestamp", "name")
        users = self._message(self._resolve(channel), ts)["reactions"].setdefault(name, [])
        if BOT_USER_ID in users:
            raise SlackError("already_reacted")
        users.append(BOT_USER_ID)
        return {}

    def _api_reactions_remove(self, params: JSONDict) -> JSONDict:
        channel, ts, name = _need(params, "channel", "timestamp", "name")
        reactions = self._message(self._resolve(channel), ts)["reactions"]
        if BOT_USER_ID not in reactions.get(name, []):
            raise SlackError("no_reaction")
        reactions[name].remove(BOT_USER_ID)
        if not reactions[name]:
            del reactions[name]
        return {}

    def _api_reactions_get(self, params: JSONDict) -> JSONDict:
        channel, ts = _need(params, "channel", "timestamp")
        message = self._message(self._resolve(channel), ts)
        return {"type": "message", "channel": message["channel"], "message": self._public(message)}

    def _api_views_open(self, params: JSONDict) -> JSONDict:
        _need(params, "trigger_id")
        return self._save_view(self._checked_view(params, "modal"), self._next_id("V"))

    def _api_views_push(self, params: JSONDict) -> JSONDict:
        _need(params, "trigger_id")
        return self._save_view(self._checked_view(params, "modal"), self._next_id("V"))

    def _api_views_update(self, params: JSONDict) -> JSONDict:
        view_id = params.get("view_id")
        if not view_id and params.get("external_id"):
            found = (
                v["id"] for v in self._views.values() if v["external_id"] == params["external_id"]
            )
            view_id = next(found, None)
        if not view_id or view_id not in self._views:
            raise SlackError("not_found")
        old = self._views[view_id]
        if params.get("hash") and params["hash"] != old["hash"]:
            raise SlackError("hash_conflict")
        return self._save_view(self._checked_view(params, old["type"]), view_id)

    def _api_views_publish(self, params: JSONDict) -> JSONDict:
        (user_id,) = _need(params, "user_id")
        view = self._checked_view(params, "home")
        view_id = self._home.get(user_id) or self._next_id("V")
        self._home[user_id] = view_id
        return self._save_view(view, view_id)

    def _api_conversations_replies(self, params: JSONDict) -> JSONDict:
        channel, ts = _need(params, "channel", "ts")
        channel = self._resolve(channel)
        try:
            message = self._message(channel, ts)
        except SlackError:
            raise SlackError("thread_not_found") from None
        root = message["thread_ts"] or message["ts"]
        thread = [m for m in self._messages[channel] if root in (m["ts"], m["thread_ts"])]
        return {
            "messages": [self._public(m) for m in thread],
            "has_more": False,
            "response_metadata": {"next_cursor": ""},
        }

    def _api_conversations_history(self, params: JSONDict) -> JSONDict:
        (channel,) = _need(params, "channel")
        found = [m for m in self._messages.get(self._resolve(channel), []) if not m["thread_ts"]]
        limit = int(params.get("limit") or 100)
        return {
            "messages": [self._public(m) for m in reversed(found)][:limit],
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    def _api_conversations_open(self, params: JSONDict) -> JSONDict:
        (users,) = _need(params, "users")
        user_ids = users.split(",") if isinstance(params["users"], str) else params["users"]
        channel = self._resolve(str(user_ids[0])) if len(user_ids) == 1 else self._next_id("G")
        return {"channel": {"id": channel, "is_im": len(user_ids) == 1}}

    def _api_users_info(self, params: JSONDict) -> JSONDict:
        (user_id,) = _need(params, "user")
        if user_id == BOT_USER_ID:
            user = {"id": user_id, "name": BOT_NAME, "real_name": BOT_NAME, "is_bot": True}
            return {"user": user | {"profile": {"display_name": BOT_NAME, "bot_id": BOT_ID}}}
        if user_id not in self._users and user_id[:1] not in ("U", "W"):
            raise SlackError("user_not_found")
        if user_id not in self._users:
            self.add_user(user_id, f"user_{user_id.lower()}", real_name=f"User {user_id}")
        return {"user": copy.deepcopy(self._users[user_id])}

    def _api_files_getUploadURLExternal(self, params: JSONDict) -> JSONDict:
        filename, length = _need(params, "filename", "length")
        file_id = self._next_id("F")
        self._files[file_id] = UploadedFile(file_id, filename, int(length))
        return {"upload_url": f"{self.root_url}/upload/v1/{file_id}", "file_id": file_id}

    def _api_files_completeUploadExternal(self, params: JSONDict) -> JSONDict:
        _need(params, "files")
        entries = params["files"]
        if not isinstance(entries, list):
            raise SlackError("invalid_arguments", "files must be a JSON list")
        found = [self._files.get(str(e.get("id"))) for e in entries]
        if not all(f is not None and f.content is not None for f in found):
            raise SlackError("file_not_found")
        channel_id = params.get("channel_id") or str(params.get("channels") or "").split(",")[0]
        out = []
        for entry, upload in zip(entries, found, strict=True):
            assert upload is not None
            upload.title = entry.get("title") or upload.filename
            upload.channel_id = channel_id or None
            upload.initial_comment = params.get("initial_comment")
            upload.thread_ts = params.get("thread_ts")
            upload.completed = True
            out.append(
                {
                    "id": upload.id,
                    "name": upload.filename,
                    "title": upload.title,
                    "size": len(upload.content or b""),
                    "permalink": f"{WORKSPACE_URL}files/{BOT_USER_ID}/{upload.id}",
                }
            )
        return {"files": out}
