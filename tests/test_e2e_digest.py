"""Votes → /prompt digest and /prompt leaderboard, over HTTP against the stand-ins."""

from promptbot.render.terminal import blocks_to_text
from tests.harness import bot_config, wait_until


def vote(bot, run, preferences):
    """preferences: user -> the model they give 👍 (the other gets 👎)."""
    candidates = {c.model_name: c for c in bot.store.candidates(run.id)}
    expected = 0
    for user, liked in preferences.items():
        for model, candidate in candidates.items():
            (ts,) = bot.store.candidate_message_ts(candidate.id)
            bot.react(ts, "+1" if model == liked else "-1", user)
            expected += 1
    wait_until(lambda: len(bot.store.ratings()) == expected, what=f"{expected} ratings")


def ephemeral_text(slack, user, count=1):
    found = slack.wait_for(
        lambda: len(slack.ephemerals(user=user)) >= count and slack.ephemerals(user=user)
    )
    message = found[count - 1]
    return blocks_to_text(message["blocks"]), message


def test_digest_names_the_clear_winner(bot, slack):
    bot.command("propose duel --models alpha,beta\nHi")
    run = bot.wait_run(1)
    vote(bot, run, {f"U{i}": "alpha" for i in range(12)})
    status, reply = bot.command("digest", user="UASK")
    assert status == 200 and "moment" in reply["text"]
    text, message = ephemeral_text(slack, "UASK")
    assert "alpha" in text
    models_line = next(line for line in text.splitlines() if "alpha" in line)
    assert "not yet separable" not in models_line
    assert message["channel"] == "C1"

    bot.command("leaderboard models", user="UASK")
    text, _ = ephemeral_text(slack, "UASK", 2)
    lines = [line for line in text.splitlines() if "alpha" in line or "beta" in line]
    assert lines and "alpha" in lines[0]


def test_close_votes_are_not_yet_separable(bot, slack):
    bot.command("propose tied --models alpha,beta\nHi")
    run = bot.wait_run(1)
    vote(bot, run, {f"U{i}": ("alpha" if i % 2 else "beta") for i in range(12)})
    bot.command("digest", user="UASK")
    text, _ = ephemeral_text(slack, "UASK")
    assert "not yet separable" in text.lower()


def test_leaderboard_usage_error(bot):
    _, reply = bot.command("leaderboard sideways")
    assert reply["text"] == ":warning: usage: /prompt leaderboard [prompts|models] [week|month|all]"


def test_scheduled_digest_is_caught_up_at_start(running, models, slack):
    config = bot_config(models, digest={"channels": ["CDIGEST"], "schedule": "* * * * *"})
    bot = running(config)
    bot.command("propose sched --models alpha,beta\nHi")
    bot.wait_run(1)
    bot.bot.start_jobs()
    posted = slack.wait_for(lambda: slack.messages("CDIGEST"), timeout=10)
    assert len(posted) == 1
    assert posted[0]["metadata"]["event_type"] == "promptbot_digest"
    assert "Prompt digest" in posted[0]["text"]


def test_start_jobs_schedules_reminders_and_closing(running, models):
    bot = running(bot_config(models, reminders={"enabled": True, "schedule": "0 10 * * 1-5"}))
    bot.bot.start_jobs()
    jobs = {job.id for job in bot.bot.scheduler.scheduler.get_jobs()}
    assert {"digest", "close-runs", "reminders"} <= jobs


def react_all(bot, candidate, reactions):
    """reactions: (user, emoji) pairs on one candidate's message."""
    (ts,) = bot.store.candidate_message_ts(candidate.id)
    for user, emoji in reactions:
        bot.react(ts, emoji, user)


def test_five_five_star_votes_do_not_beat_ninety_of_a_hundred_approvals(bot, slack):
    bot.command("propose fives --models alpha\nHi")
    (fives,) = bot.store.candidates(bot.wait_run(1).id)
    bot.command("propose nineties --models alpha\nHi")
    (nineties,) = bot.store.candidates(bot.wait_run(2).id)
    react_all(bot, fives, [(f"S{i}", "five") for i in range(5)])
    react_all(bot, nineties, [(f"A{i}", "+1" if i < 90 else "-1") for i in range(100)])
    wait_until(lambda: len(bot.store.ratings()) == 105, what="105 ratings", timeout=20)

    bot.command("leaderboard", user="UASK")
    text, _ = ephemeral_text(slack, "UASK")
    ranked = [line for line in text.splitlines() if line.lstrip()[:3] in ("1. ", "2. ")]
    assert "nineties v1" in ranked[0] and "approval 90% [83%–94%], n = 100" in ranked[0]
    assert "fives v1" in ranked[1] and "mean 5.0 [" in ranked[1]
    assert "mean 5.0 [5.0–5.0]" not in text  # five identical votes are not certainty


def test_a_review_on_both_scales_is_one_comparison(bot, slack):
    bot.command("propose duel --models alpha,beta\nHi")
    candidates = {c.model_name: c for c in bot.store.candidates(bot.wait_run(1).id)}
    reviewers = [f"U{i}" for i in range(6)]
    react_all(bot, candidates["alpha"], [(u, e) for u in reviewers for e in ("+1", "five")])
    react_all(bot, candidates["beta"], [(u, e) for u in reviewers for e in ("-1", "two")])
    wait_until(lambda: len(bot.store.ratings()) == 24, what="24 ratings")

    bot.command("digest", user="UASK")
    text, _ = ephemeral_text(slack, "UASK")
    models = text.split("Models overall", 1)[1]
    alpha = next(line for line in models.splitlines() if "alpha" in line)
    assert "· 6 comparisons ·" in alpha  # six reviewers, each counted once
    assert "score 56% [" in text and "n = 12 (approval 50%, n = 12; mean 3.5, n = 12)" in text
