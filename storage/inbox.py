"""The event inbox: Events API deliveries recorded before they are acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.base import StoreBase, stamp, utcnow


@dataclass(frozen=True)
class InboxRow:
    id: int
    event_id: str
    body: str


class InboxTable:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def record_many(self, deliveries: Sequence[tuple[str, str]], budget: float) -> list[bool]:
        """Record (event_id, body) deliveries in one transaction, one commit for all;
        for each, True if it is new, False if it was already recorded. Raises
        StorageUnavailable, with none of them written, when the lock is not had within
        ``budget`` seconds or the write fails."""
        now = utcnow()
        with self.store.transaction(budget) as db:
            return [
                db.execute(
                    "INSERT OR IGNORE INTO inbox (event_id, body, received_at) VALUES (?, ?, ?)",
                    [event_id, body, now],
                ).rowcount
                == 1
                for event_id, body in deliveries
            ]

    def pending(self, after: int, limit: int) -> list[InboxRow]:
        """Unprocessed rows after id ``after``, in arrival order."""
        rows = self.store.connection().execute(
            "SELECT id, event_id, body FROM inbox WHERE processed_at IS NULL AND id > ?"
            " ORDER BY id LIMIT ?",
            [after, limit],
        )
        return [InboxRow(*row) for row in rows.fetchall()]

    def count_pending(self) -> int:
        row = (
            self.store.connection()
            .execute("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
            .fetchone()
        )
        return int(row[0])

    def mark_processed(self, ids: Sequence[int]) -> None:
        if not ids:
            return
        marks = ", ".join("?" for _ in ids)
        with self.store.transaction() as db:
            db.execute(f"UPDATE inbox SET processed_at = ? WHERE id IN ({marks})", [utcnow(), *ids])

    def note_error(self, row_id: int, error: str) -> None:
        """Why a row could not be processed; it stays pending for the next start-up."""
        with self.store.transaction() as db:
            db.execute("UPDATE inbox SET error = ? WHERE id = ?", [error, row_id])

    def prune(self, keep: timedelta) -> int:
        """Forget processed rows older than ``keep``; returns how many."""
        cutoff = stamp(datetime.now(UTC) - keep)
        with self.store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM inbox WHERE processed_at IS NOT NULL AND processed_at < ?", [cutoff]
            )
            return cursor.rowcount
