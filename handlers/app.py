"""Builds the Bolt app: one hop from here to every listener."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App
from slack_sdk import WebClient

from handlers import (
    admin,
    commands,
    errors,
    events,
    export,
    home,
    install,
    lifecycle,
    reminders,
    screening,
    test_sets,
    views,
)
from handlers.inbox import record_events_first
from handlers.invocation import Services
from handlers.listener_pool import ListenerPool
from handlers.surface import Surface
from promptbot.jobs.inbox import EventInbox


def _quiet_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and warns on every start
    that it is unused beside our client, which carries that same token."""
    return "`token` will be unused" not in record.getMessage()


# Listeners only parse, record and ack; model work runs on the runner's own pools.
LISTENER_THREADS = 16

# Every listener module, each with register(app, surface, services). Their /prompt
# subcommands are joined in handlers/commands.py. Bolt tries listeners in this order
# on every request, so events (reactions are most of the traffic) come first.
LISTENERS: tuple[Callable[[App, Surface, Services], None], ...] = (
    events.register,
    commands.register,
    admin.register,
    home.register,
    reminders.register,
    test_sets.register,
    export.register,
    lifecycle.register,
    screening.register,
    views.register,
    install.register,
    errors.register,
)


def build_bolt_app(
    services: Services,
    client: WebClient,
    *,
    signing_secret: str,
    verify_requests: bool = True,
    token_verification: bool = True,
    inbox: EventInbox | None = None,
) -> tuple[App, Surface]:
    """With an ``inbox``, events are recorded in it before they are answered."""
    logging.getLogger("slack_bolt.App").addFilter(_quiet_token_warning)
    pool = ListenerPool(LISTENER_THREADS, services.store)
    app = App(
        # Named, or Bolt names it after its caller's file through inspect.stack(), which
        # reads the source of every frame and scans every loaded module (half the cost
        # of building the app). Bolt gives the logger of that name the root's level of
        # the moment: named "promptbot", it pinned every promptbot.* logger there.
        name="promptbot.bolt",
        client=client,
        # Unmatched requests go to errors.py, which answers 200 (Bolt would say 404).
        raise_error_for_unhandled_request=True,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        token_verification_enabled=token_verification,
        listener_executor=pool,
    )
    if inbox is not None:
        record_events_first(
            app, inbox, pool, events.handlers(services), events.prepare_batch(services)
        )
    surface = Surface()
    surface.owns(pool)
    for register in LISTENERS:
        register(app, surface, services)
    return app, surface
