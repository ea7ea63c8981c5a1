"""Reviewer agreement: Krippendorff's alpha over the items at least two reviewers rated.

Alpha is computed from value counts (items × values) by the krippendorff package's
formula, with its coincidence matrix as one matrix product: the package builds an
items × values × values array for it, ~60 MB at 100k answers on a 5-star scale and the
peak of a million-rating digest. tests/test_agreement.py checks it against the package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

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
    cell = column_of.reshape(-1) * len(domain) + value_of.reshape(-1)
    given = np.bincount(cell, minlength=n_items * len(domain)).astype(np.float64)
    given = given.reshape(n_items, len(domain))
    alpha = alpha_from_counts(given, domain, level)
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


def alpha_from_counts(
    counts: NDArray[np.float64], domain: NDArray[np.float64], level: Level
) -> float:
    """Krippendorff's alpha from how often each value of ``domain`` (sorted) was given to
    each item (``counts``, items × values); NaN when nothing varies."""
    pairable = np.maximum(counts.sum(axis=1), 2)
    weighted = counts / (pairable - 1)[:, np.newaxis]
    # Coincidences: per item, every ordered pair of its values from different reviewers.
    observed = weighted.T @ counts - np.diag(weighted.sum(axis=0))
    n_v = observed.sum(axis=0)
    expected = (np.outer(n_v, n_v) - np.diag(n_v)) / (n_v.sum() - 1)
    distance = _distances(domain, n_v, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(1 - (observed * distance).sum() / (expected * distance).sum())


def _distances(
    domain: NDArray[np.float64], n_v: NDArray[np.float64], level: Level
) -> NDArray[np.float64]:
    """The squared distance between every two values, by level of measurement."""
    v1, v2 = domain[:, np.newaxis], domain[np.newaxis, :]
    if level == "nominal":
        return np.asarray(v1 != v2, dtype=np.float64)
    if level == "interval":
        return np.asarray((v1 - v2) ** 2, dtype=np.float64)
    if level == "ratio":
        total = v1 + v2
        ratio = np.divide(v1 - v2, total, out=np.zeros(total.shape), where=total != 0)
        return np.asarray(ratio**2, dtype=np.float64)
    # Ordinal: the values given from one rank to the other, less half of each end's.
    index = np.arange(len(domain))
    low, high = np.minimum(index[:, np.newaxis], index), np.maximum(index[:, np.newaxis], index)
    cumulative = np.concatenate([[0.0], np.cumsum(n_v)])
    between = cumulative[high + 1] - cumulative[low]
    return np.asarray((between - (n_v[low] + n_v[high]) / 2) ** 2, dtype=np.float64)
