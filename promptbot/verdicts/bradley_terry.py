"""Bradley-Terry strengths with intervals that follow the unit of independence.

Strengths are regularised log-odds centred on 0, fitted by choix's I-LSR. They order the
entries; with few votes the regularisation pulls them towards 0, so a gap in strength is
not read as a ratio of wins. What the digest states is what the intervals support: two
entries whose 95% intervals overlap are "not yet separable".

Intervals come from a cluster bootstrap: the comparisons one reviewer made in one thread
(all M(M-1)/2 of them when they rated M answers) move together, because they share that
reviewer's mood and reading of the thread. Each round reweights the reviewer-threads by
Exp(1) draws (the Bayesian bootstrap: no thread is ever left out entirely, which matters
when there are few; threads with the same record are drawn together, see
:mod:`promptbot.verdicts.win_records`), and adds to every observed pair two
pseudo-comparisons, one won by each side, with Gamma(0.5) weights (the Jeffreys prior):
a 1-0 or 3-0 record then never resamples into a zero-width interval, while a large
record barely notices them. With few reviewer-threads the percentile interval is widened
by Student's t (see ``_small_sample_factor``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.distributions import normal_quantile, t_quantile
from promptbot.verdicts.ilsr import refit_all
from promptbot.verdicts.intervals import components, interval_points, rank_ub
from promptbot.verdicts.judgements import Codes
from promptbot.verdicts.resampling import (
    ExponentialStream,
    dense,
    one_blas_thread,
    resampled_tables,
    resampled_wins,
    single_chunk,
)
from promptbot.verdicts.win_records import PSEUDO_SHAPE
from promptbot.verdicts.win_tables import WinTable, tabulate_all

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ComparisonSet:
    """Comparisons as arrays: item ``a[i]`` met ``b[i]`` with ``outcome[i]`` (1.0: a won,
    0.0: b won, 0.5: a tie) in reviewer-thread ``cluster[i]``. ``items`` names the codes."""

    items: tuple[str, ...]
    a: Codes
    b: Codes
    outcome: NDArray[np.floating[Any]]  # 32 bits from the digest: 0, 0.5 and 1 are exact
    cluster: Codes

    def __len__(self) -> int:
        return len(self.a)

    @classmethod
    def of(
        cls, rows: Sequence[tuple[str, str, float] | tuple[str, str, float, int]]
    ) -> ComparisonSet:
        """From (a, b, outcome[, cluster]) tuples; without a cluster each comparison is its
        own."""
        items = tuple(sorted({r[0] for r in rows} | {r[1] for r in rows}))
        index = {item: i for i, item in enumerate(items)}
        for row in rows:
            if row[0] == row[1]:
                raise ValueError(f"an item cannot be compared with itself: {row[0]!r}")
            if row[2] not in (0.0, 0.5, 1.0):
                raise ValueError(f"outcome must be 0.0, 0.5 or 1.0, got {row[2]}")
        return cls(
            items,
            np.array([index[r[0]] for r in rows], dtype=np.int64),
            np.array([index[r[1]] for r in rows], dtype=np.int64),
            np.array([r[2] for r in rows], dtype=np.float64),
            np.array([r[3] if len(r) > 3 else i for i, r in enumerate(rows)], dtype=np.int64),  # type: ignore[misc]
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ComparisonSet):
            return NotImplemented
        return self.fingerprint() == other.fingerprint()

    __hash__ = None  # type: ignore[assignment]

    def fingerprint(self) -> tuple[tuple[str, ...], bytes]:
        """Equal for two sets with the same comparisons in any order (same fit, same seed)."""
        order = np.lexsort((self.cluster, self.outcome, self.b, self.a))
        stacked = np.stack(
            [self.a[order], self.b[order], self.outcome[order] * 2, self.cluster[order]]
        )
        return self.items, stacked.astype(np.int64).tobytes()


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


def _bootstrap(
    tables: Sequence[WinTable], points: Sequence[FloatArray], rounds: int, seed: int
) -> list[FloatArray]:
    """Strengths refitted on ``rounds`` reweightings of each table's reviewer-threads
    (each table's rounds drawn from its own generator, seeded alike)."""
    if not tables:
        return []  # nothing to draw: numpy.random and threadpoolctl stay unloaded (~15 ms)
    records = [t.records for t in tables]
    stream = ExponentialStream(
        seed,
        rounds,
        [r.patterns for r in records if single_chunk(rounds, r.patterns)],
        [int((r.shapes == PSEUDO_SHAPE).sum()) for r in records],
    )
    together = [i for i, r in enumerate(records) if dense(rounds, r)]
    stacked = set(together)
    chunks: list[FloatArray] = []
    starts: list[FloatArray] = []
    owner: list[int] = []
    with one_blas_thread():  # the win matrices are matrix products too
        drawn = iter(resampled_tables([records[i] for i in together], rounds, stream))
        for i, point in enumerate(points):
            for wins in (
                [next(drawn)] if i in stacked else resampled_wins(records[i], rounds, seed, stream)
            ):
                chunks.append(wins)
                starts.append(point)
                owner.append(i)
        refits = refit_all(chunks, starts, settle=False)
    return [
        np.concatenate([r for r, o in zip(refits, owner, strict=True) if o == i])
        for i in range(len(tables))
    ]


def _small_sample_factor(clusters: int) -> float:
    if clusters < 2:
        return 1.0  # the pseudo-comparisons already make the interval as wide as it gets
    t = t_quantile(clusters - 1, 0.975)
    return math.sqrt(clusters / (clusters - 1)) * t / normal_quantile(0.975)


def bradley_terry(
    found: ComparisonSet,
    *,
    rounds: int = 200,
    seed: int = 0,
    min_comparisons: int = 0,
) -> BTResult:
    """Bradley-Terry strengths with cluster-bootstrap intervals, Rank (UB), separability.

    The same comparisons (in any order) and seed give the same result. An item with fewer
    than ``min_comparisons`` comparisons gets the widest interval of the set, so it is
    never separable from anything and no winner is declared while it is in the running.
    Items in groups that were never compared with each other are never separable either.
    """
    return bradley_terry_all([found], rounds=rounds, seed=seed, min_comparisons=min_comparisons)[0]


def bradley_terry_all(
    sets: Sequence[ComparisonSet],
    *,
    rounds: int = 200,
    seed: int = 0,
    min_comparisons: int = 0,
) -> list[BTResult]:
    """``bradley_terry`` of each set, with the same result, their fits run together."""
    if rounds < 1:
        raise ValueError(f"rounds must be at least 1, got {rounds}")
    tables = tabulate_all([found for found in sets if len(found)]) if any(map(len, sets)) else []
    points = refit_all(
        [t.observed[np.newaxis] for t in tables], [np.zeros(len(t.items)) for t in tables]
    )
    samples = _bootstrap(tables, [p[0] for p in points], rounds, seed)
    fitted = iter(
        _result(table, point[0], quantiles, rounds, seed, min_comparisons)
        for table, point, quantiles in zip(tables, points, interval_points(samples), strict=True)
    )
    empty = BTResult(entries=(), not_separable=(), rounds=rounds, seed=seed)
    return [next(fitted) if len(found) else empty for found in sets]


def _result(
    table: WinTable,
    point: FloatArray,
    quantiles: FloatArray,
    rounds: int,
    seed: int,
    min_comparisons: int,
) -> BTResult:
    k = len(table.items)
    low, middle, high = quantiles
    # With G reviewer-threads the bootstrap's spread is sqrt((G - 1) / G) of the truth's,
    # and a 95% interval from G units wants Student's t with G - 1 degrees of freedom,
    # not the normal's 1.96: widen both sides about the point by that much.
    widen = _small_sample_factor(table.clusters)
    low, high = middle - widen * (middle - low), middle + widen * (high - middle)

    too_few = table.n_comparisons < max(min_comparisons, 1)
    low[too_few] = min(low.min(), point.min())
    high[too_few] = max(high.max(), point.max())

    labels_by_item = components(k, table.lo, table.hi)
    ranks = rank_ub(list(zip(low.tolist(), high.tolist(), strict=True)), labels_by_item.tolist())
    order = np.lexsort((np.arange(k), -point))
    entries = tuple(
        BTEntry(
            item=table.items[i],
            strength=float(point[i]),
            low=float(low[i]),
            high=float(high[i]),
            rank_ub=ranks[i],
            n_comparisons=int(table.n_comparisons[i]),
            wins=int(table.wins[i]),
            ties=int(table.ties[i]),
        )
        for i in order
    )
    labels = labels_by_item[order]
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
