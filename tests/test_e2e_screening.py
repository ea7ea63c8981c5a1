"""Pre-screening end to end: `/prompt rerun NAME --set SET --screen` refused without the
judge's trust and allowed with it (or with --force and a warning), only the answers that
need a human posted, the rest held and summarised with a way to post them, and judge
verdicts kept out of the human rankings."""

import json
import re
import threading

from promptbot.prompts.test_sets import add_test_set
from promptbot.render.screening import POST_ALL, POST_ONE
from promptbot.render.terminal import blocks_to_text
from promptbot.standins import payloads
from tests.harness import bot_config, wait_until

TEMPLATE = "Reply to {{ x }}"
# x → what alpha and beta answer, and the row's checks. The judge approves "good",
# rejects "bad", and is unsure of "meh".
ROWS = {
    "1": ("good one", "bad one", "contains: good"),  # judge and checks agree on both
    "2": ("good two", "bad two", "contains: bad"),  # they disagree on both
    "3": ("meh three", "bad three", "contains: three"),  # alpha: unsure; beta: they disagree
}


def model_reply(body):
    text = body["messages"][-1]["content"]
    x = re.search(r"Reply to (\d)", text).group(1)
    alpha, beta = ROWS[x][:2]
    return alpha if body["model"] == "alpha-id" else beta


def judge_reply(body):
    text = body["messages"][-1]["content"]
    answers = re.findall(r"<answer>\n(.*?)\n</answer>", text, re.S)
    if "Answer 1" in text:
        return "BETTER: tie\nREASON: alike"
    answer = answers[-1]
    says = "yes" if "good" in answer else ("unsure" if "meh" in answer else "no")
    return f"APPROVE: {says}\nSTARS: 3\nREASON: simulated"


def screening_bot(running, models, **judge):
    config = bot_config(
        models,
        default_models=["alpha", "beta"],
        judge={"model": "gamma", "audit_share": 0.0, **judge},
    )
    bot = running(config)
    for model in ("alpha-id", "beta-id"):
        models.set_behaviour(model, reply=model_reply)
    models.set_behaviour("gamma-id", reply=judge_reply)
    bot.command(f"propose scr --models alpha,beta\n{TEMPLATE}\n---\nx: 1", user="UPROP")
    bot.wait_run(1)
    text = "x,__expected\n" + "".join(f"{x},{row[2]}\n" for x, row in ROWS.items())
    add_test_set(
        bot.store, bot.bot.config, prompt="scr", name="s", text=text, filename="s.csv", by="U1"
    )
    return bot


def summary_of(bot, slack, run_id):
    def found():
        thread_ts = bot.store.get_run(run_id).thread_ts
        messages = slack.thread("C1", thread_ts) if thread_ts else []
        return [m for m in messages if "Screening done" in m["text"]]

    return slack.wait_for(found, timeout=10)[0]


def posted_answers(bot, run_id):
    return {c.output for c in bot.store.candidates(run_id) if c.status == "posted"}


def test_screen_is_refused_without_a_trusted_judge(running, models):
    bot = screening_bot(running, models)
    _, reply = bot.command("rerun scr --set s --screen")
    assert reply["text"].startswith(
        ":warning: --screen needs a judge the team trusts for scr, and it is not yet"
    )
    assert "--screen --force runs it anyway" in reply["text"]
    _, reply = bot.command("rerun scr --screen --force")
    assert reply["text"] == ":warning: --screen runs a whole test set: add --set SET"
    _, reply = bot.command("rerun scr --set s --force")
    assert reply["text"] == ":warning: --force goes with --screen"
    assert [s.run.id for s in bot.store.recent_runs(10)] == [1]


def test_screen_needs_a_judge_at_all(bot):
    bot.command("propose plain --models alpha\nSay {{ x }}\n---\nx: 1")
    bot.wait_run(1)
    _, reply = bot.command("rerun plain --set s --screen --force")
    assert reply["text"] == (
        ":warning: --screen needs a judge, and none scores plain (judge: in app.yaml)"
    )


