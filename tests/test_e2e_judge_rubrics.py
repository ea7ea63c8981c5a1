"""The judge's rubrics end to end, over HTTP against the real app: the head-to-head
rubric from app.yaml (the team's, or a prompt's own), and verdicts on the team's own
scales: stars asked for on the team's stars scale, or not asked for without one."""

from tests.test_e2e_judge import JUDGE_ID, judge_done, judged_config, rubric_text, verdicts_of

PAIR = "WHICH ONE<{{ first }}> TWO<{{ second }}> for {{ input }}\nBETTER: 1, 2 or tie"


def test_the_pair_rubric_comes_from_app_yaml_for_the_team_or_a_prompt(running, models):
    def judge(body):
        text = rubric_text(body)
        if text.startswith("WHICH"):
            first = text.split("ONE<", 1)[1].split(">", 1)[0]
            return "BETTER: 1" if "[alpha-id]" in first else "BETTER: 2"
        if text.startswith("OWN"):
            return "BETTER: tie"
        return "APPROVE: yes"

    models.set_behaviour(JUDGE_ID, reply=judge)
    config = judged_config(models, pair_rubric=PAIR)
    config["prompts"] = {"own": {"pair_rubric": "OWN {{ first }} | {{ second }}"}}
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi {{ name }}\n---\nname: Ann")
    greet = bot.wait_run(1)
    judge_done(bot, greet.id)
    bot.command("propose own --models alpha,beta\nHello")
    own = bot.wait_run(2)
    judge_done(bot, own.id)

    (pair,) = bot.store.judge.pairs(greet.id)
    alpha = next(c for c in bot.store.candidates(greet.id) if c.model_name == "alpha")
    winner = pair.first_id if pair.outcome == "first" else pair.second_id
    assert (winner, pair.consistent) == (alpha.id, True)  # the team's rubric, both orders
    ((_, _, outcome, consistent),) = [
        (p.first_id, p.second_id, p.outcome, p.consistent) for p in bot.store.judge.pairs(own.id)
    ]
    assert (outcome, consistent) == ("tie", True)  # the prompt's own rubric
    asked = [rubric_text(r.__dict__) for r in models.requests_for(JUDGE_ID)]
    pairs = [text for text in asked if "APPROVE" not in text]
    assert len(pairs) == 4  # a pair per run, in both orders
    assert sum(text.startswith("WHICH") for text in pairs) == 2
    assert sum(text.startswith("OWN") for text in pairs) == 2
    assert any("for name: Ann" in text for text in pairs)  # the input, rendered
    assert not any("Answer 1:" in text for text in asked)  # the default is not used


def stars_judge(body):
    text = rubric_text(body)
    if "BETTER:" in text:
        return "BETTER: tie"
    if "STARS: a whole number from 0 (poor) to 10 (excellent)" in text:
        return "APPROVE: yes\nSTARS: 8\nREASON: good"
    return "APPROVE: no\nSTARS: 4\nREASON: no scale said"


def test_the_judge_gives_stars_on_the_teams_scale(running, models):
    models.set_behaviour(JUDGE_ID, reply=stars_judge)
    config = judged_config(models)
    config["scales"] = {
        "approval": {"emoji": {"+1": 1, "-1": 0}},
        "stars": {"emoji": {"zero": 0, "five": 5, "keycap_ten": 10}, "seed": False},
    }
    bot = running(config)
    bot.command("propose greet --models alpha,beta\nHi")
    run = bot.wait_run(1)
    judge_done(bot, run.id)
    ids = [c.id for c in bot.store.candidates(run.id)]
    verdicts = bot.store.judge.verdicts(ids)
    assert {(v.approval, v.stars) for v in verdicts.values()} == {(1.0, 8.0)}


def test_without_a_stars_scale_the_judge_is_asked_for_approval_alone(running, models):
    models.set_behaviour(JUDGE_ID, reply=stars_judge)
    config = judged_config(models)
    config["scales"] = {"approval": {"emoji": {"+1": 1, "-1": 0}}}
    bot = running(config)
    bot.command("propose greet --models alpha\nHi")
    run = bot.wait_run(1)
    (verdict,) = verdicts_of(bot, run.id, 1).values()
    assert (verdict.approval, verdict.stars) == (0.0, None)
    (asked,) = [rubric_text(r.__dict__) for r in models.requests_for(JUDGE_ID)]
    assert "STARS" not in asked and "exactly these two lines" in asked
