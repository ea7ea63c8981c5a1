"""Ratings from reactions, comments from thread replies, and the record of events
already handled (Slack redelivers)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Literal

from sqlite_utils import Database

from promptbot.domain import Rating
from storage.base import StoreBase, utcnow
from storage.event_batch import (
    claim_event,
    current,
    event_batch,
    prefetch_reactions,
    write_ratings,
)

ReactionOutcome = Literal["duplicate", "stale", "applied"]
CommentOutcome = Literal["duplicate", "stale", "unchanged", "applied"]


def _json(files: list[dict[str, str]] | None) -> str | None:
    return json.dumps(files, sort_keys=True) if files else None


class ReviewQueries(StoreBase):
    def prefetch_reactions(self, items: Sequence[tuple[str, str, str]]) -> None:
        """In an event batch: look up the messages and reviewers of its reactions,
        given as (channel, ts, user), together (storage/event_batch.py)."""
        prefetch_reactions(self, items)

    def event_batch(self, event_ids: Sequence[str]) -> AbstractContextManager[None]:
        """Within the caller's transaction: events handled together, their ids read
        and written once for all (storage/event_batch.py)."""
        return event_batch(self, event_ids)

    def _run_closed(self, db: Database, candidate_id: int) -> bool:
        batch = current(self)
        if batch is not None and candidate_id in batch.closed:
            return batch.closed[candidate_id]
        closed = bool(
            db.conn.execute(
                "SELECT runs.closed_at IS NOT NULL FROM candidates"
                " JOIN runs ON runs.id = candidates.run_id WHERE candidates.id = ?",
                [candidate_id],
            ).fetchone()[0]
        )
        if batch is not None:
            batch.closed[candidate_id] = closed
        return closed

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
            if not claim_event(self, db, event_id):
                return "duplicate"
            # The reviewer's reactions on the candidate's messages, this one's earlier
            # state among them: one read of adjacent rows (the table's key order).
            batch = current(self)
            theirs = batch.theirs.get((candidate_id, user_id)) if batch is not None else None
            if theirs is None:
                theirs = db.conn.execute(
                    "SELECT channel, ts, emoji, present, event_ts FROM reactions"
                    " WHERE candidate_id = ? AND user_id = ?",
                    [candidate_id, user_id],
                ).fetchall()
            this = (channel, ts, emoji)
            earlier = next((row[4] for row in theirs if row[:3] == this), None)
            if earlier is not None and Decimal(earlier) > Decimal(event_ts):
                return "stale"
            if batch is None:
                db.conn.execute(
                    "INSERT OR REPLACE INTO reactions (candidate_id, user_id, channel, ts,"
                    " emoji, present, event_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [candidate_id, user_id, channel, ts, emoji, int(present), event_ts],
                )
            else:  # written with the batch's others at its end; its next events see it
                batch.reactions[candidate_id, user_id, channel, ts, emoji] = (
                    int(present),
                    event_ts,
                )
                batch.theirs[candidate_id, user_id] = [
                    *(row for row in theirs if row[:3] != this),
                    (channel, ts, emoji, int(present), event_ts),
                ]
            now_present = [(e, ets) for c, t, e, p, ets in theirs if p and (c, t, e) != this]
            if present:
                now_present.append((emoji, event_ts))
            on_scale = [(Decimal(ets), e) for e, ets in now_present if e in scale_emoji]
            # Once voting has closed the counted ratings stay as they were; later
            # changes are kept apart as late ratings.
            table = "late_ratings" if self._run_closed(db, candidate_id) else "ratings"
            rating = None
            if on_scale:
                _, latest = max(on_scale)
                rating = (latest, scale_emoji[latest])
            if batch is not None:  # written with the batch's others at its end
                batch.ratings[table, candidate_id, user_id, scale] = rating
            elif rating is not None:
                db.conn.execute(
                    f"INSERT OR REPLACE INTO {table} (candidate_id, user_id, scale, emoji, score,"
                    " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                    [candidate_id, user_id, scale, *rating, utcnow()],
                )
            else:
                db.conn.execute(
                    f"DELETE FROM {table} WHERE candidate_id = ? AND user_id = ? AND scale = ?",
                    [candidate_id, user_id, scale],
                )
            return "applied"

    def add_comment(
        self,
        *,
        event_id: str,
        channel: str,
        ts: str,
        run_id: int,
        user_id: str,
        text: str,
        files: list[dict[str, str]] | None = None,
    ) -> bool:
        with self.transaction() as db:
            if not claim_event(self, db, event_id):
                return False
            cursor = db.execute(
                "INSERT OR IGNORE INTO comments (channel, ts, run_id, user_id, text, files,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [channel, ts, run_id, user_id, text, _json(files), utcnow()],
            )
            return cursor.rowcount == 1

    def edit_comment(
        self,
        *,
        event_id: str,
        channel: str,
        ts: str,
        run_id: int,
        user_id: str,
        text: str,
        files: list[dict[str, str]] | None,
        edited_ts: str,
    ) -> CommentOutcome:
        """Apply an edit once, newest edit wins, keeping the replaced text. An edit of a
        reply we never stored (its first delivery lost or late) stores it as edited."""
        with self.transaction() as db:
            if not claim_event(self, db, event_id):
                return "duplicate"
            row = db.execute(
                "SELECT text, files, edited_ts, deleted_at FROM comments"
                " WHERE channel = ? AND ts = ?",
                [channel, ts],
            ).fetchone()
            now = utcnow()
            if row is None:
                db.execute(
                    "INSERT INTO comments (channel, ts, run_id, user_id, text, files, created_at,"
                    " edited_at, edited_ts) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [channel, ts, run_id, user_id, text, _json(files), now, now, edited_ts],
                )
                return "applied"
            old_text, old_files, last_edit, deleted_at = row
            if deleted_at is not None or (last_edit and Decimal(last_edit) >= Decimal(edited_ts)):
                return "stale"
            if (old_text, old_files) == (text, _json(files)):
                return "unchanged"  # an unfurl or a reply count changed, not the words
            db.execute(
                "INSERT INTO comment_edits (channel, ts, text, files, edited_ts, replaced_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [channel, ts, old_text, old_files, edited_ts, now],
            )
            db.execute(
                "UPDATE comments SET text = ?, files = ?, edited_at = ?, edited_ts = ?"
                " WHERE channel = ? AND ts = ?",
                [text, _json(files), now, edited_ts, channel, ts],
            )
            return "applied"

    def delete_comment(
        self, *, event_id: str, channel: str, ts: str, run_id: int, user_id: str
    ) -> CommentOutcome:
        """Mark a comment deleted. A deletion that overtakes its reply leaves the mark
        first, so the late reply cannot bring the comment back."""
        with self.transaction() as db:
            if not claim_event(self, db, event_id):
                return "duplicate"
            now = utcnow()
            cursor = db.execute(
                "UPDATE comments SET deleted_at = ? WHERE channel = ? AND ts = ?"
                " AND deleted_at IS NULL",
                [now, channel, ts],
            )
            if cursor.rowcount == 0:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO comments (channel, ts, run_id, user_id, text,"
                    " created_at, deleted_at) VALUES (?, ?, ?, ?, '', ?, ?)",
                    [channel, ts, run_id, user_id, now, now],
                )
            return "applied" if cursor.rowcount == 1 else "stale"

    def comment_edits(self, channel: str, ts: str) -> list[dict[str, Any]]:
        """A comment's earlier texts, oldest first."""
        return self.query(
            "SELECT text, files, edited_ts, replaced_at FROM comment_edits"
            " WHERE channel = ? AND ts = ? ORDER BY replaced_at, rowid",
            [channel, ts],
        )

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

    def ratings_of(self, candidate_ids: Iterable[int]) -> list[Rating]:
        """The counted ratings of these candidates."""
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query(
                "SELECT * FROM ratings WHERE candidate_id IN (SELECT value FROM json_each(?))"
                " ORDER BY candidate_id, user_id, scale",
                [json.dumps(list(candidate_ids))],
            )
        ]

    def comments(self, run_id: int) -> list[dict[str, Any]]:
        """A run's comments, deleted ones left out."""
        return self.query(
            "SELECT user_id, text, ts, files, edited_at FROM comments"
            " WHERE run_id = ? AND deleted_at IS NULL ORDER BY ts",
            [run_id],
        )

    def late_ratings(self) -> list[Rating]:
        return [
            Rating(r["candidate_id"], r["user_id"], r["scale"], r["emoji"], r["score"])
            for r in self.query("SELECT * FROM late_ratings ORDER BY candidate_id, user_id, scale")
        ]

    def rating_count(self, run_id: int) -> int:
        write_ratings(self)  # in an event batch, its ratings so far count
        rows = self.query(
            "SELECT COUNT(*) AS n FROM ratings JOIN candidates ON candidates.id = candidate_id"
            " WHERE candidates.run_id = ?",
            [run_id],
        )
        return int(rows[0]["n"])

    def event_seen(self, event_id: str) -> bool:
        rows = self.query("SELECT 1 FROM processed_events WHERE event_id = ?", [event_id])
        return bool(rows)

    def forget_handled_events(self, before: str, chunk: int = 5000) -> int:
        """Forget the ids of the events handled before the stamp ``before``; returns
        how many. A chunk to a transaction, so that no other writer waits for more
        than one (the first pass after an upgrade may meet a million)."""
        forgotten = 0
        while True:
            with self.transaction() as db:
                cursor = db.execute(
                    "DELETE FROM processed_events WHERE event_id IN (SELECT event_id"
                    " FROM processed_events WHERE received_at < ? LIMIT ?)",
                    [before, chunk],
                )
            forgotten += cursor.rowcount
            if cursor.rowcount < chunk:
                return forgotten
