"""Intervals for a version's standing, and what they allow us to say.

Every score is read on one 0..1 footing (see :mod:`promptbot.verdicts.judgements`), and a
version's standing is the mean of its judgements with a Wilson 95% interval in which the
mean plays the part of the share. For 👍/👎 that is exactly Wilson's interval for the
approval share. For stars it is conservative on purpose: a score in 0..1 whose mean is p
has a variance of at most p(1 - p), the variance of a 👍/👎 vote with that share, so the
interval is never narrower than the votes justify, and it never collapses: five votes of
5 stars give [0.57, 1], not [1, 1].
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

Z_95 = 1.959963984540054


def wilson_interval(successes: float, n: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    ``successes`` may be fractional (the sum of 0..1 scores). ``n == 0`` gives
    ``(0.0, 1.0)``: with no votes, any rate is possible.
    """
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    z2 = z * z
    denominator = 1.0 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half_width = z / denominator * math.sqrt(p * (1.0 - p) / n + z2 / (4 * n * n))
    return (max(0.0, centre - half_width), min(1.0, centre + half_width))


def rank_ub(
    intervals: Sequence[tuple[float, float]], groups: Sequence[int] | None = None
) -> list[int]:
    """Rank (UB) as Chatbot Arena computes it, for (low, high) intervals: 1 + the number of
    entries whose lower bound is above this entry's upper bound (that are surely better).

    With ``groups`` (connected components of the comparison graph), entries in another
    group are never counted: without a chain of comparisons nothing is sure.
    """
    bounds = np.asarray(intervals, dtype=np.float64).reshape(-1, 2)
    low, high = bounds[:, 0], bounds[:, 1]
    surely_better = low[np.newaxis, :] > high[:, np.newaxis]
    if groups is not None:
        labels = np.asarray(groups)
        surely_better &= labels[np.newaxis, :] == labels[:, np.newaxis]
    return [1 + int(count) for count in surely_better.sum(axis=1)]


def components(k: int, lo: IntArray, hi: IntArray) -> IntArray:
    """The connected component of each of ``k`` items linked by the pairs (lo[i], hi[i]),
    labelled by its smallest item (union-find: a few thousand pairs at most, so plain
    Python is quicker than loading a graph library)."""
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([root(i) for i in range(k)], dtype=np.int64)


def interval_points(samples: Sequence[FloatArray]) -> list[FloatArray]:
    """The 2.5%, 50% and 97.5% points of each bootstrap sample's columns, (3, k): those of samples
    of one shape in one call (np.quantile costs more per call than the arithmetic on a
    200 × 8 sample, and a digest has a hundred), each column's the same as alone."""
    found: list[FloatArray] = [np.zeros(0)] * len(samples)
    by_shape: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, sample in enumerate(samples):
        by_shape[sample.shape].append(i)
    for members in by_shape.values():
        stacked = np.stack([samples[i] for i in members])
        points = np.quantile(stacked, [0.025, 0.5, 0.975], axis=1)
        for j, i in enumerate(members):
            found[i] = points[:, j]
    return found
