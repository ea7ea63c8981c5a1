"""Honest statistics behind the rankings: intervals, Bradley-Terry strengths, separability.

Pure functions over plain values: no Slack, no SQL, no I/O. The bias and agreement checks
live in :mod:`promptbot.verdicts.bias` and are re-exported here, so callers need one import.

Reading a Bradley-Terry result: strengths are natural-log odds, centred on 0. A gap of 1.0
between two entries means the first wins about e (2.7) times as often as the second. Two
entries whose 95% intervals overlap are "not yet separable": the data cannot tell them apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

import choix
import numpy as np
from numpy.typing import NDArray
from scipy import stats as scipy_stats
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from promptbot.verdicts.bias import (
    Agreement,
    LengthBias,
    PositionBias,
    SlotScore,
    length_bias,
    position_bias,
    reviewer_agreement,
)

__all__ = [
    "Agreement",
    "BTEntry",
    "BTResult",
    "Comparison",
    "LengthBias",
    "PositionBias",
    "SlotScore",
    "bradley_terry",
    "comparisons_from_scores",
    "length_bias",
    "mean_interval",
    "position_bias",
    "rank_ub",
    "reviewer_agreement",
    "separable",
    "wilson_interval",
]

FloatArray = NDArray[np.float64]
IndexArray = NDArray[np.intp]

# choix's regularisation: every pair of items gets a small virtual transition rate, so
# perfect separation (10-0) and items in disconnected groups give finite strengths.
_ALPHA = 0.01
# Pseudo-count added to both decisive outcomes of every observed pair when resampling.
# Without it the bootstrap of a 1-0 record is 1-0 every round: a zero-width interval and
# a "winner" from one vote. With it (the Jeffreys prior, Beta(0.5, 0.5)) a 1-0 record
# resamples as 0-1 a quarter of the time, while 5-0 or 50-20 records are barely touched.
_PSEUDO_COUNT = 0.5
_TOL = 1e-8  # choix's default
_MAX_ITER = 10_000


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    ``n == 0`` gives ``(0.0, 1.0)``: with no votes, any rate is possible.
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


def mean_interval(
    scores: Sequence[float], confidence: float = 0.95, *, lo: float, hi: float
) -> tuple[float, float, float]:
    """Mean with a Student's t confidence interval, clipped to the scale ``[lo, hi]``.

    Returns ``(mean, low, high)``. With fewer than two scores there is no spread to go on,
    so the interval is the whole scale; with no scores the mean is NaN. When every score
    is the same the interval has zero width: for 👍/👎 data use :func:`wilson_interval`.
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if lo > hi:
        raise ValueError(f"lo must not exceed hi, got {lo} > {hi}")
    n = len(scores)
    if n == 0:
        return (math.nan, lo, hi)
    values = np.asarray(scores, dtype=np.float64)
    mean = float(values.mean())
    if n < 2:
        return (mean, lo, hi)
    standard_error = float(values.std(ddof=1)) / math.sqrt(n)
    t_critical = float(scipy_stats.t.ppf((1.0 + confidence) / 2.0, df=n - 1))
    half_width = t_critical * standard_error
    return (mean, max(lo, mean - half_width), min(hi, mean + half_width))


@dataclass(frozen=True, slots=True)
class Comparison:
    """One head-to-head result: ``outcome`` is 1.0 if ``a`` won, 0.0 if ``b`` won, 0.5 a tie."""

    a: str
    b: str
    outcome: float

    def __post_init__(self) -> None:
        if self.a == self.b:
            raise ValueError(f"an item cannot be compared with itself: {self.a!r}")
        if self.outcome not in (0.0, 0.5, 1.0):
            raise ValueError(f"outcome must be 0.0, 0.5 or 1.0, got {self.outcome}")


def comparisons_from_scores(scores: Mapping[str, float]) -> list[Comparison]:
    """Every pair of items one reviewer scored on the same input: higher wins, equal ties."""
    return [
        Comparison(a, b, 1.0 if score_a > score_b else 0.0 if score_a < score_b else 0.5)
        for (a, score_a), (b, score_b) in combinations(scores.items(), 2)
    ]


@dataclass(frozen=True, slots=True)
class BTEntry:
    """One item's Bradley-Terry strength with its bootstrap 95% interval.

    ``wins`` counts decisive wins only; ``ties`` is counted separately (each worth half).
    """

    item: str
    strength: float
    low: float
    high: float
    rank_ub: int
    n_comparisons: int
    wins: int
    ties: int


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


