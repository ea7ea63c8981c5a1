"""The threads Bolt runs listeners on.

Two things happen here because this is the one place every listener run passes:
- a listener gets 1.5 of Slack's 3 seconds to wait for the database's write lock, so
  that a command is answered in time, honestly: recorded, or "could not record it";
- an event replayed from the inbox runs on the inbox worker's own thread, so that
  the worker knows when it is done and processes the next one after it, in order.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from storage.base import StoreBase

P = ParamSpec("P")
T = TypeVar("T")

LISTENER_DB_BUDGET_SECONDS = 1.5


class ListenerPool(ThreadPoolExecutor):
    def __init__(self, threads: int, store: StoreBase) -> None:
        super().__init__(threads, thread_name_prefix="bolt")
        self._store = store
        self._inline = threading.local()

    @contextmanager
    def inline(self) -> Iterator[None]:
        """Listeners started by this thread within the block run on it, before
        Bolt's dispatch returns."""
        self._inline.active = True
        try:
            yield
        finally:
            self._inline.active = False

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        if getattr(self._inline, "active", False):
            future: Future[T] = Future()
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as error:
                future.set_exception(error)
            return future
        return super().submit(self._within_budget, fn, *args, **kwargs)

    def _within_budget(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._store.deadline(LISTENER_DB_BUDGET_SECONDS):
            return fn(*args, **kwargs)
