"""The digest: what the evidence says at the end of a period, and what changed during it.

``build_digest`` takes every row up to ``end`` (rankings need every vote so far) and reads
"this period" as timestamps in ``[start, end)``. Late ratings (after a run's voting closed)
are kept in the evidence but never counted; the digest says how many arrived. Rendering
lives in :mod:`promptbot.digest.rendering`; this module is pure (no Slack, no SQL, no I/O).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from promptbot.config.settings import DigestSettings
from promptbot.digest.activity import PromptActivity, activity
from promptbot.digest.check_rates import CheckRate
from promptbot.digest.inputs import DigestInputs, inputs_from_rows
from promptbot.digest.new_champions import NewChampion, new_champions
from promptbot.render.words import count
from promptbot.verdicts.champions import ChampionReport
from promptbot.verdicts.evidence import Evidence
from promptbot.verdicts.head_to_head import Ranking, version_comparisons
from promptbot.verdicts.rankings import Rankings, compute_rankings
from promptbot.verdicts.version_standings import (
    LeaderboardRow,
    NeedsVotes,
    leaderboard,
    leaderboard_winner,
    standings,
)


@dataclass(frozen=True, slots=True)
class Winner:
    """An entry that is separable #1 in a ranking at the end of the period."""

    ranking: str
    item: str


@dataclass(frozen=True, slots=True)
class Mover:
    """A leaderboard entry whose place changed since the start of the period."""

    item: str
    rank: int
    previous_rank: int | None  # None: not ranked before (new, or had too few votes)

    @property
    def change(self) -> int | None:
        """Places gained (negative: lost); None for a new entry."""
        return None if self.previous_rank is None else self.previous_rank - self.rank


@dataclass(frozen=True, slots=True)
class UnresolvedPair:
    """Two ranked entries whose intervals overlap: not yet separable."""

    ranking: str
    a: str
    b: str


@dataclass(frozen=True)
class Digest:
    start: datetime
    end: datetime
    generated_at: datetime
    period_words: str  # "this week", or "this period" for other lengths
    empty: bool  # no runs and no ratings in [start, end)
    headline: str
    rankings: Rankings  # at ``end``, from every counted rating so far
    winners: tuple[Winner, ...]
    new_champions: tuple[NewChampion, ...]
    movers: tuple[Mover, ...]
    not_separable: tuple[UnresolvedPair, ...]
    activity: tuple[PromptActivity, ...]
    runs: int  # runs posted this period
    ratings: int  # counted ratings this period
    reviewers: int  # distinct reviewers who rated this period (late or not)
    comments: int  # comments on runs posted this period
    late_ratings: int  # ratings this period that arrived after voting closed
    late_note: str | None
    notes: tuple[str, ...]  # position bias, length bias, reviewer agreement, in plain words
    checks: tuple[CheckRate, ...] = ()  # pass rates per version (closed runs; service adds)

    @property
    def leaderboard(self) -> tuple[LeaderboardRow, ...]:
        return self.rankings.leaderboard

    @property
    def champions(self) -> tuple[ChampionReport, ...]:
        return self.rankings.champions

    @property
    def needs_votes(self) -> tuple[NeedsVotes, ...]:
        return self.rankings.needs_votes

    @property
    def model_ranking(self) -> Ranking:
        return self.rankings.models

    @property
    def min_votes(self) -> int:
        return self.rankings.min_votes


def period_words(start: datetime, end: datetime) -> str:
    """How the digest names its period: a week (give or take a DST shift) or a period."""
    week = abs((end - start) - timedelta(days=7)) <= timedelta(hours=12)
    return "this week" if week else "this period"


def late_note(late: int) -> str | None:
    if late == 0:
        return None
    if late == 1:
        return "1 rating arrived after voting closed; it is kept but not counted."
    return f"{count(late, 'rating')} arrived after voting closed; they are kept but not counted."


def movers(now: Sequence[LeaderboardRow], before: Sequence[LeaderboardRow]) -> tuple[Mover, ...]:
    """Places at the end against places from the ratings before the start (no bootstrap:
    the leaderboard is intervals only). New entries first, then the biggest moves."""
    previous = {row.item: row.rank for row in before}
    moved = [
        Mover(row.item, row.rank, previous.get(row.item))
        for row in now
        if previous.get(row.item) != row.rank
    ]
    moved.sort(key=lambda m: (m.change is not None, -abs(m.change or 0), m.rank))
    return tuple(moved)


