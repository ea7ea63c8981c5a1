"""Database faults over signed HTTP: a lock held by another process, then kill -9; a
full disk (a small tmpfs); a read-only database. Each ends with every acknowledged
event stored exactly once."""

import json
import os
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import suppress
from pathlib import Path

import pytest
from click.testing import CliRunner

from promptbot.cli.main import cli
from promptbot.standins import payloads
from storage import Store
from tests import event_stream, factories
from tests.event_stream import ReactionStream
from tests.harness import bot_config, settle, start_bot, wait_until, write_lock
from tests.live_bot import launch, write_config


def stored_users(db: Path) -> list[str]:
    """The users with a rating, one row per rating (so a duplicate would show)."""
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT user_id FROM ratings ORDER BY user_id")]


def pending_events(db: Path) -> int:
    with sqlite3.connect(f"{db}-inbox") as conn:
        return int(
            conn.execute("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL").fetchone()[0]
        )


def message_recorded(db: Path, ts: str) -> bool:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT 1 FROM messages WHERE ts = ?", [ts]).fetchone() is not None


def candidate_ts(slack) -> str:
    posts = [
        m
        for m in slack.messages("C1")
        if (m.get("metadata") or {}).get("event_type") == "promptbot_candidate"
    ]
    return posts[0]["ts"] if posts else ""


def assert_acked_stored_once(stream: ReactionStream, db: Path) -> None:
    users = stored_users(db)
    assert len(users) == len(set(users))  # no duplicates
    acked = {d.user for d in stream.acked}
    assert acked <= set(users), f"acked but not stored: {sorted(acked - set(users))}"


def streaming(tmp_path, slack, models):
    """`promptbot run` with a candidate posted and reactions streaming at it, acked."""
    db = tmp_path / "p.db"
    config = write_config(tmp_path, models.base_url)
    bot = launch(tmp_path, db, config, slack.api_url)
    try:
        assert bot.command("propose locked --models alpha\nHi") == 200
        ts = wait_until(lambda: candidate_ts(slack), timeout=30, what="the candidate post")
        # Slack shows the post before the bot has recorded it: a reaction processed in
        # between finds no message of a run and counts for nothing. The faults here come
        # after it is recorded.
        wait_until(lambda: message_recorded(db, ts), timeout=30, what="the post recorded")
        stream = ReactionStream(bot.url, ts)
        stream.send(3)
        stream.start()
        wait_until(lambda: len(stream.acked) >= 10, timeout=30, what="acks before the fault")
    except BaseException:
        bot.stop()
        raise
    return bot, stream, db, config


def restart_and_redeliver(tmp_path, slack, stream, db, config):
    """Start again, let Slack deliver again what was not acked, and check each acked
    event is stored exactly once."""
    bot = launch(tmp_path, db, config, slack.api_url, name="restarted")
    try:
        stream.url = bot.url
        stream.redeliver()
        assert all(d.acked for d in stream.deliveries)
        wait_until(lambda: pending_events(db) == 0, timeout=30, what="the inbox to drain")
        assert_acked_stored_once(stream, db)
        assert len(stored_users(db)) == len(stream.deliveries)
    except BaseException:
        bot.stop()  # the caller stops the bot it has, the one killed before this one
        raise
    return bot


def test_events_acked_around_a_10s_inbox_lock_survive_kill_9(tmp_path, slack, models):
    bot, stream, db, config = streaming(tmp_path, slack, models)
    try:
        with write_lock(f"{db}-inbox"):
            time.sleep(10)  # another process holds the inbox's lock while reactions arrive
            bot.kill()
            stream.stop()
        refused = [d for d in stream.deliveries if not d.acked]
        assert refused, "the lock refused nothing: the test did not test it"
        assert all(d.statuses[-1] in (0, 503) for d in refused)
        bot = restart_and_redeliver(tmp_path, slack, stream, db, config)
    finally:
        bot.stop()


def test_events_acked_while_the_database_is_locked_survive_kill_9(tmp_path, slack, models):
    """The ratings' database held by another process does not stop the acks (the inbox
    is a file of its own); killed before it could apply them, the bot applies each once
    after the restart."""
    bot, stream, db, config = streaming(tmp_path, slack, models)
    try:
        with write_lock(db):
            acked_before = len(stream.acked)
            wait_until(
                lambda: len(stream.acked) >= acked_before + 20, timeout=30, what="acks meanwhile"
            )
            bot.kill()
            stream.stop()
        assert pending_events(db) > 0, "nothing waited for the lock: the test did not test it"
        bot = restart_and_redeliver(tmp_path, slack, stream, db, config)
    finally:
        bot.stop()


