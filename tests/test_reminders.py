"""Reminder DMs: once per person per day, never about a run they voted on, opt-out
respected. The job against a real store, and end to end over the Slack stand-in."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler

from handlers.reminders import SlackDirectMessenger
from promptbot.config.settings import AppConfig
from promptbot.domain import PlannedCandidate
from promptbot.errors import PublishError
from promptbot.jobs.reminders import (
    ReminderJob,
    reminder_message,
    reminder_trigger,
    schedule_reminders,
)
from storage import Store
from tests import factories
from tests.harness import bot_config, wait_until

APPROVAL = {"+1": 1.0, "-1": 0.0}
DAY1 = datetime(2026, 3, 9, 10, 0, tzinfo=UTC)


class Inbox:
    """A DirectMessenger that keeps what it was asked to send; can be told to fail."""

    def __init__(self):
        self.sent = []
        self.failures = 0

    def send_dm(self, user_id, message):
        if self.failures:
            self.failures -= 1
            raise PublishError("channel_not_found")
        self.sent.append((user_id, message))

    def to(self, user_id):
        return [m for u, m in self.sent if u == user_id]


def comment(store, run, user):
    store.add_comment(
        event_id=f"c-{run.id}-{user}",
        channel=run.channel,
        ts=f"{run.id}.{len(user):06d}",
        run_id=run.id,
        user_id=user,
        text="looks fine",
    )


def job_for(store, inbox, **settings):
    config = AppConfig(reminders={"enabled": True, "min_votes": 3}, **settings)
    return ReminderJob(store, config, inbox)


def test_once_a_day_and_never_about_a_run_already_voted_on(store):
    voted, waiting = posted_run(store, "voted"), posted_run(store, "waiting")
    rate(store, voted, "U2")  # U2 reviews C1 and has voted on `voted`
    comment(store, waiting, "U3")  # a comment makes U3 a reviewer, but is no vote
    inbox = Inbox()
    job = job_for(store, inbox)

    assert job.run(DAY1) == 2
    assert [m.text for m in inbox.to("U2")] == ["1 run waiting for your vote: waiting v1"]
    u3 = inbox.to("U3")[0]
    assert "2 runs waiting" in u3.text
    assert "<https://standin.slack.test/archives/C1/p1?thread_ts=1&amp;cid=C1|voted v1>" in str(
        u3.blocks
    )
    assert "1 of 3 votes" in str(u3.blocks) and "0 of 3 votes" in str(u3.blocks)
    assert inbox.to("UPROP") == []  # never about your own runs

    assert job.run(DAY1 + timedelta(hours=5)) == 0  # same day: nothing more
    assert job.run(DAY1 + timedelta(days=1)) == 2  # next day: again
    assert store.reminders.reminded_on("2026-03-09") == {"U2", "U3"}


def test_day_is_the_team_calendar_day(store):
    posted_run(store)
    rate(store, posted_run(store, "other"), "U2")
    job = job_for(store, Inbox(), digest={"timezone": "America/New_York"})
    # 03:00 UTC is still 9 March in New York; 05:00 UTC is 10 March there.
    assert job.run(datetime(2026, 3, 10, 3, 0, tzinfo=UTC)) == 1
    assert job.run(datetime(2026, 3, 10, 5, 0, tzinfo=UTC)) == 1
    assert job.run(datetime(2026, 3, 10, 20, 0, tzinfo=UTC)) == 0


def test_only_open_runs_are_mentioned(store):
    runs = [posted_run(store, name) for name in ("full", "closed", "deleted", "archived", "open")]
    for user in ("U2", "U3", "U4"):
        rate(store, runs[0], user)  # three votes: enough
    store.close_run(runs[1].id, "UPROP")
    store.admin.delete_run(runs[2].id, "UPROP")
    store.admin.archive_prompt(store.admin.prompt("archived"), "UPROP")
    unposted = store.create_run(
        prompt_name="unposted",
        template="Hi",
        system_prompt=None,
        author="UPROP",
        channel="C1",
        models=["m"],
        inputs=[{}],
        candidates=[PlannedCandidate("A", 0, "m", "m-id", 0)],
    )
    assert unposted.thread_ts is None
    inbox = Inbox()
    assert job_for(store, inbox).run(DAY1) == 3
    texts = {user: message.text for user, message in inbox.sent}
    assert texts == dict.fromkeys(("U2", "U3", "U4"), "1 run waiting for your vote: open v1")


def test_reviewers_are_per_channel(store):
    rate(store, posted_run(store, "here", channel="C1"), "U2")
    posted_run(store, "elsewhere", channel="C2")
    inbox = Inbox()
    assert job_for(store, inbox).run(DAY1) == 0  # U2 never reviewed in C2


def test_failed_dm_gives_the_claim_back(store):
    posted_run(store)
    rate(store, posted_run(store, "other"), "U2")
    inbox = Inbox()
    inbox.failures = 1
    job = job_for(store, inbox)
    assert job.run(DAY1) == 0
    assert store.reminders.reminded_on("2026-03-09") == set()
    assert job.run(DAY1 + timedelta(minutes=10)) == 1


def test_a_claim_taken_elsewhere_is_not_sent_twice(tmp_path):
    first = Store(tmp_path / "shared.db")
    posted_run(first)
    rate(first, posted_run(first, "other"), "U2")
    second = Store(tmp_path / "shared.db")  # another process on the same database
    assert second.reminders.claim("U2", "2026-03-09", [1], DAY1)
    inbox = Inbox()
    assert job_for(first, inbox).run(DAY1) == 0


def test_long_lists_are_trimmed():
    from promptbot.domain import OpenRun

    runs = [OpenRun(i, "C1", None, "U1", "", f"<!channel>{i}", 1, 0) for i in range(40)]
    message = reminder_message(runs, 3)
    assert "…and 25 more" in str(message.blocks)
    assert "<!channel>" not in str(message.blocks) + message.text


def test_scheduled_in_the_team_zone_with_cron_weekdays():
    scheduler = BackgroundScheduler(timezone=UTC)
    off = AppConfig()
    schedule_reminders(scheduler, ReminderJob(Store(":memory:"), off, Inbox()), off)
    assert scheduler.get_jobs() == []

    config = AppConfig(
        reminders={"enabled": True, "schedule": "30 9 * * 0"},  # cron's 0: Sunday
        digest={"timezone": "Europe/Berlin"},
    )
    schedule_reminders(scheduler, ReminderJob(Store(":memory:"), config, Inbox()), config)
    (job,) = scheduler.get_jobs()
    berlin = ZoneInfo("Europe/Berlin")
    wednesday = datetime(2026, 3, 11, 12, 0, tzinfo=berlin)
    fire = reminder_trigger(config).get_next_fire_time(None, wednesday)
    assert fire == datetime(2026, 3, 15, 9, 30, tzinfo=berlin)
    assert job.id == "reminders"


def test_remind_off_and_on_end_to_end(running, models, slack):
    bot = running(bot_config(models, reminders={"enabled": True, "min_votes": 2}))
    bot.command("propose rated --models alpha\nHi", user="UPROP")
    bot.command("propose fresh --models alpha\nHi", user="UPROP")
    bot.wait_run(1)
    fresh = bot.wait_run(2)
    (post,) = bot.candidate_posts(1)
    bot.react(post["ts"], "+1", "U2")
    wait_until(lambda: bot.store.ratings(), what="the rating")
    job = ReminderJob(bot.store, bot.bot.config, SlackDirectMessenger(bot.bot.gateway))

    _, reply = bot.command("remind off", user="U2")
    assert reply["text"] == "Reminders are off; `/prompt remind on` brings them back."
    _, reply = bot.command("remind", user="U2")
    assert reply["text"].startswith("Your reminders are off.")
    assert job.run(DAY1) == 0
    assert slack.messages(slack.dm_channel("U2")) == []

    _, reply = bot.command("remind on", user="U2")
    assert reply["text"].startswith("Reminders are on")
    assert job.run(DAY1) == 1
    (dm,) = slack.messages(slack.dm_channel("U2"))
    assert "fresh v1" in dm["text"] and "rated" not in dm["text"]
    assert fresh.id == 2 and "run #2" in str(dm["blocks"])
    assert slack.calls_to("conversations.open")[0].params["users"] == "U2"
    assert job.run(DAY1) == 0

    _, reply = bot.command("remind sometimes", user="U2")
    assert reply["text"] == ":warning: usage: /prompt remind off|on"


def posted_run(store, name="p", author="UPROP", channel="C1"):
    return factories.posted_run(store, name, author, channel, labels="AB")


rate = factories.rate
