"""Loading the evidence rankings are computed from. Only lengths of answers are read,
never their text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from promptbot.review.scales import RatingScales
from promptbot.verdicts.evidence import (
    PAIRWISE,
    CandidateRow,
    Evidence,
    RatingRow,
    RunRow,
    ScaleInfo,
)
from storage.store import Store, stamp

# Ratings are read bare and joined to their candidate in Python: 100k rows of five
# columns cost a fraction of 100k rows of the full join.
_RATINGS = (
    "SELECT candidate_id, user_id, scale, score, updated_at FROM {table} WHERE updated_at < ?"
)
# One prompt's: its candidates' ids go in as a JSON list, so the lookup walks the key.
_RATINGS_OF = _RATINGS + " AND candidate_id IN (SELECT value FROM json_each(?))"

_CANDIDATE_COLUMNS = """
    SELECT c.id, c.run_id, p.name AS prompt, v.number AS version, c.model_name, c.tokens_in,
           c.tokens_out, c.latency_ms, c.error IS NOT NULL AS failed, runs.created_at,
           runs.permalink, c.slot, c.input_index, LENGTH(COALESCE(c.output, '')), c.cost,
           c.cached
"""
CANDIDATES = (
    _CANDIDATE_COLUMNS
    + """
    FROM candidates c
    JOIN runs ON runs.id = c.run_id
    -- a baseline candidate belongs to its own version, not to the run's
    JOIN versions v ON v.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.deleted_at IS NULL AND p.deleted_at IS NULL
"""
)
# One prompt's, from the prompt down its versions' runs, so that the lookup walks the
# indexes rather than every candidate; a baseline still counts for its own version.
_CANDIDATES_OF_PROMPT = (
    _CANDIDATE_COLUMNS
    + """
    FROM prompts p
    JOIN versions rv ON rv.prompt_id = p.id
    JOIN runs ON runs.version_id = rv.id
    JOIN candidates c ON c.run_id = runs.id
    JOIN versions v ON v.id = COALESCE(c.version_id, runs.version_id)
    WHERE p.name = ? AND v.prompt_id = p.id AND runs.deleted_at IS NULL
      AND p.deleted_at IS NULL
"""
)

_RUNS = """
    SELECT runs.id, p.name AS prompt, v.number AS version, runs.created_at,
           runs.closed_at IS NOT NULL AS closed, runs.permalink,
           (SELECT COUNT(*) FROM comments WHERE comments.run_id = runs.id
              AND comments.created_at < :until AND comments.deleted_at IS NULL) AS comments
    FROM runs
    JOIN versions v ON v.id = runs.version_id
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.created_at < :until AND runs.deleted_at IS NULL AND p.deleted_at IS NULL
"""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def load_evidence(
    store: Store, scales: RatingScales, until: datetime, prompt: str | None = None
) -> Evidence:
    """Every rating, candidate and run recorded before ``until`` (an aware datetime), read
    on the configured ``scales``; only ``prompt``'s, when it is given (what one prompt's
    standing or champion needs, read through the indexes at any history size)."""
    # Stored times are UTC ISO strings, so they compare correctly as text.
    bound = stamp(until)
    db = store.connection()
    if prompt is None:
        candidate_rows = db.execute(CANDIDATES).fetchall()
    else:
        candidate_rows = db.execute(_CANDIDATES_OF_PROMPT, [prompt]).fetchall()
    by_id = {row[0]: row for row in candidate_rows}
    ratings = []
    for table, late in (("ratings", False), ("late_ratings", True)):
        if prompt is None:
            rows = db.execute(_RATINGS.format(table=table), [bound])
        else:
            ids = json.dumps(list(by_id))
            rows = db.execute(_RATINGS_OF.format(table=table), [bound, ids])
        for candidate_id, user_id, scale, score, rated_at in rows:
            c = by_id.get(candidate_id)
            if c is None:
                continue  # its run or prompt was deleted
            ratings.append(
                _rating_row(c, user_id, scale, score, late, rated_at, slot=c[11], group=c[12])
            )
    candidates = [candidate_row(row) for row in candidate_rows if row[9] < bound]
    runs = run_rows(db, bound, prompt)
    ratings += pair_votes(db, by_id, bound, None if prompt is None else [r.run_id for r in runs])
    return Evidence(ratings, candidates, runs, scale_infos(scales), archived(db, prompt))


def candidate_row(row: Any) -> CandidateRow:
    """A row of ``CANDIDATES`` as the evidence's candidate."""
    return CandidateRow(
        candidate_id=row[0],
        run_id=row[1],
        prompt=row[2],
        version=row[3],
        model=row[4],
        tokens_in=row[5],
        tokens_out=row[6],
        latency_ms=row[7],
        failed=bool(row[8]),
        created_at=_time(row[9]),
        permalink=row[10],
        cost=row[14],
        cached=bool(row[15]),
    )


