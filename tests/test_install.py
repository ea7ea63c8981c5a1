"""The install's lifecycle: start-up token checks, uninstall and revoked tokens."""

import json
import logging
import socket
import subprocess
import sys
from urllib.parse import urlencode

from apscheduler.schedulers.base import STATE_PAUSED, STATE_RUNNING

from promptbot.standins import payloads
from storage import Store
from tests.harness import TOKEN, settle, start_bot, wait_until


def promptbot_run(tmp_path, api_url, token=TOKEN):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "PROMPTBOT_CONFIG": str(config),
        "PROMPTBOT_DB": str(tmp_path / "db.sqlite"),
        "SLACK_BOT_TOKEN": token,
        "SLACK_SIGNING_SECRET": "s",
        "SLACK_API_URL": api_url,
    }
    return subprocess.run(
        [sys.executable, "-m", "promptbot.cli.main", "run", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_start_with_a_revoked_token_is_one_line_and_exit_2(tmp_path, slack):
    slack.fail_next("auth.test", error="token_revoked")
    result = promptbot_run(tmp_path, slack.api_url)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: Slack refused SLACK_BOT_TOKEN (token_revoked): the app was uninstalled or the"
        " token revoked or mistyped; reinstall the app and set its Bot User OAuth Token"
    ]


def test_start_with_an_invalid_token_is_one_line_and_exit_2(tmp_path, slack):
    result = promptbot_run(tmp_path, slack.api_url, token="xoxb-1")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in line


def test_start_with_slack_unreachable_is_one_line_and_exit_2(tmp_path):
    # Bound but never listening, and held for the whole run: connections are refused,
    # and no other test can be handed the port meanwhile.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        result = promptbot_run(tmp_path, f"http://127.0.0.1:{port}/api/")
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: cannot reach Slack at http://127.0.0.1:{port}/api/: ")
    assert "Connection refused" in line


def test_bolt_does_not_warn_about_the_token_it_reads_itself(
    tmp_path, slack, models, caplog, monkeypatch
):
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)  # what Bolt reads
    bot = start_bot(tmp_path, slack, models)
    bot.close()
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]


def uninstall_events():
    uninstalled = payloads.event_body({"type": "app_uninstalled", "event_ts": payloads.new_ts()})
    revoked = payloads.event_body(
        {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}, "event_ts": payloads.new_ts()}
    )
    return uninstalled, revoked


def test_uninstall_stops_the_jobs_once_and_a_valid_token_restores(tmp_path, slack, models, caplog):
    bot = start_bot(tmp_path, slack, models)
    bot.bot.start_jobs()
    scheduler = bot.bot.scheduler.scheduler
    assert scheduler.state == STATE_RUNNING
    caplog.set_level(logging.INFO)
    try:
        for body in uninstall_events():
            # Slack sends both on an uninstall, and redelivers: one stop, one line.
            for _ in range(2):
                assert bot.post(body, "application/json")[0] == 200
        wait_until(lambda: scheduler.state == STATE_PAUSED, what="the jobs paused")
        settle(bot)
    finally:
        bot.close()
    assert bot.store.install.revoked_reason() == "app_uninstalled"
    lines = [r for r in caplog.records if r.name == "promptbot.jobs.install"]
    assert [r.levelname for r in lines] == ["WARNING"]
    assert "scheduled digests and reminders are stopped" in lines[0].getMessage()

    again = start_bot(tmp_path, slack, models)
    try:
        again.bot.start_jobs()
        assert again.store.install.revoked_reason() is None
        assert again.bot.scheduler.scheduler.state == STATE_RUNNING
    finally:
        again.close()
    assert "Slack access restored" in caplog.text


def test_a_revoked_user_token_changes_nothing(bot):
    body = payloads.event_body(
        {"type": "tokens_revoked", "tokens": {"oauth": ["U1"]}, "event_ts": payloads.new_ts()}
    )
    assert bot.post(body, "application/json")[0] == 200
    settle(bot)
    assert bot.store.install.revoked_reason() is None


