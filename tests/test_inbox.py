"""An ack means the event is recorded: events are written to the inbox before Slack
gets its 200 (or its Socket Mode ack), refused with a 5xx when they cannot be, and
processed once, in arrival order, even across a restart."""

from promptbot.standins import payloads
from tests.harness import settle, wait_until, write_lock


def posted_candidate(bot):
    """A run with one posted candidate; returns its message ts."""
    bot.command("propose rated --models alpha\nHi")
    run = bot.wait_run(1)
    assert run.status == "done"
    return bot.candidate_posts(run.id)[0]["ts"]


def reaction_body(ts, user, reaction="+1", event_id=None, added=True):
    kind = "reaction_added" if added else "reaction_removed"
    event = payloads.reaction_event(kind, user=user, reaction=reaction, channel="C1", ts=ts)
    return payloads.event_body(event, event_id=event_id)


def deliver(bot, body, retry=0):
    headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    status, _ = bot.post(body, "application/json", extra_headers=headers if retry else None)
    return status


def inbox_rows(bot):
    return bot.store.query("SELECT event_id, processed_at FROM inbox ORDER BY id")


def test_an_acked_event_is_recorded_and_processed_after_a_restart(running, tmp_path):
    first = running()
    ts = posted_candidate(first)
    first.bot.inbox.shutdown()  # the process dies before its worker gets to the event
    body = reaction_body(ts, "U2", event_id="Ev-before-crash")
    assert deliver(first, body) == 200
    assert [r["event_id"] for r in inbox_rows(first)] == ["Ev-before-crash"]
    assert first.store.ratings() == []
    first.close()

    second = running()
    wait_until(lambda: second.store.ratings(), what="the rating from before the restart")
    settle(second)
    assert [(r.user_id, r.emoji) for r in second.store.ratings()] == [("U2", "+1")]
    assert inbox_rows(second)[0]["processed_at"] is not None


def test_a_locked_database_answers_503_and_slacks_retry_is_stored_once(bot, tmp_path):
    ts = posted_candidate(bot)
    body = reaction_body(ts, "U2")
    with write_lock(tmp_path / "promptbot.db"):
        assert deliver(bot, body) == 503
    settle(bot)
    assert bot.store.ratings() == []
    assert inbox_rows(bot) == []
    # Slack retries what was not acknowledged, and may deliver it more than once.
    assert deliver(bot, body, retry=1) == 200
    assert deliver(bot, body, retry=2) == 200
    wait_until(lambda: bot.store.ratings(), what="the retried rating")
    settle(bot)
    assert len(bot.store.ratings()) == 1
    assert len(inbox_rows(bot)) == 1


def test_a_redelivered_event_is_processed_once(bot, slack):
    body = payloads.event_body(payloads.app_home_opened_event("U7"), event_id="Ev-home")
    for retry in range(3):
        assert deliver(bot, body, retry=retry) == 200
    settle(bot)
    # Opening Home publishes the tab: processed twice, it would be published twice.
    assert len(slack.calls_to("views.publish")) == 1


def test_the_backlog_is_bounded_and_drains_after_a_restart(running, models):
    from tests.harness import bot_config

    config = bot_config(models, limits={"event_backlog": 2})
    first = running(config)
    ts = posted_candidate(first)
    first.bot.inbox.shutdown()  # processing has stopped; events pile up
    bodies = [reaction_body(ts, f"U{i}") for i in range(3)]
    assert [deliver(first, b) for b in bodies] == [200, 200, 503]
    first.close()

    second = running(config)
    wait_until(lambda: len(second.store.ratings()) == 2, what="the two accepted ratings")
    assert deliver(second, bodies[2], retry=1) == 200
    wait_until(lambda: len(second.store.ratings()) == 3, what="the retried rating")
    assert second.bot.inbox.backlog == 0
