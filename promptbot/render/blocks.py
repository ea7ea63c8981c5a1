"""Block Kit's building blocks, within Slack's limits: sections, context, headers,
the Message they make up, and the escaping every text we did not write passes through."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Block = dict[str, Any]

SECTION_TEXT_LIMIT = 3000
BLOCKS_PER_MESSAGE = 50
# Leave room in each section for formatting we add around the text.
_CHUNK = 2800
SECTIONS_PER_MESSAGE = 45


def escape(text: str) -> str:
    """Escape Slack's mrkdwn control characters; ``&`` first so nothing is escaped twice.

    Untrusted text (model output, prompt text, names) must pass through here, so
    ``<!channel>``, ``<@U123>`` and ``<https://evil|harmless>`` arrive as plain text.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# The longest entity escape() writes; a cut never falls inside one.
_ENTITY = len("&amp;")


def escaped_chunks(text: str, limit: int = _CHUNK) -> list[str]:
    """Escape ``text`` and split it into chunks of at most ``limit`` characters,
    preferring line breaks, then spaces, in each chunk's second half.

    Joined, the chunks are exactly ``escape(text)``; no cut falls inside an entity.
    The cut works on the escaped text, so every chunk makes progress whatever the
    input (a line of 3,000 ``<`` once made an earlier version loop forever).
    """
    if limit < _ENTITY:
        raise ValueError(f"limit must be at least {_ENTITY}")
    escaped = escape(text)
    chunks: list[str] = []
    start = 0
    while len(escaped) - start > limit:
        end = start + limit
        end = _entity_safe_end(escaped, start, end)
        half = start + (end - start) // 2
        newline = escaped.rfind("\n", half, end)
        space = escaped.rfind(" ", half, end)
        if newline != -1:
            end = newline + 1
        elif space != -1:
            end = space + 1
        chunks.append(escaped[start:end])
        start = end
    chunks.append(escaped[start:])
    return chunks


def _entity_safe_end(escaped: str, start: int, end: int) -> int:
    """``end``, moved back to the start of an entity it would cut. In escaped text
    every ``&`` opens an entity, so an ``&`` with no ``;`` before ``end`` is cut.
    (A split's ``end`` is at least ``_ENTITY`` past ``start``, so it always moves on.)"""
    amp = escaped.rfind("&", max(start, end - _ENTITY + 1), end)
    if amp >= start and escaped.find(";", amp, end) == -1:
        return amp
    return end


def clip_escaped(escaped: str, limit: int, marker: str = "…") -> str:
    """Shorten already-escaped text to ``limit`` characters without cutting an entity."""
    if len(escaped) <= limit:
        return escaped
    end = _entity_safe_end(escaped, 0, limit - len(marker))
    return escaped[:end] + marker


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150], "emoji": True}}


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[Block]


_CODE_LIMIT = 2800


def code_block(text: str, limit: int = _CODE_LIMIT) -> str:
    """Escaped text in a fence. Backticks become a look-alike so the text cannot
    close the fence early."""
    body = escape(text).replace("`", "\u02cb")
    if len(body) > limit:
        body = clip_escaped(body, limit - 20, "").rsplit("\n", 1)[0] + "\n… (shortened)"
    return f"```{body}```"
