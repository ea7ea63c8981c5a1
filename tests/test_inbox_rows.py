"""The inbox worker's rows, processed one call at a time (no worker thread): what is
kept, counted off, parked and read again when the database refuses a write, an event
fails, or a message is not recorded yet. Nothing acked is lost, each message's events
keep their order, each is applied once."""

import logging
import sqlite3
import threading
from contextlib import contextmanager

import pytest

from promptbot.errors import NotRecordedYet, StorageUnavailable
from promptbot.jobs.inbox import BATCH, EventInbox
from promptbot.jobs.inbox_rows import InboxRows
from promptbot.jobs.parked import FIRST_PAUSE_SECONDS, ParkedEvents
from storage.base import unavailable
from tests.test_event_inbox import Writer, message_of, refuse_marking_once, written


class Events(Writer):
    """A Writer (each body's event id written once, in the caller's transaction) that
    also refuses, fails or waits for a message as told: ``refuse_once`` bodies raise
    StorageUnavailable once, ``fail_always`` a KeyError each time, and events about the
    messages in ``unknown`` NotRecordedYet; ``then`` is called after a body is tried.
    ``applied``: the bodies processed without an error, in order (written() is in
    event id order)."""

    def __init__(self, store, refuse_once=(), fail_always=(), unknown=(), then=None):
        super().__init__(
            store,
            fail_once={body: StorageUnavailable("the disk is full") for body in refuse_once},
            fail_always={body: KeyError(body) for body in fail_always},
        )
        self.unknown = set(unknown)
        self.then = then or (lambda body: None)
        self.applied: list[str] = []

    def __call__(self, body):
        try:
            if message_of(body) in self.unknown:
                self.seen.append(f"({body})")
                raise NotRecordedYet(f"{body} may be about a post in flight")
            super().__call__(body)
            self.applied.append(body)
        finally:
            self.then(body)


class Worker:
    """InboxRows over ``store`` as the inbox worker drives it, with a clock of its own
    for the parked events and the row counts it was told were dealt with."""

    def __init__(self, store, process, batchable=lambda body: True, messages=message_of):
        self.store = store
        self.stop = threading.Event()
        self.counted: list[int] = []
        self.now = 0.0
        self.rows = InboxRows(store, self.stop, self.counted.append)
        self.rows.process = process
        if batchable is not None:  # else InboxRows' own default
            self.rows.batchable = batchable
        if messages is not None:
            self.rows.message_of = messages
        self.rows.parked = ParkedEvents(clock=lambda: self.now)
        self.prepared: list[list[str]] = []
        self.rows.prepare = self.prepared.append

    def record(self, *bodies):
        self.store.inbox.record_many([(f"Ev-{body}", body) for body in bodies], budget=5.0)

    def next_rows(self):
        """What the worker reads next: the unprocessed rows after its cursor."""
        return self.store.inbox.pending(self.rows.cursor, BATCH)

    def step(self):
        """One round of the worker (jobs/inbox.py _process_pending): parked events
        first, then the rows after the cursor; True if the database refused a write
        (returned, or raised to the worker's loop)."""
        try:
            return self.rows.retry_parked() or self.rows.process_rows(self.next_rows())
        except Exception as error:
            if unavailable(error) is None:
                raise
            return True

    def pending(self):
        """Event bodies recorded and not processed, in arrival order."""
        return [row.body for row in self.store.inbox.pending(0, BATCH)]

    def later(self, seconds):
        self.now += seconds


def logged(caplog, level, *parts):
    """Whether a record at ``level`` says each of ``parts`` (what an operator reads:
    which event, how many, why)."""
    return any(
        all(part in record.getMessage() for part in parts)
        for record in caplog.records
        if record.levelno == level
    )


def test_a_batch_is_prepared_together_written_once_and_counted_off(store):
    process = Events(store)
    worker = Worker(store, process)
    worker.record("a", "b")
    assert worker.step() is False
    assert worker.prepared == [["a", "b"]]  # the batch's reads, before its first event
    assert written(store) == ["a", "b"] and worker.pending() == []
    assert sum(worker.counted) == 2
    assert worker.next_rows() == [] and worker.step() is False
    assert process.seen == ["a", "b"]


