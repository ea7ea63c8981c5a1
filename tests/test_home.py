"""The App Home tab: published on app_home_opened within Slack's limits, escaped, with
runs waiting for you, your proposals, the leaderboard top, and two working buttons."""

import json
import threading

import pytest

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


def test_the_board_from_columns_is_the_board_from_rating_rows(tmp_path):
    # The Home tab reads standings as the digest does (columns); they must be what the
    # rating rows give, late ratings and pairwise votes included.
    import random
    from datetime import UTC, datetime, timedelta

    from promptbot.config.settings import AppConfig
    from promptbot.home import work_out_board
    from promptbot.review.scales import RatingScales
    from promptbot.verdicts.judgements import judgements_from_rows
    from promptbot.verdicts.version_standings import leaderboard, standings
    from storage import Store
    from storage.evidence import load_evidence
    from tests.test_digest_inputs import posted, rate_some

    store = Store(tmp_path / "t.db")
    config = AppConfig.model_validate({"digest": {"min_votes": 2}})
    rng = random.Random(11)
    runs = [posted(store, f"p{i % 3}", ["m1", "m2", "m3"], i) for i in range(7)]
    rate_some(store, runs, rng, range(6), "r")
    store.close_run(runs[0].id, "UP")
    rate_some(store, runs[:2], rng, range(6, 10), "late")
    now = datetime.now(UTC) + timedelta(seconds=1)

    board = work_out_board(store, config, now)
    evidence = load_evidence(store, RatingScales(config.scales), now)
    judged = judgements_from_rows([r for r in evidence.ratings if not r.late], evidence.scales)
    table = standings(judged, evidence.runs, evidence.scales, min_votes=2)
    assert board.table == table and len(table) == 7
    assert board.rows == leaderboard(table.values(), evidence.archived_prompts)
    assert any(s.ranked_by is not None for s in table.values())


def test_standings_are_reused_while_young_compared_with_their_cost(bot, monkeypatch):
    from promptbot import home

    now = [100.0]
    worked = []

    def work_out(store, config, at):
        worked.append(at)
        now[0] += 0.5  # it took half a second
        return home.Board({}, ())

    monkeypatch.setattr(home, "work_out_board", work_out)
    standings = home.HomeStandings(bot.store, bot.bot.config, clock=lambda: now[0])
    first = standings.board()
    now[0] += 9.9  # within 20 x 0.5 s of when it was worked out
    assert standings.board() is first and len(worked) == 1
    now[0] += 0.1
    assert standings.board() is not first and len(worked) == 2


@pytest.fixture
def slow_board(monkeypatch):
    """Standings that take until the returned event is set (as a million ratings take
    seconds); set at the end of the test whatever happens."""
    from promptbot import home

    release = threading.Event()
    real = home.work_out_board

    def slow(store, config, at):
        assert release.wait(30)
        return real(store, config, at)

    monkeypatch.setattr(home, "work_out_board", slow)
    yield release
    release.set()


def test_a_slow_home_view_does_not_hold_up_the_ratings_behind_it(
    running, models, slack, slow_board
):
    # The Home view is built off the inbox's worker: while its standings are being worked
    # out (at a million ratings, a second or more), ratings sent after it are stored.
    release = slow_board
    bot = running(bot_config(models, digest={"min_votes": 1}))
    bot.command("propose tone --models alpha\nHi")
    bot.wait_run(1)
    (post,) = bot.candidate_posts(1)
    bot.event(payloads.app_home_opened_event("U1"))
    bot.react(post["ts"], "+1", "U3")
    wait_until(lambda: len(bot.store.ratings(1)) == 1, what="the rating behind the Home view")
    assert slack.home_view("U1") is None  # still being worked out
    release.set()
    view = wait_until(lambda: slack.home_view("U1"), what="the Home view")
    assert "tone v1" in text_of(view).split("Your proposals")[1]


def test_a_crowd_opening_home_never_takes_the_threads_that_post_runs(running, slack, slow_board):
    # Twenty Home views wait on their standings (slow, at a million ratings); a proposal
    # made meanwhile is posted all the same, and every view follows once they are ready.
    bot = running()
    users = [f"UCROWD{i}" for i in range(20)]
    for user in users:
        bot.event(payloads.app_home_opened_event(user))
    bot.command("propose meanwhile --models alpha,beta\nHi")
    assert bot.wait_run(1, timeout=15).status == "done"
    assert len(bot.candidate_posts(1)) == 2
    assert all(slack.home_view(user) is None for user in users)
    slow_board.set()
    wait_until(lambda: all(slack.home_view(user) for user in users), what="every Home view")
