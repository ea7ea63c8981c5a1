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

_FETCH = 20_000
# A stored time without its offset, to the microsecond when it has them (numpy reads
# both; it warns about an offset).
_MICROSECONDS = (
    "CASE WHEN substr({0}, 20, 1) = '.' THEN substr({0}, 1, 26) ELSE substr({0}, 1, 19) END"
)
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
               user_id, {_MICROSECONDS.format("MAX(updated_at)")},
               {_MICROSECONDS.format("MAX(CASE WHEN updated_at < :start THEN updated_at END)")}
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

    # Candidates as columns; whole rows only for the period's (cost and latency) and for
    # those in compare pairs (their votes are read as rows).
    in_pairs = {x for row in db.execute("SELECT left_id, right_id FROM pairs") for x in row}
    kept: list[Any] = []
    parts: list[np.ndarray] = []
    prompt_code: dict[str, int] = {}
    model_code: dict[str, int] = {}
    cursor = db.execute(CANDIDATES)
    while rows := cursor.fetchmany(_FETCH):
        parts.append(
            np.array(
                [
                    (c[0], c[1], c[3], c[11], c[12], c[13] or 0,
                     prompt_code.setdefault(c[2], len(prompt_code)),
                     model_code.setdefault(c[4], len(model_code)))
                    for c in rows
                ],
                dtype=np.int64,
            ).reshape(-1, 8)
        )  # fmt: skip
        kept += [c for c in rows if low <= c[9] < bound or c[0] in in_pairs]
    grid_c = np.concatenate(parts) if parts else np.zeros((0, 8), dtype=np.int64)
    grid_c = grid_c[np.argsort(grid_c[:, 0], kind="stable")]
    ids, c_run, c_version, c_slot, c_input, c_chars = (grid_c[:, i] for i in range(6))
    count = len(ids)
    prompts = tuple(sorted(prompt_code))
    models = tuple(sorted(model_code))
    c_prompt = _renumber(prompt_code, prompts)[grid_c[:, 6]]
    c_model = _renumber(model_code, models)[grid_c[:, 7]]
    permalinks = dict(
        db.execute("SELECT id, permalink FROM runs WHERE permalink IS NOT NULL").fetchall()
    )

    sql, params = _judgements_sql(infos)
    params.update(start=low, end=bound)
    width = 2 + 2 * len(infos)
    numbers, user_parts, latest_parts, before_parts = [], [], [], []
    code_of: dict[str, int] = {}
    cursor = db.execute(sql, params)
    # Chunk by chunk into arrays, so no list of a million strings is ever held.
    while rows := cursor.fetchmany(_FETCH):
        numbers.append(np.array([row[:width] for row in rows], dtype=np.float64))
        user_parts.append(
            np.fromiter(
                (code_of.setdefault(row[width], len(code_of)) for row in rows), np.int64, len(rows)
            )
        )
        latest_parts.append(_seconds([row[width + 1] for row in rows]))
        before_parts.append(_seconds([row[width + 2] for row in rows]))
    grid = np.concatenate(numbers) if numbers else np.zeros((0, width))
    judged_ids = grid[:, 0].astype(np.int64)
    raw = {info.name: grid[:, 2 + 2 * i] for i, info in enumerate(infos)}
    raw_before = {info.name: grid[:, 3 + 2 * i] for i, info in enumerate(infos)}
    total, n = _combine(raw, infos, len(grid))
    total_before, n_before = _combine(raw_before, infos, len(grid))
    # Reviewer codes in name order, as everywhere else.
    reviewers = tuple(sorted(code_of))
    renumber = _renumber(code_of, reviewers)
    judged_users = renumber[np.concatenate(user_parts)] if user_parts else np.zeros(0, np.int64)
    latest = np.concatenate(latest_parts) if latest_parts else np.zeros(0)
    latest_before = np.concatenate(before_parts) if before_parts else np.zeros(0)

    where = np.minimum(np.searchsorted(ids, judged_ids), max(count - 1, 0))
    known = (ids[where] == judged_ids) & (n > 0) if count else np.zeros(len(grid), dtype=bool)

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
