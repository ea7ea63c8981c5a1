"""Reminders: a scheduled job that DMs each reviewer the open runs still waiting for
their vote, at most once a day.

- Reviewers of a channel are the people who rated, voted or commented on its review
  threads (see storage/reminders.py); nobody is reminded about their own run.
- A run is open while it is posted, not closed, not deleted, of a live unarchived
  prompt, and has fewer than ``reminders.min_votes`` counted votes.
- "A day" is a calendar day in ``digest.timezone``, the team's clock.
- The (person, day) row is claimed before the DM is posted, so two bot processes never
  both send it; a DM that fails gives its claim back for a later run.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

from promptbot.config.crontab import crontab_fields
from promptbot.config.settings import AppConfig
from promptbot.domain import OpenRun
from promptbot.errors import PublishError
from promptbot.render.blocks import Message, context, escape, section, truncate
from promptbot.render.words import count
from storage import Store

if TYPE_CHECKING:  # APScheduler loads when the jobs start, not at start-up
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.triggers.cron import CronTrigger

logger = logging.getLogger(__name__)

JOB_ID = "reminders"
MAX_RUNS_LISTED = 15  # one DM stays short; the rest are counted
_SAFE_URL = re.compile(r"https://[^\s<>|]+")


class DirectMessenger(Protocol):
    """Sends one direct message to a person. The Slack implementation (conversations.open
    + chat.postMessage) lives in handlers/reminders.py. Raises PublishError on failure."""

    def send_dm(self, user_id: str, message: Message) -> None: ...


def thread_link(url: str | None, label: str) -> str:
    """``<url|label>`` for an https permalink (label escaped); just the label otherwise."""
    text = escape(label)
    if url and _SAFE_URL.fullmatch(url):
        return f"<{url.replace('&', '&amp;')}|{text}>"
    return text


def run_line(run: OpenRun, min_votes: int | None = None) -> str:
    title = thread_link(run.permalink, truncate(run.title, 160))
    votes = (
        f"{run.votes} of {count(min_votes, 'vote')}"
        if min_votes
        else f"{count(run.votes, 'vote')} so far"
    )
    return f"• {title} — run #{run.id}, {votes}"


def reminder_message(runs: list[OpenRun], min_votes: int) -> Message:
    shown = runs[:MAX_RUNS_LISTED]
    lines = [run_line(run, min_votes) for run in shown]
    runs_waiting = count(len(runs), "run")
    blocks = [
        section(f"*{runs_waiting} waiting for your vote.* Open a thread and rate the candidates:"),
        section("\n".join(lines)),
    ]
    if len(runs) > len(shown):
        blocks.append(context(f"…and {len(runs) - len(shown)} more"))
    blocks.append(context("`/prompt remind off` stops these reminders; `on` resumes them."))
    text = f"{runs_waiting} waiting for your vote: " + ", ".join(escape(r.title) for r in shown)
    return Message(truncate(text, 3000), blocks)


def local_day(now: datetime, timezone: str) -> str:
    return now.astimezone(ZoneInfo(timezone)).date().isoformat()


def waiting_for(
    user_id: str, runs: list[OpenRun], voters: dict[int, set[str]], channels: set[str]
) -> list[OpenRun]:
    """The runs in ``channels`` the user has neither proposed nor voted on."""
    return [
        run
        for run in runs
        if run.channel in channels
        and run.created_by != user_id
        and user_id not in voters.get(run.id, set())
    ]


class ReminderJob:
    def __init__(
        self,
        store: Store,
        config: AppConfig,
        messenger: DirectMessenger,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.reminders = store.reminders
        self.config = config
        self.messenger = messenger
        self.clock = clock

    def due(self, now: datetime) -> dict[str, list[OpenRun]]:
        """Person -> the runs to remind them of today (opt-outs and today's DMs left out)."""
        settings = self.config.reminders
        runs = self.reminders.open_runs(fewer_votes_than=settings.min_votes)
        if not runs:
            return {}
        skip = self.reminders.opted_out() | self.reminders.reminded_on(
            local_day(now, self.config.digest.timezone)
        )
        voters = self.reminders.voters(run.id for run in runs)
        channels_of: dict[str, set[str]] = defaultdict(set)
        for channel, users in self.reminders.reviewers().items():
            for user_id in users - skip:
                channels_of[user_id].add(channel)
        due = {}
        for user_id, channels in sorted(channels_of.items()):
            mine = waiting_for(user_id, runs, voters, channels)
            if mine:
                due[user_id] = mine
        return due

    def run(self, now: datetime | None = None) -> int:
        """Send today's reminders; returns how many DMs were sent. Not gated on
        ``reminders.enabled``: that decides whether the job is scheduled."""
        now = now or self.clock()
        day = local_day(now, self.config.digest.timezone)
        sent = 0
        for user_id, runs in self.due(now).items():
            if not self.reminders.claim(user_id, day, [r.id for r in runs], now):
                continue  # another process (or an earlier run today) has it
            message = reminder_message(runs, self.config.reminders.min_votes)
            try:
                self.messenger.send_dm(user_id, message)
            except PublishError as error:
                self.reminders.release(user_id, day)
                logger.warning("reminder to %s not sent: %s", user_id, error)
                continue
            except BaseException:
                self.reminders.release(user_id, day)
                raise
            sent += 1
        if sent:
            logger.info("sent %d reminder(s) for %s", sent, day)
        return sent


def set_reminders(store: Store, user_id: str, on: bool) -> bool:
    """Opt a person back in (``on``) or out; True if that changed anything."""
    return store.reminders.set_opted_out(user_id, not on)


def reminders_on(store: Store, user_id: str) -> bool:
    return user_id not in store.reminders.opted_out()


def reminder_trigger(config: AppConfig) -> CronTrigger:
    """``reminders.schedule`` read as crontab (0 and 7 are Sunday) in ``digest.timezone``."""
    from apscheduler.triggers.cron import CronTrigger

    fields = crontab_fields(config.reminders.schedule)
    return CronTrigger(**fields, timezone=ZoneInfo(config.digest.timezone))


def schedule_reminders(scheduler: BackgroundScheduler, job: ReminderJob, config: AppConfig) -> None:
    """Add the reminder job to the bot's scheduler, when reminders are enabled."""
    if not config.reminders.enabled:
        return
    scheduler.add_job(
        job.run,
        reminder_trigger(config),
        id=JOB_ID,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        # A wake-up missed by a little (a busy or restarted process) still sends; the
        # daily claim keeps that from ever doubling up.
        misfire_grace_time=3600,
    )
