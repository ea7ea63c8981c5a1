"""Comparison sets as the tables a Bradley-Terry fit and its bootstrap start from: the
items that took part, the observed win matrix, the win records of the reviewer-threads
(:mod:`promptbot.verdicts.win_records`) and each item's counts.

A digest ranks the models on each of a hundred prompts, each a table of eight items: the
tables of one size are tabulated together, in one pass of numpy calls over all their
comparisons (numpy's cost per call, not the arithmetic, was the cost of a hundred
passes), each exactly as it would be alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import Codes, dense_inverse, distinct, narrow
from promptbot.verdicts.win_records import WinRecords, tables_win_records

if TYPE_CHECKING:
    from promptbot.verdicts.bradley_terry import ComparisonSet

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

# Comparisons tabulated together at most (unless one set is larger): a hundred prompts'
# at 100k ratings, a tenth of them at a million.
_BATCH_COMPARISONS = 1 << 18


@dataclass(frozen=True)
class WinTable:
    """The comparisons on the k items that took part, as win records per thread."""

    items: list[str]
    records: WinRecords
    observed: FloatArray  # (k, k) win matrix of the data
    lo: IntArray  # observed pairs, lo < hi
    hi: IntArray
    n_comparisons: FloatArray
    wins: FloatArray
    ties: FloatArray
    clusters: int  # reviewer-threads


def tabulate(found: ComparisonSet) -> WinTable:
    """The table of one (non-empty) comparison set."""
    (table,) = tabulate_all([found])
    return table


def tabulate_all(sets: Sequence[ComparisonSet]) -> list[WinTable]:
    """The table of each (non-empty) set; those with as many items taking part are
    tabulated together, up to ``_BATCH_COMPARISONS`` comparisons at a time (at a million
    ratings all of them at once would add ~80 MB of temporaries to the digest's peak)."""
    names: list[list[str]] = []
    positions: list[IntArray | None] = []  # None: the items are all there, in name order
    batches: dict[int, list[list[int]]] = defaultdict(lambda: [[]])
    for t, found in enumerate(sets):
        n = len(found.items)
        used = np.flatnonzero(np.bincount(found.a, minlength=n) + np.bincount(found.b, minlength=n))
        taking_part = [found.items[i] for i in used]
        order = sorted(range(len(used)), key=taking_part.__getitem__)
        names.append([taking_part[i] for i in order])
        position = np.zeros(n, dtype=np.int64)
        position[used[order]] = np.arange(len(used))
        identity = len(used) == n and bool((position == np.arange(n)).all())
        positions.append(None if identity else position)
        members = batches[len(used)]
        if sum(len(sets[i]) for i in members[-1]) + len(found) > _BATCH_COMPARISONS:
            members.append([])
        members[-1].append(t)
    tables: list[WinTable | None] = [None] * len(sets)
    for k, batch in ((k, batch) for k, runs in batches.items() for batch in runs if batch):
        columns = [_renamed(sets[t], positions[t]) for t in batch]
        if len(batch) == 1:
            part: tuple[Any, ...] = (*columns[0], np.int32(0))  # no copies (the models overall)
        else:
            part = (
                *(np.concatenate(column) for column in zip(*columns, strict=True)),
                np.repeat(np.arange(len(batch), dtype=np.int32), [len(sets[t]) for t in batch]),
            )
        del columns
        a, b, outcome, cluster, table = part
        tabulated = _tabulate_size(k, a, b, outcome, cluster, table, len(batch))
        for t, fields in zip(batch, tabulated, strict=True):
            tables[t] = WinTable(names[t], *fields)
    return [t for t in tables if t is not None]


def _renamed(found: ComparisonSet, position: IntArray | None) -> tuple[Any, ...]:
    if position is None:
        return found.a, found.b, found.outcome, found.cluster
    return position[found.a], position[found.b], found.outcome, found.cluster


def _thread_codes(cluster: Codes, table: Any, tables: int) -> tuple[Codes, IntArray]:
    """Reviewer-thread codes 0, 1, … table by table (within a table in the order of its
    clusters, as dense_inverse numbers them alone), and each table's count of them."""
    code = dense_inverse(cluster)
    threads = int(code.max()) + 1
    if tables == 1:
        return narrow(code), np.array([threads])
    owner = np.empty(threads, dtype=np.int64)
    owner[code] = table
    if (owner[code] != table).any():  # a cluster in several tables: one thread in each
        code = dense_inverse(table.astype(np.int64) * threads + code)
        threads = int(code.max()) + 1
        owner = np.empty(threads, dtype=np.int64)
        owner[code] = table
    order = np.argsort(owner, kind="stable")
    renumber = np.empty(threads, dtype=np.int64)
    renumber[order] = np.arange(threads)
    return narrow(renumber[code]), np.bincount(owner, minlength=tables)


def _tabulate_size(
    k: int,
    a: Codes,
    b: Codes,
    outcome: NDArray[np.floating[Any]],
    cluster: Codes,
    table: Any,
    tables: int,
) -> list[tuple[Any, ...]]:
    """The fields of each table after its items, for tables of k items (``table``: each
    comparison's, 0 … tables - 1 in order)."""
    squares = k * k
    thread, threads = _thread_codes(cluster, table, tables)  # 32 bits: 5 MB less at 1M
    records = tables_win_records(a, b, outcome, thread, k, threads)
    del thread
    # A tie adds half a win to each side: two ties weigh exactly as much as one win each
    # way, which is what "ties count half" means.
    cells = tables * squares
    observed = np.bincount(table * squares + a * k + b, outcome, cells)
    observed += np.bincount(table * squares + b * k + a, 1.0 - outcome, cells)
    pair = distinct(table * squares + np.minimum(a, b) * k + np.maximum(a, b), cells)
    pair_bounds = np.searchsorted(pair, np.arange(tables + 1) * squares)
    pair %= squares
    decisive = outcome != 0.5
    winner = np.where(outcome == 1.0, a, b)
    side = table * k
    if tables > 1:
        wins = np.bincount(side[decisive] + winner[decisive], minlength=tables * k)
        ties = np.bincount(side[~decisive] + a[~decisive], minlength=tables * k)
        ties += np.bincount(side[~decisive] + b[~decisive], minlength=tables * k)
    else:
        wins = np.bincount(winner[decisive], minlength=k)
        ties = np.bincount(a[~decisive], minlength=k) + np.bincount(b[~decisive], minlength=k)
    met = np.bincount(side + a, minlength=tables * k) + np.bincount(side + b, minlength=tables * k)
    shaped = [x.reshape(tables, k).astype(np.float64) for x in (met, wins, ties)]
    return [
        (
            records[t],
            observed[t * squares : (t + 1) * squares].reshape(k, k),
            pair[pair_bounds[t] : pair_bounds[t + 1]] // k,
            pair[pair_bounds[t] : pair_bounds[t + 1]] % k,
            shaped[0][t],
            shaped[1][t],
            shaped[2][t],
            int(threads[t]),
        )
        for t in range(tables)
    ]
