"""The one boundary where errors become Slack replies.

A PromptbotError becomes one ephemeral line (or errors on a modal's fields); any
other exception is logged with its traceback and the user gets a short apology.

A verified request no listener wants (``view_closed``, ``team_access_revoked``, an event
type Slack adds next year) is answered 200, not Bolt's 404: Slack counts non-2xx answers
as failed deliveries, retries them, and turns off the app's events above 95% failures.
A Web API call refused because the token is dead is one warning, not a traceback. A
write the database could not take was rolled back whole, so the user is told that
nothing was started. An event replayed from the inbox reports its error to the inbox
worker instead, which retries it or sets it aside.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse, Respond
from slack_bolt.error import BoltUnhandledRequestError
from slack_sdk.errors import SlackClientError

from handlers.inbox import REPLAYED, Replay
from handlers.install import token_error
from handlers.invocation import Services
from handlers.slack_gateway import LATER_REPLY_SECONDS
from handlers.surface import Surface
from promptbot.errors import FieldErrors, PromptbotError, PublishError, StorageUnavailable
from promptbot.render.blocks import escape

logger = logging.getLogger(__name__)

NO_ACCESS = "Slack no longer accepts this bot's token: ask a workspace admin to reinstall the app."
# Said without knowing how far the request got, so it promises nothing about that.
UNEXPECTED = "Something went wrong on our side; it has been logged."


def not_recorded(error: StorageUnavailable) -> str:
    return f"Could not record it: {error.reason}. Nothing was started; try again in a moment."


# Set by a global middleware, which Bolt runs only after its signature check passed.
VERIFIED = "promptbot_verified"


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    """(channel, user) of whoever caused the request, across payload shapes."""
    user = body.get("user_id") or (body.get("user") or {}).get("id")
    channel = body.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, user


def _kind(body: dict[str, Any]) -> str:
    """``event_callback/app_home_opened``, ``view_closed``, ``/prompt``…: for the log."""
    if "command" in body:
        return str(body["command"])
    event = body.get("event") or {}
    kind = str(body.get("type", "request"))
    return f"{kind}/{event.get('type')}" if event else kind


def _on_first_field(body: dict[str, Any], text: str) -> dict[str, str]:
    """A form error that belongs to no field is shown on the first one: Slack rejects
    errors for block ids the form does not have."""
    blocks = (body.get("view") or {}).get("blocks") or []
    first = next((b.get("block_id") for b in blocks if b.get("type") == "input"), None)
    return {first: text} if first else {}


def _json(response: BoltResponse, payload: dict[str, Any]) -> None:
    response.status = 200
    response.body = json.dumps(payload)
    response.headers["content-type"] = ["application/json;charset=utf-8"]


def in_background(
    services: Services, task: Callable[[], None], what: str, pool: Executor | None = None
) -> None:
    """Run ``task`` off the listener's thread (on ``pool``, or the runner's posting
    threads), for Slack work that what queues behind it must not wait for. A Web API
    call refused because the token is dead is one warning there too; anything else is
    logged with its traceback."""

    def guarded() -> None:
        try:
            task()
        except Exception as error:
            if (code := token_error(error)) is None:
                logger.exception("%s failed", what)
            else:
                logger.warning("Slack refused the bot's token (%s) while building %s", code, what)

    if pool is None:
        services.runner.background(guarded, what)
    else:
        pool.submit(guarded)


def register(app: App, surface: Surface, services: Services) -> None:
    @app.middleware
    def mark_verified(context: dict[str, Any], next: Any) -> None:
        context[VERIFIED] = True
        next()

    @app.error
    def translate_error(
        error: Exception,
        body: dict[str, Any],
        response: BoltResponse | None,
        context: BoltContext,
        respond: Respond | None = None,
    ) -> None:
        if not context.get(VERIFIED):
            # Failed before the signature was checked, or while checking it: nothing in
            # the body can be trusted, so nobody is answered or messaged on its behalf.
            logger.warning("refused a request that failed before verification: %r", error)
            if response is not None:
                response.status, response.body = 401, '{"error": "invalid request"}'
            return
        if isinstance(error, BoltUnhandledRequestError):
            logger.debug("nothing listens for %s; answered 200", _kind(body))
            if response is not None:
                response.status, response.body = 200, ""
            return
        if code := token_error(error):
            logger.warning(
                "Slack refused the bot's token (%s) while handling %s", code, _kind(body)
            )
            # Only the request's own answer and its response_url need no token.
            text = f":warning: {NO_ACCESS}"
            if response is not None and "command" in body:
                _json(response, {"response_type": "ephemeral", "text": text})
                return
            if response is not None and response.status >= 400:
                response.status, response.body = 200, ""
            if respond is not None:
                try:
                    respond(text=text, response_type="ephemeral")
                except (SlackClientError, OSError):
                    logger.warning("could not tell the user the token is dead")
            return
        replay = context.get(REPLAYED)
        if isinstance(replay, Replay):
            replay.error = error
            return
        if isinstance(error, StorageUnavailable):
            logger.warning("not recorded: %s", error.reason)
            text = f":warning: {not_recorded(error)}"
        elif isinstance(error, PromptbotError):
            logger.info("refused: %s", error)
            text = f":warning: {escape(str(error))}"
        else:
            logger.error("listener failed", exc_info=error)
            text = f":warning: {UNEXPECTED}"
        if response is not None and body.get("type") == "view_submission":
            errors = error.errors if isinstance(error, FieldErrors) else _on_first_field(body, text)
            _json(response, {"response_action": "errors", "errors": errors})
        elif response is not None and "command" in body:
            # Not yet acked: the error is the command's own ephemeral reply.
            _json(response, {"response_type": "ephemeral", "text": text})
        else:
            if response is not None:
                # An action or event not yet acked: ack it, and say why in a message.
                response.status, response.body = 200, ""
            channel, user = _where(body)
            if channel and user:
                try:
                    services.slack.call(
                        "chat_postEphemeral",
                        channel=channel,
                        user=user,
                        text=text,
                        deadline=LATER_REPLY_SECONDS,
                    )
                except PublishError:
                    logger.warning("could not tell %s about an error", user)
