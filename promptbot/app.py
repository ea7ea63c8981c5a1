"""The app factory: config + store + runner + services + Slack, wired once.

This is the one place in promptbot/ that knows about Slack; it hands the core to
handlers/, which holds every listener.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from slack_bolt import App
from slack_sdk import WebClient

from handlers.app import build_bolt_app
from handlers.digest_publisher import SlackDigestPublisher
from handlers.http_guard import RequestGuard
from handlers.inbox import EventDesk
from handlers.install import DeadTokenWatch, check_token
from handlers.invocation import Services
from handlers.publisher import SlackPublisher
from handlers.reminders import SlackDirectMessenger
from handlers.slack_gateway import GatewaySettings, SlackGateway
from handlers.surface import Surface
from promptbot.config.environment import Environment
from promptbot.config.settings import AppConfig
from promptbot.digest.service import DigestService
from promptbot.errors import ConfigError, StorageError, StorageUnavailable
from promptbot.jobs.inbox import EventInbox
from promptbot.jobs.install import Install
from promptbot.jobs.reminders import ReminderJob, schedule_reminders
from promptbot.jobs.scheduler import DigestJob, DigestScheduler
from promptbot.judge.scoring import Judge
from promptbot.prompts.screening import ScreeningService
from promptbot.review.providers import ModelFactory, openai_factory
from promptbot.review.reveal import Revealer
from promptbot.review.runner import Runner, process_owner
from promptbot.review.service import ReviewService
from storage import Store
from storage.base import LOCK_WAIT_SECONDS

logger = logging.getLogger(__name__)

CLOSE_CHECK_MINUTES = 10
STOP_WAIT_SECONDS = 10.0


@dataclass
class Bot:
    config: AppConfig
    store: Store
    runner: Runner
    service: ReviewService
    digests: DigestService
    digest_job: DigestJob
    reminder_job: ReminderJob
    client: WebClient
    app: App
    surface: Surface
    install: Install
    guard: RequestGuard
    inbox: EventInbox
    gateway: SlackGateway
    desk: EventDesk  # records Events API deliveries in front of Bolt (HTTP mode)
    services: Services
    scheduler: DigestScheduler | None = field(default=None)
    start_up_failed: bool = False  # start_in_background's jobs raised: /healthz says 503
    starting: threading.Thread | None = field(default=None)

    def take_over(self) -> None:
        """What a previous process left (unfinished runs, the judge's queue, screened
        runs waiting for their decision); then the keeper (heartbeats, the resumer)."""
        self.runner.resume_unfinished()
        if self.services.judge is not None:
            self.services.judge.resume()
        if self.services.screening is not None:
            self.services.screening.resume()
        self.runner.start()

    def start_jobs(self) -> None:
        """The scheduled digest, with its start-up catch-up, and the automatic close."""
        # APScheduler (and importlib.metadata) loads here, once `promptbot run` is serving.
        from apscheduler.triggers.interval import IntervalTrigger

        self.scheduler = DigestScheduler(self.digest_job, self.config.digest)
        self.scheduler.start()
        self.scheduler.scheduler.add_job(
            self.service.revealer.close_due,
            IntervalTrigger(minutes=CLOSE_CHECK_MINUTES),
            id="close-runs",
            next_run_time=datetime.now(UTC),
            coalesce=True,
            max_instances=1,
        )
        schedule_reminders(self.scheduler.scheduler, self.reminder_job, self.config)
        self.install.on_revoked(self.scheduler.scheduler.pause)

    def start_in_background(self, *, after: Callable[[], None] | None = None) -> threading.Thread:
        """``take_over`` and ``start_jobs`` on a thread of their own, so that a bot that
        can already serve (its listeners wired, its database migrated, its event inbox
        taking deliveries) answers while they start; then ``after``."""

        def start() -> None:
            try:
                self.take_over()
                self.start_jobs()
                if after is not None:
                    after()
            except Exception:
                self.start_up_failed = True
                logger.exception("start-up jobs failed: /healthz answers 503 from now on")

        self.starting = threading.Thread(target=start, name="promptbot-start-up", daemon=True)
        self.starting.start()
        return self.starting

    def healthy(self) -> bool:
        """For /healthz: the database and the event inbox's file would take a write now
        (not read-only, not locked past a second, room on the disk), and nothing that
        started in the background failed."""
        if self.start_up_failed:
            return False
        try:
            self.store.check_writable()
            self.inbox.check_writable()
        except StorageError as error:
            logger.warning("unhealthy: %s", error)
            return False
        except Exception:
            logger.exception("health check failed")
            return False
        return True

    def close(self) -> None:
        if self.starting is not None:
            self.starting.join(STOP_WAIT_SECONDS)  # so that what it starts is stopped
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.inbox.shutdown()
        self.gateway.stop()  # a post Slack keeps refusing must not hold the process
        self.runner.shutdown(wait=False)
        self.surface.shut_down()


def slack_client(token: str, environment: Environment, config: AppConfig) -> WebClient:
    """The Web API client. Retries are the gateway's (handlers/slack_gateway.py), so the
    client's own are off: one place decides, against one deadline."""
    base_url = environment.get("SLACK_API_URL") or WebClient.BASE_URL
    return WebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=int(max(1, config.slack.timeout)),
        retry_handlers=[],
    )