def test_a_dead_token_in_a_handler_is_one_warning_not_a_traceback(bot, slack, caplog):
    for code in ("token_revoked", "account_inactive", "invalid_auth"):
        caplog.clear()
        slack.fail_next("views.publish", error=code)
        assert bot.event(payloads.app_home_opened_event("U1")) == 200
        wait_until(
            lambda: any(r.name == "handlers.errors" for r in caplog.records), what="the warning"
        )
        settle(bot)
        assert not [r for r in caplog.records if r.exc_info], code
        (line,) = [r for r in caplog.records if r.name == "handlers.errors"]
        assert line.levelname == "WARNING" and code in line.getMessage()


def test_the_first_call_that_meets_a_dead_token_stops_the_jobs(running, slack, caplog):
    # The uninstall event may never come (it closes a Socket Mode connection itself):
    # the first Web API answer saying the token is dead is enough.
    bot = running()
    bot.bot.start_jobs()
    scheduler = bot.bot.scheduler.scheduler
    slack.fail_next("views.publish", times=3, error="token_revoked")
    for _ in range(3):
        assert bot.event(payloads.app_home_opened_event("U1")) == 200
    wait_until(lambda: scheduler.state == STATE_PAUSED, what="the jobs paused")
    settle(bot)
    assert bot.store.install.revoked_reason() == "token_revoked"
    stopped = [r for r in caplog.records if r.name == "promptbot.jobs.install"]
    assert len(stopped) == 1


def test_verified_requests_nobody_listens_for_are_answered_200(bot, caplog):
    caplog.set_level(logging.DEBUG, logger="handlers.errors")
    for event in (
        {"type": "team_access_revoked", "team_ids": ["T0001"], "event_ts": payloads.new_ts()},
        {"type": "emoji_changed", "subtype": "add", "name": "x", "event_ts": payloads.new_ts()},
    ):
        assert bot.event(event) == 200
    closed = {"type": "view_closed", "user": {"id": "U1"}, "view": {"id": "V1", "callback_id": "x"}}
    status, _ = bot.post(
        urlencode({"payload": json.dumps(closed)}),
        "application/x-www-form-urlencoded",
    )
    assert status == 200
    # Events are recorded before the 200 and handled afterwards, off the request thread.
    wait_until(
        lambda: "nothing listens for event_callback/emoji_changed" in caplog.text,
        what="the unhandled event logged at debug",
    )
    # waitress warns of its own queue when a loaded machine is slow to serve; only
    # the bot's own warnings are about these requests.
    ours = [r for r in caplog.records if not r.name.startswith("waitress")]
    assert not [r for r in ours if r.levelno >= logging.WARNING]
    # Unsigned requests are still refused.
    assert (
        payloads.post_signed(
            bot.url + "/slack/events", "{}", "wrong", content_type="application/json"
        )[0]
        == 401
    )


def test_a_command_that_meets_a_dead_token_says_so_in_one_line(bot, slack, caplog):
    slack.fail_next("views.open", error="token_revoked")
    body = payloads.slash_command_body(
        "new", user_id="U1", channel_id="C1", response_url=slack.response_url("new")
    )
    status, reply = bot.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    wait_until(lambda: slack.responses, what="the answer on the response_url")
    settle(bot)
    assert not [r for r in caplog.records if r.exc_info]
    warnings = [r.getMessage() for r in caplog.records if r.name == "handlers.errors"]
    assert len(warnings) == 1 and "token_revoked" in warnings[0]
    said = json.dumps(reply) + json.dumps([r.body for r in slack.responses])
    assert "ask a workspace admin to reinstall the app" in said


def test_socket_mode_with_a_refused_app_token_is_one_line_and_exit_2(tmp_path, slack):
    slack.app_token = "xapp-right"
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    env = {
        "PATH": "/usr/bin:/bin",
        "PROMPTBOT_CONFIG": str(config),
        "PROMPTBOT_DB": str(tmp_path / "db.sqlite"),
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_APP_TOKEN": "xapp-wrong",
        "SLACK_API_URL": slack.api_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "promptbot.cli.main", "run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "Error: Slack refused SLACK_APP_TOKEN (invalid_auth): create an app-level token with"
        " connections:write under Basic Information and set it"
    ]
    # The app-level token's refusal says nothing about the bot token's install.
    assert Store(tmp_path / "db.sqlite").install.revoked_reason() is None
