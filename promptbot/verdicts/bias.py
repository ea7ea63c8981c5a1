"""Checks on the reviewers rather than the candidates: position bias and length bias.

Both are tested at the unit the bot randomises, the candidate, and within the same prompt
version and model (a stratum), so a strong model that happened to sit in slot A more
often is not mistaken for a slot effect, and twenty reviewers of one answer are not
twenty independent answers. Each candidate's value is the mean of its judgements (0..1).

* Position: the generalised Cochran-Mantel-Haenszel mean-score test. Within each stratum
  the slots are exchangeable under "no slot effect" (labels are shuffled per run), so the
  sum of the centred values in each slot has known permutation moments; the quadratic
  form of those sums follows a chi-square with (slots - 1) degrees of freedom.
* Length: the same construction for a correlation: log length against the value, both
  centred within the stratum, its permutation variance from the strata, a normal test.

Each result carries ``plain_words``, one sentence a reviewer can act on. A bias is only
called out when it is both statistically clear and large enough to change a ranking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.distributions import chi2_sf, normal_sf

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

MIN_ROWS_PER_SLOT = 10
"""A slot needs this many judgements to take part in the position-bias test."""
MIN_SLOT_SPREAD = 0.10
"""Position bias matters when adjusted slot means differ by this much (0..1 scale)."""
MIN_LENGTH_ROWS = 10
MIN_LENGTH_R = 0.2
"""Length bias matters when the within-stratum correlation is at least this strong."""
SIGNIFICANCE = 0.05


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def slot_label(slot: int) -> str:
    """Display name of a slot: 0 → "A", 1 → "B", …"""
    return chr(ord("A") + slot) if 0 <= slot < 26 else f"#{slot + 1}"


@dataclass(frozen=True)
class Candidates:
    """One entry per rated candidate: its slot, length, stratum (prompt version × model),
    mean judgement and number of judgements."""

    slot: IntArray
    chars: IntArray
    stratum: IntArray
    value: FloatArray
    judgements: IntArray

    def take(self, mask: NDArray[np.bool_]) -> Candidates:
        return Candidates(
            self.slot[mask], self.chars[mask], self.stratum[mask], self.value[mask],
            self.judgements[mask],
        )  # fmt: skip


def _centred(stratum: IntArray, values: FloatArray) -> tuple[FloatArray, IntArray, IntArray]:
    """Values minus their stratum's mean; the dense stratum codes and stratum sizes."""
    _, code = np.unique(stratum, return_inverse=True)
    code = code.reshape(-1)
    sizes = np.bincount(code)
    means = np.bincount(code, values) / sizes
    return values - means[code], code, sizes


@dataclass(frozen=True, slots=True)
class SlotScore:
    """Mean judgement (the approval rate, for 👍/👎 alone) of answers shown in one slot,
    and the same after adjusting for prompt version and model (``adjusted``: its gap from
    the average slot)."""

    slot: int
    label: str
    n: int
    mean_score: float
    adjusted: float


@dataclass(frozen=True)
class PositionBias:
    """Do answers score better just for being shown first (or last)?

    ``spread`` is the best minus the worst adjusted slot mean, on the 0..1 scale;
    ``p_value`` is from the stratified test across slots with ``MIN_ROWS_PER_SLOT``
    judgements.
    """

    slots: tuple[SlotScore, ...]
    p_value: float | None
    spread: float | None
    matters: bool
    plain_words: str


def slot_test(slot: IntArray, value: FloatArray, stratum: IntArray) -> tuple[float, FloatArray]:
    """The stratified (CMH mean-score) test of a slot effect: (p-value, each slot's mean
    centred value, by slot code 0..max)."""
    _, slot_code = np.unique(slot, return_inverse=True)
    slot_code = slot_code.reshape(-1)
    n_slots = int(slot_code.max()) + 1
    centred, code, sizes = _centred(stratum, value)
    sums = np.bincount(slot_code, centred, n_slots)
    in_slot = np.bincount(slot_code, minlength=n_slots)
    per_cell = np.bincount(code * n_slots + slot_code, minlength=len(sizes) * n_slots)
    per_cell = per_cell.reshape(len(sizes), n_slots).astype(np.float64)
    spread_h = np.bincount(code, centred * centred, len(sizes))
    scale = np.where(sizes > 1, spread_h / np.maximum(sizes - 1, 1), 0.0)
    covariance = np.diag(scale @ per_cell) - (per_cell.T * (scale / sizes)) @ per_cell
    df = int(np.linalg.matrix_rank(covariance, tol=1e-10))
    means = sums / np.maximum(in_slot, 1)
    if df == 0:
        return 1.0, means
    statistic = float(sums @ np.linalg.pinv(covariance, rcond=1e-10, hermitian=True) @ sums)
    return chi2_sf(df, statistic), means


