"""Closing and revealing a run: permissions, chat.update, late ratings, auto-close."""

from datetime import UTC, datetime, timedelta

from tests.harness import bot_config, settle, wait_until


def test_reveal_by_proposer_edits_candidates_and_closes_voting(bot, slack):
    bot.command("propose secret --models alpha,beta\nHi", user="UPROP")
    run = bot.wait_run(1)
    posts = bot.candidate_posts(run.id)
    bot.react(posts[0]["ts"], "+1", "U2")
    wait_until(lambda: bot.store.ratings(), what="the rating")

    _, reply = bot.command("reveal 1", user="USTRANGER")
    assert reply["text"] == ":warning: only the proposer of run #1 or an admin can reveal it"
    assert bot.store.get_run(1).closed_at is None

    _, reply = bot.command("reveal #1", user="UPROP")
    assert "Closing run #1" in reply["text"]
    updates = slack.wait_for_calls("chat.update", 2)
    labelled = {c.params["ts"]: c.params["blocks"][0]["text"]["text"] for c in updates}
    for candidate in bot.store.candidates(run.id):
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        assert candidate.model_name in labelled[ts] and "secret v1" in labelled[ts]
    wait_until(
        lambda: any("Voting is closed" in m["text"] for m in slack.thread("C1", run.thread_ts)),
        what="the closing notice",
    )
    # A rating after the close is kept, marked late, and does not count.
    bot.react(posts[1]["ts"], "+1", "U3", event_id="Ev-late")
    wait_until(lambda: bot.store.event_seen("Ev-late"), what="the late rating")
    assert [r.user_id for r in bot.store.ratings()] == ["U2"]
    assert [r.user_id for r in bot.store.late_ratings()] == ["U3"]
    _, reply = bot.command("reveal 1", user="UPROP")
    assert "already revealed" in reply["text"]


def test_admin_may_reveal_and_bad_ids_are_explained(bot):
    bot.command("propose any --models alpha\nHi", user="UPROP")
    bot.wait_run(1)
    _, reply = bot.command("reveal 1", user="UADMIN")
    assert "Closing run #1" in reply["text"]
    _, reply = bot.command("reveal 99", user="UADMIN")
    assert reply["text"] == ":warning: no run #99"
    _, reply = bot.command("reveal soon", user="UADMIN")
    assert reply["text"] == ":warning: usage: /prompt reveal RUN"


def test_run_closes_after_enough_votes(running, models, slack):
    config = bot_config(models)
    config["review"] = {"close_after_votes": 2}
    bot = running(config)
    bot.command("propose quick --models alpha,beta\nHi")
    run = bot.wait_run(1)
    posts = bot.candidate_posts(run.id)
    bot.react(posts[0]["ts"], "+1", "U2")
    bot.react(posts[1]["ts"], "-1", "U2")
    wait_until(lambda: bot.store.get_run(run.id).revealed_at, what="automatic close")
    assert bot.store.get_run(run.id).closed_by == "promptbot"
    settle(bot)
    assert len(slack.calls_to("chat.update")) == 2


def test_runs_close_after_days(bot):
    bot.command("propose old --models alpha\nHi")
    run = bot.wait_run(1)
    revealer = bot.bot.service.revealer
    assert revealer.close_due(datetime.now(UTC) + timedelta(days=1)) == []
    assert revealer.close_due(datetime.now(UTC) + timedelta(days=8)) == [run.id]
    assert bot.store.get_run(run.id).revealed_at is not None


def test_close_without_reveal_stays_blind_until_revealed(bot, slack):
    bot.command("propose quiet --models alpha,beta\nHi", user="UPROP")
    run = bot.wait_run(1)
    _, reply = bot.command("close 1", user="UPROP")
    wait_until(lambda: bot.store.get_run(run.id).closed, what="closed")
    revealer = bot.bot.service.revealer
    revealer.close_due(datetime.now(UTC))
    settle(bot)
    assert slack.calls_to("chat.update") == []
    _, reply = bot.command("reveal 1", user="UPROP")
    assert "Closing run #1" in reply["text"]
    slack.wait_for_calls("chat.update", 2)


def test_deleted_runs_are_never_revealed(bot, slack):
    from promptbot.prompts.admin import AdminService

    bot.command("propose gone --models alpha\nHi", user="UPROP")
    run = bot.wait_run(1)
    admin = AdminService(bot.store, bot.bot.config, bot.bot.runner.publisher)
    admin.delete("#1", "UPROP")
    assert bot.bot.service.revealer.close_due(datetime.now(UTC) + timedelta(days=30)) == []
    _, reply = bot.command("reveal 1", user="UPROP")
    assert reply["text"] == ":warning: run #1 was deleted"
    assert bot.store.get_run(run.id).revealed_at is None


def test_a_long_runs_reveal_key_is_cut_to_fit_one_notice(store):
    from promptbot.domain import Candidate
    from promptbot.review.reveal import KEY_BUDGET, revealed_key
    from tests.factories import posted_run

    run = posted_run(store)
    candidates = [
        Candidate(n, run.id, f"L{n}", n, "a-model-with-a-long-name", "m", n, {}, "posted")
        for n in range(400)
    ]
    key = revealed_key(run, candidates)
    assert len(key) < KEY_BUDGET + 100
    assert key.startswith("L0 = a-model-with-a-long-name")
    shown = key.count(" = ")
    assert key.endswith(f"and {400 - shown} more (each message names its model)")
    assert revealed_key(run, candidates[:2]).count(" = ") == 2
