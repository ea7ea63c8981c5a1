"""Reviewer agreement: Krippendorff's alpha over the items at least two reviewers rated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import krippendorff
import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import dense_unique

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
    latest = {(reviewer, item): score for reviewer, item, score in ratings}
    reviewers = sorted({reviewer for reviewer, _ in latest})
    items = sorted({item for _, item in latest})
    row = {reviewer: i for i, reviewer in enumerate(reviewers)}
    column = {item: j for j, item in enumerate(items)}
    return agreement_of(
        np.array([row[r] for r, _ in latest], dtype=np.int64),
        np.array([column[i] for _, i in latest], dtype=np.int64),
        np.array(list(latest.values()), dtype=np.float64),
        level,
    )


def agreement_of(
    reviewer: NDArray[np.int64], item: NDArray[np.int64], score: NDArray[np.float64], level: Level
) -> Agreement:
    """Krippendorff's alpha from codes: one score per (reviewer, item)."""
    if level not in ("nominal", "ordinal", "interval", "ratio"):
        raise ValueError(f"unknown level of measurement: {level!r}")
    raters = np.bincount(item) if len(item) else np.zeros(0, dtype=np.int64)
    shared = raters[item] >= 2 if len(item) else np.zeros(0, dtype=np.bool_)
    reviewer, item, score = reviewer[shared], item[shared], score[shared]
    rows = dense_unique(reviewer)[0]
    columns, column_of = np.unique(item, return_inverse=True)
    n_items, n_reviewers = len(columns), len(rows)

    def result(alpha: float | None, words: str) -> Agreement:
        return Agreement(alpha, n_items, n_reviewers, level, words)

    if n_items < 2:
        return result(
            None, "Not enough overlap to measure agreement yet: two items need two reviewers each."
        )
    if score.min() == score.max():
        return result(None, "Agreement cannot be measured: every shared rating is the same.")

    # Krippendorff's alpha needs only how often each value was given to each item, so
    # the counts go in rather than a reviewers × items matrix (mostly empty).
    domain, value_of = np.unique(score, return_inverse=True)
    given = np.zeros((n_items, len(domain)))
    np.add.at(given, (column_of.reshape(-1), value_of.reshape(-1)), 1.0)
    alpha = float(
        krippendorff.alpha(
            value_counts=given, value_domain=domain.tolist(), level_of_measurement=level
        )
    )
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
