"""Agreement between the judge and the team beyond chance: Cohen's κ (plain and
weighted) from scikit-learn, Krippendorff's α at the ordinal level from the
``krippendorff`` package, and a bootstrap interval for κ. The libraries load on first
use, not at start-up (tests/test_startup.py); the bootstrap computes κ from resampled
confusion tables in one vectorised pass (checked against scikit-learn on resamples)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

# Approval's labels, in the order κ's tables use.
JUDGE_LABELS = ("yes", "no", "unsure")
# The interval is a 95% percentile bootstrap.
INTERVAL = (2.5, 97.5)


def cohen_kappa(
    judge: Sequence[str | float], team: Sequence[str | float], weights: str | None = None
) -> float:
    """scikit-learn's κ over the labels either side used, in their order (approval's
    yes, no, unsure; stars low to high, which weighted κ needs)."""
    from sklearn.metrics import cohen_kappa_score

    labels = _labels(judge, team)
    if len(labels) < 2:
        return math.nan  # one category only: agreement beyond chance is undefined
    return float(cohen_kappa_score(list(judge), list(team), labels=labels, weights=weights))


def _labels(judge: Sequence[str | float], team: Sequence[str | float]) -> list[str | float]:
    used = set(judge) | set(team)
    if all(isinstance(label, str) for label in used):
        return [label for label in JUDGE_LABELS if label in used]
    return sorted(used, key=float)


def ordinal_alpha(judge: Sequence[float], team: Sequence[float]) -> float:
    """Krippendorff's α at the ordinal level, the judge and the team as two coders."""
    import krippendorff

    if len(set(judge) | set(team)) < 2:
        return math.nan
    return float(
        krippendorff.alpha(
            reliability_data=[list(judge), list(team)], level_of_measurement="ordinal"
        )
    )


def bootstrap_kappa(
    judge: Sequence[str], team: Sequence[str], rounds: int, seed: int
) -> tuple[float, float] | None:
    """A percentile interval for κ, resampling candidates. Each round's κ comes from its
    confusion table, all rounds in one pass; rounds where κ is undefined are skipped."""
    import numpy as np

    labels = _labels(judge, team)
    k = len(labels)
    if k < 2 or not judge:
        return None
    index = {label: i for i, label in enumerate(labels)}
    cells = np.array([index[j] * k + index[t] for j, t in zip(judge, team, strict=True)])
    n = len(cells)
    draws = np.random.default_rng(seed).integers(0, n, size=(rounds, n))
    offsets = np.arange(rounds)[:, None] * (k * k)
    tables = np.bincount((cells[draws] + offsets).ravel(), minlength=rounds * k * k)
    kappas = kappa_from_tables(tables.reshape(rounds, k, k).astype(float))
    kappas = kappas[~np.isnan(kappas)]
    if not len(kappas):
        return None
    low, high = np.percentile(kappas, INTERVAL)
    return float(low), float(high)


def kappa_from_tables(tables: FloatArray) -> FloatArray:
    """Cohen's κ of each confusion table (rows: judge, columns: team) in a stack."""
    import numpy as np

    stack = np.asarray(tables, dtype=float)
    n = stack.sum(axis=(1, 2))
    observed = np.trace(stack, axis1=1, axis2=2) / n
    expected = (stack.sum(axis=2) * stack.sum(axis=1)).sum(axis=1) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = (observed - expected) / (1 - expected)
    result: FloatArray = np.where(np.isclose(expected, 1), np.nan, kappa)
    return result
