"""One of anything is said in the singular: every output of a scenario where there is
exactly one run, candidate, rating, comment, version, model… is scanned for "1 <plural>"."""

import json
import re

from promptbot.jobs.reminders import reminder_message
from promptbot.render.words import count
from promptbot.standins import payloads
from tests.harness import bot_config, settle, wait_until

# "1 candidates", "1 blind candidates", "1 more inputs": a one, perhaps a word, a plural.
ONE_PLURAL = re.compile(r"(?<![\d.,#v$])\b1 (?:[a-z]+ )?([a-z]+s)\b")
NOT_NOUNS = {"is", "was", "has", "does", "its", "this", "as", "us"}


def plurals_after_one(text: str) -> list[str]:
    return [m.group(0) for m in ONE_PLURAL.finditer(text) if m.group(1) not in NOT_NOUNS]


def test_the_helper():
    assert count(1, "comment") == "1 comment"
    assert count(0, "comment") == "0 comments"
    assert count(2, "blind candidate") == "2 blind candidates"
    assert count(2, "reply", "replies") == "2 replies"
    assert plurals_after_one("1 blind candidates · 1 models, 1 is fine, 21 runs") == [
        "1 blind candidates",
        "1 models",
    ]


def everything_shown(slack) -> str:
    """Every text, block, view and response_url post the app sent to Slack."""
    sent = [call.params for call in slack.calls] + [post.body for post in slack.responses]
    return json.dumps(sent, ensure_ascii=False).replace("\\n", "\n")


def test_no_output_says_1_with_a_plural(running, models, slack):
    bot = running(bot_config(models, digest={"min_votes": 1}, reminders={"min_votes": 1}))
    bot.command("propose one --models alpha\nSay {{ x }}\n---\nx: hi")
    run = bot.wait_run(1)
    (post,) = wait_until(lambda: bot.candidate_posts(1), what="the candidate")
    bot.react(post["ts"], "+1", "U2")
    reply = payloads.message_event(
        user="U2", text="nice", channel="C1", ts=payloads.new_ts(), thread_ts=run.thread_ts
    )
    bot.event(reply)
    wait_until(lambda: bot.store.ratings() and bot.store.comments(1), what="vote and comment")
    commands = ("list", "show one", "history one", "digest", "leaderboard", "delete #1")
    acks = [bot.command(command)[1] for command in (*commands, "delete one")]
    bot.event(payloads.app_home_opened_event("U1"))
    bot.event(payloads.app_home_opened_event("U3"))
    slack.wait_for_calls("chat.postEphemeral", 4)  # show, history, digest, leaderboard
    slack.wait_for_calls("views.publish", 2)
    settle(bot)
    shown = everything_shown(slack) + json.dumps(acks, ensure_ascii=False)
    reminder = reminder_message(bot.store.reminders.open_runs(), 1)
    shown += reminder.text + json.dumps(reminder.blocks)

    assert plurals_after_one(shown) == []
    # The scan saw the counts it is about.
    for phrase in ("1 blind candidate", "1 candidate, 1 rating, 1 comment", "1 version"):
        assert phrase in shown, phrase
    assert "1 answer" in shown and "1 model" in shown and "1 run waiting" in shown
