"""Posting the digest exactly once per period, and the in-process scheduler.

Which period is due, and when, is decided in ``promptbot.jobs.periods``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal, Protocol
from zoneinfo import ZoneInfo

from promptbot.config.settings import DigestSettings
from promptbot.errors import PublishError
from promptbot.jobs.periods import (
    LOOKUP_MARGIN,
    Period,
    cron_trigger,
    grace_window,
    latest_due,
    local_time,
)
from promptbot.render.blocks import Message
from storage.digest_log import DigestLog

if TYPE_CHECKING:  # APScheduler loads when the jobs start, not at start-up
    from apscheduler.schedulers.background import BackgroundScheduler

logger = logging.getLogger(__name__)


# -- posting, exactly once -----------------------------------------------------------


class DigestPublisher(Protocol):
    """Where digests go. The Slack implementation lives in handlers/digest_publisher.py.
    Both methods raise PublishError when Slack refuses or cannot be reached."""

    def post_digest(self, channel: str, period_key: str, message: Message) -> str:
        """Post, tagged with ``period_key`` so it can be found again; return its ts."""
        ...

    def find_digest(self, channel: str, period_key: str, since: datetime) -> str | None:
        """The ts of a digest for ``period_key`` posted after ``since``, if there is one."""
        ...


class Status(StrEnum):
    POSTED = "posted"  # every channel has the digest now
    ALREADY_POSTED = "already-posted"
    CLAIMED_ELSEWHERE = "claimed-elsewhere"  # another worker holds a live lease
    OUTSIDE_GRACE = "outside-grace"
    NOTHING_DUE = "nothing-due"
    NO_CHANNELS = "no-channels"
    INCOMPLETE = "incomplete"  # some channel failed; a later attempt finishes it


@dataclass(frozen=True)
class Outcome:
    status: Status
    period: Period | None = None
    posts: dict[str, str] = field(default_factory=dict)  # channel -> ts, all attempts
    pending: list[str] = field(default_factory=list)  # channels without the digest yet
    retry_at: datetime | None = None  # when a held lease expires


ChannelResult = Literal["done", "failed", "lost"]


class DigestJob:
    """Posts the due digest to every configured channel, once per period.

    The period is claimed in the database under its key with a lease, so a second
    process never posts it too; each channel is marked ``posting`` before Slack is
    called and ``posted`` after. A channel left ``posting`` by a crash is looked up
    in Slack first: found means done, not found means post, and a failed lookup
    means wait for the next attempt rather than risk a duplicate.
    """

    def __init__(
        self,
        log: DigestLog,
        publisher: DigestPublisher,
        compose: Callable[[Period], Message],
        settings: DigestSettings,
        owner: str,
        *,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.log, self.publisher, self.compose = log, publisher, compose
        self.settings, self.owner, self.lease = settings, owner, lease

    def run_due(self, now: datetime) -> Outcome:
        """Post the latest due period's digest, if it is still inside the grace window.
        A period found outside it is recorded as skipped and never posted by this."""
        if not self.settings.channels:
            return Outcome(Status.NO_CHANNELS)
        period = latest_due(self.settings, now)
        if period is None:
            return Outcome(Status.NOTHING_DUE)
        record = self.log.period(period.key)
        if record is not None and record.status == "posted":
            return self._outcome(Status.ALREADY_POSTED, period)
        if now - period.scheduled_for > grace_window(self.settings):
            if self.log.skip(period.key, period.scheduled_for, self.owner, now):
                logger.warning("digest %s came due outside the grace window; skipped", period.key)
            return self._outcome(Status.OUTSIDE_GRACE, period)
        return self._post(period, now)

    def post_now(self, now: datetime, *, count_as_period: bool = False) -> Outcome:
        """Post a digest on demand, ignoring the grace window.

        By default it covers [latest fire time, now) under its own ``manual-…`` key and
        leaves the schedule alone. With ``count_as_period`` it is the latest due
        period's digest (even one skipped as too late) and the scheduler will not post
        that period again; if it is already posted, nothing is.
        """
        if not self.settings.channels:
            return Outcome(Status.NO_CHANNELS)
        due = latest_due(self.settings, now)
        if count_as_period:
            return self._post(due, now, manual=True) if due else Outcome(Status.NOTHING_DUE)
        local = local_time(now, self.settings.timezone)
        start = due.scheduled_for if due else local - timedelta(days=7)
        key = "manual-" + local.strftime("%Y-%m-%dT%H:%M:%S")
        return self._post(Period(key, local, start, local, manual=True), now, manual=True)

    def _outcome(self, status: Status, period: Period, retry_at: datetime | None = None) -> Outcome:
        done = {p.channel: p.ts for p in self.log.posts(period.key) if p.ts is not None}
        pending = [c for c in self.settings.channels if c not in done]
        return Outcome(status, period, done, pending, retry_at)

    def _post(self, period: Period, now: datetime, *, manual: bool = False) -> Outcome:
        started = time.monotonic()

        def clock() -> datetime:  # ``now``, moving on as this run takes time
            return now + timedelta(seconds=time.monotonic() - started)

        claim, record = self.log.claim(
            period.key, period.scheduled_for, self.owner, now, now + self.lease,
            manual=manual, retake_skipped=manual,
        )  # fmt: skip
        if claim == "posted":
            return self._outcome(Status.ALREADY_POSTED, period)
        if claim == "skipped":
            return self._outcome(Status.OUTSIDE_GRACE, period)
        if claim == "held":
            logger.info("digest %s is being posted by %s", period.key, record.claimed_by)
            return self._outcome(Status.CLAIMED_ELSEWHERE, period, record.lease_until)
        try:
            message = self.compose(period)
            results = [
                self._post_channel(period, c, message, clock) for c in self.settings.channels
            ]
        except BaseException:
            self.log.release(period.key, self.owner, clock())
            raise
        if "lost" in results:
            held = self.log.period(period.key)
            logger.warning("digest %s: lost its lease before posting everywhere", period.key)
            return self._outcome(
                Status.CLAIMED_ELSEWHERE, period, held.lease_until if held else None
            )
        if "failed" in results:
            self.log.release(period.key, self.owner, clock())
            return self._outcome(Status.INCOMPLETE, period)
        if not self.log.finish(period.key, self.owner, clock()):
            # Every channel has its post, but another worker took the period over
            # meanwhile: it finds the posts and finishes the period itself.
            held = self.log.period(period.key)
            logger.warning("digest %s: taken over before it was marked posted", period.key)
            return self._outcome(
                Status.CLAIMED_ELSEWHERE, period, held.lease_until if held else None
            )
        return self._outcome(Status.POSTED, period)

    def _post_channel(
        self, period: Period, channel: str, message: Message, clock: Callable[[], datetime]
    ) -> ChannelResult:
        key = period.key
        state = self.log.begin_channel(key, channel, self.owner, clock(), clock() + self.lease)
        if state in ("lost", "posted"):
            return "lost" if state == "lost" else "done"
        if state == "uncertain":
            since = period.scheduled_for - LOOKUP_MARGIN
            try:
                found = self.publisher.find_digest(channel, key, since)
            except PublishError as error:
                logger.error("digest %s: not posted to %s: cannot check for an earlier post"
                             " (%s); will try again", key, channel, error)  # fmt: skip
                return "failed"
            if found is not None:
                logger.info("digest %s: found the earlier post in %s", key, channel)
                self.log.mark_posted(key, channel, found)
                return "done"
        try:
            ts = self.publisher.post_digest(channel, key, message)
        except PublishError as error:
            # Left "posting": the next attempt looks before posting again.
            logger.error("digest %s: not posted to %s: %s", key, channel, error)
            return "failed"
        self.log.mark_posted(key, channel, ts)
        logger.info("digest %s posted to %s", key, channel)
        return "done"


# -- the scheduler -------------------------------------------------------------------


class DueJob(Protocol):
    def run_due(self, now: datetime) -> Outcome: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DigestScheduler:
    """Runs the job at the crontab's times in the bot's process, and once at start-up
    to catch up on a digest that came due while the bot was down. An incomplete run
    is retried (backing off, from ``retry_delay`` to an hour); a run held by another
    worker is retried when its lease expires."""

    CRON_JOB, RETRY_JOB = "digest", "digest-retry"

    def __init__(
        self,
        job: DueJob,
        settings: DigestSettings,
        *,
        clock: Callable[[], datetime] = _utcnow,
        retry_delay: timedelta = timedelta(minutes=5),
    ) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.job, self.settings, self.clock, self.retry_delay = job, settings, clock, retry_delay
        self.scheduler: BackgroundScheduler = BackgroundScheduler(
            timezone=ZoneInfo(settings.timezone)
        )
        self._lock = threading.Lock()  # one run at a time in this process
        self._failures = 0
        self.catch_up: threading.Thread | None = None
        self._retry: threading.Timer | None = None
        self._timer_lock = threading.Lock()
        self._stopping = False

    def start(self) -> None:
        """Raises ConfigError if the schedule cannot be read."""
        grace = int(grace_window(self.settings).total_seconds())
        self.scheduler.add_job(
            self.run_once, cron_trigger(self.settings), id=self.CRON_JOB,
            coalesce=True, max_instances=1, misfire_grace_time=grace,
        )  # fmt: skip
        self.scheduler.start()
        # A plain thread, not a one-shot scheduler job: APScheduler removes a spent
        # one-shot job from its store on its own thread, which raced with shutdown.
        self.catch_up = threading.Thread(target=self.run_once, name="digest-catch-up", daemon=True)
        self.catch_up.start()

    def pending_retries(self) -> list[str]:
        retry = self._retry
        return [self.RETRY_JOB] if retry is not None and retry.is_alive() else []

    def shutdown(self, wait: bool = True) -> None:
        with self._timer_lock:
            self._stopping = True
            if self._retry is not None:
                self._retry.cancel()
        if self.catch_up is not None and wait:
            self.catch_up.join()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    def run_once(self) -> Outcome | None:
        with self._lock:
            try:
                outcome: Outcome | None = self.job.run_due(self.clock())
            except Exception:
                logger.exception("digest: the scheduled run failed")
                outcome = None
            self._plan_retry(outcome)
        return outcome

    def _plan_retry(self, outcome: Outcome | None) -> None:
        if outcome is not None and outcome.status is Status.CLAIMED_ELSEWHERE:
            retry_at = outcome.retry_at or self.clock() + self.retry_delay
            delay = retry_at - self.clock() + timedelta(seconds=1)
        elif outcome is None or outcome.status is Status.INCOMPLETE:
            delay = min(self.retry_delay * 2**self._failures, timedelta(hours=1))
            self._failures += 1
        else:
            self._failures = 0
            return
        if outcome is not None and outcome.period is not None:
            last_chance = outcome.period.scheduled_for + grace_window(self.settings)
            if self.clock() + delay > last_chance:
                return
        # A timer, not a one-shot APScheduler job: APScheduler 3 removes a spent
        # one-shot job on its own thread and raises if shutdown began meanwhile.
        with self._timer_lock:
            if self._stopping:
                return
            if self._retry is not None:
                self._retry.cancel()
            self._retry = threading.Timer(max(delay, timedelta(0)).total_seconds(), self.run_once)
            self._retry.daemon = True
            self._retry.start()
