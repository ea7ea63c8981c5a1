"""Ratings and comments from signed events, stored exactly once."""

import time

import pytest

from promptbot.standins import payloads
from tests.harness import SECRET, settle, wait_until, write_lock


def proposed_run(bot, models="alpha,beta"):
    bot.command(f"propose rate-me --models {models}\nHi")
    run = bot.wait_run(1)
    return run, bot.candidate_posts(run.id)


def ratings(bot):
    return [(r.user_id, r.scale, r.emoji, r.score) for r in bot.store.ratings()]


def test_rating_added_changed_removed(bot):
    _run, posts = proposed_run(bot)
    ts = posts[0]["ts"]
    assert bot.react(ts, "+1", "U2") == 200
    wait_until(lambda: ratings(bot) == [("U2", "approval", "+1", 1.0)], what="a 👍")
    bot.react(ts, "-1", "U2")
    wait_until(lambda: ratings(bot) == [("U2", "approval", "-1", 0.0)], what="changed to 👎")
    bot.react(ts, "four", "U2")
    wait_until(lambda: len(ratings(bot)) == 2, what="a second scale")
    bot.react(ts, "-1", "U2", added=False)
    bot.react(ts, "+1", "U2", added=False)
    bot.react(ts, "four", "U2", added=False)
    wait_until(lambda: ratings(bot) == [], what="all removed")


@pytest.mark.parametrize("reaction", ["+1::skin-tone-3", "thumbsup", "thumbsup::skin-tone-5"])
def test_skin_tones_and_aliases_count_as_the_scale_name(bot, reaction):
    _, posts = proposed_run(bot)
    bot.react(posts[1]["ts"], reaction, "U2")
    wait_until(lambda: ratings(bot) == [("U2", "approval", "+1", 1.0)], what=reaction)


