"""An acknowledged event is a recorded event.

Each delivery is written to the inbox table before Slack gets its answer; if the write
fails, Slack is told so (and retries). One worker thread then processes the inbox in
arrival order, so the ratings on a candidate change in the order they came. Rows left
unprocessed by a crash are processed at the next start-up.

Processing is at least once: a crash after an event was handled but before its row
was marked handles it again, and the handlers' own dedupe by event_id makes that
harmless. A row whose processing fails for any reason but the database is set aside
(logged, its error kept) until the next start-up; one that fails because the
database cannot take writes is retried, in order, once it can.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from datetime import timedelta
from itertools import groupby
from typing import Any, Literal

from promptbot.jobs.group_commit import GroupCommit
from promptbot.jobs.handover import Handover
from storage import Store
from storage.base import unavailable
from storage.inbox import InboxRow

logger = logging.getLogger(__name__)

BATCH = 128
# Caught up with a short batch, the worker waits this long for more: ~30 a batch under the
# bench's load, not ~8 at 5 ms; 20% fewer page writes and context switches per event.
LINGER_SECONDS = 0.02
KEEP_PROCESSED = timedelta(days=1)  # Slack's retries end after minutes
PRUNE_EVERY_SECONDS = 3600.0
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 30.0

Accepted = Literal["recorded", "duplicate", "full"]
Process = Callable[[str], None]
# Whether processing a body only writes the database (no Web API call): such events
# are processed together, in one transaction, so that one commit serves many.
Batchable = Callable[[str], bool]
# Called in that transaction with the batch's bodies before the first is processed, so
# that what they all read can be read together.
Prepare = Callable[[list[str]], None]


class _Undone(Exception):
    """SQLite rolled the batch's transaction back itself (a disk error on one event)."""


class EventInbox:
    def __init__(self, store: Store, max_backlog: int) -> None:
        self.store = store
        self.table = store.inbox
        self.max_backlog = max_backlog
        self._lock = threading.Lock()
        self._writes = GroupCommit(self._record_many)
        self._backlog = self.table.count_pending()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="inbox")
        self._process: Process | None = None
        self._batchable: Batchable = lambda body: False
        self._prepare: Prepare = lambda bodies: None
        self._started = False
        self._draining = False
        self._wanted = 0
        self._stop = threading.Event()
        self.parses = Handover()  # of the bodies accepted, for the worker
        # Rows up to this id were tried in this process: a row set aside stays behind it.
        self._cursor = 0
        self._pruned_at = 0.0
        # The inbox file's connections and the worker's defer their checkpoints to it.
        self._checkpoints = store.checkpoints

    @property
    def backlog(self) -> int:
        """Events recorded and not yet processed (as this process counts them)."""
        with self._lock:
            return self._backlog

    def attach(
        self, process: Process, batchable: Batchable | None = None, prepare: Prepare | None = None
    ) -> None:
        """What processing one recorded body means (the Slack side provides it), which
        bodies only write the database, so may share one transaction, and what to read
        for such a batch first."""
        self._process = process
        if batchable is not None:
            self._batchable = batchable
        if prepare is not None:
            self._prepare = prepare

    def check_writable(self) -> None:
        """Raise StorageUnavailable unless the inbox's file would take a write now."""
        self.table.store.check_writable()

    def start(self) -> None:
        """Process what is waiting, then each event as it is accepted."""
        self._started = True
        self._checkpoints.start()
        self.wake()

    def accept(self, event_id: str, body: str, parsed: Any = None) -> Accepted:
        """Record one delivery (``parsed``: its body parsed already, if it was). Raises
        StorageUnavailable if it could not be written; "full" means the backlog is at
        its bound and nothing was written."""
        with self._lock:
            if self._backlog >= self.max_backlog:
                return "full"
        if not self.parses.around(body, parsed, lambda: self._writes.record(event_id, body)):
            return "duplicate"
        with self._lock:
            self._backlog += 1
        self.wake()
        return "recorded"

    def _record_many(self, deliveries: list[tuple[str, str]], budget: float) -> list[bool]:
        news = self.table.record_many(deliveries, budget)
        self._checkpoints.nudge()
        return news

    def wake(self) -> None:
        with self._lock:
            self._wanted += 1
            if self._draining or not self._started or self._process is None or self._stop.is_set():
                return
            self._draining = True
        self._pool.submit(self._drain)

    def idle(self) -> bool:
        with self._lock:
            return not self._draining

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not self.idle():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def shutdown(self) -> None:
        """Stop after the event in hand; what is left waits for the next start-up."""
        self._stop.set()
        self._pool.shutdown(wait=True)
        self._checkpoints.stop()

    # -- the worker --------------------------------------------------------------

    def _drain(self) -> None:
        try:
            self.store.defer_checkpoints()
            while True:
                with self._lock:
                    seen = self._wanted
                self._process_pending()
                self._prune_now_and_then()
                with self._lock:
                    if self._wanted == seen or self._stop.is_set():
                        self._draining = False
                        return
        except BaseException:
            with self._lock:
                self._draining = False
            logger.exception("the event inbox worker stopped")
            raise

    def _process_pending(self) -> None:
        delay = RETRY_FIRST_SECONDS
        while not self._stop.is_set():
            rows: list[InboxRow] = []
            try:
                rows = self.table.pending(self._cursor, BATCH)
                refused = self._process_rows(rows)
            except Exception as error:
                if unavailable(error) is None:
                    raise
                refused = True
            if not refused and not rows:
                return
            if refused:
                # The database refused: this row is retried, in order, after a pause.
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            else:
                delay = RETRY_FIRST_SECONDS
                if len(rows) < BATCH:
                    self._stop.wait(LINGER_SECONDS)

    def _process_rows(self, rows: list[InboxRow]) -> bool:
        """Process rows in order; True if the database refused one (it stays next).
        Consecutive batchable rows go together; any other row goes alone, outside a
        transaction, so a Web API call never holds the write lock."""
        for together, group in groupby(rows, key=lambda row: self._batchable(row.body)):
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
        assert self._process is not None
        handled: list[InboxRow] = []
        try:
            ids = [row.event_id for row in rows]
            with self.store.transaction(savepoints=False), self.store.event_batch(ids):
                self._prepare([row.body for row in rows])
                for row in rows:
                    if self._stop.is_set():
                        break
                    self._process(row.body)
                    handled.append(row)
        except Exception as error:
            refused = unavailable(error)
            if refused is None:
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
        if handled:
            self._cursor = handled[-1].id
        with self._lock:
            self._backlog = max(0, self._backlog - len(done) - aside)
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
        try:
            with nullcontext() if alone else self.store.transaction():
                for row in rows:
                    if self._stop.is_set():
                        break
                    outcome = self._handle(row)
                    if outcome == "wait":
                        refused = True
                        break
                    handled.append(row)
                    if outcome == "done":
                        done.append(row.id)
                    else:
                        aside += 1
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
        return self._counted(handled, done, aside) or refused

    def _handle(self, row: InboxRow) -> Literal["done", "aside", "wait"]:
        assert self._process is not None
        try:
            self._process(row.body)
        except Exception as error:
            refused = unavailable(error)
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

    def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        try:
            self.table.prune(KEEP_PROCESSED)
        except Exception as error:
            if unavailable(error) is None:
                raise
