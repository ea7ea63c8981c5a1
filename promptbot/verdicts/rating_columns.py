"""Ratings as columns, grouped into judgements without a Python object per rating.

The database hands over its ratings as arrays (:mod:`storage.digest_inputs`); here they
become one judgement per (candidate, reviewer) by the rule of
:mod:`promptbot.verdicts.judgements` (the mean of a reviewer's 0..1 scores on the scales
they used), both as it stands now and as it stood at the start of a period.
tests/test_digest_inputs.py checks that this gives the digest the rating rows give.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import Judgements, dense_unique, narrow

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class RatingColumns:
    """One entry per rating: its candidate, reviewer (an index into ``reviewers``, which
    is in name order), scale (an index into the scales read), score and time in
    microseconds since the epoch."""

    candidate: IntArray
    reviewer: IntArray
    scale: IntArray
    score: FloatArray
    micro: IntArray
    reviewers: tuple[str, ...]


@dataclass(frozen=True)
class Standing:
    """Per judgement: the judgement (NaN: no rating counts), the raw score on each scale
    (NaN: that scale unused) and the POSIX time of its latest rating."""

    score: FloatArray
    scale_scores: dict[str, FloatArray]
    rated_at: FloatArray


@dataclass(frozen=True)
class GroupedRatings:
    """Judgements in (candidate, reviewer) order, now; how many of each judgement's
    ratings were given in the period; and how the ``changed`` ones (rated in the period)
    stood at its start (``then``, in their order: the others stood as they stand now)."""

    candidate: IntArray
    reviewer: IntArray
    now: Standing
    in_period: IntArray
    changed: IntArray
    then: Standing


def _standing(
    ratings: RatingColumns,
    seconds: FloatArray,
    judgement: IntArray,
    counted: NDArray[np.bool_],
    infos: list[ScaleInfo],
    n: int,
) -> Standing:
    total, used = np.zeros(n), np.zeros(n)
    latest = np.full(n, np.nan)
    scale_scores = {}
    for i, info in enumerate(infos):
        chosen = counted & (ratings.scale == i)
        at = judgement[chosen]
        # One rating per candidate, reviewer and scale: each lands in its own cell.
        values, when = np.full(n, np.nan), np.full(n, np.nan)
        values[at], when[at] = ratings.score[chosen], seconds[chosen]
        del chosen, at
        scale_scores[info.name] = values
        np.fmax(latest, when, out=latest)
        del when
        span = (info.high - info.low) or 1.0
        given = ~np.isnan(values)
        # In place, where given (adding nothing elsewhere): at a million ratings each
        # temporary here is ~5 MB, in the load's peak.
        normal = values - info.low
        normal /= span
        np.add(total, normal, out=total, where=given)
        del normal
        used += given
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(used > 0, total / used, np.nan)
    return Standing(score, scale_scores, latest)


def group_ratings(ratings: RatingColumns, infos: list[ScaleInfo], start: int) -> GroupedRatings:
    """Judgements from rating columns; ``start`` is the period's start in microseconds."""
    width = max(len(ratings.reviewers), 1)
    # In 64 bits: ids and reviewers may come in 32, and their product need not fit.
    combined = ratings.candidate.astype(np.int64)
    combined *= width
    combined += ratings.reviewer
    keys, judgement = dense_unique(combined)
    del combined
    judgement = narrow(judgement)
    n = len(keys)
    earlier = ratings.micro < start
    seconds = ratings.micro / 1_000_000  # the float datetime.timestamp() gives
    now = _standing(ratings, seconds, judgement, np.ones(len(judgement), np.bool_), infos, n)
    in_period = np.bincount(judgement[~earlier], minlength=n)
    # How they stood at the start: worked out only for the judgements rated since.
    changed = np.flatnonzero(in_period)
    position = np.full(n, -1, dtype=judgement.dtype)
    position[changed] = np.arange(len(changed))
    judgement = position[judgement]
    del position
    then = _standing(ratings, seconds, judgement, earlier & (judgement >= 0), infos, len(changed))
    return GroupedRatings(
        candidate=narrow(keys // width),
        reviewer=narrow(keys % width),
        now=now,
        in_period=in_period,
        changed=changed,
        then=then,
    )


@dataclass(frozen=True)
class BeforeStart:
    """How the rows of the judged table stood at the start: as they stand now, except
    the ``changed`` rows (rated during the period), which stood as ``then`` (score NaN:
    no rating yet). Only those are kept: the whole table's worth is ~20 MB at a million
    ratings, alive until the digest is done."""

    changed: IntArray
    then: Standing

    def table(self, judged: Judgements, start: float) -> Judgements:
        """The judged table as it stood at ``start``: rows judged since are left out.
        (Compare-pair votes appended to the table stand then as now: a vote has one
        time, so its row is in or out by that time alone.)"""
        changed, then = self.changed, self.then

        def at_start(now: FloatArray, earlier: FloatArray) -> FloatArray:
            values = now.copy()
            values[changed] = earlier
            return values

        score = at_start(judged.score, then.score)
        rated_at = at_start(judged.rated_at, then.rated_at)
        kept = ~np.isnan(score) & (rated_at < start)
        return Judgements(
            **{name: getattr(judged, name)[kept] for name in _CODED},
            score=score[kept],
            rated_at=rated_at[kept],
            prompts=judged.prompts,
            models=judged.models,
            reviewers=judged.reviewers,
            scale_scores={
                name: at_start(judged.scale_scores[name], values)[kept]
                for name, values in then.scale_scores.items()
            },
            permalinks=judged.permalinks,
        )


# The columns that say what was judged by whom (the same before the start as now).
_CODED = (
    "candidate", "run", "group", "pairwise", "reviewer", "prompt", "version", "model", "slot",
    "chars",
)  # fmt: skip
