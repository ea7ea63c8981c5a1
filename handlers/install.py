"""The install's lifecycle as Slack tells it: the token checked at start-up, and the
events that say the bot's access is gone (``app_uninstalled``, ``tokens_revoked``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from handlers.invocation import Services
from handlers.surface import Surface
from promptbot.errors import ConfigError, PublishError

logger = logging.getLogger(__name__)
_quiet = logging.getLogger(f"{__name__}.auth_test")
_quiet.setLevel(logging.CRITICAL)

# Web API errors that mean the token no longer works, whatever the call: not a bug of
# ours, so they are one warning, never a traceback.
TOKEN_ERRORS = frozenset(
    {"token_revoked", "token_expired", "account_inactive", "invalid_auth", "not_authed"}
)


def token_error(error: BaseException) -> str | None:
    """The Slack error code when ``error`` says the token is dead, else None (also
    through the gateway, whose PublishError carries slack_sdk's error as its cause)."""
    if isinstance(error, PublishError) and error.__cause__ is not None:
        error = error.__cause__
    if isinstance(error, SlackApiError):
        code = str(error.response.get("error", ""))
        return code if code in TOKEN_ERRORS else None
    return None


class DeadTokenWatch(RetryHandler):
    """Sees every Web API answer (slack_sdk hands each one to the retry handlers) and
    never retries: the first ``token_revoked``/``invalid_auth``… any call meets tells
    ``on_dead`` once, so the scheduled jobs stop even when the uninstall event never
    arrived (a Socket Mode connection is closed by the uninstall itself)."""

    def __init__(self, bot_token: str, on_dead: Callable[[str], object]) -> None:
        super().__init__(max_retry_count=1)
        self._authorization = f"Bearer {bot_token}"
        self._on_dead = on_dead

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        sent = {k.lower(): v for k, v in request.headers.items()}.get("authorization") or []
        if self._authorization not in sent:
            return False  # the app-level token's calls (Socket Mode) say nothing of the bot's
        body = response.body if response is not None else None
        code = body.get("error") if isinstance(body, dict) and body.get("ok") is False else None
        if code in TOKEN_ERRORS:
            try:
                self._on_dead(str(code))
            except Exception:
                # Never let bookkeeping break the call the caller is waiting on.
                logger.exception("recording the dead token failed")
        return False


def _probe(client: WebClient) -> WebClient:
    """``client``'s twin for start-up checks: slack_sdk and the Socket Mode client log
    each failed attempt at ERROR, and the ConfigError raised instead says it once."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        retry_handlers=client.retry_handlers,
        logger=_quiet,
    )


@dataclass(frozen=True)
class BotIdentity:
    """Who the bot is in Slack (from auth.test), to tell its own events apart."""

    user_id: str | None
    bot_id: str | None


def check_token(client: WebClient) -> BotIdentity:
    """Ask Slack who the token belongs to; a refusal or no answer is one ConfigError line."""
    try:
        answer = _probe(client).auth_test()
        return BotIdentity(answer.get("user_id"), answer.get("bot_id"))
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown"))
        if code in TOKEN_ERRORS:
            raise ConfigError(
                f"Slack refused SLACK_BOT_TOKEN ({code}): the app was uninstalled or the"
                " token revoked or mistyped; reinstall the app and set its Bot User OAuth Token"
            ) from None
        raise ConfigError(f"Slack's auth.test failed ({code}) for SLACK_BOT_TOKEN") from None
    except (SlackClientError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise ConfigError(f"cannot reach Slack at {client.base_url}: {reason}") from None


def register(app: App, surface: Surface, services: Services) -> None:
    # Slack sends both when an app is uninstalled; either alone means no more access.
    @surface.event(app, "app_uninstalled")
    def app_uninstalled(body: dict[str, Any]) -> None:
        services.install.revoke("app_uninstalled")

    @surface.event(app, "tokens_revoked")
    def tokens_revoked(event: dict[str, Any]) -> None:
        # Only the bot token matters; a revoked user token (we hold none) changes nothing.
        if (event.get("tokens") or {}).get("bot"):
            services.install.revoke("tokens_revoked")


def open_socket_mode(app: App, app_token: str) -> SocketModeHandler:
    """Connect to Slack over Socket Mode; a refused app token or no route to Slack is one
    ConfigError line, not the client's traceback."""
    try:
        _probe(app.client).apps_connections_open(app_token=app_token)
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown"))
        raise ConfigError(
            f"Slack refused SLACK_APP_TOKEN ({code}): create an app-level token with"
            " connections:write under Basic Information and set it"
        ) from None
    except (SlackClientError, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise ConfigError(f"cannot reach Slack's Socket Mode: {reason}") from None
    handler = SocketModeHandler(app, app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler
