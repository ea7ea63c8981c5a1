"""The Slack stand-in's fault scripts and rate limit, as Slack misbehaves for real.

- ``fail_next(method, …)`` queues answers for the next calls of a method: 429 with
  ``Retry-After``, HTTP 200 ``{"ok": false, "error": …}``, a 5xx, a dropped connection,
  or an answer slower than the client's timeout; with ``apply=True`` a dropped or slow
  call is carried out first (Slack posted, the bot never heard).
- ``rate_limit(per_second, burst)`` answers 429 to ``chat.postMessage`` beyond the pace,
  per channel, as Slack does (about one message a second, short bursts).
- ``go_offline(seconds)`` (from the server) refuses connections for a while.
"""

from __future__ import annotations

import math
import time

from promptbot.standins.server import HTTPReply
from promptbot.standins.slack_records import Call, JSONDict, ScriptedFailure
from promptbot.standins.slack_state import SlackState

PACED_METHODS = ("chat.postMessage",)


class FaultControls(SlackState):
    def reset(self) -> None:
        super().reset()
        with self._lock:
            self._limit: tuple[float, int] | None = None
            self._buckets: dict[str, tuple[float, float]] = {}

    def fail_next(
        self,
        method: str,
        times: int = 1,
        retry_after: int = 1,
        error: str | None = None,
        *,
        status: int | None = None,
        drop: bool = False,
        delay: float = 0.0,
        apply: bool = False,
        after: int = 0,
    ) -> None:
        """Script the next ``times`` answers of ``method``: a 429 (``Retry-After``) by
        default; ``error``: HTTP 200 with ok false; ``status``: that HTTP status;
        ``drop``: no answer, the connection closes; ``delay``: answer this many seconds
        late. Only ``apply=True`` calls change anything (with ``drop`` or ``delay``).
        ``after``: let that many calls through first."""
        failure = ScriptedFailure(retry_after, error, status, drop, delay, apply)
        passing = ScriptedFailure(0, None, passes=True)
        with self._lock:
            self._failures.setdefault(method, []).extend([passing] * after + [failure] * times)

    def rate_limit(self, per_second: float | None, burst: int = 3) -> None:
        """Answer 429 to posts beyond ``per_second`` per channel after a ``burst``
        (None: no limit)."""
        with self._lock:
            self._limit = None if per_second is None else (per_second, burst)
            self._buckets = {}

    def pending_failures(self, method: str) -> int:
        with self._lock:
            return len(self._failures.get(method, []))

    # -- used by the HTTP entry point, with the lock held

    def _dispatch(self, method: str, params: JSONDict) -> JSONDict:
        raise NotImplementedError  # SlackStandIn's: carry out a Web API call

    def _scripted(self, method: str, params: JSONDict, call: Call) -> HTTPReply | None:
        """The scripted answer for this call, if any (None: answer normally)."""
        failures = self._failures.get(method)
        if failures and not failures[0].passes:
            return self._fault(method, params, call, failures.pop(0))
        if failures:
            failures.pop(0)
        if self._limit is not None and method in PACED_METHODS:
            return self._over_pace(str(params.get("channel") or ""), call)
        return None

    def _fault(
        self, method: str, params: JSONDict, call: Call, failure: ScriptedFailure
    ) -> HTTPReply:
        if failure.drop or failure.delay:
            result = self._dispatch(method, params) if failure.apply else {"ok": True}
            call.error = "dropped" if failure.drop else "late"
            return HTTPReply.of_json(result, delay=failure.delay, drop=failure.drop)
        if failure.status is not None:
            call.error = f"HTTP {failure.status}"
            return HTTPReply.of_text("upstream connect error", failure.status)
        if failure.error is not None:
            call.error = failure.error
            return HTTPReply.of_json({"ok": False, "error": failure.error})
        call.rate_limited, call.error = True, "ratelimited"
        headers = {"Retry-After": str(failure.retry_after)}
        return HTTPReply.of_json({"ok": False, "error": "ratelimited"}, 429, headers)

    def _over_pace(self, channel: str, call: Call) -> HTTPReply | None:
        assert self._limit is not None
        per_second, burst = self._limit
        now = time.monotonic()
        tokens, since = self._buckets.get(channel, (float(burst), now))
        tokens = min(float(burst), tokens + (now - since) * per_second)
        if tokens >= 1:
            self._buckets[channel] = (tokens - 1, now)
            return None
        self._buckets[channel] = (tokens, now)
        call.rate_limited, call.error = True, "ratelimited"
        wait = str(max(1, math.ceil((1 - tokens) / per_second)))
        return HTTPReply.of_json({"ok": False, "error": "ratelimited"}, 429, {"Retry-After": wait})
