"""What the inbox worker's batch of events asks the database once instead of per event.

The worker applies a batch of reactions and replies in one write transaction
(promptbot/jobs/inbox.py). Nothing else writes while it holds the lock, so within the
batch a message's run and candidate, and whether that run is closed, stay as first
read; which of the batch's event ids were handled before is read with one query, and
those claimed are written with one statement before the commit. The messages and
reviewers of the batch's reactions are read together first (prefetch_reactions), and
the reaction and rating rows written together at the end: each statement releases
Python's lock and must take it back from the request threads, so a batch makes few.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from storage.base import StoreBase, utcnow
from storage.refs import MessageRef


@dataclass
class EventBatch:
    ids: frozenset[str]  # the batch's event ids
    new: set[str]  # of those, the ones no earlier transaction handled, not yet claimed
    claimed: list[str] = field(default_factory=list)  # claimed in the batch, to write
    reacted: dict[tuple[str, str], Any] = field(default_factory=dict)  # find_reacted
    closed: dict[int, bool] = field(default_factory=dict)  # candidate id → run closed
    # (candidate id, user) → the reviewer's reactions on the candidate's messages, as
    # (channel, ts, emoji, present, event_ts), kept as the batch changes them.
    theirs: dict[tuple[int, str], list[tuple[Any, ...]]] = field(default_factory=dict)
    # Reaction rows to write at the end, by key: (candidate id, user, channel, ts, emoji)
    # → (present, event_ts). Only apply_reaction reads the table, through ``theirs``.
    reactions: dict[tuple[Any, ...], tuple[int, str]] = field(default_factory=dict)
    # Ratings to write at the end, by key: (table, candidate id, user, scale) → (emoji,
    # score), or None where the reviewer's rating on that scale is gone. The worker's
    # own reads of the table (rating_count) flush them first.
    ratings: dict[tuple[str, int, str, str], tuple[str, float] | None] = field(default_factory=dict)

    def claim(self, event_id: str) -> bool | None:
        """True if the event is new (now claimed), False if handled already, None if
        it is not one of the batch's."""
        if event_id not in self.ids:
            return None
        if event_id not in self.new:
            return False
        self.new.discard(event_id)
        self.claimed.append(event_id)
        return True


def current(store: StoreBase) -> EventBatch | None:
    """The batch this thread is in, if any."""
    batch: EventBatch | None = getattr(store._local, "batch", None)
    return batch


@contextmanager
def event_batch(store: StoreBase, event_ids: Sequence[str]) -> Iterator[None]:
    """Inside the caller's write transaction on this thread: the events ``event_ids``
    are handled with one read of which were handled before and one write of those
    claimed. Nothing is written if the block raises (the caller rolls back then)."""
    conn = store.connection().conn
    assert conn.in_transaction, "an event batch needs the caller's transaction"
    seen = conn.execute(
        "SELECT event_id FROM processed_events WHERE event_id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(event_ids))],
    ).fetchall()
    batch = EventBatch(frozenset(event_ids), set(event_ids) - {row[0] for row in seen})
    store._local.batch = batch
    try:
        yield
        write_ratings(store)
        if batch.reactions:
            # executemany: JSON (json_each) costs more per row than it saves.
            conn.executemany(
                "INSERT OR REPLACE INTO reactions (candidate_id, user_id, channel, ts, emoji,"
                " present, event_ts) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(*key, *state) for key, state in batch.reactions.items()],
            )
        if batch.claimed:
            now = utcnow()
            conn.executemany(
                "INSERT INTO processed_events (event_id, received_at) VALUES (?, ?)",
                [(event_id, now) for event_id in batch.claimed],
            )
    finally:
        store._local.batch = None


# The two tables a rating goes to (storage/feedback.py): counted, or late.
_RATING_TABLES = ("ratings", "late_ratings")


def write_ratings(store: StoreBase) -> None:
    """Write the ratings the batch on this thread holds back, if any, in its open
    transaction: for a read of the table inside the batch, and at its end."""
    batch = current(store)
    if batch is None or not batch.ratings:
        return
    conn = store.connection().conn
    now = utcnow()
    for table in _RATING_TABLES:
        kept = [(key[1:], state) for key, state in batch.ratings.items() if key[0] == table]
        gone = [key for key, state in kept if state is None]
        if gone:
            conn.executemany(
                f"DELETE FROM {table} WHERE candidate_id = ? AND user_id = ? AND scale = ?", gone
            )
        rows = [(*key, *state, now) for key, state in kept if state is not None]
        if rows:
            conn.executemany(
                f"INSERT OR REPLACE INTO {table} (candidate_id, user_id, scale, emoji, score,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    batch.ratings.clear()


def prefetch_reactions(store: StoreBase, items: Sequence[tuple[str, str, str]]) -> None:
    """For the batch's reactions, given as (channel, ts, user): what each message is
    (as find_reacted answers) and each reviewer's reactions on its candidate, two
    queries for the whole batch instead of two per reaction."""
    batch = current(store)
    if batch is None or not items:
        return
    conn = store.connection().conn
    messages = json.dumps(sorted({(channel, ts) for channel, ts, _ in items}))
    for channel, ts, pair, run_id, candidate_id, closed in conn.execute(
        "WITH k (c, t) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
        " FROM json_each(?))"
        " SELECT k.c, k.t, EXISTS (SELECT 1 FROM pairs WHERE pairs.channel = k.c AND pairs.ts = k.t),"
        " messages.run_id, messages.candidate_id, runs.closed_at IS NOT NULL"
        " FROM k LEFT JOIN messages ON messages.channel = k.c AND messages.ts = k.t"
        " LEFT JOIN runs ON runs.id = messages.run_id",
        [messages],
    ):
        if pair:
            batch.reacted[channel, ts] = "pair"
        elif run_id is None:
            batch.reacted[channel, ts] = None
        else:
            batch.reacted[channel, ts] = MessageRef(run_id, candidate_id)
            if candidate_id is not None:
                batch.closed[candidate_id] = bool(closed)
    reviewers = set()
    for channel, ts, user in items:
        ref = batch.reacted.get((channel, ts))
        if isinstance(ref, MessageRef) and ref.candidate_id is not None:
            reviewers.add((ref.candidate_id, user))
    for reviewer in reviewers:
        batch.theirs.setdefault(reviewer, [])
    for candidate_id, user, *row in conn.execute(
        "WITH k (c, u) AS (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]')"
        " FROM json_each(?))"
        " SELECT candidate_id, user_id, channel, ts, emoji, present, event_ts FROM k"
        " JOIN reactions ON reactions.candidate_id = k.c AND reactions.user_id = k.u",
        [json.dumps(sorted(reviewers))],
    ):
        batch.theirs[candidate_id, user].append(tuple(row))


def claim_event(store: StoreBase, db: Database, event_id: str) -> bool:
    """Record, in the open transaction, that the event is handled; False if it was
    already (Slack redelivers, and a crash may handle an event twice)."""
    batch = current(store)
    claimed = batch.claim(event_id) if batch is not None else None
    if claimed is not None:
        return claimed
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO processed_events (event_id, received_at) VALUES (?, ?)",
        [event_id, utcnow()],
    )
    return cursor.rowcount == 1
