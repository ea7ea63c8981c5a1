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

Pure numpy: scipy's sparse matrices cost more to import than a digest spends here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import dense_unique, distinct, narrow

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Codes = NDArray[np.signedinteger[Any]]  # 32 or 64 bits

# Two pseudo-comparisons per observed pair, one won by each side, each weighted
# Gamma(0.5) (the Jeffreys prior; see promptbot.verdicts.bradley_terry).
PSEUDO_SHAPE = 0.5
# Rounds are drawn in chunks so that the weight matrix stays small at any size.
_WEIGHTS_PER_CHUNK = 500_000
# The win matrices are summed as one matrix product when the patterns × cells matrix
# is at most this big, else by one weighted count per round.
_DENSE_CELLS = 2_000_000
_FINGERPRINT_SEED = 20_240_601
_JEFFREYS_STREAM = 1  # the pseudo-comparisons' stream: SeedSequence((seed, this))


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


def _fingerprints(thread: Codes, cell: Codes, half: Codes, threads: int) -> IntArray:
    """A pattern code per thread: equal records get equal codes (the entries of a thread
    are sorted by cell, so equal records sum their terms in the same order), and two
    threads share a code only if their records are equal entry for entry."""
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
    order = np.lexsort((h2, h1, count))  # stable: equal records stay in thread order
    new = np.ones(threads, dtype=np.bool_)
    new[1:] = (
        (count[order][1:] != count[order][:-1])
        | (h1[order][1:] != h1[order][:-1])
        | (h2[order][1:] != h2[order][:-1])
    )
    code = np.empty(threads, dtype=np.int64)
    code[order] = np.cumsum(new) - 1
    del order, new, h1, h2
    # The check: each thread's entries against those of the first thread with its code,
    # in the entries' own width (at a million ratings each array here is ~1.3M long).
    start = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(thread.dtype)
    leader = np.full(int(code.max()) + 1 if threads else 0, threads, dtype=np.int64)
    np.minimum.at(leader, code, np.arange(threads))
    twin = start[leader[code]][thread]
    twin -= start[thread]
    twin += np.arange(len(thread), dtype=twin.dtype)
    if not (np.array_equal(cell[twin], cell) and np.array_equal(half[twin], half)):
        return np.arange(threads, dtype=np.int64)  # a collision: keep every thread apart
    return code


def win_records(
    a: Codes, b: Codes, outcome: NDArray[np.floating[Any]], thread: Codes, k: int
) -> WinRecords:
    """The comparisons (item ``a[i]`` met ``b[i]``, ``outcome[i]`` 1.0 if a won, 0.0 if b
    won, 0.5 a tie, in reviewer-thread ``thread[i]`` = 0, 1, …) as merged patterns, plus
    the pseudo-comparisons of every observed pair."""
    threads = int(thread.max()) + 1 if len(thread) else 0
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

    code = _fingerprints(entry_thread, entry_cell, half, threads)
    patterns = int(code.max()) + 1 if threads else 0
    leads = np.zeros(threads, dtype=np.bool_)
    leader = np.full(patterns, threads, dtype=np.int64)
    np.minimum.at(leader, code, np.arange(threads))
    leads[leader] = True
    kept = leads[entry_thread]

    pair = distinct(np.minimum(a, b) * k + np.maximum(a, b), squares)
    lo, hi = pair // k, pair % k
    pseudo = patterns + np.arange(2 * len(pair))
    return WinRecords(
        k=k,
        # In 32 bits when they fit: a digest holds a hundred tables' records at once.
        pattern=narrow(np.concatenate([code[entry_thread[kept]], pseudo])),
        cell=narrow(np.concatenate([entry_cell[kept], lo * k + hi, hi * k + lo])),
        credit=np.concatenate([half[kept] / 2.0, np.ones(2 * len(pair))]),
        shapes=np.concatenate(
            [
                np.bincount(code, minlength=patterns).astype(np.float64),
                np.full(2 * len(pair), PSEUDO_SHAPE),
            ]
        ),
        threads=threads,
    )


@cache
def _blas() -> ThreadpoolController:
    # Loaded with the first bootstrap: a digest with nothing to rank needs no BLAS.
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread() -> AbstractContextManager[object]:
    """A context in which numpy's matrix products run on one thread. OpenBLAS would
    start one per core for each product of the bootstrap; on a small machine shared
    with the bot's other work that doubled a digest's CPU time for no gain in time."""
    limiter: AbstractContextManager[object] = _blas().limit(limits=1, user_api="blas")
    return limiter


