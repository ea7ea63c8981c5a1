"""The Slack gateway's retry schedule, lookups and answers (issue 16), against the Slack
stand-in over real HTTP; time is a fake clock, so the waits are read, not slept."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from handlers.slack_gateway import LATER, GatewaySettings, SlackGateway
from promptbot.errors import PublishError, SlackUnavailable
from tests.harness import TOKEN

TAG = {"event_type": "promptbot_candidate", "event_payload": {"candidate": 7, "part": 0}}


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


def gateway(slack, deadline=600.0, url=None):
    time = FakeTime()
    client = WebClient(token=TOKEN, base_url=url or slack.api_url, timeout=2, retry_handlers=[])
    settings = GatewaySettings(deadline, posts_per_second=0, post_burst=1)
    return SlackGateway(client, settings, clock=time.clock, sleep=time.sleep), time


def within_jitter(waits, expected):
    assert len(waits) == len(expected), waits
    for wait, base in zip(waits, expected, strict=True):
        assert 0.8 * base <= wait <= 1.2 * base, (waits, expected)


def test_retries_back_off_doubling_to_a_cap(slack):
    gw, time = gateway(slack)
    slack.fail_next("chat.postMessage", times=7, status=503)
    gw.post_message("C1", text="hello")
    within_jitter(time.waits, [0.5, 1, 2, 4, 5, 5, 5])
    assert len(slack.calls_to("chat.postMessage")) == 8


def test_slacks_retry_after_is_waited_instead_of_the_backoff(slack):
    gw, time = gateway(slack)
    slack.fail_next("chat.postMessage", times=2, retry_after=3)
    gw.post_message("C1", text="hello")
    within_jitter(time.waits, [3, 3])


def test_the_last_wait_ends_at_the_deadline_then_the_call_is_left_for_later(slack):
    gw, time = gateway(slack, deadline=4.0)
    slack.fail_next("chat.postMessage", times=50, status=503)
    with pytest.raises(SlackUnavailable):
        gw.post_message("C1", text="hello")
    assert sum(time.waits) == pytest.approx(4.0)
    within_jitter(time.waits[:3], [0.5, 1, 2])
    assert time.now == pytest.approx(4.0)


def test_a_per_call_deadline_overrides_the_settings(slack):
    gw, time = gateway(slack, deadline=600.0)
    slack.fail_next("auth.test", times=50, status=503)
    with pytest.raises(SlackUnavailable):
        gw.call("auth_test", deadline=1.0)
    assert sum(time.waits) == pytest.approx(1.0)


@pytest.mark.parametrize("reason", sorted(LATER))
def test_slacks_words_for_not_now_are_retried(slack, reason):
    gw, time = gateway(slack)
    slack.fail_next("chat.postMessage", error=reason)
    ts = gw.post_message("C1", text="hello")
    assert [m["ts"] for m in slack.messages("C1")] == [ts]
    assert len(time.waits) == 1


def test_other_refusals_of_a_reaction_are_raised(slack):
    gw, _ = gateway(slack)
    ts = gw.post_message("C1", text="rate me")
    slack.fail_next("reactions.add", error="invalid_name")
    with pytest.raises(PublishError, match="invalid_name"):
        gw.add_reactions("C1", ts, ["nope", "+1"])
    assert "+1" not in (slack.find_message("C1", ts).get("reactions") or {})


def test_posts_never_unfurl(slack):
    gw, _ = gateway(slack)
    gw.post_message("C1", text="see https://example.com")
    (call,) = slack.calls_to("chat.postMessage")
    assert str(call.params["unfurl_links"]).lower() in ("false", "0")
    assert str(call.params["unfurl_media"]).lower() in ("false", "0")


def test_a_lookup_matches_event_type_and_every_payload_field(slack):
    gw, _ = gateway(slack)
    no_part = {"event_type": "promptbot_candidate", "event_payload": {"candidate": 7}}
    first = gw.post_message("C1", text="a", metadata=no_part)  # part 0 unless said
    gw.post_message("C1", text="b", metadata={**TAG, "event_payload": {"candidate": 7, "part": 1}})
    gw.post_message("C1", text="c", metadata={**TAG, "event_type": "promptbot_run"})
    gw.post_message("C1", text="d", metadata={**TAG, "event_payload": {"candidate": 8, "part": 0}})
    gw.post_message("C1", text="e")
    last = gw.post_message("C1", text="f", metadata=TAG)
    assert gw.find_posts("C1", TAG) == [first, last]
    assert gw.find_posts("C1", TAG, since=float(first)) == [last]


def test_a_lookup_reads_every_page_of_history(slack):
    gw, _ = gateway(slack)
    tagged = [gw.post_message("C1", text=str(n), metadata=TAG) for n in range(3)]
    for n in range(4):
        slack.add_user_message("C1", f"chatter {n}", user="U1")
    slack.paging(2)
    assert gw.find_posts("C1", TAG) == tagged
    assert len(slack.calls_to("conversations.history")) == 4


def test_a_lookup_reads_every_page_of_a_thread(slack):
    gw, _ = gateway(slack)
    parent = gw.post_message("C1", text="run")
    for n in range(4):
        slack.add_user_message("C1", f"chatter {n}", user="U1", thread_ts=parent)
    tagged = gw.post_message("C1", text="late", metadata=TAG, thread_ts=parent)
    slack.paging(2)
    assert gw.find_posts("C1", TAG, thread_ts=parent) == [tagged]
    assert len(slack.calls_to("conversations.replies")) == 3


def test_a_history_with_more_pages_but_no_cursor_is_not_trusted(slack):
    gw, _ = gateway(slack)
    for n in range(3):
        gw.post_message("C1", text=str(n), metadata=TAG)
    slack.paging(2, cursors=False)
    with pytest.raises(SlackUnavailable, match="no cursor"):
        gw.find_posts("C1", TAG)


def test_a_direct_message_opens_the_conversation_and_posts(slack):
    gw, _ = gateway(slack)
    ts = gw.direct_message("U7", "hello")
    (opened,) = slack.calls_to("conversations.open")
    assert opened.params["users"] == "U7"
    (post,) = slack.calls_to("chat.postMessage")
    assert post.params["text"] == "hello"
    assert slack.find_message(post.params["channel"], ts)["text"] == "hello"


def test_a_response_url_answer_is_ephemeral_and_refusals_are_ours(slack):
    gw, _ = gateway(slack)
    gw.respond(slack.response_url("cmd"), "only you see this")
    (answer,) = slack.responses
    assert answer.body == {
        "text": "only you see this",
        "response_type": "ephemeral",
        "replace_original": False,
    }
    with pytest.raises(PublishError, match="response_url answered 404"):
        gw.respond(slack.root_url + "/gone", "x")
    with pytest.raises(SlackUnavailable):
        gw.respond("http://127.0.0.1:9/respond/x", "x")
