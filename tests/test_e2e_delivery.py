"""Every Slack fault of the delivery issue's table, injected while a run posts, over
signed HTTP against the real app: the run still ends with one parent, every answered
candidate posted exactly once and seeded, and nothing left unfinished."""

import pytest

from promptbot.domain import Completion, PlannedCandidate
from promptbot.render.messages import Message
from promptbot.review.publishing import parent_tag
from promptbot.standins import payloads
from tests.delivery import assert_delivered, candidate_posts, parents
from tests.harness import bot_config, start_bot, wait_until

FAST = {
    "posts_per_second": 0,
    "deadline_seconds": 30,
    "timeout": 1,
    "resume_every_seconds": 0.3,
    "lease_seconds": 1.5,
}


def config(models, **slack):
    return bot_config(models, slack=FAST | slack)


def propose(bot, name="faulty", channel="C1"):
    status, _ = bot.command(f"propose {name} --models alpha,beta,gamma\nHi", channel=channel)
    assert status == 200
    return wait_until(lambda: bot.store.recent_runs(50), what="the run recorded")[0].run.id


@pytest.mark.parametrize(
    "fault",
    [
        {"times": 5, "retry_after": 0, "after": 1},  # 429 five times, on the candidates
        {"error": "ratelimited", "after": 1},  # HTTP 200 ok:false
        {"status": 503, "after": 1},  # 5xx
        {"delay": 2.5, "apply": True, "after": 2},  # posted, answered after the timeout
        {"drop": True, "apply": True, "after": 1},  # posted, connection dropped
        {"status": 503, "times": 2},  # on the parent itself
        {"delay": 2.5, "apply": True},  # the parent posted, its answer lost
    ],
    ids=["429x5", "ok-false", "503", "late-post", "dropped", "parent-503", "parent-late"],
)
def test_a_slack_fault_during_a_run_loses_and_doubles_nothing(running, models, slack, fault):
    bot = running(config(models))
    slack.fail_next("chat.postMessage", **fault)
    run_id = propose(bot)
    bot.wait_run(run_id, timeout=30)
    wait_until(lambda: bot.store.get_run(run_id).status == "done", 30, "the run done")
    assert_delivered(bot.store, slack, run_id)


def test_slack_down_for_a_while_during_the_candidates(running, models, slack):
    bot = running(config(models))
    models.set_behaviour("alpha-id", latency=0.5)
    run_id = propose(bot)
    wait_until(lambda: bot.store.get_run(run_id).thread_ts, what="the parent")
    slack.go_offline(2)
    wait_until(lambda: bot.store.get_run(run_id).status == "done", 30, "the run done")
    assert_delivered(bot.store, slack, run_id)


def test_slack_down_before_the_parent(running, models, slack):
    bot = running(config(models))
    models.set_behaviour("alpha-id", latency=0.3)
    slack.fail_next("chat.postMessage", drop=True)  # the first post meets a dead Slack…
    slack.fail_next("chat.postMessage", times=3, status=502)  # …then a failing one
    run_id = propose(bot)
    wait_until(lambda: bot.store.get_run(run_id).status == "done", 30, "the run done")
    assert_delivered(bot.store, slack, run_id)


def test_past_the_deadline_a_step_waits_and_the_resumer_finishes_it(running, models, slack):
    bot = running(config(models, deadline_seconds=0.2))
    slack.fail_next("chat.postMessage", times=40, status=503, after=1)
    run_id = propose(bot)
    wait_until(
        lambda: (
            bot.store.delivery.steps(run_id, "candidate") == []
            and bot.store.get_run(run_id).thread_ts
            and any(c.status == "posting" for c in bot.store.candidates(run_id))
        ),
        10,
        "a candidate held up",
    )
    assert bot.store.get_run(run_id).status == "running"  # not failed: pending
    wait_until(lambda: bot.store.get_run(run_id).status == "done", 30, "the resumer's finish")
    assert_delivered(bot.store, slack, run_id)


def test_many_runs_in_one_channel_queue_under_slacks_rate_limit(running, models, slack):
    slack.rate_limit(per_second=5, burst=3)
    # Paced a little under the limit: network jitter must not push a post over it.
    bot = running(config(models, posts_per_second=4, post_burst=3))
    for n in range(4):
        bot.command(f"propose busy{n} --models alpha,beta,gamma\nHi")
    runs = wait_until(lambda: len(bot.store.recent_runs(10)) == 4 and bot.store.recent_runs(10))
    for summary in runs:
        wait_until(lambda r=summary.run.id: bot.store.get_run(r).status == "done", 30, "done")
        assert_delivered(bot.store, slack, summary.run.id)