def separable(x: BTEntry, y: BTEntry) -> bool:
    """True when the two 95% intervals do not overlap, so one is really ahead."""
    return x.low > y.high or y.low > x.high


@dataclass(frozen=True)
class BTResult:
    """Entries best first, and every pair of items the data cannot yet tell apart."""

    entries: tuple[BTEntry, ...]
    not_separable: tuple[tuple[str, str], ...]
    rounds: int
    seed: int

    @property
    def winner(self) -> str | None:
        """The top item, only if it is separable from every other item; else None."""
        if len(self.entries) < 2:
            return None
        top = self.entries[0].item
        if any(top in pair for pair in self.not_separable):
            return None
        return top


@dataclass(frozen=True)
class _PairTable:
    """Comparisons aggregated once: per observed pair (lo < hi), counts of each outcome."""

    items: list[str]
    lo: IndexArray
    hi: IndexArray
    counts: FloatArray  # shape (pairs, 3): lo won, hi won, tie

    def matrices(self, counts: FloatArray) -> FloatArray:
        """Win matrices ``w[..., i, j]`` (times i beat j) for counts of shape (..., pairs, 3).

        A tie adds half a win to each side: two ties weigh exactly as much as one win each
        way, which is what "ties count half" means.
        """
        k = len(self.items)
        wins = np.zeros((*counts.shape[:-2], k, k))
        half_ties = 0.5 * counts[..., 2]
        wins[..., self.lo, self.hi] = counts[..., 0] + half_ties
        wins[..., self.hi, self.lo] = counts[..., 1] + half_ties
        return wins


