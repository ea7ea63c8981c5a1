"""Rankings from evidence rows: absolute standings, head-to-head rankings, champions, biases.

Two kinds of evidence, kept apart:

* **Absolute standing** of each prompt version: its approval share (👍 over 👍+👎) with a
  Wilson 95% interval, and its mean on the graded scale with a t interval. The leaderboard
  orders by the interval's lower bound, so 3 votes at 100% rank below 90 votes at 90%.
* **Head-to-head**: a reviewer who rated two candidates for the same input of one run (on
  the same scale) compared them: the higher score wins, equal is a tie. Bradley-Terry
  turns those comparisons into strengths with intervals (:mod:`promptbot.verdicts.head_to_head`).

Pure functions over rows: no Slack, no SQL, no I/O. Rows carry ``output_chars`` but never
an answer's text, so nothing an answer says can change a ranking.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from promptbot.verdicts.evidence import RatingRow, RunRow, ScaleInfo
from promptbot.verdicts.head_to_head import (
    ChampionReport,
    HeadToHead,
    Ranking,
    RankingKind,
    VersionKey,
    choose_champion,
    head_to_head,
    item_name,
    rank,
)
from promptbot.verdicts.stats import (
    Agreement,
    Comparison,
    LengthBias,
    PositionBias,
    length_bias,
    mean_interval,
    position_bias,
    rank_ub,
    reviewer_agreement,
    wilson_interval,
)

__all__ = ["ChampionReport", "Ranking", "item_name"]

_LINKS_KEPT = 3


def scale_table(scales: Sequence[ScaleInfo], rows: Sequence[RatingRow]) -> dict[str, ScaleInfo]:
    """The configured scales, plus any scale the rows use that config no longer lists
    (its range read from the rows)."""
    table = {scale.name: scale for scale in scales}
    for name in sorted({row.scale for row in rows} - table.keys()):
        seen = [row.score for row in rows if row.scale == name]
        table[name] = ScaleInfo(name, min(seen), max(seen), set(seen) <= {0.0, 1.0})
    return table


def normalise(score: float, scale: ScaleInfo) -> float:
    """A score on 0..1: the scale's lowest score is 0, its highest 1."""
    span = scale.high - scale.low
    return (score - scale.low) / span if span > 0 else 0.0


@dataclass(frozen=True, slots=True)
class ScaleStanding:
    """One version's standing on one scale. ``value`` is the approval share (binary
    scale) or the mean score; ``norm_*`` are the same on 0..1, for ordering."""

    scale: str
    binary: bool
    n: int
    value: float
    low: float
    high: float
    norm_low: float
    norm_high: float


@dataclass(frozen=True)
class VersionStanding:
    """Absolute standing of one prompt version, from counted (on-time) ratings.

    ``ranked_by`` is the standing the leaderboard orders on: approval when it has at
    least ``min_votes`` votes, else the graded mean when that has; None: needs votes.
    """

    prompt: str
    version: int
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


def _scale_standing(
    scores: list[float], scale: ScaleInfo, known: ScaleStanding | None = None
) -> ScaleStanding | None:
    n = len(scores)
    if n == 0:
        return None
    if known is not None and known.scale == scale.name and known.n == n:
        return known
    if scale.binary:
        middle = (scale.low + scale.high) / 2
        approvals = sum(1 for score in scores if score > middle)
        low, high = wilson_interval(approvals, n)
        value = approvals / n
        return ScaleStanding(scale.name, True, n, value, low, high, low, high)
    value, low, high = mean_interval(scores, lo=scale.low, hi=scale.high)
    norm_low, norm_high = normalise(low, scale), normalise(high, scale)
    return ScaleStanding(scale.name, False, n, value, low, high, norm_low, norm_high)


