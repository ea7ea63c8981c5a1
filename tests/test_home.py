"""The App Home tab: published on app_home_opened within Slack's limits, escaped, with
runs waiting for you, your proposals, the leaderboard top, and two working buttons."""

import json

from promptbot.home import HOME_BLOCKS, home_view
from promptbot.render.terminal import blocks_to_text
from promptbot.standins import payloads
from promptbot.standins.blockkit import check_blocks, check_view
from tests import factories
from tests.harness import bot_config, settle, wait_until

APPROVAL = {"+1": 1.0, "-1": 0.0}


def open_home(bot, user):
    before = bot.slack.home_view(user)
    bot.event(payloads.app_home_opened_event(user))
    return wait_until(
        lambda: (v := bot.slack.home_view(user)) and v != before and v, what="the Home view"
    )


def text_of(view):
    return blocks_to_text(view["blocks"])


def test_home_within_limits_with_many_runs_and_hostile_names(running, models, slack):
    bot = running(bot_config(models, digest={"min_votes": 1}))
    store = bot.store
    for i in range(60):
        rate(store, posted_run(store, f"<!channel> theirs-{i} & <@U1>", "UPROP"), "UOTHER")
    rate(store, posted_run(store, "reviewed", "UPROP"), "U2")  # U2 now reviews C1
    for i in range(40):
        rate(store, posted_run(store, f"<https://evil|mine-{i}>", "U2"), "UOTHER")

    view = open_home(bot, "U2")
    assert check_view(view) == [] and check_blocks(view["blocks"], "home") == []
    assert len(view["blocks"]) <= HOME_BLOCKS
    raw = json.dumps(view)
    assert "<!channel>" not in raw and "<@U1>" not in raw and "<https://evil" not in raw
    assert "&lt;!channel&gt; theirs-59 &amp; &lt;@U1&gt;" in raw
    text = text_of(view)
    assert "Waiting for your vote" in text and "…and 45 more" in text  # 60 waiting, 15 shown
    assert "reviewed v1" not in text.split("Your proposals")[0]  # already voted on it
    proposals = text.split("Your proposals")[1].split("Leaderboard")[0]
    assert "mine-39" in proposals and "…and 25 more" in proposals
    assert "on the leaderboard" in proposals and "approval 100%" in proposals
    assert "…and 96 more" in text.split("Leaderboard")[1]  # 101 ranked, top 5 shown


def test_home_for_a_newcomer_and_the_messages_tab(bot, slack):
    view = open_home(bot, "UNEW")
    text = text_of(view)
    assert "Nothing right now" in text and "None yet" in text and "votes yet" in text
    assert check_view(view) == []
    # Opening the Messages tab publishes nothing.
    event = payloads.app_home_opened_event("UMSG") | {"tab": "messages"}
    bot.event(event)
    settle(bot)
    assert slack.home_view("UMSG") is None


def test_waiting_runs_are_limited_to_channels_you_took_part_in(bot):
    posted_run(bot.store, "private-plan", "UPROP", channel="GSECRET")
    rate(bot.store, posted_run(bot.store, "public", "UPROP", channel="C1"), "UOTHER")
    posted_run(bot.store, "second", "UPROP", channel="C1")
    view = home_view(bot.store, bot.bot.config, "UOTHER")
    assert "second v1" in text_of(view) and "private-plan" not in text_of(view)


def test_new_prompt_button_opens_the_form(running, models, slack):
    bot = running(bot_config(models, review_channel="CREVIEW"))
    view = open_home(bot, "U2")
    (buttons,) = [b for b in view["blocks"] if b["type"] == "actions"]
    new, preview = buttons["elements"]
    assert preview["action_id"] == "home_digest_preview"
    assert (new["action_id"], new["value"]) == ("home_new_prompt", "CREVIEW")
    body = payloads.block_actions_body(
        "home_new_prompt", new["value"], user_id="U2", view=view, block_id=buttons["block_id"]
    )
    status, _ = bot.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    slack.wait_for_calls("views.open")
    (modal,) = slack.views("modal")
    assert modal["callback_id"] == "propose"
    assert json.loads(modal["private_metadata"])["channel"] == "CREVIEW"


def test_new_prompt_without_a_channel_uses_the_dm(bot, slack):
    body = payloads.block_actions_body("home_new_prompt", "", user_id="U2", view={"type": "home"})
    status, _ = bot.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    slack.wait_for_calls("views.open")
    (modal,) = slack.views("modal")
    assert json.loads(modal["private_metadata"])["channel"] == slack.dm_channel("U2")


def test_digest_preview_button_fills_a_modal(bot, slack):
    bot.command("propose previewed --models alpha,beta\nHi")
    bot.wait_run(1)
    body = payloads.block_actions_body(
        "home_digest_preview", "preview", user_id="U2", view={"type": "home"}
    )
    status, _ = bot.post(body, "application/x-www-form-urlencoded")
    assert status == 200
    slack.wait_for_calls("views.update")
    (modal,) = slack.views("modal")
    assert modal["title"]["text"] == "Digest preview"
    assert "Working out" not in text_of(modal)
    assert check_blocks(modal["blocks"], "modal") == []


def posted_run(store, name="p", author="UPROP", channel="C1"):
    return factories.posted_run(store, name, author, channel, model="alpha")


rate = factories.rate
