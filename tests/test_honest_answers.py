"""Commands and forms answer honestly within Slack's 3 s: recorded, or "could not
record it, nothing was started", and then nothing ever starts. Writes that make one
record commit together or not at all."""

import time

import pytest

from promptbot.errors import StorageUnavailable
from storage import Store
from tests import factories
from tests.harness import settle, write_lock

NOT_RECORDED = "Could not record it: the database is locked by another writer."


def proposal_form(test_set=None):
    values = {
        "name": {"name": {"type": "plain_text_input", "value": "from-form"}},
        "template": {"template": {"type": "plain_text_input", "value": "Echo {{ x }}"}},
        "variables": {"variables": {"type": "plain_text_input", "value": "x: 1"}},
    }
    if test_set:
        values["test_set"] = {"test_set": {"type": "plain_text_input", "value": test_set}}
    return values


def nothing_started(bot):
    settle(bot)
    time.sleep(0.3)  # a run created late would have been submitted by now
    settle(bot)
    assert bot.store.recent_runs(10) == []
    assert bot.models.requests == []
    assert bot.slack.calls_to("chat.postMessage") == []


def test_a_command_under_a_lock_says_it_was_not_recorded_and_never_starts(bot, tmp_path):
    with write_lock(tmp_path / "promptbot.db"):
        status, reply = bot.command("propose locked --models alpha\nHi")
    assert status == 200
    assert NOT_RECORDED in reply["text"]
    assert "Nothing was started; try again" in reply["text"]
    assert "lost" not in reply["text"]
    nothing_started(bot)
    # Tried again once the lock is gone, it is recorded and started.
    status, reply = bot.command("propose locked --models alpha\nHi")
    assert "on its way" in reply["text"]
    assert bot.wait_run(1).status == "done"


def test_a_form_under_a_lock_keeps_the_form_open_with_the_reason(bot, slack, tmp_path):
    bot.command("new")
    (call,) = slack.wait_for_calls("views.open")
    with write_lock(tmp_path / "promptbot.db"):
        status, reply = bot.submit_view(call.params["view"], proposal_form(test_set="smoke"))
    assert status == 200
    assert reply["response_action"] == "errors"
    assert any(NOT_RECORDED in text for text in reply["errors"].values())
    nothing_started(bot)
    assert bot.store.query("SELECT * FROM test_sets") == []


def test_writes_of_one_record_are_rolled_back_together(tmp_path):
    store = Store(tmp_path / "p.db")
    run = factories.posted_run(store)
    with pytest.raises(RuntimeError), store.transaction():
        store.set_run_status(run.id, "failed")  # a savepoint inside the outer transaction
        with store.transaction() as db:
            db.execute("UPDATE runs SET channel = 'C9' WHERE id = ?", [run.id])
        raise RuntimeError("the rest of the record failed")
    kept = store.get_run(run.id)
    assert (kept.status, kept.channel) == ("done", "C1")


def test_a_write_waits_no_longer_than_its_budget(tmp_path):
    store = Store(tmp_path / "p.db")
    with write_lock(tmp_path / "p.db"):
        with pytest.raises(StorageUnavailable, match="locked"), store.transaction(budget=0.2):
            pass
        with store.deadline(0.2), pytest.raises(StorageUnavailable, match="locked"):
            store.set_run_status(1, "done")
    with store.transaction(budget=0.2) as db:  # free again: the budget does not linger
        db.execute("UPDATE runs SET status = status")
