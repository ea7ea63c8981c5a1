"""A digest's inputs aggregated by the database: one row per judgement (reviewer ×
candidate), never one object per rating, so a million ratings fit in arrays.

SQLite groups the ratings and hands over each reviewer's score per scale; the judgement
rule (the mean of a reviewer's 0..1 scores on the scales they used) is then applied in
numpy, the rule :func:`promptbot.verdicts.judgements.judgements_from_rows` applies to
rows. tests/test_digest_inputs.py checks that both give the same digest.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from promptbot.digest.inputs import DigestInputs, PeriodCounts
from promptbot.review.scales import RatingScales
from promptbot.verdicts.evidence import ScaleInfo
from promptbot.verdicts.judgements import Judgements, concat, judgements_from_rows
from storage.evidence import CANDIDATES, archived, candidate_row, pair_votes, run_rows, scale_infos
from storage.store import Store, stamp

_FETCH = 100_000
_NOT_A_TIME = np.iinfo(np.int64).min  # NaT


def _judgements_sql(infos: list[ScaleInfo]) -> tuple[str, dict[str, object]]:
    """One row per (candidate, reviewer): the ratings in the period, then per scale the
    score now and before the start (a reviewer has one rating per candidate and scale, so
    MAX picks it), then the reviewer and the latest rating times (to the microsecond)."""
    params: dict[str, object] = {f"scale{i}": info.name for i, info in enumerate(infos)}
    per_scale = "".join(
        f", MAX(CASE WHEN scale = :scale{i} THEN score END)"
        f", MAX(CASE WHEN scale = :scale{i} AND updated_at < :start THEN score END)"
        for i in range(len(infos))
    )
    names = ", ".join(f":scale{i}" for i in range(len(infos))) or "NULL"
    sql = f"""
        SELECT candidate_id, COUNT(CASE WHEN updated_at >= :start THEN 1 END){per_scale},
               user_id, substr(MAX(updated_at), 1, 26),
               substr(MAX(CASE WHEN updated_at < :start THEN updated_at END), 1, 26)
        FROM ratings
        WHERE updated_at < :end AND scale IN ({names})
        GROUP BY candidate_id, user_id
    """
    return sql, params


def _seconds(stamps: list[Any]) -> np.ndarray:
    """POSIX seconds of stored UTC times (cut to the microsecond, without the offset):
    whole microseconds divided once, the same float datetime.timestamp() gives."""
    micro = np.array(stamps, dtype="datetime64[us]").astype(np.int64)
    seconds: np.ndarray = np.where(micro == _NOT_A_TIME, np.nan, micro / 1_000_000)
    return seconds


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


def load_digest_inputs(
    store: Store, scales: RatingScales, start: datetime, end: datetime
) -> DigestInputs:
    """Everything a digest of ``[start, end)`` needs, aggregated in SQL."""
    db = store.connection()
    low, bound = stamp(start), stamp(end)
    infos = scale_infos(scales)

    candidates = sorted(db.execute(CANDIDATES).fetchall(), key=lambda c: c[0])
    count = len(candidates)
    ids = np.fromiter((c[0] for c in candidates), np.int64, count)
    prompts = tuple(sorted({c[2] for c in candidates}))
    models = tuple(sorted({c[4] for c in candidates}))
    prompt_code = {name: i for i, name in enumerate(prompts)}
    model_code = {name: i for i, name in enumerate(models)}

    def column(index: int) -> np.ndarray:
        return np.fromiter((c[index] or 0 for c in candidates), np.int64, count)

    c_run, c_version, c_slot, c_input, c_chars = (column(i) for i in (1, 3, 11, 12, 13))
    c_prompt = np.fromiter((prompt_code[c[2]] for c in candidates), np.int64, count)
    c_model = np.fromiter((model_code[c[4]] for c in candidates), np.int64, count)

    sql, params = _judgements_sql(infos)
    params.update(start=low, end=bound)
    width = 2 + 2 * len(infos)
    numbers, users, latest_at, before_at = [], [], [], []
    cursor = db.execute(sql, params)
    while rows := cursor.fetchmany(_FETCH):
        numbers.append(np.array([row[:width] for row in rows], dtype=np.float64))
        users += [row[width] for row in rows]
        latest_at += [row[width + 1] for row in rows]
        before_at += [row[width + 2] for row in rows]
    grid = np.concatenate(numbers) if numbers else np.zeros((0, width))
    judged_ids = grid[:, 0].astype(np.int64)
    raw = {info.name: grid[:, 2 + 2 * i] for i, info in enumerate(infos)}
    raw_before = {info.name: grid[:, 3 + 2 * i] for i, info in enumerate(infos)}
    total, n = _combine(raw, infos, len(grid))
    total_before, n_before = _combine(raw_before, infos, len(grid))
    reviewers = tuple(sorted(set(users)))
    code_of = {name: i for i, name in enumerate(reviewers)}
    judged_users = np.fromiter((code_of[u] for u in users), np.int64, len(users))

    where = np.minimum(np.searchsorted(ids, judged_ids), max(count - 1, 0))
    known = (ids[where] == judged_ids) & (n > 0) if count else np.zeros(len(grid), dtype=bool)
    permalinks = {c[1]: c[10] for c in candidates if c[10]}

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
        judged = table(known, total / n, _seconds(latest_at), True)
        judged_before = table(
            known & (n_before > 0), total_before / n_before, _seconds(before_at), False
        )

    # Compare-pair votes: few, read as rows.
    by_id = {c[0]: c for c in candidates}
    pairs = pair_votes(db, by_id, bound)
    counted_pairs = [r for r in pairs if not r.late]
    if counted_pairs:
        judged = concat(judged, judgements_from_rows(counted_pairs, infos))
        before = [r for r in counted_pairs if r.rated_at < start]
        if before:
            judged_before = concat(judged_before, judgements_from_rows(before, infos))

    period = grid[:, 1][known]
    by_prompt = np.bincount(c_prompt[where[known]], period, len(prompts))
    ratings_by_prompt = {prompts[i]: int(k) for i, k in enumerate(by_prompt) if k}
    who = {reviewers[i] for i in np.unique(judged_users[known][period > 0]).tolist()}
    late = 0
    for user_id, candidate_id in db.execute(
        "SELECT user_id, candidate_id FROM late_ratings WHERE updated_at >= ? AND updated_at < ?",
        [low, bound],
    ):
        if candidate_id in by_id:
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
        period_candidates=[candidate_row(c) for c in candidates if low <= c[9] < bound],
        counts=PeriodCounts(counted, late, len(who), ratings_by_prompt),
        scales=infos,
        archived=archived(db),
    )
