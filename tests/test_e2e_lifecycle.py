"""Revisions meet their parent head-to-head; show, history; the cost ceiling."""

import json
from datetime import UTC, datetime, timedelta

from promptbot.digest.assembly import build_digest
from promptbot.domain import PlannedCandidate
from promptbot.render.terminal import blocks_to_text
from promptbot.review.scales import RatingScales
from storage.evidence import load_evidence
from tests.harness import bot_config, start_bot, wait_until


def revise(bot, slack, name, template, note="shorter", user="U1"):
    bot.command(f"revise {name}", user=user)
    view = slack.wait_for(
        lambda: [
            c for c in slack.calls_to("views.open") if c.params["view"]["callback_id"] == "revise"
        ]
    )[-1].params["view"]
    blocks = {b["block_id"]: b for b in view["blocks"]}
    values = {
        "note": {"note": {"type": "plain_text_input", "value": note}},
        "template": {"template": {"type": "plain_text_input", "value": template}},
        "system_prompt": {"system_prompt": {"type": "plain_text_input", "value": None}},
        "models": {
            "models": {
                "type": "multi_static_select",
                "selected_options": blocks["models"]["element"].get("initial_options", []),
            }
        },
        "variables": {
            "variables": {
                "type": "plain_text_input",
                "value": blocks["variables"]["element"].get("initial_value"),
            }
        },
        "test_set": {"test_set": {"type": "plain_text_input", "value": None}},
    }
    return view, bot.submit_view(view, values, user=user)


def test_revise_runs_the_parent_blind_in_the_same_thread_with_a_diff(bot, slack, models):
    bot.command("propose story --models alpha,beta\nTell a story about {{ x }}\n---\nx: cats")
    first = bot.wait_run(1)
    view, (status, reply) = revise(bot, slack, "story", "Tell a SHORT story about {{ x }}")
    assert status == 200 and not reply
    assert (
        next(b["element"]["initial_value"] for b in view["blocks"] if b["block_id"] == "template")
        == "Tell a story about {{ x }}"
    )
    run = bot.wait_run(2)
    assert run.version.number == 2 and run.version.note == "shorter"
    candidates = bot.store.candidates(run.id)
    assert sorted((c.model_name, c.version_number) for c in candidates) == [
        ("alpha", 1),
        ("alpha", 2),
        ("beta", 1),
        ("beta", 2),
    ]
    prompts_sent = sorted(r.messages[-1]["content"] for r in models.requests[2:])
    assert prompts_sent == ["Tell a SHORT story about cats"] * 2 + ["Tell a story about cats"] * 2
    parent = slack.find_message("C1", run.thread_ts)
    text = json.dumps(parent["blocks"])
    assert "Revision of v1" in text and first.permalink in text
    assert "-Tell a story" in text and "+Tell a SHORT story" in text
    assert len(bot.candidate_posts(run.id)) == 4
    # The baseline's answers are blind too: no version or model in what was posted.
    assert "v1" not in json.dumps([p["blocks"] for p in bot.candidate_posts(run.id)])


def test_revision_versions_meet_head_to_head_in_the_rankings(bot, slack):
    bot.command("propose duel --models alpha\nOld {{ x }}\n---\nx: 1")
    bot.wait_run(1)
    revise(bot, slack, "duel", "New {{ x }}")
    run = bot.wait_run(2)
    by_version = {c.version_number: c for c in bot.store.candidates(run.id)}
    for i in range(8):
        for number, emoji in ((2, "+1"), (1, "-1")):
            (ts,) = bot.store.candidate_message_ts(by_version[number].id)
            bot.react(ts, emoji, f"U{i}")
    wait_until(lambda: len(bot.store.ratings()) == 16, what="16 ratings")
    now = datetime.now(UTC) + timedelta(seconds=1)
    evidence = load_evidence(bot.store, RatingScales(bot.bot.config.scales), now)
    assert sorted({(r.version, r.score) for r in evidence.ratings}) == [(1, 0.0), (2, 1.0)]
    digest = build_digest(evidence, start=now - timedelta(days=7), end=now,
                          settings=bot.bot.config.digest)  # fmt: skip
    (report,) = [c for c in digest.champions if c.prompt == "duel"]
    assert report.champion == 2
    (challenger,) = report.challengers
    assert challenger.outcome in ("beat", "lost to")
    text = blocks_to_text(bot.bot.digests.preview().blocks)
    assert "duel" in text and "v2" in text


