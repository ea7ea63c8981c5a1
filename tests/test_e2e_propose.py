"""Propose → run → blind candidates in the thread, over real HTTP."""

import json

from promptbot.standins.blockkit import check_blocks
from tests.harness import MODEL_NAMES, bot_config


def test_propose_by_command_posts_blind_candidates(bot, slack, models):
    for name in MODEL_NAMES:  # answers that do not name the model
        models.set_behaviour(f"{name}-id", reply=lambda request: "Hello, Ada")
    status, reply = bot.command("propose greet\nSay hello to {{ who }}\n---\nwho: Ada")
    assert status == 200
    assert "Started *greet v1*" in reply["text"]
    run = bot.wait_run(1)
    assert run.status == "done"
    parent = slack.find_message("C1", run.thread_ts)
    assert "greet" in parent["text"]
    posts = bot.candidate_posts(run.id)
    assert [p["blocks"][0]["text"]["text"].split("*")[1] for p in posts] == [
        "Candidate A",
        "Candidate B",
        "Candidate C",
    ]
    body = json.dumps(posts)
    for name in MODEL_NAMES:
        assert f"{name}-id" not in body and f"[{name}" not in body
    candidates = bot.store.candidates(run.id)
    assert sorted(c.model_name for c in candidates) == sorted(MODEL_NAMES)
    assert all(c.output == "Hello, Ada" for c in candidates)
    assert models.requests[0].messages == [{"role": "user", "content": "Say hello to Ada"}]
    assert all(c.tokens_in and c.tokens_out and c.latency_ms is not None for c in candidates)
    assert {c.finish_reason for c in candidates} == {"stop"}
    # Each candidate got the approval emoji seeded by the bot.
    slack.wait_for_calls("reactions.add", 6)
    seeded = {(c.params["timestamp"], c.params["name"]) for c in slack.calls_to("reactions.add")}
    assert seeded == {(p["ts"], e) for p in posts for e in ("+1", "-1")}
    posted = slack.calls_to("chat.postMessage")
    assert all(c.params.get("unfurl_links") is False for c in posted)


def test_label_order_is_shuffled_per_run(bot):
    orders = set()
    for number in range(8):
        bot.command(f"propose p{number}\nHi")
        run = bot.wait_run(number + 1)
        orders.add(tuple(c.model_name for c in bot.store.candidates(run.id)))
    assert len(orders) > 1


def test_propose_by_modal(bot, slack):
    status, reply = bot.command("new")
    assert status == 200 and reply is None
    (call,) = slack.wait_for_calls("views.open")
    view = call.params["view"]
    assert check_blocks(view["blocks"], "modal") == []
    status, reply = bot.submit_view(
        view,
        {
            "name": {"name": {"type": "plain_text_input", "value": "from-modal"}},
            "template": {"template": {"type": "plain_text_input", "value": "Echo {{ x }}"}},
            "system_prompt": {"system_prompt": {"type": "plain_text_input", "value": "Be brief"}},
            "models": {
                "models": {
                    "type": "multi_static_select",
                    "selected_options": [{"value": "alpha"}, {"value": "beta"}],
                }
            },
            "variables": {"variables": {"type": "plain_text_input", "value": "x: 1\n---\nx: 2"}},
        },
    )
    assert status == 200 and not reply
    run = bot.wait_run(1)
    assert run.version.system_prompt == "Be brief"
    assert run.inputs == [{"x": "1"}, {"x": "2"}]
    assert len(bot.candidate_posts(run.id)) == 4
    assert bot.models.requests[0].messages[0] == {"role": "system", "content": "Be brief"}


def test_modal_errors_land_on_the_fields(bot, slack):
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    status, reply = bot.submit_view(
        call.params["view"],
        {
            "name": {"name": {"type": "plain_text_input", "value": "bad name"}},
            "template": {"template": {"type": "plain_text_input", "value": "{% if %}"}},
            "models": {"models": {"type": "multi_static_select", "selected_options": []}},
            "variables": {"variables": {"type": "plain_text_input", "value": None}},
        },
    )
    assert status == 200
    assert reply["response_action"] == "errors"
    assert set(reply["errors"]) == {"name", "template"}
    assert "syntax error on line 1" in reply["errors"]["template"]
    assert bot.store.recent_runs(5) == []


