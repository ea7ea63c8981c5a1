"""Pairwise compare threads: side-by-side answers, votes, and their place in the fit."""

from datetime import UTC, datetime, timedelta

from promptbot.digest.assembly import build_digest, build_digest_from
from promptbot.review.scales import RatingScales
from storage.digest_inputs import load_digest_inputs
from storage.evidence import load_evidence
from tests.harness import settle, wait_until


def test_compare_posts_pairs_and_votes_feed_the_ranking(bot, slack, models):
    models.set_behaviour("alpha-id", reply=lambda request: request["messages"][-1]["content"])
    bot.command("propose tone --models alpha\nPolite: {{ x }}\n---\nx: one\n---\nx: two")
    bot.wait_run(1)
    bot.command("propose tone --models alpha\nBlunt: {{ x }}\n---\nx: one\n---\nx: two")
    bot.wait_run(2)
    _, reply = bot.command("compare tone@v1 tone@v2 --models alpha")
    assert "run #3" in reply["text"]
    run = bot.wait_run(3)
    assert run.kind == "compare"
    parent = slack.find_message("C1", run.thread_ts)
    assert parent["text"].startswith("Compare: tone v1 vs tone v2")
    pairs = bot.store.pairs.for_run(run.id)
    assert len(pairs) == 2 and all(p.ts for p in pairs)
    posts = [slack.find_message("C1", p.ts) for p in pairs]
    for post in posts:
        fields = post["blocks"][1]["fields"]
        assert fields[0]["text"].startswith("*Left*") and fields[1]["text"].startswith("*Right*")
        texts = {f["text"].split("\n", 1)[1] for f in fields}
        assert any(t.startswith("Polite") for t in texts) and any(
            t.startswith("Blunt") for t in texts
        )
    slack.wait_for_calls("reactions.add", 16)  # 2 × 2 approval seeds, then 2 pairs × 4
    assert {c.params["name"] for c in slack.calls_to("reactions.add")} >= {"a", "b", "handshake"}

    # Every reviewer prefers the blunt answer, wherever it sits.
    for pair, post in zip(pairs, posts, strict=True):
        blunt_left = post["blocks"][1]["fields"][0]["text"].split("\n", 1)[1].startswith("Blunt")
        # Eight reviewers: with as few as six, 95% intervals from six reviewer-threads
        # (Student's t with 5 degrees of freedom) only just fail to separate 6-0.
        for user in ("U1", "U2", "U3", "U4", "U5", "U6", "U7", "U8"):
            bot.react(pair.ts, "a" if blunt_left else "b", user)
    wait_until(lambda: len(bot.store.pairs.votes(run.id)) == 16, what="16 pair votes")
    bot.react(pairs[0].ts, "tada", "U9", event_id="Ev-noise")  # not a pair vote
    settle(bot)
    assert len(bot.store.pairs.votes(run.id)) == 16 and not bot.store.event_seen("Ev-noise")

    now = datetime.now(UTC) + timedelta(seconds=1)
    scales, start = RatingScales(bot.bot.config.scales), now - timedelta(days=7)
    settings = bot.bot.config.digest
    digest = build_digest(
        load_evidence(bot.store, scales, now), start=start, end=now, settings=settings, now=now
    )
    # The digest's own path, aggregated in SQL, reads the pair votes the same way.
    inputs = load_digest_inputs(bot.store, scales, start, now)
    assert build_digest_from(inputs, start=start, end=now, settings=settings, now=now) == digest
    (versions,) = [r for r in digest.rankings.versions_by_prompt if r.prompt == "tone"]
    assert versions.winner == "tone v2"

    bot.command("reveal 3")
    updates = slack.wait_for_calls("chat.update", 2)
    assert all("alpha, tone v" in str(u.params["blocks"]) for u in updates)


def test_pair_votes_are_exported(bot, models):
    import json as json_module
    from datetime import UTC, datetime

    from promptbot.prompts.export import build_export

    bot.command("propose ex --models alpha\nOne")
    bot.wait_run(1)
    bot.command("propose ex --models alpha\nTwo")
    bot.wait_run(2)
    bot.command("compare ex@v1 ex@v2 --models alpha")
    run = bot.wait_run(3)
    (pair,) = bot.store.pairs.for_run(run.id)
    bot.react(pair.ts, "handshake", "U9")
    wait_until(lambda: bot.store.pairs.votes(run.id), what="the vote")
    exported = build_export(bot.store, "ex", "json", datetime.now(UTC))
    votes = json_module.loads(exported.content)["pair_votes"]
    assert [(v["pair_id"], v["user_id"], v["choice"], v["late"]) for v in votes] == [
        (pair.id, "U9", "tie", False)
    ]
    assert "1 pair vote" in exported.summary


def test_a_pair_vote_in_the_gap_before_its_post_is_recorded_counts(bot, slack, models):
    # Slack shows the pair before the bot has its ts: the vote waits for the record.
    bot.command("propose gap --models alpha\nPolite: hi")
    bot.wait_run(1)
    bot.command("propose gap --models alpha\nBlunt: hi")
    bot.wait_run(2)
    slack.fail_next("chat.postMessage", delay=2, apply=True, after=1)  # the pair's post
    bot.command("compare gap@v1 gap@v2 --models alpha")

    def shown():
        replies = [m for m in slack.messages("C1") if m.get("thread_ts") not in (None, m["ts"])]
        return [m for m in replies if "*Left*" in str(m.get("blocks"))]

    (post,) = wait_until(shown, what="the pair shown in Slack")
    assert bot.store.pairs.for_run(3)[0].ts is None  # not recorded yet
    assert bot.react(post["ts"], "a", "U2") == 200
    wait_until(lambda: len(bot.store.pairs.votes(3)) == 1, what="the pair vote")
    assert bot.store.pairs.for_run(3)[0].ts == post["ts"]
