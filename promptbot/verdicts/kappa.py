"""Agreement between the judge and the team beyond chance: Cohen's κ (plain and
weighted), Krippendorff's α at the ordinal level from the ``krippendorff`` package, and
a bootstrap interval for κ.

κ is a few lines of numpy over confusion tables, our own rather than scikit-learn's:
scikit-learn would bring scipy into the digest, whose start-up and memory are measured
(tests/test_startup.py). The tests check it against scikit-learn's ``cohen_kappa_score``
(plain and weighted) on known and random tables. numpy and ``krippendorff`` (numpy
only) load on first use; the bootstrap computes κ of every resample in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    FloatArray = NDArray[np.float64]

# Approval's labels, in the order κ's tables use.
JUDGE_LABELS = ("yes", "no", "unsure")
# The interval is a 95% percentile bootstrap.
INTERVAL = (2.5, 97.5)
Weights = Literal["linear", "quadratic"]


def cohen_kappa(
    judge: Sequence[str | float], team: Sequence[str | float], weights: Weights | None = None
) -> float:
    """κ over the labels either side used, in their order (approval's yes, no, unsure;
    stars low to high). Weighted κ weighs a disagreement by the distance between the two
    stars (squared for ``quadratic``), so 1★ against 5★ costs sixteen times 4★ against
    5★; it is scikit-learn's weighted κ over the whole run of stars between them."""
    import numpy as np

    labels = _labels(judge, team)
    if len(labels) < 2:
        return math.nan  # one category only: agreement beyond chance is undefined
    k = len(labels)
    index = {label: i for i, label in enumerate(labels)}
    cells = np.array([index[j] * k + index[t] for j, t in zip(judge, team, strict=True)])
    table = np.bincount(cells, minlength=k * k).reshape(1, k, k).astype(float)
    return float(kappa_from_tables(table, _disagreement(labels, weights))[0])


def _labels(judge: Sequence[str | float], team: Sequence[str | float]) -> list[str | float]:
    used = set(judge) | set(team)
    if all(isinstance(label, str) for label in used):
        return [label for label in JUDGE_LABELS if label in used]
    return sorted(used, key=float)


def _disagreement(labels: Sequence[str | float], weights: Weights | None) -> FloatArray:
    """How much each (judge, team) cell counts as disagreement: 0 on the diagonal; off it
    1 (plain κ), or the distance between the labels' values (their places for text)."""
    import numpy as np

    k = len(labels)
    if weights is None:
        return 1.0 - np.eye(k)
    numeric = all(not isinstance(label, str) for label in labels)
    values = np.array([float(v) for v in labels] if numeric else range(k), dtype=float)
    distance = np.abs(values[:, None] - values[None, :])
    result: FloatArray = distance**2 if weights == "quadratic" else distance
    return result


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


def kappa_from_tables(tables: FloatArray, disagreement: FloatArray | None = None) -> FloatArray:
    """Cohen's κ of each confusion table (rows: judge, columns: team) in a stack:
    1 − observed disagreement / the disagreement expected by chance from the margins.
    ``disagreement`` weighs the cells (default: every off-diagonal cell 1, plain κ).
    NaN where chance alone predicts no disagreement (one label on each side)."""
    import numpy as np

    stack = np.asarray(tables, dtype=float)
    k = stack.shape[-1]
    weights = 1.0 - np.eye(k) if disagreement is None else np.asarray(disagreement, dtype=float)
    n = stack.sum(axis=(1, 2))
    expected = stack.sum(axis=2)[:, :, None] * stack.sum(axis=1)[:, None, :]
    observed_off = (stack * weights).sum(axis=(1, 2)) * n
    expected_off = (expected * weights).sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        kappa = 1 - observed_off / expected_off
    result: FloatArray = np.where(np.isclose(expected_off, 0), np.nan, kappa)
    return result