def _winners(rankings: Rankings) -> tuple[Winner, ...]:
    found = []
    top = leaderboard_winner(rankings.leaderboard)
    if top is not None:
        found.append(Winner("Leaderboard", top.item))
    found += [Winner(r.title, r.winner) for r in rankings.all_rankings if r.winner is not None]
    return tuple(found)


def _unresolved(rankings: Rankings) -> tuple[UnresolvedPair, ...]:
    order = (
        rankings.models,
        *rankings.versions_by_prompt,
        rankings.prompts,
        *rankings.models_by_prompt,
    )
    return tuple(UnresolvedPair(r.title, a, b) for r in order for a, b in r.pairs)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Building a digest makes about a million short-lived tuples while ~10^5 rows stay
    alive, so the cyclic collector's full passes cost ~10% of the time and find nothing
    (there are no cycles). Reference counting still frees everything as usual."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build_digest(
    evidence: Evidence,
    *,
    start: datetime,
    end: datetime,
    settings: DigestSettings,
    now: datetime | None = None,
) -> Digest:
    """The digest for ``[start, end)`` from evidence rows; see the module docstring."""
    if start >= end:
        raise ValueError(f"the period must start before it ends: {start} >= {end}")
    with _collector_paused():
        inputs = inputs_from_rows(evidence, start, end)
    return build_digest_from(inputs, start=start, end=end, settings=settings, now=now)


def build_digest_from(
    inputs: DigestInputs,
    *,
    start: datetime,
    end: datetime,
    settings: DigestSettings,
    now: datetime | None = None,
) -> Digest:
    """The digest for ``[start, end)`` from inputs already limited to it."""
    if start >= end:
        raise ValueError(f"the period must start before it ends: {start} >= {end}")
    archived = inputs.archived
    runs = inputs.runs
    # What the evidence said at the start: judgements from the ratings before it. The
    # table is built here and dropped before the rankings, whose comparisons and refits
    # are the peak of a digest's memory (about as large as this table at a million).
    judged_before = inputs.judged_before
    previous = standings(
        judged_before,
        [r for r in runs if r.created_at < start],
        inputs.scales,
        min_votes=settings.min_votes,
    )
    versions_before = version_comparisons(judged_before, archived)
    del judged_before
    rankings = compute_rankings(
        inputs.judged,
        runs,
        inputs.scales,
        archived,
        min_votes=settings.min_votes,
        rounds=settings.bootstrap_rounds,
        seed=settings.seed,
    )
    period_runs = [r for r in runs if r.created_at >= start]
    counts = inputs.counts
    active = {p for p, n in counts.ratings_by_prompt.items() if n} - archived

    words = period_words(start, end)
    empty = not period_runs and not (counts.ratings + counts.late)
    comments = sum(r.comments for r in period_runs)
    if empty:
        headline = f"No prompts were proposed or rated {words}."
    else:
        headline = (
            f"{count(len(period_runs), 'run')} posted, {count(counts.ratings, 'rating')}"
            f" from {count(counts.reviewers, 'reviewer')}, {count(comments, 'comment')} {words}."
        )
    return Digest(
        start=start,
        end=end,
        generated_at=now if now is not None else datetime.now(tz=end.tzinfo),
        period_words=words,
        empty=empty,
        headline=headline,
        rankings=rankings,
        winners=_winners(rankings),
        new_champions=new_champions(rankings, previous, versions_before, active, settings),
        movers=movers(rankings.leaderboard, leaderboard(previous.values(), archived)),
        not_separable=_unresolved(rankings),
        activity=activity(inputs.period_candidates, period_runs, counts.ratings_by_prompt),
        runs=len(period_runs),
        ratings=counts.ratings,
        reviewers=counts.reviewers,
        comments=comments,
        late_ratings=counts.late,
        late_note=late_note(counts.late),
        notes=rankings.biases.plain_words,
    )
