"""Numbers in words, the one way every message says them: counted nouns (``1 comment``,
``2 comments``) and amounts of money."""

from __future__ import annotations


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one. ``plural`` is for nouns that do not
    just take an s (``count(2, "reply", "replies")``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def format_cost(amount: float) -> str:
    return f"${amount:,.4f}" if amount < 1 else f"${amount:,.2f}"
