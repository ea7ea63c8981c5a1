"""The scheduled digest: when it is due, which period it covers, and posting it
exactly once per period.

Schedule: ``DigestSettings.schedule`` is a crontab line (read as ``config.crontab``
says) in ``DigestSettings.timezone``.

Periods: a period is named by its crontab match, the wall-clock time in the zone
without offset (``"2026-11-23T09:00"``), so it has exactly one key. Its instant:

- a wall time that repeats when clocks fall back is its first occurrence; the digest
  is posted once, and the scheduler's second wake-up finds it already posted;
- a wall time skipped when clocks spring forward is read with the offset in force
  before the change, as Python and APScheduler read it: 02:30 on Berlin's
  spring-forward day is 03:30 CEST, when the scheduler wakes up. If that instant is
  also a real match (a schedule every 30 minutes), the two are one period, keyed by
  the real wall time.

A period covers [previous fire time, its fire time). Only the latest due period is
ever posted: periods missed behind a newer one are not posted late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from promptbot.config.crontab import apscheduler_fields, wall_times
from promptbot.config.settings import DigestSettings

if TYPE_CHECKING:  # APScheduler loads with the first schedule read, not at start-up
    from apscheduler.triggers.cron import CronTrigger

logger = logging.getLogger(__name__)

ON_TIME = timedelta(minutes=5)  # a run this late is on time, whatever grace_hours says
LOOKUP_MARGIN = timedelta(hours=1)  # our clock against Slack's, when looking for a post
_LOOKBACKS = tuple(timedelta(days=d) for d in (0.125, 2, 9, 35, 370, 8 * 366 + 2))
_DRIFT = timedelta(days=1)  # wall time and instant part by at most one UTC offset change


# -- the schedule -------------------------------------------------------------------


def cron_trigger(settings: DigestSettings) -> CronTrigger:
    """The APScheduler trigger that wakes the digest up, in the configured zone."""
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(
        **apscheduler_fields(settings.schedule), timezone=ZoneInfo(settings.timezone)
    )


@lru_cache(maxsize=32)
def _wall_trigger(schedule: str) -> CronTrigger:
    # Crontab matches on a clock without DST: wall times, carried as UTC.
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger(**apscheduler_fields(schedule), timezone=UTC)


def grace_window(settings: DigestSettings) -> timedelta:
    return max(timedelta(hours=settings.grace_hours), ON_TIME)


# -- periods -----------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One digest: ``key`` names it; it covers [start, end), and ``end`` is ``scheduled_for``.
    ``manual`` marks an on-demand digest outside the schedule."""

    key: str
    scheduled_for: datetime
    start: datetime
    end: datetime
    manual: bool = False


def _occurrences(settings: DigestSettings, low: datetime, high: datetime) -> list[datetime]:
    """Fire instants in [low, high], in order; each as the wall time it matched
    (the latest, when two matches share an instant), carrying the zone."""
    zone = ZoneInfo(settings.timezone)
    start = low.astimezone(zone).replace(tzinfo=UTC) - _DRIFT
    stop = high.astimezone(zone).replace(tzinfo=UTC) + _DRIFT
    found: dict[datetime, datetime] = {}
    for fire in _wall_fires(settings.schedule, start, stop):
        wall = fire.replace(tzinfo=None)
        instant = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
        if low <= instant <= high:
            found[instant] = max(wall, found.get(instant, wall))
    return [found[instant].replace(tzinfo=zone, fold=0) for instant in sorted(found)]


def _wall_fires(schedule: str, start: datetime, stop: datetime) -> list[datetime]:
    """The wall times in [start, stop] the schedule fires at (carried as UTC)."""
    listed = wall_times(schedule, start, stop)
    if listed is not None:
        return listed
    trigger = _wall_trigger(schedule)  # month names, `last`: as APScheduler reads them
    fires = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= stop:
        fires.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return fires


def local_time(moment: datetime, zone: str) -> datetime:
    """``moment`` in ``zone``'s wall time, with a fixed UTC offset: it prints as local
    time, yet compares and subtracts as an instant (two times in one ZoneInfo compare
    by wall clock, and never equal a UTC time inside a repeated hour)."""
    local = moment.astimezone(UTC).astimezone(ZoneInfo(zone))
    return local.replace(tzinfo=timezone(local.utcoffset() or timedelta(0)), fold=0)


def _period(settings: DigestSettings, match: datetime, previous: datetime) -> Period:
    scheduled = local_time(match, settings.timezone)  # a skipped wall time moves on here
    start = local_time(previous, settings.timezone)
    return Period(match.strftime("%Y-%m-%dT%H:%M"), scheduled, start, scheduled)


def _utc(moment: datetime) -> datetime:
    # Compare in UTC: Python compares two times in one zone by wall clock, ignoring fold.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("digest times must be timezone-aware")
    return moment.astimezone(UTC)


def latest_due(settings: DigestSettings, now: datetime) -> Period | None:
    """The latest period whose fire time is at or before ``now`` (None: it never fired)."""
    now = _utc(now)
    due: list[datetime] = []
    for back in _LOOKBACKS:
        due = _occurrences(settings, now - back, now)
        if len(due) >= 2:
            return _period(settings, due[-1], due[-2])
    return _period(settings, due[-1], now - _LOOKBACKS[-1]) if due else None


def period_for(settings: DigestSettings, scheduled_for: datetime) -> Period:
    """The period that fires at ``scheduled_for``; ValueError if the schedule does not."""
    period = latest_due(settings, scheduled_for)
    if period is None or period.scheduled_for != _utc(scheduled_for):
        raise ValueError(f"the digest schedule does not fire at {scheduled_for.isoformat()}")
    return period
