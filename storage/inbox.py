"""The event inbox: Events API deliveries recorded before they are acknowledged.

It is a SQLite file of its own beside the database (``promptbot.db-inbox``), so that
recording a delivery never waits for SQLite's one write lock while the inbox worker
applies earlier events to the ratings. The two files commit separately: the worker
marks rows processed only after the ratings they made have committed, and a crash in
between processes them again, a no-op by their event ids (storage/feedback.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from storage.base import StoreBase, stamp, utcnow
from storage.migrations import m0008_event_inbox, m0010_inbox_prune_index

inbox_migrations = Migrations("promptbot-inbox")

# Deliveries per INSERT statement, well inside SQLite's limit on bound values.
_ROWS_PER_STATEMENT = 200


@inbox_migrations(name="0001_inbox")
def m0001_inbox(db: Database) -> None:
    # The table the database itself had, with its indexes, now in a file of its own.
    m0008_event_inbox(db)
    m0010_inbox_prune_index(db)


def inbox_path(database: str) -> str:
    """Where the inbox of the database at ``database`` lives."""
    return database if database == ":memory:" else f"{database}-inbox"


class InboxFile(StoreBase):
    """The inbox's own SQLite file: connections, transactions and faults as the store's."""

    schema = inbox_migrations
    checkpoints_deferred = True  # to the inbox's checkpointer: not on a request's time

    def __init__(self, database: str | Path) -> None:
        super().__init__(inbox_path(str(database)))


@dataclass(frozen=True)
class InboxRow:
    id: int
    event_id: str
    body: str


class InboxTable:
    def __init__(self, store: InboxFile) -> None:
        self.store = store

    def adopt(self, database: StoreBase) -> int:
        """Move the deliveries a database from before the inbox file kept in its own
        ``inbox`` table here, in their order; returns how many were waiting. Copied
        first, then deleted: a crash in between copies them again, and their event ids
        keep them once."""
        waiting = (
            database.connection()
            .execute(
                "SELECT event_id, body, received_at FROM inbox WHERE processed_at IS NULL"
                " ORDER BY id"
            )
            .fetchall()
        )
        if waiting:
            with self.store.transaction() as db:
                db.conn.executemany(
                    "INSERT OR IGNORE INTO inbox (event_id, body, received_at) VALUES (?, ?, ?)",
                    waiting,
                )
        with database.transaction() as db:
            db.execute("DELETE FROM inbox")
        return len(waiting)

    def record_many(self, deliveries: Sequence[tuple[str, str]], budget: float) -> list[bool]:
        """Record (event_id, body) deliveries in one transaction, one commit for all;
        for each, True if it is new, False if it was already recorded. Raises
        StorageUnavailable, with none of them written, when the lock is not had within
        ``budget`` seconds or the write fails."""
        now = utcnow()
        event_ids = [event_id for event_id, _ in deliveries]
        with self.store.transaction(budget) as db:
            # Which were recorded before, then one INSERT for the group: a constant
            # four statements a group (RETURNING would step once per row), each a
            # release of Python's lock that the writer, whom the group waits for,
            # must take back.
            seen = db.conn.execute(
                "SELECT event_id FROM inbox WHERE event_id IN (SELECT value FROM json_each(?))",
                [json.dumps(event_ids)],
            ).fetchall()
            for start in range(0, len(deliveries), _ROWS_PER_STATEMENT):
                chunk = deliveries[start : start + _ROWS_PER_STATEMENT]
                rows = ", ".join("(?, ?, ?)" for _ in chunk)
                values = [value for event_id, body in chunk for value in (event_id, body, now)]
                db.conn.execute(
                    f"INSERT OR IGNORE INTO inbox (event_id, body, received_at) VALUES {rows}",
                    values,
                )
        old = {row[0] for row in seen}
        fresh = []
        for event_id in event_ids:
            fresh.append(event_id not in old)
            old.add(event_id)  # the same event twice in one group: the second is old
        return fresh

    def pending(self, after: int, limit: int) -> list[InboxRow]:
        """Unprocessed rows after id ``after``, in arrival order."""
        rows = self.store.connection().execute(
            "SELECT id, event_id, body FROM inbox WHERE processed_at IS NULL AND id > ?"
            " ORDER BY id LIMIT ?",
            [after, limit],
        )
        return [InboxRow(*row) for row in rows.fetchall()]

    def oldest_pending_received(self) -> str | None:
        """When the delivery that has waited longest was recorded (a stamp), if any."""
        row = (
            self.store.connection()
            .execute("SELECT received_at FROM inbox WHERE processed_at IS NULL ORDER BY id LIMIT 1")
            .fetchone()
        )
        return None if row is None else str(row[0])

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
