"""The digest: what the evidence says at the end of a period, and what changed during it.

``build_digest`` takes every row up to ``end`` (rankings need every vote so far) and reads
"this period" as timestamps in ``[start, end)``. Late ratings (after a run's voting closed)
are kept in the evidence but never counted; the digest says how many arrived. Rendering
lives in :mod:`promptbot.digest.rendering`; this module is pure (no Slack, no SQL, no I/O).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from promptbot.config.settings import DigestSettings
from promptbot.digest.activity import PromptActivity, activity
from promptbot.digest.inputs import DigestInputs, inputs_from_rows
from promptbot.render.words import count
from promptbot.verdicts.bradley_terry import ComparisonSet
from promptbot.verdicts.champions import ChampionReport, choose_champion
from promptbot.verdicts.evidence import Evidence
from promptbot.verdicts.head_to_head import Ranking, item_name, version_comparisons
from promptbot.verdicts.head_to_head import rank as fit_ranking
from promptbot.verdicts.rankings import Rankings, compute_rankings
from promptbot.verdicts.version_standings import (
    LeaderboardRow,
    NeedsVotes,
    VersionStanding,
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
class NewChampion:
    """A prompt whose champion changed this period (``previous`` None: its first)."""

    prompt: str
    version: int
    previous: int | None


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


def _new_champions(
    rankings: Rankings,
    previous: dict[tuple[str, int], VersionStanding],
    versions_before: dict[str, ComparisonSet],
    active: set[str],
    settings: DigestSettings,
) -> tuple[NewChampion, ...]:
    """Champions now against champions from the ratings before the start. Only prompts
    rated this period can have changed, and a version ranking is refitted only when its
    comparisons changed (same comparisons and seed give the same ranking)."""
    by_prompt: dict[str, list[VersionStanding]] = defaultdict(list)
    for standing in previous.values():
        by_prompt[standing.prompt].append(standing)
    new = []
    for report in rankings.champions:
        if report.prompt not in active or report.champion is None:
            continue
        versions = by_prompt.get(report.prompt, [])
        before = versions_before.get(report.prompt)
        now = rankings.versions_of(report.prompt)
        ranking = None
        if sum(1 for s in versions if s.ranked_by is not None) < 2 or before is None:
            pass  # at most one candidate for champion, or nothing head-to-head: no fit needed
        elif now is not None and before.fingerprint() == now.comparisons.fingerprint():
            ranking = now
        else:
            ranking = fit_ranking(
                "versions",
                report.prompt,
                before,
                min_votes=settings.min_votes,
                rounds=settings.bootstrap_rounds,
                seed=settings.seed,
            )
        previous_champion = choose_champion(report.prompt, versions, ranking).champion
        if previous_champion == report.champion:
            continue
        if previous_champion is None or _separably_ahead(
            rankings, report.prompt, report.champion, previous_champion
        ):
            new.append(NewChampion(report.prompt, report.champion, previous_champion))
    new.sort(key=lambda c: c.previous is None)  # takeovers first, then first champions
    return tuple(new)


def _separably_ahead(rankings: Rankings, prompt: str, version: int, other: int) -> bool:
    """Whether ``version`` is now surely better than ``other``: head-to-head, or else by
    absolute standing (its interval wholly above). A change of champion inside the noise
    (two versions whose intervals overlap trading places) is not announced as a win."""
    ranking = rankings.versions_of(prompt)
    if ranking is not None:
        entries = {e.item: e for e in ranking.ranked}
        mine, theirs = (
            entries.get(item_name(prompt, version)),
            entries.get(item_name(prompt, other)),
        )
        if mine is not None and theirs is not None:
            return mine.low > theirs.high
    standing = {(s.prompt, s.version): s.ranked_by for s in rankings.standings}
    mine_by, theirs_by = standing.get((prompt, version)), standing.get((prompt, other))
    return mine_by is not None and theirs_by is not None and mine_by.norm_low > theirs_by.norm_high


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
    rankings = compute_rankings(
        inputs.judged,
        runs,
        inputs.scales,
        archived,
        min_votes=settings.min_votes,
        rounds=settings.bootstrap_rounds,
        seed=settings.seed,
    )
    # What the evidence said at the start: judgements from the ratings before it.
    previous = standings(
        inputs.judged_before,
        [r for r in runs if r.created_at < start],
        inputs.scales,
        min_votes=settings.min_votes,
    )
    versions_before = version_comparisons(inputs.judged_before, archived)
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
        new_champions=_new_champions(rankings, previous, versions_before, active, settings),
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
