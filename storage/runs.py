"""Proposals and runs: creating them, reading them, and closing them."""

from __future__ import annotations

import json
from typing import Any

from sqlite_utils import Database

from promptbot.domain import PlannedCandidate, Run, RunStatus, RunSummary
from promptbot.errors import NotFound
from storage.base import StoreBase, utcnow
from storage.versions import version_from_row


class RunQueries(StoreBase):
    # -- proposals and runs ---------------------------------------------------

    def create_run(
        self,
        *,
        prompt_name: str,
        template: str,
        system_prompt: str | None,
        author: str,
        channel: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        note: str | None = None,
        parent_id: int | None = None,
        previous_run_id: int | None = None,
        status: RunStatus = "pending",
    ) -> Run:
        """Record a proposal (a new version of its prompt), its run and its pending
        candidates in one transaction, so accepted work is never half-recorded."""
        now = utcnow()
        with self.transaction() as db:
            prompt = next(
                iter(db.query("SELECT id FROM prompts WHERE name = ?", [prompt_name])), None
            )
            if prompt is None:
                prompt_id = db.execute(
                    "INSERT INTO prompts (name, created_by, created_at) VALUES (?, ?, ?)",
                    [prompt_name, author, now],
                ).lastrowid
            else:
                prompt_id = prompt["id"]
                # Proposing a deleted prompt's name again brings the name back; its old
                # runs stay hidden by their own deleted_at.
                db.execute("UPDATE prompts SET deleted_at = NULL WHERE id = ?", [prompt_id])
            number = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE prompt_id = ?", [prompt_id]
            ).fetchone()[0]
            version_id = db.execute(
                "INSERT INTO versions (prompt_id, number, template, system_prompt, author,"
                " created_at, note, parent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [prompt_id, number, template, system_prompt, author, now, note, parent_id],
            ).lastrowid
            assert version_id is not None
            run_id = self._insert_run(
                db,
                version_id,
                channel=channel,
                author=author,
                models=models,
                inputs=inputs,
                candidates=candidates,
                previous_run_id=previous_run_id,
                status=status,
            )
        return self.get_run(run_id)

    def create_rerun(
        self,
        version_id: int,
        *,
        author: str,
        channel: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        fresh: bool = False,
        kind: str = "review",
        status: RunStatus = "pending",
    ) -> Run:
        """A new run of an existing version (a rerun, or a compare thread)."""
        with self.transaction() as db:
            run_id = self._insert_run(
                db,
                version_id,
                channel=channel,
                author=author,
                models=models,
                inputs=inputs,
                candidates=candidates,
                fresh=fresh,
                kind=kind,
                status=status,
            )
        return self.get_run(run_id)

    @staticmethod
    def _insert_run(
        db: Database,
        version_id: int,
        *,
        channel: str,
        author: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        previous_run_id: int | None = None,
        fresh: bool = False,
        kind: str = "review",
        status: RunStatus = "pending",
    ) -> int:
        run_id = db.execute(
            "INSERT INTO runs (version_id, status, channel, created_by, created_at, models,"
            " inputs, previous_run_id, fresh, kind) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                version_id,
                status,
                channel,
                author,
                utcnow(),
                json.dumps(models),
                json.dumps(inputs),
                previous_run_id,
                int(fresh),
                kind,
            ],
        ).lastrowid
        assert run_id is not None
        db.conn.executemany(
            "INSERT INTO candidates (run_id, label, slot, model_name, model_id, input_index,"
            " variables, status, version_id) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
            [
                (
                    run_id,
                    c.label,
                    c.slot,
                    c.model_name,
                    c.model_id,
                    c.input_index,
                    json.dumps(c.variables),
                    c.version_id,
                )
                for c in candidates
            ],
        )
        return run_id

    _RUN_SELECT = """
        SELECT runs.*, versions.prompt_id, versions.number, versions.template,
               versions.system_prompt, versions.author, versions.created_at AS version_created_at,
               versions.note, versions.parent_id, prompts.name AS prompt_name
        FROM runs
        JOIN versions ON versions.id = runs.version_id
        JOIN prompts ON prompts.id = versions.prompt_id
    """

    @staticmethod
    def _run_from_row(row: dict[str, Any]) -> Run:
        version = version_from_row(row, "version_id")
        return Run(
            id=row["id"],
            version=version,
            status=row["status"],
            channel=row["channel"],
            thread_ts=row["thread_ts"],
            permalink=row["permalink"],
            created_by=row["created_by"],
            created_at=row["created_at"],
            models=json.loads(row["models"]),
            inputs=json.loads(row["inputs"]),
            closed_at=row["closed_at"],
            closed_by=row["closed_by"],
            revealed_at=row["revealed_at"],
            fresh=bool(row["fresh"]),
            previous_run_id=row["previous_run_id"],
            kind=row["kind"],
            deleted_at=row["deleted_at"],
        )

    def get_run(self, run_id: int) -> Run:
        rows = self.query(self._RUN_SELECT + " WHERE runs.id = ?", [run_id])
        if not rows:
            raise NotFound(f"no run #{run_id}")
        return self._run_from_row(rows[0])

    def runs_of_version(self, version_id: int) -> list[Run]:
        """Runs whose thread shows this version: its own, and those it was a baseline in."""
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.deleted_at IS NULL AND (runs.version_id = ? OR"
            " runs.id IN (SELECT run_id FROM candidates WHERE version_id = ?))"
            " ORDER BY runs.id",
            [version_id, version_id],
        )
        return [self._run_from_row(row) for row in rows]

    def run_cost(self, run_id: int) -> float:
        rows = self.query(
            "SELECT COALESCE(SUM(cost), 0) AS cost FROM candidates WHERE run_id = ?", [run_id]
        )
        return float(rows[0]["cost"])

    def recent_runs(self, limit: int) -> list[RunSummary]:
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.deleted_at IS NULL AND prompts.deleted_at IS NULL"
            " ORDER BY runs.id DESC LIMIT ?",
            [limit],
        )
        summaries = []
        for row in rows:
            counts = (
                self._db()
                .execute(
                    "SELECT (SELECT COUNT(*) FROM candidates WHERE run_id = :r),"
                    " (SELECT COUNT(*) FROM ratings JOIN candidates c ON c.id = ratings.candidate_id"
                    "  WHERE c.run_id = :r),"
                    " (SELECT COUNT(*) FROM comments WHERE run_id = :r AND deleted_at IS NULL)",
                    {"r": row["id"]},
                )
                .fetchone()
            )
            summaries.append(RunSummary(self._run_from_row(row), *counts))
        return summaries

    def unfinished_runs(self) -> list[Run]:
        rows = self.query(
            self._RUN_SELECT + " WHERE runs.status IN ('pending', 'running')"
            " AND runs.deleted_at IS NULL AND prompts.deleted_at IS NULL ORDER BY runs.id"
        )
        return [self._run_from_row(row) for row in rows]

    def set_run_status(self, run_id: int, status: RunStatus) -> None:
        finished = utcnow() if status in ("done", "failed") else None
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET status = ?, finished_at = COALESCE(?, finished_at) WHERE id = ?",
                [status, finished, run_id],
            )

    def set_thread(self, run_id: int, channel: str, ts: str, permalink: str | None) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE runs SET channel = ?, thread_ts = ?, permalink = ?, status = 'running'"
                " WHERE id = ?",
                [channel, ts, permalink, run_id],
            )
            db.execute(
                "INSERT OR IGNORE INTO messages (channel, ts, run_id, candidate_id, part)"
                " VALUES (?, ?, ?, NULL, 0)",
                [channel, ts, run_id],
            )

    # -- closing and revealing -------------------------------------------------

    def close_run(self, run_id: int, by: str, *, reveal: bool = False) -> bool:
        """Close voting; True only for the call that closed it. ``reveal`` records that
        the models are to be shown, so a reveal cut short is finished at start-up."""
        with self.transaction() as db:
            if reveal:
                db.execute("UPDATE runs SET reveal_requested = 1 WHERE id = ?", [run_id])
            cursor = db.execute(
                "UPDATE runs SET closed_at = ?, closed_by = ? WHERE id = ? AND closed_at IS NULL",
                [utcnow(), by, run_id],
            )
            return cursor.rowcount == 1

    def runs_to_close(self, *, older_than: str | None, min_votes: int | None) -> list[int]:
        """Open, finished runs created before ``older_than`` or with ``min_votes`` ratings."""
        rows = self.query(
            "SELECT runs.id, runs.created_at, COUNT(ratings.user_id) AS votes FROM runs"
            " LEFT JOIN candidates ON candidates.run_id = runs.id"
            " LEFT JOIN ratings ON ratings.candidate_id = candidates.id"
            " WHERE runs.closed_at IS NULL AND runs.status IN ('done', 'failed')"
            " AND runs.deleted_at IS NULL GROUP BY runs.id ORDER BY runs.id"
        )
        return [
            int(row["id"])
            for row in rows
            if (older_than is not None and row["created_at"] < older_than)
            or (min_votes is not None and row["votes"] >= min_votes)
        ]

    def unrevealed_closed_runs(self) -> list[int]:
        rows = self.query(
            "SELECT id FROM runs WHERE reveal_requested = 1 AND revealed_at IS NULL"
            " AND thread_ts IS NOT NULL AND deleted_at IS NULL ORDER BY id"
        )
        return [int(row["id"]) for row in rows]

    def mark_revealed(self, run_id: int) -> None:
        with self.transaction() as db:
            db.execute("UPDATE runs SET revealed_at = ? WHERE id = ?", [utcnow(), run_id])