def test_forced_screening_posts_only_what_needs_a_human_and_summarises_the_rest(
    running, models, slack
):
    bot = screening_bot(running, models)
    _, reply = bot.command("rerun scr --set s --screen --force", user="UPROP")
    assert "Started" in reply["text"]
    summary = summary_of(bot, slack, 2)
    thread = slack.thread("C1", bot.store.get_run(2).thread_ts)
    warning = next(m for m in thread if "Screened with --force" in m["text"])
    assert "not trusted" in warning["text"]
    # Posted: where judge and checks disagree (row 2, beta on row 3), and alpha's "meh"
    # (the judge is unsure); held: row 1, where they agree.
    assert posted_answers(bot, 2) == {"good two", "bad two", "bad three", "meh three"}
    reasons = bot.store.screening.reasons(2)
    by_output = {c.output: reasons[c.id] for c in bot.store.candidates(2)}
    assert by_output["good two"] == ["judge vs checks"]
    assert by_output["meh three"] == ["judge unsure"]
    assert by_output["bad three"] == ["judge vs checks"]
    assert by_output["good one"] == [] and by_output["bad one"] == []
    assert "4 posted here for the team" in summary["text"] and "2 held" in summary["text"]
    blocks = json.dumps(summary["blocks"])
    assert "judge says" in blocks and POST_ALL in blocks
    # Judge verdicts are not votes: nothing held has a rating, nothing is ranked on them.
    assert bot.store.ratings(2) == []

    # One held answer, from the menu; then the rest, with the button.
    bad_one = next(c for c in bot.store.candidates(2) if c.output == "bad one")
    body = payloads.block_actions_body(
        f"{POST_ONE}_0",
        f"2:{bad_one.id}",
        user_id="UPROP",
        channel_id="C1",
        selected=True,
        response_url=slack.response_url("one"),
    )
    assert bot.post(body, "application/x-www-form-urlencoded")[0] == 200
    wait_until(lambda: "bad one" in posted_answers(bot, 2), what="the chosen held answer")
    assert len(posted_answers(bot, 2)) == 5
    body = payloads.block_actions_body(
        POST_ALL, "2", user_id="UADMIN", channel_id="C1", response_url=slack.response_url("all")
    )
    assert bot.post(body, "application/x-www-form-urlencoded")[0] == 200
    wait_until(lambda: len(posted_answers(bot, 2)) == 6, what="every held answer")
    wait_until(lambda: bot.store.get_run(2).status == "done", what="the run done again")
    assert bot.store.screening.reasons(2)[bad_one.id] == ["asked for by UPROP"]


def test_the_audit_sample_is_posted_at_its_share(running, models, slack):
    bot = screening_bot(running, models, audit_share=1.0)
    bot.command("rerun scr --set s --screen --force", user="UPROP")
    summary_of(bot, slack, 2)
    assert len(posted_answers(bot, 2)) == 6
    assert all("audit sample" in why for why in bot.store.screening.reasons(2).values())


def test_a_trusted_judge_screens_without_force_or_warning(running, models, slack):
    bot = screening_bot(running, models, min_human_votes=1, trust_kappa=0.0)
    # Earn trust: the team agrees with the judge on a revealed run of the set.
    bot.command("rerun scr --set s", user="UPROP")
    run = bot.wait_run(2)
    wait_until(
        lambda: len(bot.store.judge.verdicts(c.id for c in bot.store.candidates(2))) == 6,
        what="the judge's verdicts",
    )
    for candidate in bot.store.candidates(run.id):
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        emoji = "+1" if "good" in candidate.output else "-1"
        if "meh" not in candidate.output:
            bot.react(ts, emoji, "U9")
    wait_until(lambda: len(bot.store.ratings(run.id)) == 5, what="the votes")
    bot.command(f"reveal {run.id}", user="UPROP")
    wait_until(lambda: bot.store.get_run(run.id).revealed_at, what="the reveal")

    _, reply = bot.command("rerun scr --set s --screen", user="UPROP")
    assert "Started" in reply["text"], reply
    summary_of(bot, slack, 3)
    thread = slack.thread("C1", bot.store.get_run(3).thread_ts)
    assert not any("--force" in m["text"] for m in thread)
    assert posted_answers(bot, 3) == {"good two", "bad two", "bad three", "meh three"}


