"""The cluster bootstrap's rounds: each table's win matrices under Bayesian-bootstrap
weights of its patterns (:mod:`promptbot.verdicts.win_records`), drawn from a generator
of its own, seeded alike, and the pseudo-comparisons' Jeffreys weights.

Pure numpy: scipy's sparse matrices cost more to import than a digest spends here.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.judgements import dense_unique
from promptbot.verdicts.win_records import PSEUDO_SHAPE, WinRecords

if TYPE_CHECKING:
    from threadpoolctl import ThreadpoolController

FloatArray = NDArray[np.float64]

# Rounds are drawn in chunks so that the weight matrix stays small at any size.
_WEIGHTS_PER_CHUNK = 500_000
# The win matrices are summed as one matrix product when the patterns × cells matrix
# is at most this big, else by one weighted count per round.
_DENSE_CELLS = 2_000_000
_JEFFREYS_STREAM = 1  # the pseudo-comparisons' stream: SeedSequence((seed, this))


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


def dense(rounds: int, records: WinRecords) -> bool:
    """Whether a table's rounds are drawn in one chunk and summed as one matrix product
    (every table of a digest of 100k ratings, all but the models overall at 1M):
    such tables are resampled together by :func:`resampled_tables`."""
    return single_chunk(rounds, records.patterns) and (
        records.patterns * records.k * records.k <= _DENSE_CELLS
    )


def resampled_tables(
    tables: Sequence[WinRecords], rounds: int, stream: ExponentialStream
) -> list[FloatArray]:
    """``next(resampled_wins(t, rounds, seed, stream))`` for every table ``t`` that is
    :func:`dense`, with the same draws (the stream's) and sums, at a fraction of the
    calls: each table's patterns end with its pseudo-comparisons, so their weights are
    one slice, and its wins are one product over all k² cells (no lookup of the cells
    it uses; the unused ones sum to 0)."""
    found = []
    for records in tables:
        k, n = records.k, records.patterns
        pseudo = int(np.count_nonzero(records.shapes == PSEUDO_SHAPE))
        real = n - pseudo  # the pseudo-comparisons come last (win_records)
        weights, rng = stream.weights(n)
        merged = np.flatnonzero(records.shapes[:real] != 1.0)  # threads drawn together
        if len(merged):
            weights[:, merged] = rng.standard_gamma(
                records.shapes[merged], size=(rounds, len(merged))
            )
        weights[:, real:] = stream.jeffreys(pseudo)
        summed = np.bincount(
            records.pattern.astype(np.int64) * (k * k) + records.cell, records.credit, n * k * k
        )
        found.append((weights @ summed.reshape(n, k * k)).reshape(rounds, k, k))
    return found
