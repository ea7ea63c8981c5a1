"""Slack request bodies, shaped and signed as Slack sends them to an app.

Shared by the end-to-end tests and the terminal ("shell") mode: build a body with one of
the ``*_body`` functions, then ``post_signed`` it to the app's ``/slack/events``.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

JSONDict = dict[str, Any]

_counter = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}{next(_counter):06d}{uuid.uuid4().hex[:8].upper()}"


def new_trigger_id() -> str:
    return f"{next(_counter)}.1000000001.{uuid.uuid4().hex}"


def new_ts() -> str:
    """A fresh message ts (``"1700000000.000100"`` style) based on the clock."""
    us = time.time_ns() // 1000 + next(_counter)
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def sign(signing_secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The two headers Slack adds: ``v0=`` + hex HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}


@dataclass(frozen=True)
class Org:
    """Where a request comes from. ``GRID`` (the default) is Enterprise Grid with the app
    installed org-wide, people from a Slack Connect partner, in an externally shared
    channel: the shape with the most fields that are null or foreign, so every test
    that uses these builders exercises it. ``WORKSPACE`` is a plain single workspace."""

    enterprise_id: str | None
    enterprise_install: bool
    user_team_id: str  # the person's own organisation
    shared_channel: bool

    def enterprise(self) -> JSONDict | None:
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": "Standin Grid"}


GRID = Org(
    enterprise_id="E0001", enterprise_install=True, user_team_id="T0EXT", shared_channel=True
)
WORKSPACE = Org(
    enterprise_id=None, enterprise_install=False, user_team_id="T0001", shared_channel=False
)


def _user(user_id: str, org: Org) -> JSONDict:
    name = f"user_{user_id.lower()}"
    return {"id": user_id, "username": name, "name": name, "team_id": org.user_team_id}


def slash_command_body(
    text: str,
    *,
    user_id: str,
    channel_id: str,
    command: str = "/prompt",
    trigger_id: str | None = None,
    response_url: str | None = None,
    team_id: str = "T0001",
    user_name: str | None = None,
    api_app_id: str = "A0001",
    org: Org = GRID,
) -> str:
    """A slash command's form body."""
    fields = {
        "token": "standin-verification-token",
        "team_id": team_id,
        "team_domain": "standin",
        "channel_id": channel_id,
        "channel_name": f"channel-{channel_id.lower()}",
        "user_id": user_id,
        "user_name": user_name or f"user_{user_id.lower()}",
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": str(org.enterprise_install).lower(),
        **(
            {"enterprise_id": org.enterprise_id, "enterprise_name": "Standin Grid"}
            if org.enterprise_id
            else {}
        ),
        "response_url": response_url or "https://hooks.slack.test/commands/T0001/1/standin",
        "trigger_id": trigger_id or new_trigger_id(),
    }
    return urlencode(fields)


def _interactive_body(payload: JSONDict) -> str:
    return urlencode({"payload": json.dumps(payload)})


def _state_values(values: JSONDict) -> JSONDict:
    """``{block_id: {action_id: "text"}}`` shorthand becomes a plain_text_input state."""
    return {
        block_id: {
            action_id: value
            if isinstance(value, dict)
            else {"type": "plain_text_input", "value": value}
            for action_id, value in actions.items()
        }
        for block_id, actions in values.items()
    }


def view_submission_body(
    view: JSONDict,
    values: JSONDict,
    *,
    user_id: str,
    team_id: str = "T0001",
    api_app_id: str = "A0001",
    org: Org = GRID,
) -> str:
    """A ``view_submission`` for ``view`` (as passed to views.open, or as it answered) with
    ``values`` as ``state.values``: ``{block_id: {action_id: {"type", "value"...}}}``, where
    a plain string stands for a plain_text_input's value."""
    view_id = view.get("id") or _unique("V")
    submitted = {
        "id": view_id,
        "team_id": team_id,
        "type": view.get("type", "modal"),
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": _state_values(values)},
        "hash": view.get("hash") or f"{int(time.time())}.{uuid.uuid4().hex[:8]}",
        "root_view_id": view.get("root_view_id", view_id),
        "previous_view_id": view.get("previous_view_id"),
        "app_id": api_app_id,
        "bot_id": "BBOT",
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "standin"},
        "user": _user(user_id, org),
        "api_app_id": api_app_id,
        "token": "standin-verification-token",
        "trigger_id": new_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": org.enterprise_install,
        "enterprise": org.enterprise(),
    }
    return _interactive_body(payload)


