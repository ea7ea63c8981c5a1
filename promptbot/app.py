"""The app factory: config + store + runner + services + Slack, wired once.

This is the one place in promptbot/ that knows about Slack; it hands the core to
handlers/, which holds every listener.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from apscheduler.triggers.interval import IntervalTrigger
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from handlers.app import build_bolt_app
from handlers.digest_publisher import SlackDigestPublisher
from handlers.http_guard import RequestGuard
from handlers.install import check_token
from handlers.invocation import Services
from handlers.publisher import SlackPublisher
from handlers.reminders import SlackDirectMessenger
from handlers.surface import Surface
from promptbot.config.environment import Environment
from promptbot.config.settings import AppConfig
from promptbot.digest.service import DigestService
from promptbot.errors import ConfigError, StorageError, StorageUnavailable
from promptbot.jobs.inbox import EventInbox
from promptbot.jobs.install import Install
from promptbot.jobs.reminders import ReminderJob, schedule_reminders
from promptbot.jobs.scheduler import DigestJob, DigestScheduler
from promptbot.review.providers import ModelFactory, openai_factory
from promptbot.review.reveal import Revealer
from promptbot.review.runner import Runner
from promptbot.review.service import ReviewService
from storage import Store
from storage.base import LOCK_WAIT_SECONDS

logger = logging.getLogger(__name__)

CLOSE_CHECK_MINUTES = 10


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
    scheduler: DigestScheduler | None = field(default=None)

    def start_jobs(self) -> None:
        """The scheduled digest, with its start-up catch-up, and the automatic close."""
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

    def healthy(self) -> bool:
        """For /healthz: the database would take a write now (not read-only, not
        locked past a second, room on the disk)."""
        try:
            self.store.check_writable()
        except StorageError as error:
            logger.warning("unhealthy: %s", error)
            return False
        except Exception:
            logger.exception("health check failed")
            return False
        return True

    def close(self) -> None:
        if self.scheduler is not None:
            self.scheduler.shutdown()
        self.inbox.shutdown()
        self.runner.shutdown(wait=False)


def slack_client(token: str, environment: Environment) -> WebClient:
    base_url = environment.get("SLACK_API_URL") or WebClient.BASE_URL
    return WebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        retry_handlers=[
            ConnectionErrorRetryHandler(),
            RateLimitErrorRetryHandler(max_retry_count=2),
        ],
    )


def process_owner() -> str:
    """Names this process in digest claims, so two bots on one database can tell apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


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
    client = slack_client(token, environment)
    check_token(client)
    services, app, surface = wire(
        config,
        store,
        client,
        model_factory or openai_factory(environment),
        signing_secret=signing_secret,
        verify_requests=verify_requests,
        rng=rng,
        inbox=inbox,
    )
    services.install.started()
    digest_job = DigestJob(
        store.digest_log,
        SlackDigestPublisher(client),
        services.digests.compose,
        config.digest,
        process_owner(),
    )
    if resume:
        services.runner.resume_unfinished()
        inbox.start()
    reminder_job = ReminderJob(store, config, SlackDirectMessenger(client))
    guard = RequestGuard(
        signing_secret,
        config.limits.request_max_bytes,
        store.seen_requests,
        verify=verify_requests,
    )
    return Bot(
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
    )


def wire(
    config: AppConfig,
    store: Store,
    client: WebClient,
    model_factory: ModelFactory,
    *,
    signing_secret: str,
    verify_requests: bool = True,
    token_verification: bool = True,
    rng: random.Random | None = None,
    inbox: EventInbox | None = None,
) -> tuple[Services, App, Surface]:
    """The core objects and the Bolt app around them: built here and only here."""
    publisher = SlackPublisher(client)
    runner = Runner(store, config, model_factory, publisher)
    review = ReviewService(store, config, runner, Revealer(store, config, publisher), rng)
    install = Install(store.install)
    services = Services(
        store, config, runner, review, DigestService(store, config), publisher, install
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
    services, _, surface = wire(
        AppConfig(),
        store,
        WebClient(token="xoxb-manifest"),
        openai_factory(Environment({})),
        signing_secret="manifest",
        token_verification=False,
    )
    services.runner.shutdown()
    return surface
