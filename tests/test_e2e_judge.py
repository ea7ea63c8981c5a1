"""The LLM judge against the real app over HTTP: the OpenAI-compatible stand-in plays
both the candidate models and a judge model that replies in the rubric's format, and the
Slack stand-in records the thread."""

import json

from promptbot.prompts.export import build_export
from promptbot.standins.openai_api import content_text
from tests.harness import bot_config, settle, wait_until

JUDGE_ID = "judge-id"


def judged_config(models, **judge):
    config = bot_config(models)
    config["models"].append(
        {
            "name": "judge",
            "model": JUDGE_ID,
            "base_url": models.base_url,
            # Generous: a judge call that times out on a loaded machine fails the test
            # for the wrong reason. Tests of the timeout pass their own.
            "timeout": judge.pop("timeout", 10),
            "max_retries": 0,
            "params": {"temperature": 0},
        }
    )
    config["judge"] = {"model": "judge", **judge}
    return config


def rubric_text(body):
    return content_text(body["messages"][-1]["content"])


def fair_judge(body):
    """Approves alpha's answers, rejects the others; prefers alpha in a pair, wherever
    it is shown."""
    text = rubric_text(body)
    if "BETTER:" in text:
        first = text.split("Answer 1:", 1)[1].split("Answer 2:", 1)[0]
        return "BETTER: 1\nREASON: alpha" if "[alpha-id]" in first else "BETTER: 2\nREASON: a"
    answer = text.split("The answer:", 1)[1]
    if "[alpha-id]" in answer:
        return "APPROVE: yes\nSTARS: 5\nREASON: says <hi> & more"
    return "**APPROVE:** no\nSTARS: 2\nREASON: not alpha"


def verdicts_of(bot, run_id, count):
    ids = [c.id for c in bot.store.candidates(run_id)]

    def enough():
        found = {**bot.store.judge.verdicts(ids), **bot.store.judge.failures(ids)}
        return found if len(found) >= count else None

    return wait_until(enough, what=f"{count} judge verdicts")


def judge_done(bot, run_id):
    # A run is "done" before the judge hears of it: its queue entry could still be to come.
    wait_until(lambda: run_id in bot.finished, what="the judge told of the finished run")
    wait_until(lambda: run_id not in bot.store.judge.queued(), what="the judge to finish")