def block_actions_body(
    action_id: str,
    value: str,
    *,
    user_id: str,
    channel_id: str | None = None,
    message_ts: str | None = None,
    view: JSONDict | None = None,
    block_id: str | None = None,
    response_url: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = "A0001",
    org: Org = GRID,
    selected: bool = False,
) -> str:
    """A button click: on a message (``channel_id`` and ``message_ts``), in a ``view``, or
    on an ephemeral message (``channel_id`` alone), which Slack sends with
    ``container.is_ephemeral`` and no ``message``: it never stored that message. With
    ``selected``, a choice from a static_select menu whose option's value is ``value``."""
    action: JSONDict = {
        "type": "button",
        "action_id": action_id,
        "block_id": block_id or _unique("b"),
        "value": value,
        "text": {"type": "plain_text", "text": value[:75] or "button"},
        "action_ts": f"{time.time():.6f}",
    }
    if selected:
        option = {"text": {"type": "plain_text", "text": value[:75]}, "value": value}
        action = {k: v for k, v in action.items() if k not in ("value", "text")}
        action |= {"type": "static_select", "selected_option": option}
    payload: JSONDict = {
        "type": "block_actions",
        "user": _user(user_id, org),
        "api_app_id": api_app_id,
        "token": "standin-verification-token",
        "trigger_id": new_trigger_id(),
        "team": {"id": team_id, "domain": "standin", "enterprise_id": org.enterprise_id},
        "enterprise": org.enterprise(),
        "is_enterprise_install": org.enterprise_install,
        "actions": [action],
        "state": {"values": {}},
    }
    if view is not None:
        view_id = view.get("id") or _unique("V")
        payload["container"] = {"type": "view", "view_id": view_id}
        payload["view"] = {"id": view_id, "state": {"values": {}}, **view}
    if channel_id is not None:
        payload["channel"] = {"id": channel_id, "name": f"channel-{channel_id.lower()}"}
        payload["response_url"] = response_url or "https://hooks.slack.test/actions/T0001/1/x"
    if message_ts is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["message"] = {"type": "message", "ts": message_ts, "user": "UBOT", "text": ""}
    elif channel_id is not None and view is None:
        payload["container"] = {
            "type": "message",
            "message_ts": new_ts(),
            "channel_id": channel_id,
            "is_ephemeral": True,
        }
    return _interactive_body(payload)


def event_body(
    event: JSONDict,
    *,
    event_id: str | None = None,
    team_id: str = "T0001",
    api_app_id: str = "A0001",
    bot_user_id: str = "UBOT",
    org: Org = GRID,
) -> str:
    """The Events API JSON envelope around ``event``. An org-wide install's
    authorization names the enterprise and no team."""
    envelope = {
        "token": "standin-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        **({"enterprise_id": org.enterprise_id} if org.enterprise_id else {}),
        "event_id": event_id or _unique("Ev"),
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": org.enterprise_id,
                "team_id": None if org.enterprise_install else team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": org.enterprise_install,
            }
        ],
        "is_ext_shared_channel": org.shared_channel,
    }
    return json.dumps(envelope)


def reaction_event(
    kind: Literal["reaction_added", "reaction_removed"],
    *,
    user: str,
    reaction: str,
    channel: str,
    ts: str,
    item_user: str | None = None,
    event_ts: str | None = None,
) -> JSONDict:
    """Slack leaves ``item_user`` out when the item's author is not visible to the app
    (Slack Connect), so it is left out unless given."""
    event: JSONDict = {
        "type": kind,
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts or new_ts(),
    }
    if item_user is not None:
        event["item_user"] = item_user
    return event


def message_event(
    *,
    user: str,
    text: str,
    channel: str,
    ts: str,
    thread_ts: str | None = None,
    bot_id: str | None = None,
    subtype: str | None = None,
) -> JSONDict:
    """A ``message`` event; a thread reply has ``thread_ts`` different from ``ts``."""
    event: JSONDict = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "im" if channel.startswith("D") else "channel",
    }
    optional = {"thread_ts": thread_ts, "bot_id": bot_id, "subtype": subtype}
    event.update({k: v for k, v in optional.items() if v is not None})
    return event


def app_home_opened_event(user: str) -> JSONDict:
    return {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user.removeprefix('U')}",
        "tab": "home",
        "event_ts": new_ts(),
    }


def post_signed(
    url: str,
    body: str,
    signing_secret: str,
    *,
    content_type: str,
    extra_headers: dict[str, str] | None = None,
    timestamp: int | None = None,
    timeout: float = 10.0,
) -> tuple[int, str]:
    """POST ``body`` signed as Slack would; returns (status, text) even for 4xx/5xx.

    Environment proxies are ignored: these requests are for a local app.
    """
    headers = {"Content-Type": content_type, **sign(signing_secret, body, timestamp)}
    headers.update(extra_headers or {})
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()