def test_a_restart_while_the_judge_is_busy_decides_and_posts_once(tmp_path, slack, models):
    from tests.harness import start_bot

    config = bot_config(
        models,
        timeout=60,  # the slow judge is still waiting when the first process stops
        default_models=["alpha", "beta"],
        judge={"model": "gamma", "audit_share": 0.0},
    )
    first = start_bot(tmp_path, slack, models, config)
    for model in ("alpha-id", "beta-id"):
        models.set_behaviour(model, reply=model_reply)
    models.set_behaviour("gamma-id", reply=judge_reply, latency=30)  # never done here
    first.command(f"propose scr --models alpha,beta\n{TEMPLATE}\n---\nx: 1")
    first.wait_run(1)
    text = "x,__expected\n" + "".join(f"{x},{row[2]}\n" for x, row in ROWS.items())
    add_test_set(
        first.store, first.bot.config, prompt="scr", name="s", text=text, filename="s.csv", by="U1"
    )
    first.command("rerun scr --set s --screen --force")
    first.wait_run(2)  # every answer held: the run waits for the judge
    assert posted_answers(first, 2) == set()
    first.close()

    models.set_behaviour("gamma-id", reply=judge_reply)
    second = start_bot(tmp_path, slack, models, config)
    try:
        summary_of(second, slack, 2)
        wait_until(lambda: second.store.get_run(2).status == "done", what="the posting")
        assert posted_answers(second, 2) == {"good two", "bad two", "bad three", "meh three"}
        thread = slack.thread("C1", second.store.get_run(2).thread_ts)
        assert sum("Screening done" in m["text"] for m in thread) == 1
        assert sum("Screened with --force" in m["text"] for m in thread) == 1
    finally:
        second.close()


def screened_against_a_champion(running, models, slack, vote, **judge):
    """v1 of "scr" becomes the champion (its run over the set voted on by ``vote(bot,
    candidate, ts)`` and revealed), then v2 is screened over the set: each v2 answer's
    reasons, by (input, model). The judge approves every v2 answer."""
    config = bot_config(
        models,
        default_models=["alpha", "beta"],
        judge={"model": "gamma", "audit_share": 0.0, **judge},
        digest={"min_votes": 1},
    )
    bot = running(config)

    def replies(body):
        text = body["messages"][-1]["content"]
        if text.startswith("Respond"):  # v2 answers every input well
            return "good: " + text
        return model_reply(body)

    for model in ("alpha-id", "beta-id"):
        models.set_behaviour(model, reply=replies)
    models.set_behaviour("gamma-id", reply=judge_reply)
    bot.command(f"propose scr --models alpha,beta\n{TEMPLATE}\n---\nx: 1", user="UPROP")
    bot.wait_run(1)
    text = "x,__expected\n1,\n2,\n3,\n"  # no checks: only the judge and the champion
    add_test_set(
        bot.store, bot.bot.config, prompt="scr", name="s", text=text, filename="s.csv", by="U1"
    )
    bot.command("rerun scr --set s", user="UPROP")
    run = bot.wait_run(2)
    wait_until(
        lambda: len(bot.store.judge.verdicts(c.id for c in bot.store.candidates(2))) == 6,
        what="the judge's verdicts on v1",
    )
    for candidate in bot.store.candidates(run.id):
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        vote(bot, candidate, ts)
    bot.command(f"reveal {run.id}", user="UPROP")
    wait_until(lambda: bot.store.get_run(run.id).revealed_at, what="the reveal")

    bot.command("propose scr --models alpha,beta\nRespond to {{ x }}\n---\nx: 1", user="UPROP")
    bot.wait_run(3)
    bot.command("rerun scr v2 --set s --screen --force", user="UPROP")
    summary_of(bot, slack, 4)
    reasons = bot.store.screening.reasons(4)
    return {(c.input_index, c.model_name): reasons[c.id] for c in bot.store.candidates(4)}


def test_an_answer_the_judge_rates_unlike_the_champions_is_posted(running, models, slack):
    def vote(bot, candidate, ts):  # one vote each: too few for the team's verdict
        bot.react(ts, "+1", "U9")
        wait_until(lambda: bot.store.ratings_of([candidate.id]), what="the vote")

    by_input = screened_against_a_champion(running, models, slack, vote)
    # Of v1's answers the judge rejected the three "bad" ones and was unsure of "meh":
    # only the answers whose champion answer it rejected disagree.
    assert by_input[(0, "beta")] == ["judge vs champion"]
    assert by_input[(1, "beta")] == ["judge vs champion"]
    assert by_input[(2, "beta")] == ["judge vs champion"]
    assert by_input[(0, "alpha")] == [] and by_input[(1, "alpha")] == []
    assert by_input[(2, "alpha")] == []  # the champion's "meh": the judge was unsure


