"""Counted nouns, the one way every message says how many: ``1 comment``, ``2 comments``."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one. ``plural`` is for nouns that do not
    just take an s (``count(2, "reply", "replies")``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"
