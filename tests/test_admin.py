"""Close, archive and delete: only the proposer or an admin; deletion asks first; the
audit trail stays. End to end over HTTP, plus the core on its own."""

from datetime import UTC, datetime

import pytest

from promptbot.config.settings import AppConfig
from promptbot.domain import PlannedCandidate
from promptbot.errors import NotFound, PermissionDenied, UsageError
from promptbot.prompts.admin import AdminService, Target
from promptbot.render.terminal import blocks_to_text
from promptbot.review.scales import RatingScales
from promptbot.standins import payloads
from storage import Store
from storage.evidence import load_evidence
from tests.harness import bot_config, settle, wait_until


def click(bot, action_id, value, user, name="x", status=200):
    body = payloads.block_actions_body(
        action_id,
        value,
        user_id=user,
        channel_id="C1",
        response_url=bot.slack.response_url(name),
    )
    answered, _ = bot.post(body, "application/x-www-form-urlencoded")
    # A refusal is acked too (no error shown by Slack); the person reads the ephemeral line.
    assert answered == status


def response(slack, name):
    return slack.wait_for(lambda: [r.body for r in slack.responses if r.name == name])[-1]


def thread_texts(bot, run):
    return [m["text"] for m in bot.slack.thread(run.channel, run.thread_ts)]


def audit(bot, target=None):
    return [(e.user_id, e.action, e.target) for e in bot.store.admin.audit(target)]


def test_strangers_are_refused_with_one_line(bot):
    bot.command("propose mine --models alpha\nHi", user="UPROP")
    run = bot.wait_run(1)
    for text, expected in [
        ("close 1", ":warning: only the proposer of run #1 or an admin can close it"),
        ("archive mine", ":warning: only the proposer of mine or an admin can archive it"),
        ("delete mine", ":warning: only the proposer of mine or an admin can delete it"),
        ("delete #1", ":warning: only the proposer of run #1 or an admin can delete it"),
    ]:
        status, reply = bot.command(text, user="USTRANGER")
        assert status == 200
        assert reply == {"response_type": "ephemeral", "text": expected}
    assert bot.store.get_run(run.id).closed_at is None
    assert bot.store.admin.prompt("mine").archived_at is None
    # Refusals are in the audit trail too: who tried what.
    assert audit(bot) == [
        ("USTRANGER", "close-refused", "run:1"),
        ("USTRANGER", "archive-refused", "prompt:mine"),
        ("USTRANGER", "delete-refused", "prompt:mine"),
        ("USTRANGER", "delete-refused", "run:1"),
    ]


def test_owner_closes_without_revealing(bot, slack):
    bot.command("propose quiet --models alpha,beta\nHi", user="UPROP")
    run = bot.wait_run(1)
    _, reply = bot.command("close #1", user="UPROP")
    assert "Closed voting on run #1" in reply["text"]
    assert bot.store.get_run(run.id).closed_by == "UPROP"
    wait_until(
        lambda: any("Voting is closed by <@UPROP>" in t for t in thread_texts(bot, run)),
        what="the closing notice",
    )
    settle(bot)
    assert slack.calls_to("chat.update") == []  # nothing revealed
    assert bot.store.get_run(run.id).revealed_at is None
    _, reply = bot.command("close 1", user="UADMIN")
    assert reply["text"] == ":warning: run #1 is already closed"
    _, reply = bot.command("close 7", user="UADMIN")
    assert reply["text"] == ":warning: no run #7"
    _, reply = bot.command("close", user="UADMIN")
    assert reply["text"] == ":warning: usage: /prompt close RUN"


def test_admin_archives_leaderboard_drops_it_history_stays(running, models, slack):
    bot = running(bot_config(models, digest={"min_votes": 1}))
    for name in ("keeper", "retired"):
        bot.command(f"propose {name} --models alpha\nHi", user="UPROP")
    for run_id in (1, 2):
        bot.wait_run(run_id)
        (post,) = bot.candidate_posts(run_id)
        bot.react(post["ts"], "+1", "U2")
    wait_until(lambda: len(bot.store.ratings()) == 2, what="two ratings")
    board = blocks_to_text(bot.bot.digests.leaderboard("prompts", "all").blocks)
    assert "retired" in board and "keeper" in board

    _, reply = bot.command("archive retired", user="UADMIN")
    assert "Archived *retired*" in reply["text"]
    board = blocks_to_text(bot.bot.digests.leaderboard("prompts", "all").blocks)
    assert "keeper" in board and "retired" not in board
    # Its history stays: listed, and shown by /prompt history.
    _, reply = bot.command("list")
    assert "retired" in str(reply["blocks"])
    bot.command("history retired", user="U2")
    found = slack.wait_for(lambda: slack.ephemerals(user="U2"))
    assert "retired" in blocks_to_text(found[0]["blocks"]) and "v1" in str(found[0]["blocks"])
    _, reply = bot.command("archive retired", user="UPROP")
    assert reply["text"] == ":warning: retired is already archived"
    assert ("UADMIN", "archive", "prompt:retired") in audit(bot)