# -- a full disk -------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 16 MB tmpfs of its own, so that filling it fills nothing else."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk refuses (even a small piece); returns it."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for piece in (b"\0" * 65536, b"\0" * 512):
            with suppress(OSError):
                while True:
                    os.write(fd, piece)
    finally:
        os.close(fd)
    return filler


def health(bot) -> int:
    return event_stream.health(bot.url)


def test_a_full_disk_refuses_what_it_cannot_store_and_recovers(small_disk, slack, models):
    bot = start_bot(small_disk, slack, models)
    try:
        bot.command("propose full --models alpha\nHi")
        run = bot.wait_run(1)
        ts = bot.candidate_posts(run.id)[0]["ts"]
        filler = fill(small_disk)
        assert health(bot) == 503
        bodies = {}
        statuses = {}
        for i in range(8):
            user = f"UFULL{i}"
            event = payloads.reaction_event(
                "reaction_added", user=user, reaction="+1", channel="C1", ts=ts
            )
            bodies[user] = payloads.event_body(event)
            statuses[user] = bot.post(bodies[user], "application/json")[0]
        assert set(statuses.values()) <= {200, 503}
        os.unlink(filler)
        wait_until(lambda: health(bot) == 200, timeout=30, what="healthy again")
        for user, status in statuses.items():
            if status != 200:  # Slack's retry
                retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_error"}
                assert bot.post(bodies[user], "application/json", extra_headers=retry)[0] == 200
        wait_until(lambda: len(bot.store.ratings()) == len(bodies), timeout=30, what="every rating")
        settle(bot)
        users = [r.user_id for r in bot.store.ratings()]
        assert sorted(users) == sorted(bodies)
    finally:
        bot.close()


def test_a_run_accepted_before_the_disk_filled_completes_after(small_disk, slack, models):
    config = bot_config(models, slack={"resume_every_seconds": 0.2})
    bot = start_bot(small_disk, slack, models, config)
    try:
        models.set_behaviour("alpha-id", latency=1.0)
        models.set_behaviour("beta-id", latency=1.0)
        _, reply = bot.command("propose filled --models alpha,beta\nHi")
        assert "on its way" in reply["text"]
        models.wait_for_requests(2)
        filler = fill(small_disk)  # the answers arrive to a full disk
        time.sleep(1.5)
        os.unlink(filler)
        run = bot.wait_run(1, timeout=30)
        assert run.status == "done"
        candidates = bot.store.candidates(run.id)
        assert {c.status for c in candidates} == {"posted"}
        owners = [p["metadata"]["event_payload"]["candidate"] for p in bot.candidate_posts(run.id)]
        assert sorted(owners) == sorted(c.id for c in candidates)  # each once
        assert len(models.requests) == 2  # nothing asked twice
    finally:
        bot.close()


# -- start-up ------------------------------------------------------------------------


def run_cli(db: Path, tmp_path: Path):
    config = tmp_path / "app.yaml"
    config.write_text("{}\n")
    env = {
        "PROMPTBOT_CONFIG": str(config),
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "PROMPTBOT_DB": str(db),
    }
    return CliRunner().invoke(cli, ["run"], env=env)


def test_start_up_refuses_a_full_disk_in_one_line(small_disk, tmp_path, cli_in_process):
    db = small_disk / "p.db"
    factories.posted_run(Store(db))
    filler = fill(small_disk)
    try:
        result = run_cli(db, tmp_path)
    finally:
        os.unlink(filler)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"Error: cannot write to database {db}: the disk is full"
    ]


def test_start_up_refuses_a_read_only_filesystem_in_one_line(small_disk, tmp_path, cli_in_process):
    db = small_disk / "p.db"
    store = Store(db)
    factories.posted_run(store)
    store.close()
    remounted = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True)
    if remounted.returncode != 0:
        pytest.skip("cannot remount the tmpfs read-only")
    result = run_cli(db, tmp_path)
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("Error: cannot") and str(db) in line


def test_healthz_is_503_while_the_database_or_the_inbox_is_locked(bot, tmp_path):
    assert health(bot) == 200
    with write_lock(tmp_path / "promptbot.db"):
        assert health(bot) == 503
    assert health(bot) == 200
    with write_lock(tmp_path / "promptbot.db-inbox"):
        assert health(bot) == 503
    assert health(bot) == 200
    assert json.loads(urllib.request.urlopen(bot.url + "/healthz").read()) == {"ok": True}
