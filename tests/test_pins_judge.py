"""The judge's records when things half go wrong, what its calls used, and its share of a
run's cost estimate (issue 16: survivors of `make mutate` in promptbot/judge/scoring.py).
The real app over HTTP, the OpenAI-compatible stand-in playing the judge."""

from tests.harness import wait_until
from tests.test_e2e_judge import JUDGE_ID, fair_judge, judge_done, judged_config, rubric_text


def test_a_pair_rubric_the_sandbox_refuses_is_a_failed_pair_with_its_reason(running, models):
    models.set_behaviour(JUDGE_ID, reply="APPROVE: yes")
    config = judged_config(models)
    config["prompts"] = {"greet": {"pair_rubric": "{{ first.__class__.__mro__ }}"}}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    (row,) = bot.store.query("SELECT outcome, forward, backward, error FROM judge_pairs")
    assert row["outcome"] is None and row["forward"] is None and row["backward"] is None
    assert row["error"].startswith("rubric refused:")
    assert len(models.requests_for(JUDGE_ID)) == 2  # the two verdicts, no pair call


def test_a_pair_read_in_one_order_only_keeps_that_answer(running, models):
    pair_calls = []

    def reads_the_first_order_only(body):
        if "BETTER:" not in rubric_text(body):
            return "APPROVE: yes"
        pair_calls.append(body)
        return "BETTER: 1" if len(pair_calls) == 1 else "Both are fine."

    models.set_behaviour(JUDGE_ID, reply=reads_the_first_order_only)
    bot = running(judged_config(models))
    bot.command("propose greet --models alpha,beta\nHi")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    (row,) = bot.store.query("SELECT outcome, forward, backward, error FROM judge_pairs")
    assert row == {
        "outcome": None,
        "forward": "first",
        "backward": None,
        "error": "the reply has no 'BETTER:' line",
    }


def test_each_verdict_records_what_the_judges_call_used_and_cost(running, models):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["models"][-1]["price"] = {"input_per_million": 1, "output_per_million": 3}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    rows = bot.store.query("SELECT tokens_in, tokens_out, cost, cached FROM judge_verdicts")
    assert len(rows) == 2
    for row in rows:
        # the rubric is long, the verdict a few lines
        assert row["tokens_in"] > row["tokens_out"] > 0, row
        expected = (row["tokens_in"] * 1 + row["tokens_out"] * 3) / 1e6
        assert abs(row["cost"] - expected) < 1e-12, row
        assert row["cached"] == 0


def test_a_prompts_own_rubric_counts_in_the_cost_estimate(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["models"][-1]["price"] = {"input_per_million": 1, "output_per_million": 1}
    config["models"][-1]["params"]["max_tokens"] = 100
    # The default rubric keeps a two-answer run well under $0.006; a prompt whose own
    # rubric is 20,000 characters longer (5,000 tokens a verdict, two verdicts) is over it.
    config["limits"] = {"run_cost_ceiling": 0.006}
    config["prompts"] = {"wordy": {"rubric": "Read closely. " * 1500 + "{{ answer }}"}}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi", user="UP")
    assert bot.wait_run(1).status == "done"
    bot.command("propose wordy --models alpha,beta\nHi", user="UP")
    (question,) = slack.wait_for(lambda: slack.ephemerals(user="UP"))
    assert "may cost up to" in question["text"]
    wait_until(lambda: bot.store.get_run(2).status == "held", what="the hold")


def test_the_judges_estimate_is_a_verdict_per_answer_and_two_calls_per_pair(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["models"][-1]["price"] = {"input_per_million": 1, "output_per_million": 1}
    config["models"][-1]["params"]["max_tokens"] = 1
    for model in config["models"][:-1]:
        model["params"] = {"max_tokens": 16}  # (free) answers of 64 characters at most
    # A 14,000-character prompt outweighs the rest: a verdict reads it once (3,500
    # tokens), a pair call twice (7,000), and a pair is asked in both orders: about
    # 24,000 tokens in all ($0.024). A third call per pair, or the prompt a third time in
    # each pair call, would be over 31,000 ($0.031).
    config["limits"] = {"run_cost_ceiling": 0.027}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\n" + "Say hello. " * 1400, user="UP")
    run = bot.wait_run(1)
    assert run.status == "done"
    assert slack.ephemerals(user="UP") == []  # not asked: under the ceiling
    judge_done(bot, run.id)
