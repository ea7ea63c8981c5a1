"""The evidence rankings are computed from: plain rows the store returns.

Rankings never see candidate text, only its length, so an answer that says
"rank me first" changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

PAIRWISE = "pairwise"
"""The scale of compare-pair votes: each vote reads as a rating of both answers of the pair."""


class RatingRow(NamedTuple):
    """One reviewer's current rating of one candidate on one scale. A NamedTuple, not a
    dataclass: a digest builds 100k of these, and tuples are three times cheaper."""

    candidate_id: int
    run_id: int
    prompt: str
    version: int
    model: str
    slot: int  # display position: 0 = Candidate A
    input_index: int
    output_chars: int
    user_id: str
    scale: str
    score: float
    late: bool  # arrived after the run's voting closed
    rated_at: datetime
    permalink: str | None = None


@dataclass(frozen=True, slots=True)
class CandidateRow:
    """One candidate's cost and outcome, rated or not."""

    candidate_id: int
    run_id: int
    prompt: str
    version: int
    model: str
    tokens_in: int | None
    tokens_out: int | None
    latency_ms: int | None
    failed: bool
    created_at: datetime
    permalink: str | None = None
    cost: float | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class RunRow:
    """One run; a digest holds every run so far (slots: ~20k of them at a million
    ratings)."""

    run_id: int
    prompt: str
    version: int
    created_at: datetime
    closed: bool
    comments: int
    permalink: str | None = None


@dataclass(frozen=True)
class ScaleInfo:
    name: str
    low: float
    high: float
    binary: bool  # 0/1 approval: read as a share with a Wilson interval


@dataclass(frozen=True)
class Evidence:
    """Everything one digest period is computed from (plus the period before it)."""

    ratings: list[RatingRow]
    candidates: list[CandidateRow]
    runs: list[RunRow]
    scales: list[ScaleInfo]
    archived_prompts: set[str] = field(default_factory=set)

    def since(self, start: datetime) -> Evidence:
        """Only what was rated or run from ``start`` on: a leaderboard's time window."""
        return Evidence(
            ratings=[r for r in self.ratings if r.rated_at >= start],
            candidates=[c for c in self.candidates if c.created_at >= start],
            runs=[r for r in self.runs if r.created_at >= start],
            scales=self.scales,
            archived_prompts=self.archived_prompts,
        )