def test_delete_run_asks_first_cancel_keeps_confirm_deletes(bot, slack):
    bot.command("propose doomed --models alpha\nHi", user="UPROP")
    run = bot.wait_run(1)
    (post,) = bot.candidate_posts(run.id)
    bot.react(post["ts"], "+1", "U2")
    wait_until(lambda: bot.store.ratings(), what="the rating")

    _, reply = bot.command("delete #1", user="UPROP")
    assert "Delete run #1 of *doomed* v1" in reply["text"]
    buttons = next(b for b in reply["blocks"] if b["type"] == "actions")["elements"]
    assert [(b["action_id"], b["value"]) for b in buttons] == [
        ("delete_confirm", "#1"),
        ("delete_cancel", "#1"),
    ]

    click(bot, "delete_cancel", "#1", "UPROP", name="cancel")
    assert response(slack, "cancel") == {"replace_original": True, "text": "Nothing was deleted."}
    _, reply = bot.command("list")
    assert "doomed" in str(reply["blocks"])

    click(bot, "delete_confirm", "#1", "UPROP", name="confirm")
    assert response(slack, "confirm")["text"].startswith("Deleted run #1 of *doomed* v1")
    _, reply = bot.command("list")
    assert "doomed" not in str(reply)
    evidence = load_evidence(bot.store, RatingScales(bot.bot.config.scales), datetime.now(UTC))
    assert evidence.runs == [] and evidence.ratings == [] and evidence.candidates == []
    wait_until(
        lambda: any("deleted by <@UPROP>" in t for t in thread_texts(bot, run)),
        what="the deletion notice",
    )
    assert ("UPROP", "delete", "run:1") in audit(bot, "run:1")
    _, reply = bot.command("close 1", user="UPROP")
    assert reply["text"] == ":warning: no run #1"


def test_confirm_rechecks_permission(bot, slack):
    bot.command("propose guarded --models alpha\nHi", user="UPROP")
    bot.wait_run(1)
    click(bot, "delete_confirm", "guarded", "USTRANGER")
    found = slack.wait_for(lambda: slack.ephemerals(user="USTRANGER"))
    assert found[0]["text"] == (":warning: only the proposer of guarded or an admin can delete it")
    assert bot.store.admin.prompt("guarded") is not None


def test_admin_deletes_a_prompt_and_its_runs(bot, slack):
    bot.command("propose gone --models alpha\nHi", user="UPROP")
    bot.command("propose gone --models alpha\nHello", user="UPROP")
    bot.command("propose stays --models alpha\nHi", user="UPROP")
    runs = [bot.wait_run(n) for n in (1, 2, 3)]
    _, reply = bot.command("delete gone", user="UADMIN")
    assert "the prompt *gone* (2 versions, 2 runs, 0 ratings)" in reply["text"]
    click(bot, "delete_confirm", "gone", "UADMIN", name="confirm")
    assert response(slack, "confirm")["text"].startswith("Deleted the prompt *gone*")
    _, reply = bot.command("list")
    assert "gone" not in str(reply["blocks"]) and "stays" in str(reply["blocks"])
    for run in runs[:2]:
        wait_until(
            lambda run=run: any("deleted by <@UADMIN>" in t for t in thread_texts(bot, run)),
            what="the notice in each thread",
        )
    assert audit(bot, "prompt:gone") == [("UADMIN", "delete", "prompt:gone")]
    # A second confirmation (a double click) finds nothing left to delete.
    click(bot, "delete_confirm", "gone", "UADMIN", name="again")
    found = slack.wait_for(lambda: slack.ephemerals(user="UADMIN"))
    assert found[-1]["text"] == ":warning: no prompt named 'gone'"


class FakePublisher:
    def __init__(self):
        self.replies = []

    def post_reply(self, channel, thread_ts, message, candidate_id=None):
        self.replies.append((channel, thread_ts, message.text))
        return "1.0"


def test_target_parsing():
    assert Target.parse("#12") == Target("run", "#12", 12)
    assert Target.parse("summary") == Target("prompt", "summary")
    assert Target.parse("12").kind == "prompt"  # a prompt may be named with digits
    with pytest.raises(UsageError):
        Target.parse("#twelve")


def test_core_checks_before_changing_anything(tmp_path):
    store = Store(tmp_path / "a.db")
    run = store.create_run(
        prompt_name="p",
        template="Hi",
        system_prompt=None,
        author="UPROP",
        channel="C1",
        models=["m"],
        inputs=[{}],
        candidates=[PlannedCandidate("A", 0, "m", "m-id", 0)],
    )
    publisher = FakePublisher()
    admin = AdminService(store, AppConfig(admins=["UADMIN"]), publisher)
    with pytest.raises(UsageError, match="not been posted"):
        admin.close(run.id, "UPROP")
    store.set_thread(run.id, "C1", "10.000001", None)
    with pytest.raises(PermissionDenied):
        admin.close(run.id, "UOTHER")
    admin.close(run.id, "UADMIN")
    assert publisher.replies[0][:2] == ("C1", "10.000001")
    with pytest.raises(NotFound):
        admin.request_delete("nope", "UADMIN")
    assert admin.request_delete("#1", "UPROP").description.startswith("run #1 of *p* v1")
