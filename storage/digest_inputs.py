"""A digest's inputs read from the database as columns, never one object per rating, so
a million ratings fit in arrays.

SQLite hands over the ratings and candidates as columns (:mod:`storage.digest_columns`);
:mod:`promptbot.verdicts.rating_columns` groups the ratings into judgements by the rule
:func:`promptbot.verdicts.judgements.judgements_from_rows` applies to rows.
tests/test_digest_inputs.py checks that both give the same digest.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import numpy as np

from promptbot.digest.inputs import DigestInputs, PeriodCounts
from promptbot.review.scales import RatingScales
from promptbot.verdicts.judgements import (
    Judgements,
    concat,
    distinct,
    judgements_from_rows,
    narrow,
)
from promptbot.verdicts.rating_columns import BeforeStart, Standing, group_ratings
from storage.digest_columns import candidates_from, ratings_from
from storage.digest_reads import Reading, read
from storage.evidence import CANDIDATES, archived, candidate_row, pair_votes, run_rows, scale_infos
from storage.store import Store, stamp

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Whole rows only for the period's candidates (cost and latency) and for those in
# compare pairs (their votes are read as rows).
_KEPT_CANDIDATES = (
    CANDIDATES
    + """ AND ((runs.created_at >= :low AND runs.created_at < :bound)
           OR c.id IN (SELECT left_id FROM pairs UNION ALL SELECT right_id FROM pairs))"""
)


def load_digest_inputs(
    store: Store,
    scales: RatingScales,
    start: datetime,
    end: datetime,
    reading: Reading | None = None,
) -> DigestInputs:
    """Everything a digest of ``[start, end)`` needs, read as columns. ``reading``: the
    long reads, started already (:func:`storage.digest_reads.start_reading`, with the
    configured scales' names and ``stamp(end)``)."""
    db = store.connection()
    low, bound = stamp(start), stamp(end)
    infos = scale_infos(scales)
    names = [info.name for info in infos]
    raw = reading.result() if reading is not None else read(db, names, bound)
    candidates = candidates_from(raw.candidates, raw.prompt_names)
    kept = db.execute(_KEPT_CANDIDATES, {"low": low, "bound": bound}).fetchall()
    permalinks = dict(
        db.execute("SELECT id, permalink FROM runs WHERE permalink IS NOT NULL").fetchall()
    )
    ratings = ratings_from(db, raw.ratings, names)
    del raw
    reviewers = ratings.reviewers
    grouped = group_ratings(ratings, infos, (start - _EPOCH) // timedelta(microseconds=1))
    del ratings

    where, live = candidates.position(grouped.candidate)
    known = live & ~np.isnan(grouped.now.score)
    every = bool(known.all())

    def kept_only(values: np.ndarray) -> np.ndarray:
        # Usually every judgement is kept: then the columns are taken as they are, not
        # copied (at a million ratings each copy is ~5 MB, a dozen at the peak of a load).
        return values if every else values[known]

    rows = kept_only(where)
    del where
    now = grouped.now
    judged = Judgements(
        candidate=narrow(kept_only(grouped.candidate)),
        run=candidates.run[rows],
        group=candidates.input[rows],
        pairwise=np.zeros(len(rows), dtype=np.bool_),
        reviewer=narrow(kept_only(grouped.reviewer)),
        prompt=candidates.prompt[rows],
        version=candidates.version[rows],
        model=candidates.model[rows],
        slot=candidates.slot[rows],
        chars=candidates.chars[rows],
        score=kept_only(now.score),
        rated_at=kept_only(now.rated_at),
        prompts=candidates.prompts,
        models=candidates.models,
        reviewers=reviewers,
        scale_scores={k: kept_only(v) for k, v in now.scale_scores.items()},
        permalinks=permalinks,
    )
    # The judgements rated in the period, as rows of the judged table.
    then, changed = grouped.then, grouped.changed
    if not every:
        still = known[changed]
        changed = (np.cumsum(known) - 1)[changed[still]]
        then = Standing(
            score=then.score[still],
            rated_at=then.rated_at[still],
            scale_scores={k: v[still] for k, v in then.scale_scores.items()},
        )
    before = BeforeStart(changed, then)

    # Compare-pair votes: few, read as rows.
    by_id = {c[0]: c for c in kept}
    pairs = pair_votes(db, by_id, bound)
    counted_pairs = [r for r in pairs if not r.late]
    if counted_pairs:
        voted = judgements_from_rows(counted_pairs, infos)
        judged = concat(judged, voted)

    period = kept_only(grouped.in_period)
    by_prompt = np.bincount(candidates.prompt[rows], period, len(candidates.prompts))
    ratings_by_prompt = {candidates.prompts[i]: int(k) for i, k in enumerate(by_prompt) if k}
    who = {reviewers[i] for i in distinct(kept_only(grouped.reviewer)[period > 0], 0).tolist()}
    del grouped, now, then
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
