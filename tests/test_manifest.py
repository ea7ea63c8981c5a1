"""The manifest is generated from the registered listeners; this fails if they drift."""

import json
import logging

from handlers.manifest import bot_events, bot_scopes, build_manifest
from promptbot.standins import payloads
from tests.harness import settle

# Slack event subscription name -> the event type that arrives.
DELIVERED = {"message.channels": "message", "message.groups": "message"}


def sample_event(name):
    kind = DELIVERED.get(name, name)
    if kind.startswith("reaction_"):
        return payloads.reaction_event(kind, user="U2", reaction="+1", channel="C1", ts="1.2")
    if kind == "message":
        return payloads.message_event(user="U2", text="hi", channel="C1", ts="1.3", thread_ts="1.2")
    return {"type": kind, "user": "U2"}


def test_every_manifest_event_reaches_a_listener(bot, caplog):
    caplog.set_level(logging.DEBUG, logger="handlers.errors")
    manifest = build_manifest(bot.bot.surface, socket_mode=True, request_url=None)
    for name in manifest["settings"]["event_subscriptions"]["bot_events"]:
        assert bot.event(sample_event(name)) == 200, name
        settle(bot)  # events are processed from the inbox after the answer
        assert "nothing listens" not in caplog.text, name
    # An event the manifest does not subscribe to has no listener; it is still answered
    # 200, so Slack does not count it as a failed delivery.
    assert bot.event({"type": "team_join", "user": {"id": "U9"}}) == 200
    settle(bot)
    assert "nothing listens for event_callback/team_join" in caplog.text


def test_manifest_command_and_interactivity_match_registration(bot):
    surface = bot.bot.surface
    manifest = build_manifest(surface, socket_mode=False, request_url="https://x/slack/events")
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == [c.name for c in surface.commands] == ["/prompt"]
    status, _ = bot.command("help")
    assert status == 200
    assert manifest["settings"]["interactivity"]["is_enabled"] is bool(surface.views)
    view = {"type": "modal", "callback_id": "nope", "state": {"values": {}}}
    status, _ = bot.post(
        "payload=" + json.dumps({"type": "view_submission", "view": view, "user": {"id": "U1"}}),
        "application/x-www-form-urlencoded",
    )
    assert status == 200


def test_malformed_payload_is_a_clear_400(bot):
    payload = {"type": "view_submission", "view": {"callback_id": "propose"}}
    status, text = bot.post("payload=" + json.dumps(payload), "application/x-www-form-urlencoded")
    assert (status, text) == (400, "malformed request")
    status, _ = bot.post("payload=%7Bnot json", "application/x-www-form-urlencoded")
    assert status in (400, 404)


def test_scopes_are_least_privilege(bot):
    surface = bot.bot.surface
    assert bot_events(surface) == [
        "app_home_opened",
        "app_uninstalled",
        "message.channels",
        "message.groups",
        "reaction_added",
        "reaction_removed",
        "tokens_revoked",
    ]
    assert bot_scopes(surface) == [
        "channels:history",
        "chat:write",
        "chat:write.public",
        "commands",
        "files:read",  # test sets uploaded as files
        "files:write",  # exports
        "groups:history",
        "im:write",  # reminders and exports by DM
        "reactions:read",
        "reactions:write",
    ]
