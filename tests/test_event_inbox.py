"""The inbox worker on its own: arrival order, retries when the database refuses,
set-aside rows retried at the next start-up, and the backlog bound."""

import threading
from contextlib import contextmanager

import pytest

from promptbot.errors import NotRecordedYet, StorageUnavailable
from promptbot.jobs.inbox import EventInbox
from promptbot.jobs.parked import FIRST_PAUSE_SECONDS, LONGEST_PAUSE_SECONDS, ParkedEvents
from storage import Store
from storage.inbox import InboxRow
from tests.harness import wait_until


class Processor:
    """Records what it processed; fails as told, once per body."""

    def __init__(self, fail_once=None):
        self.seen: list[str] = []
        self.fail_once = dict(fail_once or {})
        self.lock = threading.Lock()

    def __call__(self, body):
        with self.lock:
            self.seen.append(body)
            error = self.fail_once.pop(body, None)
        if error is not None:
            raise error


def started(store, process, max_backlog=100):
    inbox = EventInbox(store, max_backlog)
    inbox.attach(process)
    return inbox


def test_events_are_processed_once_in_arrival_order(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Processor()
    inbox = started(store, process)
    for i in range(40):
        assert inbox.accept(f"Ev{i}", f"body{i}") == "recorded"
    assert inbox.accept("Ev3", "body3") == "duplicate"
    inbox.start()
    assert inbox.wait_idle(10)
    assert process.seen == [f"body{i}" for i in range(40)]
    assert (
        store.inbox.store.query("SELECT COUNT(*) AS n FROM inbox WHERE processed_at IS NULL")[0][
            "n"
        ]
        == 0
    )
    inbox.shutdown()


def test_a_refused_write_is_retried_before_the_next_event(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Processor({"b": StorageUnavailable("the disk is full")})
    inbox = started(store, process)
    for body in "abc":
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    wait_until(lambda: len(process.seen) == 4, what="the retry")
    assert inbox.wait_idle(10)
    assert process.seen == ["a", "b", "b", "c"]
    inbox.shutdown()


def test_a_failing_event_is_set_aside_until_the_next_start(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Processor({"b": KeyError("event")})
    inbox = started(store, process)
    for body in "abc":
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    wait_until(lambda: len(process.seen) == 3, what="all three tried")
    assert inbox.wait_idle(10)
    assert process.seen == ["a", "b", "c"]
    row = store.inbox.store.query("SELECT processed_at, error FROM inbox WHERE event_id = 'Ev-b'")[
        0
    ]
    assert row["processed_at"] is None and "KeyError" in row["error"]
    assert inbox.backlog == 0
    inbox.shutdown()

    again = Processor()
    restarted = started(Store(tmp_path / "p.db"), again)
    assert restarted.backlog == 1
    restarted.start()
    assert restarted.wait_idle(10)
    assert again.seen == ["b"]
    restarted.shutdown()


def test_the_backlog_bound_refuses_without_writing(tmp_path):
    store = Store(tmp_path / "p.db")
    inbox = started(store, Processor(), max_backlog=2)
    assert [inbox.accept(f"Ev{i}", "x") for i in range(3)] == ["recorded", "recorded", "full"]
    assert [r["event_id"] for r in store.inbox.store.query("SELECT event_id FROM inbox")] == [
        "Ev0",
        "Ev1",
    ]
    inbox.start()
    assert inbox.wait_idle(10)
    assert inbox.accept("Ev2", "x") == "recorded"
    inbox.shutdown()


class Writer(Processor):
    """Writes each body's event id as processed, in its own (nested) transaction, and
    notes whether it ran inside the worker's batch transaction. Like the real handlers,
    an event id written already is a no-op."""

    def __init__(self, store, fail_once=None, undo=(), fail_always=None):
        super().__init__()
        self.store = store
        self.fail_once = dict(fail_once or {})
        self.fail_always = dict(fail_always or {})
        self.undo = set(undo)
        self.in_batch: dict[str, bool] = {}

    def __call__(self, body):
        self.in_batch[body] = self.store.connection().conn.in_transaction
        with self.lock:
            self.seen.append(body)
            error = self.fail_once.pop(body, None) or self.fail_always.get(body)
            undo = body in self.undo and self.undo.discard(body) is None
        with self.store.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO processed_events (event_id, received_at) VALUES (?, 'now')",
                [body],
            )
            if undo:
                # What SQLite does itself on a full disk: the whole transaction is gone.
                db.execute("ROLLBACK")
            if error is not None:
                raise error


def written(store):
    return [r["event_id"] for r in store.query("SELECT event_id FROM processed_events")]


def batched(store, process, batchable=lambda body: True):
    inbox = EventInbox(store, 100)
    inbox.attach(process, batchable)
    return inbox


def test_a_failing_event_in_a_batch_leaves_nothing_and_the_others_are_kept(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Writer(store, fail_always={"b": KeyError("event")})
    inbox = batched(store, process)
    for body in "abc":
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    assert inbox.wait_idle(10)
    # First all in one transaction: b's failure undoes it, and the batch goes again with
    # a savepoint per event, so that b fails alone.
    assert process.seen == ["a", "b", "a", "b", "c"]
    assert process.in_batch == dict.fromkeys("abc", True)
    assert written(store) == ["a", "c"]
    pending = store.inbox.store.query(
        "SELECT event_id, error FROM inbox WHERE processed_at IS NULL"
    )
    assert [r["event_id"] for r in pending] == ["Ev-b"] and "KeyError" in pending[0]["error"]
    assert inbox.backlog == 0
    inbox.shutdown()


def refuse_marking_once(monkeypatch, inbox):
    """The inbox file refuses the next marking of processed rows; returns the refusals
    still to come (empty once it has refused)."""
    real_mark = inbox.table.mark_processed
    refusals = [StorageUnavailable("the disk is full")]

    def mark_once_refused(ids):
        if refusals:
            raise refusals.pop()
        real_mark(ids)

    monkeypatch.setattr(inbox.table, "mark_processed", mark_once_refused)
    return refusals


def test_a_batch_whose_marking_fails_is_processed_again_as_no_ops(tmp_path, monkeypatch):
    """The ratings commit in the database, then the rows are marked in the inbox file:
    if the marking fails, the batch is processed again, and its event ids make that a
    no-op."""
    store = Store(tmp_path / "p.db")
    process = Writer(store)
    inbox = batched(store, process)
    for body in "abc":
        inbox.accept(f"Ev-{body}", body)
    refuse_marking_once(monkeypatch, inbox)
    inbox.start()
    wait_until(lambda: len(process.seen) == 6, what="the batch tried again")
    assert inbox.wait_idle(10)
    assert process.seen == ["a", "b", "c", "a", "b", "c"]
    assert written(store) == ["a", "b", "c"]  # each once
    assert inbox.backlog == 0 and inbox.table.count_pending() == 0
    inbox.shutdown()


def test_a_batch_sqlite_undid_itself_is_tried_again_from_its_start(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Writer(store, {"b": StorageUnavailable("the disk is full")}, undo={"b"})
    inbox = batched(store, process)
    for body in "abc":
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    wait_until(lambda: len(process.seen) == 5, what="the batch tried again")
    assert inbox.wait_idle(10)
    assert process.seen == ["a", "b", "a", "b", "c"]
    assert written(store) == ["a", "b", "c"]
    assert inbox.backlog == 0 and inbox.table.count_pending() == 0
    inbox.shutdown()


def test_events_that_are_not_batchable_run_outside_any_transaction(tmp_path):
    store = Store(tmp_path / "p.db")
    process = Writer(store)
    inbox = batched(store, process, batchable=lambda body: body != "c")
    for body in "abcde":
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    assert inbox.wait_idle(10)
    assert process.seen == list("abcde")
    assert process.in_batch == {"a": True, "b": True, "c": False, "d": True, "e": True}
    assert written(store) == list("abcde") and inbox.table.count_pending() == 0
    inbox.shutdown()


class HeldWrites:
    """Wraps the inbox's group write: the first one waits until ``queued`` more
    deliveries have arrived behind it; the second raises ``then`` if given."""

    def __init__(self, inbox, queued, then=None):
        self.inbox, self.queued, self.then = inbox, queued, then
        self.real = inbox.table.record_many
        self.groups: list[list[str]] = []

    def __call__(self, deliveries, budget):
        self.groups.append([event_id for event_id, _ in deliveries])
        if len(self.groups) == 1:
            wait_until(
                lambda: len(self.inbox._writes._arrived) == self.queued, what="deliveries queued"
            )
        elif self.then is not None:
            raise self.then
        return self.real(deliveries, budget)


def accept_in_threads(inbox, event_ids):
    """Each delivery's answer (or StorageUnavailable), in the order of ``event_ids``."""
    results: list[object] = [None] * len(event_ids)

    def accept(index, event_id):
        try:
            results[index] = inbox.accept(event_id, "body")
        except StorageUnavailable as error:
            results[index] = error

    threads = [threading.Thread(target=accept, args=ie) for ie in enumerate(event_ids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_deliveries_that_arrive_during_a_write_are_committed_together(tmp_path, monkeypatch):
    store = Store(tmp_path / "p.db")
    inbox = started(store, Processor())
    writes = HeldWrites(inbox, queued=4)
    monkeypatch.setattr(inbox.table, "record_many", writes)
    first = threading.Thread(target=inbox.accept, args=("Ev0", "body"))
    first.start()
    wait_until(lambda: writes.groups, what="the first write")
    results = accept_in_threads(inbox, ["Ev1", "Ev2", "Ev1", "Ev3"])
    first.join(10)
    assert writes.groups[0] == ["Ev0"] and sorted(writes.groups[1]) == ["Ev1", "Ev1", "Ev2", "Ev3"]
    assert len(writes.groups) == 2
    assert sorted(map(str, results)) == ["duplicate"] + ["recorded"] * 3
    rows = store.inbox.store.query("SELECT event_id FROM inbox ORDER BY id")
    assert rows[0]["event_id"] == "Ev0" and sorted(r["event_id"] for r in rows[1:]) == [
        "Ev1",
        "Ev2",
        "Ev3",
    ]
    assert inbox.table.count_pending() == inbox.backlog == 4
    inbox.shutdown()


def test_a_refused_group_write_refuses_each_delivery_in_it_and_keeps_none(tmp_path, monkeypatch):
    store = Store(tmp_path / "p.db")
    inbox = started(store, Processor())
    writes = HeldWrites(inbox, queued=3, then=StorageUnavailable("the disk is full"))
    monkeypatch.setattr(inbox.table, "record_many", writes)
    first = threading.Thread(target=inbox.accept, args=("Ev0", "body"))
    first.start()
    wait_until(lambda: writes.groups, what="the first write")
    results = accept_in_threads(inbox, ["Ev1", "Ev2", "Ev3"])
    first.join(10)
    errors = results
    assert all(isinstance(e, StorageUnavailable) and "disk is full" in str(e) for e in errors)
    assert len({id(e) for e in errors}) == 3  # each thread raises its own
    assert [r["event_id"] for r in store.inbox.store.query("SELECT event_id FROM inbox")] == ["Ev0"]
    assert inbox.backlog == 1
    # Slack delivers them again; now they are recorded.
    writes.then = None
    assert accept_in_threads(inbox, ["Ev1", "Ev2", "Ev3"]) == ["recorded"] * 3
    inbox.shutdown()


def test_deliveries_left_in_a_database_from_before_the_inbox_file_are_processed(tmp_path):
    """Before the inbox had a file of its own, deliveries waited in the database's own
    inbox table: they are moved to the file, in their order, and processed."""
    store = Store(tmp_path / "p.db")
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO inbox (event_id, body, received_at, processed_at) VALUES (?, ?, 'then', ?)",
            [("Ev-old-done", "done", "then"), ("Ev-old-1", "x", None), ("Ev-old-2", "y", None)],
        )
    process = Processor()
    inbox = started(store, process)
    assert inbox.backlog == 2
    inbox.start()
    assert inbox.wait_idle(10)
    assert process.seen == ["x", "y"]
    assert store.query("SELECT * FROM inbox") == []
    assert inbox.accept("Ev-old-1", "x") == "duplicate"  # still known, in the file
    inbox.shutdown()


def test_the_worker_leaves_checkpoints_to_their_own_thread(tmp_path):
    """The worker's commits do not copy the WAL back into the database themselves (that
    was most of their cost at a million rows); the checkpoint thread does, soon after."""
    store = Store(tmp_path / "p.db")
    size_before = (tmp_path / "p.db").stat().st_size
    inbox = batched(store, Writer(store))
    for i in range(600):
        inbox.accept(f"Ev{i}", f"event-{i:04d}-" + "x" * 1000)
    inbox.start()
    assert inbox.wait_idle(10)
    wait_until(
        lambda: (tmp_path / "p.db").stat().st_size > size_before + 500_000,
        what="the checkpoint thread to copy the worker's writes into the database",
    )
    worker = store.connection()  # a connection like the worker's, deferring
    store.defer_checkpoints()
    assert worker.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 10_000
    inbox.shutdown()


def test_under_load_the_writer_lingers_so_that_deliveries_in_flight_share_its_commit():
    from promptbot.jobs import group_commit

    writes: list[list[str]] = []
    commit = group_commit.GroupCommit(
        lambda deliveries, budget: (
            writes.append([e for e, _ in deliveries]) or [True] * len(deliveries)
        )
    )
    lingered: list[float] = []
    joined: list[threading.Thread] = []

    def linger(seconds):
        # Another request arrives while the writer waits.
        lingered.append(seconds)
        other = threading.Thread(target=commit.record, args=("Ev-joins", "{}"))
        other.start()
        joined.append(other)
        wait_until(lambda: len(commit._arrived) == 2, what="the second delivery queued")

    def write(deliveries, budget):
        writes.append([event_id for event_id, _ in deliveries])
        return [True] * len(deliveries)

    commit = group_commit.GroupCommit(write, linger)
    assert commit.record("Ev-alone", "{}") is True  # nothing in flight: written at once
    assert lingered == [] and writes == [["Ev-alone"]]

    commit._last_group = 2  # the last write took two: more are coming
    assert commit.record("Ev-first", "{}") is True
    joined[0].join()
    assert lingered == [group_commit.LINGER_SECONDS]
    assert writes[1:] == [["Ev-first", "Ev-joins"]]  # one commit for both


def test_an_in_memory_database_keeps_its_inbox_in_memory(tmp_path, monkeypatch):
    """The app factory's throwaway store (the manifest's) leaves no inbox file behind."""
    monkeypatch.chdir(tmp_path)
    store = Store(":memory:")
    assert store.inbox.record_many([("Ev1", "{}")], budget=1.0) == [True]
    assert list(tmp_path.iterdir()) == []


def test_a_handed_over_parse_is_given_once_and_only_so_many_are_kept(tmp_path):
    from promptbot.jobs.handover import KEPT_MOST as HANDED_MOST

    inbox = started(Store(tmp_path / "p.db"), Processor(), max_backlog=HANDED_MOST + 3)
    parsed = [{"n": n} for n in range(HANDED_MOST - 2)]
    for n, value in enumerate(parsed):
        assert inbox.accept(f"Ev{n}", f"body{n}", value) == "recorded"
    assert inbox.accept("Ev0", "body0-again", {"n": "again"}) == "duplicate"
    assert inbox.parses.take("body0") is parsed[0]
    assert inbox.parses.take("body0") is None  # once: the worker may not get it twice
    assert inbox.parses.take("body0-again") is None  # not recorded, not kept
    assert inbox.parses.take("body1") is parsed[1]
    # Past the bound (parses nobody took), what was kept goes, and the newest stays.
    for n in range(HANDED_MOST, HANDED_MOST + 5):  # 508 kept: the fifth empties them
        assert inbox.accept(f"Ev{n}", f"body{n}", {"n": n}) == "recorded"
    assert inbox.parses.take("body2") is None
    assert inbox.parses.take(f"body{HANDED_MOST + 4}") == {"n": HANDED_MOST + 4}
    inbox.shutdown()


def test_a_parse_is_not_kept_for_a_delivery_that_was_not_written(tmp_path, monkeypatch):
    store = Store(tmp_path / "p.db")
    inbox = started(store, Processor())

    def refuse(deliveries, budget):
        raise StorageUnavailable("the disk is full")

    monkeypatch.setattr(store.inbox, "record_many", refuse)
    try:
        inbox.accept("Ev1", "body1", {"n": 1})
    except StorageUnavailable:
        pass
    else:
        raise AssertionError("the refused write was not reported")
    assert inbox.parses.take("body1") is None
    inbox.shutdown()


class Unrecorded(Writer):
    """A Writer for which the messages in ``unknown`` are posts the bot has not recorded
    yet: an event about one raises NotRecordedYet until the message is recorded."""

    def __init__(self, store, unknown):
        super().__init__(store)
        self.unknown = set(unknown)

    def __call__(self, body):
        if message_of(body) in self.unknown:
            with self.lock:
                self.seen.append(f"({body})")
            raise NotRecordedYet(f"{body} may be about a post in flight")
        super().__call__(body)


def tried(process):
    """What was processed, in order, leaving out the tries that found no message."""
    return [body for body in process.seen if not body.startswith("(")]


def message_of(body):
    return body.split(":")[0] if ":" in body else None


def parking(store, unknown, bodies):
    """A started inbox whose events are batchable and keyed by message ("m1:add" is about
    m1), over an Unrecorded writer that does not know the messages in ``unknown``."""
    process = Unrecorded(store, unknown)
    inbox = EventInbox(store, 100)
    inbox.attach(process, lambda body: True, message_of=message_of)
    for body in bodies:
        inbox.accept(f"Ev-{body}", body)
    inbox.start()
    return process, inbox


def test_an_event_about_an_unrecorded_message_waits_alone_and_the_rest_go_on(tmp_path):
    store = Store(tmp_path / "p.db")
    process, inbox = parking(store, {"m1"}, ["m1:add", "m2:add", "m1:remove", "other", "m3:add"])
    wait_until(lambda: len(written(store)) == 3, what="the events about other messages")
    assert tried(process) == ["m2:add", "other", "m3:add"]
    # The later event about m1 waits behind the first, untried; m1's are still to do.
    assert "(m1:remove)" not in process.seen and "m1:remove" not in process.seen
    # The worker counts a batch off just after it commits it, so a moment after it shows.
    wait_until(lambda: inbox.backlog == 2, what="the other events counted off, m1's left")
    retried = process.seen.count("(m1:add)")
    wait_until(lambda: process.seen.count("(m1:add)") > retried, what="m1 tried again")

    process.unknown.clear()  # the post is recorded
    wait_until(lambda: len(written(store)) == 5, what="m1's events, once it is recorded")
    assert tried(process)[3:] == ["m1:add", "m1:remove"]
    assert inbox.wait_idle(10)
    assert inbox.backlog == 0
    pending = store.inbox.store.query("SELECT COUNT(*) AS n FROM inbox WHERE processed_at IS NULL")
    assert pending[0]["n"] == 0
    inbox.shutdown()


def test_events_parked_at_shutdown_are_processed_in_order_at_the_next_start(tmp_path):
    store = Store(tmp_path / "p.db")
    _, inbox = parking(store, {"m1"}, ["m1:add", "m2:add", "m1:remove"])
    wait_until(lambda: written(store) == ["m2:add"], what="the event about m2")
    inbox.shutdown()

    again = Writer(Store(tmp_path / "p.db"))
    restarted = batched(again.store, again)
    assert restarted.backlog == 2
    restarted.start()
    assert restarted.wait_idle(10)
    assert again.seen == ["m1:add", "m1:remove"]
    restarted.shutdown()


def test_an_unrecorded_message_waits_behind_a_database_that_refuses(tmp_path):
    # Parking is for a message not recorded yet; a write the database refuses still
    # holds every event after it, parked ones included, until it can be made.
    store = Store(tmp_path / "p.db")
    process, inbox = parking(store, {"m1"}, [])
    process.fail_once = {"m2:add": StorageUnavailable("the disk is full")}
    for body in ["m1:add", "m2:add", "m3:add"]:
        inbox.accept(f"Ev-{body}", body)
    wait_until(lambda: len(written(store)) == 2, what="the refused write retried")
    assert process.seen.index("m2:add") < process.seen.index("m3:add")
    process.unknown.clear()
    wait_until(lambda: "m1:add" in written(store), what="m1 once recorded")
    assert inbox.wait_idle(10)
    inbox.shutdown()


def test_a_later_event_about_a_parked_message_waits_even_once_the_message_is_known(tmp_path):
    # The post is recorded while the 👍 on it waits for its next try; the 👍's removal
    # comes then, and finds the message known. It must not overtake the 👍 (it would
    # leave a rating its reviewer took back).
    store = Store(tmp_path / "p.db")
    process, inbox = parking(store, {"m1"}, ["m1:add"])
    wait_until(lambda: "(m1:add)" in process.seen, what="the 👍 parked")
    process.unknown.clear()
    for body in ["m1:remove", "m2:add"]:
        inbox.accept(f"Ev-{body}", body)
    wait_until(lambda: len(written(store)) == 3, what="every event")
    assert tried(process).index("m1:add") < tried(process).index("m1:remove")
    assert inbox.wait_idle(10)
    inbox.shutdown()


def test_a_parked_message_is_tried_again_after_pauses_that_double_up_to_a_bound():
    now = [100.0]
    parked = ParkedEvents(clock=lambda: now[0])
    first, second, other = (InboxRow(id=i, event_id=f"Ev{i}", body="") for i in (1, 2, 3))
    parked.park("m1", first)
    parked.park("m1", second)
    assert len(parked) == 2 and "m1" in parked and "m2" not in parked
    assert parked.due() == []
    assert parked.seconds_to_next() == pytest.approx(FIRST_PAUSE_SECONDS)
    now[0] += FIRST_PAUSE_SECONDS
    assert parked.due() == ["m1"]
    pauses = []
    for _ in range(8):
        parked.later("m1")
        pauses.append(round(parked.seconds_to_next() or 0, 3))
    assert pauses[:3] == [2 * FIRST_PAUSE_SECONDS, 4 * FIRST_PAUSE_SECONDS, 8 * FIRST_PAUSE_SECONDS]
    assert max(pauses) == LONGEST_PAUSE_SECONDS and pauses[-1] == LONGEST_PAUSE_SECONDS
    parked.park("m2", other)
    assert parked.due() == []
    now[0] += LONGEST_PAUSE_SECONDS
    assert sorted(parked.due()) == ["m1", "m2"]
    assert parked.first("m1") is first
    parked.drop_first("m1")
    assert parked.first("m1") is second
    parked.drop_first("m1")
    assert "m1" not in parked and parked.first("m1") is None and len(parked) == 1


def test_a_single_event_whose_transaction_is_refused_is_tried_again(tmp_path, monkeypatch):
    # One event alone goes through the savepoint path, not the flat one; the database
    # refusing its transaction is a pause and a retry, not the worker's end. (Whether
    # the path itself or the worker's loop around it catches the refusal is the same.)
    store = Store(tmp_path / "p.db")
    process = Writer(store)
    inbox = batched(store, process)
    real_transaction = store.transaction
    refusals = [StorageUnavailable("the database is locked")]

    @contextmanager
    def refused_once(*args, **kwargs):
        if refusals:
            raise refusals.pop()
        with real_transaction(*args, **kwargs) as db:
            yield db

    monkeypatch.setattr(store, "transaction", refused_once)
    inbox.accept("Ev-a", "a")
    inbox.start()
    wait_until(lambda: written(store) == ["a"], what="the event once the database takes it")
    assert inbox.wait_idle(10) and inbox.backlog == 0
    inbox.shutdown()


def test_a_parked_event_in_a_batch_whose_marking_fails_is_parked_once(tmp_path, monkeypatch):
    # The batch is read again after the failed marking; the event it parked must not be
    # parked a second time (it would be processed twice once its message is known).
    store = Store(tmp_path / "p.db")
    process = Unrecorded(store, {"m1"})
    inbox = EventInbox(store, 100)
    inbox.attach(process, lambda body: True, message_of=message_of)
    for body in ["m2:add", "m1:add"]:  # one batch
        inbox.accept(f"Ev-{body}", body)
    refusals = refuse_marking_once(monkeypatch, inbox)
    inbox.start()
    wait_until(lambda: not refusals and written(store) == ["m2:add"], what="the batch again")
    marked = "SELECT processed_at FROM inbox WHERE event_id = 'Ev-m2:add'"
    wait_until(
        lambda: store.inbox.store.query(marked)[0]["processed_at"], what="the batch read again"
    )
    process.unknown.clear()
    wait_until(lambda: "m1:add" in written(store), what="m1 once recorded")
    assert inbox.wait_idle(10)
    assert tried(process).count("m1:add") == 1
    inbox.shutdown()
