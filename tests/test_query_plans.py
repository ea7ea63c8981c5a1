"""The hot paths never scan a table that grows.

Every statement the real app runs while it stores a reaction (candidate and pair
messages, duplicates, stale events), a comment, or resumes a run after a restart is
recorded as SQLite executes it, and its ``EXPLAIN QUERY PLAN`` must search an index,
never read a whole growing table. A new query on these paths is checked without
anyone listing it here.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from promptbot.domain import Completion, PlannedCandidate
from promptbot.standins import payloads
from tests.harness import settle, wait_until

# Tables whose size does not grow with use; a scan of them costs nothing.
FIXED_SIZE = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "_sqlite_migrations"}
# Runs waiting for the judge: each leaves once judged, so the table holds only those.
FIXED_SIZE |= {"judge_queue"}
# Partial indexes whose rows are bounded however much is stored: the inbox's pending
# events (at most limits.event_backlog). Scanning one costs at most that bound.
BOUNDED_INDEXES = {"inbox_pending"}
# Screened runs waiting for their decision: each leaves it once the judge is done.
BOUNDED_INDEXES |= {"screened_runs_undecided"}
_SCAN = re.compile(r"^SCAN (\w+)")
_INBOX = re.compile(r"\b(FROM|INTO|UPDATE) inbox\b", re.IGNORECASE)
_QUERY = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH)\b", re.IGNORECASE)


class Recorder:
    """Every statement run on any connection the store opens, on any thread."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self._lock = threading.Lock()
        self.on = False

    def __call__(self, sql: str) -> None:
        if self.on:
            with self._lock:
                self.statements.append(sql)

    @contextmanager
    def path(self) -> Iterator[list[str]]:
        seen: list[str] = []
        with self._lock:
            self.statements = []
        self.on = True
        try:
            yield seen
        finally:
            self.on = False
            with self._lock:
                seen.extend(self.statements)


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    recorder = Recorder()
    connect = sqlite3.connect

    def traced_connect(*args, **kwargs):
        conn = connect(*args, **kwargs)
        conn.set_trace_callback(recorder)
        return conn

    monkeypatch.setattr("storage.base.sqlite3.connect", traced_connect)
    return recorder


def full_scans(db_path: Path, statements: list[str]) -> dict[str, list[str]]:
    """Each query that reads a whole growing table, with its plan. The inbox's queries
    are planned in its own file (storage/inbox.py) when there is one."""
    conn = sqlite3.connect(db_path)
    inbox_path = Path(f"{db_path}-inbox")
    inbox = sqlite3.connect(inbox_path) if inbox_path.exists() else conn
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    growing = tables - FIXED_SIZE
    found: dict[str, list[str]] = {}
    for sql in dict.fromkeys(s for s in statements if _QUERY.match(s)):
        planner = inbox if _INBOX.search(sql) else conn
        plan = [row[3] for row in planner.execute("EXPLAIN QUERY PLAN " + sql)]
        scans = [
            step
            for step in plan
            if (m := _SCAN.match(step))
            and m.group(1) in growing
            and not any(step.endswith(f"INDEX {index}") for index in BOUNDED_INDEXES)
        ]
        if scans:
            found[sql] = plan
    conn.close()
    inbox.close()
    return found


def test_scans_are_detected(tmp_path: Path) -> None:
    """The check itself: a lookup on an unindexed column is reported."""
    db = tmp_path / "plain.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE reactions (candidate_id INTEGER, user_id TEXT)")
    assert full_scans(db, ["SELECT * FROM reactions WHERE user_id = 'U1'"])
    assert not full_scans(db, ["SELECT * FROM reactions WHERE rowid = 1"])