def _tabulate(comparisons: Sequence[Comparison]) -> _PairTable:
    items = sorted({c.a for c in comparisons} | {c.b for c in comparisons})
    index = {item: i for i, item in enumerate(items)}
    n = len(comparisons)
    a = np.fromiter((index[c.a] for c in comparisons), dtype=np.intp, count=n)
    b = np.fromiter((index[c.b] for c in comparisons), dtype=np.intp, count=n)
    outcome = np.fromiter((c.outcome for c in comparisons), dtype=np.float64, count=n)
    swap = a > b
    lo_score = np.where(swap, 1.0 - outcome, outcome)
    kind = np.where(lo_score == 1.0, 0, np.where(lo_score == 0.0, 1, 2))
    pair_code = np.minimum(a, b) * len(items) + np.maximum(a, b)
    pairs, pair_index = np.unique(pair_code, return_inverse=True)
    counts = np.zeros((len(pairs), 3))
    np.add.at(counts, (pair_index, kind), 1.0)
    return _PairTable(items, pairs // len(items), pairs % len(items), counts)


def _fit(wins: FloatArray) -> FloatArray:
    """Centred log-strengths fitted by choix's I-LSR on a (weighted) win matrix."""
    return choix.ilsr_pairwise_dense(wins, alpha=_ALPHA, max_iter=_MAX_ITER, tol=_TOL)


# Why the bootstrap does not call choix once per round: a choix call costs ~50 µs of
# Python and LAPACK overhead per I-LSR iteration whatever the matrix size, so 200 refits
# of a 5-item group took ~60 ms, ~6 s for the digest's hundred groups. `_refit_stack` is
# choix.lsr_pairwise_dense's update, line for line, run on all rounds at once with numpy's
# stacked solver (~1 ms a group). tests/test_stats.py checks it against choix's output.
def _lsr_step(wins: FloatArray, params: FloatArray) -> FloatArray:
    """One I-LSR update for a stack of win matrices (shape (rounds, k, k))."""
    k = wins.shape[-1]
    weights = np.exp(params - params.mean(axis=-1, keepdims=True))
    weights *= k / weights.sum(axis=-1, keepdims=True)
    # Rate of the chain from i to j: alpha + (times j beat i) / (w_i + w_j).
    rates = _ALPHA + np.swapaxes(wins, -1, -2) / (weights[..., :, None] + weights[..., None, :])
    diagonal = np.arange(k)
    rates[..., diagonal, diagonal] -= rates.sum(axis=-1)
    # Stationary distribution: pi @ generator = 0, with the last equation replaced by
    # sum(pi) = 1 (unique, since alpha > 0 links every pair).
    system = np.swapaxes(rates, -1, -2).copy()
    system[..., -1, :] = 1.0
    target = np.zeros((*wins.shape[:-1], 1))
    target[..., -1, 0] = 1.0
    log_pi = np.log(np.linalg.solve(system, target)[..., 0])
    result: FloatArray = log_pi - log_pi.mean(axis=-1, keepdims=True)
    return result


def _refit_stack(wins: FloatArray, initial: FloatArray) -> FloatArray:
    """choix.ilsr_pairwise_dense for every matrix of the stack, started from ``initial``."""
    params = np.broadcast_to(initial, wins.shape[:-1]).copy()
    active = np.arange(len(params))
    for _ in range(_MAX_ITER):
        updated = _lsr_step(wins[active], params[active])
        # choix's NormOfDifferenceTest: stop once the L1 change is at most tol per item.
        done = np.abs(updated - params[active]).sum(axis=-1) <= _TOL * wins.shape[-1]
        params[active] = updated
        active = active[~done]
        if active.size == 0:
            return params
    raise RuntimeError(f"Bradley-Terry refits did not converge in {_MAX_ITER} iterations")


def _bootstrap(
    table: _PairTable, point: FloatArray, rounds: int, seed: int
) -> tuple[FloatArray, FloatArray]:
    """Percentile 95% intervals from refits on multinomially resampled outcome counts."""
    rng = np.random.default_rng(seed)
    weights = table.counts + np.array([_PSEUDO_COUNT, _PSEUDO_COUNT, 0.0])
    probabilities = (weights / weights.sum()).ravel()
    total = int(table.counts.sum())
    draws = rng.multinomial(total, probabilities, size=rounds).astype(np.float64)
    resampled = table.matrices(draws.reshape(rounds, -1, 3))
    samples = _refit_stack(resampled, point)
    low, high = np.quantile(samples, [0.025, 0.975], axis=0)
    return low, high


def _components(table: _PairTable) -> IndexArray:
    k = len(table.items)
    ones = np.ones(len(table.lo))
    graph = coo_matrix((ones, (table.lo, table.hi)), shape=(k, k))
    _, labels = connected_components(graph, directed=False)
    return np.asarray(labels, dtype=np.intp)


def bradley_terry(
    comparisons: Sequence[Comparison],
    *,
    rounds: int = 200,
    seed: int = 0,
    min_comparisons: int = 0,
) -> BTResult:
    """Bradley-Terry strengths with bootstrap intervals, Rank (UB) and separability.

    The same comparisons (in any order) and seed give the same result. An item with fewer
    than ``min_comparisons`` comparisons gets the widest interval of the set, so it is
    never separable from anything and no winner is declared while it is in the running.
    Items in groups that were never compared with each other are never separable either.
    """
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    if not comparisons:
        return BTResult(entries=(), not_separable=(), rounds=rounds, seed=seed)
    table = _tabulate(comparisons)
    k = len(table.items)
    point = _fit(table.matrices(table.counts))
    low, high = _bootstrap(table, point, rounds, seed)

    per_pair = table.counts.sum(axis=1)
    n_comparisons = np.bincount(table.lo, per_pair, k) + np.bincount(table.hi, per_pair, k)
    wins = np.bincount(table.lo, table.counts[:, 0], k) + np.bincount(
        table.hi, table.counts[:, 1], k
    )
    ties = np.bincount(table.lo, table.counts[:, 2], k) + np.bincount(
        table.hi, table.counts[:, 2], k
    )
    too_few = n_comparisons < max(min_comparisons, 1)
    low[too_few] = min(low.min(), point.min())
    high[too_few] = max(high.max(), point.max())

    components = _components(table)
    ranks = rank_ub(list(zip(low.tolist(), high.tolist(), strict=True)), components.tolist())
    order = np.lexsort((np.arange(k), -point))
    entries = tuple(
        BTEntry(
            item=table.items[i],
            strength=float(point[i]),
            low=float(low[i]),
            high=float(high[i]),
            rank_ub=ranks[i],
            n_comparisons=int(n_comparisons[i]),
            wins=int(wins[i]),
            ties=int(ties[i]),
        )
        for i in order
    )

    labels = components[order]
    low_s, high_s = low[order], high[order]
    overlap = (low_s[:, np.newaxis] <= high_s[np.newaxis, :]) & (
        low_s[np.newaxis, :] <= high_s[:, np.newaxis]
    )
    unknown = overlap | (labels[:, np.newaxis] != labels[np.newaxis, :])
    first, second = np.nonzero(np.triu(unknown, k=1))
    not_separable = tuple(
        (entries[i].item, entries[j].item) for i, j in zip(first, second, strict=True)
    )
    return BTResult(entries=entries, not_separable=not_separable, rounds=rounds, seed=seed)
