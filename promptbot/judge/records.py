"""What one judge call produced, as the judge hands it to storage."""

from __future__ import annotations

from dataclasses import dataclass

from promptbot.domain import Outcome


@dataclass(frozen=True)
class VerdictRecord:
    """What one judge call produced for a candidate: a verdict, or ``error`` instead."""

    approval: float | None
    stars: float | None
    reason: str
    error: str | None
    reply: str | None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    cached: bool = False


@dataclass(frozen=True)
class PairRecord:
    outcome: Outcome | None
    consistent: bool | None
    forward: str | None  # each order's parsed answer, "first"/"second"/"tie", or None
    backward: str | None
    error: str | None
    cost: float | None
