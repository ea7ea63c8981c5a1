"""Crontab lines, as the digest and reminder schedules are written.

Day-of-week numbers mean what they mean in cron (0 and 7 = Sunday, 1 = Monday);
APScheduler 3 reads numbers as 0 = Monday, so they are translated to day names.
When both day-of-month and day-of-week are restricted, both must match (cron would
accept either).
The settings check a schedule with ``crontab_fields``; the jobs build their triggers
from ``apscheduler_fields``. ``wall_times`` lists a line's matches as APScheduler's
trigger would find them, without loading APScheduler (and the asyncio it loads), for
the digest's periods in a short-lived `promptbot digest --print`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from promptbot.errors import ConfigError

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    number = {**{str(n): n for n in range(8)}, **{d: n for n, d in enumerate(_DAYS)}}
    if token.lower() not in number:
        raise ConfigError(f"digest.schedule: '{token}' is not a day of the week")
    return number[token.lower()]


def _day_of_week(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names (cron's 0 is Sunday)."""
    days = _day_numbers(field)
    return "*" if len(days) == 7 else ",".join(_DAYS[day] for day in sorted(days))


def _day_numbers(field: str) -> set[int]:
    """The days a crontab day-of-week field matches, as cron numbers them (0 is Sunday)."""
    days: set[int] = set()
    for part in field.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not step_text.isdigit():
            raise ConfigError(f"digest.schedule: bad step in '{part}'")
        step = int(step_text) if slash else 1
        if base == "*":
            low, high = 0, 6
        elif "-" in base:
            first, last = base.split("-", 1)
            low, high = _day(first), _day(last)
            high = 7 if high == 0 < low else high  # "fri-sun"
        else:
            low = _day(base)
            high = 7 if slash else low
        if low > high or step < 1:
            raise ConfigError(f"digest.schedule: bad day-of-week range '{part}'")
        days.update(day % 7 for day in range(low, high + 1, step))
    return days


def apscheduler_fields(schedule: str) -> dict[str, str]:
    """A crontab line as APScheduler ``CronTrigger`` fields (the fields themselves are
    checked by ``crontab_fields``)."""
    parts = schedule.split()
    if len(parts) != 5:
        raise ConfigError(f"digest.schedule: '{schedule}' is not a 5-field crontab line")
    fields = dict(zip(("minute", "hour", "day", "month"), parts, strict=False))
    return fields | {"day_of_week": _day_of_week(parts[4])}


def crontab_fields(schedule: str) -> dict[str, str]:
    """Check a crontab line the way the scheduler will read it; its APScheduler fields."""
    # Here, not at import: the default schedules are never checked, and a bot that
    # keeps them starts without APScheduler (tests/test_startup.py).
    from apscheduler.triggers.cron import CronTrigger

    fields = apscheduler_fields(schedule)
    CronTrigger(**fields, timezone=UTC)  # raises ValueError on a bad field
    return fields


# APScheduler's two expressions for numbers: `*`, `N`, `N-M`, each with an optional `/step`.
_PLAIN = re.compile(r"(?:\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12))  # minute, hour, day of month, month


def _plain_values(field: str, low: int, high: int) -> set[int] | None:
    """The values a minute, hour, day or month field matches, as APScheduler's
    ``AllExpression`` and ``RangeExpression`` read it (a step counts from the range's
    first value); None for anything else (month names, ``last``)."""
    values: set[int] = set()
    for part in field.split(","):
        match = _PLAIN.match(part)
        if match is None:
            return None
        first, last, step = match.groups()
        if step is not None and int(step) == 0:
            return None  # APScheduler refuses it, in its own words
        start = low if first is None else max(low, int(first))
        if first is None or (last is None and step is not None):
            end = high
        else:
            end = min(high, int(last if last is not None else first))
        values.update(range(start, end + 1, int(step) if step else 1))
    return values


def wall_times(schedule: str, start: datetime, stop: datetime) -> list[datetime] | None:
    """Each time in [start, stop] a checked crontab line fires on a clock without DST,
    in order, carrying ``start``'s tzinfo: what APScheduler's ``CronTrigger`` with
    ``apscheduler_fields(schedule)`` finds from ``start`` on. None when a field uses
    what only APScheduler reads (month names, ``last``)."""
    parts = schedule.split()
    if len(parts) != 5:
        return None
    fields = [_plain_values(f, low, high) for f, (low, high) in zip(parts, _BOUNDS, strict=False)]
    minutes, hours, days, months = fields
    if minutes is None or hours is None or days is None or months is None:
        return None
    weekdays = _day_numbers(parts[4])
    times = [time(hour, minute) for hour in sorted(hours) for minute in sorted(minutes)]
    found: list[datetime] = []
    day = start.date()
    while day <= stop.date():
        if day.month in months and day.day in days and day.isoweekday() % 7 in weekdays:
            moments = (datetime.combine(day, at, start.tzinfo) for at in times)
            found.extend(moment for moment in moments if start <= moment <= stop)
        day += timedelta(days=1)
    return found