def test_show_and_history(bot, slack):
    bot.command("propose hist --models alpha\nFirst <draft>")
    bot.wait_run(1)
    revise(bot, slack, "hist", "Second & better", note="polish")
    bot.wait_run(2)
    bot.command("show hist v1", user="UASK")
    shown = slack.wait_for(lambda: slack.ephemerals(user="UASK"))[0]
    text = blocks_to_text(shown["blocks"])
    assert "hist v1" in text and "First <draft>" in text and "run #1" in text
    assert "&lt;draft&gt;" in json.dumps(shown["blocks"])
    bot.command("history hist", user="UASK")
    history = slack.wait_for(
        lambda: len(slack.ephemerals(user="UASK")) > 1 and slack.ephemerals(user="UASK")
    )[1]
    text = blocks_to_text(history["blocks"])
    assert text.index("v2") < text.index("v1") and "polish" in text
    _, reply = bot.command("show nothing-here")
    assert reply["text"] == "Looking up nothing-here…"
    error = slack.wait_for(
        lambda: [e for e in slack.ephemerals(user="U1") if "no prompt" in e["text"]]
    )
    assert error[0]["text"] == ":warning: no prompt named 'nothing-here'"


def test_cost_ceiling_asks_first(running, models, slack):
    config = bot_config(models)
    for model in config["models"]:
        model["price"] = {"input_per_million": 1_000_000, "output_per_million": 1_000_000}
    config["limits"] = {"run_cost_ceiling": 5}
    bot = running(config)
    _, reply = bot.command("propose pricey --models alpha\nHi", user="UPROP")
    # The estimate renders every prompt, so it is made off the listener thread: the
    # command's answer only says a question may follow.
    assert "over the $5.00 ceiling you will be asked first" in reply["text"]
    (question,) = slack.wait_for(lambda: slack.ephemerals(user="UPROP"))
    assert "may cost up to" in question["text"] and "over the $5.00 ceiling" in question["text"]
    wait_until(lambda: bot.store.get_run(1).status == "held", what="the hold")
    assert models.requests == []
    buttons = question["blocks"][1]["elements"]
    assert [b["action_id"] for b in buttons] == ["run_confirm", "run_cancel"]

    from promptbot.standins import payloads

    def click(action, user):
        body = payloads.block_actions_body(
            action, "1", user_id=user, channel_id="C1", response_url=slack.response_url("held")
        )
        return bot.post(body, "application/x-www-form-urlencoded")

    click("run_confirm", "USTRANGER")
    wait_until(lambda: slack.ephemerals(user="USTRANGER"), what="the refusal")
    assert bot.store.get_run(1).status == "held"
    click("run_confirm", "UPROP")
    assert bot.wait_run(1).status == "done"
    assert len(models.requests) == 1
    wait_until(
        lambda: any("started" in r.body.get("text", "") for r in slack.responses), what="reply"
    )
    assert len(slack.ephemerals(user="UPROP")) == 1  # once said go, never asked again
    click("run_confirm", "UPROP")  # a second click on the old question
    wait_until(
        lambda: any("not waiting" in e["text"] for e in slack.ephemerals(user="UPROP")),
        what="the second click refused",
    )
    assert len(models.requests) == 1

    bot.command("propose pricey2 --models alpha\nHi", user="UPROP")
    wait_until(lambda: bot.store.get_run(2).status == "held", what="the second hold")
    body = payloads.block_actions_body(
        "run_cancel", "2", user_id="UPROP", channel_id="C1", response_url=slack.response_url("c")
    )
    bot.post(body, "application/x-www-form-urlencoded")
    wait_until(lambda: bot.store.get_run(2).status == "cancelled", what="cancel")
    assert len(models.requests) == 1


