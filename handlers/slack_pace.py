"""Posting pace per channel: Slack takes about one message a second in a channel, with
short bursts, so the gateway queues posts here instead of meeting 429s."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ChannelPace:
    """A token bucket per channel: ``burst`` posts at once, then ``per_second``. A post
    reserves its slot under the lock and sleeps outside it, so callers queue in order."""

    def __init__(
        self,
        per_second: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.per_second, self.burst = per_second, burst
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # channel: (tokens, as of)

    def wait(self, channel: str) -> None:
        if self.per_second <= 0:
            return
        with self._lock:
            now = self.clock()
            tokens, since = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - since) * self.per_second) - 1
            self._buckets[channel] = (tokens, now)
        if tokens < 0:
            self.sleep(-tokens / self.per_second)
