"""Judgements: the unit every verdict counts. One judgement is one reviewer's opinion of
one candidate, however many scales they used to give it.

The combining rule (also in the README, "Rankings and the digest"): each score is first
read on 0..1, the scale's lowest score being 0 and its highest 1 (👎 0, 👍 1; 1 star 0,
3 stars 0.5, 5 stars 1). A reviewer's judgement of a candidate is the mean of their 0..1
scores on the rating scales they used: 👍 alone is 1, 👍 with 3 stars is 0.75. The same
judgement feeds the leaderboard, the head-to-head comparisons and the bias checks, so
giving a second scale never counts twice.

A vote on a compare pair (:a:, :b:, tie, both bad) is a judgement of its own, on the
pairwise scale: it compares only the two answers of that pair.

The table is columnar (numpy arrays, one entry per judgement) so that it can be built
from rating rows here, or aggregated by the database, and the verdicts never walk
per-rating objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from promptbot.verdicts.evidence import PAIRWISE, RatingRow, ScaleInfo

IntArray = NDArray[np.int64]
# A column of codes or ids: 32 bits when they fit (half the memory of a million-rating
# digest's tables), else 64.
Codes = NDArray[np.signedinteger[Any]]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def scale_table(scales: Sequence[ScaleInfo]) -> dict[str, ScaleInfo]:
    """The configured scales and the pairwise one (0..1). Ratings on a scale that is no
    longer configured are left out: nothing says how to read them."""
    table = {scale.name: scale for scale in scales}
    table.setdefault(PAIRWISE, ScaleInfo(PAIRWISE, 0.0, 1.0, False))
    return table


def normalise(score: float, scale: ScaleInfo) -> float:
    """A score on 0..1: the scale's lowest score is 0, its highest 1."""
    span = scale.high - scale.low
    return (score - scale.low) / span if span > 0 else 0.0


@dataclass(frozen=True)
class Judgements:
    """One entry per judgement, in arrays of equal length.

    ``group`` is what makes judgements comparable inside a run: the input of a review
    thread, or the pair of a compare thread (``pairwise`` True). ``scale_scores`` holds,
    per rating scale, the raw score the reviewer gave on it (NaN: that scale unused).
    """

    candidate: Codes
    run: Codes
    group: Codes
    pairwise: BoolArray
    reviewer: Codes  # index into reviewers
    prompt: Codes  # index into prompts
    version: Codes  # version number
    model: Codes  # index into models
    slot: Codes  # display position: 0 = Candidate A
    chars: Codes  # length of the answer
    score: FloatArray  # the judgement, on 0..1
    rated_at: FloatArray  # POSIX time of the latest rating in it
    prompts: tuple[str, ...]
    models: tuple[str, ...]
    reviewers: tuple[str, ...]
    scale_scores: dict[str, FloatArray] = field(default_factory=dict)
    permalinks: dict[int, str] = field(default_factory=dict)  # run id: thread link

    def __len__(self) -> int:
        return len(self.score)

    def take(self, mask: BoolArray | IntArray) -> Judgements:
        """The judgements a boolean mask (or index array) selects."""
        columns = {
            name: getattr(self, name)[mask]
            for name in (
                "candidate", "run", "group", "pairwise", "reviewer", "prompt", "version",
                "model", "slot", "chars", "score", "rated_at",
            )
        }  # fmt: skip
        return Judgements(
            **columns,
            prompts=self.prompts,
            models=self.models,
            reviewers=self.reviewers,
            scale_scores={name: values[mask] for name, values in self.scale_scores.items()},
            permalinks=self.permalinks,
        )

    @property
    def rated(self) -> Judgements:
        """The judgements given on rating scales (compare-pair votes left out); the table
        itself when it has no votes (the columns are read-only in use, and a copy of a
        million-rating table is ~80 MB)."""
        if not self.pairwise.any():
            return self
        return self.take(~self.pairwise)


def _codes(values: list[str]) -> tuple[tuple[str, ...], IntArray]:
    names = sorted(set(values))
    index = {name: i for i, name in enumerate(names)}
    return tuple(names), np.fromiter((index[v] for v in values), np.int64, len(values))


