"""Queries for the export: runs, candidates, ratings and comments as plain rows, named
as the export names its columns (promptbot/export.py), for every live prompt or one;
and the judged candidates the confusion tables are counted from.

Soft-deleted runs and prompts are left out, and so is everything that hangs off them.
"""

from __future__ import annotations

from typing import Any

from promptbot.domain import ExportRows
from storage.store import Store

Row = dict[str, Any]

# The runs an export covers: live runs of live prompts, optionally of one prompt.
_LIVE_RUNS = """
    WITH live AS (
        SELECT runs.id FROM runs
        JOIN versions ON versions.id = runs.version_id
        JOIN prompts ON prompts.id = versions.prompt_id
        WHERE runs.deleted_at IS NULL AND prompts.deleted_at IS NULL
          AND (:prompt IS NULL OR prompts.name = :prompt)
    )
"""

_RUNS = (
    _LIVE_RUNS
    + """
    SELECT runs.id AS run_id, prompts.name AS prompt, versions.number AS version, runs.kind,
           runs.status, runs.channel, runs.thread_ts, runs.permalink, runs.created_by,
           runs.created_at, runs.finished_at, runs.closed_at, runs.revealed_at, runs.models,
           runs.inputs, runs.test_set
    FROM runs
    JOIN versions ON versions.id = runs.version_id
    JOIN prompts ON prompts.id = versions.prompt_id
    WHERE runs.id IN (SELECT id FROM live)
    ORDER BY runs.id
"""
)

# A candidate may be of another version than its run's (a revision runs against its
# parent in one thread), so its prompt and version come from its own version when set.
_CANDIDATES = (
    _LIVE_RUNS
    + """
    SELECT c.id AS candidate_id, c.run_id, prompts.name AS prompt, versions.number AS version,
           c.label, c.slot, c.model_name AS model, c.model_id, c.input_index, c.variables,
           c.status, c.output, c.error, c.tokens_in, c.tokens_out, c.latency_ms,
           c.finish_reason, c.cost, c.cached, c.answered_at, c.posted_at
    FROM candidates AS c
    JOIN runs ON runs.id = c.run_id
    JOIN versions ON versions.id = COALESCE(c.version_id, runs.version_id)
    JOIN prompts ON prompts.id = versions.prompt_id
    WHERE c.run_id IN (SELECT id FROM live)
    ORDER BY c.run_id, c.slot
"""
)

# Counted ratings and late ones (after voting closed) in one list, told apart by `late`.
_RATINGS = (
    _LIVE_RUNS
    + """
    SELECT c.run_id, r.candidate_id, r.user_id, r.scale, r.emoji, r.score, r.late,
           r.updated_at AS rated_at
    FROM (
        SELECT candidate_id, user_id, scale, emoji, score, updated_at, 0 AS late FROM ratings
        UNION ALL
        SELECT candidate_id, user_id, scale, emoji, score, updated_at, 1 AS late
        FROM late_ratings
    ) AS r
    JOIN candidates AS c ON c.id = r.candidate_id
    WHERE c.run_id IN (SELECT id FROM live)
    ORDER BY c.run_id, r.candidate_id, r.user_id, r.scale, r.late
"""
)

_COMMENTS = (
    _LIVE_RUNS
    + """
    SELECT run_id, channel, ts, user_id, text, files, created_at, edited_at
    FROM comments
    WHERE run_id IN (SELECT id FROM live) AND deleted_at IS NULL
    ORDER BY run_id, ts
"""
)


_PAIR_VOTES = (
    _LIVE_RUNS
    + """
    SELECT pairs.run_id, pairs.id AS pair_id, pairs.left_id AS left_candidate_id,
           pairs.right_id AS right_candidate_id, v.user_id, v.choice, v.late,
           v.updated_at AS voted_at
    FROM pair_votes AS v
    JOIN pairs ON pairs.id = v.pair_id
    WHERE pairs.run_id IN (SELECT id FROM live)
    ORDER BY pairs.run_id, pairs.id, v.user_id
"""
)


# Check results of closed runs only: while voting is open they stay hidden everywhere.
_CHECKS = (
    _LIVE_RUNS
    + """
    SELECT c.run_id, r.candidate_id, r.check_text AS "check", r.passed, r.detail
    FROM check_results AS r
    JOIN candidates AS c ON c.id = r.candidate_id
    JOIN runs ON runs.id = c.run_id
    WHERE c.run_id IN (SELECT id FROM live) AND runs.closed_at IS NOT NULL
    ORDER BY c.run_id, r.candidate_id, r.position
"""
)

# The judge's verdicts are shown once a run is revealed, never before: so exported too.
_JUDGE_VERDICTS = (
    _LIVE_RUNS
    + """
    SELECT c.run_id, v.candidate_id, v.model_name AS model, v.approval, v.stars, v.reason,
           v.error, v.tokens_in, v.tokens_out, v.cost, v.cached, v.created_at AS judged_at
    FROM judge_verdicts AS v
    JOIN candidates AS c ON c.id = v.candidate_id
    JOIN runs ON runs.id = c.run_id
    WHERE c.run_id IN (SELECT id FROM live) AND runs.revealed_at IS NOT NULL
    ORDER BY c.run_id, c.slot
"""
)

_JUDGE_PAIRS = (
    _LIVE_RUNS
    + """
    SELECT p.run_id, p.first_id AS first_candidate_id, p.second_id AS second_candidate_id,
           p.model_name AS model, p.outcome, p.consistent, p.forward, p.backward, p.error,
           p.cost, p.created_at AS judged_at
    FROM judge_pairs AS p
    JOIN runs ON runs.id = p.run_id
    WHERE p.run_id IN (SELECT id FROM live) AND runs.revealed_at IS NOT NULL
    ORDER BY p.run_id, p.first_id, p.second_id
"""
)


def prompt_exists(store: Store, name: str) -> bool:
    rows = store.query("SELECT 1 FROM prompts WHERE name = ? AND deleted_at IS NULL", [name])
    return bool(rows)


def load_export(store: Store, prompt: str | None = None) -> ExportRows:
    """Everything an export holds, read in one read transaction: with WAL it is one
    snapshot, so a rating that lands mid-export never points at a missing candidate."""
    db = store.connection()
    params = {"prompt": prompt}

    def rows(sql: str) -> list[Row]:
        return [dict(row) for row in db.query(sql, params)]

    db.execute("BEGIN")  # deferred: takes no write lock
    try:
        return ExportRows(
            rows(_RUNS),
            rows(_CANDIDATES),
            rows(_RATINGS),
            rows(_COMMENTS),
            rows(_PAIR_VOTES),
            checks=rows(_CHECKS),
            judge_verdicts=rows(_JUDGE_VERDICTS),
            judge_pairs=rows(_JUDGE_PAIRS),
            judged_candidates=store.judge.judged_candidates(prompt),
        )
    finally:
        db.execute("COMMIT")
