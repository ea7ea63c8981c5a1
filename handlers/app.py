"""Builds the Bolt app: one hop from here to every listener."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from handlers import commands, errors, events, views
from handlers.surface import Surface
from promptbot.digests import DigestService
from promptbot.service import ReviewService

# Listeners only parse, record and ack; model work runs on the runner's own pools.
LISTENER_THREADS = 16


def build_bolt_app(
    service: ReviewService,
    digests: DigestService,
    client: WebClient,
    *,
    signing_secret: str,
    verify_requests: bool = True,
    token_verification: bool = True,
) -> tuple[App, Surface]:
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=verify_requests,
        token_verification_enabled=token_verification,
        listener_executor=ThreadPoolExecutor(LISTENER_THREADS, thread_name_prefix="bolt"),
    )
    surface = Surface()
    commands.register(app, surface, service, digests)
    views.register(app, surface, service)
    events.register(app, surface, service)
    errors.register(app)
    return app, surface