def test_rows_that_are_not_batchable_run_alone_outside_a_transaction_in_order(store):
    process = Events(store)
    worker = Worker(store, process, batchable=lambda body: body not in ("b", "e"))
    worker.record(*"abcde")
    assert worker.step() is False
    assert process.seen == list("abcde")
    assert process.in_batch == {"a": True, "b": False, "c": True, "d": True, "e": False}
    assert worker.prepared == [["c", "d"]]
    assert written(store) == list("abcde") and worker.pending() == []
    assert sum(worker.counted) == 5


def test_by_default_each_event_runs_alone_outside_a_transaction(store):
    # What may call the Web API must not hold the write lock: only events declared
    # batchable share a transaction.
    process = Events(store)
    worker = Worker(store, process, batchable=None)
    worker.record(*"ab")
    assert worker.step() is False
    assert process.in_batch == {"a": False, "b": False} and worker.prepared == []
    assert written(store) == ["a", "b"] and sum(worker.counted) == 2


def test_a_refused_write_in_a_batch_keeps_none_of_it_and_holds_the_rows_behind(store):
    process = Events(store, refuse_once={"b"})
    worker = Worker(store, process, batchable=lambda body: body != "d")
    worker.record(*"abcd")
    assert worker.step() is True
    assert written(store) == [] and worker.pending() == list("abcd")
    assert "d" not in process.seen and sum(worker.counted) == 0
    assert worker.step() is False  # the database takes it now: in order, each once
    assert written(store) == list("abcd") and worker.pending() == []
    assert process.seen == ["a", "b", "a", "b", "c", "d"]
    assert sum(worker.counted) == 4


def test_a_refused_write_alone_keeps_the_events_before_it_and_is_next(store, caplog):
    process = Events(store, refuse_once={"b"})
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record(*"abc")
    with caplog.at_level(logging.WARNING):
        assert worker.step() is True
    assert logged(caplog, logging.WARNING, "Ev-b", "the disk is full")
    assert written(store) == ["a"] and worker.pending() == ["b", "c"]
    assert "c" not in process.seen and sum(worker.counted) == 1
    assert worker.step() is False
    assert written(store) == list("abc") and process.seen == ["a", "b", "b", "c"]
    assert sum(worker.counted) == 3


def test_a_refusal_in_the_one_by_one_pass_keeps_the_events_before_it(store):
    # "a" fails for good, so the batch goes one by one; there "c" is refused: "b" is
    # kept, "a" set aside, and "c" and "d" are what the worker reads next.
    process = Events(store, fail_always={"a"})
    worker = Worker(store, process)
    worker.record(*"abcd")
    process.then = lambda body: (
        body == "b" and process.fail_once.setdefault("c", StorageUnavailable("the disk is full"))
    )
    assert worker.step() is True
    assert written(store) == ["b"]
    assert [row.body for row in worker.next_rows()] == ["c", "d"]
    assert sum(worker.counted) == 2  # "b" processed, "a" set aside
    assert worker.step() is False
    assert written(store) == list("bcd") and worker.pending() == ["a"]
    assert worker.next_rows() == []
    assert sum(worker.counted) == 4


def test_failing_events_are_set_aside_with_their_errors_and_the_rest_kept(store, caplog):
    process = Events(store, fail_always={"b", "c"})
    worker = Worker(store, process)
    worker.record(*"abcd")
    with caplog.at_level(logging.ERROR):
        assert worker.step() is False
    assert written(store) == ["a", "d"] and worker.pending() == ["b", "c"]
    assert sum(worker.counted) == 4 and worker.next_rows() == []  # the backlog is 0 again
    errors = store.inbox.store.query("SELECT error FROM inbox WHERE error IS NOT NULL")
    assert [row["error"] for row in errors] == ["KeyError: 'b'", "KeyError: 'c'"]
    records = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.exc_info is not None for r in records] == [True, True]  # with the traceback
    assert logged(caplog, logging.ERROR, "Ev-b", "set aside")


