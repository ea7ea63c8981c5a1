"""The three tail functions the verdicts need, for whole degrees of freedom.

Written out rather than imported: scipy.special, the only library here that has them,
costs more to load (0.16 s of CPU and 25 MB, most of it scipy's array-API layer) than a
digest of a million ratings spends on everything but its fits, and with whole degrees of
freedom both Student's t and chi-square have exact finite-sum forms (Abramowitz & Stegun
26.7.3-4 and 26.4.4-5). tests/test_distributions.py checks them against scipy.special.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np

_SQRT2 = math.sqrt(2.0)


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / _SQRT2)


def normal_quantile(p: float) -> float:
    """z with P(Z <= z) = p."""
    from statistics import NormalDist

    return NormalDist().inv_cdf(p)


def chi2_sf(df: int, x: float) -> float:
    """P(X > x) for X chi-square with ``df`` (a whole number >= 1) degrees of freedom."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if x <= 0:
        return 1.0
    half = x / 2.0
    if df % 2 == 0:
        # exp(-x/2) * sum over i < df/2 of (x/2)^i / i!
        term = total = 1.0
        for i in range(1, df // 2):
            term *= half / i
            total += term
        return min(1.0, math.exp(-half) * total)
    root = math.sqrt(x)
    # 2 * P(Z > sqrt(x)) + 2 * phi(sqrt(x)) * sum over i <= (df - 1)/2 of x^(i-1/2) / (2i-1)!!
    term, total = root, 0.0
    for i in range(1, (df - 1) // 2 + 1):
        if i > 1:
            term *= x / (2 * i - 1)
        total += term
    density = math.exp(-half) / math.sqrt(2.0 * math.pi)
    return min(1.0, math.erfc(root / _SQRT2) + 2.0 * density * total)


def _t_central(df: int, t: float) -> float:
    """P(|T| < t) for t >= 0, T Student's t with ``df`` degrees of freedom."""
    theta = math.atan(t / math.sqrt(df))
    sin, cos2 = math.sin(theta), math.cos(theta) ** 2
    if df % 2 == 0:
        # sin(θ) * (1 + 1/2 cos²θ + 1·3/(2·4) cos⁴θ + …), df/2 terms
        steps = np.arange(1, df // 2, dtype=np.float64)
        terms = np.cumprod((2 * steps - 1) / (2 * steps) * cos2)
        return sin * (1.0 + float(terms.sum()))
    # 2/π (θ + sin θ cos θ (1 + 2/3 cos²θ + 2·4/(3·5) cos⁴θ + …)), (df - 1)/2 terms
    if df == 1:
        return 2.0 * theta / math.pi
    steps = np.arange(1, (df - 1) // 2, dtype=np.float64)
    terms = np.cumprod((2 * steps) / (2 * steps + 1) * cos2)
    return 2.0 / math.pi * (theta + sin * math.sqrt(cos2) * (1.0 + float(terms.sum())))


@cache
def t_quantile(df: int, p: float) -> float:
    """t with P(T <= t) = p, for p in (0.5, 1) and ``df`` >= 1 (Newton's method on the
    exact distribution function, from the normal quantile)."""
    if df < 1 or not 0.5 < p < 1.0:
        raise ValueError(f"need df >= 1 and 0.5 < p < 1, got df={df}, p={p}")
    target = 2.0 * p - 1.0
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    t = max(normal_quantile(p), 1e-3)
    previous = math.inf
    for _ in range(200):
        density = math.exp(log_norm - (df + 1) / 2 * math.log1p(t * t / df))
        step = (_t_central(df, t) - target) / (2.0 * density)
        # From the normal quantile (below the root) on a concave rise, Newton's steps stay
        # below the root; the guard only keeps t positive.
        t = t - step if t - step > 0 else t / 2
        # Done when the step is negligible, or no longer shrinks once it is tiny (the
        # distribution function's own rounding, with tens of thousands of terms).
        if abs(step) <= 1e-13 * t or (abs(step) >= previous and abs(step) <= 1e-9 * t):
            return t
        previous = abs(step)
    raise RuntimeError(f"t quantile did not converge for df={df}, p={p}")
