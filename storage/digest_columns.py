"""The ratings and candidates a digest needs, read from the database as columns.

SQLite hands them over as a few long strings per slice of ids (one row per slice),
which numpy parses in C: fetching a million rows would make five million Python objects
and cost more than everything else in a digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import distinct, narrow
from promptbot.verdicts.rating_columns import RatingColumns

# Rows are read in slices of this many ids, each slice one row of long strings.
_SLICE = 100_000
_UNIT = "\x1f"  # ASCII's unit separator: never in a Slack user id
# Stored times are read as written, end to end: stamp()'s fixed width
# ("2026-01-02T03:04:05.123456+00:00", always UTC), which numpy cuts apart and reads to
# the microsecond without a Python string per time (SQLite's own date functions would
# cost twice as much and round the fraction to milliseconds).
_STAMP_WIDTH = 32
_STAMP_MARKS = {4: "-", 7: "-", 10: "T", 13: ":", 16: ":", 19: "."}
# A slice with any other form of time (none is written so) is read again as text
# without the offset, comma-separated.
_STAMP = "CASE WHEN substr({0}, 20, 1) = '.' THEN substr({0}, 1, 26) ELSE substr({0}, 1, 19) END"
# A score as text: integers as integers, which SQLite writes several times faster than
# a float (and a configured decimal's 15-digit text reads back as the same float).
_SCORE = "CASE WHEN {0} = CAST({0} AS INTEGER) THEN CAST({0} AS INTEGER) ELSE {0} END"
# Every live candidate as numbers (the prompt by id, the model by name), in slices of
# ids, each slice one row of long strings as the ratings are; the answer's length is
# what the length-bias check needs of it.
_CANDIDATE_COLUMNS = """
    SELECT group_concat(c.id), group_concat(c.run_id), group_concat(v.number),
           group_concat(c.slot), group_concat(c.input_index),
           group_concat(LENGTH(COALESCE(c.output, ''))), group_concat(v.prompt_id),
           group_concat(c.model_name, char(31))
    FROM candidates c
    JOIN runs ON runs.id = c.run_id
    JOIN versions v ON v.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.deleted_at IS NULL AND p.deleted_at IS NULL
      AND c.id >= :first AND c.id < :after
"""


def _ratings_sql(infos: list[ScaleInfo]) -> tuple[str, dict[str, object]]:
    """The counted ratings before the end on a configured scale, in one slice of rowids,
    as one row of comma-separated columns: the scale by its position in ``infos``, the
    time to the microsecond.

    Why one row of strings and not one row per rating: fetching a million rows makes
    five million Python objects and costs more than everything else in a digest, while
    numpy parses the strings in C. No GROUP BY either: grouping judgements through the
    primary key costs SQLite twice the plain scan."""
    params: dict[str, object] = {f"scale{i}": info.name for i, info in enumerate(infos)}
    code = "".join(f" WHEN :scale{i} THEN {i}" for i in range(len(infos)))
    names = ", ".join(f":scale{i}" for i in range(len(infos))) or "NULL"
    sql = f"""
        SELECT group_concat(candidate_id), group_concat(user_id, char(31)),
               group_concat(CASE scale{code} END), group_concat({_SCORE.format("score")}),
               {{times}}, COUNT(*)
        FROM ratings
        WHERE rowid >= :first AND rowid < :after
          AND updated_at < :end AND scale IN ({names})
    """
    return sql, params


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
    """Microseconds since the epoch of comma-separated ``_STAMP`` times."""
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
    sql, params = _ratings_sql(infos)
    fixed_width = sql.format(times="group_concat(updated_at, '')")
    params["end"] = bound
    code_of: dict[str, int] = {}
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
    scale_width = np.int8 if len(infos) < 128 else np.int32
    first, last = db.execute("SELECT MIN(rowid), MAX(rowid) FROM ratings").fetchone()
    for start in range(first or 0, (last or -1) + 1, _SLICE):
        params.update(first=start, after=start + _SLICE)
        candidate, user, scale, score, stamps, count = db.execute(fixed_width, params).fetchone()
        if candidate is None:
            continue  # no counted rating in this slice
        micro = _fixed_width_microseconds(stamps, count)
        if micro is None:
            times = sql.format(times=f"group_concat({_STAMP.format('updated_at')})")
            micro = _microseconds(db.execute(times, params).fetchone()[4])
        users = user.split(_UNIT)
        for name in set(users) - code_of.keys():
            code_of[name] = len(code_of)
        # Ids, reviewers and scales in 32 and 8 bits when they fit: 15 MB less at a
        # million ratings, in the load's peak.
        columns[0].append(narrow(_numbers(candidate, np.int64)))
        columns[1].append(np.fromiter(map(code_of.__getitem__, users), np.int32, len(users)))
        columns[2].append(_numbers(scale, np.int64).astype(scale_width))
        columns[3].append(_numbers(score, np.float64))
        columns[4].append(micro)
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
    model_code: dict[str, int] = {}
    parts: list[list[np.ndarray]] = [[] for _ in range(8)]
    first, last = db.execute("SELECT MIN(id), MAX(id) FROM candidates").fetchone()
    for start in range(first or 0, (last or -1) + 1, _SLICE):
        *numbers, models = db.execute(
            _CANDIDATE_COLUMNS, {"first": start, "after": start + _SLICE}
        ).fetchone()
        if models is None:
            continue  # no live candidate in this slice
        names = models.split(_UNIT)
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
