"""Slack, drawn in the terminal with rich: messages, threads, Block Kit, ephemerals.

Everything is built as ``rich.text.Text`` (never markup strings), so brackets in a
model's answer are shown, not interpreted. Slack's mrkdwn is reduced to plain text the
way ``promptbot digest --print`` does it, after mentions and emoji are resolved.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.emoji import Emoji
from rich.text import Text

from promptbot.render.terminal import mrkdwn_to_text
from promptbot.standins.slack_api import WORKSPACE_URL

JSONDict = dict[str, Any]

_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#([CGD][A-Z0-9]+)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>")
# Permalinks into the stand-in lead nowhere: show just their label.
_LOCAL_LINK = re.compile("<" + re.escape(WORKSPACE_URL) + r"[^|>]*\|([^>]*)>")
_BARE_LOCAL_LINK = re.compile("<" + re.escape(WORKSPACE_URL) + r"[^|>]*>")

GUTTER = "  "
REPLY_GUTTER = "  │ "


@dataclass(frozen=True)
class Button:
    """A clickable button: typing its number sends a block_actions payload."""

    action_id: str
    value: str
    block_id: str | None
    channel: str | None = None
    message_ts: str | None = None
    view: JSONDict | None = None


@dataclass
class Names:
    """How ids read in the terminal: users by their shell name, channels by name."""

    users: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)

    def user(self, user_id: str) -> str:
        if user_id in self.users:
            return self.users[user_id]
        # Someone from an earlier session: the shell made the id from the name.
        return user_id[1:].lower() if user_id[:1] == "U" and user_id[1:].isalnum() else user_id

    def channel(self, channel_id: str) -> str:
        if channel_id[:1] == "D" and channel_id not in self.channels:
            return "direct message"
        return "#" + self.channels.get(channel_id, channel_id)


def emoji(name: str) -> str:
    """``+1`` becomes 👍; a name rich does not know stays ``:name:``."""
    return Emoji.replace(f":{name.split('::')[0]}:")


def plain(text: str, names: Names) -> str:
    """Slack mrkdwn as terminal text. Mentions first, on the still-escaped text, so an
    escaped ``&lt;@U1&gt;`` from a model stays literal; ``mrkdwn_to_text`` unescapes last."""
    text = _USER.sub(lambda m: "@" + names.user(m.group(1)), text)
    text = _CHANNEL.sub(
        lambda m: f"#{m.group(2)}" if m.group(2) else names.channel(m.group(1)), text
    )
    text = _SPECIAL.sub(lambda m: "@" + m.group(1), text)
    text = _SUBTEAM.sub(lambda m: "@" + (m.group(2) or m.group(1)).lstrip("@"), text)
    text = _BARE_LOCAL_LINK.sub("", _LOCAL_LINK.sub(lambda m: m.group(1), text))
    return Emoji.replace(mrkdwn_to_text(text))


class Renderer:
    def __init__(self, console: Console, names: Names) -> None:
        self.console = console
        self.names = names
        self.buttons: list[Button] = []

    # -- blocks -------------------------------------------------------------------

    def _element_text(self, element: JSONDict) -> str:
        if element.get("type") in ("mrkdwn", "plain_text"):
            return plain(str(element.get("text", "")), self.names)
        if element.get("type") == "image":
            return f"[image: {element.get('alt_text', '')}]"
        return ""

    def _button(self, element: JSONDict, block: JSONDict, where: JSONDict) -> str:
        label = self._element_text(element.get("text") or {})
        if element.get("url"):
            return f"[{label}: {element['url']}]"
        self.buttons.append(
            Button(
                action_id=str(element.get("action_id", "")),
                value=str(element.get("value", "")),
                block_id=block.get("block_id"),
                channel=where.get("channel"),
                message_ts=where.get("ts"),
                view=where.get("view"),
            )
        )
        return f"[{len(self.buttons)}: {label}]"

    def _control(self, element: JSONDict, block: JSONDict, where: JSONDict) -> str:
        kind = element.get("type")
        if kind == "button":
            return self._button(element, block, where)
        if kind in ("static_select", "multi_static_select", "overflow"):
            options = [self._element_text(o.get("text") or {}) for o in element.get("options", [])]
            return "(" + " | ".join(options) + ")"
        return self._element_text(element)

    def block_lines(self, blocks: Iterable[JSONDict], where: JSONDict) -> list[Text]:
        """One or more lines per block, styled by kind; buttons get their numbers here."""
        lines: list[Text] = []
        for block in blocks:
            kind = block.get("type")
            if kind == "header":
                lines.append(Text(self._element_text(block.get("text") or {}), style="bold"))
            elif kind == "section":
                parts = [self._element_text(block["text"])] if block.get("text") else []
                parts += [self._element_text(f) for f in block.get("fields", [])]
                if block.get("accessory"):
                    parts.append(self._control(block["accessory"], block, where))
                lines += [Text(part) for part in parts if part]
            elif kind == "context":
                texts = [self._element_text(e) for e in block.get("elements", [])]
                lines.append(Text("  ".join(t for t in texts if t), style="dim"))
            elif kind == "divider":
                lines.append(Text("─" * 24, style="dim"))
            elif kind == "actions":
                controls = [self._control(e, block, where) for e in block.get("elements", [])]
                lines.append(Text("  ".join(controls), style="cyan"))
            elif kind == "image":
                lines.append(Text(f"[image: {block.get('alt_text', '')}]", style="dim"))
            elif kind in ("rich_text", "markdown") and block.get("text"):
                lines.append(Text(plain(str(block["text"]), self.names)))
        return lines

    def blocks(self, blocks: list[JSONDict], where: JSONDict) -> None:
        """Blocks on their own (a modal's, the Home tab's), indented."""
        self._print(GUTTER, self.block_lines(blocks, where))

    def message_lines(self, message: JSONDict) -> list[Text]:
        where = {"channel": message.get("channel"), "ts": message.get("ts")}
        if message.get("blocks"):
            return self.block_lines(message["blocks"], where)
        return [Text(plain(str(message.get("text", "")), self.names))]

    # -- printing -----------------------------------------------------------------

    def _print(self, gutter: str, lines: Iterable[Text]) -> None:
        # Wrapped here rather than by rich, so every physical line keeps the gutter and a
        # long answer stays visibly inside its thread.
        width = max(20, self.console.width - len(gutter))
        for line in lines:
            for part in line.wrap(self.console, width):
                printed = Text(gutter, style="dim") + part
                printed.rstrip()
                self.console.print(printed, soft_wrap=True)

    def print_lines(self, lines: Iterable[Text]) -> None:
        self._print(GUTTER, lines)

    def reactions(self, reactions: dict[str, list[str]]) -> Text:
        return Text("   ".join(f"{emoji(n)} {len(u)}" for n, u in reactions.items() if u))

    def message(self, message: JSONDict, *, reply: bool, edited: bool = False) -> None:
        """A channel message (author · channel, then its blocks), or a thread reply drawn
        under a gutter so it reads as part of the thread above."""
        author = self.names.user(str(message.get("user") or ""))
        head = Text(author, style="bold green" if message.get("bot_id") else "bold")
        if not reply:
            head.append(f" · {self.names.channel(str(message.get('channel')))}", style="dim")
        if edited:
            head.append(" (edited)", style="dim")
        body = self.message_lines(message)
        if message.get("reactions"):
            body.append(self.reactions(message["reactions"]))
        self._print(REPLY_GUTTER if reply else "", [head])
        self._print(REPLY_GUTTER + GUTTER if reply else GUTTER, body)

    def thread_heading(self, text: str) -> None:
        self.console.print(Text(text, style="bold magenta"))

    def private(self, user_id: str, current: str, lines: list[Text]) -> None:
        """A reply only one person sees: an ephemeral message or a command's ack."""
        who = "you" if user_id == current else self.names.user(user_id)
        self.console.print(Text(f"only visible to {who}", style="italic yellow"))
        self._print(GUTTER, lines)

    def note(self, text: str, style: str = "dim") -> None:
        self.console.print(Text(text, style=style))

    def hint(self, text: str) -> None:
        self.console.print(Text("hint: " + text, style="yellow"))

    def table(self, rows: list[tuple[str, str]]) -> None:
        width = max(len(left) for left, _ in rows)
        for left, right in rows:
            self.console.print(Text(f"  {left.ljust(width)}  ", style="bold") + Text(right))