def position_bias(candidates: Candidates) -> PositionBias:
    if (candidates.slot < 0).any():
        raise ValueError("display slots start at 0")
    present = np.flatnonzero(np.bincount(candidates.slot))
    counts = {int(s): int(candidates.judgements[candidates.slot == s].sum()) for s in present}
    raw = {
        int(s): float(
            np.average(
                candidates.value[candidates.slot == s],
                weights=candidates.judgements[candidates.slot == s],
            )
        )
        for s in present
    }
    tested = [s for s in counts if counts[s] >= MIN_ROWS_PER_SLOT]
    adjusted: dict[int, float] = {}
    p: float | None = None
    if len(tested) >= 2:
        kept = candidates.take(np.isin(candidates.slot, tested))
        p, means = slot_test(kept.slot, kept.value, kept.stratum)
        adjusted = dict(zip(sorted(tested), means.tolist(), strict=True))
    slots = tuple(
        SlotScore(s, slot_label(s), counts[s], raw[s], adjusted.get(s, math.nan))
        for s in sorted(counts)
    )
    if p is None:
        words = (
            "Not enough ratings to judge position bias yet "
            f"(it needs {MIN_ROWS_PER_SLOT} in each of at least two slots)."
        )
        return PositionBias(slots, None, None, False, words)
    best = max(adjusted, key=lambda s: adjusted[s])
    worst = min(adjusted, key=lambda s: adjusted[s])
    spread = adjusted[best] - adjusted[worst]
    points = round(spread * 100)
    matters = p < SIGNIFICANCE and spread >= MIN_SLOT_SPREAD
    if matters:
        words = (
            f"Position bias matters: the same model and prompt version scores {points} points"
            f" higher in slot {slot_label(best)} than in slot {slot_label(worst)} ({_p_text(p)})."
        )
    else:
        words = (
            "No meaningful position bias: for the same model and prompt version the slots"
            f" differ by at most {points} points ({_p_text(p)})."
        )
    return PositionBias(slots, p, spread, matters, words)


@dataclass(frozen=True)
class LengthBias:
    """Do longer (or shorter) answers score better than others of the same model and
    prompt version? ``r`` is the within-stratum correlation of log length and value."""

    r: float | None
    p_value: float | None
    n: int
    matters: bool
    plain_words: str


def length_test(
    chars: IntArray, value: FloatArray, stratum: IntArray
) -> tuple[float, float] | None:
    """(within-stratum correlation, two-sided p-value); None when either side never
    varies within a stratum."""
    x, code, sizes = _centred(stratum, np.log1p(chars.astype(np.float64)))
    y, _, _ = _centred(stratum, value)
    sxx = np.bincount(code, x * x, len(sizes))
    syy = np.bincount(code, y * y, len(sizes))
    if sxx.sum() <= 1e-12 or syy.sum() <= 1e-12:
        return None
    statistic = float((x * y).sum())
    variance = float((sxx * syy / np.maximum(sizes - 1, 1)).sum())
    if variance <= 0:
        return None
    r = statistic / math.sqrt(float(sxx.sum() * syy.sum()))
    return r, 2 * normal_sf(abs(statistic) / math.sqrt(variance))


def length_bias(candidates: Candidates) -> LengthBias:
    n = int(candidates.judgements.sum())
    if n < MIN_LENGTH_ROWS:
        words = f"Not enough ratings to judge length bias yet ({n} of {MIN_LENGTH_ROWS} needed)."
        return LengthBias(None, None, n, False, words)
    found = length_test(candidates.chars, candidates.value, candidates.stratum)
    if found is None:
        words = (
            "No length bias can be measured: within each model and prompt version every"
            f" length or every score is the same (n = {n})."
        )
        return LengthBias(None, None, n, False, words)
    r, p = found
    matters = abs(r) >= MIN_LENGTH_R and p < SIGNIFICANCE
    figures = f"r = {r:.2f} within model and prompt version, {_p_text(p)}, n = {n}"
    if matters:
        direction = "longer" if r > 0 else "shorter"
        words = f"Length bias matters: {direction} answers score higher ({figures})."
    else:
        words = f"No meaningful length bias ({figures})."
    return LengthBias(r, p, n, matters, words)