def test_the_teams_verdict_on_the_champions_answer_outweighs_the_judges(running, models, slack):
    # Two reviewers disagree with the judge on every answer of v1: they approve beta's
    # "bad" answers and reject alpha's. Screening compares v2's answers with what the
    # team said of the champion's, not with what the judge said.
    def vote(bot, candidate, ts):
        emoji = "+1" if candidate.model_name == "beta" else "-1"
        for reviewer in ("U8", "U9"):
            bot.react(ts, emoji, reviewer)
        wait_until(lambda: len(bot.store.ratings_of([candidate.id])) == 2, what="the votes")

    by_input = screened_against_a_champion(running, models, slack, vote, min_human_votes=2)
    # The team rejected all of alpha's v1 answers (the judge approved two and was unsure
    # of one) and approved beta's (the judge rejected them).
    for index in range(3):
        assert by_input[(index, "alpha")] == ["judge vs champion"]
        assert by_input[(index, "beta")] == []


def test_held_answers_are_posted_by_label_from_a_command(running, models, slack):
    bot = screening_bot(running, models)
    bot.command("rerun scr --set s --screen --force", user="UPROP")
    summary = summary_of(bot, slack, 2)
    assert "/prompt post 2 LABEL…" in summary["text"] or "/prompt post 2 LABEL" in json.dumps(
        summary["blocks"]
    )
    held = {c.output: c.label for c in bot.store.candidates(2) if c.status == "answered"}
    assert set(held) == {"good one", "bad one"}
    posted = next(c.label for c in bot.store.candidates(2) if c.status == "posted")
    _, reply = bot.command(f"post 2 {posted}", user="UPROP")
    assert reply["text"] == f":warning: run #2 holds no answer {posted}"
    _, reply = bot.command("post 1 A", user="UPROP")
    assert reply["text"] == ":warning: run #1 is not a screened run"
    _, reply = bot.command("post 2", user="UPROP")
    assert reply["text"] == ":warning: usage: /prompt post RUN LABEL… (or all)"
    _, reply = bot.command(f"post #2 {held['good one'].lower()}", user="UPROP")
    assert reply["text"] == "Posting 1 held answer in run #2's thread."
    wait_until(lambda: "good one" in posted_answers(bot, 2), what="the answer asked for")
    _, reply = bot.command("post 2 all", user="UADMIN")
    assert reply["text"] == "Posting 1 held answer in run #2's thread."
    wait_until(lambda: len(posted_answers(bot, 2)) == 6, what="the rest")


def test_only_the_proposer_or_an_admin_may_post_held_answers(running, models, slack):
    """As for reveal and close: posting a held answer changes what the team votes on."""
    bot = screening_bot(running, models)
    bot.command("rerun scr --set s --screen --force", user="UPROP")
    summary_of(bot, slack, 2)
    wait_until(lambda: bot.store.get_run(2).status == "done", what="the posting")
    held = {c.id: c.label for c in bot.store.candidates(2) if c.status == "answered"}
    refusal = "only the proposer of run #2 or an admin can post its held answers"

    _, reply = bot.command("post 2 all", user="USTRANGER")
    assert reply["text"] == f":warning: {refusal}"
    _, reply = bot.command(f"post 2 {next(iter(held.values()))}", user="USTRANGER")
    assert reply["text"] == f":warning: {refusal}"
    for action, value in ((POST_ALL, "2"), (f"{POST_ONE}_0", f"2:{next(iter(held))}")):
        body = payloads.block_actions_body(
            action,
            value,
            user_id="USTRANGER",
            channel_id="C1",
            selected=action != POST_ALL,
            response_url=slack.response_url(action),
        )
        assert bot.post(body, "application/x-www-form-urlencoded")[0] == 200
    refused = slack.wait_for(lambda: len(slack.ephemerals(user="USTRANGER")) == 2 or None)
    assert refused
    assert [m["text"] for m in slack.ephemerals(user="USTRANGER")] == [f":warning: {refusal}"] * 2
    assert bot.store.screening.held(2) == set(held)  # nothing was released
    assert len(posted_answers(bot, 2)) == 4

    # The proposer may (an admin too: the tests above).
    _, reply = bot.command("post 2 all", user="UPROP")
    assert reply["text"] == "Posting 2 held answers in run #2's thread."
    wait_until(lambda: len(posted_answers(bot, 2)) == 6, what="the held answers")


