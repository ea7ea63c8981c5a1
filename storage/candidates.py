"""Candidates: their answers, how far they got towards the thread, and the messages
that show them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from promptbot.domain import Candidate, Completion
from promptbot.errors import NotFound
from storage.base import StoreBase, utcnow
from storage.event_batch import current
from storage.refs import MessageRef


class CandidateQueries(StoreBase):
    # -- candidates -----------------------------------------------------------

    @staticmethod
    def _candidate_from_row(row: dict[str, Any]) -> Candidate:
        return Candidate(
            id=row["id"],
            run_id=row["run_id"],
            label=row["label"],
            slot=row["slot"],
            model_name=row["model_name"],
            model_id=row["model_id"],
            input_index=row["input_index"],
            variables=json.loads(row["variables"]),
            status=row["status"],
            output=row["output"],
            error=row["error"],
            tokens_in=row["tokens_in"],
            tokens_out=row["tokens_out"],
            latency_ms=row["latency_ms"],
            finish_reason=row["finish_reason"],
            cached=bool(row["cached"]),
            cost=row["cost"],
            version_id=row["version_id"],
            version_number=row["version_number"],
            prompt_name=row["prompt_name"],
        )

    # A candidate's version is its own (a baseline) or else its run's.
    _CANDIDATE_SELECT = """
        SELECT candidates.*, COALESCE(own.number, run_version.number) AS version_number,
               prompts.name AS prompt_name
        FROM candidates
        JOIN runs ON runs.id = candidates.run_id
        JOIN versions run_version ON run_version.id = runs.version_id
        LEFT JOIN versions own ON own.id = candidates.version_id
        JOIN prompts ON prompts.id = COALESCE(own.prompt_id, run_version.prompt_id)
    """

    def candidates(self, run_id: int) -> list[Candidate]:
        rows = self.query(
            self._CANDIDATE_SELECT + " WHERE candidates.run_id = ? ORDER BY slot", [run_id]
        )
        return [self._candidate_from_row(row) for row in rows]

    def candidates_of_input(self, run_id: int, input_index: int) -> list[Candidate]:
        """A run's candidates for one input (its models' answers to it), in slot order."""
        rows = self.query(
            self._CANDIDATE_SELECT
            + " WHERE candidates.run_id = ? AND candidates.input_index = ? ORDER BY slot",
            [run_id, input_index],
        )
        return [self._candidate_from_row(row) for row in rows]

    def answers_of_version(self, version_id: int) -> list[Candidate]:
        """The answers a version gave in live runs, oldest first: in its own runs, and in
        those it was the baseline of (where the run's own answers are another version's)."""
        rows = self.query(
            self._CANDIDATE_SELECT + " WHERE candidates.id IN ("
            "   SELECT c.id FROM runs r JOIN candidates c ON c.run_id = r.id"
            "   WHERE r.version_id = ? AND c.version_id IS NULL"
            "   UNION ALL SELECT id FROM candidates WHERE version_id = ?)"
            " AND candidates.output IS NOT NULL AND runs.deleted_at IS NULL"
            " ORDER BY candidates.id",
            [version_id, version_id],
        )
        return [self._candidate_from_row(row) for row in rows]

    def get_candidate(self, candidate_id: int) -> Candidate:
        rows = self.query(self._CANDIDATE_SELECT + " WHERE candidates.id = ?", [candidate_id])
        if not rows:
            raise NotFound(f"no candidate #{candidate_id}")
        return self._candidate_from_row(rows[0])

    def record_answer(self, candidate_id: int, result: Completion) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'answered', output = ?, error = ?, tokens_in = ?,"
                " tokens_out = ?, latency_ms = ?, finish_reason = ?, answered_at = ?, cached = ?,"
                " cost = ? WHERE id = ? AND status = 'pending'",
                [
                    result.output,
                    result.error,
                    result.tokens_in,
                    result.tokens_out,
                    result.latency_ms,
                    result.finish_reason,
                    utcnow(),
                    int(result.cached),
                    result.cost,
                    candidate_id,
                ],
            )

    def mark_posting(self, candidate_id: int) -> bool:
        """Claim a candidate for posting; False if it is already posting or posted.
        Recorded before the post, so a crash mid-post is never silently reposted."""
        with self.transaction() as db:
            cursor = db.execute(
                "UPDATE candidates SET status = 'posting' WHERE id = ? AND status = 'answered'",
                [candidate_id],
            )
            return cursor.rowcount == 1

    def mark_posted(self, candidate_id: int, channel: str, message_ts: Sequence[str]) -> None:
        with self.transaction() as db:
            run_id = db.execute(
                "SELECT run_id FROM candidates WHERE id = ?", [candidate_id]
            ).fetchone()[0]
            db.execute(
                "UPDATE candidates SET status = 'posted', posted_at = ? WHERE id = ?",
                [utcnow(), candidate_id],
            )
            db.conn.executemany(
                "INSERT OR IGNORE INTO messages (channel, ts, run_id, candidate_id, part)"
                " VALUES (?, ?, ?, ?, ?)",
                [(channel, ts, run_id, candidate_id, part) for part, ts in enumerate(message_ts)],
            )

    def posting_since(self, channel: str) -> str | None:
        """When the earliest answer now being posted in ``channel`` was stored (its post
        began after that); None when no post of an answer is in flight there. The few
        in flight are read first (CROSS JOIN keeps them outer), not the channel's runs."""
        row = (
            self.connection()
            .execute(
                "SELECT MIN(c.answered_at) FROM candidates c CROSS JOIN runs ON runs.id = c.run_id"
                " WHERE c.status = 'posting' AND runs.channel = ?",
                [channel],
            )
            .fetchone()
        )
        return None if row is None else row[0]

    def revert_posting(self, candidate_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'answered' WHERE id = ? AND status = 'posting'",
                [candidate_id],
            )

    def mark_lost(self, candidate_id: int, error: str) -> None:
        """A post that may or may not have reached Slack: never repost it."""
        with self.transaction() as db:
            db.execute(
                "UPDATE candidates SET status = 'posted', error = COALESCE(error, ?) WHERE id = ?",
                [error, candidate_id],
            )

    def candidate_message_ts(self, candidate_id: int) -> list[str]:
        rows = self.query(
            "SELECT ts FROM messages WHERE candidate_id = ? ORDER BY part", [candidate_id]
        )
        return [row["ts"] for row in rows]

    # -- events: reactions and comments ---------------------------------------

    def find_reacted(self, channel: str, ts: str) -> MessageRef | Literal["pair"] | None:
        """What a reaction is on: a candidate's (or other) message of a run, a compare
        pair's message, or neither. One query for the two tables, as every reaction asks;
        in an event batch each message is looked up once, and its run's closed state
        kept for the batch's ratings (storage/event_batch.py)."""
        batch = current(self)
        if batch is not None and (channel, ts) in batch.reacted:
            found: MessageRef | Literal["pair"] | None = batch.reacted[channel, ts]
            return found
        row = (
            self.connection()
            .conn.execute(
                "SELECT 0, messages.run_id, candidate_id, runs.closed_at IS NOT NULL"
                " FROM messages JOIN runs ON runs.id = messages.run_id"
                " WHERE messages.channel = ? AND messages.ts = ?"
                " UNION ALL SELECT 1, run_id, NULL, NULL FROM pairs WHERE channel = ? AND ts = ?"
                " ORDER BY 1 DESC LIMIT 1",
                [channel, ts, channel, ts],
            )
            .fetchone()
        )
        found = None if row is None else "pair" if row[0] else MessageRef(row[1], row[2])
        if batch is not None:
            batch.reacted[channel, ts] = found
            if row is not None and row[2] is not None:
                batch.closed[row[2]] = bool(row[3])
        return found

    def find_thread(self, channel: str, thread_ts: str) -> int | None:
        rows = self.query(
            "SELECT id FROM runs WHERE channel = ? AND thread_ts = ?", [channel, thread_ts]
        )
        return int(rows[0]["id"]) if rows else None
