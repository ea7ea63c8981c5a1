"""The judge's tasks per run in this process: each verdict or pair is sent to the judge
model's pool once, however often the run is told finished or an answer arrives, and a
run is settled once it has finished and the last task sent for it has ended, whichever
way it ended."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

# A judge task: (candidate id,) for a verdict, (first id, second id) for a pair.
TaskKey = tuple[int, ...]
Task = tuple[TaskKey, Callable[[], None]]


class Stopped(Exception):
    """The process is stopping: a judge task leaves its verdict for the next start."""


class RunTasks:
    def __init__(
        self, submit: Callable[[Callable[[], None]], object], settle: Callable[[int], None]
    ) -> None:
        self._submit = submit  # onto the judge model's pool
        self._settle = settle  # a finished run whose tasks have all ended
        self._lock = threading.Lock()
        self._claimed: dict[int, set[TaskKey]] = {}  # sent from here, never sent again
        self._out: dict[int, int] = {}  # sent and not yet ended
        self._finishing: set[int] = set()  # told finished, settled when none is out

    def send(self, run_id: int, tasks: list[Task]) -> None:
        """Submit those of ``tasks`` not sent before."""
        with self._lock:
            claimed = self._claimed.setdefault(run_id, set())
            new = [(key, task) for key, task in tasks if key not in claimed]
            claimed.update(key for key, _ in new)
            self._out[run_id] = self._out.get(run_id, 0) + len(new)
        for sent, (_, task) in enumerate(new):
            try:
                self._submit(self._guarded(run_id, task))
            except RuntimeError:  # shutting down: the next start sends what is missing
                for _ in new[sent:]:
                    self._ended(run_id)
                return

    def finished(self, run_id: int) -> None:
        """The run is finished and everything missing was sent: settle it once the last
        task out ends (now, if none is). Called only after the sends, so that a task
        ending before every missing one is sent does not settle the run early."""
        with self._lock:
            self._finishing.add(run_id)
        self._settle_if_idle(run_id)

    def _guarded(self, run_id: int, task: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                task()
            except Stopped:
                pass
            except Exception:
                logger.exception("run %s: a judge task failed", run_id)
            finally:
                self._ended(run_id)

        return run

    def _ended(self, run_id: int) -> None:
        with self._lock:
            self._out[run_id] -= 1
        self._settle_if_idle(run_id)

    def _settle_if_idle(self, run_id: int) -> None:
        with self._lock:
            if self._out.get(run_id, 0) or run_id not in self._finishing:
                return
            self._finishing.discard(run_id)
            self._out.pop(run_id, None)
            self._claimed.pop(run_id, None)  # a later start sends what is still missing
        self._settle(run_id)
