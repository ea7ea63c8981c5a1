"""A Slack-like sender of reaction events to a running bot: several threads send new
reactions until stopped, each delivery's answers are kept, and ``redeliver`` plays
Slack's retries of whatever was not acknowledged with a 2xx."""

from __future__ import annotations

import threading
import urllib.request
from dataclasses import dataclass, field

from promptbot.standins import payloads
from tests.harness import SECRET


def post_event(url: str, body: str, retry: int = 0) -> int:
    """Status of one signed delivery to ``url``; 0 when the connection failed."""
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    try:
        status, _ = payloads.post_signed(
            url + "/slack/events",
            body,
            SECRET,
            content_type="application/json",
            extra_headers=headers if retry else None,
            timeout=10,
        )
    except OSError:
        return 0
    return status


def health(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return 0


@dataclass
class Delivery:
    user: str
    body: str
    statuses: list[int] = field(default_factory=list)

    @property
    def acked(self) -> bool:
        return 200 in self.statuses


class ReactionStream:
    """Reactions from new users (one each) on the message ``ts``, sent to ``url``
    (which may change: a restarted bot)."""

    def __init__(self, url: str, ts: str, threads: int = 4) -> None:
        self.url, self.ts, self.threads = url, ts, threads
        self.deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _next(self) -> Delivery:
        with self._lock:
            user = f"U{len(self.deliveries):05d}"
            event = payloads.reaction_event(
                "reaction_added", user=user, reaction="+1", channel="C1", ts=self.ts
            )
            delivery = Delivery(user, payloads.event_body(event))
            self.deliveries.append(delivery)
            return delivery

    def _send_one(self) -> None:
        delivery = self._next()
        delivery.statuses.append(post_event(self.url, delivery.body))

    def send(self, count: int) -> None:
        for _ in range(count):
            self._send_one()

    def start(self, pause: float = 0.01) -> None:
        def run() -> None:
            while not self._stop.is_set():
                self._send_one()
                self._stop.wait(pause)

        self._workers = [threading.Thread(target=run, daemon=True) for _ in range(self.threads)]
        for worker in self._workers:
            worker.start()

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(timeout=15)

    def redeliver(self, retries: int = 3) -> None:
        """What Slack does for a delivery that got no 2xx: send it again, a few times."""
        for retry in range(1, retries + 1):
            for delivery in self.deliveries:
                if not delivery.acked:
                    delivery.statuses.append(post_event(self.url, delivery.body, retry))

    @property
    def acked(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.acked]
