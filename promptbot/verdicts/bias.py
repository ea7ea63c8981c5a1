"""Checks on the reviewers rather than the candidates: position bias, length bias, agreement.

Each result carries ``plain_words``, one sentence a reviewer can act on. Thresholds are
deliberately conservative: a bias is only called out when it is both statistically clear
and large enough to change a ranking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
from scipy import stats as scipy_stats

Level = Literal["nominal", "ordinal", "interval", "ratio"]

MIN_ROWS_PER_SLOT = 10
"""A slot needs this many ratings to take part in the position-bias test."""
MIN_SLOT_SPREAD = 0.10
"""Position bias matters when the best and worst slot means differ by this much (0..1 scale)."""
MIN_LENGTH_ROWS = 10
MIN_LENGTH_RHO = 0.3
SIGNIFICANCE = 0.05
ALPHA_GOOD = 0.8
ALPHA_TENTATIVE = 0.667


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def slot_label(slot: int) -> str:
    """Display name of a slot: 0 → "A", 1 → "B", …"""
    return chr(ord("A") + slot) if 0 <= slot < 26 else f"#{slot + 1}"


@dataclass(frozen=True, slots=True)
class SlotScore:
    """Mean normalised score (the approval rate, for 👍/👎) of answers shown in one slot."""

    slot: int
    label: str
    n: int
    mean_score: float


@dataclass(frozen=True)
class PositionBias:
    """Do answers score better just for being shown first (or last)?

    ``spread`` is the best minus the worst tested slot mean, on the 0..1 scale; ``p_value``
    is from a Kruskal-Wallis test across slots with at least ``MIN_ROWS_PER_SLOT`` ratings.
    """

    slots: tuple[SlotScore, ...]
    p_value: float | None
    spread: float | None
    matters: bool
    plain_words: str


def position_bias(rows: Sequence[tuple[int, float]]) -> PositionBias:
    """Rows are (display slot, 0=A, 1=B, …; score normalised to 0..1)."""
    by_slot: dict[int, list[float]] = {}
    for slot, score in rows:
        if slot < 0:
            raise ValueError(f"display slots start at 0, got {slot}")
        by_slot.setdefault(slot, []).append(score)
    slots = tuple(
        SlotScore(slot, slot_label(slot), len(scores), float(np.mean(scores)))
        for slot, scores in sorted(by_slot.items())
    )
    tested = [s for s in slots if s.n >= MIN_ROWS_PER_SLOT]
    if len(tested) < 2:
        words = (
            "Not enough ratings to judge position bias yet "
            f"(it needs {MIN_ROWS_PER_SLOT} in each of at least two slots)."
        )
        return PositionBias(slots, None, None, False, words)

    groups = [by_slot[s.slot] for s in tested]
    if len({score for group in groups for score in group}) < 2:
        p = 1.0  # every score identical: no difference to test (scipy would refuse)
    else:
        p = float(scipy_stats.kruskal(*groups).pvalue)
    best = max(tested, key=lambda s: s.mean_score)
    worst = min(tested, key=lambda s: s.mean_score)
    spread = best.mean_score - worst.mean_score
    points = round(spread * 100)
    matters = p < SIGNIFICANCE and spread >= MIN_SLOT_SPREAD
    if matters:
        words = (
            f"Position bias matters: answers in slot {best.label} score {points} points "
            f"higher than in slot {worst.label} ({_p_text(p)})."
        )
    else:
        words = (
            f"No meaningful position bias: the slots differ by at most {points} points "
            f"({_p_text(p)})."
        )
    return PositionBias(slots, p, spread, matters, words)


@dataclass(frozen=True)
class LengthBias:
    """Do longer (or shorter) answers score better? Spearman rank correlation."""

    rho: float | None
    p_value: float | None
    n: int
    matters: bool
    plain_words: str


def length_bias(rows: Sequence[tuple[int, float]]) -> LengthBias:
    """Rows are (output length in characters, score)."""
    n = len(rows)
    if n < MIN_LENGTH_ROWS:
        words = f"Not enough ratings to judge length bias yet ({n} of {MIN_LENGTH_ROWS} needed)."
        return LengthBias(None, None, n, False, words)
    lengths = np.array([length for length, _ in rows], dtype=np.float64)
    scores = np.array([score for _, score in rows], dtype=np.float64)
    if np.ptp(lengths) == 0 or np.ptp(scores) == 0:
        # Spearman is undefined (scipy warns and returns NaN) when either side is constant.
        words = (
            f"No length bias can be measured: every length or every score is the same (n = {n})."
        )
        return LengthBias(None, None, n, False, words)
    result = scipy_stats.spearmanr(lengths, scores)
    rho, p = float(result.statistic), float(result.pvalue)
    matters = abs(rho) >= MIN_LENGTH_RHO and p < SIGNIFICANCE
    figures = f"Spearman ρ = {rho:.2f}, {_p_text(p)}, n = {n}"
    if matters:
        direction = "longer" if rho > 0 else "shorter"
        words = f"Length bias matters: {direction} answers score higher ({figures})."
    else:
        words = f"No meaningful length bias ({figures})."
    return LengthBias(rho, p, n, matters, words)


@dataclass(frozen=True)
class Agreement:
    """Krippendorff's alpha over items that at least two reviewers rated."""

    alpha: float | None
    n_items: int
    n_reviewers: int
    level: Level
    plain_words: str


def reviewer_agreement(
    ratings: Sequence[tuple[str, str, float]], level: Level = "ordinal"
) -> Agreement:
    """Ratings are (reviewer, item, score). A reviewer's later rating of an item replaces
    an earlier one (they changed their emoji)."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"unknown level of measurement: {level!r}")
    latest = {(reviewer, item): score for reviewer, item, score in ratings}
    raters: dict[str, int] = {}
    for _, item in latest:
        raters[item] = raters.get(item, 0) + 1
    shared = sorted(item for item, count in raters.items() if count >= 2)
    cells = [(key, score) for key, score in latest.items() if raters[key[1]] >= 2]
    reviewers = sorted({reviewer for (reviewer, _), _ in cells})
    n_items, n_reviewers = len(shared), len(reviewers)

    def result(alpha: float | None, words: str) -> Agreement:
        return Agreement(alpha, n_items, n_reviewers, level, words)

    if n_items < 2:
        return result(
            None, "Not enough overlap to measure agreement yet: two items need two reviewers each."
        )
    if len({score for _, score in cells}) < 2:
        return result(None, "Agreement cannot be measured: every shared rating is the same.")

    row = {reviewer: i for i, reviewer in enumerate(reviewers)}
    column = {item: j for j, item in enumerate(shared)}
    matrix = np.full((n_reviewers, n_items), np.nan)
    for (reviewer, item), score in cells:
        matrix[row[reviewer], column[item]] = score
    alpha = float(krippendorff.alpha(reliability_data=matrix, level_of_measurement=level))
    if math.isnan(alpha):
        return result(None, "Agreement cannot be measured from these ratings.")

    counts = f"α = {alpha:.2f} over {n_items} items and {n_reviewers} reviewers"
    if alpha >= ALPHA_GOOD:
        words = f"Reviewers agree well ({counts})."
    elif alpha >= ALPHA_TENTATIVE:
        words = f"Reviewers agree only tentatively ({counts}): treat close rankings with care."
    else:
        words = f"Reviewers agree little ({counts}): rankings reflect taste as much as quality."
    return result(alpha, words)
