"""Ratings from reactions, comments from thread replies, and the record of events
already handled (Slack redelivers)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from sqlite_utils import Database

from promptbot.domain import Rating
from storage.base import StoreBase, utcnow

ReactionOutcome = Literal["duplicate", "stale", "applied"]


class ReviewQueries(StoreBase):
    @staticmethod
    def _claim_event(db: Database, event_id: str) -> bool:
        cursor = db.execute(
            "INSERT OR IGNORE INTO processed_events (event_id, received_at) VALUES (?, ?)",
            [event_id, utcnow()],
        )
        return cursor.rowcount == 1

    def apply_reaction(
        self,
        *,
        event_id: str,
        channel: str,
        ts: str,
        candidate_id: int,
        user_id: str,
        emoji: str,
        scale: str,
        present: bool,
        event_ts: str,
        scale_emoji: dict[str, float],
    ) -> ReactionOutcome:
        """Apply one reaction event exactly once, in event-time order.

        Each (message, user, emoji) keeps its latest state; a removal that arrives
        before its add is remembered, so the late add is stale and leaves no vote.
        The user's rating on the scale is then the most recent emoji of that scale
        still present on any of the candidate's messages.
        """
        with self.transaction() as db:
            if not self._claim_event(db, event_id):
                return "duplicate"
            row = db.execute(
                "SELECT event_ts FROM reactions WHERE channel = ? AND ts = ? AND user_id = ?"
                " AND emoji = ?",
                [channel, ts, user_id, emoji],
            ).fetchone()
            if row is not None and Decimal(row[0]) > Decimal(event_ts):
                return "stale"
            db.execute(
                "INSERT OR REPLACE INTO reactions (channel, ts, user_id, emoji, candidate_id,"
                " present, event_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [channel, ts, user_id, emoji, candidate_id, int(present), event_ts],
            )
            present_rows = db.execute(
                "SELECT emoji, event_ts FROM reactions WHERE candidate_id = ? AND user_id = ?"
                " AND present = 1",
                [candidate_id, user_id],
            ).fetchall()
            on_scale = [(Decimal(ets), e) for e, ets in present_rows if e in scale_emoji]
            closed = db.execute(
                "SELECT runs.closed_at IS NOT NULL FROM candidates"
                " JOIN runs ON runs.id = candidates.run_id WHERE candidates.id = ?",
                [candidate_id],
            ).fetchone()[0]
            # Once voting has closed the counted ratings stay as they were; later
            # changes are kept apart as late ratings.
            table = "late_ratings" if closed else "ratings"
            if on_scale:
                _, latest = max(on_scale)
                db.execute(
                    f"INSERT OR REPLACE INTO {table} (candidate_id, user_id, scale, emoji, score,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [candidate_id, user_id, scale, latest, scale_emoji[latest], utcnow()],
                )
            else:
                db.execute(
                    f"DELETE FROM {table} WHERE candidate_id = ? AND user_id = ? AND scale = ?",
                    [candidate_id, user_id, scale],
                )
            return "applied"

    def add_comment(
        self, *, event_id: str, channel: str, ts: str, run_id: int, user_id: str, text: str
    ) -> bool:
        with self.transaction() as db:
            if not self._claim_event(db, event_id):
                return False
            cursor = db.execute(
                "INSERT OR IGNORE INTO comments (channel, ts, run_id, user_id, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [channel, ts, run_id, user_id, text, utcnow()],
            )
            return cursor.rowcount == 1

    def ratings(self, run_id: int | None = None) -> list[Rating]:
        sql = "SELECT ratings.* FROM ratings"
        params: list[Any] = []
        if run_id is not None:
            sql += " JOIN candidates ON candidates.id = ratings.candidate_id WHERE run_id = ?"
            params.append(run_id)
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query(sql + " ORDER BY candidate_id, user_id, scale", params)
        ]

    def comments(self, run_id: int) -> list[dict[str, Any]]:
        return self.query(
            "SELECT user_id, text, ts FROM comments WHERE run_id = ? ORDER BY ts", [run_id]
        )

    def late_ratings(self) -> list[Rating]:
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query("SELECT * FROM late_ratings ORDER BY candidate_id, user_id, scale")
        ]

    def rating_count(self, run_id: int) -> int:
        rows = self.query(
            "SELECT COUNT(*) AS n FROM ratings JOIN candidates ON candidates.id = candidate_id"
            " WHERE candidates.run_id = ?",
            [run_id],
        )
        return int(rows[0]["n"])

    def event_seen(self, event_id: str) -> bool:
        rows = self.query("SELECT 1 FROM processed_events WHERE event_id = ?", [event_id])
        return bool(rows)