def propose_with_response_url(bot, url):
    body = payloads.slash_command_body(
        "propose refused --models alpha\nHi", user_id="U1", channel_id="C1", response_url=url
    )
    status, _ = bot.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    return wait_until(lambda: bot.store.recent_runs(5), what="the run recorded")[0].run.id


def test_a_refused_channel_reaches_the_proposer_on_the_response_url(running, models, slack):
    bot = running(config(models))
    slack.fail_next("chat.postMessage", error="channel_not_found")
    slack.fail_next("chat.postEphemeral", error="channel_not_found")
    run_id = propose_with_response_url(bot, slack.response_url("cmd"))
    wait_until(lambda: bot.store.get_run(run_id).status == "failed", 10, "the run failed")
    (told,) = wait_until(lambda: [r for r in slack.responses if r.name == "cmd"], what="told")
    assert "could not start its review thread" in told.body["text"]
    assert told.body["response_type"] == "ephemeral"
    assert all(c.output for c in bot.store.candidates(run_id))  # the answers are kept


def test_when_the_response_url_fails_too_the_proposer_gets_a_dm(running, models, slack):
    bot = running(config(models))
    slack.fail_next("chat.postMessage", error="channel_not_found")
    slack.fail_next("chat.postEphemeral", error="channel_not_found")
    run_id = propose_with_response_url(bot, "http://127.0.0.1:9/respond/closed")
    wait_until(lambda: bot.store.get_run(run_id).status == "failed", 10, "the run failed")
    dm = wait_until(lambda: slack.messages(slack.dm_channel("U1")), what="a DM")
    assert "could not start its review thread" in dm[0]["text"]


def interrupted_run(bot, *, parent_posted: bool):
    """A run as a crash leaves it: recorded, maybe its parent posted but not recorded."""
    run = bot.store.create_run(
        prompt_name="interrupted",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["alpha", "beta"],
        inputs=[{}],
        candidates=[
            PlannedCandidate(label, slot, name, f"{name}-id", 0)
            for slot, (label, name) in enumerate([("A", "alpha"), ("B", "beta")])
        ],
    )
    if parent_posted:
        bot.bot.runner.publisher.post("C1", Message("parent", []), tag=parent_tag(run.id))
        bot.store.delivery.begin(run.id, "parent")
    return run.id


def test_a_parent_posted_but_not_recorded_is_found_not_doubled(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models, config(models), resume=False)
    run_id = interrupted_run(first, parent_posted=True)
    first.close()
    second = start_bot(tmp_path, slack, models, config(models))
    try:
        wait_until(lambda: second.store.get_run(run_id).status == "done", 20, "done")
        assert_delivered(second.store, slack, run_id)
    finally:
        second.close()


def test_two_bots_on_one_database_post_one_parent_and_call_each_model_once(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models, config(models), resume=False)
    run_id = interrupted_run(first, parent_posted=False)
    for candidate in first.store.candidates(run_id)[:1]:
        first.store.record_answer(candidate.id, Completion("kept", None, 1, 1, 1, "stop"))
    first.close()
    models.set_behaviour("beta-id", latency=0.5)
    bots = [start_bot(tmp_path, slack, models, config(models)) for _ in range(2)]
    try:
        wait_until(lambda: bots[0].store.get_run(run_id).status == "done", 20, "done")
        assert_delivered(bots[0].store, slack, run_id)
        assert [r.model for r in models.requests] == ["beta-id"]  # one call, one candidate
        assert len(parents(slack, "C1", run_id)) == 1
        assert len(candidate_posts(slack, "C1")) == 2
    finally:
        for bot in bots:
            bot.close()


def test_a_failed_run_is_reposted_by_command_without_calling_the_models(running, models, slack):
    bot = running(config(models))
    slack.fail_next("chat.postMessage", error="channel_not_found")
    run_id = propose(bot)
    wait_until(lambda: bot.store.get_run(run_id).status == "failed", 10, "the run failed")
    calls = len(models.requests)
    assert bot.command(f"repost {run_id}", user="U2")[1]["text"].startswith(":warning:")
    status, reply = bot.command(f"repost {run_id}")
    assert status == 200 and "again" in reply["text"]
    wait_until(lambda: bot.store.get_run(run_id).status == "done", 20, "the run done")
    assert_delivered(bot.store, slack, run_id)
    assert len(models.requests) == calls  # the stored answers, not new ones
    assert "has not failed" in bot.command(f"repost {run_id}")[1]["text"]
