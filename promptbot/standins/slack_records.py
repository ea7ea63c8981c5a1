"""What the Slack stand-in records and answers with: its fixed identities, the records a
test reads back (calls, uploads, response_url posts), and the error a method raises."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from promptbot.standins.server import HTTPRequest

JSONDict = dict[str, Any]

TEAM_ID = "T0001"
APP_ID = "A0001"
BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
BOT_NAME = "promptbot"
# What the stand-in says the token was granted, in the x-oauth-scopes header Slack sends
# with every Web API answer (`SlackStandIn.granted_scopes` changes it).
GRANTED_SCOPES = (
    "channels:history",
    "chat:write",
    "chat:write.public",
    "commands",
    "files:read",
    "files:write",
    "groups:history",
    "im:write",
    "reactions:read",
    "reactions:write",
)
WORKSPACE_URL = "https://standin.slack.test/"
MAX_TEXT_CHARS = 40_000
# Form fields that slack_sdk sends as JSON strings.
JSON_FIELDS = ("blocks", "attachments", "view", "metadata", "files")


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
class ScriptedFailure:
    """One answer queued by ``fail_next``: a 429 unless told otherwise."""

    retry_after: int
    error: str | None  # answer HTTP 200 {"ok": false, "error": error}
    status: int | None = None  # answer this HTTP status (a 5xx) with a plain body
    drop: bool = False  # close the connection without an answer
    delay: float = 0.0  # answer this late (longer than the client's timeout, say)
    apply: bool = False  # carry the call out first (for drop and delay: "it did post")
    passes: bool = False  # not a fault: answer this call normally


class SlackError(Exception):
    """Raised inside the stand-in to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra
        if messages:
            self.extra["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in messages]}


def parse_params(request: HTTPRequest) -> JSONDict:
    """A Web API call's arguments, from its query, form or JSON body."""
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


def need(params: JSONDict, *names: str) -> list[str]:
    """The required arguments' values, or Slack's ``invalid_arguments`` naming the missing."""
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise SlackError("invalid_arguments", *(f"missing required field: {m}" for m in missing))
    return [str(params[name]) for name in names]
