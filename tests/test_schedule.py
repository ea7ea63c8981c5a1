"""The digest schedule: periods across DST, exactly-once posting, leases, crashes,
manual posts, and the APScheduler wiring."""

import itertools
import threading
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.triggers.cron import CronTrigger

from promptbot.config.settings import DigestSettings
from promptbot.errors import ConfigError, PublishError
from promptbot.jobs.periods import Period, cron_trigger, latest_due, period_for
from promptbot.jobs.scheduler import DigestJob, DigestScheduler, Outcome, Status
from promptbot.render.blocks import Message
from storage import Store
from storage.digest_log import ChannelPost

BERLIN, NEW_YORK = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
CHANNELS = ["C1", "C2"]


def settings(**overrides):
    values = {"schedule": "0 9 * * 1", "timezone": "UTC", "channels": CHANNELS} | overrides
    return DigestSettings(**values)


def at(text, zone=UTC):
    return datetime.fromisoformat(text).replace(tzinfo=zone)


class Crash(Exception):
    """Stands for the process dying at that point."""


class FakeSlack:
    """A thread-safe publisher that remembers every post, like Slack would."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts = []  # (channel, period_key, ts)
        self.crash_before = self.crash_after = False
        self.fail_post, self.fail_find = set(), False
        self.delay = 0.0

    def post_digest(self, channel, period_key, message):
        if self.crash_before:
            raise Crash("died before calling Slack")
        if channel in self.fail_post:
            raise PublishError("channel_not_found")
        time.sleep(self.delay)  # widens the race window in the two-process test
        with self.lock:
            ts = f"{len(self.posts) + 1}.000100"
            self.posts.append((channel, period_key, ts))
        if self.crash_after:
            raise Crash("died before recording the post")
        return ts

    def find_digest(self, channel, period_key, since):
        if self.fail_find:
            raise PublishError("ratelimited")
        with self.lock:
            found = [ts for c, k, ts in self.posts if (c, k) == (channel, period_key)]
        return found[0] if found else None

    def keys(self, channel):
        with self.lock:
            return [k for c, k, _ in self.posts if c == channel]


def compose(period):
    return Message(f"Digest {period.key}", [])


@pytest.fixture
def slack():
    return FakeSlack()


def make_job(store, slack, owner="bot-1", **overrides):
    return DigestJob(store.digest_log, slack, compose, settings(**overrides), owner)


# -- the schedule and its periods ------------------------------------------------------


def test_period_key_bounds_and_crontab_weekdays():
    period = latest_due(settings(), at("2026-11-25T12:00"))
    assert period == Period(
        "2026-11-23T09:00", at("2026-11-23T09:00"), at("2026-11-16T09:00"), at("2026-11-23T09:00")
    )
    assert period.scheduled_for.strftime("%A") == "Monday"  # cron's 1, not APScheduler's
    assert latest_due(settings(), period.scheduled_for) == period  # due at its own time
    assert period_for(settings(), period.scheduled_for) == period
    with pytest.raises(ValueError, match="does not fire"):
        period_for(settings(), at("2026-11-23T09:01"))
    with pytest.raises(ValueError, match="aware"):
        latest_due(settings(), datetime(2026, 11, 23))
    sunday = at("2026-11-22T00:00")
    for line, weekdays in [
        ("0 9 * * 0", {"Sunday"}),
        ("0 9 * * 7", {"Sunday"}),
        ("0 9 * * 1-5", {"Monday", "Tuesday", "Wednesday", "Thursday", "Friday"}),
        ("0 9 * * */2", {"Sunday", "Tuesday", "Thursday", "Saturday"}),
        ("0 9 * * fri-sun", {"Friday", "Saturday", "Sunday"}),
        ("0 9 * * 6,0", {"Saturday", "Sunday"}),
    ]:
        # model_construct: config's validator still reads the line with APScheduler's weekdays
        config = DigestSettings.model_construct(schedule=line, timezone="UTC")
        trigger, fire, seen = cron_trigger(config), None, set()
        for _ in range(7):
            fire = trigger.get_next_fire_time(fire, fire or sunday)
            seen.add(fire.strftime("%A"))
        assert seen == weekdays, line
    with pytest.raises(ConfigError, match=r"digest\.schedule"):
        cron_trigger(DigestSettings.model_construct(schedule="0 9 * * funday", timezone="UTC"))


def periods_between(config, first, last):
    """Every period firing in [first, last], walking back with latest_due."""
    found, period = [], latest_due(config, last)
    while period.scheduled_for >= first:
        found.append(period)
        period = latest_due(config, period.start)
    return found[::-1]


DST_CASES = [
    # zone, schedule, change day, expected local fire time of that day's digest
    pytest.param(BERLIN, "30 2 * * *", "2026-03-29", "03:30+02:00", id="berlin-spring"),
    pytest.param(BERLIN, "30 2 * * *", "2026-10-25", "02:30+02:00", id="berlin-fall"),
    pytest.param(NEW_YORK, "30 2 * * *", "2026-03-08", "03:30-04:00", id="newyork-spring"),
    pytest.param(NEW_YORK, "30 1 * * *", "2026-11-01", "01:30-04:00", id="newyork-fall"),
]


@pytest.mark.parametrize(("zone", "line", "day", "fires"), DST_CASES)
def test_dst_change_day_has_exactly_one_period(zone, line, day, fires):
    config = settings(schedule=line, timezone=zone.key)
    change = at(day, zone)
    periods = periods_between(config, change - timedelta(days=2), change + timedelta(days=3))
    minute = line.split()[1].zfill(2) + ":30"
    days = [(change + timedelta(days=d)).date().isoformat() for d in range(-2, 3)]
    assert [p.key for p in periods] == [f"{d}T{minute}" for d in days]
    [that_day] = [p for p in periods if p.key.startswith(day)]
    assert that_day.scheduled_for.isoformat(timespec="minutes") == f"{day}T{fires}"
    for before, after in itertools.pairwise(periods):
        assert after.start == before.end < after.end  # contiguous, strictly increasing
    # The real trigger wakes up at every period's instant (and once more on the repeat).
    trigger, fire, fires_at = cron_trigger(config), None, []
    while (fire := trigger.get_next_fire_time(fire, fire or periods[0].start)) <= periods[-1].end:
        fires_at.append(fire.astimezone(UTC))
    assert {p.scheduled_for for p in periods} <= set(fires_at)


@pytest.mark.parametrize("day", ["2026-03-29", "2026-10-25"])
def test_half_hourly_schedule_across_berlin_changes(day):
    config = settings(schedule="*/30 * * * *", timezone="Europe/Berlin")
    change = at(day, BERLIN)
    periods = periods_between(config, change, change + timedelta(hours=5))
    keys = [p.key for p in periods]
    assert len(keys) == len(set(keys))
    if day.endswith("29"):  # 02:00 and 02:30 do not exist: they are 03:00 and 03:30
        assert f"{day}T02:00" not in keys and f"{day}T03:00" in keys
        assert all(p.end - p.start == timedelta(minutes=30) for p in periods[1:])
    else:  # 02:00 and 02:30 happen twice: each is one period, at its first occurrence
        assert keys.count(f"{day}T02:30") == 1
        gap = next(p for p in periods if p.key == f"{day}T03:00")
        assert gap.end - gap.start == timedelta(minutes=90)


def run_at(job, moment):
    with time_machine.travel(moment, tick=False):
        return job.run_due(datetime.now(UTC))


def wake_ups(config, first, last):
    """When the real trigger fires in [first, last)."""
    trigger, fire, fires = cron_trigger(config), None, []
    while (fire := trigger.get_next_fire_time(fire, fire or first)) < last:
        fires.append(fire)
    return fires


@pytest.mark.parametrize(("zone", "line", "day", "fires"), DST_CASES)
def test_frozen_clock_at_every_wake_up_posts_each_period_once(store, slack, zone, line, day, fires):
    job = make_job(store, slack, schedule=line, timezone=zone.key)
    change = at(day, zone)
    wakes = wake_ups(job.settings, change - timedelta(days=2), change + timedelta(days=2))
    outcomes = [run_at(job, moment).status for moment in wakes]
    expected = [p.key for p in periods_between(job.settings, wakes[0], wakes[-1])]
    assert len(expected) == 4
    assert slack.keys("C1") == slack.keys("C2") == expected
    assert outcomes.count(Status.POSTED) == len(expected)
    # Falling back, the trigger wakes twice for the repeated wall time: posted once.
    repeats = 1 if day in ("2026-10-25", "2026-11-01") else 0
    assert outcomes.count(Status.ALREADY_POSTED) == repeats == len(wakes) - len(expected)


@pytest.mark.parametrize(
    ("zone", "line", "day"),
    [(z, line, d) for z, line, d, _ in (c.values for c in DST_CASES)]
    + [(BERLIN, "*/30 * * * *", "2026-03-29"), (BERLIN, "*/30 * * * *", "2026-10-25")],
)
def test_moving_clock_posts_every_period_exactly_once(store, slack, zone, line, day):
    job = make_job(store, slack, schedule=line, timezone=zone.key)
    change = at(day, zone)
    hours = 6 if line.startswith("*/30") else 72
    first, last = change - timedelta(hours=hours / 2), change + timedelta(hours=hours / 2)
    with time_machine.travel(first, tick=True) as traveller:
        while (moment := datetime.now(UTC)) < last:  # time also passes during each run
            job.run_due(moment)
            end = moment
            traveller.shift(timedelta(minutes=17 if hours == 6 else 50))
    since = latest_due(job.settings, first).scheduled_for  # the first run catches up on it
    expected = [p.key for p in periods_between(job.settings, since, end)]
    assert slack.keys("C1") == slack.keys("C2") == expected
    assert len(expected) >= (8 if hours == 6 else 3)


# -- exactly once ---------------------------------------------------------------------

MONDAY = at("2026-11-23T09:00")  # a scheduled time of the default schedule


def test_downtime_inside_grace_posts_outside_skips(store, slack):
    job = make_job(store, slack)
    late = job.run_due(MONDAY + timedelta(hours=11, minutes=59))
    assert late.status is Status.POSTED and late.period.key == "2026-11-23T09:00"
    assert late.posts == {"C1": "1.000100", "C2": "2.000100"} and late.pending == []
    assert job.run_due(MONDAY + timedelta(hours=12)).status is Status.ALREADY_POSTED

    next_week = MONDAY + timedelta(days=7)
    too_late = job.run_due(next_week + timedelta(hours=12, seconds=1))
    assert too_late.status is Status.OUTSIDE_GRACE and too_late.pending == CHANNELS
    assert job.log.period("2026-11-30T09:00").status == "skipped"
    assert job.run_due(next_week + timedelta(hours=20)).status is Status.OUTSIDE_GRACE
    assert slack.keys("C1") == ["2026-11-23T09:00"]


def test_zero_grace_still_posts_on_time(store, slack):
    job = make_job(store, slack, grace_hours=0)
    assert job.run_due(MONDAY + timedelta(seconds=3)).status is Status.POSTED
    assert job.run_due(MONDAY + timedelta(days=7, hours=1)).status is Status.OUTSIDE_GRACE


def test_no_channels_posts_nothing(store, slack):
    job = make_job(store, slack, channels=[])
    assert job.run_due(MONDAY).status is Status.NO_CHANNELS
    assert job.post_now(MONDAY, count_as_period=True).status is Status.NO_CHANNELS
    assert slack.posts == [] and job.log.recent() == []


def test_two_processes_on_one_database_post_once_per_channel(tmp_path, slack):
    slack.delay = 0.01
    jobs = [make_job(Store(tmp_path / "shared.db"), slack, owner=f"bot-{n}") for n in (1, 2)]
    for week in range(5):
        now = MONDAY + timedelta(days=7 * week, minutes=1)
        barrier, outcomes = threading.Barrier(2), []

        def race(job, now=now, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            outcomes.append(job.run_due(now).status)

        threads = [threading.Thread(target=race, args=(job,)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=10)
        assert Status.POSTED in outcomes and len(outcomes) == 2
        assert set(outcomes) <= {Status.POSTED, Status.CLAIMED_ELSEWHERE, Status.ALREADY_POSTED}
    keys = [f"2026-{d}T09:00" for d in ("11-23", "11-30", "12-07", "12-14", "12-21")]
    assert slack.keys("C1") == slack.keys("C2") == keys


def test_crash_after_posting_is_found_not_reposted(store, slack):
    slack.crash_after = True
    with pytest.raises(Crash):
        make_job(store, slack).run_due(MONDAY)
    assert store.digest_log.posts("2026-11-23T09:00") == [ChannelPost("C1", "posting", None)]
    slack.crash_after = False
    outcome = make_job(store, slack, owner="bot-2").run_due(MONDAY + timedelta(minutes=2))
    assert outcome.status is Status.POSTED
    assert outcome.posts == {"C1": "1.000100", "C2": "2.000100"}  # C1's ts found by lookup
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_crash_before_posting_is_posted_once_on_retry(store, slack):
    slack.crash_before = True
    with pytest.raises(Crash):
        make_job(store, slack).run_due(MONDAY)
    slack.crash_before = False
    assert make_job(store, slack).run_due(MONDAY + timedelta(minutes=1)).status is Status.POSTED
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_failed_lookup_never_risks_a_duplicate(store, slack):
    slack.fail_post = {"C2"}
    job = make_job(store, slack)
    first = job.run_due(MONDAY)
    assert first.status is Status.INCOMPLETE and first.pending == ["C2"]
    slack.fail_post, slack.fail_find = set(), True
    second = job.run_due(MONDAY + timedelta(minutes=5))  # C2 is uncertain: look first
    assert second.status is Status.INCOMPLETE and slack.keys("C2") == []
    slack.fail_find = False
    assert job.run_due(MONDAY + timedelta(minutes=10)).status is Status.POSTED
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_live_lease_is_respected_and_expired_lease_taken_over(store, slack):
    log, key = store.digest_log, "2026-11-23T09:00"
    # Another process claimed the period and started on C1, then died without a trace.
    claim, _ = log.claim(key, MONDAY, "dead-bot", MONDAY, MONDAY + timedelta(minutes=5))
    assert claim == "claimed"
    assert (
        log.begin_channel(key, "C1", "dead-bot", MONDAY, MONDAY + timedelta(minutes=5)) == "fresh"
    )
    job = make_job(store, slack)
    held = job.run_due(MONDAY + timedelta(minutes=4))
    assert held.status is Status.CLAIMED_ELSEWHERE
    assert held.retry_at == MONDAY + timedelta(minutes=5) and slack.posts == []
    taken = job.run_due(MONDAY + timedelta(minutes=5, seconds=1))
    assert taken.status is Status.POSTED and log.period(key).claimed_by == "bot-1"
    assert slack.keys("C1") == slack.keys("C2") == [key]


def test_a_worker_that_loses_its_lease_stops_posting(store, slack):
    log = store.digest_log

    def slow_compose(period):  # meanwhile, another worker decides the lease has expired
        later = MONDAY + timedelta(hours=1)
        assert log.claim(period.key, MONDAY, "bot-2", later, later + timedelta(minutes=5))[0]
        return compose(period)

    job = DigestJob(log, slack, slow_compose, settings(), "bot-1")
    assert job.run_due(MONDAY).status is Status.CLAIMED_ELSEWHERE
    assert slack.posts == []


def test_an_expired_lease_nobody_took_over_is_still_ours(store, slack):
    job = DigestJob(store.digest_log, slack, compose, settings(), "bot-1", lease=timedelta(0))
    assert job.run_due(MONDAY).status is Status.POSTED  # slower than its lease: still posts
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_manual_post_does_not_consume_the_period_unless_asked(store, slack):
    job = make_job(store, slack)
    now = MONDAY + timedelta(days=2, hours=3)  # Wednesday
    manual = job.post_now(now)
    assert manual.status is Status.POSTED and manual.period.manual
    assert manual.period.key == "manual-2026-11-25T12:00:00"
    assert (manual.period.start, manual.period.end) == (MONDAY, now)
    # The scheduled digest for Monday is still due (and posted by a later catch-up).
    assert job.run_due(MONDAY + timedelta(hours=1)).status is Status.POSTED
    assert slack.keys("C1") == ["manual-2026-11-25T12:00:00", "2026-11-23T09:00"]

    # Posted on demand for the period: the schedule then leaves it alone.
    next_monday = MONDAY + timedelta(days=7)
    counted = job.post_now(next_monday + timedelta(minutes=1), count_as_period=True)
    assert counted.status is Status.POSTED and counted.period.key == "2026-11-30T09:00"
    assert job.log.period("2026-11-30T09:00").manual
    assert job.run_due(next_monday + timedelta(minutes=2)).status is Status.ALREADY_POSTED
    again = job.post_now(next_monday + timedelta(minutes=3), count_as_period=True)
    assert again.status is Status.ALREADY_POSTED
    assert slack.keys("C2").count("2026-11-30T09:00") == 1


def test_manual_post_can_stand_in_for_a_skipped_period(store, slack):
    job = make_job(store, slack)
    assert job.run_due(MONDAY + timedelta(hours=13)).status is Status.OUTSIDE_GRACE
    outcome = job.post_now(MONDAY + timedelta(hours=14), count_as_period=True)
    assert outcome.status is Status.POSTED
    assert job.run_due(MONDAY + timedelta(hours=15)).status is Status.ALREADY_POSTED
    assert slack.keys("C1") == ["2026-11-23T09:00"]


# -- the scheduler --------------------------------------------------------------------


def wait_for(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def scheduler_factory():
    started = []

    def make(job, config, **kwargs):
        scheduler = DigestScheduler(job, config, **kwargs)
        started.append(scheduler)
        return scheduler

    yield make
    for scheduler in started:
        scheduler.shutdown()


def test_scheduler_catches_up_once_at_start_and_wires_the_cron_trigger(
    store, slack, scheduler_factory
):
    config = settings(timezone="Europe/Berlin")
    job = DigestJob(store.digest_log, slack, compose, config, "bot-1")
    monday = at("2026-11-23T09:00", BERLIN)
    scheduler = scheduler_factory(job, config, clock=lambda: monday + timedelta(hours=3))
    scheduler.start()
    wait_for(lambda: len(slack.posts) == 2)
    scheduler.catch_up.join(timeout=5)
    assert not scheduler.catch_up.is_alive()
    cron = scheduler.scheduler.get_job(scheduler.CRON_JOB)
    assert isinstance(cron.trigger, CronTrigger) and cron.trigger.timezone == BERLIN
    assert cron.misfire_grace_time == 12 * 3600 and cron.coalesce and cron.max_instances == 1
    assert cron.next_run_time.astimezone(BERLIN).strftime("%A %H:%M") == "Monday 09:00"
    scheduler.shutdown()  # waits for the running catch-up
    assert scheduler.pending_retries() == []
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_scheduler_catch_up_outside_grace_posts_nothing(store, slack, scheduler_factory):
    config = settings()
    job = DigestJob(store.digest_log, slack, compose, config, "bot-1")
    scheduler = scheduler_factory(job, config, clock=lambda: MONDAY + timedelta(hours=13))
    scheduler.start()
    wait_for(lambda: job.log.period("2026-11-23T09:00") is not None)
    scheduler.shutdown()
    assert slack.posts == [] and job.log.period("2026-11-23T09:00").status == "skipped"


class ScriptedJob:
    def __init__(self, *outcomes):
        self.outcomes, self.calls = list(outcomes), 0

    def run_due(self, now):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


@pytest.mark.parametrize(
    "first",
    [
        Outcome(Status.INCOMPLETE, latest_due(settings(), MONDAY), pending=["C2"]),
        RuntimeError("database is locked"),
        Outcome(Status.CLAIMED_ELSEWHERE, retry_at=MONDAY + timedelta(milliseconds=50)),
    ],
    ids=["incomplete", "crashed", "held"],
)
def test_scheduler_retries_an_unfinished_run(scheduler_factory, first, caplog):
    job = ScriptedJob(first, Outcome(Status.POSTED))
    config = settings()
    scheduler = scheduler_factory(
        job, config, clock=lambda: MONDAY, retry_delay=timedelta(milliseconds=50)
    )
    scheduler.start()
    wait_for(lambda: job.calls == 2)
    scheduler.shutdown()
    assert job.outcomes == []
    if isinstance(first, Exception):
        assert "the scheduled run failed" in caplog.text


def test_scheduler_gives_up_retrying_past_the_grace_window(scheduler_factory):
    period = latest_due(settings(), MONDAY)
    job = ScriptedJob(Outcome(Status.INCOMPLETE, period, pending=["C1"]))
    late = MONDAY + timedelta(hours=11, minutes=58)
    scheduler = scheduler_factory(job, settings(), clock=lambda: late)
    scheduler.start()
    wait_for(lambda: job.calls == 1)
    scheduler.shutdown()  # waits for the running catch-up
    assert scheduler.pending_retries() == []