def test_help_list_and_unknown(bot, slack):
    _, reply = bot.command("help")
    assert "/prompt propose" in reply["text"]
    _, reply = bot.command("dance")
    assert "Unknown subcommand `dance`" in reply["text"]
    bot.command("propose listed\nHi")
    run = bot.wait_run(1)
    _, reply = bot.command("list")
    text = json.dumps(reply["blocks"])
    assert "listed v1" in text and run.permalink in text


def test_oversized_prompt_is_refused_without_a_model_call(bot, models):
    status, reply = bot.command("propose huge\n" + "x" * 100_000)
    assert status == 200
    assert reply["text"].startswith(":warning: template is 97 KB; the limit is 16 KB")
    assert models.requests == []
    assert bot.store.recent_runs(5) == []


def test_template_errors_are_one_clear_line(bot, slack, models):
    _, reply = bot.command("propose broken\nHello {{ name ")
    assert "template syntax error on line 1" in reply["text"]
    _, reply = bot.command("propose needs\nHello {{ name }}")
    assert "missing value for template variable: name" in reply["text"]
    # Rendering is off the listener thread: a sandbox refusal comes as an ephemeral.
    _, reply = bot.command("propose escape\n{{ ''.__class__.__mro__[1].__subclasses__() }}")
    assert "Started" in reply["text"]
    assert bot.wait_run(1).status == "failed"
    (told,) = slack.wait_for_calls("chat.postEphemeral")
    assert "was not started: template refused by the sandbox" in told.params["text"]
    _, reply = bot.command("propose ok --models nope\nHi")
    assert "unknown model: nope" in reply["text"]
    assert models.requests == []


def test_failing_models_get_an_error_reply_and_others_post(running, models):
    bot = running(bot_config(models, timeout=0.5))
    models.set_behaviour("alpha-id", status=500)
    models.set_behaviour("beta-id", status=429, retry_after=0)
    models.set_behaviour("gamma-id", latency=3)  # past the 0.5 s timeout
    bot.command("propose flaky --models alpha,beta,gamma\nHi")
    run = bot.wait_run(1, timeout=30)
    errors = {c.model_name: c.error for c in bot.store.candidates(run.id)}
    assert errors == {
        "alpha": "model API answered HTTP 500",
        "beta": "rate limited by the model API (429), retries exhausted",
        "gamma": "timed out after 0.5 s",
    }
    # max_retries=2: the first call and two retries for 500 and 429.
    assert len(models.requests_for("alpha-id")) == 3
    posts = bot.candidate_posts(run.id)
    assert len(posts) == 3
    assert all("No answer" in p["blocks"][0]["text"]["text"] for p in posts)


def test_one_failure_does_not_stop_the_others(bot, models):
    models.set_behaviour("beta-id", status=500)
    bot.command("propose mixed\nHi")
    run = bot.wait_run(1)
    by_model = {c.model_name: c for c in bot.store.candidates(run.id)}
    assert by_model["beta"].error and by_model["alpha"].output and by_model["gamma"].output
    assert len(bot.candidate_posts(run.id)) == 3


def test_hostile_model_output_arrives_escaped(bot, models):
    models.set_behaviour("alpha-id", reply="<!channel> hi <@U123> see <https://evil.example|docs>")
    bot.command("propose hostile --models alpha\nHi <!here>")
    run = bot.wait_run(1)
    (post,) = bot.candidate_posts(run.id)
    text = json.dumps(post["blocks"]) + post["text"]
    assert "<!channel>" not in text and "<@U123>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text
    parent = json.dumps(bot.slack.find_message("C1", run.thread_ts)["blocks"])
    assert "<!here>" not in parent and "&lt;!here&gt;" in parent


def test_review_channel_from_config(running, models, slack):
    bot = running(bot_config(models, review_channel="CREVIEW"))
    bot.command("propose routed\nHi", channel="C1")
    run = bot.wait_run(1)
    assert run.channel == "CREVIEW"
    assert slack.find_message("CREVIEW", run.thread_ts)


def test_a_thread_slack_refuses_is_explained_to_the_proposer(bot, slack, models):
    slack.fail_next("chat.postMessage", error="channel_not_found")
    bot.command("propose nowhere --models alpha\nHi", user="UPROP")
    run = bot.wait_run(1)
    assert run.status == "failed"
    (told,) = slack.wait_for(lambda: slack.ephemerals(user="UPROP"))
    assert "could not start its review thread here (channel_not_found)" in told["text"]
    assert "Invite the bot" in told["text"]
    assert bot.store.candidates(run.id)[0].output  # the answer is kept
