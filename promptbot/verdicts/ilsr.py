"""Bradley-Terry strengths by choix's I-LSR, for one win matrix or a stack of them.

Strengths are natural-log odds centred on 0, regularised by ``ALPHA``. This is choix's
``ilsr_pairwise_dense`` (Maystre & Grossglauser 2015), update for update, run with
numpy's stacked solver, which choix has no batched form of; tests/test_bradley_terry.py
checks both the point fit and the refits against choix itself. choix is not imported at
run time: it loads scipy.stats on import (0.8 s of CPU and 75 MB, more than a digest of
a million ratings spends fitting), so it is the tests' reference, not the digest's path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

# choix's regularisation: every pair of items gets a small virtual transition rate, so
# perfect separation (10-0) and items in disconnected groups give finite strengths.
ALPHA = 0.01
_TOL = 1e-8  # choix's default
_MAX_ITER = 10_000
# Matrix cells refitted together at most (unless one stack is larger): 0.5 MB an array.
_BATCH_CELLS = 1 << 16


def fit(wins: FloatArray) -> FloatArray:
    """Centred log-strengths fitted on one (weighted) win matrix: choix's
    ``ilsr_pairwise_dense(wins, alpha=ALPHA)``, started like it from equal strengths."""
    fitted: FloatArray = refit_stack(wins[np.newaxis], np.zeros(wins.shape[-1]))[0]
    return fitted


# Why the bootstrap does not call choix once per round: a choix call costs ~50 µs of
# Python and LAPACK overhead per I-LSR iteration whatever the matrix size, so 200 refits
# of a 5-item group took ~60 ms. `refit_stack` is choix.lsr_pairwise_dense's update,
# line for line, run on all rounds at once with numpy's stacked solver.
def lsr_step(wins: FloatArray, params: FloatArray) -> FloatArray:
    """One I-LSR update for a stack of win matrices (shape (rounds, k, k))."""
    k = wins.shape[-1]
    weights = np.exp(params - params.mean(axis=-1, keepdims=True))
    weights *= k / weights.sum(axis=-1, keepdims=True)
    # Rate of the chain from i to j: alpha + (times j beat i) / (w_i + w_j).
    rates = ALPHA + np.swapaxes(wins, -1, -2) / (weights[..., :, None] + weights[..., None, :])
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


def refit_stack(wins: FloatArray, initial: FloatArray) -> FloatArray:
    """choix.ilsr_pairwise_dense for every matrix of the stack, started from ``initial``."""
    params = np.broadcast_to(initial, wins.shape[:-1]).copy()
    active = np.arange(len(params))
    for _ in range(_MAX_ITER):
        updated = lsr_step(wins[active], params[active])
        # choix's NormOfDifferenceTest: stop once the L1 change is at most tol per item.
        done = np.abs(updated - params[active]).sum(axis=-1) <= _TOL * wins.shape[-1]
        params[active] = updated
        active = active[~done]
        if active.size == 0:
            return params
    raise RuntimeError(f"Bradley-Terry refits did not converge in {_MAX_ITER} iterations")


def refit_all(stacks: Sequence[FloatArray], initials: Sequence[FloatArray]) -> list[FloatArray]:
    """``refit_stack(stacks[i], initials[i])`` for every i, stacks of one size run together
    (up to ``_BATCH_CELLS`` cells at a time): a digest refits a hundred small rankings, where
    numpy's overhead per call, not the arithmetic, is the cost. Each matrix gets exactly
    the updates it would get alone."""
    fitted: list[FloatArray] = [np.zeros(0)] * len(stacks)
    by_size: dict[int, list[list[int]]] = defaultdict(lambda: [[]])
    for i, stack in enumerate(stacks):
        batches = by_size[stack.shape[-1]]
        if sum(stacks[j].size for j in batches[-1]) + stack.size > _BATCH_CELLS:
            batches.append([])
        batches[-1].append(i)
    for members in (batch for batches in by_size.values() for batch in batches if batch):
        wins = np.concatenate([stacks[i] for i in members])
        initial = np.concatenate(
            [np.broadcast_to(initials[i], stacks[i].shape[:-1]) for i in members]
        )
        bounds = np.cumsum([len(stacks[i]) for i in members])[:-1]
        for i, part in zip(members, np.split(refit_stack(wins, initial), bounds), strict=True):
            fitted[i] = part
    return fitted
