"""The install's lifecycle: when Slack takes the bot's access away (the app uninstalled,
its token revoked), everything scheduled stops at once, with one log line, rather than
each digest and reminder failing on its own; a valid token at the next start brings it
back."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from storage.install import InstallState

logger = logging.getLogger(__name__)


class Install:
    def __init__(self, state: InstallState) -> None:
        self._state = state
        self._lock = threading.Lock()
        self._stops: list[Callable[[], None]] = []

    def on_revoked(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` when access is revoked (the scheduler registers its pause)."""
        with self._lock:
            self._stops.append(stop)

    def revoke(self, reason: str) -> bool:
        """Slack said ``reason`` (app_uninstalled, tokens_revoked…). Idempotent: Slack
        redelivers, and an uninstall also revokes the token."""
        if not self._state.revoke(reason):
            return False
        with self._lock:
            stops = list(self._stops)
        for stop in stops:
            stop()
        logger.warning(
            "Slack access revoked (%s): scheduled digests and reminders are stopped;"
            " reinstall the app and restart with a valid SLACK_BOT_TOKEN",
            reason,
        )
        return True

    def started(self) -> None:
        """The bot started with a token Slack accepts, so the install is live again."""
        if self._state.restore():
            logger.info("Slack access restored: scheduled digests and reminders resume")

    @property
    def revoked_reason(self) -> str | None:
        return self._state.revoked_reason()
