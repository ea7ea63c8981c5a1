"""The HTTP trust boundary, against the real app over HTTP: signature verification
fails closed, bodies over the limit get 413 without being read whole, unverified
bodies stay out of the logs, and a replayed signed command acts once."""

import io
import logging
import socket
import time
import urllib.error
import urllib.request

import pytest

from handlers.http_guard import RequestGuard
from handlers.wsgi import make_wsgi_app
from promptbot.redaction import redact
from promptbot.standins import payloads
from storage.seen_requests import KEEP_SECONDS
from tests.harness import SECRET, assert_an_ordinary_proposal_completes, settle

FORM = "application/x-www-form-urlencoded"


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url + "/slack/events", data=body, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read().decode()


def forged_confirm() -> str:
    """A button click naming any user and channel: the shape that once made the bot
    call chat.postEphemeral for an unsigned request."""
    return payloads.block_actions_body("run_confirm", "999", user_id="UVICTIM", channel_id="CANY")


def now() -> int:
    return int(time.time())


def assert_nothing_happened(bot, slack, models, runs_before=0):
    settle(bot)
    assert slack.calls_to("chat.postEphemeral") == []
    assert [c.method for c in slack.calls if c.method != "auth.test"] == []
    assert models.requests == []
    assert len(bot.store.recent_runs(10)) == runs_before


BAD_HEADERS = {
    "timestamp abc": lambda body: {
        "X-Slack-Request-Timestamp": "abc",
        "X-Slack-Signature": "v0=deadbeef",
    },
    "timestamp empty": lambda body: {
        "X-Slack-Request-Timestamp": "",
        "X-Slack-Signature": "v0=deadbeef",
    },
    "timestamp 1e3": lambda body: {
        "X-Slack-Request-Timestamp": "1e3",
        "X-Slack-Signature": "v0=deadbeef",
    },
    "timestamp missing": lambda body: {"X-Slack-Signature": "v0=deadbeef"},
    "both missing": lambda body: {},
    # A minute clear of the window: a loaded machine may take seconds to serve the
    # request, and the exact edge is pinned with a fixed clock below.
    "timestamp too old": lambda body: payloads.sign(SECRET, body, now() - 360),
    "timestamp in the future": lambda body: payloads.sign(SECRET, body, now() + 360),
    "signature deadbeef": lambda body: {
        "X-Slack-Request-Timestamp": str(now()),
        "X-Slack-Signature": "v0=deadbeef",
    },
    "signature of another body": lambda body: payloads.sign(SECRET, body + "&x=1", now()),
    "signature with another secret": lambda body: payloads.sign("not-the-secret", body, now()),
    "signature missing": lambda body: {"X-Slack-Request-Timestamp": str(now())},
}


@pytest.mark.parametrize("case", list(BAD_HEADERS))
@pytest.mark.parametrize("shape", ["block_actions", "slash command", "event"])
def test_unverified_requests_get_401_and_nothing_else(bot, slack, models, case, shape, caplog):
    if shape == "block_actions":
        body, kind = forged_confirm(), FORM
    elif shape == "slash command":
        body = payloads.slash_command_body("propose forged\nHi", user_id="U1", channel_id="C1")
        kind = FORM
    else:
        event = payloads.reaction_event(
            "reaction_added", user="U2", reaction="+1", channel="C1", ts="1.1"
        )
        body, kind = payloads.event_body(event), "application/json"
    status, reply = raw_post(
        bot.url, body.encode(), {"Content-Type": kind, **BAD_HEADERS[case](body)}
    )
    assert status == 401
    assert "invalid request" in reply
    assert_nothing_happened(bot, slack, models)
    assert all(len(r.getMessage()) < 400 for r in caplog.records)
    assert_an_ordinary_proposal_completes(bot)


@pytest.mark.parametrize(
    ("offset", "admitted"), [(-301, False), (-300, True), (300, True), (301, False)]
)
def test_the_window_is_five_minutes_either_way(offset, admitted):
    sent_at = 1_700_000_000
    guard = RequestGuard(SECRET, 1_048_576, clock=lambda: float(sent_at - offset))
    body = "command=%2Fprompt"
    environ = {"wsgi.input": io.BytesIO(body.encode()), "CONTENT_LENGTH": str(len(body))}
    for name, value in payloads.sign(SECRET, body, sent_at).items():
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    outcome = guard.admit(environ)
    assert (getattr(outcome, "status", "") == "401 Unauthorized") is not admitted
    assert (getattr(outcome, "timestamp", None) == sent_at) is admitted


@pytest.mark.parametrize(
    "timestamp",
    ["+{now}", "{now}.0", " {now}", "{now}_0", "１２３", "-{now}", "0x10", "99999999999999999999"],
)
def test_only_plain_digits_are_a_timestamp(timestamp):
    """Forms int() accepts but Slack never sends are refused before any arithmetic."""
    stamp = timestamp.format(now=now())
    guard = RequestGuard(SECRET, 1_048_576)
    body = b"command=%2Fprompt"
    headers = payloads.sign(SECRET, body.decode(), now())
    environ = {
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": stamp,
        "HTTP_X_SLACK_SIGNATURE": headers["X-Slack-Signature"],
    }
    assert getattr(guard.admit(environ), "status", "") == "401 Unauthorized"


