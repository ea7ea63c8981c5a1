"""Absolute standings: how each prompt version scores on its own, and the leaderboard.

A version's standing is the mean of its judgements (one per reviewer and candidate, on
0..1: :mod:`promptbot.verdicts.judgements`) with the Wilson 95% interval described in
:mod:`promptbot.verdicts.intervals`. Approval and stars share that one footing, so the
leaderboard can order every version by its lower bound: three votes at 100% do not beat
ninety at 90%, and neither do five votes of 5 stars. The approval share and the star
mean are shown beside it, each with the same kind of interval.

Pure functions: no Slack, no SQL, no I/O.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np

from promptbot.verdicts.evidence import RunRow, ScaleInfo
from promptbot.verdicts.head_to_head import VersionKey, item_name
from promptbot.verdicts.intervals import rank_ub, wilson_interval
from promptbot.verdicts.judgements import Judgements, dense_codes, dense_unique

SCORE = "score"
"""The name of the combined 0..1 standing (the mean judgement)."""
_LINKS_KEPT = 3


@dataclass(frozen=True, slots=True)
class ScaleStanding:
    """One version's standing on one scale (or on the combined score). ``value`` is the
    share (binary scale), the mean score (graded) or the mean judgement (combined);
    ``norm_*`` are the interval on 0..1."""

    scale: str
    binary: bool
    n: int
    value: float
    low: float
    high: float
    norm_low: float
    norm_high: float


def share_standing(name: str, total: float, n: int, scale: ScaleInfo | None) -> ScaleStanding:
    """The standing of ``n`` 0..1 scores summing to ``total``, shown on ``scale`` (None:
    on 0..1 as a share)."""
    norm_low, norm_high = wilson_interval(min(max(total, 0.0), n), n)
    share = total / n
    if scale is None or scale.binary:
        return ScaleStanding(name, True, n, share, norm_low, norm_high, norm_low, norm_high)
    span = scale.high - scale.low

    def back(x: float) -> float:
        return scale.low + x * span

    return ScaleStanding(
        name, False, n, back(share), back(norm_low), back(norm_high), norm_low, norm_high
    )


@dataclass(frozen=True)
class VersionStanding:
    """Absolute standing of one prompt version, from counted (on-time) judgements.

    ``score`` is the combined standing the leaderboard orders on; ``approval`` and
    ``mean`` are the first binary and first graded scale, for display. ``ranked_by`` is
    ``score`` once it has ``min_votes`` judgements; None: needs votes.
    """

    prompt: str
    version: int
    score: ScaleStanding | None
    approval: ScaleStanding | None
    mean: ScaleStanding | None
    votes: int
    runs: int
    permalinks: tuple[str, ...]
    last_activity: datetime | None
    ranked_by: ScaleStanding | None

    @property
    def item(self) -> str:
        return item_name(self.prompt, self.version)


def standings(
    table: Judgements, runs: Sequence[RunRow], scales: Sequence[ScaleInfo], *, min_votes: int
) -> dict[VersionKey, VersionStanding]:
    """Every version that has a run or a counted judgement (compare votes left out: they
    say which answer of a pair is better, not how good either is)."""
    rated = table.rated
    known = {s.name: s for s in scales}
    approval_scale = next((s for s in scales if s.binary), None)
    graded_scale = next((s for s in scales if not s.binary), None)
    links: dict[VersionKey, list[str]] = defaultdict(list)
    run_count: Counter[VersionKey] = Counter()
    last: dict[VersionKey, datetime] = {}
    # Per version, its runs newest first (a stable sort, as of every run at once), and
    # only as many looked at as give its links: at a million ratings, 20k runs.
    runs_of: dict[VersionKey, list[RunRow]] = defaultdict(list)
    for run in runs:
        runs_of[(run.prompt, run.version)].append(run)
    for key, own in runs_of.items():
        own.sort(key=lambda r: r.created_at, reverse=True)
        run_count[key] = len(own)
        last[key] = own[0].created_at
        kept = links[key]
        for run in own:
            if len(kept) == _LINKS_KEPT:
                break
            if run.permalink and run.permalink not in kept:
                kept.append(run.permalink)

    sums: dict[VersionKey, tuple[int, float, float]] = {}
    per_scale: dict[tuple[VersionKey, str], tuple[int, float]] = {}
    rated_runs: dict[VersionKey, set[int]] = defaultdict(set)
    if len(rated):
        version_code = dense_codes(rated.prompt, rated.version)
        k = int(version_code.max()) + 1
        keys = np.zeros((k, 2), dtype=np.int64)
        keys[version_code, 0], keys[version_code, 1] = rated.prompt, rated.version
        judged = np.bincount(version_code, minlength=k)
        total = np.bincount(version_code, rated.score, k)
        # The latest rating time per version.
        newest = np.full(k, -np.inf)
        np.maximum.at(newest, version_code, rated.rated_at)
        # As Python values from here: indexing numpy arrays row by row costs more than
        # all the arithmetic above at a million ratings.
        version_keys = [(rated.prompts[p], v) for p, v in keys.tolist()]
        for key, n, total_score, newest_at in zip(
            version_keys, judged.tolist(), total.tolist(), newest.tolist(), strict=True
        ):
            sums[key] = (n, total_score, newest_at)
        for name, values in rated.scale_scores.items():
            used = ~np.isnan(values)
            used_count = np.bincount(version_code[used], minlength=k)
            value_sum = np.bincount(version_code[used], values[used], k)
            for key, n, value_total in zip(
                version_keys, used_count.tolist(), value_sum.tolist(), strict=True
            ):
                if n:
                    per_scale[(key, name)] = (n, value_total)
        # Which runs each version was rated in (one entry per distinct version and run),
        # for the versions whose own runs leave room for more links.
        wanting = [len(links.get(key, ())) < _LINKS_KEPT for key in version_keys]
        if any(wanting):
            span = int(rated.run.max()) + 1
            seen = dense_unique(version_code * span + rated.run)[0]
            seen = seen[np.asarray(wanting)[seen // span]]
            for code, run_id in zip((seen // span).tolist(), (seen % span).tolist(), strict=True):
                rated_runs[version_keys[code]].add(run_id)

    def on_scale(key: VersionKey, scale: ScaleInfo | None) -> ScaleStanding | None:
        if scale is None or (key, scale.name) not in per_scale:
            return None
        count, value_sum = per_scale[(key, scale.name)]
        span = (scale.high - scale.low) or 1.0
        return share_standing(
            scale.name, (value_sum - count * scale.low) / span, count, known.get(scale.name)
        )

    result: dict[VersionKey, VersionStanding] = {}
    for key in sorted(run_count.keys() | sums.keys()):
        count, total_score, newest_at = sums.get(key, (0, 0.0, -np.inf))
        score = share_standing(SCORE, total_score, count, None) if count else None
        if count:
            newest_time = datetime.fromtimestamp(newest_at, UTC)
            last[key] = max(last.get(key, newest_time), newest_time)
            kept = links[key]
            for run_id in sorted(rated_runs[key]):
                link = table.permalinks.get(run_id)
                if len(kept) < _LINKS_KEPT and link and link not in kept:
                    kept.append(link)
        result[key] = VersionStanding(
            prompt=key[0],
            version=key[1],
            score=score,
            approval=on_scale(key, approval_scale),
            mean=on_scale(key, graded_scale),
            votes=count,
            runs=run_count[key],
            permalinks=tuple(links.get(key, ())),
            last_activity=last.get(key),
            ranked_by=score if score is not None and score.n >= min_votes else None,
        )
    return result


@dataclass(frozen=True)
class LeaderboardRow:
    """One ranked version. ``rank`` is its place by lower bound; ``rank_ub`` is 1 + the
    number of versions surely better (lower bound above this one's upper bound)."""

    rank: int
    rank_ub: int
    standing: VersionStanding
    low: float
    high: float

    @property
    def item(self) -> str:
        return self.standing.item


def leaderboard(
    versions: Iterable[VersionStanding], archived: set[str]
) -> tuple[LeaderboardRow, ...]:
    """Ranked versions of live prompts, best lower bound first (ties: upper bound, votes)."""
    ranked: list[tuple[VersionStanding, ScaleStanding]] = [
        (s, s.ranked_by) for s in versions if s.ranked_by is not None and s.prompt not in archived
    ]
    ranked.sort(key=lambda p: (-p[1].norm_low, -p[1].norm_high, -p[1].n, p[0].prompt, p[0].version))
    bounds = [(by.norm_low, by.norm_high) for _, by in ranked]
    ubs = rank_ub(bounds) if bounds else []
    return tuple(
        LeaderboardRow(place, ub, standing, by.norm_low, by.norm_high)
        for place, ((standing, by), ub) in enumerate(zip(ranked, ubs, strict=True), start=1)
    )


def leaderboard_winner(board: Sequence[LeaderboardRow]) -> LeaderboardRow | None:
    """The top version only when its lower bound is above every other upper bound."""
    if len(board) < 2 or any(row.high >= board[0].low for row in board[1:]):
        return None
    return board[0]


@dataclass(frozen=True, slots=True)
class NeedsVotes:
    """A version below ``min_votes`` (maybe with no ratings at all), and where to vote."""

    prompt: str
    version: int
    votes: int
    permalinks: tuple[str, ...]

    @property
    def item(self) -> str:
        return item_name(self.prompt, self.version)


def needs_votes(versions: Iterable[VersionStanding], archived: set[str]) -> tuple[NeedsVotes, ...]:
    """Unranked versions of live prompts, most recently active first."""
    waiting = [s for s in versions if s.ranked_by is None and s.prompt not in archived]
    dated = sorted(
        (s for s in waiting if s.last_activity is not None),
        key=lambda s: (s.last_activity, s.prompt, s.version),
        reverse=True,
    )
    waiting = dated + [s for s in waiting if s.last_activity is None]
    return tuple(NeedsVotes(s.prompt, s.version, s.votes, s.permalinks) for s in waiting)
