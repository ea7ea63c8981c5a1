"""The Slack side of the digest, against the Slack stand-in over real HTTP."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from handlers.digest_publisher import DIGEST_EVENT, SlackDigestPublisher
from handlers.slack_gateway import GatewaySettings, SlackGateway
from promptbot.config.settings import DigestSettings
from promptbot.errors import PublishError, SlackUnavailable
from promptbot.jobs.scheduler import DigestJob, Status
from promptbot.render.blocks import Message, section
from storage import Store
from tests.harness import TOKEN

MONDAY = datetime(2026, 11, 23, 9, tzinfo=UTC)
KEY = "2026-11-23T09:00"
CHANNELS = ["C1", "C2"]


@pytest.fixture
def publisher(slack):
    client = WebClient(token=TOKEN, base_url=slack.api_url, retry_handlers=[])
    return SlackDigestPublisher(SlackGateway(client, GatewaySettings(deadline=0)))


def compose(period):
    return Message(f"Digest {period.key}", [section(f"*Digest* {period.key}")])


def make_job(store, publisher, owner="bot-1"):
    config = DigestSettings(channels=CHANNELS)
    return DigestJob(store.digest_log, publisher, compose, config, owner)


def test_post_is_tagged_and_found_again(slack, publisher):
    ts = publisher.post_digest("C1", KEY, Message("Digest", [section("*Digest*")]))
    [call] = slack.calls_to("chat.postMessage")
    assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False
    [message] = slack.messages("C1")
    assert message["ts"] == ts
    assert message["metadata"] == {"event_type": DIGEST_EVENT, "event_payload": {"period": KEY}}
    since = datetime.now(UTC) - timedelta(hours=1)
    assert publisher.find_digest("C1", KEY, since) == ts
    assert publisher.find_digest("C1", "2026-11-30T09:00", since) is None
    assert publisher.find_digest("C2", KEY, since) is None
    lookup = slack.calls_to("conversations.history")[0].params
    assert lookup["include_all_metadata"] in (True, "true", "1", 1), lookup
    assert float(lookup["oldest"]) == pytest.approx(since.timestamp())


def test_slack_errors_become_publish_errors(slack, publisher):
    slack.fail_next("chat.postMessage", error="channel_not_found")
    with pytest.raises(PublishError, match="channel_not_found"):
        publisher.post_digest("C1", KEY, Message("x", []))
    slack.fail_next("conversations.history", error="not_in_channel")
    with pytest.raises(PublishError, match="not_in_channel"):
        publisher.find_digest("C1", KEY, MONDAY)
    client = WebClient(token=TOKEN, base_url="http://127.0.0.1:9/api/", retry_handlers=[])
    unreachable = SlackDigestPublisher(SlackGateway(client, GatewaySettings(deadline=0)))
    with pytest.raises(SlackUnavailable, match="refused"):
        unreachable.post_digest("C1", KEY, Message("x", []))


class Crash(Exception):
    """Stands for the process dying at that point."""


class CrashAfterPost:
    def __init__(self, inner):
        self.inner = inner

    def post_digest(self, channel, period_key, message):
        self.inner.post_digest(channel, period_key, message)
        raise Crash("died before recording the post")

    def find_digest(self, channel, period_key, since):
        return self.inner.find_digest(channel, period_key, since)


def test_restart_after_a_crash_finds_the_post_in_slack(tmp_path, slack, publisher):
    with pytest.raises(Crash):
        make_job(Store(tmp_path / "t.db"), CrashAfterPost(publisher)).run_due(MONDAY)
    restarted = make_job(Store(tmp_path / "t.db"), publisher, owner="bot-restarted")
    outcome = restarted.run_due(MONDAY + timedelta(minutes=10))
    assert outcome.status is Status.POSTED
    assert [m["ts"] for m in slack.messages("C1")] == [outcome.posts["C1"]]
    assert len(slack.messages("C2")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2  # C1 once (then found), C2 once


def test_a_restart_finds_its_post_beyond_the_first_page_of_history(tmp_path, slack, publisher):
    with pytest.raises(Crash):
        make_job(Store(tmp_path / "t.db"), CrashAfterPost(publisher)).run_due(MONDAY)
    (posted,) = slack.messages("C1")
    for n in range(5):  # the team talks on; the digest drops to the third page
        slack.add_user_message("C1", f"chatter {n}", user="U1")
    slack.paging(2)
    restarted = make_job(Store(tmp_path / "t.db"), publisher, owner="bot-restarted")
    outcome = restarted.run_due(MONDAY + timedelta(minutes=10))
    assert outcome.status is Status.POSTED
    assert outcome.posts["C1"] == posted["ts"]
    assert [m["ts"] for m in slack.messages("C1") if m["bot_id"]] == [posted["ts"]]
    assert len(slack.calls_to("conversations.history")) >= 3


def test_two_bots_on_one_database_post_once(tmp_path, slack, publisher):
    jobs = [make_job(Store(tmp_path / "t.db"), publisher, owner=f"bot-{n}") for n in (1, 2)]
    barrier, outcomes = threading.Barrier(2), []

    def race(job):
        barrier.wait()
        outcomes.append(job.run_due(MONDAY + timedelta(minutes=1)).status)

    threads = [threading.Thread(target=race, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == sorted([Status.POSTED, Status.CLAIMED_ELSEWHERE]) or (
        outcomes.count(Status.POSTED) == 1 and Status.ALREADY_POSTED in outcomes
    )
    assert len(slack.messages("C1")) == len(slack.messages("C2")) == 1