def test_the_error_handler_never_answers_an_unverified_request(bot, slack, models):
    """Past the guard (as if it were missing), Bolt's own check raises on a timestamp of
    ``abc``; the error handler then must neither reply nor call Slack."""
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_TYPE": FORM,
        "HTTP_X_SLACK_REQUEST_TIMESTAMP": "abc",
        "HTTP_X_SLACK_SIGNATURE": "v0=deadbeef",
    }
    body = forged_confirm().encode()
    open_guard = RequestGuard(SECRET, 1_000_000, verify=False)
    app = make_wsgi_app(bot.bot.app, health=lambda: True, guard=open_guard)
    statuses = []
    environ.update({"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))})
    out = b"".join(app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["401 Unauthorized"]
    assert b"invalid request" in out
    assert_nothing_happened(bot, slack, models)


def declare_only(url: str, length: int) -> str:
    """Send the headers of a ``length``-byte POST and a few bytes of body, then read
    the answer: the server must answer without waiting for the rest."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        head = (
            f"POST /slack/events HTTP/1.1\r\nHost: {host}\r\nContent-Type: {FORM}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        )
        conn.sendall(head.encode() + b"payload=")
        return conn.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_a_body_over_the_limit_gets_413_unread(bot, slack, models):
    assert declare_only(bot.url, 1_048_577).split()[1] == "413"
    assert declare_only(bot.url, 5_000_000_000).split()[1] == "413"
    assert_nothing_happened(bot, slack, models)
    assert_an_ordinary_proposal_completes(bot)


class CountingInput:
    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"x" * n


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
def test_a_large_body_is_never_read_whole(declared):
    guard = RequestGuard(SECRET, 1_048_576)
    stream = CountingInput(50_000_000)
    environ = {"wsgi.input": stream}
    if declared:
        environ["CONTENT_LENGTH"] = str(stream.size)
    refusal = guard.admit(environ)
    assert getattr(refusal, "status", "") == "413 Content Too Large"
    assert stream.read_bytes <= 1_048_577


def test_an_unsigned_five_megabyte_post_logs_one_short_line(bot, slack, models, caplog):
    caplog.set_level(logging.DEBUG)
    body = ("payload=" + "A" * 900_000).encode()
    status, _ = raw_post(bot.url, body, {"Content-Type": FORM, "X-Slack-Signature": "v0=x"})
    assert status == 401
    assert declare_only(bot.url, 5_000_000).split()[1] == "413"
    assert_nothing_happened(bot, slack, models)
    assert caplog.records
    assert max(len(r.getMessage()) for r in caplog.records) < 400


def test_tokens_and_secrets_are_redacted_and_lines_clipped():
    line = 'token=abc123&team_id=T1 xoxb-1-2-secret sk-abcdefghijkl {"api_key": "k1"}'
    cleaned = redact(line)
    for secret in ("abc123", "xoxb-1-2-secret", "sk-abcdefghijkl", "k1"):
        assert secret not in cleaned
    assert "team_id=T1" in cleaned
    assert len(redact("A" * 10_000)) < 2100


def test_a_refused_request_logs_a_redacted_prefix(caplog):
    caplog.set_level(logging.INFO)
    guard = RequestGuard(SECRET, 1_048_576)
    body = b"token=legacy-verification-token&text=" + b"B" * 100_000
    environ = {"wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
    guard.admit(environ)
    (record,) = caplog.records
    assert "legacy-verification-token" not in record.getMessage()
    assert len(record.getMessage()) < 250


# -- replays ---------------------------------------------------------------------


def test_a_replayed_slash_command_acts_once(running, slack, models):
    bot = running()
    body = payloads.slash_command_body("propose twice\nHi", user_id="U1", channel_id="C1")
    stamp = now()
    first = bot.post(body, FORM, timestamp=stamp)
    assert first[0] == 200 and "Started" in first[1]
    bot.wait_run(1)
    calls = len(models.requests)
    again = bot.post(body, FORM, timestamp=stamp)
    assert again == first
    settle(bot)
    assert len(bot.store.recent_runs(10)) == 1 and len(models.requests) == calls
    # Durable: a restarted bot on the same database still knows it.
    bot.close()
    restarted = running()
    assert restarted.post(body, FORM, timestamp=stamp) == first
    settle(restarted)
    assert len(restarted.store.recent_runs(10)) == 1 and len(models.requests) == calls
    # Signed again (a new timestamp), it is a new request: Slack never does that.
    assert restarted.post(body, FORM, timestamp=stamp + 1)[0] == 200
    restarted.wait_run(2)


def test_a_replayed_modal_submission_acts_once(bot, slack, models):
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    values = {
        "name": {"name": {"type": "plain_text_input", "value": "modal-replay"}},
        "template": {"template": {"type": "plain_text_input", "value": "Hi"}},
    }
    body = payloads.view_submission_body(call.params["view"], values, user_id="U1")
    stamp = now()
    assert bot.post(body, FORM, timestamp=stamp)[0] == 200
    bot.wait_run(1)
    assert bot.post(body, FORM, timestamp=stamp)[0] == 200
    settle(bot)
    assert [s.run.id for s in bot.store.recent_runs(10)] == [1]


def test_seen_requests_expire_after_the_window(bot):
    seen = bot.store.seen_requests
    assert seen.claim("v0=a", 1000, now=1000)
    assert not seen.claim("v0=a", 1000, now=1000 + KEEP_SECONDS)
    assert seen.claim("v0=b", 2000, now=2000 + KEEP_SECONDS)  # sweeps the old one
    assert seen.count() == 1
