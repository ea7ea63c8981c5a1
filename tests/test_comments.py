"""Comments follow Slack: files kept as links, edits keep the earlier text, deletions
leave the export and the counts, each event applied once and in order."""

import json
from datetime import UTC, datetime

import pytest

from promptbot.config.settings import AppConfig
from promptbot.review.comments import Reply, ThreadComments
from promptbot.review.scales import RatingScales
from promptbot.standins import payloads
from storage import Store
from storage.evidence import load_evidence
from tests.factories import posted_run
from tests.harness import wait_until

SHOT = {"name": "shot.png", "filetype": "png", "permalink": "https://x.slack.com/files/U2/F1"}


@pytest.fixture
def thread(tmp_path):
    store = Store(tmp_path / "db.sqlite")
    run = store.get_run(posted_run(store).id)
    return store, run, ThreadComments(store)


def reply(run, text, files=()):
    return Reply(run.channel, run.thread_ts, "500.000100", "U2", text, list(files))


def test_edit_keeps_the_earlier_text_and_files(thread):
    store, run, comments = thread
    assert comments.add("E1", reply(run, "first", [SHOT]))
    assert comments.edit("E2", reply(run, "second"), "501.000001") == "applied"
    assert comments.edit("E2", reply(run, "second again"), "502.000001") == "duplicate"
    (row,) = store.comments(run.id)
    assert (row["text"], row["files"], row["edited_at"] is not None) == ("second", None, True)
    (earlier,) = store.comment_edits(run.channel, "500.000100")
    assert (earlier["text"], json.loads(earlier["files"])) == ("first", [SHOT])


def test_an_older_edit_arriving_late_does_not_win(thread):
    store, run, comments = thread
    comments.add("E1", reply(run, "first"))
    assert comments.edit("E3", reply(run, "third"), "503.000001") == "applied"
    assert comments.edit("E2", reply(run, "second"), "502.000001") == "stale"
    assert [c["text"] for c in store.comments(run.id)] == ["third"]


def test_an_edit_with_the_same_words_is_not_an_edit(thread):
    store, run, comments = thread
    comments.add("E1", reply(run, "see https://x.test"))
    assert comments.edit("E2", reply(run, "see https://x.test"), "501.1") == "unchanged"
    assert store.comment_edits(run.channel, "500.000100") == []


def test_an_edit_that_overtakes_its_reply_stores_the_edited_text(thread):
    store, run, comments = thread
    assert comments.edit("E2", reply(run, "edited"), "501.000001") == "applied"
    assert not comments.add("E1", reply(run, "original"))  # the late original
    assert [c["text"] for c in store.comments(run.id)] == ["edited"]


def test_a_deletion_stays_deleted_even_if_the_reply_arrives_after_it(thread):
    store, run, comments = thread
    assert comments.delete("E9", reply(run, "")) == "applied"
    assert not comments.add("E1", reply(run, "original"))
    assert comments.edit("E2", reply(run, "edited"), "501.1") == "stale"
    assert store.comments(run.id) == []
    assert store.recent_runs(1)[0].comments == 0
    evidence = load_evidence(store, RatingScales(AppConfig().scales), datetime.now(UTC))
    assert [r.comments for r in evidence.runs] == [0]  # the digest's count


def test_the_digest_counts_live_comments(thread):
    store, run, comments = thread
    comments.add("E1", reply(run, "kept"))
    evidence = load_evidence(store, RatingScales(AppConfig().scales), datetime.now(UTC))
    assert [r.comments for r in evidence.runs] == [1]


def test_replies_outside_review_threads_are_not_kept(thread):
    store, run, comments = thread
    elsewhere = Reply(run.channel, "999.000001", "999.000002", "U2", "hi")
    assert not comments.add("E1", elsewhere)
    assert comments.edit("E2", elsewhere, "999.1") is None
    assert comments.delete("E3", elsewhere) is None
    assert store.comments(run.id) == []


def test_a_deleted_comment_leaves_the_export_and_an_edited_one_shows_its_last_text(bot, slack):
    bot.command("propose talk --models alpha\nHi")
    run = bot.wait_run(1)
    kept, gone = payloads.new_ts(), payloads.new_ts()
    for ts, text in ((kept, "first"), (gone, "oops")):
        bot.event(
            payloads.message_event(
                user="U2", text=text, channel="C1", ts=ts, thread_ts=run.thread_ts
            )
        )
    wait_until(lambda: len(bot.store.comments(run.id)) == 2, what="two comments")
    edited = {"user": "U2", "text": "final", "ts": kept, "thread_ts": run.thread_ts}
    bot.event(
        {
            "type": "message",
            "subtype": "message_changed",
            "channel": "C1",
            "hidden": True,
            "ts": payloads.new_ts(),
            "message": {**edited, "edited": {"user": "U2", "ts": payloads.new_ts()}},
            "previous_message": {**edited, "text": "first"},
        }
    )
    bot.event(
        {
            "type": "message",
            "subtype": "message_deleted",
            "channel": "C1",
            "hidden": True,
            "ts": payloads.new_ts(),
            "deleted_ts": gone,
            "previous_message": {
                "user": "U2",
                "text": "oops",
                "ts": gone,
                "thread_ts": run.thread_ts,
            },
        }
    )
    wait_until(
        lambda: [c["text"] for c in bot.store.comments(run.id)] == ["final"], what="edit, delete"
    )
    bot.command("export json")
    wait_until(lambda: [f for f in slack.files() if f.completed], what="the export")
    data = json.loads([f for f in slack.files() if f.completed][-1].content)
    (comment,) = data["comments"]
    assert (comment["text"], comment["files"]) == ("final", None)
    assert comment["edited_at"]
