"""What a newcomer met in the first hour: compares named as compares, reruns that keep
the prompt's models after a compare, and a Home tab that says what it counts."""

import re

from promptbot.render.terminal import blocks_to_text
from promptbot.standins import payloads
from tests import factories
from tests.harness import wait_until


def _two_versions(bot):
    bot.command("propose greet --models alpha,beta\nHello {{ who }}\n---\nwho: Ada")
    bot.wait_run(1)
    bot.command("propose greet --models alpha,beta\nHi {{ who }}\n---\nwho: Ada")
    bot.wait_run(2)


def test_a_compare_is_named_by_both_versions(bot, slack):
    _two_versions(bot)

    _, reply = bot.command("compare greet@v1 greet@v2")

    assert reply["text"].startswith("Started *greet v1 vs v2* (run #3)")
    bot.wait_run(3)
    post = wait_until(lambda: bot.candidate_posts(1), what="a candidate")[0]
    bot.react(post["ts"], "+1", "UREV")  # UREV now reviews in C1
    wait_until(lambda: bot.store.ratings(), what="the rating")
    bot.event(payloads.app_home_opened_event("UREV"))
    view = wait_until(lambda: slack.home_view("UREV"), what="the Home tab")
    assert re.search(r"• greet v1 vs v2 \(\S+\) — run #3", blocks_to_text(view["blocks"]))


def test_a_rerun_after_a_compare_keeps_the_prompts_models(bot, models):
    _two_versions(bot)
    bot.command("compare greet@v2 greet@v1")
    assert bot.wait_run(3).models == ["alpha"]  # a compare asks one model

    bot.command("rerun greet")

    rerun = bot.wait_run(4)
    assert rerun.models == ["alpha", "beta"]
    assert rerun.inputs == [{"who": "Ada"}]


def test_a_rerun_of_a_version_only_compared_takes_the_prompts_latest_models(bot):
    _two_versions(bot)
    bot.command("propose other --models gamma\nYo {{ who }}\n---\nwho: Bo")
    bot.wait_run(3)
    bot.command("compare other@v1 greet@v1")
    bot.wait_run(4)

    bot.command("rerun other")

    assert bot.wait_run(5).models == ["gamma"]


def test_home_says_what_it_counts_when_open_runs_are_elsewhere(bot, slack):
    store = bot.store
    factories.posted_run(store, "theirs", "UPROP", channel="CPRIVATE")
    factories.posted_run(store, "mine", "UNEW", channel="CMINE")
    # UNEW took part in CMINE only; the run in CPRIVATE is open and lacks their vote.

    bot.event(payloads.app_home_opened_event("UNEW"))
    view = wait_until(lambda: slack.home_view("UNEW"), what="the Home tab")

    waiting = blocks_to_text(view["blocks"]).split("Your proposals")[0]
    assert "every open run has your vote" not in waiting
    assert "every open run counted here has your vote" in waiting
    assert "channels where you proposed or reviewed" in waiting
    assert "Not listed: 1 open run in other channels" in waiting
    assert "theirs" not in waiting and "CPRIVATE" not in waiting


def test_home_with_nothing_open_says_so(bot, slack):
    bot.event(payloads.app_home_opened_event("UNEW"))
    view = wait_until(lambda: slack.home_view("UNEW"), what="the Home tab")

    waiting = blocks_to_text(view["blocks"]).split("Your proposals")[0]
    assert "no run is open for votes" in waiting and "Not listed" not in waiting