def test_a_failure_noting_why_an_event_failed_still_sets_it_aside(store, monkeypatch, caplog):
    process = Events(store, fail_always={"a"})
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record(*"ab")

    def note_refused(row_id, error):
        raise StorageUnavailable("the disk is full")

    monkeypatch.setattr(store.inbox, "note_error", note_refused)
    with caplog.at_level(logging.ERROR):
        assert worker.step() is False
    assert logged(caplog, logging.ERROR, "could not note", "Ev-a")
    assert written(store) == ["b"] and worker.pending() == ["a"]
    assert sum(worker.counted) == 2 and worker.next_rows() == []


def test_a_stop_ends_the_batch_after_the_event_in_hand(store):
    worker = Worker(store, Events(store, then=lambda body: body == "b" and worker.stop.set()))
    worker.record(*"abc")
    assert worker.step() is False
    assert written(store) == ["a", "b"] and worker.pending() == ["c"]
    assert sum(worker.counted) == 2
    assert [row.body for row in worker.next_rows()] == ["c"]


def test_a_stop_before_a_batch_starts_keeps_nothing_of_it(store):
    process = Events(store)
    worker = Worker(store, process)
    worker.rows.prepare = lambda bodies: worker.stop.set()
    worker.record(*"ab")
    assert worker.step() is False
    assert process.seen == [] and written(store) == []
    assert worker.pending() == ["a", "b"] and sum(worker.counted) == 0


def test_a_stop_between_events_alone_leaves_the_rest_for_the_next_start(store):
    process = Events(store, then=lambda body: worker.stop.set())
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record(*"abc")
    assert worker.step() is False
    assert process.seen == ["a"] and worker.pending() == ["b", "c"]


def test_a_stop_in_the_one_by_one_pass_keeps_what_was_handled(store):
    process = Events(store, fail_always={"a"}, then=lambda body: body == "b" and worker.stop.set())
    worker = Worker(store, process)
    worker.record(*"abc")
    assert worker.step() is False
    assert process.seen == ["a", "a", "b"]
    assert written(store) == ["b"] and worker.pending() == ["a", "c"]
    assert sum(worker.counted) == 2
    assert [row.body for row in worker.next_rows()] == ["c"]


def test_a_batch_whose_marking_is_refused_is_read_again_and_written_once(
    store, monkeypatch, caplog
):
    process = Events(store)
    worker = Worker(store, process)
    worker.record(*"ab")
    refuse_marking_once(monkeypatch, worker.rows)
    with caplog.at_level(logging.WARNING):
        assert worker.step() is True
    assert logged(caplog, logging.WARNING, "could not mark 2 processed events", "disk is full")
    assert written(store) == ["a", "b"] and worker.pending() == ["a", "b"]
    assert sum(worker.counted) == 0
    assert [row.body for row in worker.next_rows()] == ["a", "b"]
    assert worker.step() is False
    assert written(store) == ["a", "b"] and worker.pending() == []
    assert sum(worker.counted) == 2


def test_an_event_alone_whose_marking_is_refused_is_read_again(store, monkeypatch):
    worker = Worker(store, Events(store), batchable=lambda body: False)
    worker.record("a")
    refuse_marking_once(monkeypatch, worker.rows)
    assert worker.step() is True
    assert worker.pending() == ["a"] and sum(worker.counted) == 0
    assert worker.step() is False
    assert worker.pending() == [] and written(store) == ["a"]


def test_a_marking_that_fails_for_another_reason_is_not_taken_for_a_refusal(store, monkeypatch):
    # A bug (say in the inbox's SQL) ends the worker, loudly, instead of being retried
    # for ever as if the disk were full.
    worker = Worker(store, Events(store))
    worker.record(*"ab")

    def broken(ids):
        raise sqlite3.ProgrammingError("no such column: processed")

    monkeypatch.setattr(store.inbox, "mark_processed", broken)
    with pytest.raises(sqlite3.ProgrammingError):
        worker.step()


