"""`wall_times` finds a crontab line's matches without APScheduler: the same times, in
the same order, as APScheduler's CronTrigger (which the scheduler fires with) finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.triggers.cron import CronTrigger
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from promptbot.config.crontab import apscheduler_fields, crontab_fields, wall_times
from promptbot.config.settings import DigestSettings
from promptbot.errors import ConfigError
from promptbot.jobs.periods import latest_due

MOST = 300  # matches compared per example: APScheduler finds them one call at a time


def trigger_times(schedule: str, start: datetime, stop: datetime) -> list[datetime]:
    trigger = CronTrigger(**apscheduler_fields(schedule), timezone=UTC)
    found: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= stop and len(found) < MOST:
        found.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return found


@st.composite
def field(draw: st.DrawFn, low: int, high: int) -> str:
    def part() -> str:
        first = draw(st.integers(low, high))
        last = draw(st.integers(first, high))
        step = f"/{draw(st.integers(1, high - low + 1))}"
        shapes = ["*", f"*{step}", f"{first}", f"{first}-{last}", f"{first}-{last}{step}"]
        return draw(st.sampled_from([*shapes, f"{first}{step}"]))

    return ",".join(part() for _ in range(draw(st.integers(1, 3))))


weekdays = st.sampled_from(["*", "1-5", "0", "7", "0,6", "mon-fri", "sat,sun", "*/2", "5-7"])
moments = st.datetimes(datetime(2020, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(
    minute=field(0, 59),
    hour=field(0, 23),
    day=field(1, 31),
    month=field(1, 12),
    weekday=weekdays,
    start=moments,
    span=st.timedeltas(timedelta(0), timedelta(days=40)),
)
def test_the_times_are_apschedulers(minute, hour, day, month, weekday, start, span):
    schedule = f"{minute} {hour} {day} {month} {weekday}"
    try:
        crontab_fields(schedule)
    except (ConfigError, ValueError):
        assume(False)  # the settings refuse it: no schedule is ever read like this
    listed = wall_times(schedule, start, start + span)
    assert listed is not None
    assert listed[:MOST] == trigger_times(schedule, start, start + span)
    event("some match" if listed else "none")


@pytest.mark.parametrize(
    "schedule",
    ["0 9 29 2 *", "30 23 31 * *", "0 0 29-31 1-12/3 *", "0 9 * * 1", "59 23 31 12 7"],
)
def test_rare_days_over_years(schedule):
    start, stop = datetime(2023, 1, 1, tzinfo=UTC), datetime(2033, 1, 1, tzinfo=UTC)
    listed = wall_times(schedule, start, stop)
    assert listed is not None and listed[:MOST] == trigger_times(schedule, start, stop)


@pytest.mark.parametrize("schedule", ["0 9 last * *", "0 9 1 jan,jul *", "0 9 1 * 1 2"])
def test_what_only_apscheduler_reads_is_left_to_it(schedule):
    start, stop = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 12, 31, tzinfo=UTC)
    assert wall_times(schedule, start, stop) is None


def test_a_digest_period_on_names_is_apschedulers():
    """The periods still follow a schedule written with month names or `last`."""
    settings_ = DigestSettings(schedule="0 9 last jan-dec *")
    period = latest_due(settings_, datetime(2026, 3, 15, 12, tzinfo=UTC))
    assert period is not None
    assert (period.start, period.end) == (
        datetime(2026, 1, 31, 9, tzinfo=UTC),
        datetime(2026, 2, 28, 9, tzinfo=UTC),
    )
