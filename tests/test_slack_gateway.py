"""The one Slack gateway against the Slack stand-in over real HTTP, with Slack's faults
injected: every fault of the delivery issue's table is retried, a post whose answer
was lost is found by its metadata rather than made twice, and refusals are ours."""

import threading

import pytest
from slack_sdk import WebClient

from handlers.slack_gateway import ChannelPace, GatewaySettings, SlackGateway
from promptbot.errors import PublishError, SlackUnavailable
from tests.harness import TOKEN, wait_until

TAG = {"event_type": "promptbot_candidate", "event_payload": {"candidate": 7, "part": 0}}


def gateway(slack, *, deadline=30.0, timeout=1, url=None):
    client = WebClient(
        token=TOKEN, base_url=url or slack.api_url, timeout=timeout, retry_handlers=[]
    )
    # No pacing here: these tests are about faults; the pace has its own tests.
    return SlackGateway(client, GatewaySettings(deadline, posts_per_second=0, post_burst=1))


def thread_with_parent(slack, gw):
    return gw.post_message("C1", text="parent")


def tagged_posts(slack, channel="C1"):
    return [m for m in slack.messages(channel) if m["metadata"] == TAG]


@pytest.mark.parametrize(
    "fault",
    [
        {"times": 5, "retry_after": 0},  # 429 five times in a row
        {"error": "ratelimited"},  # HTTP 200 ok:false
        {"status": 503},  # a 5xx
        {"status": 500, "times": 2},
        {"drop": True},  # the connection closes, nothing posted
        {"drop": True, "apply": True},  # Slack posted, then the connection dropped
        {"delay": 2.5, "apply": True},  # Slack posted, answered after the client's timeout
    ],
    ids=["429x5", "ok-false-ratelimited", "503", "500x2", "dropped", "dropped-after-post", "late"],
)
def test_every_fault_is_retried_and_the_post_lands_once(slack, fault):
    gw = gateway(slack)
    parent = thread_with_parent(slack, gw)
    slack.fail_next("chat.postMessage", **fault)
    ts = gw.post_message("C1", text="answer", thread_ts=parent, metadata=TAG)
    (post,) = tagged_posts(slack)
    assert post["ts"] == ts and post["thread_ts"] == parent
    assert slack.pending_failures("chat.postMessage") == 0


def test_a_lost_answer_is_looked_for_before_posting_again(slack):
    gw = gateway(slack)
    parent = thread_with_parent(slack, gw)
    slack.fail_next("chat.postMessage", delay=2.5, apply=True)
    gw.post_message("C1", text="answer", thread_ts=parent, metadata=TAG)
    lookups = slack.calls_to("conversations.replies")
    assert lookups, "a timed-out post must be looked for"
    assert lookups[0].params["include_all_metadata"] in ("1", "true", "True", True)
    # The post was found, so chat.postMessage was not called a third time.
    assert len(slack.calls_to("chat.postMessage")) == 2


def test_look_first_finds_an_earlier_post_and_posts_nothing(slack):
    gw = gateway(slack)
    parent = thread_with_parent(slack, gw)
    first = gw.post_message("C1", text="answer", thread_ts=parent, metadata=TAG)
    again = gw.post_message("C1", text="answer", thread_ts=parent, metadata=TAG, look_first=True)
    assert again == first and len(tagged_posts(slack)) == 1
    top = {"event_type": "promptbot_run", "event_payload": {"run": 3}}
    root = gw.post_message("C1", text="parent", metadata=top)
    assert gw.post_message("C1", text="parent", metadata=top, look_first=True, since=0) == root


def test_connection_refused_for_a_while_is_waited_out(slack):
    gw = gateway(slack)
    slack.go_offline(1.5)
    ts = gw.post_message("C1", text="hello", metadata=TAG)
    assert [m["ts"] for m in tagged_posts(slack)] == [ts]


