"""Group commit of the inbox's deliveries.

Each request thread must see its own delivery committed before Slack gets the 200.
The deliveries that arrive while one transaction writes are written together in the
next, by the first of their threads, so one commit serves many requests.

Under load the writer lingers a millisecond before it takes its group, as databases
do with their commit delay: the transaction was most of a request's cost when groups
were of one or two, and nine share it after a millisecond's wait (bench_ingest). An
ack is due in 3 s; a lone delivery is written at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from promptbot.errors import StorageUnavailable
from storage.base import unavailable

# Slack waits 3 s for the answer; a write that cannot get the lock in 1 s is refused
# with a 5xx well before that, and Slack delivers it again.
WRITE_BUDGET_SECONDS = 1.0

# How long a writer waits for more deliveries when the load says more are coming.
LINGER_SECONDS = 0.001

# Writes (event_id, body) deliveries in one transaction within a budget in seconds;
# for each, whether it is new.
WriteMany = Callable[[list[tuple[str, str]], float], list[bool]]


class _Wakeup:
    """A one-shot signal from the writer to one waiting thread: a bare lock, released
    once. threading.Event would do, at several times the cost on every request."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        # Only the thread that writes a group, or passes the turn, sets it (one at a
        # time: the group lock or the turn itself orders them).
        if not self._set:
            self._set = True
            self._lock.release()

    def wait(self) -> None:
        self._lock.acquire()


@dataclass
class _Delivery:
    event_id: str
    body: str
    deadline: float  # written by then, for Slack's answer to be in time
    new: bool | None = None  # once written: was it new
    error: BaseException | None = None  # or why it was not written
    wakeup: _Wakeup = field(default_factory=_Wakeup)

    @property
    def finished(self) -> bool:
        return self.new is not None or self.error is not None


class GroupCommit:
    def __init__(self, write: WriteMany, linger: Callable[[float], None] = time.sleep) -> None:
        self.write = write
        self._linger = linger
        self._group = threading.Lock()
        self._arrived: list[_Delivery] = []
        self._writing = False
        self._last_group = 0  # how many the last write took

    def record(self, event_id: str, body: str) -> bool:
        """Write one delivery, together with those that arrive meanwhile; True if it is
        new. Raises StorageUnavailable (or the write's error) if it was not written."""
        delivery = _Delivery(event_id, body, time.monotonic() + WRITE_BUDGET_SECONDS)
        self._record_in_a_group(delivery)
        if delivery.error is not None:
            raise delivery.error
        return bool(delivery.new)

    def _record_in_a_group(self, delivery: _Delivery) -> None:
        """Group commit: the deliveries that arrive while one transaction writes are
        written together in the next, by the first of their threads, and each thread
        returns once its own delivery is committed (or refused)."""
        with self._group:
            self._arrived.append(delivery)
            if self._writing:
                leads = False
            else:
                self._writing = leads = True
        if not leads:
            delivery.wakeup.wait()
            if delivery.finished:
                return
        # This thread's turn: it writes what arrived until now, its own delivery included.
        with self._group:
            busy = self._last_group > 1 or len(self._arrived) > 1
        if busy:
            self._linger(LINGER_SECONDS)  # the others in flight join this group
        with self._group:
            group, self._arrived = self._arrived, []
            self._last_group = len(group)
        try:
            self._write(group)
        finally:
            with self._group:
                if self._arrived:
                    self._arrived[0].wakeup.set()  # the turn passes to the next one waiting
                else:
                    self._writing = False

    def _write(self, group: list[_Delivery]) -> None:
        try:
            budget = max(0.0, min(d.deadline for d in group) - time.monotonic())
            news = self.write([(d.event_id, d.body) for d in group], budget)
            for member, new in zip(group, news, strict=True):
                member.new = new
        except Exception as error:
            refused = unavailable(error)
            for member in group:
                # Each thread raises an exception object of its own.
                member.error = StorageUnavailable(refused.reason) if refused else error
        finally:
            for member in group:
                if not member.finished:  # interrupted: nothing is known to be written
                    member.error = StorageUnavailable("the write was interrupted")
                member.wakeup.set()
