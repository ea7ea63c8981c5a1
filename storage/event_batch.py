"""What the inbox worker's batch of events asks the database once instead of per event.

The worker applies a batch of reactions and replies in one write transaction
(promptbot/jobs/inbox.py). Nothing else writes while it holds the lock, so within the
batch a message's run and candidate, and whether that run is closed, stay as first
read; which of the batch's event ids were handled before is read with one query, and
those claimed are written with one statement before the commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlite_utils import Database

from storage.base import StoreBase, utcnow


@dataclass
class EventBatch:
    ids: frozenset[str]  # the batch's event ids
    new: set[str]  # of those, the ones no earlier transaction handled, not yet claimed
    claimed: list[str] = field(default_factory=list)  # claimed in the batch, to write
    reacted: dict[tuple[str, str], Any] = field(default_factory=dict)  # find_reacted
    closed: dict[int, bool] = field(default_factory=dict)  # candidate id → run closed

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
        if batch.claimed:
            conn.execute(
                "INSERT INTO processed_events (event_id, received_at)"
                " SELECT value, ? FROM json_each(?)",
                [utcnow(), json.dumps(batch.claimed)],
            )
    finally:
        store._local.batch = None


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
