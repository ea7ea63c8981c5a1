"""The stand-in's ``views.*`` methods: modals and App Home, checked against Block Kit's
limits. Each ``_api_*`` returns the fields besides ``ok``, or raises ``SlackError``."""

from __future__ import annotations

import copy
import time

from promptbot.standins.blockkit import check_blocks, check_view
from promptbot.standins.slack_records import APP_ID, BOT_ID, TEAM_ID, JSONDict, SlackError, need
from promptbot.standins.slack_state import SlackState


class ViewMethods(SlackState):
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

    def _api_views_open(self, params: JSONDict) -> JSONDict:
        need(params, "trigger_id")
        return self._save_view(self._checked_view(params, "modal"), self._next_id("V"))

    def _api_views_push(self, params: JSONDict) -> JSONDict:
        need(params, "trigger_id")
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
        (user_id,) = need(params, "user_id")
        view = self._checked_view(params, "home")
        view_id = self._home.get(user_id) or self._next_id("V")
        self._home[user_id] = view_id
        return self._save_view(view, view_id)
