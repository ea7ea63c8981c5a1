"""The ratings and candidates a digest needs, as columns: SQLite hands them over as a
few long strings per slice of ids (:mod:`storage.digest_reads`), which numpy parses in C.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import distinct, narrow
from promptbot.verdicts.rating_columns import RatingColumns
from storage.digest_reads import (
    STAMP,
    UNIT,
    Slice,
    candidate_slices,
    rating_slices,
    ratings_sql,
)

# Stored times are read as written, end to end: stamp()'s fixed width
# ("2026-01-02T03:04:05.123456+00:00", always UTC), which numpy cuts apart and reads to
# the microsecond without a Python string per time (SQLite's own date functions would
# cost twice as much and round the fraction to milliseconds).
_STAMP_WIDTH = 32
_STAMP_MARKS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", 19: "."}


def _numbers(text: str, dtype: type) -> np.ndarray:
    parsed: np.ndarray = np.fromstring(text, dtype=dtype, sep=",")
    return parsed


def _fixed_width_microseconds(text: str, count: int) -> np.ndarray | None:
    """Microseconds since the epoch of ``count`` stored times written end to end; None
    unless every one of them has stamp()'s fixed width and form."""
    data = text.encode()
    if len(data) != _STAMP_WIDTH * count:
        return None
    grid = np.frombuffer(data, dtype=np.uint8).reshape(count, _STAMP_WIDTH)
    marks = np.frombuffer("".join(_STAMP_MARKS.values()).encode(), dtype=np.uint8)
    if not (grid[:, list(_STAMP_MARKS)] == marks).all():
        return None
    # Cut to the microsecond (the offset is always +00:00) and read by numpy.
    times = np.frombuffer(data, dtype=f"S{_STAMP_WIDTH}").astype("S26")
    micro: np.ndarray = times.astype("datetime64[us]").astype(np.int64)
    return micro


def _microseconds(text: str) -> np.ndarray:
    """Microseconds since the epoch of comma-separated ``STAMP`` times (:mod:`storage.digest_reads`)."""
    micro: np.ndarray = np.array(text.split(","), dtype="datetime64[us]").astype(np.int64)
    return micro


def _renumber(first_seen: dict[str, int], names: tuple[str, ...]) -> np.ndarray:
    """Codes in order of first sight → codes in name order."""
    table = np.zeros(len(first_seen), dtype=np.int64)
    for position, name in enumerate(names):
        table[first_seen[name]] = position
    return table


def _joined(parts: list[np.ndarray], dtype: type) -> np.ndarray:
    joined = np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
    parts.clear()  # so the pieces are freed as soon as they are joined
    return joined


def read_ratings(db: Any, infos: list[ScaleInfo], bound: str) -> RatingColumns:
    """The counted ratings before ``bound`` on a configured scale, as columns."""
    scales = [info.name for info in infos]
    return ratings_from(db, rating_slices(db, scales, bound), scales)


def ratings_from(db: Any, slices: Iterable[Slice], scales: list[str]) -> RatingColumns:
    """The columns of the ratings read as ``slices``, each parsed as it comes (``db``
    reads a slice again whose times are not all in stamp()'s form)."""
    code_of: dict[str, int] = {}
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
    scale_width = np.int8 if len(scales) < 128 else np.int32
    for row, params in slices:
        candidate, user, scale, score, stamps, count = row
        del row
        micro = _fixed_width_microseconds(stamps, count)
        if micro is None:
            sql, names = ratings_sql(scales, f"group_concat({STAMP.format('updated_at')})")
            micro = _microseconds(db.execute(sql, {**params, **names}).fetchone()[4])
        users = user.split(UNIT)
        for name in set(users) - code_of.keys():
            code_of[name] = len(code_of)
        # Ids, reviewers and scales in 32 and 8 bits when they fit: 15 MB less at a
        # million ratings, in the load's peak.
        columns[0].append(narrow(_numbers(candidate, np.int64)))
        columns[1].append(np.fromiter(map(code_of.__getitem__, users), np.int32, len(users)))
        columns[2].append(_numbers(scale, np.int64).astype(scale_width))
        columns[3].append(_numbers(score, np.float64))
        columns[4].append(micro)
        del candidate, user, scale, score, stamps, users  # before the next slice is taken
    reviewers = tuple(sorted(code_of))
    return RatingColumns(
        candidate=_joined(columns[0], np.int64),
        reviewer=narrow(_renumber(code_of, reviewers))[_joined(columns[1], np.int32)],
        scale=_joined(columns[2], scale_width),
        score=_joined(columns[3], np.float64),
        micro=_joined(columns[4], np.int64),
        reviewers=reviewers,
    )


@dataclass(frozen=True)
class Candidates:
    """Every live candidate, by id: its run, prompt version, model, slot, input and
    answer length; prompts and models are indexes into the names, in name order."""

    ids: np.ndarray
    run: np.ndarray
    prompt: np.ndarray
    version: np.ndarray
    model: np.ndarray
    slot: np.ndarray
    input: np.ndarray
    chars: np.ndarray
    prompts: tuple[str, ...]
    models: tuple[str, ...]

    def position(self, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Where each candidate id is, and whether it is a live candidate at all."""
        if not len(self.ids):
            return np.zeros(len(candidate), np.int64), np.zeros(len(candidate), np.bool_)
        where = np.minimum(np.searchsorted(self.ids, candidate), len(self.ids) - 1)
        return where, self.ids[where] == candidate


def read_candidates(db: Any) -> Candidates:
    prompt_names = dict(db.execute("SELECT id, name FROM prompts").fetchall())
    return candidates_from(candidate_slices(db), prompt_names)


def candidates_from(rows: list[tuple[Any, ...]], prompt_names: dict[int, str]) -> Candidates:
    """The candidates read as ``rows`` (:func:`storage.digest_reads.candidate_slices`)."""
    model_code: dict[str, int] = {}
    parts: list[list[np.ndarray]] = [[] for _ in range(8)]
    for *numbers, models in rows:
        names = models.split(UNIT)
        for name in set(names) - model_code.keys():
            model_code[name] = len(model_code)
        for column, text in zip(parts, numbers, strict=False):
            column.append(_numbers(text, np.int64))
        parts[7].append(np.fromiter(map(model_code.__getitem__, names), np.int64, len(names)))
    ids, run, version, slot, input_, chars, prompt_id, model = (
        _joined(column, np.int64) for column in parts
    )
    order = np.argsort(ids, kind="stable")
    # Prompts in name order: the ids present, by name (names are unique).
    present = distinct(prompt_id, 0)
    prompts = tuple(sorted(prompt_names[int(p)] for p in present))
    position = {name: i for i, name in enumerate(prompts)}
    prompt_table = np.zeros(int(present.max()) + 1 if len(present) else 0, dtype=np.int64)
    for p in present.tolist():
        prompt_table[p] = position[prompt_names[p]]
    models = tuple(sorted(model_code))
    return Candidates(
        ids=narrow(ids[order]),
        run=narrow(run[order]),
        version=narrow(version[order]),
        slot=narrow(slot[order]),
        input=narrow(input_[order]),
        chars=narrow(chars[order]),
        prompt=narrow(prompt_table)[prompt_id[order]],
        model=narrow(_renumber(model_code, models))[model[order]],
        prompts=prompts,
        models=models,
    )