def test_redelivered_event_counts_once(bot):
    _, posts = proposed_run(bot)
    event = payloads.reaction_event(
        "reaction_added", user="U2", reaction="+1", channel="C1", ts=posts[0]["ts"]
    )
    for attempt in range(4):
        headers = {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
        assert (
            bot.event(event, event_id="Ev-same", extra_headers=headers if attempt else None) == 200
        )
    wait_until(lambda: bot.store.event_seen("Ev-same"), what="the event")
    settle(bot)
    assert ratings(bot) == [("U2", "approval", "+1", 1.0)]
    # A new event id for the same click (a later real change) is still handled.
    bot.react(posts[0]["ts"], "+1", "U2", added=False)
    wait_until(lambda: ratings(bot) == [], what="removal")


def test_removal_arriving_before_add_leaves_no_vote(bot):
    _, posts = proposed_run(bot)
    ts = posts[0]["ts"]
    bot.react(ts, "+1", "U2", added=False, event_ts="1800000000.000002", event_id="Ev-rm")
    wait_until(lambda: bot.store.event_seen("Ev-rm"), what="the removal")
    bot.react(ts, "+1", "U2", event_ts="1800000000.000001", event_id="Ev-add")
    wait_until(lambda: bot.store.event_seen("Ev-add"), what="the late add")
    settle(bot)
    assert ratings(bot) == []


def test_ignored_reactions_are_not_stored(bot):
    run, posts = proposed_run(bot)
    bot.react(posts[0]["ts"], "tada", "U2", event_id="Ev-unknown-emoji")
    bot.react(run.thread_ts, "+1", "U2", event_id="Ev-parent")
    bot.react("1234.5678", "+1", "U2", event_id="Ev-elsewhere")
    bot.react(posts[0]["ts"], "+1", "UBOT", event_id="Ev-self")
    settle(bot)
    assert ratings(bot) == []
    assert not bot.store.event_seen("Ev-unknown-emoji")


def test_bad_signatures_are_rejected_and_nothing_stored(bot):
    _, posts = proposed_run(bot)
    body = payloads.event_body(
        payloads.reaction_event(
            "reaction_added", user="U2", reaction="+1", channel="C1", ts=posts[0]["ts"]
        ),
        event_id="Ev-forged",
    )
    status, _ = payloads.post_signed(
        bot.url + "/slack/events", body, "wrong-secret", content_type="application/json"
    )
    assert status == 401
    old = int(time.time()) - 6 * 60
    status, _ = payloads.post_signed(
        bot.url + "/slack/events", body, SECRET, content_type="application/json", timestamp=old
    )
    assert status == 401
    command = payloads.slash_command_body("propose forged\nHi", user_id="U1", channel_id="C1")
    status, _ = payloads.post_signed(
        bot.url + "/slack/events",
        command,
        "wrong-secret",
        content_type="application/x-www-form-urlencoded",
    )
    assert status == 401
    settle(bot)
    assert ratings(bot) == []
    assert not bot.store.event_seen("Ev-forged")
    assert len(bot.store.recent_runs(10)) == 1


def test_thread_replies_become_comments_once(bot):
    run, _ = proposed_run(bot)
    reply = payloads.message_event(
        user="U3",
        text="B reads better",
        channel="C1",
        ts="1800000001.000001",
        thread_ts=run.thread_ts,
    )
    bot.event(reply, event_id="Ev-c1")
    bot.event(reply, event_id="Ev-c1", extra_headers={"X-Slack-Retry-Num": "1"})
    bot.event(
        payloads.message_event(
            user="U3", text="not in a thread", channel="C1", ts="1800000002.000001"
        )
    )
    bot.event(
        payloads.message_event(
            user="U4",
            text="bot talk",
            channel="C1",
            ts="1800000003.000001",
            thread_ts=run.thread_ts,
            bot_id="B999",
        )
    )
    wait_until(lambda: bot.store.comments(run.id), what="the comment")
    settle(bot)
    assert [(c["user_id"], c["text"]) for c in bot.store.comments(run.id)] == [
        ("U3", "B reads better")
    ]


def test_healthz(bot):
    import urllib.request

    with urllib.request.urlopen(bot.url + "/healthz") as response:
        assert response.status == 200


def test_a_burst_handled_as_one_batch_keeps_each_reviewers_last_rating(bot, tmp_path):
    """Events that wait (the database locked) are applied together, their messages and
    reviewers looked up first: each reviewer's last state wins, as one by one, and an
    event older than a stored one is stale."""
    run, posts = proposed_run(bot)
    first, second = posts[0]["ts"], posts[1]["ts"]
    with write_lock(tmp_path / "promptbot.db"):
        # The worker takes this one and waits on the lock; the burst gathers behind it.
        assert bot.react(first, "+1", "U9", event_ts="1800000000.000005") == 200
        time.sleep(0.2)
        burst = [
            (first, "+1", "U9", False, "1800000000.000001"),  # older than U9's add: stale
            (first, "+1", "U2", True, "1800000000.000010"),
            (first, "-1", "U2", True, "1800000000.000011"),
            (first, "+1", "U2", False, "1800000000.000012"),  # U2: 👎 left
            (second, "+1", "U3", True, "1800000000.000013"),
            (second, "+1", "U3", False, "1800000000.000014"),  # U3: nothing left
            (second, "-1", "U4", True, "1800000000.000015"),
            (first, "+1", "U4", True, "1800000000.000016"),  # U4: one on each candidate
            (run.thread_ts, "+1", "U5", True, "1800000000.000017"),  # the thread's parent
            ("1.000001", "+1", "U6", True, "1800000000.000018"),  # not a message of ours
        ]
        for ts, emoji, user, added, event_ts in burst:
            assert bot.react(ts, emoji, user, added=added, event_ts=event_ts) == 200
    settle(bot)
    candidate = {ts: bot.store.find_reacted("C1", ts).candidate_id for ts in (first, second)}
    got = {(r.candidate_id, r.user_id): r.emoji for r in bot.store.ratings()}
    assert got == {
        (candidate[first], "U9"): "+1",
        (candidate[first], "U2"): "-1",
        (candidate[first], "U4"): "+1",
        (candidate[second], "U4"): "-1",
    }


def test_a_rating_on_an_answer_shown_before_its_post_is_recorded_is_kept(bot, slack):
    # Slack shows a post before its answer reaches the bot. A reaction in that gap is
    # about a message the bot has no record of yet: it waits until the post is recorded
    # and counts, rather than being acked and dropped as a reaction on someone else's.
    slack.fail_next("chat.postMessage", delay=1.5, apply=True, after=1)  # the answer's post
    bot.command("propose gap --models alpha\nHi")

    def shown():
        return [m for m in slack.messages("C1") if m.get("thread_ts") not in (None, m["ts"])]

    (answer,) = wait_until(shown, what="the answer shown in Slack")
    (candidate,) = bot.store.candidates(1)
    assert bot.react(answer["ts"], "+1", "U2") == 200
    # Acked while the bot still waits for Slack's answer to its post.
    assert bot.store.candidate_message_ts(candidate.id) == []
    wait_until(lambda: ratings(bot) == [("U2", "approval", "+1", 1.0)], what="the rating")
    assert bot.store.candidate_message_ts(candidate.id) == [answer["ts"]]


def test_a_reaction_on_an_older_message_does_not_wait_for_a_post(bot, slack):
    # Only a message no older than the answers in flight can be one of them: a 👍 on
    # an earlier message of the channel is ignored at once, post or no post.
    slack.fail_next("chat.postMessage", delay=3, apply=True, after=1)
    bot.command("propose gap --models alpha\nHi")
    wait_until(lambda: bot.store.candidates(1)[0].status == "posting", what="the post in flight")
    bot.react("1000000000.000100", "+1", "U2")
    settle(bot)  # the inbox is idle: the event was not left waiting for the post
    assert ratings(bot) == []
    assert bot.store.candidates(1)[0].status == "posting"  # and the post is still in flight


def test_ratings_elsewhere_do_not_wait_for_a_post_still_being_recorded(bot, slack):
    # A 👍 on an answer Slack shows before the bot has recorded it waits for the record;
    # a 👍 on an answer of another run, arriving after it, is stored meanwhile.
    _run, earlier = proposed_run(bot, models="alpha")
    slack.fail_next("chat.postMessage", delay=5, apply=True, after=1)  # the new answer's post
    bot.command("propose gap --models alpha\nHi")

    def shown():
        known = {post["ts"] for post in earlier}
        replies = [m for m in slack.messages("C1") if m.get("thread_ts") not in (None, m["ts"])]
        return [m for m in replies if m["ts"] not in known]

    (answer,) = wait_until(shown, what="the new answer shown in Slack")
    assert bot.react(answer["ts"], "+1", "U2") == 200
    assert bot.react(earlier[0]["ts"], "-1", "U3") == 200
    wait_until(lambda: ("U3", "approval", "-1", 0.0) in ratings(bot), what="the other rating")
    (waiting,) = bot.store.candidates(2)
    assert waiting.status == "posting"  # stored while the new answer's post is in flight
    wait_until(lambda: len(ratings(bot)) == 2, what="the rating that waited for its post")
    assert ("U2", "approval", "+1", 1.0) in ratings(bot)