def test_an_error_in_the_batchs_transaction_is_not_taken_for_a_refusal(store, monkeypatch):
    worker = Worker(store, Events(store), batchable=lambda body: body == "a")
    worker.record("a")

    def broken(*args, **kwargs):
        raise sqlite3.ProgrammingError("cannot start a transaction within a transaction")

    monkeypatch.setattr(store, "transaction", broken)
    with pytest.raises(sqlite3.ProgrammingError):
        worker.step()


def test_an_event_about_an_unrecorded_message_waits_and_the_others_go_on(store, caplog):
    process = Events(store, unknown={"m1"})
    worker = Worker(store, process)
    worker.record("m1:add", "m2:add", "m1:remove", "other")
    with caplog.at_level(logging.INFO):
        assert worker.step() is False
    assert logged(caplog, logging.INFO, "Ev-m1:add", "may be about a post in flight")
    assert written(store) == ["m2:add", "other"]
    assert "m1:remove" not in process.seen and "(m1:remove)" not in process.seen
    assert worker.pending() == ["m1:add", "m1:remove"]
    assert len(worker.rows.parked) == 2 and sum(worker.counted) == 2
    assert worker.next_rows() == []  # parked, not read again

    assert worker.step() is False  # not due yet: not tried
    assert process.seen.count("(m1:add)") == 2  # once in the batch, once alone
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False  # due, still unknown: tried again, the rest behind it
    assert process.seen.count("(m1:add)") == 3 and "(m1:remove)" not in process.seen
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False  # the pause doubled: not yet
    assert process.seen.count("(m1:add)") == 3

    process.unknown.clear()  # the post is recorded
    worker.later(1.0)
    assert worker.step() is False
    assert process.applied == ["m2:add", "other", "m1:add", "m1:remove"]
    assert worker.pending() == [] and not worker.rows.parked
    assert sum(worker.counted) == 4


def test_the_events_behind_a_parked_one_wait_even_if_its_message_is_recorded_meanwhile(store):
    # The post is recorded (by the thread that made it) just after its 👍 was parked;
    # the 👍's removal, next in the batch, must not overtake the 👍.
    process = Events(store, unknown={"m1"})
    process.then = lambda body: body == "m1:add" and process.unknown.clear()
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record("m1:add", "m1:remove", "m2:add")
    assert worker.step() is False
    assert written(store) == ["m2:add"] and worker.pending() == ["m1:add", "m1:remove"]
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    assert process.applied == ["m2:add", "m1:add", "m1:remove"]


def test_a_batch_wholly_about_a_parked_message_waits_behind_it(store):
    # The message is recorded now, but its first event is still parked: the later ones,
    # a batch of their own, must not overtake it.
    process = Events(store, unknown={"m1"})
    worker = Worker(store, process)
    worker.record("m1:add")
    assert worker.step() is False and len(worker.rows.parked) == 1
    process.unknown.clear()
    worker.record("m1:remove", "m1:add-again")
    assert worker.step() is False  # the parked one is not due yet
    assert written(store) == [] and len(worker.rows.parked) == 3
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    assert process.applied == ["m1:add", "m1:remove", "m1:add-again"]
    assert worker.pending() == [] and sum(worker.counted) == 3


def test_in_a_batch_partly_about_a_parked_message_those_events_wait_behind_it(store):
    process = Events(store, unknown={"m1"})
    worker = Worker(store, process)
    worker.record("m1:add")
    worker.step()
    process.unknown.clear()
    worker.record("m2:add", "m1:remove", "m3:add")
    assert worker.step() is False
    assert process.applied == ["m2:add", "m3:add"]
    assert worker.pending() == ["m1:add", "m1:remove"]
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    assert process.applied == ["m2:add", "m3:add", "m1:add", "m1:remove"]
    assert worker.pending() == [] and sum(worker.counted) == 4


