"""Behaviour `make mutate` found unpinned (issue 16): the exactly-once digest, ratings
from reaction events, run leases and posting steps."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from promptbot.jobs.scheduler import DigestJob, Status
from tests.factories import APPROVAL, posted_run
from tests.test_schedule import FakeSlack, compose
from tests.test_schedule import settings as schedule_settings

# -- the exactly-once digest -----------------------------------------------------------

MONDAY = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = MONDAY + timedelta(days=7)


def test_finish_touches_only_its_own_period(store):
    log = store.digest_log
    for key, when in (("early", MONDAY), ("late", LATER)):
        assert log.claim(key, when, "bot-1", when, when + timedelta(minutes=5))[0] == "claimed"
    assert log.finish("late", "bot-1", LATER) is True
    early = log.period("early")
    assert early is not None and early.status == "posting" and early.posted_at is None
    assert log.finish("late", "bot-1", LATER) is False  # already posted: nothing to finish
    assert log.finish("early", "bot-2", LATER) is False  # not bot-2's claim
    assert log.period("early").status == "posting"


def test_skip_never_overwrites_a_claim_and_says_whether_it_recorded(store):
    log = store.digest_log
    assert log.claim("p1", MONDAY, "bot-1", MONDAY, MONDAY + timedelta(minutes=5))[0]
    assert log.skip("p1", MONDAY, "bot-2", LATER) is False
    claimed = log.period("p1")
    assert claimed.status == "posting" and claimed.claimed_by == "bot-1"
    assert log.skip("p2", LATER, "bot-2", LATER) is True
    assert log.period("p2").status == "skipped"
    assert log.skip("p2", LATER, "bot-2", LATER) is False


def test_release_and_begin_channel_touch_only_their_own_period(store):
    log = store.digest_log
    lease = MONDAY + timedelta(minutes=5)
    for key in ("a", "b"):
        log.claim(key, MONDAY, "bot-1", MONDAY, lease)
    log.release("a", "bot-1", MONDAY)
    assert log.period("a").lease_until == MONDAY and log.period("b").lease_until == lease
    assert log.begin_channel("b", "C1", "bot-1", MONDAY, LATER) == "fresh"
    assert log.period("a").lease_until == MONDAY and log.period("b").lease_until == LATER
    assert log.begin_channel("b", "C1", "bot-1", MONDAY, LATER) == "uncertain"
    assert log.begin_channel("a", "C1", "bot-1", MONDAY, LATER) == "fresh"


def test_a_worker_taken_over_before_finishing_does_not_report_posted(store):
    log = store.digest_log
    slack = FakeSlack()

    def post_then_lose(channel, period_key, message):
        ts = FakeSlack.post_digest(slack, channel, period_key, message)
        if channel == "C2":  # the last channel; meanwhile bot-2 decides bot-1 is gone
            later = MONDAY + timedelta(hours=1)
            assert log.claim(period_key, MONDAY, "bot-2", later, later + timedelta(minutes=5))
        return ts

    slack.post_digest = post_then_lose  # type: ignore[method-assign]
    job = DigestJob(log, slack, compose, schedule_settings(), "bot-1")
    outcome = job.run_due(MONDAY)
    assert outcome.status is Status.CLAIMED_ELSEWHERE
    assert log.period("2026-11-23T09:00").status == "posting"  # bot-2 finishes it
    assert DigestJob(log, slack, compose, schedule_settings(), "bot-2").run_due(
        MONDAY + timedelta(hours=1)
    ).status in (Status.CLAIMED_ELSEWHERE, Status.POSTED)
    assert slack.keys("C1") == slack.keys("C2") == ["2026-11-23T09:00"]


def test_a_slow_post_to_several_channels_keeps_its_lease_from_a_waiting_worker(store):
    """The lease is renewed before each channel, so a second worker that comes after
    the first lease would have expired, while the first is still posting, waits."""
    log, lease = store.digest_log, timedelta(seconds=0.4)
    channels = ["C1", "C2", "C3"]
    slack = FakeSlack()
    slack.delay = 0.25  # real time: the job's clock moves on while it posts
    second = DigestJob(log, slack, compose, schedule_settings(channels=channels), "bot-2")
    attempts = []

    def post(channel, period_key, message):
        if channel == "C3":  # 0.5 s in at least: the first lease (0.4 s) is over
            attempts.append(second.run_due(MONDAY + timedelta(seconds=0.6)))
        return FakeSlack.post_digest(slack, channel, period_key, message)

    slack.post_digest = post  # type: ignore[method-assign]
    first = DigestJob(
        log, slack, compose, schedule_settings(channels=channels), "bot-1", lease=lease
    )
    assert first.run_due(MONDAY).status is Status.POSTED
    assert [a.status for a in attempts] == [Status.CLAIMED_ELSEWHERE]
    assert all(slack.keys(c) == ["2026-11-23T09:00"] for c in channels)
    assert log.period("2026-11-23T09:00").claimed_by == "bot-1"


# -- ratings from reaction events ------------------------------------------------------


def _reactor(store, run):
    candidates = store.candidates(run.id)

    def react(event_id, user, emoji, present, event_ts, candidate=0, ts="100.000002"):
        return store.apply_reaction(
            event_id=event_id,
            channel=run.channel,
            ts=ts if candidate == 0 else f"100.00000{candidate + 2}",
            candidate_id=candidates[candidate].id,
            user_id=user,
            emoji=emoji,
            scale="approval",
            present=present,
            event_ts=event_ts,
            scale_emoji=APPROVAL,
        )

    return react


def _votes(store, run):
    return {(r.candidate_id, r.user_id): r.emoji for r in store.ratings(run.id)}


def test_interleaved_reactions_from_several_users_at_one_timestamp(store):
    run = posted_run(store, labels="AB")
    a, b = (c.id for c in store.candidates(run.id))
    react = _reactor(store, run)
    same = "300.000001"
    assert react("E1", "U1", "+1", True, same) == "applied"
    assert react("E2", "U2", "-1", True, same) == "applied"
    assert react("E3", "U3", "+1", True, same, candidate=1) == "applied"
    # U2's removal and re-add come late and out of order, between others' events.
    assert react("E4", "U2", "-1", True, "300.000003") == "applied"
    assert react("E5", "U1", "+1", False, "299.000009") == "stale"  # older than U1's add
    assert react("E6", "U2", "-1", False, "300.000002") == "stale"  # older than E4
    assert react("E7", "U3", "-1", True, same, candidate=1) == "applied"
    assert _votes(store, run) == {(a, "U1"): "+1", (a, "U2"): "-1", (b, "U3"): "-1"}
    # Other users' later events never make an event of U1's stale.
    assert react("E8", "U1", "-1", True, "300.000002") == "applied"
    assert _votes(store, run)[(a, "U1")] == "-1"


def test_a_same_timestamp_event_for_one_reaction_applies_in_arrival_order(store):
    run = posted_run(store)
    (a,) = (c.id for c in store.candidates(run.id))
    react = _reactor(store, run)
    assert react("E1", "U1", "+1", True, "400.000001") == "applied"
    assert react("E2", "U1", "+1", False, "400.000001") == "applied"
    assert _votes(store, run) == {}
    assert react("E3", "U1", "+1", True, "400.000001") == "applied"
    assert _votes(store, run) == {(a, "U1"): "+1"}


def test_a_reaction_on_another_message_or_emoji_is_not_the_same_reaction(store):
    run = posted_run(store, labels="AB")
    a, b = (c.id for c in store.candidates(run.id))
    react = _reactor(store, run)
    assert react("E1", "U1", "+1", True, "500.000005") == "applied"
    # older than E1 but about other reactions: not stale
    assert react("E2", "U1", "+1", True, "500.000001", candidate=1) == "applied"
    assert react("E3", "U1", "-1", True, "500.000002") == "applied"
    assert _votes(store, run) == {(a, "U1"): "+1", (b, "U1"): "+1"}  # +1 is the newer


def test_a_skipped_period_is_not_claimed_unless_retaken(store):
    log = store.digest_log
    assert log.skip("p", MONDAY, "bot-1", MONDAY) is True
    claim, record = log.claim("p", MONDAY, "bot-2", LATER, LATER + timedelta(minutes=5))
    assert (claim, record.status, record.claimed_by) == ("skipped", "skipped", "bot-1")
    claim, record = log.claim(
        "p", MONDAY, "bot-2", LATER, LATER + timedelta(minutes=5), manual=True, retake_skipped=True
    )
    assert (claim, record.status, record.claimed_by, record.manual) == (
        "claimed", "posting", "bot-2", True,
    )  # fmt: skip


# -- run leases and posting steps ------------------------------------------------------


def _pending_runs(store, count):
    runs = [posted_run(store, name=f"p{i}") for i in range(count)]
    for run in runs:
        store.set_run_status(run.id, "running")
    return runs


def test_the_heartbeat_renews_only_the_leases_still_held(store):
    log = store.delivery
    one, two, three = (run.id for run in _pending_runs(store, 3))
    assert log.take_lease(one, "w1", 60) and log.take_lease(two, "w1", 60)
    assert log.take_lease(three, "w2", 60)
    assert log.renew_leases("w1", [one, two, three], 60) == [one, two]
    log.release_lease(two, "w1")
    assert log.renew_leases("w1", [one, two], 60) == [one]


def test_steps_keep_their_errors_and_a_done_step_is_not_claimed_again(store):
    log = store.delivery
    one, two = (run.id for run in _pending_runs(store, 2))
    for run_id in (one, two):
        assert log.begin(run_id, "parent") is None
    log.put_back(one, "parent", "Slack unavailable until the deadline")
    assert log.step(one, "parent").error == "Slack unavailable until the deadline"
    assert log.step(one, "parent").status == "posting"  # may have landed: looked for first
    assert log.step(two, "parent").error is None
    log.fail(two, "parent", "channel_not_found")
    assert (log.step(two, "parent").status, log.step(two, "parent").error) == (
        "failed", "channel_not_found",
    )  # fmt: skip
    assert log.begin(one, "parent") == "posting"
    log.finish(one, "parent", "123.000001")
    assert log.begin(one, "parent") == "done"
    assert (log.step(one, "parent").status, log.step(one, "parent").ts) == ("done", "123.000001")


def test_a_redelivered_deletion_is_a_duplicate_and_its_event_is_remembered(store):
    run = posted_run(store)
    reply = {"channel": run.channel, "ts": "700.000001", "run_id": run.id, "user_id": "U1"}
    assert store.add_comment(event_id="C1", text="hello", **reply) is True
    assert store.delete_comment(event_id="D1", **reply) == "applied"
    assert store.event_seen("D1")
    assert store.delete_comment(event_id="D1", **reply) == "duplicate"
    assert store.delete_comment(event_id="D2", **reply) == "stale"  # already deleted
    assert store.comments(run.id) == []


def test_a_claim_records_who_when_and_until_and_a_live_one_is_held(store):
    log, until = store.digest_log, MONDAY + timedelta(minutes=5)
    claim, record = log.claim("p", MONDAY, "bot-1", MONDAY, until)
    assert claim == "claimed"
    assert (record.claimed_by, record.claimed_at, record.lease_until) == ("bot-1", MONDAY, until)
    assert (record.scheduled_for, record.status, record.posted_at) == (MONDAY, "posting", None)
    claim, record = log.claim("p", MONDAY, "bot-2", MONDAY + timedelta(minutes=1), LATER)
    assert (claim, record.claimed_by, record.lease_until) == ("held", "bot-1", until)


def test_a_job_finding_the_period_held_composes_nothing(store):
    composed = []

    def counting_compose(period):
        composed.append(period.key)
        return compose(period)

    log, slack = store.digest_log, FakeSlack()
    log.claim("2026-11-23T09:00", MONDAY, "bot-1", MONDAY, MONDAY + timedelta(minutes=5))
    job = DigestJob(log, slack, counting_compose, schedule_settings(), "bot-2")
    outcome = job.run_due(MONDAY + timedelta(minutes=1))
    assert outcome.status is Status.CLAIMED_ELSEWHERE
    assert outcome.retry_at == MONDAY + timedelta(minutes=5)
    assert composed == [] and slack.posts == []


# -- the event inbox ---------------------------------------------------------------------


def test_the_inbox_hands_out_pending_rows_after_an_id_in_arrival_order(store):
    inbox = store.inbox
    for n in range(5):
        assert inbox.record_many([(f"Ev{n}", f"body {n}")], budget=1.0)[0] is True
    assert inbox.record_many([("Ev1", "again")], budget=1.0)[0] is False
    rows = inbox.pending(after=0, limit=10)
    assert [r.event_id for r in rows] == ["Ev0", "Ev1", "Ev2", "Ev3", "Ev4"]
    inbox.mark_processed([rows[1].id])
    after_first = inbox.pending(after=rows[0].id, limit=2)
    assert [r.event_id for r in after_first] == ["Ev2", "Ev3"]  # Ev0 itself is not "after"
    assert inbox.count_pending() == 4


def test_pruning_forgets_only_processed_rows_older_than_kept(store):
    inbox = store.inbox
    start = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        for n in range(3):
            inbox.record_many([(f"Old{n}", "{}")], budget=1.0)[0]
        old = inbox.pending(after=0, limit=10)
        inbox.mark_processed([old[0].id, old[1].id])  # Old2 stays pending
    with time_machine.travel(start + timedelta(days=2), tick=False):
        inbox.record_many([("New", "{}")], budget=1.0)[0]
        inbox.mark_processed([inbox.pending(after=old[2].id, limit=1)[0].id])
        assert inbox.prune(timedelta(days=1)) == 2
        assert inbox.prune(timedelta(days=1)) == 0
        assert [r.event_id for r in inbox.pending(after=0, limit=10)] == ["Old2"]
        assert (
            inbox.record_many([("New", "{}")], budget=1.0)[0] is False
        )  # recent: still remembered
        assert inbox.record_many([("Old0", "{}")], budget=1.0)[0] is True  # forgotten


def test_an_edit_keeps_its_files_and_one_that_only_reorders_them_is_unchanged(store):
    run = posted_run(store)
    reply = {"channel": run.channel, "ts": "700.000002", "run_id": run.id, "user_id": "U1"}
    shot = {"name": "shot.png", "url": "https://files.example/shot.png"}
    assert store.add_comment(event_id="C1", text="see", files=None, **reply) is True
    edit = {"text": "see this", "files": [shot], **reply}
    assert store.edit_comment(event_id="E1", edited_ts="701.0", **edit) == "applied"
    (comment,) = store.comments(run.id)
    assert comment["text"] == "see this" and json.loads(comment["files"]) == [shot]
    # Slack sends the same file again, its fields in another order: not an edit.
    same = {**edit, "files": [dict(reversed(shot.items()))]}
    assert store.edit_comment(event_id="E2", edited_ts="702.0", **same) == "unchanged"


def test_reactions_in_a_batch_on_a_closed_run_stay_late_without_a_lookup_first(store):
    """apply_reaction in a batch for a message the batch did not look up (find_reacted
    fills the batch's memory of closed runs): it finds out, and remembers, itself."""
    run = posted_run(store, labels="AB")
    (candidate, _) = store.candidates(run.id)
    store.close_run(run.id, "UCLOSE")
    with store.transaction(savepoints=False), store.event_batch(["Ev1", "Ev2"]):
        for event_id, user in (("Ev1", "U1"), ("Ev2", "U2")):
            store.apply_reaction(
                event_id=event_id, channel=run.channel, ts="800.000001",
                candidate_id=candidate.id, user_id=user, emoji="+1", scale="approval",
                present=True, event_ts="801.0", scale_emoji=APPROVAL,
            )  # fmt: skip
    assert store.ratings() == []
    assert [(r.candidate_id, r.user_id) for r in store.late_ratings()] == [
        (candidate.id, "U1"),
        (candidate.id, "U2"),
    ]


@pytest.fixture
def local_zone(monkeypatch):
    """Set this process's local time zone (what a worker elsewhere would have)."""

    def set_zone(name):
        monkeypatch.setenv("TZ", name)
        time.tzset()

    yield set_zone
    monkeypatch.undo()
    time.tzset()


def test_recent_periods_come_newest_first_whatever_zone_each_worker_was_in(store, local_zone):
    log = store.digest_log
    local_zone("Asia/Tokyo")  # a worker nine hours ahead records the earlier period
    log.claim("monday-9", MONDAY, "bot-tokyo", MONDAY, MONDAY + timedelta(minutes=5))
    local_zone("UTC")
    noon = MONDAY + timedelta(hours=3)
    log.claim("monday-12", noon, "bot-utc", noon, noon + timedelta(minutes=5))
    assert [p.key for p in log.recent()] == ["monday-12", "monday-9"]
    assert [p.key for p in log.recent(limit=1)] == ["monday-12"]
    assert log.period("monday-9").scheduled_for == MONDAY


def test_a_channel_already_posted_is_posted_when_the_period_is_retaken(store):
    log = store.digest_log
    log.claim("p", MONDAY, "bot-1", MONDAY, MONDAY + timedelta(minutes=5))
    assert log.begin_channel("p", "C1", "bot-1", MONDAY, MONDAY + timedelta(minutes=5)) == "fresh"
    log.mark_posted("p", "C1", "1700000000.000100")
    retaken = MONDAY + timedelta(minutes=10)
    assert log.claim("p", MONDAY, "bot-2", retaken, retaken + timedelta(minutes=5))[0] == "claimed"
    assert log.begin_channel("p", "C1", "bot-2", retaken, retaken) == "posted"
    assert log.begin_channel("p", "C2", "bot-2", retaken, retaken) == "fresh"