def test_past_the_deadline_the_call_is_left_for_later(slack):
    gw = gateway(slack, deadline=0.3)
    slack.fail_next("chat.postMessage", times=50, status=503)
    with pytest.raises(SlackUnavailable) as caught:
        gw.post_message("C1", text="hello")
    assert caught.value.maybe_posted  # a 5xx may have posted
    unreachable = gateway(slack, deadline=0, url="http://127.0.0.1:9/api/")
    with pytest.raises(SlackUnavailable) as refused:
        unreachable.call("auth_test")
    assert not refused.value.maybe_posted  # nothing reached Slack


def test_a_refusal_is_not_retried_and_names_slacks_reason(slack):
    gw = gateway(slack)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(PublishError, match="channel_not_found") as caught:
        gw.post_message("C1", text="hello")
    assert not isinstance(caught.value, SlackUnavailable)
    assert len(slack.calls_to("chat.postMessage")) == 1


def test_already_reacted_counts_as_added(slack):
    gw = gateway(slack)
    ts = gw.post_message("C1", text="rate me")
    gw.add_reactions("C1", ts, ["+1"])
    gw.add_reactions("C1", ts, ["+1", "-1"])  # +1 is there already
    assert set(slack.find_message("C1", ts)["reactions"]) == {"+1", "-1"}
    assert any(c.error == "already_reacted" for c in slack.calls_to("reactions.add"))


def test_metadata_is_returned_only_when_asked_for(slack):
    gw = gateway(slack)
    parent = thread_with_parent(slack, gw)
    gw.post_message("C1", text="answer", thread_ts=parent, metadata=TAG)
    plain = gw.call("conversations_replies", channel="C1", ts=parent)
    assert all("metadata" not in m for m in plain["messages"])
    full = gw.call("conversations_replies", channel="C1", ts=parent, include_all_metadata=True)
    assert [m["metadata"] for m in full["messages"] if "metadata" in m] == [TAG]


def test_the_standin_limits_each_channel_and_paced_posts_all_land(slack):
    slack.rate_limit(per_second=0.1, burst=2)
    client = WebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])
    unpaced = SlackGateway(client, GatewaySettings(0, posts_per_second=0, post_burst=1))
    unpaced.post_message("C1", text="one")
    unpaced.post_message("C1", text="two")
    with pytest.raises(SlackUnavailable, match="ratelimited"):
        unpaced.post_message("C1", text="three")  # over the burst, inside 10 s
    unpaced.post_message("C2", text="another channel")  # has its own allowance
    slack.reset()
    slack.rate_limit(per_second=5, burst=2)
    paced = SlackGateway(client, GatewaySettings(30, posts_per_second=4, post_burst=2))
    for n in range(6):
        paced.post_message("C3", text=f"paced {n}")
    assert [m["text"] for m in slack.messages("C3")] == [f"paced {n}" for n in range(6)]


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds


def test_channel_pace_lets_a_burst_through_then_one_per_interval():
    clock = FakeClock()
    pace = ChannelPace(per_second=1.0, burst=3, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        pace.wait("C1")
    assert clock.slept == [1.0, 1.0]  # three at once, then one a second
    pace.wait("C2")  # another channel has its own bucket
    assert clock.slept == [1.0, 1.0]


def test_channel_pace_queues_concurrent_callers_in_turn():
    clock = FakeClock()
    pace = ChannelPace(per_second=2.0, burst=1, clock=clock, sleep=lambda s: clock.slept.append(s))
    for _ in range(4):  # reserved at the same instant, as by four threads
        pace.wait("C1")
    assert clock.slept == [0.5, 1.0, 1.5]


def test_a_stopped_gateway_gives_up_at_once_instead_of_at_its_deadline(slack):
    # A process stopping while Slack refuses a post: the retrying call gives up now
    # (the step waits for the next process's resumer), so no thread holds the exit.
    gw = gateway(slack, deadline=600.0)
    slack.fail_next("chat.postMessage", times=10_000, status=503)
    failed: list[Exception] = []

    def post() -> None:
        try:
            gw.post_message("C1", text="answer", metadata=TAG)
        except SlackUnavailable as error:
            failed.append(error)

    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    wait_until(lambda: len(slack.calls_to("chat.postMessage")) >= 2, what="a retry")
    gw.stop()
    poster.join(10)  # not the deadline's ten minutes
    assert not poster.is_alive() and len(failed) == 1