def test_a_refused_write_about_a_known_message_holds_every_event_behind_it(store):
    # Parking is for a message not recorded yet; any other refusal is a pause for all.
    process = Events(store, refuse_once={"m2:add"})
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record("m2:add", "m3:add")
    assert worker.step() is True
    assert not worker.rows.parked and "m3:add" not in process.seen
    assert worker.pending() == ["m2:add", "m3:add"]
    assert worker.step() is False
    assert process.applied == ["m2:add", "m3:add"]


def test_a_parked_event_retried_leaves_the_cursor_where_it_was(store):
    # The cursor is past the rows set aside or parked; a retried parked event, an
    # earlier row, must not move it back (the set-aside row would be processed again).
    process = Events(store, unknown={"m1"}, fail_always={"b"})
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record("m1:add", "b", "c")
    assert worker.step() is False
    assert worker.next_rows() == []
    process.unknown.clear()
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    assert worker.next_rows() == [] and worker.pending() == ["b"]
    assert process.seen.count("b") == 1


def parked_then_recorded(store):
    """m1's two events parked behind the first, then m1 recorded; due after a pause."""
    process = Events(store, unknown={"m1"})
    worker = Worker(store, process)
    worker.record("m1:add", "m1:remove")
    worker.step()
    process.unknown.clear()
    return process, worker


def test_a_refused_write_of_a_parked_event_keeps_it_first_in_line(store):
    process, worker = parked_then_recorded(store)
    process.fail_once["m1:add"] = StorageUnavailable("the disk is full")
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.rows.retry_parked() is True
    assert written(store) == [] and "m1:remove" not in process.seen
    assert worker.rows.retry_parked() is False  # due still: tried again at once
    assert written(store) == ["m1:add", "m1:remove"] and worker.pending() == []


def test_a_parked_event_that_fails_is_set_aside_and_the_next_goes_on(store):
    process, worker = parked_then_recorded(store)
    process.fail_always["m1:add"] = KeyError("m1:add")
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    assert written(store) == ["m1:remove"] and worker.pending() == ["m1:add"]
    assert not worker.rows.parked and sum(worker.counted) == 2


def test_a_parked_event_whose_marking_is_refused_stays_first_and_is_applied_once(
    store, monkeypatch
):
    process, worker = parked_then_recorded(store)
    refuse_marking_once(monkeypatch, worker.rows)
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is True
    assert "m1:remove" not in process.seen and worker.pending() == ["m1:add", "m1:remove"]
    assert worker.step() is False
    assert written(store) == ["m1:add", "m1:remove"] and worker.pending() == []
    assert process.seen.count("m1:add") == 2 and len(worker.rows.parked) == 0
    assert sum(worker.counted) == 2


def test_events_of_several_parked_messages_each_go_in_their_order(store):
    process = Events(store, unknown={"m1", "m2"})
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record("m1:add", "m2:add", "m1:remove", "m2:remove")
    worker.step()
    assert len(worker.rows.parked) == 4 and written(store) == []
    process.unknown.clear()
    worker.later(FIRST_PAUSE_SECONDS)
    assert worker.step() is False
    order = process.applied
    assert sorted(order) == ["m1:add", "m1:remove", "m2:add", "m2:remove"]
    assert order.index("m1:add") < order.index("m1:remove")
    assert order.index("m2:add") < order.index("m2:remove")
    assert worker.pending() == [] and sum(worker.counted) == 4


