"""Knowing when the app has finished reacting to what was typed.

Bolt acks first and runs listeners on its thread pool; the runner then calls models,
posts and seeds emoji on pools of its own. The shell must render only once all of that
is done, without sleeping a fixed time. So every pool the app owns is wrapped in an
executor that counts the tasks in flight: the app is idle when the count is zero.
(Work only starts from a task already counted or from the shell itself, so a zero
count cannot be followed by work the shell did not cause.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

POLL_SECONDS = 0.01


class Activity:
    """The tasks in flight across all the executors it wraps."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._in_flight: set[Future[Any]] = set()

    def add(self, future: Future[T]) -> Future[T]:
        with self._lock:
            self._in_flight.add(future)
        future.add_done_callback(self._discard)
        return future

    def _discard(self, future: Future[Any]) -> None:
        with self._lock:
            self._in_flight.discard(future)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._in_flight)

    def wait_idle(self, timeout: float) -> bool:
        """Poll until nothing is in flight; False if work is still running at the timeout."""
        deadline = time.monotonic() + timeout
        while self.busy:
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def wrap(self, executor: Executor) -> Executor:
        return _CountingExecutor(executor, self)

    def instrument(self, owner: object) -> None:
        """Wrap every executor ``owner`` holds, directly or in a dict (per-model pools).

        Found by type rather than by name, so a pool added to the runner later is counted
        too."""
        for name, value in list(vars(owner).items()):
            if isinstance(value, Executor) and not isinstance(value, _CountingExecutor):
                setattr(owner, name, self.wrap(value))
            elif isinstance(value, dict) and any(isinstance(v, Executor) for v in value.values()):
                for key, pool in value.items():
                    if isinstance(pool, Executor) and not isinstance(pool, _CountingExecutor):
                        value[key] = self.wrap(pool)


class _CountingExecutor(Executor):
    def __init__(self, inner: Executor, activity: Activity) -> None:
        self._inner = inner
        self._activity = activity

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        return self._activity.add(self._inner.submit(fn, *args, **kwargs))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)
