"""Pairwise compare threads: pairs of candidates shown side by side, and the votes on
them (:a: left, :b: right, :handshake: tie, :-1: both bad)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from promptbot.domain import PAIR_EMOJI, PlannedCandidate, Run
from storage.base import utcnow
from storage.event_batch import claim_event
from storage.feedback import ReactionOutcome
from storage.runs import RunQueries


@dataclass(frozen=True)
class Pair:
    id: int
    run_id: int
    number: int  # 1-based, in the thread's order
    input_index: int
    left_id: int
    right_id: int
    channel: str | None
    ts: str | None


class Pairs:
    def __init__(self, store: RunQueries) -> None:
        self.store = store

    def create_compare_run(
        self,
        version_id: int,
        *,
        author: str,
        channel: str,
        models: list[str],
        inputs: list[dict[str, Any]],
        candidates: list[PlannedCandidate],
        pairs: list[tuple[int, str, str]],
    ) -> Run:
        """The run, its candidates and its pairs ((input, left label, right label)) in one
        transaction."""
        with self.store.transaction() as db:
            run_id = self.store._insert_run(
                db,
                version_id,
                channel=channel,
                author=author,
                models=models,
                inputs=inputs,
                candidates=candidates,
                kind="compare",
            )
            ids = {
                label: cid
                for cid, label in db.execute(
                    "SELECT id, label FROM candidates WHERE run_id = ?", [run_id]
                ).fetchall()
            }
            db.conn.executemany(
                "INSERT INTO pairs (run_id, input_index, left_id, right_id) VALUES (?, ?, ?, ?)",
                [(run_id, index, ids[left], ids[right]) for index, left, right in pairs],
            )
        return self.store.get_run(run_id)

    def for_run(self, run_id: int) -> list[Pair]:
        rows = self.store.query("SELECT * FROM pairs WHERE run_id = ? ORDER BY id", [run_id])
        return [_pair(row, number) for number, row in enumerate(rows, start=1)]

    def find(self, channel: str, ts: str) -> Pair | None:
        rows = self.store.query("SELECT * FROM pairs WHERE channel = ? AND ts = ?", [channel, ts])
        if not rows:
            return None
        return next(p for p in self.for_run(rows[0]["run_id"]) if p.id == rows[0]["id"])

    def set_message(self, pair_id: int, channel: str, ts: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE pairs SET channel = ?, ts = ? WHERE id = ?", [channel, ts, pair_id])

    def apply_reaction(
        self,
        *,
        event_id: str,
        pair: Pair,
        user_id: str,
        emoji: str,
        present: bool,
        event_ts: str,
    ) -> ReactionOutcome:
        """As for ratings: once per event, in event-time order; the vote is the latest
        pair emoji the reviewer still has on the message."""
        with self.store.transaction() as db:
            if not claim_event(self.store, db, event_id):
                return "duplicate"
            row = db.execute(
                "SELECT event_ts FROM pair_reactions WHERE pair_id = ? AND user_id = ?"
                " AND emoji = ?",
                [pair.id, user_id, emoji],
            ).fetchone()
            if row is not None and Decimal(row[0]) > Decimal(event_ts):
                return "stale"
            db.execute(
                "INSERT OR REPLACE INTO pair_reactions (pair_id, user_id, emoji, present,"
                " event_ts) VALUES (?, ?, ?, ?, ?)",
                [pair.id, user_id, emoji, int(present), event_ts],
            )
            present_rows = db.execute(
                "SELECT emoji, event_ts FROM pair_reactions WHERE pair_id = ? AND user_id = ?"
                " AND present = 1",
                [pair.id, user_id],
            ).fetchall()
            late = db.execute(
                "SELECT closed_at IS NOT NULL FROM runs WHERE id = ?", [pair.run_id]
            ).fetchone()[0]
            if present_rows:
                _, latest = max((Decimal(ets), e) for e, ets in present_rows)
                db.execute(
                    "INSERT OR REPLACE INTO pair_votes (pair_id, user_id, choice, late,"
                    " updated_at) VALUES (?, ?, ?, ?, ?)",
                    [pair.id, user_id, PAIR_EMOJI[latest], int(late), utcnow()],
                )
            else:
                db.execute(
                    "DELETE FROM pair_votes WHERE pair_id = ? AND user_id = ?", [pair.id, user_id]
                )
            return "applied"

    def votes(self, run_id: int | None = None) -> list[dict[str, Any]]:
        sql = (
            "SELECT pair_votes.*, pairs.run_id, pairs.left_id, pairs.right_id FROM pair_votes"
            " JOIN pairs ON pairs.id = pair_votes.pair_id"
        )
        params: list[Any] = []
        if run_id is not None:
            sql += " WHERE pairs.run_id = ?"
            params.append(run_id)
        return self.store.query(sql + " ORDER BY pair_id, user_id", params)


def _pair(row: dict[str, Any], number: int) -> Pair:
    return Pair(
        id=row["id"],
        run_id=row["run_id"],
        number=number,
        input_index=row["input_index"],
        left_id=row["left_id"],
        right_id=row["right_id"],
        channel=row["channel"],
        ts=row["ts"],
    )
