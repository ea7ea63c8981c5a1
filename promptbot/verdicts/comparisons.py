"""Comparisons inside groups: every pair of distinct items one reviewer judged in one
group (an input of a run, a compare pair), and who won. Pure numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import Codes, narrow
from promptbot.verdicts.judgements import dense_codes as _codes

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
Outcomes = NDArray[np.floating[Any]]  # 0, 0.5 or 1: exact in 32 bits
# Judgements closer than this are equal: a tie (means of 0..1 scores are not exact).
_EQUAL = 1e-9


def compare_within(
    group: IntArray, item: IntArray, score: FloatArray, cluster: IntArray
) -> tuple[Codes, Codes, Outcomes, Codes]:
    """Every pair of distinct items inside each group, with the outcome for the first.

    An item judged more than once in a group (two candidates of one version) counts with
    its mean judgement. Returns (first item, second item, outcome, cluster) arrays.
    """
    if not len(group):
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), empty
    # Cells are coded in sorted (group, item) order, so they come out grouped and in
    # item order inside each group without a sort.
    cell = _codes(group, item)
    n_cells = int(cell.max()) + 1
    mean = np.bincount(cell, score, n_cells) / np.bincount(cell, minlength=n_cells)
    g = np.zeros(n_cells, dtype=np.int64)
    it = np.zeros(n_cells, dtype=narrow(item).dtype)
    cl = np.zeros(n_cells, dtype=narrow(cluster).dtype)
    g[cell], it[cell], cl[cell] = group, item, cluster
    del cell
    i, j = _pairs_within(g)
    del g
    # In place where it can be: at a million ratings each of these is ~10 MB.
    diff = mean[i]
    diff -= mean[j]
    del mean
    # 0, 0.5 and 1 are exact in 32 bits: the models' outcomes stay to the end of a digest.
    outcome = np.full(len(diff), 0.5, dtype=np.float32)
    outcome[diff > _EQUAL] = 1.0
    outcome[diff < -_EQUAL] = 0.0
    del diff
    # Items and clusters in 32 bits when they fit: the models' comparisons stay with
    # their ranking to the end of a digest (~1.3M of them at a million ratings).
    it, cl = narrow(it), narrow(cl)
    return it[i], it[j], outcome, cl[i]


def _pairs_within(group: IntArray) -> tuple[NDArray[np.int32], NDArray[np.int32]]:
    """Every pair of positions (i < j) in the same run of equal ``group`` values, in
    order of i, then j: the comparisons come out in the order of their groups, so the
    models' can be split by prompt without a sort. 32-bit positions: at a million
    ratings these are ~1.3M pairs."""
    n = len(group)
    starts = np.flatnonzero(np.concatenate([[True], group[1:] != group[:-1]]))
    sizes = np.diff(np.concatenate([starts, [n]]))
    # How many positions after each one are in its group.
    after = (np.repeat(starts + sizes, sizes) - np.arange(1, n + 1)).astype(np.int32)
    first = np.repeat(np.arange(n, dtype=np.int32), after)
    # The k-th partner of position i (k = 0, 1, ...) is i + 1 + k: its place in the
    # list less the place of i's first partner, plus i + 1.
    offset = np.cumsum(after, dtype=np.int64) - after
    if len(first) >= 2**31:
        raise ValueError(f"too many comparisons to number in 32 bits: {len(first)}")
    second = np.arange(len(first), dtype=np.int32)
    second -= np.repeat(offset.astype(np.int32), after)
    second += first
    second += 1
    return first, second
