"""Crontab lines, as the digest and reminder schedules are written.

Day-of-week numbers mean what they mean in cron (0 and 7 = Sunday, 1 = Monday);
APScheduler 3 reads numbers as 0 = Monday, so they are translated to day names.
When both day-of-month and day-of-week are restricted, both must match (cron would
accept either).
The settings check a schedule with ``crontab_fields``; the jobs build their triggers
from ``apscheduler_fields``.
"""

from __future__ import annotations

from datetime import UTC

from promptbot.errors import ConfigError

_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _day(token: str) -> int:
    number = {**{str(n): n for n in range(8)}, **{d: n for n, d in enumerate(_DAYS)}}
    if token.lower() not in number:
        raise ConfigError(f"digest.schedule: '{token}' is not a day of the week")
    return number[token.lower()]


def _day_of_week(field: str) -> str:
    """A crontab day-of-week field as APScheduler day names (cron's 0 is Sunday)."""
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
    return "*" if len(days) == 7 else ",".join(_DAYS[day] for day in sorted(days))


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
