"""An ack means the event is recorded: events are written to the inbox before Slack
gets its 200 (or its Socket Mode ack), refused with a 5xx when they cannot be, and
processed once, in arrival order, even across a restart."""

import threading

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
    return bot.store.inbox.store.query("SELECT event_id, processed_at FROM inbox ORDER BY id")


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


def test_a_locked_inbox_answers_503_and_slacks_retry_is_stored_once(bot, tmp_path):
    ts = posted_candidate(bot)
    body = reaction_body(ts, "U2")
    with write_lock(tmp_path / "promptbot.db-inbox"):
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


def test_a_locked_database_still_acks_and_stores_once_it_is_free(bot, tmp_path):
    """The inbox is a file of its own: a writer holding the ratings' database does not
    hold up Slack's answers, only their processing."""
    ts = posted_candidate(bot)
    with write_lock(tmp_path / "promptbot.db"):
        assert [deliver(bot, reaction_body(ts, f"U{i}")) for i in range(3)] == [200] * 3
        assert len(inbox_rows(bot)) == 3
        assert bot.store.ratings() == []
    wait_until(lambda: len(bot.store.ratings()) == 3, what="the ratings once the lock is gone")
    settle(bot)
    assert all(row["processed_at"] for row in inbox_rows(bot))


def test_a_crash_between_the_ratings_and_the_inbox_mark_stores_each_once(running):
    """The worker commits ratings in the database, then marks the rows processed in the
    inbox file: killed in between, the rows are processed again at the next start, and
    their event ids keep the ratings once."""
    first = running()
    ts = posted_candidate(first)
    crashed = threading.Event()

    def die_before_marking(ids):
        crashed.set()
        raise SystemExit("killed between the two commits")

    first.bot.inbox.table.mark_processed = die_before_marking
    bodies = [reaction_body(ts, f"U{i}", event_id=f"Ev-crash-{i}") for i in range(3)]
    assert [deliver(first, body) for body in bodies] == [200] * 3
    wait_until(crashed.is_set, what="the worker to commit and die")
    first.bot.inbox.wait_idle(5)
    assert len(first.store.ratings()) >= 1  # committed before the crash
    assert all(row["processed_at"] is None for row in inbox_rows(first))
    first.close()

    second = running()
    wait_until(lambda: second.store.inbox.count_pending() == 0, what="the inbox to drain")
    settle(second)
    assert sorted(r.user_id for r in second.store.ratings()) == ["U0", "U1", "U2"]
    for i in range(3):
        assert second.store.event_seen(f"Ev-crash-{i}")


def test_the_bots_own_events_are_answered_but_not_recorded(bot):
    """Deliveries are recorded in front of Bolt, so its self-event rule is applied there:
    the bot's own reaction (the emoji it seeds) and its own thread posts are acked and
    dropped, while a member joining, which Bolt keeps even from the bot, is recorded."""
    ts = posted_candidate(bot)
    own_reaction = reaction_body(ts, "UBOT")
    own_reply = payloads.event_body(
        payloads.message_event(
            user="UOTHER",
            text="hi",
            channel="C1",
            ts="1700000000.000200",
            thread_ts=ts,
            bot_id="BBOT",
        )
    )
    joined = payloads.event_body(
        {"type": "member_joined_channel", "user": "UBOT", "channel": "C1"}, event_id="Ev-join"
    )
    for body in (own_reaction, own_reply, joined):
        assert deliver(bot, body) == 200
    settle(bot)
    assert [r["event_id"] for r in inbox_rows(bot)] == ["Ev-join"]
    assert bot.store.ratings() == []
    assert deliver(bot, reaction_body(ts, "U2")) == 200
    wait_until(lambda: bot.store.ratings(), what="a person's rating")


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
    # Counted down once the rows are marked in the inbox file, just after the ratings commit.
    wait_until(lambda: second.bot.inbox.backlog == 0, what="the backlog counted down")


def test_the_worker_uses_the_parse_of_the_request_that_recorded_the_event(bot, monkeypatch):
    """Each delivery is parsed once: by its request, which hands its parse to the worker
    with the recorded row (a reaction is stored all the same)."""
    import json
    import types

    import handlers.inbox

    ts = posted_candidate(bot)
    settle(bot)
    parses: list[str] = []

    def loads(text, *args, **kwargs):
        parses.append(threading.current_thread().name)
        return json.loads(text, *args, **kwargs)

    monkeypatch.setattr(
        handlers.inbox, "json", types.SimpleNamespace(loads=loads, dumps=json.dumps)
    )
    for n in range(3):
        assert deliver(bot, reaction_body(ts, f"U{n + 2}")) == 200
    wait_until(lambda: len(bot.store.ratings()) == 3, what="the three ratings")
    settle(bot)
    assert len(parses) == 3 and not any(name.startswith("inbox") for name in parses)
