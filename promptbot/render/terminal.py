"""Block Kit as plain terminal text, for `promptbot digest --print`."""

from __future__ import annotations

import re
from typing import Any

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>]+)>")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]+)_(?![\w_])")
_FENCE = re.compile(r"```\n?(.*?)\n?```", re.DOTALL)


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_to_text(text: str) -> str:
    """Links become ``label (url)``, code fences go; escapes are undone last, so escaped text never
    turns into a link."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    text = _BARE_LINK.sub(lambda m: m.group(1), text)
    text = _BOLD.sub(lambda m: m.group(1), text)
    text = _ITALIC.sub(lambda m: m.group(1), text)
    text = _FENCE.sub(lambda m: m.group(1), text)  # a code block is shown as its lines
    return unescape(text)


def _text_of(element: dict[str, Any]) -> str:
    if element.get("type") in ("mrkdwn", "plain_text"):
        return mrkdwn_to_text(str(element.get("text", "")))
    if element.get("type") == "button":
        return f"[{_text_of(element.get('text', {}))}]"
    return ""


def blocks_to_text(blocks: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            title = _text_of(block["text"])
            lines += ["", title, "=" * len(title)]
        elif kind == "section":
            if "text" in block:
                lines.append(_text_of(block["text"]))
            lines += [_text_of(f) for f in block.get("fields", [])]
        elif kind == "context":
            lines.append("  " + "  ".join(_text_of(e) for e in block.get("elements", [])))
        elif kind == "divider":
            lines.append("-" * 40)
        elif kind == "actions":
            lines.append("  ".join(_text_of(e) for e in block.get("elements", [])))
    return "\n".join(lines).strip() + "\n"