@pytest.mark.parametrize("messages", [message_of, None], ids=["attached", "none attached"])
def test_an_unrecorded_message_with_no_message_to_wait_for_is_retried_in_order(store, messages):
    # NotRecordedYet from an event that is about no message (or when no message_of is
    # attached) cannot be parked behind one: it is a refusal like any other, and holds
    # the rows behind it.
    process = Events(store)
    process.fail_once["m1:add"] = NotRecordedYet("m1:add may be about a post in flight")
    process.fail_once["x"] = NotRecordedYet("x may be about a post in flight")
    worker = Worker(store, process, batchable=lambda body: False, messages=messages)
    worker.record("x", "y")
    assert worker.step() is True
    assert not worker.rows.parked and worker.pending() == ["x", "y"]
    assert worker.step() is False
    assert written(store) == ["x", "y"]
    if messages is None:  # nor is an event about a message parked then
        worker.record("m1:add", "m2:add")
        assert worker.step() is True and not worker.rows.parked
        assert worker.pending() == ["m1:add", "m2:add"]
        assert worker.step() is False and process.applied[-2:] == ["m1:add", "m2:add"]


def test_a_refused_batch_says_how_many_events_wait_and_why(store, caplog):
    worker = Worker(store, Events(store, refuse_once={"a"}))
    worker.record(*"ab")
    with caplog.at_level(logging.WARNING):
        assert worker.step() is True
    assert "2 events wait: the disk is full" in caplog.text


class Killed(BaseException):
    """The process dies here (kill -9, power cut): nothing after it runs."""


def throw(error):
    raise error


def test_events_alone_are_each_marked_before_the_next_so_a_crash_repeats_one(store):
    # Events alone may call the Web API, which no event id undoes: after a crash only
    # the event in hand may be processed again.
    process = Events(store, then=lambda body: body == "b" and throw(Killed()))
    worker = Worker(store, process, batchable=lambda body: False)
    worker.record(*"abc")
    with pytest.raises(Killed):
        worker.step()
    assert worker.pending() == ["b", "c"]


def test_a_refused_commit_of_a_batch_holds_the_rows_behind_it(store, monkeypatch, caplog):
    process = Events(store)
    worker = Worker(store, process, batchable=lambda body: body == "a")
    worker.record("a", "c")
    real_transaction = store.transaction
    refusals = [StorageUnavailable("the disk is full")]

    @contextmanager
    def commit_refused_once(*args, **kwargs):
        outer = not store.connection().conn.in_transaction
        with real_transaction(*args, **kwargs) as db:
            yield db
            if outer and refusals:
                raise refusals.pop()  # at the commit: nothing of it is kept

    monkeypatch.setattr(store, "transaction", commit_refused_once)
    with caplog.at_level(logging.WARNING):
        assert worker.step() is True
    assert process.seen == ["a"] and written(store) == []
    assert worker.pending() == ["a", "c"] and sum(worker.counted) == 0
    assert logged(caplog, logging.WARNING, "could not commit 1 processed events", "disk is full")
    assert worker.step() is False
    assert process.applied == ["a", "a", "c"] and written(store) == ["a", "c"]


def test_a_batch_sqlite_undid_in_the_one_by_one_pass_holds_the_rows_behind_it(store):
    # "x" fails for good, so the batch goes one by one; there SQLite undoes the whole
    # transaction on "b" (what it does itself on a full disk): "a" is gone too, and
    # neither it nor anything behind is counted or overtaken.
    process = Events(store, refuse_once={"b"}, fail_always={"x"})
    worker = Worker(store, process, batchable=lambda body: body != "c")
    worker.record("x", "a", "b", "c")
    process.undo = {"b"}
    assert worker.step() is True
    assert "c" not in process.seen and written(store) == []
    assert worker.pending() == ["x", "a", "b", "c"] and sum(worker.counted) == 0
    assert worker.step() is False
    assert written(store) == ["a", "b", "c"] and worker.pending() == ["x"]
    assert sum(worker.counted) == 4


def test_an_inbox_started_before_it_knows_how_to_process_waits_for_it(store):
    process = Events(store)
    inbox = EventInbox(store, 100)
    inbox.accept("Ev-a", "a")
    inbox.start()
    assert inbox.wait_idle(10)
    inbox.attach(process)
    inbox.wake()
    assert inbox.wait_idle(10)
    assert process.seen == ["a"] and written(store) == ["a"]
    inbox.shutdown()
