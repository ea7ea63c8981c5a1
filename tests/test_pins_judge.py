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
    (pair,) = bot.store.query("SELECT cost FROM judge_pairs")
    assert pair["cost"] > 0  # both orders' calls, priced the same way


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


def test_both_answers_at_their_longest_count_in_a_pairs_estimate(running, models, slack):
    models.set_behaviour(JUDGE_ID, reply=fair_judge)
    config = judged_config(models)
    config["models"][-1]["price"] = {"input_per_million": 1, "output_per_million": 1}
    config["models"][-1]["params"]["max_tokens"] = 1
    for model in config["models"][:-1]:
        model["params"] = {"max_tokens": 4000}  # (free) answers of 16,000 characters at most
    # Each verdict reads one answer at its longest (4,000 tokens), each pair call both
    # (8,000), twice: about 25,000 tokens in all, over a $0.020 ceiling.
    config["limits"] = {"run_cost_ceiling": 0.020}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi", user="UP")
    (question,) = slack.wait_for(lambda: slack.ephemerals(user="UP"))
    assert "may cost up to" in question["text"]
    wait_until(lambda: bot.store.get_run(1).status == "held", what="the hold")


def test_a_compare_pair_shows_the_judge_both_prompts(running, models):
    asked = []

    def judge(body):
        text = rubric_text(body)
        if "BETTER:" not in text:
            return "APPROVE: yes"
        asked.append(text)
        return "BETTER: 1"

    models.set_behaviour(JUDGE_ID, reply=judge)
    models.set_behaviour("alpha-id", reply=lambda request: request["messages"][-1]["content"])
    pair_rubric = "Prompts:\n{{ prompt }}\nA: {{ first }}\nB: {{ second }}\nBETTER: 1, 2 or tie"
    bot = running(judged_config(models, pair_rubric=pair_rubric))
    bot.command("propose tone --models alpha\nPolite: {{ x }}\n---\nx: one")
    bot.wait_run(1)
    bot.command("propose tone --models alpha\nBlunt: {{ x }}\n---\nx: one")
    bot.wait_run(2)
    bot.command("compare tone@v1 tone@v2 --models alpha")
    run = bot.wait_run(3)
    judge_done(bot, run.id)
    assert len(asked) == 2  # one pair, both orders
    # the two versions' templates, in the thread's order of their answers
    polite, blunt = "Polite: {{ x }}", "Blunt: {{ x }}"
    both = {f"Prompts:\n{a}\n--- or ---\n{b}\n" for a, b in ((polite, blunt), (blunt, polite))}
    assert all(any(text.startswith(shown) for shown in both) for text in asked), asked
