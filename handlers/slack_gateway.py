"""THE way to Slack's Web API: every call the bot makes goes through ``SlackGateway``.

- ``slack_errors`` is the one place slack_sdk and HTTP errors become ours: a refusal is
  a PublishError carrying Slack's reason; anything that means "later" (429, HTTP 200
  ``ratelimited``, 5xx, timeouts, refused or dropped connections) is SlackUnavailable.
- ``call`` retries SlackUnavailable with backoff (or Slack's ``Retry-After``) until the
  deadline, then raises it: the caller's step stays pending and is tried again later.
- Posts are paced per channel (Slack takes about one message a second per channel, with
  short bursts), so many runs in one channel queue here instead of meeting 429s.
- A post that carries message metadata is never repeated blindly: after an answer that
  leaves its outcome unknown (a timeout, a 5xx, a dropped connection), and whenever the
  caller says an earlier attempt may have landed, the post is first looked for by its
  metadata in the thread or the channel's history.
"""

from __future__ import annotations

import http.client
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from handlers.slack_download import fetch_file
from handlers.slack_pace import ChannelPace
from promptbot.errors import PublishError, SlackUnavailable

logger = logging.getLogger(__name__)

Metadata = dict[str, Any]  # Slack's message metadata: {"event_type": …, "event_payload": {…}}

# Slack's own words for "not now": worth another try, never the caller's fault.
LATER = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable"})
# A lookup reads at most this many pages (200 messages each) before giving up; giving up
# is SlackUnavailable, so the step waits rather than risk a duplicate.
MAX_LOOKUP_PAGES = 10
# Deadlines for calls made while someone waits: a trigger_id expires about 3 s after the
# click, and a reply later than half a minute finds the user gone.
TRIGGER_SECONDS = 2.0
LATER_REPLY_SECONDS = 30.0
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0  # a few seconds at most between tries: Slack is usually back fast


def _later(reason: str, maybe_posted: bool, retry_after: float | None = None) -> SlackUnavailable:
    return SlackUnavailable(reason, maybe_posted=maybe_posted, retry_after=retry_after)


@contextmanager
def slack_errors() -> Iterator[None]:
    """Map whatever slack_sdk or the network raises into our tree (see module doc)."""
    try:
        yield
    except SlackApiError as error:
        status = error.response.status_code
        code = str(error.response.get("error") or f"HTTP {status}")
        if status == 429 or code == "ratelimited":
            header = (error.response.headers or {}).get("Retry-After") or (
                error.response.headers or {}
            ).get("retry-after")
            retry_after = float(header) if header and str(header).isdigit() else None
            raise _later("ratelimited", False, retry_after) from error
        if status >= 500:
            raise _later(f"HTTP {status}", True) from error
        if code in LATER:
            raise _later(code, True) from error
        raise PublishError(code) from error
    except URLError as error:
        refused = isinstance(error.reason, ConnectionRefusedError)
        reason = "connection refused" if refused else f"unreachable ({error.reason})"
        raise _later(f"Slack {reason}", not refused) from error
    except (OSError, http.client.HTTPException) as error:
        # TimeoutError, ConnectionResetError, RemoteDisconnected…: the request may have
        # reached Slack and been acted on before the answer was lost.
        refused = isinstance(error, ConnectionRefusedError)
        raise _later(f"Slack unreachable ({type(error).__name__})", not refused) from error
    except SlackClientError as error:
        raise PublishError(f"Slack client error ({type(error).__name__})") from error


@dataclass(frozen=True)
class GatewaySettings:
    deadline: float = 600.0  # seconds one call keeps retrying before it stays pending
    posts_per_second: float = 1.0
    post_burst: int = 3


