"""Bodies parsed on their way in, handed to the inbox worker with their rows.

A request parses its delivery to find the event id; the worker, reading the recorded
row back, would parse the same text again. The parse is kept here, keyed by the body,
from just before the row is written until the worker takes it (once). Only so many are
kept: past that the store is emptied, and the worker parses what it reads (as it does
for rows from before a restart), so nothing that was never taken is held for long.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

# A few batches of the worker's (promptbot/jobs/inbox.py).
KEPT_MOST = 512


class Handover:
    def __init__(self, most: int = KEPT_MOST) -> None:
        self.most = most
        self._lock = threading.Lock()
        self._kept: dict[str, Any] = {}

    def around(self, body: str, parsed: Any, write: Callable[[], bool]) -> bool:
        """Keep ``parsed`` (unless None) while ``write`` records ``body``, and after it
        only if it was recorded as new (True); returns what ``write`` returned."""
        if parsed is None:
            return write()
        self.keep(body, parsed)
        new = False
        try:
            new = write()
        finally:
            if not new:
                self.drop(body)
        return new

    def keep(self, body: str, parsed: Any) -> None:
        """Before ``body`` is written: the worker may read its row at once."""
        with self._lock:
            if len(self._kept) >= self.most:
                self._kept.clear()
            self._kept[body] = parsed

    def drop(self, body: str) -> None:
        """``body`` was not recorded (a duplicate, or the write failed)."""
        with self._lock:
            self._kept.pop(body, None)

    def take(self, body: str) -> Any:
        """The parse kept for ``body``, once; None if there is none."""
        with self._lock:
            return self._kept.pop(body, None)