def dense_unique(values: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(values, return_inverse=True)`` for integers: by a lookup table when
    their range is small (no sort: the digest codes millions of ids this way)."""
    values = np.asarray(values).reshape(-1)  # 32-bit values stay so: half the copies
    if not len(values):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if values.dtype.kind not in "iu":
        values = values.astype(np.int64)
    low, high = int(values.min()), int(values.max())
    # The table takes 5 bytes per number in the range, in one block: wider than this it
    # leaves the peak of a million-rating digest ~40 MB higher than a sort does.
    if high - low > max(4 * len(values), 1 << 16):
        unique, inverse = np.unique(values, return_inverse=True)
        return unique.astype(np.int64), np.asarray(inverse, dtype=np.int64).reshape(-1)
    offset = values - low if low else values
    present = np.zeros(high - low + 1, dtype=np.bool_)
    present[offset] = True
    # Ranks in 32 bits when they fit: the table can be ten times longer than the values.
    rank = np.cumsum(present, dtype=np.int32 if len(present) < 2**31 else np.int64)
    position = rank[offset]
    del rank, offset  # the largest arrays here go before the codes are widened
    coded: IntArray = position.astype(np.int64)
    coded -= 1
    return np.flatnonzero(present) + low, coded


def narrow(values: Codes) -> Codes:
    """Integers in 32 bits when they fit, else as they are: the judgement tables of a
    million ratings take half the memory. (Arithmetic on them widens first: see
    dense_codes.)"""
    if values.dtype == np.int32 or not len(values):
        return values
    bounds = np.iinfo(np.int32)
    if bounds.min <= int(values.min()) and int(values.max()) <= bounds.max:
        return values.astype(np.int32)
    return values


def distinct(values: IntArray, size: int) -> IntArray:
    """The distinct values, in order, of integers known to lie in ``[0, size)``: by a
    count (``np.unique`` would sort them)."""
    return np.flatnonzero(np.bincount(values, minlength=size))


def dense_inverse(values: IntArray) -> IntArray:
    """``np.unique(values, return_inverse=True)[1]`` for integers (see dense_unique)."""
    return dense_unique(values)[1]


def dense_codes(*columns: IntArray) -> IntArray:
    """One dense code per distinct row of the columns, in the rows' sorted order."""
    if not len(columns[0]):
        return np.zeros(0, dtype=np.int64)
    code = np.zeros(len(columns[0]), dtype=np.int64)
    for column in columns:
        values = np.asarray(column, dtype=np.int64)
        low = int(values.min())
        code = dense_inverse(code * (int(values.max()) - low + 1) + (values - low))
    return code


def judgements_from_rows(rows: Sequence[RatingRow], scales: Sequence[ScaleInfo]) -> Judgements:
    """Combine rating rows into judgements (the rule is in the module docstring)."""
    table = scale_table(scales)
    rows = [row for row in rows if row.scale in table]
    rating_scales = [name for name in table if name != PAIRWISE]
    slot_of = {name: i for i, name in enumerate(rating_scales)}
    key_of: dict[tuple[str, int, int, bool], int] = {}
    first: list[RatingRow] = []
    totals: list[float] = []
    counts: list[int] = []
    latest: list[float] = []
    raw: list[list[float]] = []
    for row in rows:
        pairwise = row.scale == PAIRWISE
        key = (row.user_id, row.candidate_id, row.input_index if pairwise else -1, pairwise)
        at = row.rated_at.timestamp()
        value = normalise(row.score, table[row.scale])
        i = key_of.get(key)
        if i is None:
            key_of[key] = len(first)
            first.append(row)
            totals.append(value)
            counts.append(1)
            latest.append(at)
            raw.append([np.nan] * len(rating_scales))
            i = len(first) - 1
        else:
            totals[i] += value
            counts[i] += 1
            latest[i] = max(latest[i], at)
        if not pairwise:
            raw[i][slot_of[row.scale]] = row.score
    n = len(first)
    raw_array = np.array(raw, dtype=np.float64).reshape(n, len(rating_scales))
    prompts, prompt_codes = _codes([r.prompt for r in first])
    models, model_codes = _codes([r.model for r in first])
    reviewers, reviewer_codes = _codes([r.user_id for r in first])

    def column(name: str) -> IntArray:
        return np.fromiter((getattr(r, name) for r in first), np.int64, n)

    return Judgements(
        candidate=column("candidate_id"),
        run=column("run_id"),
        group=column("input_index"),
        pairwise=np.fromiter((r.scale == PAIRWISE for r in first), np.bool_, n),
        reviewer=reviewer_codes,
        prompt=prompt_codes,
        version=column("version"),
        model=model_codes,
        slot=column("slot"),
        chars=column("output_chars"),
        score=np.asarray(totals, dtype=np.float64) / np.maximum(np.asarray(counts), 1),
        rated_at=np.asarray(latest, dtype=np.float64),
        prompts=prompts,
        models=models,
        reviewers=reviewers,
        scale_scores={name: raw_array[:, i] for name, i in slot_of.items()},
        permalinks={r.run_id: r.permalink for r in first if r.permalink},
    )


def _recode(codes: IntArray, names: tuple[str, ...], merged: tuple[str, ...]) -> IntArray:
    position = {name: i for i, name in enumerate(merged)}
    table = np.array([position[name] for name in names], dtype=np.int64)
    return table[codes] if len(codes) else codes


def concat(first: Judgements, second: Judgements) -> Judgements:
    """Both tables as one (the name tables merged and the codes rewritten to match)."""
    merged = {
        field: tuple(sorted(set(getattr(first, field)) | set(getattr(second, field))))
        for field in ("prompts", "models", "reviewers")
    }
    coded = {"prompt": "prompts", "model": "models", "reviewer": "reviewers"}
    columns: dict[str, np.ndarray] = {}
    for name in (
        "candidate", "run", "group", "pairwise", "reviewer", "prompt", "version", "model",
        "slot", "chars", "score", "rated_at",
    ):  # fmt: skip
        parts = [getattr(first, name), getattr(second, name)]
        if name in coded:
            table = coded[name]
            parts = [
                _recode(part, getattr(source, table), merged[table])
                for part, source in zip(parts, (first, second), strict=True)
            ]
        columns[name] = np.concatenate(parts)
    # In order (the first table's scales, then any new ones): the agreement checks are
    # reported per scale in this order.
    scales = [*first.scale_scores, *(n for n in second.scale_scores if n not in first.scale_scores)]
    scale_scores = {
        name: np.concatenate(
            [
                source.scale_scores.get(name, np.full(len(source), np.nan))
                for source in (first, second)
            ]
        )
        for name in scales
    }
    return Judgements(
        **columns,
        prompts=merged["prompts"],
        models=merged["models"],
        reviewers=merged["reviewers"],
        scale_scores=scale_scores,
        permalinks={**first.permalinks, **second.permalinks},
    )
