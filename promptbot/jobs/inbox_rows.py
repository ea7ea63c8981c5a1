"""How the inbox worker processes its rows, in arrival order: consecutive rows that only
write the database together, in one transaction, any other alone. A write the database
refuses is tried again, in order; an event that fails otherwise is set aside until the
next start-up; one about a message the bot has not recorded yet is parked behind it
(promptbot/jobs/parked.py) while the others go on.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from itertools import groupby
from typing import Literal

from promptbot.errors import NotRecordedYet
from promptbot.jobs.parked import ParkedEvents
from storage import Store
from storage.base import unavailable
from storage.inbox import InboxRow

logger = logging.getLogger(__name__)

Process = Callable[[str], None]
# Whether processing a body only writes the database (no Web API call): such events
# are processed together, in one transaction, so that one commit serves many.
Batchable = Callable[[str], bool]
# Called in that transaction with the batch's bodies before the first is processed, so
# that what they all read can be read together.
Prepare = Callable[[list[str]], None]
# The message an event is about, for the events that may have to wait for one; None
# for any other.
MessageOf = Callable[[str], str | None]


class _Undone(Exception):
    """SQLite rolled the batch's transaction back itself (a disk error on one event)."""


class InboxRows:
    """``count_off(n)``: n rows are dealt with (processed or set aside) for good."""

    def __init__(self, store: Store, stop: threading.Event, count_off: Callable[[int], None]):
        self.store = store
        self.table = store.inbox
        self.process: Process | None = None
        self.batchable: Batchable = lambda body: False
        self.prepare: Prepare = lambda bodies: None
        self.message_of: MessageOf = lambda body: None
        self.parked = ParkedEvents()
        # Rows up to this id were tried in this process: a row set aside or parked stays
        # behind it.
        self.cursor = 0
        self._stop = stop
        self._count_off = count_off
        self._checkpoints = store.checkpoints

    def process_rows(self, rows: list[InboxRow]) -> bool:
        """Process rows in order; True if the database refused one (it stays next).
        Consecutive batchable rows go together; any other row goes alone, outside a
        transaction, so a Web API call never holds the write lock."""
        for together, group in groupby(rows, key=lambda row: self.batchable(row.body)):
            members = list(group)
            for batch in [members] if together else [[row] for row in members]:
                if self._stop.is_set():
                    return False
                flat = self._process_flat(batch) if together and len(batch) > 1 else None
                if flat is None:
                    flat = self._process_batch(batch, alone=not together)
                if flat:
                    return True
        return False

    def _process_flat(self, rows: list[InboxRow]) -> bool | None:
        """The usual case: a batch's events in one transaction without a savepoint each
        (two statements fewer per event), their event ids read and written once for all
        (storage/event_batch.py); True if the database refused (nothing of the batch is
        kept or counted then, and it is tried again whole, in order). None if an event
        failed otherwise: nothing was kept, and _process_batch goes through the batch
        again, where the failing event fails alone."""
        assert self.process is not None
        if self.parked and any(self.message_of(row.body) in self.parked for row in rows):
            return None  # some wait behind a parked event: one by one, then
        handled: list[InboxRow] = []
        try:
            ids = [row.event_id for row in rows]
            with self.store.transaction(savepoints=False), self.store.event_batch(ids):
                self.prepare([row.body for row in rows])
                for row in rows:
                    if self._stop.is_set():
                        break
                    self.process(row.body)
                    handled.append(row)
        except Exception as error:
            refused = unavailable(error)
            if refused is None or isinstance(refused, NotRecordedYet):
                return None
            logger.warning("%d events wait: %s", len(rows), refused.reason)
            return True
        return self._counted(handled, [row.id for row in handled], aside=0)

    def _counted(self, handled: list[InboxRow], done: list[int], aside: int) -> bool:
        """Mark ``done`` processed once the ratings they made are committed (the inbox
        is another file) and count the handled rows off; True if the marking failed:
        they are tried again, and their event ids make that a no-op."""
        try:
            self.table.mark_processed(done)
        except Exception as error:
            if unavailable(error) is None:
                raise
            logger.warning("could not mark %d processed events: %s", len(done), error)
            return True
        self._checkpoints.nudge()
        if handled:  # a parked event, retried, is behind the cursor
            self.cursor = max(self.cursor, handled[-1].id)
        self._count_off(len(done) + aside)
        return False

    def _process_batch(self, rows: list[InboxRow], alone: bool = False) -> bool:
        """Process rows in order, in one transaction unless ``alone`` (each event a
        savepoint of it, so one can fail alone); True if the database refused one.

        Nothing about the batch is counted until it commits and its rows are marked
        processed: if the commit or the marking fails, or SQLite undid the transaction
        itself, the whole batch is tried again, and the events already handled in it
        are no-ops the second time (their event ids)."""
        handled: list[InboxRow] = []
        done: list[int] = []
        aside = 0
        refused = False
        parks: list[tuple[str, InboxRow]] = []
        try:
            with nullcontext() if alone else self.store.transaction():
                for row in rows:
                    if self._stop.is_set():
                        break
                    message = self._held_back(row, parks)
                    outcome = "parked" if message else self._handle(row)
                    if outcome == "wait":
                        refused = True
                        break
                    handled.append(row)
                    if outcome == "done":
                        done.append(row.id)
                    elif outcome == "aside":
                        aside += 1
                    else:  # neither marked nor counted off: it is still to be processed
                        parks.append((message or self.message_of(row.body) or "", row))
                if not alone and not self.store.connection().conn.in_transaction:
                    raise _Undone
        except _Undone:
            return True
        except Exception as error:
            if unavailable(error) is None:
                raise
            # Tried again whole, and the event ids of those handled make that a no-op.
            logger.warning("could not commit %d processed events: %s", len(rows), error)
            return True
        if self._counted(handled, done, aside):
            return True
        for message, row in parks:
            self.parked.park(message, row)
        return refused

    def _held_back(self, row: InboxRow, parks: list[tuple[str, InboxRow]]) -> str | None:
        """The message ``row`` is about, if an earlier event about it is parked."""
        if not self.parked and not parks:
            return None
        message = self.message_of(row.body)
        if message is not None and (message in self.parked or message in dict(parks)):
            return message
        return None

    def retry_parked(self) -> bool:
        """Try the parked events whose pause is over, each message's in arrival order;
        True if the database refused (the event stays first in line)."""
        for message in self.parked.due():
            while (row := self.parked.first(message)) is not None:
                with self.store.transaction():
                    outcome = self._handle(row)
                if outcome == "wait":
                    return True
                if outcome == "parked":
                    self.parked.later(message)
                    break
                if self._counted(
                    [row], [row.id] if outcome == "done" else [], int(outcome == "aside")
                ):
                    return True
                self.parked.drop_first(message)
        return False

    def _handle(self, row: InboxRow) -> Literal["done", "aside", "wait", "parked"]:
        assert self.process is not None
        try:
            self.process(row.body)
        except Exception as error:
            refused = unavailable(error)
            if isinstance(refused, NotRecordedYet) and self.message_of(row.body) is not None:
                logger.info("event %s waits for its message: %s", row.event_id, refused)
                return "parked"
            if refused is not None:
                logger.warning("event %s waits: %s", row.event_id, refused.reason)
                return "wait"
            logger.error("event %s set aside until restart", row.event_id, exc_info=error)
            try:
                self.table.note_error(row.id, f"{type(error).__name__}: {error}")
            except Exception:
                logger.exception("could not note why event %s failed", row.event_id)
            return "aside"
        return "done"
