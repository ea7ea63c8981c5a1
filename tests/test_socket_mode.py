"""Socket Mode: the app connects to a local WebSocket stand-in and acks envelopes."""

import json
from urllib.parse import parse_qsl

from slack_bolt.adapter.socket_mode import SocketModeHandler

from promptbot.app import create_bot
from promptbot.config.environment import Environment
from promptbot.config.loading import parse_config
from promptbot.standins import payloads
from tests.harness import TOKEN, bot_config, wait_until
from tests.socket_standin import SocketModeStandIn


def test_socket_mode_receives_and_acks(tmp_path, slack, models):
    slack.app_token = "xapp-test"
    environment = Environment.capture(
        {
            "SLACK_BOT_TOKEN": TOKEN,
            "SLACK_APP_TOKEN": "xapp-test",
            "SLACK_API_URL": slack.api_url,
            "PROMPTBOT_DB": str(tmp_path / "db.sqlite"),
        }
    )
    bot = create_bot(parse_config(bot_config(models)), environment, socket_mode=True)
    socket = SocketModeStandIn().start()
    slack.socket_url = socket.url
    handler = SocketModeHandler(bot.app, "xapp-test")
    handler.connect()
    try:
        socket.wait_connected()
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
    finally:
        # The server hanging up first lets the client close at once.
        handler.client.auto_reconnect_enabled = False
        socket.close()
        handler.close()
        bot.close()