def jeffreys_weights(seed: int, rounds: int, pseudo: int) -> FloatArray:
    """(rounds, pseudo) Gamma(0.5) weights of the pseudo-comparisons: Z²/2 for standard
    normal Z, which is Gamma(0.5) exactly (Z² is chi-squared with one degree of freedom,
    Gamma(0.5) with scale 2) and several times faster than numpy's Gamma(0.5), whose
    shape below 1 costs a power per draw. Drawn from a stream of their own, so that
    every table's first ones are the same numbers (see ExponentialStream)."""
    z = np.random.default_rng((seed, _JEFFREYS_STREAM)).standard_normal((rounds, pseudo))
    z *= z
    z *= 0.5
    return z


class ExponentialStream:
    """The Exp(1) draws every table's generator starts with, drawn once; and the
    pseudo-comparisons' weights (:func:`jeffreys_weights`), drawn once.

    Each table's rounds are drawn from its own generator, seeded alike, and a table
    whose rounds fit one chunk starts with ``rounds × patterns`` Exp(1) draws: the first
    ones of the same stream for every table. So the stream is drawn once, as far as the
    widest such table needs, and each table takes its part of it and a generator where
    its own draws would have left it (for its Gamma draws): the same numbers, drawn
    once rather than once per table (a digest ranks models on each of a hundred prompts).
    """

    def __init__(
        self, seed: int, rounds: int, patterns: Iterable[int], pseudo: Iterable[int] = ()
    ) -> None:
        rng = np.random.default_rng(seed)
        self.rounds = rounds
        self._after: dict[int, Mapping[str, Any]] = {}
        parts, drawn = [], 0
        for n in sorted(set(patterns)):
            parts.append(rng.standard_exponential(rounds * n - drawn))
            drawn = rounds * n
            self._after[n] = rng.bit_generator.state
        self._draws = np.concatenate(parts) if parts else np.zeros(0)
        # The widest table's, in its (rounds, pseudo) order: each table's are a prefix.
        self._pseudo = max(pseudo, default=0)
        self._jeffreys = jeffreys_weights(seed, rounds, self._pseudo).reshape(-1)

    def __contains__(self, patterns: int) -> bool:
        return patterns in self._after

    def weights(self, patterns: int) -> tuple[FloatArray, np.random.Generator]:
        """(rounds, patterns) Exp(1) weights, and the generator that drew them."""
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = self._after[patterns]
        drawn = self._draws[: self.rounds * patterns].reshape(self.rounds, patterns)
        return drawn.copy(), rng

    def jeffreys(self, pseudo: int) -> FloatArray:
        """``jeffreys_weights(seed, rounds, pseudo)``, from the draws made once."""
        if pseudo > self._pseudo:
            raise ValueError(f"drawn for {self._pseudo} pseudo-comparisons, not {pseudo}")
        drawn: FloatArray = self._jeffreys[: self.rounds * pseudo].reshape(self.rounds, pseudo)
        return drawn


def single_chunk(rounds: int, patterns: int) -> bool:
    """Whether the rounds of a table with this many patterns are drawn in one chunk."""
    return _WEIGHTS_PER_CHUNK // max(1, patterns) >= rounds


def resampled_wins(
    records: WinRecords, rounds: int, seed: int, stream: ExponentialStream | None = None
) -> Iterator[FloatArray]:
    """Win matrices of ``rounds`` Bayesian-bootstrap rounds, a stack (size, k, k) at a
    time. ``stream``: the generator's first draws, if drawn already (ExponentialStream)."""
    rng = np.random.default_rng(seed)
    k, n = records.k, records.patterns
    cells, column = dense_unique(records.cell)
    dense = None
    if n * len(cells) <= _DENSE_CELLS:
        # Summed in the entries' order, as np.add.at would, at a fraction of its cost.
        index = records.pattern.astype(np.int64) * len(cells) + column
        dense = np.bincount(index, records.credit, n * len(cells)).reshape(n, len(cells))
    pseudo = records.shapes == PSEUDO_SHAPE
    merged = np.flatnonzero(~pseudo & (records.shapes != 1.0))  # threads drawn together
    pseudo = np.flatnonzero(pseudo)
    jeffreys = (
        stream.jeffreys(len(pseudo))
        if stream is not None
        else jeffreys_weights(seed, rounds, len(pseudo))
    )
    chunk = max(1, min(rounds, _WEIGHTS_PER_CHUNK // max(1, n)))
    for first in range(0, rounds, chunk):
        size = min(chunk, rounds - first)
        # Gamma(1) is Exp(1), which numpy draws several times faster than a Gamma.
        if size == rounds and stream is not None and n in stream:
            weights, rng = stream.weights(n)
        else:
            weights = rng.standard_exponential((size, n))
        weights[:, merged] = rng.standard_gamma(records.shapes[merged], size=(size, len(merged)))
        weights[:, pseudo] = jeffreys[first : first + size]
        wins = np.zeros((size, k * k))
        if dense is not None:
            wins[:, cells] = weights @ dense
        else:
            for r in range(size):
                wins[r, cells] = np.bincount(
                    column, weights[r, records.pattern] * records.credit, len(cells)
                )
        yield wins.reshape(size, k, k)
