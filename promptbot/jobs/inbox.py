"""An acknowledged event is a recorded event.

Each delivery is written to the inbox table before Slack gets its answer; if the write
fails, Slack is told so (and retries). One worker thread then processes the inbox in
arrival order, so the ratings on a candidate change in the order they came. Rows left
unprocessed by a crash are processed at the next start-up.

Processing is at least once: a crash after an event was handled but before its row
was marked handles it again, and the handlers' own dedupe by event_id makes that
harmless. A row whose processing fails for any reason but the database is set aside
(logged, its error kept) until the next start-up; one that fails because the
database cannot take writes is retried, in order, once it can; one about a message the
bot has not recorded yet waits behind it while the others go on (promptbot/jobs/
inbox_rows.py and parked.py).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from promptbot.jobs.group_commit import GroupCommit
from promptbot.jobs.handover import Handover
from promptbot.jobs.inbox_rows import Batchable, InboxRows, MessageOf, Prepare, Process
from storage import Store
from storage.base import stamp, unavailable
from storage.inbox import InboxRow

logger = logging.getLogger(__name__)

BATCH = 128
# Caught up with a short batch, the worker waits this long for more: ~30 a batch under the
# bench's load, not ~8 at 5 ms; 20% fewer page writes and context switches per event.
LINGER_SECONDS = 0.02
KEEP_PROCESSED = timedelta(days=1)  # Slack's retries end after minutes
# The handled events' ids (the handlers' dedupe) are kept a week, well past the inbox's
# day, and for as long as a delivery recorded before them still waits.
KEEP_HANDLED = timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600.0
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 30.0

Accepted = Literal["recorded", "duplicate", "full"]


class EventInbox:
    def __init__(self, store: Store, max_backlog: int) -> None:
        self.store = store
        self.table = store.inbox
        self.max_backlog = max_backlog
        self._lock = threading.Lock()
        self._writes = GroupCommit(self._record_many)
        self._backlog = self.table.count_pending()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="inbox")
        self._arrival = threading.Event()  # wakes a worker waiting for a parked event
        self._started = False
        self._draining = False
        self._wanted = 0
        self._stop = threading.Event()
        self._rows = InboxRows(store, self._stop, self._count_off)
        self.parses = Handover()  # of the bodies accepted, for the worker
        self._pruned_at = 0.0
        # The inbox file's connections and the worker's defer their checkpoints to it.
        self._checkpoints = store.checkpoints

    @property
    def backlog(self) -> int:
        """Events recorded and not yet processed (as this process counts them)."""
        with self._lock:
            return self._backlog

    def attach(
        self,
        process: Process,
        batchable: Batchable | None = None,
        prepare: Prepare | None = None,
        message_of: MessageOf | None = None,
    ) -> None:
        """What processing one recorded body means (the Slack side provides it), which
        bodies only write the database, so may share one transaction, what to read for
        such a batch first, and which message an event that may wait for one is about."""
        self._rows.process = process
        if batchable is not None:
            self._rows.batchable = batchable
        if prepare is not None:
            self._rows.prepare = prepare
        if message_of is not None:
            self._rows.message_of = message_of

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
        self._arrival.set()
        with self._lock:
            self._wanted += 1
            if (
                self._draining
                or not self._started
                or self._rows.process is None
                or self._stop.is_set()
            ):
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
        self._arrival.set()
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
            self._arrival.clear()
            rows: list[InboxRow] = []
            try:
                refused = self._rows.retry_parked()
                if not refused:
                    rows = self.table.pending(self._rows.cursor, BATCH)
                    refused = self._rows.process_rows(rows)
            except Exception as error:
                if unavailable(error) is None:
                    raise
                refused = True
            if not refused and not rows:
                pause = self._rows.parked.seconds_to_next()
                if pause is None:
                    return
                self._arrival.wait(pause)  # until a parked event is due or one arrives
                continue
            if refused:
                # The database refused: this row is retried, in order, after a pause.
                self._stop.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
            else:
                delay = RETRY_FIRST_SECONDS
                if len(rows) < BATCH:
                    self._stop.wait(LINGER_SECONDS)

    def _count_off(self, rows: int) -> None:
        with self._lock:
            self._backlog = max(0, self._backlog - rows)

    def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = now
        try:
            self.table.prune(KEEP_PROCESSED)
            self._forget_handled_ids()
        except Exception as error:
            if unavailable(error) is None:
                raise

    def _forget_handled_ids(self) -> None:
        """A delivery still waiting may have been handled already, by a process that
        stopped before it could mark the row: its id is kept until the row is done.
        Its handling came after it was recorded, so keeping every id handled since the
        oldest waiting delivery was recorded keeps it. Otherwise an id is only needed
        while Slack may deliver its event again, which the inbox's own day covers."""
        cutoff = stamp(datetime.now(UTC) - KEEP_HANDLED)
        waiting_since = self.table.oldest_pending_received()
        if waiting_since is not None:
            cutoff = min(cutoff, waiting_since)
        forgotten = self.store.forget_handled_events(cutoff)
        if forgotten:
            logger.info("forgot the ids of %d events handled before %s", forgotten, cutoff)
