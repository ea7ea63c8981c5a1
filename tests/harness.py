"""The bot under test: the real app, served over HTTP by waitress on a loopback
port, talking to the Slack and OpenAI stand-ins."""

from __future__ import annotations

import gc
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import waitress
from waitress import wasyncore

from handlers.wsgi import make_wsgi_app
from promptbot.app import Bot, create_bot
from promptbot.config.environment import Environment
from promptbot.config.loading import parse_config
from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn

SECRET = "test-signing-secret"
TOKEN = "xoxb-test-token"
MODEL_NAMES = ("alpha", "beta", "gamma")


def bot_config(models: OpenAIStandIn, timeout: float = 2, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "models": [
            {
                "name": name,
                "model": f"{name}-id",
                "base_url": models.base_url,
                "timeout": timeout,
                "max_retries": 2,
                "max_concurrency": 4,
            }
            for name in MODEL_NAMES
        ],
        "admins": ["UADMIN"],
        # Unpaced: most tests post more than a burst into one channel; the pacing tests
        # turn it on.
        "slack": {"posts_per_second": 0},
    }
    data.update(overrides)
    return data


def _decode(reply: str) -> Any:
    """Bolt answers a text-only ack as plain text, anything richer as JSON."""
    if not reply:
        return None
    try:
        return json.loads(reply)
    except json.JSONDecodeError:
        return {"text": reply}


# A closed bot's SQLite connections stay open in the thread-locals of its pools' idle
# threads until the cyclic collector frees them: a test session starts hundreds of bots,
# and past 1024 descriptors waitress's select() fails in whichever test is running then.
DESCRIPTORS_BEFORE_COLLECTING = 192


def release_closed_bots() -> None:
    try:
        descriptors = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: nothing to count, and the collector runs as it would
        return
    if descriptors > DESCRIPTORS_BEFORE_COLLECTING:
        gc.collect()


@dataclass
class RunningBot:
    bot: Bot
    slack: SlackStandIn
    models: OpenAIStandIn
    url: str
    _server: Any
    _thread: threading.Thread
    _stop: threading.Event
    closed: bool = field(default=False)
    # The runs that finished here, each once the bot's own listeners for finished runs
    # (the judge's queue among them) were told: theirs run first.
    finished: set[int] = field(default_factory=set)

    @property
    def store(self):
        return self.bot.store

    def post(self, body: str, content_type: str, **kwargs: Any) -> tuple[int, str]:
        return payloads.post_signed(
            self.url + "/slack/events", body, SECRET, content_type=content_type, **kwargs
        )

    def command(self, text: str, user: str = "U1", channel: str = "C1") -> tuple[int, Any]:
        body = payloads.slash_command_body(text, user_id=user, channel_id=channel)
        status, reply = self.post(body, "application/x-www-form-urlencoded")
        return status, _decode(reply)

    def submit_view(self, view: dict[str, Any], values: dict[str, Any], user: str = "U1"):
        body = payloads.view_submission_body(view, values, user_id=user)
        status, reply = self.post(body, "application/x-www-form-urlencoded")
        return status, _decode(reply)

    def event(self, event: dict[str, Any], event_id: str | None = None, **kwargs: Any) -> int:
        body = payloads.event_body(event, event_id=event_id)
        status, _ = self.post(body, "application/json", **kwargs)
        return status

    def react(
        self,
        ts: str,
        reaction: str,
        user: str,
        *,
        added: bool = True,
        channel: str = "C1",
        event_id: str | None = None,
        event_ts: str | None = None,
    ) -> int:
        kind = "reaction_added" if added else "reaction_removed"
        event = payloads.reaction_event(
            kind, user=user, reaction=reaction, channel=channel, ts=ts, event_ts=event_ts
        )
        return self.event(event, event_id=event_id)

    def wait_run(self, run_id: int, timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.store.get_run(run_id)
            if run.status in ("done", "failed"):
                return run
            time.sleep(0.02)
        raise TimeoutError(f"run {run_id} still {self.store.get_run(run_id).status}")

    def candidate_posts(self, run_id: int) -> list[dict[str, Any]]:
        run = self.store.get_run(run_id)
        assert run.thread_ts
        return [
            m
            for m in self.slack.thread(run.channel, run.thread_ts)
            if (m.get("metadata") or {}).get("event_type") == "promptbot_candidate"
        ]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._stop.set()
            self._thread.join(timeout=5)
            self.bot.close()
            release_closed_bots()


def start_bot(
    tmp_path: Path,
    slack: SlackStandIn,
    models: OpenAIStandIn,
    config: dict[str, Any] | None = None,
    **create_kwargs: Any,
) -> RunningBot:
    environment = Environment.capture(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": slack.api_url,
            "PROMPTBOT_DB": str(tmp_path / "promptbot.db"),
        }
    )
    bot = create_bot(parse_config(config or bot_config(models)), environment, **create_kwargs)
    # Our own socket map, passed in (a public argument), so the loop below can serve it.
    socket_map: dict[int, Any] = {}
    server = waitress.create_server(
        make_wsgi_app(bot.app, health=bot.healthy, guard=bot.guard, desk=bot.desk),
        map=socket_map,
        host="127.0.0.1",
        port=0,
        threads=8,
        max_request_body_size=bot.config.limits.request_max_bytes,
    )
    stop = threading.Event()

    def serve() -> None:
        # Waitress has no cross-thread shutdown; closing from the serving thread is clean.
        while not stop.is_set():
            wasyncore.loop(timeout=0.05, map=socket_map, count=1)
        server.close()
        server.task_dispatcher.shutdown()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.effective_port}"
    running = RunningBot(bot, slack, models, url, server, thread, stop)
    bot.runner.when_finished.append(running.finished.add)
    return running


def wait_until(predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
    """Poll until ``predicate()`` is truthy; events are handled after Bolt acks them.
    The timeout only bounds a failing test, so it is generous for a loaded machine."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise TimeoutError(f"timed out waiting for {what}")


def settle(bot: RunningBot) -> None:
    """Wait until the event inbox and the app's listener pool are idle, so 'nothing
    happened' can be asserted."""
    assert bot.bot.inbox.wait_idle(15), "the event inbox is still busy"
    executor = bot.bot.app.listener_runner.listener_executor  # type: ignore[attr-defined]
    marker = executor.submit(lambda: None)
    marker.result(timeout=15)
    time.sleep(0.05)


@contextmanager
def write_lock(db_path: Path | str) -> Iterator[None]:
    """Another connection holds the database's write lock, as another process would."""
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def assert_an_ordinary_proposal_completes(bot: RunningBot) -> None:
    """After hostile input: the next ordinary proposal is answered, run and posted."""
    run_id = len(bot.store.recent_runs(100)) + 1
    status, reply = bot.command("propose after --models alpha\nHi {{ who }}\n---\nwho: Ada")
    assert status == 200 and "Started" in reply["text"]
    assert bot.wait_run(run_id, timeout=30).status == "done"
    assert bot.candidate_posts(run_id)
