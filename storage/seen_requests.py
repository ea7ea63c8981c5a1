"""Signed requests already acted on: a replay of one (same timestamp and signature)
gets the first answer again instead of a second action. Rows expire with Slack's
5-minute signature window, after which a replay fails verification anyway."""

from __future__ import annotations

from dataclasses import dataclass

from storage.base import StoreBase

# Kept a little past Slack's 300 s window, so clock skew cannot reopen a gap.
KEEP_SECONDS = 360


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    content_type: str
    body: bytes


class SeenRequests:
    def __init__(self, store: StoreBase) -> None:
        self.store = store

    def claim(self, signature: str, request_ts: int, now: int, budget: float | None = None) -> bool:
        """True the first time a signature is seen (the caller acts on it); False for
        a replay. Expired rows go in the same transaction. ``budget``: the most seconds
        to wait for the write lock (StorageUnavailable after)."""
        with self.store.transaction(budget) as db:
            db.execute("DELETE FROM seen_requests WHERE request_ts < ?", [now - KEEP_SECONDS])
            cursor = db.execute(
                "INSERT OR IGNORE INTO seen_requests (signature, request_ts) VALUES (?, ?)",
                [signature, request_ts],
            )
            return cursor.rowcount == 1

    def record_answer(
        self, signature: str, answer: StoredAnswer, budget: float | None = None
    ) -> None:
        with self.store.transaction(budget) as db:
            db.execute(
                "UPDATE seen_requests SET status = ?, content_type = ?, body = ?"
                " WHERE signature = ?",
                [answer.status, answer.content_type, answer.body, signature],
            )

    def answer(self, signature: str) -> StoredAnswer | None:
        """The first answer, or None while the first request is still being handled."""
        rows = self.store.query(
            "SELECT status, content_type, body FROM seen_requests"
            " WHERE signature = ? AND status IS NOT NULL",
            [signature],
        )
        if not rows:
            return None
        row = rows[0]
        return StoredAnswer(int(row["status"]), str(row["content_type"]), bytes(row["body"]))

    def count(self) -> int:
        return int(self.store.query("SELECT count(*) AS n FROM seen_requests")[0]["n"])
