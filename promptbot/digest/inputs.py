"""What a digest is computed from: judgements (now and at the period's start), runs, the
period's candidates and its counts. The database aggregates them in SQL
(:func:`storage.digest_inputs.load_digest_inputs`); rating rows give the same thing
(:func:`inputs_from_rows`), which is how the unit tests build them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from promptbot.verdicts.evidence import CandidateRow, Evidence, RunRow, ScaleInfo
from promptbot.verdicts.judgements import Judgements, judgements_from_rows


@dataclass(frozen=True)
class PeriodCounts:
    """Ratings in ``[start, end)``: counted ones, late ones, who rated (late or not) and
    counted ratings per prompt."""

    ratings: int
    late: int
    reviewers: int
    ratings_by_prompt: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class DigestInputs:
    judged: Judgements  # from counted ratings before the end
    # ... and from those before the start, built when asked: the table is as large as
    # ``judged`` (~60 MB at a million ratings), so it is made, used and dropped apart
    # from the rankings, the peak of a digest's memory.
    before: Callable[[], Judgements]
    runs: list[RunRow]  # created before the end
    period_candidates: list[CandidateRow]
    counts: PeriodCounts
    scales: list[ScaleInfo]
    archived: set[str]

    @property
    def judged_before(self) -> Judgements:
        return self.before()


def inputs_from_rows(evidence: Evidence, start: datetime, end: datetime) -> DigestInputs:
    ratings = [r for r in evidence.ratings if r.rated_at < end]
    counted = [r for r in ratings if not r.late]
    in_period = [r for r in ratings if r.rated_at >= start]
    counted_in_period = [r for r in in_period if not r.late]
    return DigestInputs(
        judged=judgements_from_rows(counted, evidence.scales),
        before=lambda: judgements_from_rows(
            [r for r in counted if r.rated_at < start], evidence.scales
        ),
        runs=[r for r in evidence.runs if r.created_at < end],
        period_candidates=[c for c in evidence.candidates if start <= c.created_at < end],
        counts=PeriodCounts(
            ratings=len(counted_in_period),
            late=len(in_period) - len(counted_in_period),
            reviewers=len({r.user_id for r in in_period}),
            ratings_by_prompt=dict(Counter(r.prompt for r in counted_in_period)),
        ),
        scales=list(evidence.scales),
        archived=set(evidence.archived_prompts),
    )