def test_the_judge_scores_blind_after_posting_and_shows_only_on_reveal(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi {{ name }}\n---\nname: Ann", user="UP")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    alpha, beta = sorted(bot.store.candidates(run.id), key=lambda c: c.model_name)
    verdicts = bot.store.judge.verdicts([alpha.id, beta.id])
    assert (verdicts[alpha.id].approval, verdicts[alpha.id].stars) == (1.0, 5.0)
    assert (verdicts[beta.id].approval, verdicts[beta.id].stars) == (0.0, 2.0)
    (pair,) = bot.store.judge.pairs(run.id)
    winner = pair.first_id if pair.outcome == "first" else pair.second_id
    assert (winner, pair.consistent) == (alpha.id, True)

    # Blind: the judge saw neither the model's name nor the label, and got the input.
    for request in models.requests_for(JUDGE_ID):
        text = rubric_text(request.__dict__)
        assert "alpha" not in text.replace("[alpha-id]", "")
        assert "name: Ann" in text and "Hi {{ name }}" in text
    # Its calls were priced and cached like any model call.
    judge_requests = len(models.requests_for(JUDGE_ID))
    assert judge_requests == 2 + 2  # a verdict per candidate, a pair in both orders

    # Never in the thread, nor counted as a vote, while the run is open.
    settle(bot)
    assert not any("Judge says" in m["text"] for m in slack.thread("C1", run.thread_ts))
    assert bot.store.ratings() == []
    exported = json.loads(build_export(bot.store, None, "json", _now()).content)
    assert exported["judge_verdicts"] == [] and exported["judge_pairs"] == []

    bot.command("reveal 1", user="UP")
    said = wait_until(
        lambda: [m for m in slack.thread("C1", run.thread_ts) if "Judge says" in m["text"]],
        what="the judge's notice",
    )
    text = json.dumps(said[0]["blocks"], ensure_ascii=False)
    assert "position consistency 1 of 1 pair" in text
    assert "says &lt;hi&gt; &amp; more" in text  # the judge's words are escaped
    assert f"*{alpha.label}*: :+1: yes · 5★" in text
    assert f"*{beta.label}*: :-1: no · 2★" in text
    assert bot.store.ratings() == []
    # The notice is posted just before the run is marked revealed; the export follows that.
    wait_until(lambda: bot.store.get_run(1).revealed_at, what="the run marked revealed")
    exported = json.loads(build_export(bot.store, None, "json", _now()).content)
    rows = {r["candidate_id"]: r for r in exported["judge_verdicts"]}
    assert rows[alpha.id]["approval"] == 1.0 and rows[alpha.id]["model"] == "judge"
    assert exported["judge_pairs"][0]["consistent"] is True


def test_a_judge_that_follows_the_position_makes_ties(running, models):
    def first_wins(body):
        if "BETTER:" in rubric_text(body):
            return "BETTER: 1"
        return "APPROVE: yes"

    models.set_behaviour(JUDGE_ID, reply=first_wins)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta,gamma\nHi")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    pairs = bot.store.judge.pairs(run.id)
    assert len(pairs) == 3  # every two of three answers to the one input
    assert {(p.outcome, p.consistent) for p in pairs} == {("tie", False)}
    rows = bot.store.query("SELECT forward, backward FROM judge_pairs")
    assert {(r["forward"], r["backward"]) for r in rows} == {("first", "second")}


def test_an_unreadable_reply_is_a_failed_verdict_with_its_reason(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply="Both look fine to me!")
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi", user="UP")
    run = bot.wait_run(1)
    assert run.status == "done"
    found = verdicts_of(bot, run.id, 2)
    assert set(found.values()) == {"the reply has no 'APPROVE:' line"}
    judge_done(bot, run.id)
    assert bot.store.judge.pairs(run.id) == []
    (row,) = bot.store.query("SELECT outcome, error FROM judge_pairs")
    assert row == {"outcome": None, "error": "the reply has no 'BETTER:' line"}
    bot.command("reveal 1", user="UP")
    said = wait_until(
        lambda: [m for m in slack.thread("C1", run.thread_ts) if "Judge says" in m["text"]],
        what="the judge's notice",
    )
    assert "no verdict (the reply has no 'APPROVE:' line)" in json.dumps(said[0]["blocks"])
    # The digest says the judge could not be read, rather than only "no data".
    digest = json.dumps(bot.bot.digests.preview().blocks, ensure_ascii=False)
    assert (
        "summary: not yet: no judged candidate has enough human ratings"
        " · 2 of 2 verdicts failed or unreadable" in digest
    )


def test_a_failing_judge_neither_delays_nor_breaks_posting(running, models):
    models.set_behaviour(JUDGE_ID, status=500)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi")
    run = bot.wait_run(1)
    assert run.status == "done" and len(bot.candidate_posts(run.id)) == 2
    found = verdicts_of(bot, run.id, 2)
    assert set(found.values()) == {"the judge's call failed: model API answered HTTP 500"}
    judge_done(bot, run.id)


def test_a_slow_judge_is_asked_only_after_the_candidates_are_posted(running, models):
    models.set_behaviour(JUDGE_ID, latency=30)
    bot = running(judged_config(models, timeout=1))
    bot.command("propose greet --models alpha,beta\nHi")
    # The judge is still thinking (it will time out) while the thread is complete.
    wait_until(lambda: models.in_flight(JUDGE_ID), what="a judge call in flight")
    run = bot.store.get_run(1)
    assert run.status == "done" and len(bot.candidate_posts(run.id)) == 2
    earliest = min(r.time for r in models.requests_for(JUDGE_ID))
    latest = max(r.time for r in models.requests if r.model != JUDGE_ID)
    assert earliest >= latest
    found = verdicts_of(bot, run.id, 2)
    assert set(found.values()) == {"the judge's call failed: timed out after 1 s"}


def test_a_rubric_runs_in_the_sandbox_and_a_refused_one_fails_alone(running, models):
    models.set_behaviour(JUDGE_ID, reply="APPROVE: yes")
    config = judged_config(models)
    config["prompts"] = {"greet": {"rubric": "{{ answer.__class__.__mro__ }}"}}
    bot = running(config)
    bot.command("propose greet --models alpha\nHi")
    run = bot.wait_run(1)
    found = verdicts_of(bot, run.id, 1)
    (reason,) = found.values()
    assert reason.startswith("rubric refused:")
    assert models.requests_for(JUDGE_ID) == []


def test_a_prompt_may_turn_the_judge_off(running, models):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["prompts"] = {"quiet": {"judge": False}}
    bot = running(config)
    bot.command("propose quiet --models alpha,beta\nHi")
    bot.wait_run(1)
    bot.command("propose loud --models alpha,beta\nHi")
    bot.wait_run(2)
    judge_done(bot, 2)
    assert bot.store.judge.verdicts([c.id for c in bot.store.candidates(1)]) == {}
    assert len(bot.store.judge.verdicts([c.id for c in bot.store.candidates(2)])) == 2


def restarted_and_judged(running, models):
    """A new process over the same database, with a judge that answers: run 1, queued
    before the restart, is judged (its entry goes once the judge is done)."""
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    second = running(judged_config(models))
    wait_until(lambda: second.store.judge.queued() == [], what="the judge to finish")
    assert len(second.store.judge.verdicts([c.id for c in second.store.candidates(1)])) == 2
    return second


def test_a_restart_finishes_what_the_judge_left(running, models, tmp_path):
    models.set_behaviour(JUDGE_ID, latency=30)
    first = running(judged_config(models, timeout=20))
    first.command("propose greet --models alpha,beta\nHi")
    first.wait_run(1)
    wait_until(lambda: models.in_flight(JUDGE_ID), what="a judge call in flight")
    assert first.store.judge.queued() == [1]
    first.close()
    second = restarted_and_judged(running, models)
    assert len(second.store.judge.pairs(1)) == 1


def test_a_run_that_ends_just_before_a_crash_is_still_judged(running, models):
    # The process dies after the run's end is stored, before the judge hears of it: the
    # run was queued with its end, so the next start judges it.
    first = running(judged_config(models))
    first.bot.runner.when_finished.remove(first.bot.services.judge.run_finished)
    first.command("propose greet --models alpha,beta\nHi")
    first.wait_run(1)
    assert first.store.judge.queued() == [1]
    first.close()
    restarted_and_judged(running, models)


def _now():
    from datetime import UTC, datetime

    return datetime.now(UTC)


def test_judge_verdicts_never_enter_the_human_evidence(running, models):
    from promptbot.review.scales import RatingScales
    from storage.evidence import load_evidence

    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi", user="UP")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    beta = next(c for c in bot.store.candidates(run.id) if c.model_name == "beta")
    (ts,) = bot.store.candidate_message_ts(beta.id)
    bot.react(ts, "+1", "U2")
    wait_until(lambda: bot.store.ratings(), what="the rating")
    bot.command("reveal 1", user="UP")
    wait_until(lambda: bot.store.get_run(1).revealed_at, what="the reveal")
    evidence = load_evidence(bot.store, RatingScales(bot.bot.config.scales), _now())
    assert [(r.candidate_id, r.user_id) for r in evidence.ratings] == [(beta.id, "U2")]


def test_a_run_told_finished_again_is_judged_once(running, models):
    models.set_behaviour(JUDGE_ID, reply=fair_judge, latency=0.3)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi")
    bot.wait_run(1)
    wait_until(lambda: models.in_flight(JUDGE_ID), what="a judge call in flight")
    (judge_finished,) = bot.bot.runner.when_finished[:1]
    judge_finished(1)  # as a resumed run finishing, while the judge is still at it
    judge_done(bot, 1)
    assert len(models.requests_for(JUDGE_ID)) == 4
    judge_finished(1)  # all judged: nothing is asked again
    judge_done(bot, 1)
    assert len(models.requests_for(JUDGE_ID)) == 4


def test_the_judges_calls_count_towards_the_cost_ceiling(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    # The candidates are free; only the judge costs: $1 for a million tokens either way.
    config["models"][-1]["price"] = {"input_per_million": 1, "output_per_million": 1}
    config["models"][-1]["params"]["max_tokens"] = 100
    # Two free answers cost nothing, but the judge will spend at least 2 verdicts and
    # 2 pair calls of 100 answer tokens each: over a ceiling of $0.0002.
    config["limits"] = {"run_cost_ceiling": 0.0002}
    config["prompts"] = {"quiet": {"judge": False}}
    bot = running(config)
    bot.command("propose quiet --models alpha,beta\nHi", user="UP")
    assert bot.wait_run(1).status == "done"  # not judged: under the ceiling
    bot.command("propose greet --models alpha,beta\nHi", user="UP")
    (question,) = slack.wait_for(lambda: slack.ephemerals(user="UP"))
    assert "may cost up to" in question["text"]
    wait_until(lambda: bot.store.get_run(2).status == "held", what="the hold")