def run_rows(db: Database, bound: str, prompt: str | None = None) -> list[RunRow]:
    """Every live run created before ``bound`` (``prompt``'s only, if given), with its
    comments before it."""
    sql, params = _RUNS, {"until": bound}
    if prompt is not None:
        sql, params = _RUNS + " AND p.name = :prompt", {"until": bound, "prompt": prompt}
    return [
        RunRow(
            run_id=row[0],
            prompt=row[1],
            version=row[2],
            created_at=_time(row[3]),
            closed=bool(row[4]),
            permalink=row[5],
            comments=row[6],
        )
        for row in db.execute(sql + " ORDER BY runs.id", params).fetchall()
    ]


def archived(db: Database, prompt: str | None = None) -> set[str]:
    sql, params = "SELECT name FROM prompts WHERE archived_at IS NOT NULL", []
    if prompt is not None:
        sql, params = sql + " AND name = ?", [prompt]
    return {row[0] for row in db.execute(sql, params)}


def scale_infos(scales: RatingScales) -> list[ScaleInfo]:
    return [
        ScaleInfo(name, *scales.score_range(name), binary=scales.is_binary(name))
        for name in scales.names
    ]


def score_summary(store: Store) -> list[dict[str, object]]:
    """Per prompt version and scale: rating count and mean score. A plain aggregate, the
    baseline the digest's statistics are measured against."""
    return store.query(
        "SELECT v.id AS version_id, r.scale, COUNT(*) AS n, AVG(r.score) AS mean"
        " FROM ratings r JOIN candidates c ON c.id = r.candidate_id"
        " JOIN runs ON runs.id = c.run_id JOIN versions v ON v.id = runs.version_id"
        " GROUP BY v.id, r.scale"
    )


# A pairwise vote reads as two ratings of the pair on the pairwise scale, so the
# head-to-head rankings take it like any other comparison in one thread.
_PAIR_SCORES = {"left": (1.0, 0.0), "right": (0.0, 1.0), "tie": (0.5, 0.5), "both_bad": (0.0, 0.0)}
_PAIR_VOTES = """
    SELECT pairs.id, pairs.left_id, pairs.right_id, v.user_id, v.choice, v.late, v.updated_at
    FROM pair_votes v JOIN pairs ON pairs.id = v.pair_id
    WHERE v.updated_at < ?
"""


def pair_votes(
    db: Database, by_id: dict[int, Any], bound: str, run_ids: list[int] | None = None
) -> list[RatingRow]:
    """Pairwise votes as ratings, on the runs ``run_ids`` only if given; a pair with an
    answer outside ``by_id`` (a deleted run, or another prompt's) is left out."""
    sql, params = _PAIR_VOTES, [bound]
    if run_ids is not None:
        sql += " AND pairs.run_id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(run_ids))
    rows: list[RatingRow] = []
    for pair_id, left, right, user_id, choice, late, updated_at in db.execute(sql, params):
        if left not in by_id or right not in by_id:
            continue
        for slot, (candidate_id, score) in enumerate(
            zip((left, right), _PAIR_SCORES[choice], strict=True)
        ):
            row = _rating_row(
                by_id[candidate_id], user_id, PAIRWISE, score, bool(late), updated_at,
                slot=slot, group=pair_id,
            )  # fmt: skip
            rows.append(row)
    return rows


def _rating_row(
    candidate: Any,
    user_id: str,
    scale: str,
    score: float,
    late: bool,
    rated_at: str,
    *,
    slot: int,
    group: int,
) -> RatingRow:
    """A rating joined to its candidate's row from ``CANDIDATES``. ``group`` is what
    makes ratings comparable: the input of a review thread, or the pair of a compare."""
    return RatingRow(
        candidate_id=candidate[0],
        run_id=candidate[1],
        prompt=candidate[2],
        version=candidate[3],
        model=candidate[4],
        slot=slot,
        input_index=group,
        output_chars=candidate[13],
        user_id=user_id,
        scale=scale,
        score=score,
        late=late,
        rated_at=datetime.fromisoformat(rated_at),
        permalink=candidate[10],
    )