def test_a_screened_runs_answers_are_judged_as_they_arrive_and_each_once(running, models, slack):
    """A screened run posts nothing before the judge is done, so the judge does not wait
    for the run: it scores each answer once it is stored (and a pair once both are),
    while the other model is still answering, and the run's end sends nothing twice."""
    config = bot_config(
        models,
        timeout=60,
        default_models=["alpha", "beta"],
        judge={"model": "gamma", "audit_share": 0.0},
    )
    bot = running(config)
    beta_may_answer, rerun_asked = threading.Event(), threading.Event()

    def slow_beta(body):
        beta_may_answer.wait(30)
        return model_reply(body)

    def judge_after_the_run(body):
        # A pair is still being judged when the run finishes (it is asked as beta's
        # answer arrives): the run's end must not ask it again.
        if "Answer 1" in body["messages"][-1]["content"] and rerun_asked.is_set():
            wait_until(lambda: bot.store.get_run(2).status == "done", what="run 2 finished")
        return judge_reply(body)

    models.set_behaviour("alpha-id", reply=model_reply)
    models.set_behaviour("beta-id", reply=slow_beta)
    models.set_behaviour("gamma-id", reply=judge_after_the_run)
    beta_may_answer.set()  # the first run is not screened: it waits for nobody
    bot.command(f"propose scr --models alpha,beta\n{TEMPLATE}\n---\nx: 1", user="UPROP")
    bot.wait_run(1)
    wait_until(lambda: not bot.store.judge.is_queued(1), what="the judge on run 1")
    text = "x,__expected\n" + "".join(f"{x},{row[2]}\n" for x, row in ROWS.items())
    add_test_set(
        bot.store, bot.bot.config, prompt="scr", name="s", text=text, filename="s.csv", by="U1"
    )
    asked_before = len(models.requests_for("gamma-id"))
    beta_may_answer.clear()
    rerun_asked.set()
    bot.command("rerun scr --set s --fresh --screen --force", user="UPROP")
    wait_until(lambda: bot.store.candidates(2), what="run 2 recorded")
    alpha = [c.id for c in bot.store.candidates(2) if c.model_name == "alpha"]
    wait_until(lambda: len(bot.store.judge.verdicts(alpha)) == 3, what="alpha's answers judged")
    # Beta is still answering: the run is not finished, and no pair could be asked yet.
    assert all(c.status == "pending" for c in bot.store.candidates(2) if c.model_name == "beta")
    assert bot.store.judge.pairs(2) == []
    assert posted_answers(bot, 2) == set()

    beta_may_answer.set()
    summary_of(bot, slack, 2)
    assert posted_answers(bot, 2) == {"good two", "bad two", "bad three", "meh three"}
    assert len(bot.store.judge.pairs(2)) == 3
    # Six verdicts and three pairs asked both ways: nothing asked twice.
    assert len(models.requests_for("gamma-id")) - asked_before == 6 + 3 * 2


def test_held_answers_stay_out_of_the_standing_and_show_only_in_what_the_judge_says(
    running, models, slack
):
    """Judge-only verdicts are never votes: the version's standing counts the team's
    votes on the posted answers alone, and the held answers appear (once the run is
    revealed) only in the Judge part of `/prompt show`, beside it."""
    bot = screening_bot(running, models)
    bot.command("rerun scr --set s --screen --force", user="UPROP")
    summary_of(bot, slack, 2)
    wait_until(lambda: bot.store.get_run(2).status == "done", what="the posting")
    posted = [c for c in bot.store.candidates(2) if c.status == "posted"]
    assert len(posted) == 4
    for candidate in posted:
        (ts,) = bot.store.candidate_message_ts(candidate.id)
        bot.react(ts, "+1", "U9")
    wait_until(lambda: len(bot.store.ratings(2)) == 4, what="the team's votes")
    bot.command("reveal 2", user="UPROP")
    wait_until(lambda: bot.store.get_run(2).revealed_at, what="the reveal")

    bot.command("show scr", user="UASK")
    shown = slack.wait_for(lambda: slack.ephemerals(user="UASK"))[0]
    text = blocks_to_text(shown["blocks"])
    standing = text[text.index("Standing") : text.index("Cost")]
    # The team approved all four answers it saw; the judge said no to two of them and
    # to a held one, which would pull the approval down if it counted.
    assert "approval 100%" in standing and "n = 4" in standing, standing
    judge = text[text.index("Judge") :]
    assert "not counted as votes" in judge
    assert "says yes to 2 of 6 answers in revealed runs" in judge, judge