def slack_gateway(client: WebClient, config: AppConfig) -> SlackGateway:
    settings = config.slack
    return SlackGateway(
        client,
        GatewaySettings(settings.deadline_seconds, settings.posts_per_second, settings.post_burst),
    )


def create_bot(
    config: AppConfig,
    environment: Environment,
    *,
    socket_mode: bool = False,
    model_factory: ModelFactory | None = None,
    verify_requests: bool = True,
    resume: bool = True,
    rng: random.Random | None = None,
) -> Bot:
    """Build the whole bot. Raises ConfigError or StorageError with one line to show."""
    if os.environ.get("SLACK_CLIENT_ID") and os.environ.get("SLACK_CLIENT_SECRET"):
        # Bolt reads these from the process environment itself and turns into a
        # multi-workspace OAuth app, which promptbot is not.
        raise ConfigError(
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set: promptbot is a single-workspace"
            " app and uses SLACK_BOT_TOKEN; unset them"
        )
    token = environment.require("SLACK_BOT_TOKEN")
    signing_secret = "" if socket_mode else environment.require("SLACK_SIGNING_SECRET")
    store = Store(environment.require("PROMPTBOT_DB"))
    try:
        # A lock held by another writer is waited out; read-only or full is final.
        store.check_writable(budget=LOCK_WAIT_SECONDS)
    except StorageUnavailable as error:
        raise StorageError(f"cannot write to database {store.path}: {error.reason}") from None
    inbox = EventInbox(store, config.limits.event_backlog)
    try:
        inbox.check_writable()
    except StorageUnavailable as error:
        path = store.inbox.store.path
        raise StorageError(f"cannot write to the event inbox {path}: {error.reason}") from None
    client = slack_client(token, environment, config)
    identity = check_token(client)
    gateway = slack_gateway(client, config)
    owner = process_owner()
    services, app, surface = wire(
        config,
        store,
        client,
        gateway,
        model_factory or openai_factory(environment),
        owner=owner,
        signing_secret=signing_secret,
        verify_requests=verify_requests,
        rng=rng,
        inbox=inbox,
    )
    services.install.started()
    client.retry_handlers.append(DeadTokenWatch(token, services.install.revoke))
    digest_job = DigestJob(
        store.digest_log,
        SlackDigestPublisher(gateway),
        services.digests.compose,
        config.digest,
        owner,
    )
    reminder_job = ReminderJob(store, config, SlackDirectMessenger(gateway))
    guard = RequestGuard(
        signing_secret,
        config.limits.request_max_bytes,
        store.seen_requests,
        verify=verify_requests,
    )
    bot = Bot(
        config,
        store,
        services.runner,
        services.review,
        services.digests,
        digest_job,
        reminder_job,
        client,
        app,
        surface,
        services.install,
        guard,
        inbox,
        gateway,
        EventDesk(inbox, identity),
        services,
    )
    if resume:
        bot.take_over()
        inbox.start()
    return bot


def wire(
    config: AppConfig,
    store: Store,
    client: WebClient,
    gateway: SlackGateway,
    model_factory: ModelFactory,
    *,
    owner: str | None = None,
    signing_secret: str,
    verify_requests: bool = True,
    token_verification: bool = True,
    rng: random.Random | None = None,
    inbox: EventInbox | None = None,
) -> tuple[Services, App, Surface]:
    """The core objects and the Bolt app around them: built here and only here."""
    publisher = SlackPublisher(gateway)
    runner = Runner(store, config, model_factory, publisher, owner=owner)
    review = ReviewService(store, config, runner, Revealer(store, config, publisher), rng)
    install = Install(store.install)
    judge = Judge(store, config, runner.calls)
    runner.when_finished.append(judge.run_finished)
    runner.after_costs.append(judge.estimate_cost)
    # After the judge's, so a screened run is queued for the judge before it waits on it.
    screening = ScreeningService(store, config, runner, judge)
    runner.when_finished.append(screening.run_finished)
    runner.when_answered.append(screening.answer_stored)
    services = Services(
        store,
        config,
        runner,
        review,
        DigestService(store, config),
        publisher,
        install,
        judge,
        screening,
    )
    app, surface = build_bolt_app(
        services,
        client,
        signing_secret=signing_secret,
        verify_requests=verify_requests,
        token_verification=token_verification,
        inbox=inbox,
    )
    return services, app, surface


def describe_surface() -> Surface:
    """What the app registers, without a workspace: for the manifest."""
    store = Store(":memory:")
    client = WebClient(token="xoxb-manifest")
    services, _, surface = wire(
        AppConfig(),
        store,
        client,
        SlackGateway(client),
        openai_factory(Environment({})),
        signing_secret="manifest",
        token_verification=False,
    )
    services.runner.shutdown()
    return surface