def standings(
    rows: Sequence[RatingRow],
    runs: Sequence[RunRow],
    scales: Sequence[ScaleInfo],
    *,
    min_votes: int,
    superset: Mapping[VersionKey, VersionStanding] | None = None,
) -> dict[VersionKey, VersionStanding]:
    """Every version that has a run or a counted rating. Approval is read from the first
    binary scale, the mean from the first graded one (in ``scales`` order).

    ``superset`` may hold standings computed from these rows plus later ones (the same
    evidence at a later time): a scale with as many scores there as here has the same
    scores, so its interval is reused rather than computed again.
    """
    table = scale_table(scales, rows)
    approval_scale = next((s for s in table.values() if s.binary), None)
    graded_scale = next((s for s in table.values() if not s.binary), None)
    links: dict[VersionKey, list[str]] = defaultdict(list)
    run_count: Counter[VersionKey] = Counter()
    last: dict[VersionKey, datetime] = {}
    for run in sorted(runs, key=lambda r: r.created_at, reverse=True):
        key = (run.prompt, run.version)
        run_count[key] += 1
        last.setdefault(key, run.created_at)
        if run.permalink and run.permalink not in links[key] and len(links[key]) < _LINKS_KEPT:
            links[key].append(run.permalink)
    rated: dict[VersionKey, list[RatingRow]] = defaultdict(list)
    for row in rows:
        rated[(row.prompt, row.version)].append(row)

    result: dict[VersionKey, VersionStanding] = {}
    for key in sorted(run_count.keys() | rated.keys()):
        mine = rated.get(key, [])
        later = superset.get(key) if superset is not None else None
        approval = mean = None
        if approval_scale is not None:
            scores = [r.score for r in mine if r.scale == approval_scale.name]
            known = later.approval if later is not None else None
            approval = _scale_standing(scores, approval_scale, known)
        if graded_scale is not None:
            scores = [r.score for r in mine if r.scale == graded_scale.name]
            known = later.mean if later is not None else None
            mean = _scale_standing(scores, graded_scale, known)
        ranked_by = next((s for s in (approval, mean) if s is not None and s.n >= min_votes), None)
        if mine:
            newest = max(r.rated_at for r in mine)
            last[key] = max(last.get(key, newest), newest)
            kept = links[key]
            for row in mine:
                if len(kept) >= _LINKS_KEPT:
                    break
                if row.permalink and row.permalink not in kept:
                    kept.append(row.permalink)
        result[key] = VersionStanding(
            prompt=key[0],
            version=key[1],
            approval=approval,
            mean=mean,
            votes=len(mine),
            runs=run_count[key],
            permalinks=tuple(links.get(key, ())),
            last_activity=last.get(key),
            ranked_by=ranked_by,
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


@dataclass(frozen=True)
class Biases:
    """Checks on the reviewers: position bias (by display slot), length bias (output
    characters against the normalised score) and agreement (the scale with most overlap)."""

    position: PositionBias
    length: LengthBias
    agreement: Agreement
    agreement_scale: str | None
    agreement_by_scale: tuple[tuple[str, Agreement], ...]

    @property
    def plain_words(self) -> tuple[str, ...]:
        return (self.position.plain_words, self.length.plain_words, self.agreement.plain_words)


def bias_checks(rows: Sequence[RatingRow], scales: Sequence[ScaleInfo]) -> Biases:
    table = scale_table(scales, rows)
    low = {name: s.low for name, s in table.items()}
    # A scale with one score has no span: every score on it normalises to 0.
    span = {name: (s.high - s.low) or 1.0 for name, s in table.items()}
    scores = [(r.score - low[r.scale]) / span[r.scale] for r in rows]
    slots = list(zip([r.slot for r in rows], scores, strict=True))
    lengths = list(zip([r.output_chars for r in rows], scores, strict=True))
    by_scale = {
        name: [(r.user_id, str(r.candidate_id), r.score) for r in rows if r.scale == name]
        for name in table
    }
    agreements = tuple(
        (name, reviewer_agreement(by_scale[name], "nominal" if info.binary else "ordinal"))
        for name, info in table.items()
        if by_scale[name]
    )
    if agreements:
        scale, agreement = max(agreements, key=lambda pair: pair[1].n_items)
    else:
        scale, agreement = None, reviewer_agreement([])
    return Biases(position_bias(slots), length_bias(lengths), agreement, scale, agreements)


@dataclass(frozen=True)
class Rankings:
    """Everything the evidence says so far. Archived prompts are left off the leaderboard,
    the champions and the prompt rankings; their votes still count towards models."""

    standings: tuple[VersionStanding, ...]
    leaderboard: tuple[LeaderboardRow, ...]
    models: Ranking
    prompts: Ranking
    versions_by_prompt: tuple[Ranking, ...]
    models_by_prompt: tuple[Ranking, ...]
    champions: tuple[ChampionReport, ...]
    needs_votes: tuple[NeedsVotes, ...]
    biases: Biases
    min_votes: int

    @property
    def all_rankings(self) -> tuple[Ranking, ...]:
        return (self.models, self.prompts, *self.versions_by_prompt, *self.models_by_prompt)

    def versions_of(self, prompt: str) -> Ranking | None:
        return next((r for r in self.versions_by_prompt if r.prompt == prompt), None)


def compute_rankings(
    rows: Sequence[RatingRow],
    runs: Sequence[RunRow],
    scales: Sequence[ScaleInfo],
    archived: set[str],
    *,
    min_votes: int,
    rounds: int,
    seed: int,
    found: HeadToHead | None = None,
) -> Rankings:
    """Rankings from counted ratings only: leave late ratings out before calling.
    ``found`` is ``head_to_head(rows, archived)`` when the caller already has it."""
    table = standings(rows, runs, scales, min_votes=min_votes)
    if found is None:
        found = head_to_head(rows, archived)

    def fit(kind: RankingKind, prompt: str | None, tally: Counter[Comparison]) -> Ranking:
        return rank(kind, prompt, tally, min_votes=min_votes, rounds=rounds, seed=seed)

    versions = tuple(fit("versions", p, t) for p, t in sorted(found.versions.items()) if t)
    by_prompt = tuple(
        fit("models_for_prompt", p, t) for p, t in sorted(found.models_by_prompt.items()) if t
    )
    return Rankings(
        standings=tuple(table.values()),
        leaderboard=leaderboard(table.values(), archived),
        models=fit("models", None, found.models),
        prompts=fit("prompts", None, found.prompts),
        versions_by_prompt=versions,
        models_by_prompt=by_prompt,
        champions=champions(table.values(), versions, archived),
        needs_votes=needs_votes(table.values(), archived),
        biases=bias_checks(rows, scales),
        min_votes=min_votes,
    )


def champions(
    versions: Iterable[VersionStanding], rankings: Iterable[Ranking], archived: set[str]
) -> tuple[ChampionReport, ...]:
    """One report per live prompt, the most recently active prompt first."""
    by_prompt: dict[str, list[VersionStanding]] = defaultdict(list)
    for standing in versions:
        if standing.prompt not in archived:
            by_prompt[standing.prompt].append(standing)
    ranking_of = {r.prompt: r for r in rankings}

    def recency(prompt: str) -> tuple[float, str]:
        times = [s.last_activity.timestamp() for s in by_prompt[prompt] if s.last_activity]
        return (-max(times, default=float("-inf")), prompt)

    return tuple(
        choose_champion(prompt, by_prompt[prompt], ranking_of.get(prompt))
        for prompt in sorted(by_prompt, key=recency)
    )
