"""Events under database faults, against the real `promptbot run` over signed HTTP.
Prints, per fault: events acked, events stored, duplicates, and the time from the end
of the fault until every event is stored (Slack's retries of what was not acked
included). Target: stored = acked, 0 duplicates. Asserts nothing.

Faults: another process holds the event inbox's write lock (promptbot.db-inbox, the
file acks are written to) for 10 s while reactions arrive, then kill -9 and restart; the disk fills up (a 16 MB tmpfs, needs root) for 3 s; the
backlog bound (limits.event_backlog = 20) under 16 concurrent senders; a read-only
filesystem at start-up.

Run: .venv/bin/python bench/bench_event_faults.py      (about a minute)
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import suppress
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from promptbot.standins import payloads
from promptbot.standins.openai_api import OpenAIStandIn
from promptbot.standins.slack_api import SlackStandIn
from storage import Store
from tests.event_stream import ReactionStream, health
from tests.harness import TOKEN, wait_until, write_lock
from tests.live_bot import LiveBot, launch, write_config

N_COST = 5000
ROW = "{:<34} {:>6} {:>7} {:>7} {:>11} {:>10}"


def candidate_ts(slack: SlackStandIn) -> str:
    for message in slack.messages("C1"):
        if (message.get("metadata") or {}).get("event_type") == "promptbot_candidate":
            return str(message["ts"])
    return ""


def counts(db: Path) -> tuple[list[str], int]:
    """(users with a rating, one per rating row; inbox rows not yet processed)."""
    with sqlite3.connect(db, timeout=30) as conn:
        users = [row[0] for row in conn.execute("SELECT user_id FROM ratings")]
    with sqlite3.connect(f"{db}-inbox", timeout=30) as conn:
        pending = conn.execute("SELECT COUNT(*) FROM inbox WHERE processed_at IS NULL")
        return users, int(pending.fetchone()[0])


def report(name: str, stream: ReactionStream, db: Path, fault_ended: float) -> None:
    stream.redeliver()
    expected = {d.user for d in stream.deliveries if d.acked}
    try:
        wait_until(
            lambda: expected <= set(counts(db)[0]) and counts(db)[1] == 0,
            timeout=60,
            what="every acked event stored",
        )
        recovered = f"{time.monotonic() - fault_ended:9.2f} s"
    except TimeoutError:
        recovered = "not in 60 s"
    users, _ = counts(db)
    first_try = sum(1 for d in stream.deliveries if d.statuses[0] == 200)
    acked = len(expected)
    stored = len(expected & set(users))
    duplicates = len(users) - len(set(users))
    print(ROW.format(name, len(stream.deliveries), acked, stored, duplicates, recovered))
    print(f"{'':<34} ({first_try} acked at once, {acked - first_try} after Slack's retries)")


def lock_then_kill(directory: Path, slack: SlackStandIn, models: OpenAIStandIn) -> None:
    db = directory / "p.db"
    config = write_config(directory, models.base_url)
    bot = launch(directory, db, config, slack.api_url)
    try:
        bot.command("propose locked --models alpha\nHi")
        ts = wait_until(lambda: candidate_ts(slack), timeout=30, what="the candidate post")
        stream = ReactionStream(bot.url, ts)
        stream.start()
        wait_until(lambda: len(stream.acked) >= 50, timeout=30, what="acks before the lock")
        with write_lock(f"{db}-inbox"):  # the acks' file: the database's lock holds up less
            time.sleep(10)
            bot.kill()
            stream.stop()
            _, left = counts(db)
        ended = time.monotonic()
        bot = launch(directory, db, config, slack.api_url, name="restarted")
        stream.url = bot.url
        report("inbox locked 10 s, kill -9, restart", stream, db, ended)
        print(f"{'':<34} ({left} acked events were unprocessed at the kill)")
    finally:
        bot.stop()


def mounted_tmpfs(disk: Path) -> bool:
    """A 16 MB tmpfs at ``disk`` (root only), so that filling it fills nothing else."""
    disk.mkdir()
    command = ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)]
    return subprocess.run(command, capture_output=True).returncode == 0


def full_disk(directory: Path, slack: SlackStandIn, models: OpenAIStandIn) -> None:
    disk = directory / "disk"
    if not mounted_tmpfs(disk):
        print(ROW.format("disk full (tmpfs)", "-", "-", "-", "-", "skipped"))
        return
    # The config and the bot's log stay off the disk that fills.
    bot: LiveBot | None = None
    try:
        bot = launch(
            directory, disk / "p.db", write_config(directory, models.base_url), slack.api_url
        )
        bot.command("propose full --models beta\nHi")
        ts = wait_until(lambda: candidate_ts(slack), timeout=30, what="the candidate post")
        stream = ReactionStream(bot.url, ts)
        stream.start()
        wait_until(lambda: len(stream.acked) >= 20, timeout=30, what="acks before the disk fills")
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
        for piece in (b"\0" * 65536, b"\0" * 512):
            with suppress(OSError):
                while True:
                    os.write(fd, piece)
        os.close(fd)
        unhealthy = health(bot.url)
        time.sleep(3)
        os.unlink(filler)
        ended = time.monotonic()
        wait_until(lambda: health(bot.url) == 200, timeout=30, what="healthy again")
        stream.stop()
        report("disk full for 3 s", stream, disk / "p.db", ended)
        print(f"{'':<34} (/healthz answered {unhealthy} while the disk was full)")
    finally:
        if bot is not None:
            bot.stop()
        subprocess.run(["umount", "-l", str(disk)], check=False)


def backlog(directory: Path, slack: SlackStandIn, models: OpenAIStandIn) -> None:
    db = directory / "p.db"
    config = write_config(directory, models.base_url)
    data = yaml.safe_load(config.read_text()) | {"limits": {"event_backlog": 20}}
    config.write_text(yaml.safe_dump(data))
    bot = launch(directory, db, config, slack.api_url)
    try:
        bot.command("propose flood --models gamma\nHi")
        ts = wait_until(lambda: candidate_ts(slack), timeout=30, what="the candidate post")
        stream = ReactionStream(bot.url, ts, threads=16)
        stream.start(pause=0)
        time.sleep(3)
        stream.stop()
        report("backlog bound 20, 16 senders", stream, db, time.monotonic())
    finally:
        bot.stop()


def read_only_start(directory: Path, slack: SlackStandIn, models: OpenAIStandIn) -> None:
    disk = directory / "ro"
    if not mounted_tmpfs(disk):
        return
    try:
        config = write_config(directory, models.base_url)
        launch(directory, disk / "p.db", config, slack.api_url).stop()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            launch(directory, disk / "p.db", config, slack.api_url, name="read-only").stop()
            outcome = "started (wrong)"
        except RuntimeError as error:
            outcome = f"refused: {str(error).strip().splitlines()[-1]}"
        print(f"{'read-only filesystem at start':<34} {outcome}")
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def write_cost(directory: Path) -> None:
    """What recording an event costs on the request thread: one short transaction with a
    cached prepared INSERT, in WAL mode; and marking it processed, 32 at a time."""
    store = Store(directory / "cost.db")
    event = payloads.reaction_event(
        "reaction_added", user="U1", reaction="+1", channel="C1", ts="1.2"
    )
    bodies = [payloads.event_body(event) for _ in range(N_COST)]
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        store.inbox.record_many([(f"Ev{i}", body)], 1.0)
    recorded = (time.perf_counter() - started) / N_COST
    ids = [row.id for row in store.inbox.pending(0, N_COST)]
    started = time.perf_counter()
    for at in range(0, len(ids), 32):
        store.inbox.mark_processed(ids[at : at + 32])
    marked = (time.perf_counter() - started) / N_COST
    print(
        f"inbox cost per event: {recorded * 1e6:.0f} µs to record (request thread),"
        f" {marked * 1e6:.0f} µs to mark processed (worker, batches of 32);"
        f" {len(bodies[0])}-byte bodies, {N_COST} events"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        write_cost(Path(tmp))
    print(ROW.format("fault", "sent", "acked", "stored", "duplicates", "recovered"))
    for fault in (lock_then_kill, full_disk, backlog, read_only_start):
        # Fresh stand-ins per fault: each run's thread is the only one in #C1.
        with (
            SlackStandIn(bot_token=TOKEN) as slack,
            OpenAIStandIn() as models,
            tempfile.TemporaryDirectory() as tmp,
        ):
            fault(Path(tmp), slack, models)


if __name__ == "__main__":
    main()
