"""A digest's inputs aggregated by the database: one row per judgement (reviewer ×
candidate), never one object per rating, so a million ratings fit in arrays.

SQLite groups the ratings and hands over each reviewer's score per scale; the judgement
rule (the mean of a reviewer's 0..1 scores on the scales they used) is then applied in
numpy, the rule :func:`promptbot.verdicts.judgements.judgements_from_rows` applies to
rows. tests/test_digest_inputs.py checks that both give the same digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from promptbot.digest.inputs import DigestInputs, PeriodCounts
from promptbot.review.scales import RatingScales
from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import Judgements, concat, judgements_from_rows
from storage.evidence import CANDIDATES, archived, candidate_row, pair_votes, run_rows, scale_infos
from storage.store import Store, stamp

_FETCH = 20_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Ratings are read in slices of this many rowids, each slice one row of long strings.
_SLICE = 100_000
_UNIT = "\x1f"  # ASCII's unit separator: never in a Slack user id
# A stored time ("2026-01-02T03:04:05.123456+00:00", always UTC) without its offset,
# which numpy reads to the microsecond; SQLite's own date functions would cost twice as
# much and round the fraction to milliseconds.
_STAMP = "CASE WHEN substr({0}, 20, 1) = '.' THEN substr({0}, 1, 26) ELSE substr({0}, 1, 19) END"
# A score as text: integers as integers, which SQLite writes several times faster than
# a float (and a configured decimal's 15-digit text reads back as the same float).
_SCORE = "CASE WHEN {0} = CAST({0} AS INTEGER) THEN CAST({0} AS INTEGER) ELSE {0} END"


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
               group_concat({_STAMP.format("updated_at")})
        FROM ratings
        WHERE rowid >= :first AND rowid < :after
          AND updated_at < :end AND scale IN ({names})
    """
    return sql, params


@dataclass(frozen=True)
class _Ratings:
    """Rating columns, one entry per rating; reviewers coded in name order."""

    candidate: np.ndarray
    reviewer: np.ndarray
    scale: np.ndarray
    score: np.ndarray
    micro: np.ndarray
    reviewers: tuple[str, ...]


def _numbers(text: str, dtype: type) -> np.ndarray:
    parsed: np.ndarray = np.fromstring(text, dtype=dtype, sep=",")
    return parsed


def _microseconds(text: str) -> np.ndarray:
    """Microseconds since the epoch of comma-separated ``_STAMP`` times."""
    micro: np.ndarray = np.array(text.split(","), dtype="datetime64[us]").astype(np.int64)
    return micro


def _read_ratings(db: Any, infos: list[ScaleInfo], bound: str) -> _Ratings:
    sql, params = _ratings_sql(infos)
    params["end"] = bound
    code_of: dict[str, int] = {}
    columns: list[list[np.ndarray]] = [[], [], [], [], []]
    first, last = db.execute("SELECT MIN(rowid), MAX(rowid) FROM ratings").fetchone()
    for start in range(first or 0, (last or -1) + 1, _SLICE):
        params.update(first=start, after=start + _SLICE)
        candidate, user, scale, score, micro = db.execute(sql, params).fetchone()
        if candidate is None:
            continue  # no counted rating in this slice
        users = user.split(_UNIT)
        for name in set(users) - code_of.keys():
            code_of[name] = len(code_of)
        columns[0].append(_numbers(candidate, np.int64))
        columns[1].append(np.fromiter(map(code_of.__getitem__, users), np.int64, len(users)))
        columns[2].append(_numbers(scale, np.int64))
        columns[3].append(_numbers(score, np.float64))
        columns[4].append(_microseconds(micro))
    candidate, user, scale, score, micro = (
        np.concatenate(parts) if parts else np.zeros(0, dtype=dtype)
        for parts, dtype in zip(columns, _DTYPES, strict=True)
    )
    reviewers = tuple(sorted(code_of))
    return _Ratings(candidate, _renumber(code_of, reviewers)[user], scale, score, micro, reviewers)


