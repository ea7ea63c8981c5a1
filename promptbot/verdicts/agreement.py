"""Reviewer agreement: Krippendorff's alpha over the items at least two reviewers rated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np

Level = Literal["nominal", "ordinal", "interval", "ratio"]
ALPHA_GOOD = 0.8
ALPHA_TENTATIVE = 0.667


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