def test_form_saves_a_test_set_and_rerun_uses_it(bot, slack, models):
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    view = call.params["view"]

    def submit(set_name):
        return bot.submit_view(
            view,
            {
                "name": {"name": {"type": "plain_text_input", "value": "sets"}},
                "template": {"template": {"type": "plain_text_input", "value": "Echo {{ x }}"}},
                "models": {
                    "models": {
                        "type": "multi_static_select",
                        "selected_options": [{"value": "alpha"}],
                    }
                },
                "variables": {
                    "variables": {"type": "plain_text_input", "value": "x: 1\n---\nx: 2"}
                },
                "test_set": {"test_set": {"type": "plain_text_input", "value": set_name}},
            },
        )

    status, reply = submit("bad name!")
    assert reply["response_action"] == "errors" and "test_set" in reply["errors"]
    status, reply = submit("golden")
    assert status == 200 and not reply
    bot.wait_run(1)
    bot.command("propose sets --models alpha\nAgain {{ x }}\n---\nx: only")
    bot.wait_run(2)
    _, reply = bot.command("rerun sets v2 --set golden")
    run = bot.wait_run(3)
    assert run.inputs == [{"x": "1"}, {"x": "2"}]
    _, reply = bot.command("rerun sets --set missing")
    assert "missing" in reply["text"] and "golden" in reply["text"]


def test_a_form_error_without_a_field_lands_on_the_first_field(bot, slack):
    bot.command("propose lost --models alpha\nHi")
    bot.wait_run(1)
    view, _ = revise(bot, slack, "lost", "Hi again")
    broken = {**view, "private_metadata": "{}"}
    status, reply = bot.submit_view(
        broken, {"note": {"note": {"type": "plain_text_input", "value": "x"}}}
    )
    assert status == 200 and reply["response_action"] == "errors"
    assert list(reply["errors"]) == ["note"]
    assert "open it again with /prompt revise" in reply["errors"]["note"]


def pricey(models):
    config = bot_config(models)
    for model in config["models"]:
        model["price"] = {"input_per_million": 1_000_000, "output_per_million": 1_000_000}
    config["limits"] = {"run_cost_ceiling": 5}
    return config


def recorded_unestimated_run(store):
    """What a crash between recording a run and estimating its cost leaves behind."""
    return store.create_run(
        prompt_name="pricey",
        template="Hi",
        system_prompt=None,
        author="UPROP",
        channel="C1",
        models=["alpha"],
        inputs=[{}],
        candidates=[PlannedCandidate("A", 0, "alpha", "alpha-id", 0)],
    )


def test_a_restart_estimates_again_instead_of_running_unchecked(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models, pricey(models))
    run = recorded_unestimated_run(first.store)
    first.close()
    second = start_bot(tmp_path, slack, models, pricey(models))
    try:
        wait_until(lambda: second.store.get_run(run.id).status == "held", what="the hold")
        (question,) = slack.ephemerals(user="UPROP")
        assert "over the $5.00 ceiling" in question["text"]
        assert models.requests == []
    finally:
        second.close()


def test_a_run_said_go_to_is_not_asked_again_after_a_restart(tmp_path, slack, models):
    first = start_bot(tmp_path, slack, models, pricey(models))
    run = recorded_unestimated_run(first.store)
    first.store.set_run_status(run.id, "held")
    assert first.store.delivery.confirm_cost(run.id)
    assert not first.store.delivery.confirm_cost(run.id)  # one answer only
    first.close()
    second = start_bot(tmp_path, slack, models, pricey(models))
    try:
        assert second.wait_run(run.id).status == "done"
        assert slack.ephemerals(user="UPROP") == []
        assert len(models.requests) == 1
    finally:
        second.close()
