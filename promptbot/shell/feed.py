"""What changed in the Slack stand-in since the shell last looked.

The stand-in records every Web API call and keeps the resulting state; the feed reads
that state and returns only what is new: messages (and edits of earlier ones),
ephemeral messages, modals opened, and posts to a command's response_url.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from promptbot.standins.slack_api import SlackStandIn, UploadedFile

JSONDict = dict[str, Any]


@dataclass
class Changes:
    messages: list[JSONDict] = field(default_factory=list)  # oldest first
    edited: set[str] = field(default_factory=set)  # ts of messages seen before, now changed
    ephemerals: list[JSONDict] = field(default_factory=list)
    views: list[JSONDict] = field(default_factory=list)  # modals opened or updated
    updated_views: set[str] = field(default_factory=set)  # ids of those seen before
    responses: list[JSONDict] = field(default_factory=list)
    files: list[UploadedFile] = field(default_factory=list)  # shared by the app


def _fingerprint(message: JSONDict) -> str:
    """What makes a message look different; reactions are left out (shown separately)."""
    return json.dumps([message.get("text"), message.get("blocks")], sort_keys=True)


class Feed:
    def __init__(self, slack: SlackStandIn, channels: set[str]) -> None:
        self.slack = slack
        self.channels = channels
        self._calls = 0
        self._seen: dict[tuple[str, str], str] = {}
        self._ephemerals = 0
        self._responses = 0
        self._views: dict[str, str] = {}  # modal id -> the hash Slack gives each version
        self._files: set[str] = set()

    def _channels_written(self) -> set[str]:
        """Channels the app wrote to since the last look (a user id means that DM)."""
        calls = self.slack.calls
        fresh, self._calls = calls[self._calls :], len(calls)
        return {str(c.params["channel"]) for c in fresh if c.params.get("channel") and not c.error}

    def mark_seen(self, message: JSONDict) -> None:
        """Skip a message the shell itself stored (what the user just typed)."""
        self._seen[(str(message["channel"]), str(message["ts"]))] = _fingerprint(message)

    def changes(self) -> Changes:
        out = Changes()
        for channel in self._channels_written():
            if channel[:1] in ("U", "W"):
                channel = self.slack.dm_channel(channel)
            self.channels.add(channel)
        for channel in sorted(self.channels):
            for message in self.slack.messages(channel):
                key = (str(message["channel"]), str(message["ts"]))
                look = _fingerprint(message)
                if key not in self._seen:
                    out.messages.append(message)
                elif self._seen[key] != look:
                    out.messages.append(message)
                    out.edited.add(key[1])
                self._seen[key] = look
        out.messages.sort(key=lambda m: float(m["ts"]))
        ephemerals = self.slack.ephemerals()
        out.ephemerals, self._ephemerals = ephemerals[self._ephemerals :], len(ephemerals)
        responses = self.slack.responses
        out.responses = [r.body for r in responses[self._responses :]]
        self._responses = len(responses)
        for upload in self.slack.files():
            # Shared by the app into a conversation (what people attach has no channel).
            if upload.completed and upload.channel_id and upload.id not in self._files:
                self._files.add(upload.id)
                out.files.append(upload)
        for view in self.slack.views("modal"):
            if self._views.get(view["id"]) != view["hash"]:
                if view["id"] in self._views:
                    out.updated_views.add(view["id"])
                self._views[view["id"]] = view["hash"]
                out.views.append(view)
        return out