def test_reaction_and_comment_paths_use_indexes(recorder: Recorder, running, tmp_path) -> None:
    bot = running()
    bot.command("propose tone --models alpha,beta\nPolite: {{ x }}\n---\nx: one")
    bot.wait_run(1)
    bot.command("propose tone --models alpha\nBlunt: {{ x }}\n---\nx: one")
    bot.wait_run(2)
    bot.command("compare tone@v1 tone@v2 --models alpha")
    bot.wait_run(3)
    posts = bot.candidate_posts(1)
    run = bot.store.get_run(1)
    (pair,) = bot.store.pairs.for_run(3)
    assert pair.ts is not None

    with recorder.path() as reaction_path:
        ts = posts[0]["ts"]
        bot.react(ts, "+1", "U2")
        bot.react(ts, "-1", "U2")
        bot.react(ts, "four", "U2")
        bot.react(ts, "-1", "U2", added=False)
        bot.react(ts, "+1", "U3", event_id="Ev-twice")
        bot.react(ts, "+1", "U3", event_id="Ev-twice")
        # A removal that arrives before its add: the add is stale.
        bot.react(ts, "+1", "U4", added=False, event_ts="1800000000.000002")
        bot.react(ts, "+1", "U4", event_ts="1800000000.000001")
        bot.react(run.thread_ts, "+1", "U2")  # the parent: no candidate
        bot.react(pair.ts, "a", "U2")
        bot.react(pair.ts, "b", "U2")
        bot.react(pair.ts, "a", "U2", added=False)
        wait_until(
            lambda: len(bot.store.pairs.votes(3)) == 1 and len(bot.store.ratings(1)) == 3,
            what="the pair vote, and ratings by U2 on both scales and by U3",
        )
        settle(bot)
    assert bot.store.event_seen("Ev-twice")

    with recorder.path() as comment_path:
        event = payloads.message_event(
            user="U2",
            text="A is better",
            channel="C1",
            ts=payloads.new_ts(),
            thread_ts=run.thread_ts,
        )
        bot.event(event)
        wait_until(lambda: bot.store.comments(1), what="the comment")

    db = tmp_path / "promptbot.db"
    assert any("FROM reactions" in s for s in reaction_path)
    assert any("INTO inbox" in s for s in reaction_path)  # planned in the inbox's file
    assert full_scans(db, reaction_path) == {}
    assert any("INTO comments" in s for s in comment_path)
    assert full_scans(db, comment_path) == {}


def test_run_resume_uses_indexes(recorder: Recorder, running, tmp_path) -> None:
    first = running()
    first.command("propose earlier --models alpha\nHi")
    first.wait_run(1)
    store = first.store
    run = store.create_run(
        prompt_name="interrupted",
        template="Hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["alpha", "beta"],
        inputs=[{}],
        candidates=[
            PlannedCandidate("A", 0, "alpha", "alpha-id", 0),
            PlannedCandidate("B", 1, "beta", "beta-id", 0),
        ],
    )
    store.record_answer(store.candidates(run.id)[0].id, Completion("answer", None, 1, 1, 3, "stop"))
    first.close()

    with recorder.path() as resume_path:
        second = running()
        assert second.wait_run(run.id).status == "done"
        wait_until(lambda: len(second.candidate_posts(run.id)) == 2, what="both candidates")

    assert any("FROM runs" in s for s in resume_path)
    assert full_scans(tmp_path / "promptbot.db", resume_path) == {}


def test_one_prompts_show_and_history_use_indexes(
    recorder: Recorder, running, slack, tmp_path
) -> None:
    """`/prompt show` and `/prompt history` read one prompt's evidence: at any history
    size they walk from the prompt down, never through every rating or run."""
    bot = running()
    bot.command("propose tone --models alpha,beta\nPolite: {{ x }}\n---\nx: one")
    bot.wait_run(1)
    bot.command("propose other --models alpha\nBlunt: {{ x }}\n---\nx: one")
    bot.wait_run(2)
    bot.react(bot.candidate_posts(1)[0]["ts"], "+1", "U2")
    wait_until(lambda: len(bot.store.ratings(1)) == 1, what="the rating")
    settle(bot)

    with recorder.path() as show_path:
        bot.command("show tone", user="UASK")
        bot.command("history tone", user="UASK")
        wait_until(lambda: len(slack.ephemerals(user="UASK")) == 2, what="both replies")

    assert any("json_each" in s and "FROM ratings" in s for s in show_path)
    assert full_scans(tmp_path / "promptbot.db", show_path) == {}
