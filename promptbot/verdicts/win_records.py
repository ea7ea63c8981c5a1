"""The cluster bootstrap's raw material: each reviewer-thread's wins, merged by pattern.

A bootstrap round of Bradley-Terry needs the win matrix under new weights of the
reviewer-threads: sum over threads of weight × that thread's wins. With a million
ratings there are ~10^5 threads but far fewer distinct records (which pairs a thread
compared and how each came out), since most threads rate the same few models the same
way. Threads with the same record are merged into one *pattern*: under the Bayesian
bootstrap each thread weighs Exp(1), so m threads together weigh exactly Gamma(m)
(a sum of m independent Exp(1) draws), and one Gamma(m) draw per pattern gives the same
distribution of win matrices at a fraction of the draws and arithmetic.

Records are grouped by two random fingerprints, then every thread is checked entry by
entry against its pattern's first thread, so a fingerprint collision can only cost
speed (the threads are then kept apart), never merge two different records.

The rounds themselves are drawn in :mod:`promptbot.verdicts.resampling`. Pure numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import dense_inverse, distinct, narrow

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Codes = NDArray[np.signedinteger[Any]]  # 32 or 64 bits

# Two pseudo-comparisons per observed pair, one won by each side, each weighted
# Gamma(0.5) (the Jeffreys prior; see promptbot.verdicts.bradley_terry).
PSEUDO_SHAPE = 0.5
_FINGERPRINT_SEED = 20_240_601


@dataclass(frozen=True)
class WinRecords:
    """Patterns of wins over ``k`` items: entry ``e`` gives pattern ``pattern[e]`` a
    credit of ``credit[e]`` wins in cell ``cell[e]`` (= winner * k + loser). Pattern
    ``p`` is drawn with weight Gamma(``shapes[p]``) each round."""

    k: int
    pattern: IntArray
    cell: IntArray
    credit: FloatArray
    shapes: FloatArray
    threads: int  # reviewer-threads behind the patterns (pseudo-comparisons aside)

    @property
    def patterns(self) -> int:
        return len(self.shapes)


@cache
def _hash_vectors(size: int) -> tuple[FloatArray, FloatArray]:
    """Two random weights per cell: a record's fingerprints are its weighted sums.
    (Made once per size: a digest tabulates a hundred rankings of the same few cells.)"""
    rng = np.random.default_rng(_FINGERPRINT_SEED)
    first, second = rng.random(size), rng.random(size)
    first.flags.writeable = second.flags.writeable = False
    return first, second


def _fingerprints(thread: Codes, cell: Codes, half: Codes, thread_table: IntArray) -> IntArray:
    """A pattern code per thread: equal records of one table get equal codes (the entries
    of a thread are sorted by cell, so equal records sum their terms in the same order),
    and two threads share a code only if their records are equal entry for entry. Codes
    are dense and run table by table (``thread_table``: each thread's, in order)."""
    threads = len(thread_table)
    if threads == 0:
        return np.zeros(0, dtype=np.int64)
    first, second = _hash_vectors(int(cell.max()) + 1 if len(cell) else 1)
    # Weights built in place: at a million ratings each array here is ~10 MB.
    weights = first[cell]
    weights *= half
    h1 = np.bincount(thread, weights, threads)
    del weights
    weights = np.sqrt(half)
    weights *= second[cell]
    h2 = np.bincount(thread, weights, threads)
    del weights
    count = np.bincount(thread, minlength=threads)
    # Stable: equal records stay in thread order (the table comes first, in order already).
    order = np.lexsort((h2, h1, count, thread_table))
    new = np.ones(threads, dtype=np.bool_)
    new[1:] = (
        (count[order][1:] != count[order][:-1])
        | (h1[order][1:] != h1[order][:-1])
        | (h2[order][1:] != h2[order][:-1])
        | (thread_table[order][1:] != thread_table[order][:-1])
    )
    code = np.empty(threads, dtype=np.int64)
    code[order] = np.cumsum(new) - 1
    del order, new, h1, h2
    # The check: each thread's entries against those of the first thread with its code,
    # in the entries' own width (at a million ratings each array here is ~1.3M long).
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(thread.dtype)
    leader = np.full(int(code.max()) + 1, threads, dtype=np.int64)
    np.minimum.at(leader, code, np.arange(threads))
    twin = start[leader[code]][thread]
    twin -= start[thread]
    twin += np.arange(len(thread), dtype=twin.dtype)
    wrong = (cell[twin] != cell) | (half[twin] != half)
    if wrong.any():
        # A collision: every thread of the tables it happened in is kept apart.
        apart = np.isin(thread_table, thread_table[thread[wrong]])
        key = np.where(apart, threads + np.arange(threads), code)
        code = dense_inverse(thread_table * (2 * threads) + key)
    return code


def win_records(
    a: Codes, b: Codes, outcome: NDArray[np.floating[Any]], thread: Codes, k: int
) -> WinRecords:
    """The comparisons (item ``a[i]`` met ``b[i]``, ``outcome[i]`` 1.0 if a won, 0.0 if b
    won, 0.5 a tie, in reviewer-thread ``thread[i]`` = 0, 1, …) as merged patterns, plus
    the pseudo-comparisons of every observed pair."""
    threads = int(thread.max()) + 1 if len(thread) else 0
    (records,) = tables_win_records(a, b, outcome, thread, k, np.array([threads]))
    return records


def tables_win_records(
    a: Codes,
    b: Codes,
    outcome: NDArray[np.floating[Any]],
    thread: Codes,
    k: int,
    threads_by_table: IntArray,
) -> list[WinRecords]:
    """``win_records`` of several tables of ``k`` items at once, each the same as alone:
    table t's reviewer-threads are the next ``threads_by_table[t]`` codes of ``thread``
    (a digest ranks the models on each of a hundred prompts, and numpy's cost per call,
    not the arithmetic, was the cost of doing them one by one)."""
    tables = len(threads_by_table)
    threads = int(threads_by_table.sum())
    thread_table = np.repeat(np.arange(tables), threads_by_table)
    squares = k * k
    # The keys in 32 bits when they fit: at a million ratings they are the largest
    # arrays of the digest's peak (1.6 million of them, and a sort's copies). Each key
    # carries its half wins in its lowest two bits (see below), hence the 4.
    fits = threads * squares * 4 < 2**31
    width: type[np.signedinteger[Any]] = np.int32 if fits else np.int64
    # In half wins: a win gives its winner 2, a tie gives each side 1 (ties count half).
    tie = outcome == 0.5
    winner: Codes = np.where(outcome == 0.0, b, a).astype(width, copy=False)
    loser: Codes = np.where(outcome == 0.0, a, b).astype(width, copy=False)
    by: Codes = thread.astype(width, copy=False)
    keys = np.concatenate(
        [by * squares + winner * k + loser, by[tie] * squares + loser[tie] * k + winner[tie]]
    )
    keys *= 4
    keys[: len(tie)] += np.where(tie, width(1), width(2))
    keys[len(tie) :] += 1
    del winner, loser, by, tie
    # One entry per thread and cell, sorted by thread, then cell: the keys sorted as
    # values, halves and all (several times faster than sorting their order, and the
    # order among equal cells does not matter: their halves are summed).
    keys.sort()
    halves = (keys & 3).astype(np.int8)
    keys >>= 2
    new = np.ones(len(keys), dtype=np.bool_)
    np.not_equal(keys[1:], keys[:-1], out=new[1:])
    key = keys[new]
    del keys
    entry = np.cumsum(new, dtype=np.int32 if len(new) < 2**31 else np.int64)
    np.subtract(entry, 1, out=entry)
    del new
    half = np.bincount(entry, halves, len(key)).astype(np.int32)  # sqrt(int32) is float64
    del entry, halves
    entry_thread, entry_cell = key // squares, key % squares
    del key

    code = _fingerprints(entry_thread, entry_cell, half, thread_table)
    patterns = int(code.max()) + 1 if threads else 0
    leader = np.full(patterns, threads, dtype=np.int64)
    np.minimum.at(leader, code, np.arange(threads))
    leads = np.zeros(threads, dtype=np.bool_)
    leads[leader] = True
    kept = leads[entry_thread]
    return _split_tables(
        k,
        code,
        thread_table[leader],
        thread_table,
        threads_by_table,
        (entry_thread[kept], entry_cell[kept], half[kept] / 2.0),
        distinct(
            thread_table[thread] * squares + np.minimum(a, b) * k + np.maximum(a, b),
            tables * squares,
        ),
    )


def _split_tables(
    k: int,
    code: IntArray,
    pattern_table: IntArray,
    thread_table: IntArray,
    threads_by_table: IntArray,
    entries: tuple[IntArray, IntArray, FloatArray],
    pair: IntArray,
) -> list[WinRecords]:
    """Each table's records, with the pseudo-comparisons of its observed pairs (``pair``:
    table * k * k + lo * k + hi) after its patterns: slices of arrays built once."""
    tables = len(threads_by_table)
    squares = k * k
    entry_thread, entry_cell, entry_credit = entries
    shapes_real = np.bincount(code, minlength=len(pattern_table)).astype(np.float64)
    patterns_by_table = np.bincount(pattern_table, minlength=tables)
    pair_table, pair = pair // squares, pair % squares
    pairs_by_table = np.bincount(pair_table, minlength=tables)
    lo, hi = pair // k, pair % k
    # Table t's patterns are numbered from first[t]: its merged records, then a pseudo-
    # comparison won by lo and one won by hi for each of its pairs.
    size = patterns_by_table + 2 * pairs_by_table
    first = np.concatenate([[0], np.cumsum(size)[:-1]])
    real_first = np.concatenate([[0], np.cumsum(patterns_by_table)[:-1]])
    pair_first = np.concatenate([[0], np.cumsum(pairs_by_table)[:-1]])
    entry_table = thread_table[entry_thread]
    number = np.concatenate(
        [
            code[entry_thread] - real_first[entry_table] + first[entry_table],
            np.repeat(first + patterns_by_table - pair_first, pairs_by_table)
            + np.arange(len(pair)),
            np.repeat(first + patterns_by_table + pairs_by_table - pair_first, pairs_by_table)
            + np.arange(len(pair)),
        ]
    )
    # Table by table (each one's entries, then its pseudo-comparisons): a stable sort
    # on the table alone.
    order = np.argsort(np.concatenate([entry_table, pair_table, pair_table]), kind="stable")
    number = number[order]
    cell = np.concatenate([entry_cell, lo * k + hi, hi * k + lo])[order]
    credit = np.concatenate([entry_credit, np.ones(2 * len(pair))])[order]
    shapes = np.full(int(size.sum()), PSEUDO_SHAPE)
    shapes[np.repeat(first - real_first, patterns_by_table) + np.arange(len(shapes_real))] = (
        shapes_real
    )
    bounds = np.concatenate(
        [[0], np.cumsum(np.bincount(entry_table, minlength=tables) + 2 * pairs_by_table)]
    )
    number, cell = narrow(number), narrow(cell)  # a digest holds a hundred tables' records
    return [
        WinRecords(
            k=k,
            pattern=number[bounds[t] : bounds[t + 1]] - number.dtype.type(first[t]),
            cell=cell[bounds[t] : bounds[t + 1]],
            credit=credit[bounds[t] : bounds[t + 1]],
            shapes=shapes[first[t] : first[t] + size[t]],
            threads=int(threads_by_table[t]),
        )
        for t in range(tables)
    ]
