"""Events that wait for a message the bot has not recorded yet, each behind its message.

Slack shows a post before it answers the call that made it, so a reaction can reach the
bot before the bot knows the post is one of its answers. Such an event is parked, with
every later event about the same message behind it in arrival order, and tried again
after a pause that doubles; events about other messages go on meanwhile. Parking is
memory only: the rows stay unprocessed in the inbox, so a restart tries them again in
order.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from storage.inbox import InboxRow

FIRST_PAUSE_SECONDS = 0.1
# A parked message holds up only its own events, so it is tried again often: the wait
# it stands for (one post in flight) is usually under a second.
LONGEST_PAUSE_SECONDS = 5.0


@dataclass
class _Queue:
    due: float
    pause: float = FIRST_PAUSE_SECONDS
    rows: deque[InboxRow] = field(default_factory=deque)


class ParkedEvents:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._queues: dict[str, _Queue] = {}

    def __len__(self) -> int:
        return sum(len(queue.rows) for queue in self._queues.values())

    def __bool__(self) -> bool:
        return bool(self._queues)

    def __contains__(self, message: object) -> bool:
        return message in self._queues

    def park(self, message: str, row: InboxRow) -> None:
        """Behind the events already parked for ``message``, or first, tried again after
        the first pause."""
        queue = self._queues.get(message)
        if queue is None:
            queue = self._queues[message] = _Queue(due=self._clock() + FIRST_PAUSE_SECONDS)
        queue.rows.append(row)

    def due(self) -> list[str]:
        """The messages whose pause is over (in no particular order: each message's
        events are independent of another's)."""
        now = self._clock()
        return [message for message, queue in self._queues.items() if queue.due <= now]

    def first(self, message: str) -> InboxRow | None:
        queue = self._queues.get(message)
        return queue.rows[0] if queue else None

    def drop_first(self, message: str) -> None:
        """The first event of ``message`` is dealt with: the next one is tried at once."""
        queue = self._queues[message]
        queue.rows.popleft()
        if not queue.rows:
            del self._queues[message]

    def later(self, message: str) -> None:
        """The message is still not recorded: pause twice as long (up to a bound)."""
        queue = self._queues[message]
        queue.pause = min(queue.pause * 2, LONGEST_PAUSE_SECONDS)
        queue.due = self._clock() + queue.pause

    def seconds_to_next(self) -> float | None:
        """How long until a message is due, or None when nothing is parked."""
        if not self._queues:
            return None
        return max(0.0, min(q.due for q in self._queues.values()) - self._clock())
