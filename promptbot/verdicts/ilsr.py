"""Bradley-Terry strengths by choix's I-LSR, for one win matrix or a stack of them.

Strengths are natural-log odds centred on 0, regularised by ``ALPHA``: the fixed point
of choix's ``ilsr_pairwise_dense`` (Maystre & Grossglauser 2015). choix finds it by
I-LSR, whose steps each solve for a Markov chain's stationary distribution and close in
on the fixed point by a constant factor; here Newton's method solves the fixed point's
own equations (:func:`newton_step`), which closes in quadratically: five steps where
I-LSR took about seven of the same cost, to a fixed point a thousand times closer. A
matrix Newton does not settle within ``_NEWTON_STEPS`` steps is fitted by I-LSR itself
(:func:`lsr_step`), which always converges. tests/test_bradley_terry.py checks both the
point fit and the refits against choix itself. choix is not imported at run time: it
loads scipy.stats on import (0.8 s of CPU and 75 MB, more than a digest of a million
ratings spends fitting), so it is the tests' reference, not the digest's path.
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
# Newton's steps before a matrix is left to I-LSR (from its start): from the point fit
# a bootstrap round takes five, so this many means Newton is not settling.
_NEWTON_STEPS = 12
# No Newton step moves a strength by more than this (the whole step is scaled down):
# far from the fixed point a full step can overshoot.
_LONGEST_STEP = 2.0
# Matrix cells refitted together at most (unless one stack is larger): 0.5 MB an array.
_BATCH_CELLS = 1 << 16


def fit(wins: FloatArray) -> FloatArray:
    """Centred log-strengths fitted on one (weighted) win matrix: choix's
    ``ilsr_pairwise_dense(wins, alpha=ALPHA)``, started like it from equal strengths."""
    fitted: FloatArray = refit_stack(wins[np.newaxis], np.zeros(wins.shape[-1]))[0]
    return fitted


def _centred(params: FloatArray) -> FloatArray:
    result: FloatArray = params - params.mean(axis=-1, keepdims=True)
    return result


def lsr_step(wins: FloatArray, params: FloatArray) -> FloatArray:
    """One I-LSR update for a stack of win matrices (shape (rounds, k, k)): choix's
    ``lsr_pairwise_dense``, line for line, on every matrix at once."""
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
    return _centred(np.log(np.linalg.solve(system, target)[..., 0]))


def pair_counts(wins: FloatArray) -> FloatArray:
    """Comparisons of each pair, n_ij = W_ij + W_ji, for a stack of win matrices (an item
    never meets itself: the diagonal, which I-LSR ignores, is 0)."""
    met = wins + np.swapaxes(wins, -1, -2)
    diagonal = np.arange(wins.shape[-1])
    met[..., diagonal, diagonal] = 0.0
    return met


def newton_step(wins: FloatArray, met: FloatArray, params: FloatArray) -> FloatArray:
    """One Newton step towards I-LSR's fixed point, for a stack of win matrices
    (``met``: their :func:`pair_counts`).

    At the fixed point the chain's stationary distribution is w / k, where the weights
    w = exp(params) sum to k; its balance equations then read, for every item i,

        G_i = sum_j (W_ij w_j - W_ji w_i) / (w_i + w_j) - ALPHA (k w_i - k) = 0

    (W_ij: times i beat j). They sum to 0, so the last is replaced by sum(w) = k, and
    Newton's step in log-strengths solves J step = -G, with J the equations' Jacobian.
    Sums over an axis of 8 are matrix products here: numpy reduces a short last axis
    several times slower than it multiplies.
    """
    k = wins.shape[-1]
    w = np.exp(params - params.max(axis=-1, keepdims=True))
    w *= k / w.sum(axis=-1, keepdims=True)
    column = w[..., :, None]
    inverse = column + w[..., None, :]
    np.reciprocal(inverse, out=inverse)  # 1 / (w_i + w_j), symmetric
    won = wins * inverse  # W_ij / (w_i + w_j); its column sums are sum_j W_ji / (w_i + w_j)
    balance = (won @ column)[..., 0]
    balance -= w * (np.ones(k) @ won)
    balance -= ALPHA * k * (w - 1.0)
    balance[..., -1] = 0.0  # sum(w) = k already
    # d G_i / d log w_j = (n_ij w_i / (w_i + w_j)^2 + ALPHA) w_j off the diagonal, with
    # n_ij the comparisons of the pair (0 on the diagonal).
    jacobian = met * inverse
    jacobian *= inverse
    reached = (jacobian @ column)[..., 0]  # sum_j n_ij w_j / (w_i + w_j)^2
    jacobian *= column
    jacobian += ALPHA
    jacobian *= w[..., None, :]
    diagonal = np.arange(k)
    jacobian[..., diagonal, diagonal] = -w * reached - ALPHA * (k - 1) * w
    jacobian[..., -1, :] = w
    step = np.linalg.solve(jacobian, -balance[..., None])[..., 0]
    longest = np.abs(step).max(axis=-1, keepdims=True)
    step *= np.minimum(1.0, _LONGEST_STEP / np.maximum(longest, 1e-300))
    return _centred(params + step)


def next_step_within(change: FloatArray, before: FloatArray, tol: float) -> NDArray[np.bool_]:
    """Whether Newton's next step would change the strengths by at most ``tol``, judged
    from its last two changes (``before``, then ``change``; NaN: no change yet). Newton's
    changes shrink quadratically near the fixed point (d' = c d^2), so the next is about
    c d'^2 = d'^3 / d^2; the estimate is trusted only once a change is at most a tenth
    of the one before, as a linear rate r would leave r d' to go where it says r^2 d'."""
    within: NDArray[np.bool_] = (change <= 0.1 * before) & (change**3 <= tol * before**2)
    return within


def refit_stack(wins: FloatArray, initial: FloatArray, *, settle: bool = True) -> FloatArray:
    """choix.ilsr_pairwise_dense's fixed point for every matrix of the stack, started from
    ``initial``, to choix's tolerance: a step that changes the strengths by at most
    ``_TOL`` per item (L1, choix's NormOfDifferenceTest) is the last.

    ``settle=False`` (the bootstrap's refits) also stops where Newton's quadratic
    convergence says the next step would change the strengths by at most that much
    (:func:`next_step_within`). That spares most refits their last step, which would move
    a strength by ~1e-9 (within the tolerance, as choix's own last step may); the point
    fits settle, to ~1e-15 of the fixed point."""
    params = _centred(np.broadcast_to(initial, wins.shape[:-1]).astype(np.float64))
    tol = _TOL * wins.shape[-1]
    met = pair_counts(wins)
    active = np.arange(len(params))
    last = np.full(len(params), np.nan)  # each matrix's previous change (none yet)
    for _ in range(_NEWTON_STEPS):
        updated = newton_step(wins[active], met[active], params[active])
        settled = np.isfinite(updated).all(axis=-1)
        change = np.abs(updated - params[active]).sum(axis=-1)
        done = change <= tol
        if not settle:
            done |= next_step_within(change, last[active], tol)
            last[active] = change
        done &= settled
        params[active[settled]] = updated[settled]
        active = active[~done]
        if active.size == 0:
            return params
    # Newton did not settle (far from the fixed point, or a step lost to overflow):
    # I-LSR from the start, which always converges.
    params[active] = _centred(np.broadcast_to(initial, wins.shape[:-1])[active])
    for _ in range(_MAX_ITER):
        updated = lsr_step(wins[active], params[active])
        done = np.abs(updated - params[active]).sum(axis=-1) <= tol
        params[active] = updated
        active = active[~done]
        if active.size == 0:
            return params
    raise RuntimeError(f"Bradley-Terry refits did not converge in {_MAX_ITER} iterations")


def refit_all(
    stacks: Sequence[FloatArray], initials: Sequence[FloatArray], *, settle: bool = True
) -> list[FloatArray]:
    """``refit_stack(stacks[i], initials[i], settle=settle)`` for every i, stacks of one size run together
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
        for i, part in zip(
            members, np.split(refit_stack(wins, initial, settle=settle), bounds), strict=True
        ):
            fitted[i] = part
    return fitted
