"""A restart with an unfinished run resumes it; nothing is posted twice."""

from promptbot.domain import Completion, PlannedCandidate
from promptbot.render.blocks import Message
from promptbot.review.publishing import candidate_tag, parent_tag
from tests.harness import start_bot, wait_until


def crashed_run(bot):
    """The state a crash can leave: A posted but not recorded, B answered but not
    posted, C never called."""
    store = bot.store
    run = store.create_run(
        prompt_name="interrupted",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["alpha", "beta", "gamma"],
        inputs=[{}],
        candidates=[
            PlannedCandidate(label, slot, name, f"{name}-id", 0)
            for slot, (label, name) in enumerate([("A", "alpha"), ("B", "beta"), ("C", "gamma")])
        ],
    )
    publisher = bot.bot.runner.publisher
    ts = publisher.post("C1", Message("parent", []), tag=parent_tag(run.id))
    store.set_thread(run.id, "C1", ts, None)
    a, b, _ = store.candidates(run.id)
    for candidate in (a, b):
        store.record_answer(candidate.id, Completion("answer", None, 1, 1, 3, "stop"))
    assert store.mark_posting(a.id)
    publisher.post("C1", Message("Candidate A", []), thread_ts=ts, tag=candidate_tag(a.id))
    return store.get_run(run.id)


def test_restart_resumes_without_reposting(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models)
    run = crashed_run(first)
    first.close()

    second = start_bot(tmp_path, slack, models)
    try:
        finished = second.wait_run(run.id)
        assert finished.status == "done"
        posts = second.candidate_posts(run.id)
        owners = sorted(p["metadata"]["event_payload"]["candidate"] for p in posts)
        assert owners == sorted(c.id for c in second.store.candidates(run.id))  # once each
        assert [r.model for r in models.requests] == ["gamma-id"]
        thread_text = " ".join(m["text"] for m in slack.thread("C1", run.thread_ts))
        assert "restarted while this run was in progress" in thread_text
        assert {c.status for c in second.store.candidates(run.id)} == {"posted"}
    finally:
        second.close()


def test_a_post_whose_lookup_fails_is_looked_for_again_not_repeated(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models)
    run = crashed_run(first)
    first.close()
    slack.fail_next("conversations.replies", error="internal_error")

    second = start_bot(tmp_path, slack, models)
    try:
        assert second.wait_run(run.id).status == "done"
        a = second.store.candidates(run.id)[0]
        assert a.error is None and a.status == "posted"
        owners = [
            p["metadata"]["event_payload"]["candidate"] for p in second.candidate_posts(run.id)
        ]
        assert owners.count(a.id) == 1
        assert len(slack.calls_to("conversations.replies")) >= 2  # failed, then looked again
    finally:
        second.close()


def test_slack_rate_limit_is_retried_and_posts_once(bot, slack):
    slack.fail_next("chat.postMessage", times=2, retry_after=0)
    bot.command("propose limited --models alpha\nHi")
    run = bot.wait_run(1)
    assert run.status == "done"
    assert len(bot.candidate_posts(run.id)) == 1
    limited = [c for c in slack.calls_to("chat.postMessage") if c.rate_limited]
    assert len(limited) == 2
    wait_until(lambda: slack.calls_to("reactions.add"), what="seeded emoji")


def test_a_compare_pair_caught_mid_post_is_found_not_reposted(tmp_path, slack, models):

    first = start_bot(tmp_path, slack, models)
    first.command("propose pairs --models alpha\nOne")
    first.wait_run(1)
    first.command("propose pairs --models alpha\nTwo")
    first.wait_run(2)
    first.command("compare pairs@v1 pairs@v2 --models alpha")
    run = first.wait_run(3)
    (pair,) = first.store.pairs.for_run(run.id)
    # As if the process died after Slack took the post but before it was recorded.
    with first.store.transaction() as db:
        db.execute("UPDATE pairs SET ts = NULL WHERE id = ?", [pair.id])
        db.execute("UPDATE candidates SET status = 'posting' WHERE run_id = ?", [run.id])
        db.execute("UPDATE runs SET status = 'running' WHERE id = ?", [run.id])
    first.close()

    second = start_bot(tmp_path, slack, models)
    try:
        second.wait_run(run.id)
        (settled,) = second.store.pairs.for_run(run.id)
        assert settled.ts == pair.ts
        posts = [m for m in slack.thread("C1", run.thread_ts) if m["text"].startswith("Pair")]
        assert len(posts) == 1
        assert {c.status for c in second.store.candidates(run.id)} == {"posted"}
    finally:
        second.close()