class SlackGateway:
    """Every Slack Web API call, retried, paced and mapped (see the module docstring)."""

    def __init__(
        self,
        client: WebClient,
        settings: GatewaySettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.client = client
        self.settings = settings or GatewaySettings()
        self._stopping = threading.Event()
        # A pause between tries ends as soon as the process stops (``stop``).
        self.clock, self.sleep = clock, sleep or self._pause
        self.pace = ChannelPace(
            self.settings.posts_per_second, self.settings.post_burst, clock, self.sleep
        )

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def stop(self) -> None:
        """The process is stopping: a call Slack keeps refusing gives up now rather than
        at its deadline (minutes away), so that no thread keeps the process alive; what
        it was posting waits for the next process's resumer, as after any deadline."""
        self._stopping.set()

    # -- the one call -----------------------------------------------------------

    def call(
        self,
        method: str,
        *,
        paced: str | None = None,
        deadline: float | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """``client.<method>(**kwargs)``'s data, retried until ``deadline`` seconds have
        passed. ``paced`` names the channel whose posting pace the call waits for."""
        return self._retrying(method, lambda: self._once(method, paced, kwargs), deadline)

    def _once(self, method: str, paced: str | None, kwargs: dict[str, Any]) -> dict[str, Any]:
        if paced is not None:
            self.pace.wait(paced)
        with slack_errors():
            data = getattr(self.client, method)(**kwargs).data
        return data if isinstance(data, dict) else {"ok": True, "data": data}

    def _retrying(
        self,
        what: str,
        attempt: Callable[[], dict[str, Any]],
        deadline: float | None = None,
        before_retry: Callable[[SlackUnavailable], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        give_up = self.clock() + (self.settings.deadline if deadline is None else deadline)
        backoff = FIRST_BACKOFF
        while True:
            try:
                return attempt()
            except SlackUnavailable as error:
                left = give_up - self.clock()
                if left <= 0 or self._stopping.is_set():
                    logger.warning("%s: giving up for now: %s", what, error)
                    raise
                wait = error.retry_after if error.retry_after is not None else backoff
                wait = min(wait * random.uniform(0.8, 1.2), left)  # jitter spreads a herd
                logger.info("%s: %s; retrying in %.1fs", what, error, wait)
                self.sleep(max(wait, 0.0))
                backoff = min(backoff * 2, MAX_BACKOFF)
                if before_retry is not None:
                    found = before_retry(error)
                    if found is not None:
                        return found

    # -- posts that can be found again ---------------------------------------------

    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        metadata: Metadata | None = None,
        look_first: bool = False,
        since: float | None = None,
    ) -> str:
        """Post once and return the message's ts. With ``metadata``, a post whose earlier
        attempt may have landed (``look_first``, or a lost answer here) is looked for
        first: in ``thread_ts``'s replies, or the channel's history since ``since``."""

        def look() -> dict[str, Any] | None:
            if metadata is None:
                return None
            found = self.find_posts(channel, metadata, thread_ts=thread_ts, since=since)
            return {"ts": found[0]} if found else None

        state = {"must_look": look_first}

        def attempt() -> dict[str, Any]:
            if state["must_look"] and (found := look()) is not None:
                return found
            state["must_look"] = False
            try:
                return self._once(
                    "chat_postMessage",
                    channel,
                    {
                        "channel": channel,
                        "text": text,
                        "blocks": blocks,
                        "thread_ts": thread_ts,
                        "metadata": metadata,
                        "unfurl_links": False,
                        "unfurl_media": False,
                    },
                )
            except SlackUnavailable as error:
                state["must_look"] = error.maybe_posted and metadata is not None
                raise

        return str(self._retrying("chat.postMessage", attempt)["ts"])

    def find_posts(
        self,
        channel: str,
        metadata: Metadata,
        *,
        thread_ts: str | None = None,
        since: float | None = None,
    ) -> list[str]:
        """The ts of the bot's messages carrying ``metadata`` (event type and every payload
        field equal), oldest first. Needs channels:history (groups:history if private)."""
        found: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_LOOKUP_PAGES):
            if thread_ts is not None:
                page = self.call(
                    "conversations_replies",
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            else:
                page = self.call(
                    "conversations_history",
                    channel=channel,
                    oldest=f"{since or 0:.6f}",
                    include_all_metadata=True,
                    limit=200,
                    cursor=cursor,
                )
            found += [str(m["ts"]) for m in page.get("messages") or [] if _carries(m, metadata)]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more"):
                return sorted(found, key=float)
            if cursor is None:
                raise SlackUnavailable("history has more messages but no cursor to read them")
        raise SlackUnavailable(f"gave up looking after {MAX_LOOKUP_PAGES} pages")

    # -- the rest of what the bot says ----------------------------------------------

    def add_reactions(self, channel: str, ts: str, names: list[str]) -> None:
        """Each emoji once; one already there (``already_reacted``) counts as added."""
        for name in names:
            try:
                self.call("reactions_add", channel=channel, timestamp=ts, name=name)
            except PublishError as error:
                if str(error) != "already_reacted":
                    raise

    def respond(
        self, response_url: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """An ephemeral answer through a command's ``response_url`` (30 minutes, 5 uses):
        it reaches the user even where the bot may not post."""
        with slack_errors():
            response = WebhookClient(response_url, timeout=self.client.timeout).send(
                text=text, blocks=blocks, response_type="ephemeral", replace_original=False
            )
        if response.status_code >= 500:
            raise SlackUnavailable(f"response_url answered HTTP {response.status_code}")
        if response.status_code != 200:
            raise PublishError(f"response_url answered {response.status_code} {response.body}")

    def direct_message(
        self, user: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> str:
        channel = str(self.call("conversations_open", users=user)["channel"]["id"])
        return self.post_message(channel, text=text, blocks=blocks)

    def download(self, file: Mapping[str, Any], max_bytes: int, seconds: float) -> bytes:
        """A file someone attached, read with the bot token (handlers/slack_download.py)."""
        return fetch_file(self.client, file, max_bytes, seconds)


def _carries(message: dict[str, Any], wanted: Metadata) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    want = wanted.get("event_payload") or {}
    return bool(
        metadata.get("event_type") == wanted.get("event_type")
        and all(payload.get(k, 0 if k == "part" else None) == v for k, v in want.items())
    )
