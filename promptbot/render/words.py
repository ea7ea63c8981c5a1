"""Numbers in words, the one way every message says them: counted nouns (``1 comment``,
``2 comments``) and amounts of money."""

from __future__ import annotations

from collections.abc import Callable, Sequence


def count(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and the noun, singular for exactly one. ``plural`` is for nouns that do not
    just take an s (``count(2, "reply", "replies")``)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def format_cost(amount: float) -> str:
    return f"${amount:,.4f}" if amount < 1 else f"${amount:,.2f}"


def join_within(
    parts: Sequence[str], budget: int, separator: str, more: Callable[[int], str]
) -> str:
    """``parts`` joined while they fit in ``budget`` characters; then ``more(n)`` for
    the ``n`` left out, so one Block Kit text (3,000 characters) holds any number."""
    kept: list[str] = []
    used = 0
    for number, part in enumerate(parts):
        if used + len(part) > budget:
            kept.append(more(len(parts) - number))
            break
        kept.append(part)
        used += len(part) + len(separator)
    return separator.join(kept)
