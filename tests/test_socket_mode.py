"""Socket Mode: the app connects to a local WebSocket stand-in and acks envelopes."""

import json
from contextlib import contextmanager
from urllib.parse import parse_qsl

import pytest
from slack_bolt.adapter.socket_mode import SocketModeHandler

from promptbot.app import create_bot
from promptbot.config.environment import Environment
from promptbot.config.loading import parse_config
from promptbot.standins import payloads
from tests.harness import TOKEN, bot_config, wait_until, write_lock
from tests.socket_standin import SocketModeStandIn


@contextmanager
def socket_bot(db, slack, models):
    """The bot connected over Socket Mode to a local stand-in: (bot, socket)."""
    slack.app_token = "xapp-test"
    environment = Environment.capture(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": slack.api_url,
            "PROMPTBOT_DB": str(db),
        }
    )
    bot = create_bot(parse_config(bot_config(models)), environment, socket_mode=True)
    socket = SocketModeStandIn().start()
    slack.socket_url = socket.url
    handler = SocketModeHandler(bot.app, "xapp-test")
    handler.connect()
    try:
        socket.wait_connected()
        yield bot, socket
    finally:
        # The server hanging up first lets the client close at once.
        handler.client.auto_reconnect_enabled = False
        socket.close()
        handler.close()
        bot.close()


def test_socket_mode_receives_and_acks(tmp_path, slack, models):
    with socket_bot(tmp_path / "db.sqlite", slack, models) as (bot, socket):
        command = dict(
            parse_qsl(
                payloads.slash_command_body(
                    "propose via-socket --models alpha\nHi", user_id="U1", channel_id="C1"
                )
            )
        )
        envelope = socket.send_envelope("slash_commands", command)
        ack = socket.wait_for_ack(envelope)
        assert "via-socket" in json.dumps(ack.get("payload"))
        run = wait_until(lambda: bot.store.recent_runs(1), what="the run")[0].run
        wait_until(lambda: bot.store.get_run(run.id).status == "done", what="run done")
        post = next(
            m
            for m in slack.messages("C1")
            if (m.get("metadata") or {}).get("event_type") == "promptbot_candidate"
        )

        event = json.loads(
            payloads.event_body(
                payloads.reaction_event(
                    "reaction_added", user="U2", reaction="+1", channel="C1", ts=post["ts"]
                )
            )
        )
        envelope = socket.send_envelope("events_api", event)
        socket.wait_for_ack(envelope)
        wait_until(lambda: bot.store.ratings(), what="the rating")


def test_socket_mode_acks_an_event_only_once_it_is_recorded(tmp_path, slack, models):
    db = tmp_path / "db.sqlite"
    with socket_bot(db, slack, models) as (bot, socket):
        event = json.loads(
            payloads.event_body(payloads.app_home_opened_event("U7"), event_id="Ev-socket")
        )
        with write_lock(f"{db}-inbox"):
            envelope = socket.send_envelope("events_api", event)
            with pytest.raises(TimeoutError):
                socket.wait_for_ack(envelope, timeout=3)
        assert bot.store.inbox.store.query("SELECT * FROM inbox") == []
        # Unacknowledged, Slack sends it again.
        retry = socket.send_envelope("events_api", event, retry_attempt=1)
        socket.wait_for_ack(retry)
        wait_until(lambda: slack.calls_to("views.publish"), what="the Home tab")
        assert bot.inbox.wait_idle(5)
        assert len(bot.store.inbox.store.query("SELECT * FROM inbox")) == 1
