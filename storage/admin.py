"""SQL for managing prompts and runs: archive, soft delete, and the audit trail.

Each change and its audit row are written in one transaction, so the trail never
misses an action that happened, nor records one that did not. Deletion is soft
(``deleted_at``): history and the audit stay; readers filter deleted rows out.
"""

from __future__ import annotations

from dataclasses import dataclass

from promptbot.domain import PromptRecord
from storage.base import StoreBase, utcnow


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    user_id: str
    action: str
    target: str
    detail: str | None


@dataclass(frozen=True)
class Footprint:
    """What a deletion would hide, for the confirmation question."""

    versions: int
    runs: int
    ratings: int


def prompt_target(name: str) -> str:
    return f"prompt:{name}"


def run_target(run_id: int) -> str:
    return f"run:{run_id}"


_AUDIT = "INSERT INTO audit (at, user_id, action, target, detail) VALUES (?, ?, ?, ?, ?)"


class AdminStore:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    # -- reading ------------------------------------------------------------------

    def prompt(self, name: str) -> PromptRecord | None:
        """A live (not deleted) prompt by name."""
        rows = self.store.query(
            "SELECT id, name, created_by, archived_at FROM prompts"
            " WHERE name = ? AND deleted_at IS NULL",
            [name],
        )
        return PromptRecord(**rows[0]) if rows else None

    def run_is_live(self, run_id: int) -> bool:
        """The run exists and neither it nor its prompt is deleted."""
        rows = self.store.query(
            "SELECT 1 FROM runs JOIN versions v ON v.id = runs.version_id"
            " JOIN prompts p ON p.id = v.prompt_id"
            " WHERE runs.id = ? AND runs.deleted_at IS NULL AND p.deleted_at IS NULL",
            [run_id],
        )
        return bool(rows)

    def prompt_footprint(self, prompt_id: int) -> Footprint:
        row = (
            self.store.connection()
            .execute(
                "SELECT (SELECT COUNT(*) FROM versions WHERE prompt_id = :p),"
                " (SELECT COUNT(*) FROM runs JOIN versions v ON v.id = runs.version_id"
                "  WHERE v.prompt_id = :p AND runs.deleted_at IS NULL),"
                " (SELECT COUNT(*) FROM ratings JOIN candidates c ON c.id = ratings.candidate_id"
                "  JOIN runs ON runs.id = c.run_id JOIN versions v ON v.id = runs.version_id"
                "  WHERE v.prompt_id = :p AND runs.deleted_at IS NULL)",
                {"p": prompt_id},
            )
            .fetchone()
        )
        return Footprint(*row)

    def audit(self, target: str | None = None) -> list[AuditEntry]:
        sql = "SELECT id, at, user_id, action, target, detail FROM audit"
        params: list[str] = []
        if target is not None:
            sql += " WHERE target = ?"
            params.append(target)
        return [AuditEntry(**row) for row in self.store.query(sql + " ORDER BY id", params)]

    # -- writing --------------------------------------------------------------------

    def record(self, user_id: str, action: str, target: str, detail: str | None = None) -> None:
        with self.store.transaction() as db:
            db.execute(_AUDIT, [utcnow(), user_id, action, target, detail])

    def archive_prompt(self, prompt: PromptRecord, user_id: str) -> bool:
        """Archive once; False if it already was (or was deleted meanwhile)."""
        now = utcnow()
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE prompts SET archived_at = ? WHERE id = ? AND archived_at IS NULL"
                " AND deleted_at IS NULL",
                [now, prompt.id],
            )
            if cursor.rowcount != 1:
                return False
            db.execute(_AUDIT, [now, user_id, "archive", prompt_target(prompt.name), None])
            return True

    def delete_prompt(self, prompt: PromptRecord, user_id: str) -> list[int] | None:
        """Soft-delete a prompt and its live runs; returns those runs' ids, or None if
        the prompt was already deleted. Marking the runs too means any reader that
        looks only at ``runs`` hides them, with no join to ``prompts``."""
        now = utcnow()
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE prompts SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                [now, prompt.id],
            )
            if cursor.rowcount != 1:
                return None
            run_ids = [
                int(row[0])
                for row in db.execute(
                    "SELECT runs.id FROM runs JOIN versions v ON v.id = runs.version_id"
                    " WHERE v.prompt_id = ? AND runs.deleted_at IS NULL ORDER BY runs.id",
                    [prompt.id],
                ).fetchall()
            ]
            db.conn.executemany(
                "UPDATE runs SET deleted_at = ? WHERE id = ?", [(now, r) for r in run_ids]
            )
            detail = f"runs: {', '.join(map(str, run_ids))}" if run_ids else None
            db.execute(_AUDIT, [now, user_id, "delete", prompt_target(prompt.name), detail])
            return run_ids

    def delete_run(self, run_id: int, user_id: str) -> bool:
        now = utcnow()
        with self.store.transaction() as db:
            cursor = db.execute(
                "UPDATE runs SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL",
                [now, run_id],
            )
            if cursor.rowcount != 1:
                return False
            db.execute(_AUDIT, [now, user_id, "delete", run_target(run_id), None])
            return True
