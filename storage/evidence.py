"""Loading the evidence rankings are computed from. Only lengths of answers are read,
never their text."""

from __future__ import annotations

from datetime import UTC, datetime

from promptbot.config import AppConfig
from promptbot.evidence import CandidateRow, Evidence, RatingRow, RunRow, ScaleInfo
from storage.store import Store

_RATINGS = """
    SELECT r.candidate_id, c.run_id, p.name AS prompt, v.number AS version, c.model_name,
           c.slot, c.input_index, LENGTH(COALESCE(c.output, '')) AS output_chars,
           r.user_id, r.scale, r.score, r.updated_at, runs.permalink, {late} AS late
    FROM {table} AS r
    JOIN candidates c ON c.id = r.candidate_id
    JOIN runs ON runs.id = c.run_id
    JOIN versions v ON v.id = runs.version_id
    JOIN prompts p ON p.id = v.prompt_id
    WHERE r.updated_at < ?
"""

_CANDIDATES = """
    SELECT c.id, c.run_id, p.name AS prompt, v.number AS version, c.model_name, c.tokens_in,
           c.tokens_out, c.latency_ms, c.error IS NOT NULL AS failed, runs.created_at,
           runs.permalink
    FROM candidates c
    JOIN runs ON runs.id = c.run_id
    JOIN versions v ON v.id = runs.version_id
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.created_at < ?
"""

_RUNS = """
    SELECT runs.id, p.name AS prompt, v.number AS version, runs.created_at,
           runs.closed_at IS NOT NULL AS closed, runs.permalink,
           (SELECT COUNT(*) FROM comments WHERE comments.run_id = runs.id
              AND comments.created_at < :until) AS comments
    FROM runs
    JOIN versions v ON v.id = runs.version_id
    JOIN prompts p ON p.id = v.prompt_id
    WHERE runs.created_at < :until
"""


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def load_evidence(store: Store, config: AppConfig, until: datetime) -> Evidence:
    """Every rating, candidate and run recorded before ``until`` (an aware datetime)."""
    # Stored times are UTC ISO strings, so they compare correctly as text.
    bound = until.astimezone(UTC).isoformat(timespec="seconds")
    db = store.connection()
    ratings = [
        RatingRow(
            candidate_id=row[0],
            run_id=row[1],
            prompt=row[2],
            version=row[3],
            model=row[4],
            slot=row[5],
            input_index=row[6],
            output_chars=row[7],
            user_id=row[8],
            scale=row[9],
            score=row[10],
            rated_at=_time(row[11]),
            permalink=row[12],
            late=bool(row[13]),
        )
        for table, late in (("ratings", 0), ("late_ratings", 1))
        for row in db.execute(_RATINGS.format(table=table, late=late), [bound]).fetchall()
    ]
    candidates = [
        CandidateRow(
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
        )
        for row in db.execute(_CANDIDATES, [bound]).fetchall()
    ]
    runs = [
        RunRow(
            run_id=row[0],
            prompt=row[1],
            version=row[2],
            created_at=_time(row[3]),
            closed=bool(row[4]),
            permalink=row[5],
            comments=row[6],
        )
        for row in db.execute(_RUNS, {"until": bound}).fetchall()
    ]
    archived = {
        row[0] for row in db.execute("SELECT name FROM prompts WHERE archived_at IS NOT NULL")
    }
    scales = [
        ScaleInfo(name, *config.scale_range(name), binary=config.is_binary(name))
        for name in config.scales
    ]
    return Evidence(ratings, candidates, runs, scales, archived)
