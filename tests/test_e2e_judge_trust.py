"""Calibration end to end: the team votes over HTTP, the run is revealed, and the judge's
agreement shows in judge_trust, the digest's Judge section and `/prompt show`."""

import json

from promptbot.judge.trust import judge_trust
from promptbot.render.words import format_cost
from tests.harness import settle, wait_until
from tests.test_e2e_judge import JUDGE_ID, fair_judge, judge_done, judged_config

TEAM = ("U1", "U2", "U3")


def team_votes(bot, run_id, approve):
    """Each of three reviewers rates every candidate: +1 where ``approve(candidate)``."""
    expected = 0
    for candidate in bot.store.candidates(run_id):
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        for user in TEAM:
            bot.react(ts, "+1" if approve(candidate) else "-1", user)
            expected += 1
    wait_until(lambda: len(bot.store.ratings(run_id)) >= expected, what=f"{expected} ratings")


def judged_and_revealed(bot, run_id, text, approve, user="UP"):
    bot.command(text, user=user)
    bot.wait_run(run_id)
    judge_done(bot, run_id)
    team_votes(bot, run_id, approve)
    bot.command(f"reveal {run_id}", user=user)
    wait_until(lambda: bot.store.get_run(run_id).revealed_at, what="the reveal")
    return run_id


THREE_INPUTS = "Hi {{ x }}\n---\nx: 1\n---\nx: 2\n---\nx: 3"


def test_a_judge_that_agrees_is_trusted_and_one_that_does_not_is_not(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["models"][-1]["price"] = {"input_per_million": 10_000, "output_per_million": 20_000}
    bot = running(config)
    # The team agrees with the judge on "greet" (alpha good, beta bad) and disagrees on
    # "tone" (beta good, alpha bad).
    judged_and_revealed(
        bot,
        1,
        f"propose greet --models alpha,beta\n{THREE_INPUTS}",
        lambda c: c.model_name == "alpha",
    )
    judged_and_revealed(
        bot,
        2,
        f"propose tone --models alpha,beta\n{THREE_INPUTS}",
        lambda c: c.model_name == "beta",
    )
    config = bot.bot.config
    greet = judge_trust(bot.store, config, "greet")
    tone = judge_trust(bot.store, config, "tone")
    overall = judge_trust(bot.store, config, None)
    assert (greet.candidates, greet.kappa, greet.low, greet.trusted) == (6, 1.0, 1.0, True)
    assert (tone.candidates, tone.kappa, tone.trusted) == (6, -1.0, False)
    assert overall.candidates == 12 and overall.kappa == 0.0 and not overall.trusted
    assert greet.position_consistency == 1.0 and greet.pair_agreement == 1.0
    assert tone.pair_agreement == 0.0

    digest = bot.bot.digests.preview()
    text = json.dumps(digest.blocks, ensure_ascii=False)
    assert "*Judge* (judge: an LLM that scores every answer blind" in text
    assert (
        "*greet*: the judge agrees with the team, κ 1.00 [1.00, 1.00] over 6 candidates;"
        " trusted for pre-screening · position consistency 100% of 3 pairs" in text
    )
    assert "*tone*: not yet: κ −1.00 [−1.00, " in text
    assert "over 6 candidates (trust needs the lower bound at 0.60 or more)" in text
    assert "summary: not yet: κ 0.00" in text

    shown = shown_to(bot, slack, "greet")
    assert "says yes to 3 of 6 answers in revealed runs, 3.5★ on average" in shown
    assert "trusted for pre-screening" in shown
    # The judge's calls are priced like any call (the stand-in counts a token a word).
    (row,) = bot.store.query(
        "SELECT SUM(v.cost) AS cost FROM judge_verdicts AS v"
        " JOIN candidates AS c ON c.id = v.candidate_id WHERE c.run_id = 1"
    )
    (pairs,) = bot.store.query("SELECT SUM(cost) AS cost FROM judge_pairs WHERE run_id = 1")
    spent = row["cost"] + pairs["cost"]
    assert spent > 0
    assert f"its calls cost {format_cost(spent)} in all" in shown


def shown_to(bot, slack, name, user="UASK"):
    """What `/prompt show NAME` answers (an ephemeral, later)."""
    before = len(slack.ephemerals(user=user))
    bot.command(f"show {name}", user=user)
    found = slack.wait_for(
        lambda: len(slack.ephemerals(user=user)) > before and slack.ephemerals(user=user)
    )
    return json.dumps(found[-1]["blocks"], ensure_ascii=False)


def test_verdicts_stay_out_of_show_and_calibration_until_reveal(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    bot = running(judged_config(models))
    bot.command(f"propose greet --models alpha,beta\n{THREE_INPUTS}", user="UP")
    bot.wait_run(1)
    judge_done(bot, 1)
    team_votes(bot, 1, lambda c: c.model_name == "alpha")
    settle(bot)
    assert len(bot.store.judge.verdicts([c.id for c in bot.store.candidates(1)])) == 6
    assert judge_trust(bot.store, bot.bot.config, "greet").candidates == 0
    shown = shown_to(bot, slack, "greet")
    assert "no verdicts in revealed runs yet" in shown and "says yes" not in shown
    digest = json.dumps(bot.bot.digests.preview().blocks, ensure_ascii=False)
    assert "summary: not yet: no judged candidate has enough human ratings" in digest
