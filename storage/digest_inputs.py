"""A digest's inputs read from the database as columns, never one object per rating, so
a million ratings fit in arrays.

SQLite hands over the ratings as a few long strings per slice of rowids, which numpy
parses; :mod:`promptbot.verdicts.rating_columns` groups them into judgements by the rule
:func:`promptbot.verdicts.judgements.judgements_from_rows` applies to rows.
tests/test_digest_inputs.py checks that both give the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import numpy as np

from promptbot.digest.inputs import DigestInputs, PeriodCounts
from promptbot.review.scales import RatingScales
from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import Judgements, concat, distinct, judgements_from_rows
from promptbot.verdicts.rating_columns import (
    BeforeStart,
    RatingColumns,
    Standing,
    group_ratings,
)
from storage.evidence import CANDIDATES, archived, candidate_row, pair_votes, run_rows, scale_infos
from storage.store import Store, stamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ratings are read in slices of this many rowids, each slice one row of long strings.
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
# Whole rows only for the period's candidates (cost and latency) and for those in
# compare pairs (their votes are read as rows).
_KEPT_CANDIDATES = (
    CANDIDATES
    + """ AND ((runs.created_at >= :low AND runs.created_at < :bound)
           OR c.id IN (SELECT left_id FROM pairs UNION ALL SELECT right_id FROM pairs))"""
)


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


def _read_ratings(db: Any, infos: list[ScaleInfo], bound: str) -> RatingColumns:
    sql, params = _ratings_sql(infos)
    fixed_width = sql.format(times="group_concat(updated_at, '')")
    params["end"] = bound
    code_of: dict[str, int] = {}
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
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
        columns[0].append(_numbers(candidate, np.int64))
        columns[1].append(np.fromiter(map(code_of.__getitem__, users), np.int64, len(users)))
        columns[2].append(_numbers(scale, np.int64))
        columns[3].append(_numbers(score, np.float64))
        columns[4].append(micro)
    reviewers = tuple(sorted(code_of))
    return RatingColumns(
        candidate=_joined(columns[0], np.int64),
        reviewer=_renumber(code_of, reviewers)[_joined(columns[1], np.int64)],
        scale=_joined(columns[2], np.int64),
        score=_joined(columns[3], np.float64),
        micro=_joined(columns[4], np.int64),
        reviewers=reviewers,
    )


@dataclass(frozen=True)
class _Candidates:
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


def _read_candidates(db: Any) -> _Candidates:
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
    return _Candidates(
        ids=ids[order],
        run=run[order],
        version=version[order],
        slot=slot[order],
        input=input_[order],
        chars=chars[order],
        prompt=prompt_table[prompt_id[order]],
        model=_renumber(model_code, models)[model[order]],
        prompts=prompts,
        models=models,
    )


def load_digest_inputs(
    store: Store, scales: RatingScales, start: datetime, end: datetime
) -> DigestInputs:
    """Everything a digest of ``[start, end)`` needs, read as columns."""
    db = store.connection()
    low, bound = stamp(start), stamp(end)
    infos = scale_infos(scales)
    candidates = _read_candidates(db)
    kept = db.execute(_KEPT_CANDIDATES, {"low": low, "bound": bound}).fetchall()
    permalinks = dict(
        db.execute("SELECT id, permalink FROM runs WHERE permalink IS NOT NULL").fetchall()
    )
    ratings = _read_ratings(db, infos, bound)
    reviewers = ratings.reviewers
    grouped = group_ratings(ratings, infos, (start - _EPOCH) // timedelta(microseconds=1))
    del ratings

    where, live = candidates.position(grouped.candidate)
    known = live & ~np.isnan(grouped.now.score)
    rows = where[known]
    judged = Judgements(
        candidate=grouped.candidate[known],
        run=candidates.run[rows],
        group=candidates.input[rows],
        pairwise=np.zeros(len(rows), dtype=np.bool_),
        reviewer=grouped.reviewer[known],
        prompt=candidates.prompt[rows],
        version=candidates.version[rows],
        model=candidates.model[rows],
        slot=candidates.slot[rows],
        chars=candidates.chars[rows],
        score=grouped.now.score[known],
        rated_at=grouped.now.rated_at[known],
        prompts=candidates.prompts,
        models=candidates.models,
        reviewers=reviewers,
        scale_scores={k: v[known] for k, v in grouped.now.scale_scores.items()},
        permalinks=permalinks,
    )
    then = grouped.then
    before = BeforeStart(
        Standing(
            score=then.score[known],
            rated_at=then.rated_at[known],
            scale_scores={k: v[known] for k, v in then.scale_scores.items()},
        )
    )

    # Compare-pair votes: few, read as rows.
    by_id = {c[0]: c for c in kept}
    pairs = pair_votes(db, by_id, bound)
    counted_pairs = [r for r in pairs if not r.late]
    if counted_pairs:
        voted = judgements_from_rows(counted_pairs, infos)
        judged = concat(judged, voted)
        before = before.extended(voted)

    period = grouped.in_period[known]
    by_prompt = np.bincount(candidates.prompt[rows], period, len(candidates.prompts))
    ratings_by_prompt = {candidates.prompts[i]: int(k) for i, k in enumerate(by_prompt) if k}
    who = {reviewers[i] for i in distinct(grouped.reviewer[known][period > 0], 0).tolist()}
    del grouped
    late = 0
    for user_id, candidate_id in db.execute(
        "SELECT user_id, candidate_id FROM late_ratings WHERE updated_at >= ? AND updated_at < ?",
        [low, bound],
    ):
        if candidates.position(np.array([candidate_id]))[1][0]:
            late += 1
            who.add(user_id)
    counted = int(period.sum())
    for vote in pairs:
        if vote.rated_at >= start:
            who.add(vote.user_id)
            if vote.late:
                late += 1
            else:
                counted += 1
                ratings_by_prompt[vote.prompt] = ratings_by_prompt.get(vote.prompt, 0) + 1

    return DigestInputs(
        judged=judged,
        before=partial(before.table, judged, start.timestamp()),
        runs=run_rows(db, bound),
        period_candidates=[candidate_row(c) for c in kept if low <= c[9] < bound],
        counts=PeriodCounts(counted, late, len(who), ratings_by_prompt),
        scales=infos,
        archived=archived(db),
    )