_DTYPES = (np.int64, np.int64, np.int64, np.float64, np.int64)


# Every live candidate as numbers (the prompt and model by name); the answer's length
# is what the length-bias check needs of it.
_CANDIDATE_COLUMNS = """
    SELECT c.id, c.run_id, v.number, c.slot, c.input_index, LENGTH(COALESCE(c.output, '')),
           p.name, c.model_name
    FROM candidates c
    JOIN runs ON runs.id = c.run_id
    JOIN versions v ON v.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.deleted_at IS NULL AND p.deleted_at IS NULL
"""
_KEPT_CANDIDATES = (
    CANDIDATES
    + """ AND ((runs.created_at >= :low AND runs.created_at < :bound)
           OR c.id IN (SELECT left_id FROM pairs UNION ALL SELECT right_id FROM pairs))"""
)


def _combine(
    raw: dict[str, np.ndarray], infos: list[ScaleInfo], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per judgement, the sum and the number of its 0..1 scores on the scales used."""
    total, used = np.zeros(n), np.zeros(n)
    for info in infos:
        values = raw[info.name]
        given = ~np.isnan(values)
        span = (info.high - info.low) or 1.0
        total += np.where(given, (values - info.low) / span, 0.0)
        used += given
    return total, used


def _renumber(first_seen: dict[str, int], names: tuple[str, ...]) -> np.ndarray:
    """Codes in order of first sight → codes in name order."""
    table = np.zeros(len(first_seen), dtype=np.int64)
    for position, name in enumerate(names):
        table[first_seen[name]] = position
    return table


def _known(ids: np.ndarray, candidate_id: int) -> bool:
    i = int(np.searchsorted(ids, candidate_id))
    return i < len(ids) and int(ids[i]) == candidate_id


def load_digest_inputs(
    store: Store, scales: RatingScales, start: datetime, end: datetime
) -> DigestInputs:
    """Everything a digest of ``[start, end)`` needs, aggregated in SQL."""
    db = store.connection()
    low, bound = stamp(start), stamp(end)
    infos = scale_infos(scales)

    # Candidates as columns.
    parts: list[np.ndarray] = []
    prompt_code: dict[str, int] = {}
    model_code: dict[str, int] = {}
    cursor = db.execute(_CANDIDATE_COLUMNS)
    while rows := cursor.fetchmany(_FETCH):
        *numbers, prompt, model = zip(*rows, strict=True)
        for codes, names in ((prompt_code, prompt), (model_code, model)):
            for name in set(names) - codes.keys():
                codes[name] = len(codes)
        parts.append(
            np.column_stack(
                [
                    *(np.array(column, dtype=np.int64) for column in numbers),
                    np.fromiter(map(prompt_code.__getitem__, prompt), np.int64, len(rows)),
                    np.fromiter(map(model_code.__getitem__, model), np.int64, len(rows)),
                ]
            )
        )
    grid_c = np.concatenate(parts) if parts else np.zeros((0, 8), dtype=np.int64)
    grid_c = grid_c[np.argsort(grid_c[:, 0], kind="stable")]
    ids, c_run, c_version, c_slot, c_input, c_chars = (grid_c[:, i] for i in range(6))
    count = len(ids)
    prompts = tuple(sorted(prompt_code))
    models = tuple(sorted(model_code))
    c_prompt = _renumber(prompt_code, prompts)[grid_c[:, 6]]
    c_model = _renumber(model_code, models)[grid_c[:, 7]]
    # Whole rows only for the period's candidates (cost and latency) and for those in
    # compare pairs (their votes are read as rows).
    kept = db.execute(_KEPT_CANDIDATES, {"low": low, "bound": bound}).fetchall()
    permalinks = dict(
        db.execute("SELECT id, permalink FROM runs WHERE permalink IS NOT NULL").fetchall()
    )

    ratings = _read_ratings(db, infos, bound)
    reviewers = ratings.reviewers
    # One judgement per (candidate, reviewer), in that order; each rating lands in its
    # judgement's column for its scale (one rating per candidate, reviewer and scale).
    keys, judgement = np.unique(
        ratings.candidate * max(len(reviewers), 1) + ratings.reviewer, return_inverse=True
    )
    judgement = judgement.reshape(-1)
    judged_ids = keys // max(len(reviewers), 1)
    judged_users = keys % max(len(reviewers), 1)
    before = ratings.micro < (start - _EPOCH) // timedelta(microseconds=1)
    seconds = ratings.micro / 1_000_000  # the float datetime.timestamp() gives
    raw: dict[str, np.ndarray] = {}
    raw_before: dict[str, np.ndarray] = {}
    at, at_before = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
    for i, info in enumerate(infos):
        on_scale = ratings.scale == i
        for scores, times, chosen in (
            (raw, at, on_scale),
            (raw_before, at_before, on_scale & before),
        ):
            values, when = np.full(len(keys), np.nan), np.full(len(keys), np.nan)
            values[judgement[chosen]] = ratings.score[chosen]
            when[judgement[chosen]] = seconds[chosen]
            scores[info.name] = values
            np.fmax(times, when, out=times)
    total, n = _combine(raw, infos, len(keys))
    total_before, n_before = _combine(raw_before, infos, len(keys))
    period = np.bincount(judgement, ~before, len(keys))
    latest, latest_before = at, at_before

    where = np.minimum(np.searchsorted(ids, judged_ids), max(count - 1, 0))
    known = (ids[where] == judged_ids) & (n > 0) if count else np.zeros(len(keys), dtype=bool)

    def table(mask: np.ndarray, score: np.ndarray, at: np.ndarray, scored: bool) -> Judgements:
        rows = where[mask]
        return Judgements(
            candidate=judged_ids[mask],
            run=c_run[rows],
            group=c_input[rows],
            pairwise=np.zeros(len(rows), dtype=np.bool_),
            reviewer=judged_users[mask],
            prompt=c_prompt[rows],
            version=c_version[rows],
            model=c_model[rows],
            slot=c_slot[rows],
            chars=c_chars[rows],
            score=score[mask],
            rated_at=at[mask],
            prompts=prompts,
            models=models,
            reviewers=reviewers,
            scale_scores={k: v[mask] for k, v in (raw if scored else raw_before).items()},
            permalinks=permalinks,
        )

    with np.errstate(invalid="ignore", divide="ignore"):
        judged = table(known, total / n, latest, True)
        judged_before = table(known & (n_before > 0), total_before / n_before, latest_before, False)

    # Compare-pair votes: few, read as rows.
    by_id = {c[0]: c for c in kept}
    pairs = pair_votes(db, by_id, bound)
    counted_pairs = [r for r in pairs if not r.late]
    if counted_pairs:
        judged = concat(judged, judgements_from_rows(counted_pairs, infos))
        pairs_before = [r for r in counted_pairs if r.rated_at < start]
        if pairs_before:
            judged_before = concat(judged_before, judgements_from_rows(pairs_before, infos))

    period = period[known]
    by_prompt = np.bincount(c_prompt[where[known]], period, len(prompts))
    ratings_by_prompt = {prompts[i]: int(k) for i, k in enumerate(by_prompt) if k}
    who = {reviewers[i] for i in np.unique(judged_users[known][period > 0]).tolist()}
    late = 0
    for user_id, candidate_id in db.execute(
        "SELECT user_id, candidate_id FROM late_ratings WHERE updated_at >= ? AND updated_at < ?",
        [low, bound],
    ):
        if _known(ids, candidate_id):
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
        judged_before=judged_before,
        runs=run_rows(db, bound),
        period_candidates=[candidate_row(c) for c in kept if low <= c[9] < bound],
        counts=PeriodCounts(counted, late, len(who), ratings_by_prompt),
        scales=infos,
        archived=archived(db),
    )
