"""WAL checkpoints on a thread of their own.

A commit that finds the WAL past SQLite's threshold copies it back into the database
itself, and at a million rows that copy was most of what the event worker spent per
batch. Here the writers that matter defer it (``StoreBase.defer_checkpoints``) and
nudge this thread, which makes a PASSIVE checkpoint (it neither waits for nor blocks
a writer) at most every ``every`` seconds, while SQLite does the copying without
Python's lock, so it runs beside the writers instead of inside their commits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from storage.base import StoreBase, unavailable

logger = logging.getLogger(__name__)

EVERY_SECONDS = 0.5


class Checkpointer:
    def __init__(self, stores: Sequence[StoreBase], every: float = EVERY_SECONDS) -> None:
        self.stores = list(stores)
        self.every = every
        self._wanted = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
            self._thread.start()

    def nudge(self) -> None:
        """Something was committed: checkpoint soon."""
        self._wanted.set()

    def stop(self) -> None:
        self._stop.set()
        self._wanted.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._wanted.wait()
                self._wanted.clear()
                for store in self.stores:
                    self._checkpoint(store)
                self._stop.wait(self.every)
        finally:
            for store in self.stores:
                store.close()

    @staticmethod
    def _checkpoint(store: StoreBase) -> None:
        try:
            store.checkpoint()
        except Exception as error:
            # A busy or full database: the next commit nudges again, and past the
            # backstop a writer checkpoints itself.
            if unavailable(error) is None:
                logger.exception("WAL checkpoint of %s failed", store.path)
