"""The Slack app manifest, generated from what the listeners registered."""

from __future__ import annotations

from typing import Any

from handlers.surface import Surface

# Slack splits the `message` event by conversation type; we read public and private channels.
_EVENT_SUBSCRIPTIONS = {"message": ["message.channels", "message.groups"]}

# Least privilege: each scope is here because something registered or posted needs it.
_EVENT_SCOPES = {
    "reaction_added": ["reactions:read"],
    "reaction_removed": ["reactions:read"],
    "message.channels": ["channels:history"],
    "message.groups": ["groups:history"],
}
# Posting threads (also into a configured channel the bot was not invited to) and
# seeding the rating emoji.
_POSTING_SCOPES = ["chat:write", "chat:write.public", "reactions:write"]


def bot_events(surface: Surface) -> list[str]:
    events: list[str] = []
    for name in surface.events:
        events.extend(_EVENT_SUBSCRIPTIONS.get(name, [name]))
    return sorted(set(events))


def bot_scopes(surface: Surface) -> list[str]:
    scopes = set(_POSTING_SCOPES) | surface.scopes
    if surface.commands:
        scopes.add("commands")
    for event in bot_events(surface):
        scopes.update(_EVENT_SCOPES.get(event, []))
    return sorted(scopes)


def build_manifest(
    surface: Surface, *, socket_mode: bool, request_url: str | None
) -> dict[str, Any]:
    url = request_url or "https://YOUR-HOST/slack/events"
    commands = []
    for command in surface.commands:
        entry = {
            "command": command.name,
            "description": command.description,
            "usage_hint": command.usage_hint,
            "should_escape": False,
        }
        if not socket_mode:
            entry["url"] = url
        commands.append(entry)
    events: dict[str, Any] = {"bot_events": bot_events(surface)}
    interactivity: dict[str, Any] = {"is_enabled": surface.interactive}
    if not socket_mode:
        events["request_url"] = url
        interactivity["request_url"] = url
    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": "promptbot",
            "description": "Team prompt review: blind candidates, emoji ratings, honest rankings.",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": "app_home_opened" in surface.events,
                # Read-only: reminders and exports arrive as DMs people must be able to read.
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": True,
            },
            "bot_user": {"display_name": "promptbot", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": bot_scopes(surface)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }
