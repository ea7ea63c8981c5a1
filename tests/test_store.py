import sqlite3
import threading

import pytest
from sqlite_utils import Database

from promptbot.domain import Completion, PlannedCandidate
from promptbot.errors import StorageError
from storage import Store
from storage.migrations import migrations

APPROVAL = {"+1": 1.0, "-1": 0.0}

# Every migration, in order: what a blank database has pending (public API only).
ALL_MIGRATIONS = [m.name for m in migrations.pending(Database(memory=True))]


def make_run(store, n=2):
    return store.create_run(
        prompt_name="p",
        template="Say hi",
        system_prompt=None,
        author="U1",
        channel="C1",
        models=["m"],
        inputs=[{}],
        candidates=[PlannedCandidate(chr(65 + i), i, "m", "m-id", 0) for i in range(n)],
    )


def test_blank_database_migrates_once(tmp_path):
    path = tmp_path / "t.db"
    Store(path)
    Store(path)  # reopening applies nothing twice
    conn = sqlite3.connect(path)
    names = [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == ALL_MIGRATIONS
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_unreadable_path(tmp_path):
    with pytest.raises(StorageError, match="no such directory"):
        Store(tmp_path / "missing" / "t.db")


def test_versions_increment(store):
    first = make_run(store)
    second = make_run(store)
    assert (first.version.number, second.version.number) == (1, 2)
    assert first.version.prompt_id == second.version.prompt_id


def posted_candidate(store):
    run = make_run(store)
    store.set_thread(run.id, "C1", "100.000001", None)
    candidate = store.candidates(run.id)[0]
    store.record_answer(candidate.id, Completion("hi", None, 1, 1, 5, "stop"))
    assert store.mark_posting(candidate.id)
    assert not store.mark_posting(candidate.id)
    store.mark_posted(candidate.id, "C1", ["100.000002"])
    return candidate


def react(store, candidate, event_id, emoji, present, event_ts, user="U9"):
    return store.apply_reaction(
        event_id=event_id,
        channel="C1",
        ts="100.000002",
        candidate_id=candidate.id,
        user_id=user,
        emoji=emoji,
        scale="approval",
        present=present,
        event_ts=event_ts,
        scale_emoji=APPROVAL,
    )


def test_rating_added_changed_removed(store):
    candidate = posted_candidate(store)
    assert react(store, candidate, "E1", "+1", True, "200.000001") == "applied"
    assert [r.score for r in store.ratings()] == [1.0]
    react(store, candidate, "E2", "-1", True, "200.000002")
    assert [(r.emoji, r.score) for r in store.ratings()] == [("-1", 0.0)]
    react(store, candidate, "E3", "-1", False, "200.000003")
    # Slack still shows the earlier 👍, so it is the rating again.
    assert [r.emoji for r in store.ratings()] == ["+1"]
    react(store, candidate, "E4", "+1", False, "200.000004")
    assert store.ratings() == []


def test_duplicate_event_counts_once(store):
    candidate = posted_candidate(store)
    assert react(store, candidate, "E1", "+1", True, "200.1") == "applied"
    assert react(store, candidate, "E1", "+1", True, "200.1") == "duplicate"
    assert len(store.ratings()) == 1


def test_removal_before_add_leaves_no_phantom(store):
    candidate = posted_candidate(store)
    assert react(store, candidate, "E2", "+1", False, "200.000002") == "applied"
    assert react(store, candidate, "E1", "+1", True, "200.000001") == "stale"
    assert store.ratings() == []


def test_concurrent_duplicate_deliveries_count_once(tmp_path):
    path = tmp_path / "t.db"
    store = Store(path)
    candidate = posted_candidate(store)
    outcomes = []

    def deliver():
        outcomes.append(react(Store(path), candidate, "E1", "+1", True, "200.1"))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["applied"] + ["duplicate"] * 7
    assert len(store.ratings()) == 1


def test_comment_once(store):
    run = make_run(store)
    store.set_thread(run.id, "C1", "100.000001", None)
    assert store.find_thread("C1", "100.000001") == run.id
    kwargs = dict(event_id="E1", channel="C1", ts="300.1", run_id=run.id, user_id="U2", text="ok")
    assert store.add_comment(**kwargs)
    assert not store.add_comment(**kwargs)
    assert not store.add_comment(**{**kwargs, "event_id": "E2"})
    assert [c["text"] for c in store.comments(run.id)] == ["ok"]


def test_database_at_the_previous_schema_migrates(tmp_path):
    """A database from before the latest migration keeps its data when opened."""
    from sqlite_utils import Database

    path = tmp_path / "old.db"
    latest = ALL_MIGRATIONS[-1]
    old = Database(path)
    migrations.apply(old, stop_before=latest)
    old.execute(
        "INSERT INTO prompts (id, name, created_by, created_at) VALUES (1, 'kept', 'U1', 'then')"
    )
    old.conn.commit()
    old.close()
    store = Store(path)
    assert store.query("SELECT name FROM prompts") == [{"name": "kept"}]
    applied = [r["name"] for r in store.query("SELECT name FROM _sqlite_migrations")]
    assert applied[-1] == latest


def test_a_versions_answers_include_its_baseline_ones_and_not_the_runs(store):
    v1_run = make_run(store)  # p v1, answers A and B
    v2_run = make_run(store)  # p v2
    v1, v2 = v1_run.version, v2_run.version
    # v2 head-to-head against v1: the run is v2's, its B answer is v1's (the baseline).
    head_to_head = store.create_rerun(
        v2.id, author="U1", channel="C1", models=["m"], inputs=[{}],
        candidates=[
            PlannedCandidate("A", 0, "m", "m-id", 0),
            PlannedCandidate("B", 1, "m", "m-id", 0, version_id=v1.id),
        ],
    )  # fmt: skip
    for run in (v1_run, v2_run, head_to_head):
        for candidate in store.candidates(run.id):
            answer = f"run {run.id} {candidate.label}"
            store.record_answer(candidate.id, Completion(answer, None, 1, 1, 5, "stop"))
    unanswered = make_run(store, n=1)  # v3: no answer, so not among v3's answers

    def answers(version):
        return [c.output for c in store.answers_of_version(version.id)]

    hh = head_to_head.id
    assert answers(v1) == [f"run {v1_run.id} A", f"run {v1_run.id} B", f"run {hh} B"]
    assert answers(v2) == [f"run {v2_run.id} A", f"run {v2_run.id} B", f"run {hh} A"]
    assert answers(unanswered.version) == []
    assert store.admin.delete_run(hh, "U1")
    assert answers(v1) == [f"run {v1_run.id} A", f"run {v1_run.id} B"]


def test_ratings_of_some_candidates(store):
    candidate = posted_candidate(store)
    react(store, candidate, "E1", "+1", True, "200.000001")
    react(store, candidate, "E2", "-1", True, "200.000002", user="U8")
    other = posted_candidate(store)
    assert [(r.user_id, r.score) for r in store.ratings_of([candidate.id])] == [
        ("U8", 0.0),
        ("U9", 1.0),
    ]
    assert store.ratings_of([other.id]) == [] and store.ratings_of([]) == []
